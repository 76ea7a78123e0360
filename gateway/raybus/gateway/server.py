"""The HTTP server: the native `/v1/` API (docs/http-api.md), `/healthz` and `/metrics`.

Every request goes through one middleware that authenticates (bearer token, constant-time
compare), bounds the body (413 before reading anything over the limit), times the request for
the latency histogram and turns every failure into the catalog's status and error body. An
unexpected exception is logged and answered as ``InternalError``; it never crashes the server.
"""

from __future__ import annotations

import hmac
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from raybus.core.errors import RaybusError
from raybus.gateway.codec import (
    MAX_BATCH,
    MAX_HTTP_BODY,
    Codec,
    check_keys,
    entries_from_wire,
    error_body,
    message_to_wire,
    result_to_wire,
    utf8_len,
)
from raybus.gateway.metrics import GatewayMetrics
from raybus.gateway.resources_api import FunctionInvoker, TopicPublisher
from raybus.gateway.resources_api import add_routes as add_resource_routes
from raybus.gateway.service import MAX_WAIT_S, QueueService

__all__ = ["Admin", "build_app"]

log = logging.getLogger(__name__)

Admin = Any  # the controller's actor handle (methods called as `.remote(...)`)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
CODEC = web.RequestKey("codec", Codec)


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


_RECEIVE_KEYS = frozenset({"max_messages", "wait_s", "visibility_timeout_s"})
_DELETE_KEYS = frozenset({"receipt", "receipts"})
_CHANGE_KEYS = frozenset({"receipt", "visibility_timeout_s"})


class _Api:
    def __init__(
        self, service: QueueService, admin: Admin, metrics: GatewayMetrics, token: str | None
    ) -> None:
        self.service = service
        self.admin = admin
        self.metrics = metrics
        self.token = token.encode() if token else None

    # -- middleware -----------------------------------------------------------------------------
    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        started = time.perf_counter()
        operation = request.match_info.route.name or "unknown"
        codec = Codec.for_request(
            request.headers.get("Content-Type") if request.can_read_body else None,
            request.headers.get("Accept"),
        )
        request[CODEC] = codec
        outcome = "ok"
        try:
            if request.path.startswith("/v1/"):
                self._authenticate(request)
                if (request.content_length or 0) > MAX_HTTP_BODY:
                    raise _fail(
                        "RequestTooLarge",
                        f"The request body exceeds {MAX_HTTP_BODY} bytes.",
                        limit=MAX_HTTP_BODY,
                    )
            response = await handler(request)
        except RaybusError as error:
            error = _clean(error)
            outcome = error.code
            if error.code == "Throttled":
                self.metrics.throttled.labels(operation).inc()
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
        self.metrics.latency.labels(operation, outcome).observe(time.perf_counter() - started)
        return response

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
    async def _body(request: web.Request) -> dict[str, Any]:
        codec: Codec = request[CODEC]
        return codec.decode(await request.read())

    # -- queues ---------------------------------------------------------------------------------
    async def create_queue(self, request: web.Request) -> web.Response:
        settings = await self._body(request)
        config, created = await self.admin.create_queue.remote(settings)
        await self.service.router.refresh()
        return self._ok(request, {"queue": config, "created": created})

    async def list_queues(self, request: web.Request) -> web.Response:
        prefix = request.query.get("prefix") or None
        try:
            limit = int(request.query.get("limit", "1000"))
        except ValueError as exc:
            raise _fail("InvalidParameterValue", "limit must be an integer.") from exc
        names = await self.admin.list_queues.remote(prefix, limit)
        return self._ok(request, {"queues": names})

    async def get_queue(self, request: web.Request) -> web.Response:
        config = await self.admin.get_queue.remote(request.match_info["name"])
        return self._ok(request, {"queue": config})

    async def update_queue(self, request: web.Request) -> web.Response:
        changes = await self._body(request)
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
        entries, batch = entries_from_wire(await self._body(request), json=codec.json)
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
        data = await self._body(request)
        check_keys(data, _RECEIVE_KEYS)
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
        data = await self._body(request)
        check_keys(data, _DELETE_KEYS)
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
        data = await self._body(request)
        if "changes" in data:
            check_keys(data, frozenset({"changes"}))
            raw, batch = self._batch(data, "changes"), True
        else:
            raw, batch = [data], False
        changes: list[tuple[object, object]] = []
        for item in raw:
            if not isinstance(item, dict) or "receipt" not in item:
                raise _fail("MissingParameter", "Each change needs a receipt.", parameter="receipt")
            check_keys(item, _CHANGE_KEYS)
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
        data = await self._body(request)
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
        data = await self._body(request)
        if "seconds" not in data:
            raise _fail("MissingParameter", "Give seconds.", parameter="seconds")
        now = await self.admin.advance_clock.remote(data["seconds"])
        return self._ok(request, {"now_ms": now})

    async def healthz(self, request: web.Request) -> web.Response:
        health = await self.admin.health.remote()
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
        if not (table.topics or table.functions or table.mappings):
            self.metrics.resources.hosts, self.metrics.resources.backlogs = (), {}
            return
        hosts: list[dict[str, Any]] = await self.admin.resource_stats.remote()
        topics = {name: stats for host in hosts for name, stats in host["topics"].items()}
        backlogs: dict[str, int] = {}
        for mapping in table.mappings.values():
            kind, _, source = mapping.source.partition(":")
            if kind == "queue" and source in queues:
                backlogs[mapping.id] = sum(
                    p.get("visible", 0) + p.get("delayed", 0) for p in queues[source]
                )
            elif kind == "topic" and source in topics:
                sub = topics[source]["subscriptions"].get(mapping.subscription or "", {})
                backlogs[mapping.id] = sub.get("backlog", 0)
        self.metrics.resources.hosts = hosts
        self.metrics.resources.backlogs = backlogs


def build_app(
    service: QueueService,
    admin: Admin,
    metrics: GatewayMetrics,
    *,
    token: str | None,
    topics: TopicPublisher | None = None,
    functions: FunctionInvoker | None = None,
) -> web.Application:
    """The application. ``topics`` and ``functions`` (the data-plane services of topics and
    functions) add the routes of :mod:`raybus.gateway.resources_api`: topics and
    subscriptions with ``topics``, functions and event-source mappings with ``functions``."""
    api = _Api(service, admin, metrics, token)
    app = web.Application(middlewares=[api.middleware], client_max_size=MAX_HTTP_BODY)
    q = "/v1/queues/{name}"
    app.router.add_post("/v1/queues", api.create_queue, name="create_queue")
    app.router.add_get("/v1/queues", api.list_queues, name="list_queues")
    app.router.add_get(q, api.get_queue, name="get_queue")
    app.router.add_patch(q, api.update_queue, name="update_queue")
    app.router.add_delete(q, api.delete_queue, name="delete_queue")
    app.router.add_get(q + "/stats", api.stats, name="stats")
    app.router.add_post(q + "/purge", api.purge, name="purge")
    app.router.add_post(q + "/messages", api.send, name="send")
    app.router.add_post(q + "/receive", api.receive, name="receive")
    app.router.add_post(q + "/delete", api.delete, name="delete")
    app.router.add_post(q + "/visibility", api.visibility, name="change_visibility")
    app.router.add_post("/v1/move-tasks", api.start_move_task, name="start_move_task")
    app.router.add_get("/v1/move-tasks", api.list_move_tasks, name="list_move_tasks")
    app.router.add_post(
        "/v1/move-tasks/{handle}/cancel", api.cancel_move_task, name="cancel_move_task"
    )
    app.router.add_get("/v1/clock", api.clock, name="clock")
    app.router.add_post("/v1/clock/advance", api.advance_clock, name="advance_clock")
    app.router.add_get("/healthz", api.healthz, name="healthz")
    app.router.add_get("/metrics", api.metrics_text, name="metrics")
    add_resource_routes(app, CODEC, service, admin, topics=topics, functions=functions)
    return app
