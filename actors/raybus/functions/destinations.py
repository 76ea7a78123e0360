"""What Lambda sends after an asynchronous invocation: the destination invocation record and
the dead-letter-queue message.

Invocation record (docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html)::

    {"version": "1.0", "timestamp": "<ISO 8601>",
     "requestContext": {"requestId", "functionArn": "...:function:<name>:$LATEST",
                        "condition": "Success" | "RetriesExhausted" | "EventAgeExceeded",
                        "approximateInvokeCount"},
     "requestPayload": <the event>,
     "responseContext": {"statusCode": 200, "executedVersion": "$LATEST",
                         "functionError": "Unhandled"},      # functionError only on errors
     "responsePayload": <the result or the error object>}

An event that expired without ever running (``EventAgeExceeded`` after throttles) has no
response, so ``responseContext`` and ``responsePayload`` are left out.

Dead-letter queue message (same page, "Dead-letter queues"): the event as the body, with
message attributes ``RequestID`` (String), ``ErrorCode`` (Number, the 3-digit HTTP status)
and ``ErrorMessage`` (String, the first 1 KB of the error message). Pure.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any, Literal

from raybus.core.arns import LATEST, function_arn
from raybus.core.attributes import Attribute
from raybus.core.functions import FunctionConfig
from raybus.functions.envelope import iso_timestamp
from raybus.functions.sandbox import InvocationResult

__all__ = [
    "MAX_DLQ_ERROR_BYTES",
    "Condition",
    "DeadLetterMessage",
    "dead_letter",
    "dlq_attributes",
    "invocation_record",
]

Condition = Literal["Success", "RetriesExhausted", "EventAgeExceeded"]
MAX_DLQ_ERROR_BYTES = 1024
_CONDITIONS = ("Success", "RetriesExhausted", "EventAgeExceeded")


def invocation_record(
    function: str | FunctionConfig,
    request_id: str,
    request_payload: Any,
    result: InvocationResult | None,
    condition: Condition | str,
    approximate_invoke_count: int,
    *,
    timestamp_ms: int | None = None,
) -> dict[str, Any]:
    """The record for an on-success (``condition="Success"``) or on-failure destination of
    ``function`` (a name or its config). ``result`` is the last attempt's result, or ``None``
    when the function never ran (no response context then). ``timestamp_ms`` defaults to the
    wall clock (the record's own timestamp is output, not engine state)."""
    if condition not in _CONDITIONS:
        raise ValueError(f"unknown condition {condition!r}")
    name = function if isinstance(function, str) else function.name
    stamp = timestamp_ms if timestamp_ms is not None else int(time.time() * 1000)
    record: dict[str, Any] = {
        "version": "1.0",
        "timestamp": iso_timestamp(stamp),
        "requestContext": {
            "requestId": request_id,
            "functionArn": function_arn(name, LATEST),
            "condition": condition,
            "approximateInvokeCount": approximate_invoke_count,
        },
        "requestPayload": request_payload,
    }
    if result is not None:
        response: dict[str, Any] = {"statusCode": 200, "executedVersion": LATEST}
        if not result.ok:
            response["functionError"] = "Unhandled"  # AWS's value for every function error
        record["responseContext"] = response
        record["responsePayload"] = result.payload
    return record


@dataclass(frozen=True, slots=True)
class DeadLetterMessage:
    """A message for a function's dead-letter queue or topic: send ``body`` with
    ``attributes`` (already valid SQS/SNS message attributes)."""

    body: str
    attributes: dict[str, Attribute]


def _truncate_utf8(text: str, limit: int) -> str:
    raw = text.encode("utf-8")
    if len(raw) <= limit:
        return text
    return raw[:limit].decode("utf-8", errors="ignore")


def _attributes(request_id: str, error_code: int, error_message: str) -> dict[str, Attribute]:
    attributes = {
        "RequestID": Attribute("String", request_id),
        "ErrorCode": Attribute("Number", str(error_code)),
    }
    message = _truncate_utf8(error_message, MAX_DLQ_ERROR_BYTES)
    if message:  # SQS rejects empty attribute values
        attributes["ErrorMessage"] = Attribute("String", message)
    return attributes


def dlq_attributes(
    request_id: str, result: InvocationResult | None, condition: Condition | str
) -> dict[str, Attribute]:
    """The DLQ message attributes for an event that ends with ``condition``: ``ErrorCode``
    200 and the handler's ``errorMessage`` when the function ran and failed; 429 and a note
    of the condition when it never ran (it expired while throttled)."""
    if result is None:
        return _attributes(request_id, 429, f"Event dropped: {condition}")
    message = result.payload.get("errorMessage") if isinstance(result.payload, dict) else None
    return _attributes(request_id, 200, str(message) if message else str(condition))


def dead_letter(
    event: Any, *, request_id: str, error_message: str, error_code: int = 200
) -> DeadLetterMessage:
    """The DLQ message for an event whose retries were exhausted: the event as the body.
    ``error_code`` is the invoke's HTTP status (200 for a function error, 429 for a
    throttle...)."""
    return DeadLetterMessage(
        json.dumps(event, ensure_ascii=False), _attributes(request_id, error_code, error_message)
    )
