"""raybus.gateway: the HTTP gateway (native msgpack/JSON API, auth, coalescing, metrics).

- :class:`Gateway` — a standalone actor running the aiohttp server; :class:`GatewayHost` — a
  partition host that serves it too (the embedded default: no Ray call to its partitions).
- :func:`build_app` — the aiohttp application over a :class:`QueueService` and the controller.
- :class:`QueueService` — routing, per-partition coalescing, long polls, backpressure.
- :mod:`raybus.gateway.codec` — the wire encoding (docs/http-api.md).
"""

from raybus.gateway.actor import Gateway, GatewayHost, ServeSpec, is_loopback
from raybus.gateway.codec import Codec
from raybus.gateway.metrics import GatewayMetrics
from raybus.gateway.server import build_app
from raybus.gateway.service import QueueService, merge_stats

__all__ = [
    "Codec",
    "Gateway",
    "GatewayHost",
    "GatewayMetrics",
    "QueueService",
    "ServeSpec",
    "build_app",
    "is_loopback",
    "merge_stats",
]
