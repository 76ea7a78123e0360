"""Lambda's Invoke (and the deprecated InvokeAsync) over raybus's function runtime.

- ``RequestResponse`` (the default) runs the function now through the gateway's
  :class:`~raybus.gateway.functions.FunctionService`: status 200, the handler's JSON result as
  the payload, or its error object (``errorMessage``, ``errorType``, ``requestId``,
  ``stackTrace``, as Lambda's Python runtime writes it) with ``X-Amz-Function-Error:
  Unhandled``; ``LogType: Tail`` adds ``X-Amz-Log-Result``, the base64 of the last 4 KB of the
  invocation's log. Payloads up to 6 MB.
- ``Event`` commits the event to the function's durable event queue and answers 202 (retries,
  maximum age, destinations and the dead-letter queue follow: docs/functions.md). Up to 1 MB.
- ``DryRun`` checks the function exists and answers 204.

The payload is JSON (none means ``{}``); anything else is ``InvalidRequestContentException``,
a payload over the limit ``RequestTooLargeException``.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any

from raybus.core.arns import LATEST
from raybus.core.errors import RaybusError
from raybus.gateway.aws.lambda_.functions import existing
from raybus.gateway.aws.lambda_.names import function_name
from raybus.gateway.aws.protocols import AwsError
from raybus.gateway.aws.service import Call
from raybus.gateway.functions import FunctionService, check_json_value

__all__ = ["MAX_ASYNC_PAYLOAD", "MAX_SYNC_PAYLOAD", "OPERATIONS"]

MAX_SYNC_PAYLOAD = 6_291_456
MAX_ASYNC_PAYLOAD = 1_048_576
MAX_INVOKE_ASYNC_PAYLOAD = 262_144


def _service(call: Call) -> FunctionService:
    service = call.gateway.functions
    if not isinstance(service, FunctionService):
        raise AwsError("ServiceException", "This gateway does not run functions.", status=500)
    return service


def _event(raw: bytes, limit: int) -> Any:
    if len(raw) > limit:
        raise AwsError(
            "RequestTooLargeException",
            f"Request must be smaller than {limit} bytes for the InvokeFunction operation",
            status=413,
        )
    if not raw.strip():
        return {}
    try:
        event = json.loads(raw.decode("utf-8"))
        check_json_value(event)
    except (UnicodeDecodeError, ValueError, RaybusError) as error:
        raise AwsError(
            "InvalidRequestContentException",
            f"Could not parse request body into json: Could not parse payload into json: {error}",
            status=400,
        ) from None
    return event


def _error_payload(payload: Any, request_id: str) -> Any:
    """The error object in the order and with the members Lambda's Python runtime writes."""
    if not isinstance(payload, dict):
        return payload
    return {
        "errorMessage": payload.get("errorMessage", ""),
        "errorType": payload.get("errorType", "Unhandled"),
        "requestId": request_id,
        "stackTrace": payload.get("stackTrace", []),
    }


async def invoke(call: Call, params: dict[str, Any]) -> Mapping[str, Any]:
    name = function_name(call, params)
    kind = params.get("InvocationType", "RequestResponse")
    raw = bytes(params.get("Payload") or b"")
    event = _event(raw, MAX_ASYNC_PAYLOAD if kind == "Event" else MAX_SYNC_PAYLOAD)
    await existing(call, name)
    service = _service(call)
    if kind == "DryRun":
        return {"StatusCode": 204}
    if kind == "Event":
        await service.invoke_async(name, event)
        return {"StatusCode": 202}
    result = await service.run(name, event)
    payload = result.payload if result.ok else _error_payload(result.payload, result.request_id)
    out: dict[str, Any] = {
        "StatusCode": 200,
        "ExecutedVersion": LATEST,
        "Payload": json.dumps(payload).encode("utf-8"),  # ASCII, as Lambda's runtime writes it
    }
    if not result.ok:
        out["FunctionError"] = "Unhandled"
    if params.get("LogType") == "Tail":
        out["LogResult"] = base64.b64encode(result.log_tail.encode("utf-8")).decode("ascii")
    return out


async def invoke_async(call: Call, params: dict[str, Any]) -> Mapping[str, Any]:
    name = function_name(call, params, qualified=False)
    event = _event(bytes(params.get("InvokeArgs") or b""), MAX_INVOKE_ASYNC_PAYLOAD)
    await existing(call, name)
    await _service(call).invoke_async(name, event)
    return {"Status": 202}


OPERATIONS = {"Invoke": invoke, "InvokeAsync": invoke_async}
