"""Resource naming rules (SQS's, which SNS shares for topics)."""

from __future__ import annotations

import re

from raybus.core.errors import RaybusError

__all__ = ["FIFO_SUFFIX", "MAX_QUEUE_NAME_CHARS", "validate_queue_name"]

FIFO_SUFFIX = ".fifo"
MAX_QUEUE_NAME_CHARS = 80
_STEM = re.compile(r"[A-Za-z0-9_-]+")


def validate_queue_name(name: object, *, fifo: bool) -> str:
    """Return ``name`` if it is a valid queue name for the queue type, else raise.

    1–80 characters of ``[A-Za-z0-9_-]``; a FIFO queue's name ends in ``.fifo`` (counted in the
    80) and a standard queue's name must not.
    """
    if not isinstance(name, str) or not name:
        raise RaybusError(
            "InvalidParameterValue", "A queue name is a non-empty string.", parameter="QueueName"
        )
    if len(name) > MAX_QUEUE_NAME_CHARS:
        raise RaybusError(
            "InvalidParameterValue",
            f"Queue name can be at most {MAX_QUEUE_NAME_CHARS} characters.",
            parameter="QueueName",
        )
    stem = name[: -len(FIFO_SUFFIX)] if name.endswith(FIFO_SUFFIX) else name
    if fifo and stem == name:
        raise RaybusError(
            "InvalidParameterValue",
            "The name of a FIFO queue must end with the .fifo suffix.",
            parameter="QueueName",
        )
    if not fifo and stem != name:
        raise RaybusError(
            "InvalidParameterValue",
            "Only FIFO queue names may end with the .fifo suffix.",
            parameter="QueueName",
        )
    if not _STEM.fullmatch(stem):
        raise RaybusError(
            "InvalidParameterValue",
            "Queue names may contain only alphanumeric characters, hyphens and underscores.",
            parameter="QueueName",
        )
    return name
