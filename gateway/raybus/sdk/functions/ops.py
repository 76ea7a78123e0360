"""The function operations (Lambda) as pure :class:`~raybus.sdk._wire.Op` s: each builds its
request and reads its answer; the clients run them, nothing here does I/O.

A function's code is an import path, or a Python callable serialised by
:mod:`raybus.sdk._code`; its destinations may be given as handles.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from raybus.sdk._code import serialize_handler
from raybus.sdk._handles import target
from raybus.sdk._wire import (
    Call,
    Op,
    answer_list,
    answer_map,
    names_query,
    nothing,
    path,
    without_none,
)
from raybus.sdk.errors import FunctionError, InternalError

__all__ = [
    "DESTINATION_KINDS",
    "INVOKE_EXTRA_TIMEOUT_S",
    "create_function",
    "delete_function",
    "function_settings",
    "get_function",
    "invoke",
    "invoke_async",
    "list_functions",
    "update_function",
]

# A synchronous invoke holds the answer while the function runs: up to Lambda's 900 s.
INVOKE_EXTRA_TIMEOUT_S = 900.0
# The kinds each destination setting may name.
DESTINATION_KINDS: dict[str, tuple[str, ...]] = {
    "on_success": ("queue", "topic", "function"),
    "on_failure": ("queue", "topic", "function"),
    "dead_letter_queue": ("queue", "topic"),
}


def function_settings(changes: Mapping[str, Any]) -> dict[str, Any]:
    """A create or update body: a callable ``handler`` becomes ``code`` (its serialised
    bytes) and destinations given as handles become targets. ``None`` stays (an update
    clears the setting with it; :func:`create_function` leaves it out)."""
    body: dict[str, Any] = {}
    for key, value in changes.items():
        if key == "handler" and value is not None and not isinstance(value, str):
            body["code"] = serialize_handler(value)
        elif key in DESTINATION_KINDS and value is not None:
            body[key] = target(value, key, DESTINATION_KINDS[key])
        else:
            body[key] = value
    return body


def _config(answer: Mapping[str, Any]) -> dict[str, Any]:
    return answer_map(answer, "function")


def create_function(body: Mapping[str, Any]) -> Op[dict[str, Any]]:
    return Op(Call("POST", path("functions"), without_none(body)), _config)


def get_function(name: str) -> Op[dict[str, Any]]:
    return Op(Call("GET", path("functions", name)), _config)


def list_functions(prefix: str | None, limit: int | None) -> Op[list[str]]:
    call = Call("GET", path("functions"), params=names_query(prefix, limit))
    return Op(call, lambda a: [str(n) for n in answer_list(a, "functions")])


def update_function(name: str, changes: Mapping[str, Any]) -> Op[dict[str, Any]]:
    return Op(Call("PATCH", path("functions", name), function_settings(changes)), _config)


def delete_function(name: str) -> Op[None]:
    return Op(Call("DELETE", path("functions", name)), nothing)


def _invocation(answer: Mapping[str, Any]) -> Any:
    """The handler's result, or raise :class:`FunctionError` for a failed invocation."""
    if not isinstance(answer.get("ok"), bool) or "payload" not in answer:
        raise InternalError("The gateway's invoke answer lacks ok and payload.")
    request_id = answer.get("request_id")
    request_id = request_id if isinstance(request_id, str) else None
    if not answer["ok"]:
        raise FunctionError.from_payload(answer["payload"], request_id)
    return answer["payload"]


def invoke(name: str, payload: Any) -> Op[Any]:
    call = Call(
        "POST",
        path("functions", name, "invoke"),
        {"payload": payload},
        extra_timeout_s=INVOKE_EXTRA_TIMEOUT_S,
    )
    return Op(call, _invocation)


def _request_id(answer: Mapping[str, Any]) -> str:
    value = answer.get("request_id")
    if not isinstance(value, str):
        raise InternalError("The gateway's invoke-async answer lacks request_id.")
    return value


def invoke_async(name: str, payload: Any) -> Op[str]:
    return Op(
        Call("POST", path("functions", name, "invoke-async"), {"payload": payload}), _request_id
    )
