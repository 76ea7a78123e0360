"""The HTTP server: the native `/v1/` API (docs/http-api.md), `/healthz`, `/metrics` and
`/openapi.json`.

Every route is declared once as a :class:`~raybus.gateway.boundary.Route`. Every request goes
through one middleware that authenticates (bearer token, constant-time compare), bounds the
body (413 before reading anything over the limit), admits it through the boundary (query,
content type, body read timeout, decoding, text, fields: :mod:`raybus.gateway.boundary`), times
it for the latency histogram and turns every failure into the catalog's status and error body.
An unexpected exception is logged and answered as ``InternalError``; it never crashes the
server.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from raybus.core.errors import RaybusError
from raybus.gateway import schemas as S
from raybus.gateway.boundary import (
    BODY,
    CODEC,
    EMPTY_OBJECT,
    Limits,
    Route,
    check_fields,
    read_body,
)
from raybus.gateway.codec import (
    MAX_BATCH,
    MAX_HTTP_BODY,
    Codec,
    entries_from_wire,
    error_body,
    media_type,
    message_to_wire,
    result_to_wire,
    utf8_len,
)
from raybus.gateway.metrics import GatewayMetrics
from raybus.gateway.openapi import openapi_document
from raybus.gateway.resources_api import FunctionInvoker, TopicPublisher, resource_routes
from raybus.gateway.resources_codec import query_limit
from raybus.gateway.schemas import COMPONENTS
from raybus.gateway.service import MAX_WAIT_S, QueueService
from raybus.gateway.text import check_text

__all__ = ["Admin", "build_app"]

log = logging.getLogger(__name__)

Admin = Any  # the controller's actor handle (methods called as `.remote(...)`)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _fail(code: str, message: str, **details: Any) -> RaybusError:
    return RaybusError(code, message, **details)


def _clean(error: RaybusError) -> RaybusError:
    """Errors raised inside actors arrive wrapped in Ray's task-error class; rebuild them."""
    return RaybusError(error.code, error.message, **error.details)


def _int(data: dict[str, Any], key: str, default: int | None, low: int, high: int) -> int | None:
    """An optional integer field; absent means ``default`` (an explicit null too, unless the
    field has a default of its own)."""
    if key not in data or (data[key] is None and default is None):
        return default
    value = data[key]
    if isinstance(value, bool) or not isinstance(value, int):
        raise _fail("InvalidParameterValue", f"{key} must be an integer.", parameter=key)
    if key == "max_messages" and value > high:
        raise _fail(
            "TooManyEntriesInBatchRequest", f"{key} is at most {high}.", parameter=key, limit=high
        )
    if not low <= value <= high:
        raise _fail(
            "InvalidParameterValue",
            f"{key} must be an integer from {low} to {high}.",
            parameter=key,
        )
    return value


class _Api:
    def __init__(
        self,
        service: QueueService,
        admin: Admin,
        metrics: GatewayMetrics,
        token: str | None,
        limits: Limits,
    ) -> None:
        self.service = service
        self.admin = admin
        self.metrics = metrics
        self.token = token.encode() if token else None
        self.limits = limits
        self.routes: dict[str, Route] = {}

    # -- middleware -----------------------------------------------------------------------------
    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        started = time.perf_counter()
        operation = request.match_info.route.name or "unknown"
        codec = Codec.for_request(
            request.headers.get("Content-Type") if request.body_exists else None,
            request.headers.get("Accept"),
        )
        request[CODEC] = codec
        outcome = "ok"
        close = False
        try:
            if request.path.startswith("/v1/"):
                self._authenticate(request)
                if (request.content_length or 0) > MAX_HTTP_BODY:
                    raise _fail(
                        "RequestTooLarge",
                        f"The request body exceeds {MAX_HTTP_BODY} bytes.",
                        limit=MAX_HTTP_BODY,
                    )
            route = self.routes.get(operation)
            if route is not None:
                await self._admit(request, route)
            response = await handler(request)
        except RaybusError as error:
            error = _clean(error)
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
        self.metrics.latency.labels(operation, outcome).observe(time.perf_counter() - started)
        return response

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

    # -- queues ---------------------------------------------------------------------------------
    async def create_queue(self, request: web.Request) -> web.Response:
        settings = self._body(request)
        config, created = await self.admin.create_queue.remote(settings)
        await self.service.router.refresh()
        return self._ok(request, {"queue": config, "created": created})

    async def list_queues(self, request: web.Request) -> web.Response:
        prefix = request.query.get("prefix") or None
        names = await self.admin.list_queues.remote(prefix, query_limit(request.query))
        return self._ok(request, {"queues": names})

    async def get_queue(self, request: web.Request) -> web.Response:
        config = await self.admin.get_queue.remote(request.match_info["name"])
        return self._ok(request, {"queue": config})

    async def update_queue(self, request: web.Request) -> web.Response:
        changes = self._body(request)
        config = await self.admin.update_queue.remote(request.match_info["name"], changes)
        await self.service.router.refresh()
        return self._ok(request, {"queue": config})

    async def delete_queue(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        await self.admin.delete_queue.remote(name)
        await self.service.router.refresh()
        self.service.forget(name)
        self.metrics.forget(name)
        return self._ok(request, {})

    async def stats(self, request: web.Request) -> web.Response:
        return self._ok(request, await self.service.stats(request.match_info["name"]))

    async def purge(self, request: web.Request) -> web.Response:
        await self.service.purge(request.match_info["name"])
        return self._ok(request, {})

    # -- messages -------------------------------------------------------------------------------
    async def send(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        codec: Codec = request[CODEC]
        entries, batch = entries_from_wire(self._body(request), json=codec.json)
        if not batch and isinstance(entries[0], RaybusError):
            raise entries[0]
        results = await self.service.send(name, entries)
        accepted = [
            entry
            for entry, result in zip(entries, results, strict=True)
            if not isinstance(result, RaybusError) and not isinstance(entry, RaybusError)
        ]
        self.metrics.count(
            "sent", name, len(accepted), sum(utf8_len(entry.body) for entry in accepted)
        )
        if not batch:
            (result,) = results
            if isinstance(result, RaybusError):
                raise result
            return self._ok(request, result_to_wire(result))
        return self._ok(
            request,
            {
                "results": [
                    error_body(_clean(r)) if isinstance(r, RaybusError) else result_to_wire(r)
                    for r in results
                ]
            },
        )

    async def receive(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        codec: Codec = request[CODEC]
        data = self._body(request)
        max_messages = _int(data, "max_messages", 1, 1, MAX_BATCH)
        wait_s = _int(data, "wait_s", None, 0, MAX_WAIT_S)
        visibility = _int(data, "visibility_timeout_s", None, 0, 43_200)
        assert max_messages is not None
        messages = await self.service.receive(name, max_messages, wait_s, visibility)
        self.metrics.count("received", name, len(messages))
        return self._ok(
            request, {"messages": [message_to_wire(m, json=codec.json) for m in messages]}
        )

    @staticmethod
    def _batch(data: dict[str, Any], key: str) -> list[Any]:
        items = data[key]
        if not isinstance(items, list):
            raise _fail("InvalidParameterValue", f"{key} must be a list.", parameter=key)
        if not items:
            raise _fail("EmptyBatchRequest", "The batch has no entries.")
        if len(items) > MAX_BATCH:
            raise _fail(
                "TooManyEntriesInBatchRequest",
                f"A batch holds at most {MAX_BATCH} entries, not {len(items)}.",
                limit=MAX_BATCH,
            )
        return items

    def _answer(
        self, request: web.Request, results: list[RaybusError | None], batch: bool
    ) -> web.Response:
        if not batch:
            if results[0] is not None:
                raise results[0]
            return self._ok(request, {})
        return self._ok(
            request, {"results": [None if r is None else error_body(_clean(r)) for r in results]}
        )

    async def delete(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        data = self._body(request)
        if "receipts" in data:
            receipts, batch = self._batch(data, "receipts"), True
        elif "receipt" in data:
            receipts, batch = [data["receipt"]], False
        else:
            raise _fail("MissingParameter", "Give receipt or receipts.", parameter="receipt")
        results = await self.service.delete(name, receipts)
        self.metrics.count("deleted", name, sum(1 for r in results if r is None))
        return self._answer(request, results, batch)

    async def visibility(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        data = self._body(request)
        if "changes" in data:
            raw, batch = self._batch(data, "changes"), True
        else:
            raw, batch = [data], False
        changes: list[tuple[object, object]] = []
        for item in raw:
            if not isinstance(item, dict) or "receipt" not in item:
                raise _fail("MissingParameter", "Each change needs a receipt.", parameter="receipt")
            if "visibility_timeout_s" not in item:
                raise _fail(
                    "MissingParameter",
                    "Each change needs visibility_timeout_s.",
                    parameter="visibility_timeout_s",
                )
            changes.append((item["receipt"], item["visibility_timeout_s"]))
        results = await self.service.change_visibility(name, changes)
        return self._answer(request, results, batch)

    # -- move tasks, clock, operations --------------------------------------------------------
    async def start_move_task(self, request: web.Request) -> web.Response:
        data = self._body(request)
        source = data.get("source")
        if not isinstance(source, str):
            raise _fail("MissingParameter", "A move task needs a source.", parameter="source")
        destination = data.get("destination")
        if destination is not None and not isinstance(destination, str):
            raise _fail("InvalidParameterValue", "destination is a queue name.")
        task = await self.admin.start_move_task.remote(
            source, destination, data.get("max_messages_per_s")
        )
        return self._ok(request, {"task": task})

    async def list_move_tasks(self, request: web.Request) -> web.Response:
        source = request.query.get("source")
        if not source:
            raise _fail("MissingParameter", "Give ?source=<queue>.", parameter="source")
        return self._ok(request, {"tasks": await self.admin.list_move_tasks.remote(source)})

    async def cancel_move_task(self, request: web.Request) -> web.Response:
        task = await self.admin.cancel_move_task.remote(request.match_info["handle"])
        return self._ok(request, {"task": task})

    async def clock(self, request: web.Request) -> web.Response:
        return self._ok(request, await self.admin.clock.remote())

    async def advance_clock(self, request: web.Request) -> web.Response:
        data = self._body(request)
        if "seconds" not in data:
            raise _fail("MissingParameter", "Give seconds.", parameter="seconds")
        now = await self.admin.advance_clock.remote(data["seconds"])
        return self._ok(request, {"now_ms": now})

    async def healthz(self, request: web.Request) -> web.Response:
        try:
            health = await asyncio.wait_for(
                self.admin.health.remote(), self.limits.health_timeout_s
            )
        except Exception as error:  # the controller is restarting (or its node is gone)
            health = {
                "status": "degraded",
                "error": f"The controller did not answer ({type(error).__name__}).",
            }
        codec: Codec = request[CODEC]
        return web.Response(
            status=200 if health["status"] == "ok" else 503,
            body=codec.encode(health),
            content_type=codec.content_type,
        )

    async def metrics_text(self, request: web.Request) -> web.Response:
        latest: dict[str, list[dict[str, Any]]] = {}
        for name in list(self.service.router.table.queues):
            try:
                latest[name] = await self.service.partition_stats(name)
            except RaybusError:
                continue  # a queue mid-delete or a host restarting: skip it this scrape
        self.metrics.partitions.latest = latest
        self.metrics.partitions.parked = self.service.parked
        await self._resource_samples(latest)
        body = generate_latest(self.metrics.registry)
        response = web.Response(body=body)
        response.headers["Content-Type"] = CONTENT_TYPE_LATEST
        return response

    async def _resource_samples(self, queues: dict[str, list[dict[str, Any]]]) -> None:
        """Topic, function and mapping samples for this scrape (see resource_metrics)."""
        table = self.service.router.table
        hosts: list[dict[str, Any]] = []
        if table.topics or table.functions or table.mappings:
            hosts = await self.admin.resource_stats.remote()
        self.metrics.resources.update(table, queues, hosts)


def build_app(
    service: QueueService,
    admin: Admin,
    metrics: GatewayMetrics,
    *,
    token: str | None,
    topics: TopicPublisher | None = None,
    functions: FunctionInvoker | None = None,
    limits: Limits | None = None,
) -> web.Application:
    """The application. ``topics`` and ``functions`` (the data-plane services of topics and
    functions) add the routes of :mod:`raybus.gateway.resources_api`: topics and
    subscriptions with ``topics``, functions and event-source mappings with ``functions``.
    Every route is declared as a :class:`~raybus.gateway.boundary.Route`; the same list
    registers the handlers, drives the boundary's checks and makes ``/openapi.json``."""
    api = _Api(service, admin, metrics, token, limits or Limits())
    app = web.Application(middlewares=[api.middleware], client_max_size=MAX_HTTP_BODY)
    routes = [*_queue_routes(api), *resource_routes(service, admin, topics, functions)]

    async def openapi(request: web.Request) -> web.Response:
        return web.json_response(document)

    routes.append(
        Route("GET", "/openapi.json", "openapi", openapi, "This API's OpenAPI 3.1 description.",
              "operations", answer={"type": "object"})
    )  # fmt: skip
    document = openapi_document(routes)
    for route in routes:
        app.router.add_route(route.method, route.path, route.handler, name=route.operation)
        api.routes[route.operation] = route
    return app


def _queue_routes(api: _Api) -> list[Route]:
    q = "/v1/queues/{name}"
    name_query = {"prefix": S.STRING, "limit": {"type": "integer", "minimum": 1}}
    return [
        Route("POST", "/v1/queues", "create_queue", api.create_queue,
              "Create a queue (idempotent for equal settings).", "queues",
              body=S.QUEUE_CONFIG, answer=S.QUEUE_ANSWER),
        Route("GET", "/v1/queues", "list_queues", api.list_queues, "List queue names.",
              "queues", query=name_query,
              answer=S.open_object({"queues": S.NAMES}, ["queues"])),
        Route("GET", q, "get_queue", api.get_queue, "A queue's settings.", "queues",
              answer=S.QUEUE_ANSWER),
        Route("PATCH", q, "update_queue", api.update_queue, "Change a queue's settings.",
              "queues", body=S.QUEUE_CHANGES, answer=S.QUEUE_ANSWER),
        Route("DELETE", q, "delete_queue", api.delete_queue, "Delete a queue and its messages.",
              "queues"),
        Route("GET", q + "/stats", "stats", api.stats, "A queue's depth and counters.",
              "queues", answer=S.STATS),
        Route("POST", q + "/purge", "purge", api.purge, "Delete every message of a queue.",
              "queues"),
        Route("POST", q + "/messages", "send", api.send, "Send a message or a batch.",
              "messages", body=S.SEND, answer=S.SEND_ANSWER),
        Route("POST", q + "/receive", "receive", api.receive,
              "Receive messages (long-polling up to wait_s).", "messages", body=S.RECEIVE,
              answer=S.RECEIVE_ANSWER),
        Route("POST", q + "/delete", "delete", api.delete, "Delete received messages.",
              "messages", body=S.DELETE, answer=S.SETTLE_ANSWER),
        Route("POST", q + "/visibility", "change_visibility", api.visibility,
              "Change the visibility timeout of received messages.", "messages",
              body=S.VISIBILITY, answer=S.SETTLE_ANSWER),
        Route("POST", "/v1/move-tasks", "start_move_task", api.start_move_task,
              "Start moving a dead-letter queue's messages back.", "move tasks",
              body=S.MOVE_TASK_START,
              answer=S.open_object({"task": S.ref("MoveTask")}, ["task"])),
        Route("GET", "/v1/move-tasks", "list_move_tasks", api.list_move_tasks,
              "The move tasks of a source queue, newest first.", "move tasks",
              query={"source": S.STRING},
              answer=S.open_object({"tasks": {"type": "array", "items": S.ref("MoveTask")}},
                                   ["tasks"])),
        Route("POST", "/v1/move-tasks/{handle}/cancel", "cancel_move_task",
              api.cancel_move_task, "Cancel a move task.", "move tasks",
              answer=S.open_object({"task": S.ref("MoveTask")}, ["task"])),
        Route("GET", "/v1/clock", "clock", api.clock, "The cluster's clock.", "clock",
              answer=S.open_object({"now_ms": S.INTEGER, "test_clock": S.BOOLEAN})),
        Route("POST", "/v1/clock/advance", "advance_clock", api.advance_clock,
              "Move the virtual clock forward (raybus up --test-clock only).", "clock",
              body=S.CLOCK_ADVANCE, answer=S.open_object({"now_ms": S.INTEGER}, ["now_ms"])),
        Route("GET", "/healthz", "healthz", api.healthz,
              "Cluster health: 200 ok, 503 degraded.", "operations", answer=S.HEALTH),
        Route("GET", "/metrics", "metrics", api.metrics_text, "Prometheus metrics.",
              "operations", answer={"type": "string"}),
    ]  # fmt: skip
