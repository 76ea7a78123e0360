"""The HTTP server: every kind's routes behind one middleware, plus `/openapi.json`.

Each kind's HTTP module (:mod:`raybus.gateway.queues`, ``topics``, ``functions``, ``mappings``,
``operations``) declares its routes as :class:`~raybus.gateway.boundary.Route` values; the
server registers them all and knows none of them (:mod:`raybus.gateway.registry` lists the
modules).
Every request goes through one middleware that authenticates (bearer token, constant-time
compare), bounds the body (413 before reading anything over the limit), admits it through the
boundary (query, content type, body read timeout, decoding, text, fields:
:mod:`raybus.gateway.boundary`), times it for the latency histogram and turns every failure
into the catalog's status and error body. An unexpected exception is logged and answered as
``InternalError``; it never crashes the server. A route with a raw body (an object upload:
``Route.raw_body``) is admitted without its body, which its handler streams; the error answer
to a ``HEAD`` request, which has no body, names its code in ``x-raybus-error-code``.
"""

from __future__ import annotations

import dataclasses
import hmac
import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from aiohttp import web

from raybus.actors.objects import ObjectStore
from raybus.core.errors import RaybusError
from raybus.gateway.api import BusPublisher, Context, FunctionInvoker, TopicPublisher, clean
from raybus.gateway.audit import AuditCall, Auditor, native_call
from raybus.gateway.aws.front import MAX_AWS_BODY, NATIVE_PATHS, AwsFront
from raybus.gateway.aws.registry import SERVICES
from raybus.gateway.boundary import (
    BODY,
    CODEC,
    EMPTY_OBJECT,
    Limits,
    Route,
    check_fields,
    read_body,
)
from raybus.gateway.codec import MAX_HTTP_BODY, Codec, error_body, media_type
from raybus.gateway.control import Control
from raybus.gateway.metrics import GatewayMetrics
from raybus.gateway.openapi import openapi_document
from raybus.gateway.queue_service import QueueService
from raybus.gateway.registry import ROUTE_MODULES
from raybus.gateway.schemas import COMPONENTS
from raybus.gateway.text import check_text

__all__ = ["build_app"]

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
AWS_ROUTE = "aws"
ERROR_CODE_HEADER = "x-raybus-error-code"  # on an error answer to HEAD, which has no body
_TAIL = re.compile(r"{(\w+):[^{}]*}")  # a path segment with a pattern: {key:.+}
_BINARY: dict[str, Any] = {"*/*": {"schema": {"type": "string", "format": "binary"}}}


def _fail(code: str, message: str, **details: Any) -> RaybusError:
    return RaybusError(code, message, **details)


class _Middleware:
    def __init__(self, metrics: GatewayMetrics, token: str | None, limits: Limits) -> None:
        self.metrics = metrics
        self.token = token.encode() if token else None
        self.limits = limits
        self.routes: dict[str, Route] = {}
        self.audit: Auditor | None = None

    # -- middleware -----------------------------------------------------------------------------
    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        started = time.perf_counter()
        operation = request.match_info.route.name or "unknown"
        route = self.routes.get(operation)
        raw = route is not None and route.raw_body  # the body is an object's bytes
        codec = Codec.for_request(
            request.headers.get("Content-Type") if request.body_exists and not raw else None,
            request.headers.get("Accept"),
        )
        if operation == AWS_ROUTE:  # answers every failure itself, in AWS's terms
            try:
                return await handler(request)
            except web.HTTPNotFound:  # neither the native API nor a request AWS clients send
                self.metrics.observe("unknown", "NotFound", time.perf_counter() - started)
                return self._error(codec, _fail("NotFound", f"No route {request.path}."))
        request[CODEC] = codec
        outcome = "ok"
        close = False
        try:
            if request.path.startswith("/v1/"):
                self._authenticate(request)
                if not raw and (request.content_length or 0) > MAX_HTTP_BODY:
                    raise _fail(
                        "RequestTooLarge",
                        f"The request body exceeds {MAX_HTTP_BODY} bytes.",
                        limit=MAX_HTTP_BODY,
                    )
            if route is not None:
                await self._admit(request, route)
            response = await handler(request)
            audit = self.audit
            if (
                audit is not None
                and route is not None
                and response.status < 300
                and audit.wants_native(operation, request.method)
            ):
                await audit.record(self._audited(request, route, response))
        except RaybusError as error:
            error = clean(error)
            outcome = error.code
            if error.code == "Throttled":
                self.metrics.throttled.labels(operation).inc()
            close = error.code == "RequestTimeout"  # the rest of the body may still arrive
            response = self._error(codec, error)
        except web.HTTPRequestEntityTooLarge:
            outcome = "RequestTooLarge"
            response = self._error(
                codec, _fail("RequestTooLarge", f"The request body exceeds {MAX_HTTP_BODY} bytes.")
            )
        except web.HTTPException as exc:
            if exc.status == 404:
                outcome = "NotFound"
                response = self._error(codec, _fail("NotFound", f"No route {request.path}."))
            elif exc.status == 405:
                outcome = "NotFound"
                response = self._error(
                    codec, _fail("NotFound", f"{request.method} is not allowed on {request.path}.")
                )
            else:
                raise
        except Exception:
            log.exception("unexpected error serving %s %s", request.method, request.path)
            outcome = "InternalError"
            response = self._error(codec, _fail("InternalError", "An unexpected server error."))
        if close:
            response.force_close()
        if request.method == "HEAD" and outcome != "ok":
            # a HEAD answer has no body: the code travels in a header (the SDK reads it)
            response.headers[ERROR_CODE_HEADER] = outcome
        self.metrics.observe(operation, outcome, time.perf_counter() - started)
        return response

    def _audited(
        self, request: web.Request, route: Route, response: web.StreamResponse
    ) -> AuditCall | None:
        """The native call just served, as the audit trail records it."""
        answer: Any = None
        if isinstance(response, web.Response) and isinstance(response.body, bytes):
            try:
                answer = request[CODEC].decode(response.body) if response.body else None
            except RaybusError:
                answer = None
        parameters = {**request.match_info, **request.query, **request.get(BODY, {})}
        return native_call(
            route.operation,
            request.method,
            caller="raybus-token" if self.token is not None else "anonymous",
            source_ip=request.remote or "",
            user_agent=request.headers.get("User-Agent", ""),
            request_id=str(uuid.uuid4()),
            parameters=parameters,
            response=answer,
        )

    async def _admit(self, request: web.Request, route: Route) -> None:
        """The boundary (raybus.gateway.boundary): query, content type, body, text, fields."""
        unknown = sorted(set(request.query) - set(route.query))
        if unknown:
            raise _fail(
                "InvalidParameterValue",
                f"Unknown query parameter(s): {', '.join(unknown)}.",
                parameter=unknown[0],
            )
        check_text(dict(request.match_info), ("path",))
        if route.raw_body:  # the handler streams the body (an object's bytes)
            request[BODY] = {}
            return
        raw = await read_body(request, self.limits.body_timeout_s) if request.body_exists else b""
        if raw:
            json_body = media_type(request.headers.get("Content-Type"))
            if json_body is None:
                raise _fail(
                    "UnsupportedMediaType",
                    "Send the body as application/json or application/msgpack, not "
                    f"{request.headers.get('Content-Type')}.",
                )
            body = Codec(json=json_body).decode(raw)
        else:
            body = {}
        check_fields(body, route.body or EMPTY_OBJECT, COMPONENTS)
        request[BODY] = body

    def _authenticate(self, request: web.Request) -> None:
        if self.token is None:
            return
        header = request.headers.get("Authorization", "")
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(value.encode(), self.token):
            raise _fail("Unauthorized", "A valid bearer token is required.")

    @staticmethod
    def _error(codec: Codec, error: RaybusError) -> web.Response:
        headers = {}
        if error.code == "Throttled":
            headers["Retry-After"] = str(int(error.details.get("retry_after_s", 1)))
        return web.Response(
            status=error.http_status,
            body=codec.encode(error_body(error)),
            content_type=codec.content_type,
            headers=headers,
        )

    @staticmethod
    def _ok(request: web.Request, payload: dict[str, Any]) -> web.Response:
        codec: Codec = request[CODEC]
        return web.Response(body=codec.encode(payload), content_type=codec.content_type)

    @staticmethod
    def _body(request: web.Request) -> dict[str, Any]:
        """The request's body, decoded and checked by the boundary."""
        return request[BODY]


def _document(routes: list[Route]) -> dict[str, Any]:
    """The OpenAPI document of ``routes``: a tail segment (``{key:.+}``) is the template
    ``{key}``; a raw body or answer (an object's bytes) is any media type, binary, and a raw
    answer may be partial (206, for a ``Range`` request)."""
    documented = [dataclasses.replace(r, path=_TAIL.sub(r"{\1}", r.path)) for r in routes]
    document = openapi_document(documented)
    for route in documented:
        if not (route.raw_body or route.raw_answer):
            continue
        operation = document["paths"][route.path][route.method.lower()]
        if route.raw_body:
            operation["requestBody"] = {"required": False, "content": _BINARY}
        if route.raw_answer:
            answer = operation["responses"][str(route.status)]
            if route.method == "HEAD":
                answer.pop("content", None)
            else:
                answer["content"] = _BINARY
                operation["responses"]["206"] = {
                    "description": "The bytes a Range header asked for.",
                    "content": _BINARY,
                }
    return document


def build_app(
    service: QueueService,
    admin: Any,
    metrics: GatewayMetrics,
    *,
    token: str | None,
    topics: TopicPublisher | None = None,
    functions: FunctionInvoker | None = None,
    limits: Limits | None = None,
    aws_credentials: Mapping[str, str] | None = None,
    audit: Auditor | None = None,
    buses: BusPublisher | None = None,
    objects: ObjectStore | None = None,
) -> web.Application:
    """The application over the queue data plane ``service`` and the controller ``admin``
    (its actor handle, or a :class:`~raybus.gateway.control.Control`). ``topics`` and
    ``functions`` (the data planes of topics and functions) add the routes of topics and
    subscriptions, and of functions and event-source mappings. Every route is declared as a
    :class:`~raybus.gateway.boundary.Route`; the same list registers the handlers, drives the
    boundary's checks and makes ``/openapi.json``. ``aws_credentials`` (access key id →
    secret; empty: accept any signature) adds AWS's wire protocols on every other path
    (:mod:`raybus.gateway.aws`); the account and region come from the routing table."""
    limits = limits or Limits()
    control = admin if isinstance(admin, Control) else Control(admin)
    context = Context(control, service, metrics, limits, topics, functions, audit, buses, objects)
    metrics.long_polls.set_function(lambda: service.parked)
    middleware = _Middleware(metrics, token, limits)
    middleware.audit = audit
    app = web.Application(
        middlewares=[middleware.middleware],
        client_max_size=MAX_AWS_BODY if aws_credentials is not None else MAX_HTTP_BODY,
    )
    routes = [route for module in ROUTE_MODULES for route in module(context)]

    async def openapi(request: web.Request) -> web.Response:
        return web.json_response(document)

    routes.append(
        Route("GET", "/openapi.json", "openapi", openapi, "This API's OpenAPI 3.1 description.",
              "operations", answer={"type": "object"})
    )  # fmt: skip
    document = _document(routes)
    for route in routes:
        app.router.add_route(route.method, route.path, route.handler, name=route.operation)
        middleware.routes[route.operation] = route
    if aws_credentials is not None:
        front = AwsFront(
            context,
            aws_credentials,
            SERVICES,
            body_timeout_s=limits.body_timeout_s,
            require_signature=bool(token),
        )
        app.router.add_route("*", "/{path:" + NATIVE_PATHS + "}", front.handle, name=AWS_ROUTE)
    return app
