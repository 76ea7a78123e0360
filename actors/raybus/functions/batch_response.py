"""Lambda's partial batch response (``ReportBatchItemFailures``) for queue event sources.

Rules (docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html, "Success and
failure conditions"). With the mapping's ``report_batch_item_failures`` on, a handler that
returns normally reports which messages failed::

    {"batchItemFailures": [{"itemIdentifier": "<messageId>"}, ...]}

- The batch is a complete success when the response is null or empty, or its
  ``batchItemFailures`` is null or an empty list: nothing failed.
- The batch is a complete failure when the response is not a JSON object, its
  ``batchItemFailures`` is not a list, or an item is not an object, has no ``itemIdentifier``
  (a null one or one under a misspelt key), or an identifier that is empty, not a string or not
  a message id of the batch.
- Otherwise exactly the listed messages failed (duplicates count once).

A handler error fails the whole batch regardless; that is the caller's branch, not this one.
Pure.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["failed_items"]


def failed_items(response: object, message_ids: Sequence[str]) -> set[str] | None:
    """The ids of the messages that failed, or ``None`` meaning "the whole batch failed"."""
    if response is None:
        return set()
    if not isinstance(response, dict):
        return None
    if not response:
        return set()
    failures = response.get("batchItemFailures")
    if failures is None:
        return set()
    if not isinstance(failures, list):
        return None
    known = set(message_ids)
    failed: set[str] = set()
    for item in failures:
        if not isinstance(item, dict):
            return None
        identifier = item.get("itemIdentifier")
        if not isinstance(identifier, str) or not identifier or identifier not in known:
            return None
        failed.add(identifier)
    return failed
