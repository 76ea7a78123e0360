"""What every kind's routes share: the request context, and small helpers for handlers.

A kind's HTTP module (:mod:`raybus.gateway.queues`, ``topics``, ``functions``, ``mappings``,
``operations``) exports ``routes(context) -> list[Route]``; the server registers them all
(:mod:`raybus.gateway.server`). Handlers read the body the boundary admitted
(``request[BODY]``), answer with :func:`ok` in the request's codec, and raise
:class:`~raybus.core.errors.RaybusError` for the middleware to answer as the catalog says.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from aiohttp import web

from raybus.actors import Router
from raybus.actors.objects import ObjectStore
from raybus.core.buses import EventEntry, PutEventsResult
from raybus.core.errors import RaybusError
from raybus.core.topics import PublishEntry, PublishResult
from raybus.gateway.audit import Auditor
from raybus.gateway.boundary import BODY, CODEC, Limits
from raybus.gateway.control import Control
from raybus.gateway.metrics import GatewayMetrics
from raybus.gateway.queue_service import QueueService

__all__ = [
    "BusPublisher",
    "Context",
    "FunctionInvoker",
    "TopicPublisher",
    "body",
    "clean",
    "int_field",
    "ok",
    "query_limit",
]

MAX_LIST_LIMIT = 1000


class TopicPublisher(Protocol):
    """The gateway's topic data plane: one result or error per entry, in order."""

    async def publish(
        self, topic: str, entries: list[PublishEntry]
    ) -> Sequence[PublishResult | RaybusError]: ...

    def forget(self, topic: str) -> None:
        """The topic was deleted: drop what was kept for it."""


class BusPublisher(Protocol):
    """The gateway's bus data plane: one result (the event's id) or error per entry."""

    async def put_events(
        self, bus: str, entries: Sequence[EventEntry]
    ) -> Sequence[PutEventsResult | RaybusError]: ...


class FunctionInvoker(Protocol):
    """The gateway's function data plane. ``invoke`` answers ``{"request_id", "ok",
    "payload", "duration_ms"}`` (``payload`` is the result, or Lambda's error object when
    ``ok`` is false); ``invoke_async`` answers the request id once the event is durable."""

    async def invoke(self, name: str, payload: Any) -> Mapping[str, Any]: ...

    async def invoke_async(self, name: str, payload: Any) -> str: ...


@dataclass(slots=True)
class Context:
    """What the routes of every kind work with."""

    control: Control
    queues: QueueService
    metrics: GatewayMetrics
    limits: Limits
    topics: TopicPublisher | None = None
    functions: FunctionInvoker | None = None
    audit: Auditor | None = None  # API-call events (raybus.gateway.audit)
    buses: BusPublisher | None = None
    objects: ObjectStore | None = None  # buckets' data plane (raybus.actors.objects)

    @property
    def router(self) -> Router:
        return self.queues.router

    async def changed(self) -> None:
        """The catalog changed: see it before answering (the next call finds the resource)."""
        await self.router.refresh()


def ok(
    request: web.Request,
    payload: Mapping[str, Any],
    *,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
) -> web.Response:
    codec = request[CODEC]
    return web.Response(
        status=status, body=codec.encode(payload), content_type=codec.content_type, headers=headers
    )


def body(request: web.Request) -> dict[str, Any]:
    """The request's body, decoded and checked by the boundary."""
    return request[BODY]


def clean(error: RaybusError) -> RaybusError:
    """Errors raised inside actors arrive wrapped in Ray's task-error class; rebuild them."""
    return RaybusError(error.code, error.message, **error.details)


def int_field(
    data: Mapping[str, Any], key: str, default: int | None, low: int, high: int
) -> int | None:
    """An optional integer field; absent means ``default`` (an explicit null too, unless the
    field has a default of its own)."""
    if key not in data or (data[key] is None and default is None):
        return default
    value = data[key]
    if isinstance(value, bool) or not isinstance(value, int):
        raise RaybusError("InvalidParameterValue", f"{key} must be an integer.", parameter=key)
    if key == "max_messages" and value > high:
        raise RaybusError(
            "TooManyEntriesInBatchRequest", f"{key} is at most {high}.", parameter=key, limit=high
        )
    if not low <= value <= high:
        raise RaybusError(
            "InvalidParameterValue",
            f"{key} must be an integer from {low} to {high}.",
            parameter=key,
        )
    return value


def query_limit(query: Mapping[str, str], default: int = MAX_LIST_LIMIT) -> int:
    """``?limit=``: a positive integer (default 1,000)."""
    raw = query.get("limit")
    if raw is None:
        return default
    try:
        limit = int(raw)
    except ValueError as exc:
        raise RaybusError(
            "InvalidParameterValue", "limit must be an integer.", parameter="limit"
        ) from exc
    if limit < 1:
        raise RaybusError("InvalidParameterValue", "limit is at least 1.", parameter="limit")
    return limit
