"""The HTTP routes of functions (docs/http-api.md), and the function data plane.

:class:`FunctionService` runs synchronous invocations on this process's
:class:`~raybus.functions.runtime.Invoker` (shared with the host's pollers when the gateway lives
in a partition host, so reserved concurrency counts both) and queues asynchronous ones durably in
the function's event queue (through the dispatcher). Control routes run typed control calls
(:mod:`raybus.control.functions`). Uploaded code travels as ``code`` (msgpack bin) or
``code_base64`` (JSON): a serialised callable, or a zip archive with ``code_format: "zip"``.
A request that uploads a zip function records this gateway as the AWS endpoint the function's
own AWS calls reach (``AWS_ENDPOINT_URL``: the URL the request came to).
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from aiohttp import web

from raybus.actors import Router, RouterDispatcher
from raybus.control.functions import (
    CreateFunction,
    DeleteFunction,
    GetFunction,
    ListFunctions,
    UpdateFunction,
)
from raybus.core.errors import RaybusError
from raybus.core.functions import SERVER_SIDE, FunctionConfig
from raybus.core.functions import FunctionConfig as _FunctionSettings
from raybus.functions.sandbox import InvocationResult
from raybus.gateway import schemas as S
from raybus.gateway.api import Context, body, ok, query_limit
from raybus.gateway.boundary import CODEC, Route
from raybus.gateway.codec import b64_field
from raybus.gateway.schemas import (
    ANY,
    BASE64,
    BOOLEAN,
    COMPONENTS,
    NUMBER,
    STRING,
    closed,
    open_object,
    settings_schema,
    without_required,
)

__all__ = [
    "FUNCTION_ERROR_HEADER",
    "FunctionApi",
    "FunctionService",
    "base_url",
    "check_json_value",
    "function_settings_from_wire",
    "routes",
]

FUNCTION_ERROR_HEADER = "X-Amz-Function-Error"
CodeFor = Callable[[FunctionConfig], Awaitable[bytes | None]]


def _invalid(parameter: str, message: str) -> RaybusError:
    return RaybusError("InvalidParameterValue", message, parameter=parameter)


def function_settings_from_wire(data: Mapping[str, Any], *, json: bool) -> dict[str, Any]:
    """Function settings with the uploaded code as ``"code": bytes``: msgpack carries it as
    ``code`` (bin), JSON as ``code_base64`` (the boundary has refused unknown fields)."""
    settings = dict(data)
    if "code_base64" in settings:
        if "code" in settings:
            raise _invalid("code", "Give code or code_base64, not both.")
        settings["code"] = b64_field(settings.pop("code_base64"), "code_base64")
    elif "code" in settings:
        code = settings["code"]
        if isinstance(code, bytearray):
            code = settings["code"] = bytes(code)
        if not isinstance(code, bytes):
            hint = " (in JSON, send code_base64)" if json else ""
            raise _invalid("code", f"code is the serialised handler's bytes{hint}.")
    if "code" in settings and not settings["code"]:
        raise _invalid("code", "code is empty.")
    return settings


def base_url(request: web.Request) -> str:
    """``scheme://host[:port]`` as the client reached this gateway."""
    host = request.headers.get("Host") or f"{request.url.host}:{request.url.port}"
    return f"{request.scheme}://{host}"


def _with_endpoint(request: web.Request, settings: dict[str, Any]) -> dict[str, Any]:
    """A zip function (a Lambda deployment package) calls AWS through this gateway: a request
    that uploads one records the gateway's URL as the function's ``AWS_ENDPOINT_URL``."""
    if settings.get("code_format") == "zip":
        settings["aws_endpoint_url"] = base_url(request)
    return settings


def check_json_value(value: object, parameter: str = "payload") -> None:
    """Refuse what JSON cannot carry (bytes, non-string keys, NaN, infinities): a function's
    event is a JSON value, as Lambda's is. Iterative, so deep nesting cannot overflow."""
    stack = [value]
    while stack:
        item = stack.pop()
        if item is None or isinstance(item, (str, bool, int)):
            continue
        if isinstance(item, float):
            if not math.isfinite(item):
                raise _invalid(parameter, f"{parameter} holds a number JSON cannot carry.")
        elif isinstance(item, dict):
            if not all(isinstance(key, str) for key in item):
                raise _invalid(parameter, f"{parameter} is JSON: map keys are strings.")
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        else:
            raise _invalid(
                parameter, f"{parameter} is a JSON value; it holds a {type(item).__name__}."
            )


# -- the function's schemas ----------------------------------------------------------
COMPONENTS["FunctionConfig"] = settings_schema(_FunctionSettings)
_CODE = {
    "code_base64": {
        **BASE64,
        "description": "The serialised handler (cloudpickle), or the zip archive with "
        'code_format "zip", in JSON.',
    },
    "code": {
        "type": "string",
        "description": "The serialised handler's or the zip archive's bytes as msgpack bin "
        "(msgpack only: JSON sends code_base64).",
    },
}
_SERVER_SIDE = tuple(sorted(SERVER_SIDE))
FUNCTION_CREATE = settings_schema(
    _FunctionSettings, exclude=_SERVER_SIDE, required=["name"], extra=_CODE
)
FUNCTION_CHANGES = without_required(
    settings_schema(_FunctionSettings, exclude=(*_SERVER_SIDE, "name"), extra=_CODE)
)
INVOKE = closed({"payload": {"description": "The event: any JSON value."}})
INVOKE_ANSWER = open_object(
    {"request_id": STRING, "ok": BOOLEAN, "payload": ANY, "duration_ms": NUMBER},
    ["request_id", "ok"],
)


class FunctionService:
    def __init__(self, router: Router, invoker: Callable[[], Any], code_for: CodeFor) -> None:
        self.router = router
        self.dispatcher = RouterDispatcher(router)
        self._invoker = invoker
        self._code_for = code_for

    async def config(self, name: str) -> FunctionConfig:
        route = await self.router.route("function", name)
        config: FunctionConfig = route.config
        return config

    async def run(self, name: str, payload: Any) -> InvocationResult:
        """Run the function now (Lambda's RequestResponse): its result or its error, and the
        tail of its log. ``TooManyRequestsException`` when its reserved concurrency is full."""
        config = await self.config(name)
        result: InvocationResult = await self._invoker().invoke(
            config, await self._code_for(config), payload, wait_for_slot=False
        )
        return result

    async def invoke(self, name: str, payload: Any) -> dict[str, Any]:
        """:meth:`run`, answered as the native API does."""
        result = await self.run(name, payload)
        return {
            "request_id": result.request_id,
            "ok": result.ok,
            "payload": result.payload,
            "duration_ms": result.duration_ms,
        }

    async def invoke_async(self, name: str, payload: Any) -> str:
        """Queue the invocation durably (Lambda's Event type); the answer is its request id."""
        await self.config(name)
        return await self.dispatcher.invoke_async(name, payload)


class FunctionApi:
    def __init__(self, context: Context) -> None:
        self.context = context
        self.control = context.control

    async def create_function(self, request: web.Request) -> web.Response:
        settings = _with_endpoint(
            request, function_settings_from_wire(body(request), json=request[CODEC].json)
        )
        config, created = await self.control.run(CreateFunction(settings))
        await self.context.changed()
        return ok(request, {"function": config, "created": created})

    async def list_functions(self, request: web.Request) -> web.Response:
        prefix = request.query.get("prefix") or None
        names = await self.control.run(ListFunctions(prefix, query_limit(request.query)))
        return ok(request, {"functions": names})

    async def get_function(self, request: web.Request) -> web.Response:
        config = await self.control.run(GetFunction(request.match_info["name"]))
        return ok(request, {"function": config})

    async def update_function(self, request: web.Request) -> web.Response:
        changes = _with_endpoint(
            request, function_settings_from_wire(body(request), json=request[CODEC].json)
        )
        config = await self.control.run(UpdateFunction(request.match_info["name"], changes))
        await self.context.changed()
        return ok(request, {"function": config})

    async def delete_function(self, request: web.Request) -> web.Response:
        await self.control.run(DeleteFunction(request.match_info["name"]))
        await self.context.changed()
        return ok(request, {})

    @staticmethod
    def _payload(request: web.Request) -> Any:
        payload = body(request).get("payload")
        check_json_value(payload)  # msgpack bytes, JSON's NaN: not a JSON event
        return payload

    async def invoke(self, request: web.Request) -> web.Response:
        functions = self.context.functions
        assert functions is not None
        result = await functions.invoke(request.match_info["name"], self._payload(request))
        headers = {} if result.get("ok") else {FUNCTION_ERROR_HEADER: "Unhandled"}
        return ok(request, result, headers=headers)

    async def invoke_async(self, request: web.Request) -> web.Response:
        functions = self.context.functions
        assert functions is not None
        name = request.match_info["name"]
        request_id = await functions.invoke_async(name, self._payload(request))
        return ok(request, {"request_id": request_id}, status=202)


def routes(context: Context) -> list[Route]:
    if context.functions is None:
        return []
    api = FunctionApi(context)
    f = "/v1/functions/{name}"
    names = {"prefix": S.STRING, "limit": {"type": "integer", "minimum": 1}}
    function = S.open_object(
        {"function": S.ref("FunctionConfig"), "created": S.BOOLEAN}, ["function"]
    )
    return [
        Route("POST", "/v1/functions", "create_function", api.create_function,
              "Create a function from an import path or uploaded code.", "functions",
              body=FUNCTION_CREATE, answer=function),
        Route("GET", "/v1/functions", "list_functions", api.list_functions,
              "List function names.", "functions", query=names,
              answer=S.open_object({"functions": S.NAMES}, ["functions"])),
        Route("GET", f, "get_function", api.get_function, "A function's settings.",
              "functions", answer=function),
        Route("PATCH", f, "update_function", api.update_function,
              "Change a function's settings or code.", "functions", body=FUNCTION_CHANGES,
              answer=function),
        Route("DELETE", f, "delete_function", api.delete_function,
              "Delete a function and its mappings.", "functions"),
        Route("POST", f + "/invoke", "invoke", api.invoke,
              "Invoke synchronously: the handler's result or Lambda's error object.",
              "functions", body=INVOKE, answer=INVOKE_ANSWER),
        Route("POST", f + "/invoke-async", "invoke_async", api.invoke_async,
              "Queue an asynchronous invocation (durable before the answer).", "functions",
              body=INVOKE, answer=S.open_object({"request_id": S.STRING}, ["request_id"]),
              status=202),
    ]  # fmt: skip
