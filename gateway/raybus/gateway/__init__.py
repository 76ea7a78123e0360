"""raybus.gateway: the HTTP gateway (native msgpack/JSON API, auth, coalescing, metrics).

- :class:`Gateway` — a standalone actor running the aiohttp server; :class:`GatewayHost` — a
  partition host that serves it too (the embedded default: no Ray call to its partitions).
- :func:`build_app` — the aiohttp application: every kind's routes (one module per kind:
  :mod:`~raybus.gateway.queues`, :mod:`~raybus.gateway.topics`,
  :mod:`~raybus.gateway.functions`, :mod:`~raybus.gateway.mappings`,
  :mod:`~raybus.gateway.operations`) behind the request boundary
  (:mod:`~raybus.gateway.boundary`).
- :class:`Lanes` — per-partition coalescing of typed operations, for every kind;
  :class:`QueueService` — the queue data plane on top (long polls, receipts).
- :mod:`raybus.gateway.codec` — the shared wire encoding (docs/http-api.md).
"""

from raybus.gateway.actor import Gateway, GatewayHost, ServeSpec, is_loopback
from raybus.gateway.codec import Codec
from raybus.gateway.lanes import Lanes
from raybus.gateway.metrics import GatewayMetrics
from raybus.gateway.queue_service import QueueService, merge_stats
from raybus.gateway.server import build_app

__all__ = [
    "Codec",
    "Gateway",
    "GatewayHost",
    "GatewayMetrics",
    "Lanes",
    "QueueService",
    "ServeSpec",
    "build_app",
    "is_loopback",
    "merge_stats",
]
