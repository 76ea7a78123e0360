"""Running one handler call the way Lambda's Python runtime does, and the result of an
invocation. Ray-free: the runtime calls :func:`run_handler` inside a Ray worker, tests call it
directly.

Lambda's rules followed here (docs.aws.amazon.com/lambda/latest/dg/python-exceptions.html):

- the result must be JSON-serialisable (``Decimal`` counts as a number), else
  ``Runtime.MarshalError`` ("Unable to marshal response: ..."); a synchronous response above
  6 MB (6,291,556 bytes) fails with ``Function.ResponseSizeTooLarge``;
- an exception becomes ``{"errorType": <class name>, "errorMessage": str(exc),
  "stackTrace": [<formatted frames of the handler's code>]}`` and the invocation's function
  error is ``Unhandled``;
- a handler that runs past its timeout fails with ``Sandbox.Timedout`` and the message
  ``"<time> <request id> Task timed out after 3.00 seconds"`` (the caller enforces the
  deadline and builds it with :func:`timeout_error`).
"""

from __future__ import annotations

import json
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from raybus.functions.envelope import iso_timestamp

__all__ = [
    "MAX_RESPONSE_BYTES",
    "InvocationResult",
    "Outcome",
    "crash_error",
    "error_payload",
    "failed",
    "run_handler",
    "timeout_error",
]

MAX_RESPONSE_BYTES = 6_291_556  # Lambda's synchronous response payload limit

# What a worker sends back: (ok, payload JSON text, duration in ms, error type or None).
Outcome = tuple[bool, str, float, "str | None"]


@dataclass(frozen=True, slots=True)
class InvocationResult:
    """One finished invocation. ``payload`` is the handler's JSON result when ``ok``, else
    Lambda's error object ``{"errorType", "errorMessage", "stackTrace"}``. ``error_type`` is
    ``None`` when ``ok``, ``"Timeout"`` when the deadline passed and ``"Unhandled"`` for every
    other failure (the handler raised, could not be loaded, returned something unmarshalable,
    or its process died) — AWS reports all of these as the function error ``Unhandled``.
    ``duration_ms`` is the handler's run time (the timeout for a timed-out invocation)."""

    request_id: str
    ok: bool
    payload: Any
    duration_ms: float
    error_type: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The contract's invoke answer ``{"request_id", "ok", "payload", "duration_ms"}``."""
        return {
            "request_id": self.request_id,
            "ok": self.ok,
            "payload": self.payload,
            "duration_ms": self.duration_ms,
        }


def error_payload(error_type: str, message: str, stack: list[str] | None = None) -> dict[str, Any]:
    return {"errorType": error_type, "errorMessage": message, "stackTrace": stack or []}


def timeout_error(request_id: str, timeout_s: float, now_ms: int | None = None) -> dict[str, Any]:
    stamp = iso_timestamp(now_ms if now_ms is not None else int(time.time() * 1000))
    return error_payload(
        "Sandbox.Timedout", f"{stamp} {request_id} Task timed out after {timeout_s:.2f} seconds"
    )


def crash_error(request_id: str, detail: str = "") -> dict[str, Any]:
    reason = f": {detail}" if detail else " without providing a reason"
    return error_payload(
        "Runtime.ExitError", f"RequestId: {request_id} Error: Runtime exited{reason}"
    )


def _decimal(value: object) -> float:
    if isinstance(value, Decimal):
        return float(value)  # as Lambda's Python runtime does
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _encode(value: Any) -> str:
    # allow_nan=False: NaN/Infinity are not JSON; Lambda's runtime would emit them, raybus
    # reports a MarshalError instead (a deliberate difference: answers stay valid JSON)
    return json.dumps(value, ensure_ascii=False, allow_nan=False, default=_decimal)


def run_handler(handler: Callable[[Any, Any], Any], event: Any, context: Any) -> Outcome:
    """Call ``handler(event, context)``; never raises (except BaseExceptions such as
    KeyboardInterrupt that must stop the process)."""
    started = time.perf_counter()
    try:
        result = handler(event, context)
    except Exception as exc:
        duration = (time.perf_counter() - started) * 1000
        frames = traceback.extract_tb(exc.__traceback__)[1:]  # drop this function's frame
        payload = error_payload(type(exc).__name__, str(exc), traceback.format_list(frames))
        return (False, _encode(payload), duration, "Unhandled")
    duration = (time.perf_counter() - started) * 1000
    try:
        text = _encode(result)
    except (TypeError, ValueError, RecursionError) as exc:
        payload = error_payload("Runtime.MarshalError", f"Unable to marshal response: {exc}")
        return (False, _encode(payload), duration, "Unhandled")
    if len(text) > MAX_RESPONSE_BYTES // 4 and len(text.encode("utf-8")) > MAX_RESPONSE_BYTES:
        payload = error_payload(
            "Function.ResponseSizeTooLarge",
            "Response payload size exceeded maximum allowed payload size "
            f"({MAX_RESPONSE_BYTES} bytes).",
        )
        return (False, _encode(payload), duration, "Unhandled")
    return (True, text, duration, None)


def failed(error: dict[str, Any]) -> Outcome:
    """An outcome for a failure found before the handler ran (it could not be loaded)."""
    return (False, _encode(error), 0.0, "Unhandled")
