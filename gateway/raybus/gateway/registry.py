"""The kinds the gateway serves: one line per kind's HTTP module (each exports
``routes(context) -> list[Route]``). The server registers every route listed here and knows
none of them; a new kind adds its module and a line here."""

from __future__ import annotations

from collections.abc import Callable

from raybus.gateway import buckets, buses, functions, mappings, operations, queues, topics
from raybus.gateway.api import Context
from raybus.gateway.boundary import Route

__all__ = ["ROUTE_MODULES", "RouteModule"]

RouteModule = Callable[[Context], list[Route]]
ROUTE_MODULES: tuple[RouteModule, ...] = (
    queues.routes,
    topics.routes,
    functions.routes,
    mappings.routes,
    buses.routes,
    buckets.routes,
    operations.routes,
)
