"""The operational routes: the clock, the partition hosts (rebalancing), ``/healthz`` and
``/metrics`` (docs/http-api.md)."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from raybus.control.hosts import Rebalance
from raybus.core.errors import RaybusError
from raybus.gateway import schemas as S
from raybus.gateway.api import Context, body, ok
from raybus.gateway.boundary import CODEC, Route
from raybus.gateway.schemas import (
    BOOLEAN,
    INTEGER,
    closed,
    open_object,
)

__all__ = ["OperationsApi", "routes"]


CLOCK_ADVANCE = closed(
    {"seconds": {"type": "number", "minimum": 0, "maximum": 366 * 24 * 3600}}, ["seconds"]
)
REBALANCE = closed({"dry_run": BOOLEAN})
_MOVE = {
    "kind": S.STRING,
    "key": S.STRING,
    "partition": INTEGER,
    "source": S.STRING,
    "target": S.STRING,
}
REBALANCED = open_object(
    {
        "moves": {"type": "array", "items": open_object({**_MOVE, "epoch": INTEGER})},
        "failed": {
            "type": "array",
            "items": open_object({**_MOVE, "code": S.STRING, "message": S.STRING}),
        },
        "repaired": INTEGER,
        "hosts": {"type": "object", "additionalProperties": INTEGER},
        "dry_run": BOOLEAN,
    },
    ["moves", "failed", "repaired", "hosts", "dry_run"],
)
HEALTH = open_object(
    {
        "status": {"enum": ["ok", "degraded"]},
        "hosts": {"type": "array", "items": {"type": "object"}},
        "partitions": INTEGER,
        "routing_version": INTEGER,
        "test_clock": BOOLEAN,
    },
    ["status"],
)


class OperationsApi:
    def __init__(self, context: Context) -> None:
        self.context = context
        self.control = context.control

    async def clock(self, request: web.Request) -> web.Response:
        return ok(request, await self.control.clock())

    async def advance_clock(self, request: web.Request) -> web.Response:
        data = body(request)
        if "seconds" not in data:
            raise RaybusError("MissingParameter", "Give seconds.", parameter="seconds")
        return ok(request, {"now_ms": await self.control.advance_clock(data["seconds"])})

    async def rebalance(self, request: web.Request) -> web.Response:
        dry_run = bool(body(request).get("dry_run", False))
        return ok(request, await self.control.run(Rebalance(dry_run=dry_run)))

    async def healthz(self, request: web.Request) -> web.Response:
        try:
            health = await asyncio.wait_for(
                self.control.health(), self.context.limits.health_timeout_s
            )
        except Exception as error:  # the controller is restarting (or its node is gone)
            health = {
                "status": "degraded",
                "error": f"The controller did not answer ({type(error).__name__}).",
            }
        codec = request[CODEC]
        return web.Response(
            status=200 if health["status"] == "ok" else 503,
            body=codec.encode(health),
            content_type=codec.content_type,
        )

    async def metrics_text(self, request: web.Request) -> web.Response:
        service = self.context.queues
        metrics = self.context.metrics
        latest: dict[str, list[dict[str, Any]]] = {}
        # the newest table: a resource created through another process serving this address
        # may not have reached this one's routing watch yet
        await service.router.refresh()
        for name in list(service.router.table.routes("queue")):
            try:
                latest[name] = await service.partition_stats(name)
            except RaybusError:
                continue  # a queue mid-delete or a host restarting: skip it this scrape
        metrics.partitions.latest = latest
        await metrics.gather_peers()
        table = service.router.table
        hosts: list[dict[str, Any]] = []
        if any(table.routes(kind) for kind in ("topic", "function", "mapping", "bus")):
            hosts = await self.control.resource_stats()
        metrics.resources.update(table, latest, hosts)
        response = web.Response(body=generate_latest(metrics.registry))
        response.headers["Content-Type"] = CONTENT_TYPE_LATEST
        return response


def routes(context: Context) -> list[Route]:
    api = OperationsApi(context)
    return [
        Route("GET", "/v1/clock", "clock", api.clock, "The cluster's clock.", "clock",
              answer=S.open_object({"now_ms": S.INTEGER, "test_clock": S.BOOLEAN})),
        Route("POST", "/v1/clock/advance", "advance_clock", api.advance_clock,
              "Move the virtual clock forward (raybus up --test-clock only).", "clock",
              body=CLOCK_ADVANCE, answer=S.open_object({"now_ms": S.INTEGER}, ["now_ms"])),
        Route("POST", "/v1/hosts/rebalance", "rebalance_hosts", api.rebalance,
              "Even out the partitions over the partition hosts, moving partitions online.",
              "operations", body=REBALANCE, answer=REBALANCED),
        Route("GET", "/healthz", "healthz", api.healthz,
              "Cluster health: 200 ok, 503 degraded.", "operations", answer=HEALTH),
        Route("GET", "/metrics", "metrics", api.metrics_text, "Prometheus metrics.",
              "operations", answer={"type": "string"}),
    ]  # fmt: skip
