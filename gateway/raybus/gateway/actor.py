"""Where the gateway runs: a standalone actor, or inside a partition host.

- :class:`Gateway` — an actor that only serves HTTP and reaches every partition through Ray
  (for callers of :func:`raybus.control.start` without a serving host class).
- :class:`GatewayHost` — a partition host that also serves HTTP. Calls to the partitions it
  hosts are plain awaits on its own event loop; data calls to the others go over their
  channels (:mod:`raybus.actors.channel`), the rest are Ray calls. Every host serves the one
  address of its node together with the node's other hosts (``SO_REUSEPORT``: the kernel
  spreads connections over their listening sockets) — the embedded cluster's one node, or
  each node of a Ray cluster raybus attaches to — so the HTTP, codec and routing work is
  spread over the hosts' processes, and a request that may use any partition (a standard
  queue's send and receive, a standard topic's publish) uses a local one first
  (:meth:`raybus.actors.Router.nearest`).
  ``/metrics`` adds the request counters of the peers on the same node to the answering
  process's own (:mod:`raybus.gateway.metrics`).

Auth rule (both): a gateway bound to a non-loopback address refuses to start without a token
unless ``allow_open`` says so explicitly; on loopback it may run open and logs that it does.
The routing table is kept fresh by a long poll on the controller (and refreshed at once when a
host answers ``StaleEpoch``).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import ray
from aiohttp import web

from raybus.actors import CONTROLLER_NAME, NAMESPACE, PartitionHost, Router
from raybus.actors.collector import settle_collector
from raybus.actors.dispatch import FunctionRuntime
from raybus.actors.objects import ObjectStore
from raybus.core.errors import RaybusError, replies_with_errors
from raybus.core.routing import RoutingTable
from raybus.gateway.audit import Auditor
from raybus.gateway.boundary import BODY_TIMEOUT_S, IDLE_TIMEOUT_S, Limits
from raybus.gateway.buses import BusService
from raybus.gateway.functions import FunctionService
from raybus.gateway.lanes import Lanes
from raybus.gateway.metrics import Families, GatewayMetrics
from raybus.gateway.queue_service import QueueService
from raybus.gateway.server import build_app
from raybus.gateway.topics import TopicService

__all__ = ["Gateway", "GatewayHost", "ServeSpec", "is_loopback"]

log = logging.getLogger(__name__)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True, slots=True)
class ServeSpec:
    host: str = "127.0.0.1"
    port: int = 8000
    token: str | None = None
    allow_open: bool = False
    idle_timeout_s: float = IDLE_TIMEOUT_S
    body_timeout_s: float = BODY_TIMEOUT_S
    aws_credentials: tuple[tuple[str, str], ...] = ()  # (access key id, secret) to verify
    data_events: tuple[str, ...] = ()  # services whose data-plane calls are audited too
    shared: bool = False  # several processes serve this address together (SO_REUSEPORT)

    @property
    def limits(self) -> Limits:
        return Limits(idle_timeout_s=self.idle_timeout_s, body_timeout_s=self.body_timeout_s)

    def check(self) -> None:
        self.limits  # noqa: B018 — raises ValueError for an out-of-range timeout
        if self.token is None and not is_loopback(self.host) and not self.allow_open:
            raise RaybusError(
                "Unauthorized",
                f"Refusing to serve {self.host} without a token: pass --token, or --allow-open "
                "to run open on purpose.",
            )


PEER_SCRAPE_TIMEOUT_S = 5.0


def _controller() -> Any:
    return ray.get_actor(CONTROLLER_NAME, namespace=NAMESPACE)


async def _fetch_table() -> RoutingTable:
    table: RoutingTable = await _controller().routing.remote()
    return table


class _Server:
    """The HTTP server and its routing, on the running event loop."""

    def __init__(
        self,
        spec: ServeSpec,
        router: Router,
        functions: FunctionRuntime,
        peers: Callable[[], Awaitable[Sequence[Families]]] | None = None,
        clock: Callable[[], int] | None = None,
        data_dir: str | None = None,
    ) -> None:
        self.spec = spec
        self.router = router
        # buckets' bodies are written into the hosts' shared data directory: only a gateway
        # in a partition host knows it (the standalone Gateway actor serves no buckets)
        self.objects = ObjectStore(router, data_dir) if data_dir else None
        self.clock = clock  # the host's (virtual under the test clock); None: the system's
        self.metrics = GatewayMetrics()
        self.metrics.peers = peers
        self.lanes = Lanes(router)
        self.service = QueueService(self.lanes)
        self.topics = TopicService(self.lanes)
        self.functions = FunctionService(router, functions.invoker, functions.code_for)
        self.runner: web.AppRunner | None = None
        self.watcher: asyncio.Task[None] | None = None
        self.url: str | None = None

    async def start(self) -> str:
        spec = self.spec
        await self.router.refresh()
        app = build_app(
            self.service,
            _controller(),
            self.metrics,
            token=spec.token,
            topics=self.topics,
            functions=self.functions,
            limits=spec.limits,
            aws_credentials=dict(spec.aws_credentials),
            audit=Auditor(
                self.router,
                self.lanes.split,
                clock=self.clock,
                data_events=frozenset(spec.data_events),
            ),
            buses=BusService(self.lanes),
            objects=self.objects,
        )
        # keepalive_timeout closes a connection that has not sent a whole request head within
        # this long of opening or of its previous answer: slow headers and idle connections
        # auto_decompress off: a gzip Content-Encoding on an upload is the object's own (S3
        # stores it as sent), never something the server should undo
        self.runner = web.AppRunner(
            app,
            access_log=None,
            keepalive_timeout=spec.limits.idle_timeout_s,
            auto_decompress=False,
        )
        await self.runner.setup()
        site = web.TCPSite(
            self.runner, spec.host, spec.port, reuse_address=True, reuse_port=spec.shared
        )
        await site.start()
        port = spec.port
        server = getattr(site, "_server", None)
        if port == 0 and server is not None and server.sockets:
            port = server.sockets[0].getsockname()[1]
        self.watcher = asyncio.ensure_future(self._watch())
        if spec.token is None:
            log.warning("gateway on %s:%d runs open (no token)", spec.host, port)
        self.url = f"http://{spec.host}:{port}"
        return self.url

    async def _watch(self) -> None:
        while True:
            try:
                table = await _controller().watch_routing.remote(self.router.table.version)
                if table is not None:  # None: nothing new within the long poll
                    self.router.install(table)
            except Exception:  # the loop never dies: back off and try again
                log.warning("routing watch failed; retrying", exc_info=True)
                await asyncio.sleep(1.0)

    def summary(self) -> dict[str, int]:
        return {**self.metrics.totals, "calls": self.service.calls}

    async def stop(self) -> None:
        if self.watcher is not None:
            self.watcher.cancel()
        if self.runner is not None:
            with contextlib.suppress(Exception):
                await self.runner.cleanup()
        self.url = None


@replies_with_errors
class Gateway:
    """A standalone gateway actor."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        token: str | None = None,
        allow_open: bool = False,
        idle_timeout_s: float = IDLE_TIMEOUT_S,
        body_timeout_s: float = BODY_TIMEOUT_S,
        aws_credentials: tuple[tuple[str, str], ...] = (),
    ) -> None:
        self.spec = ServeSpec(
            host,
            port,
            token,
            allow_open,
            idle_timeout_s,
            body_timeout_s,
            tuple((key, secret) for key, secret in aws_credentials),
        )
        self.spec.check()
        self.server: _Server | None = None

    @property
    def token(self) -> str | None:
        return self.spec.token

    async def start(self) -> str:
        """Bind and serve (idempotent); returns the URL."""
        if self.server is None or self.server.url is None:
            runtime = FunctionRuntime(_controller)
            self.server = _Server(self.spec, Router(_fetch_table), runtime)
            self.server.metrics.resources.own_invoker = runtime.existing_invoker
            await self.server.start()
        assert self.server.url is not None
        return self.server.url

    def summary(self) -> dict[str, int]:
        return self.server.summary() if self.server else {}

    async def stop(self) -> None:
        if self.server is not None:
            await self.server.stop()


@replies_with_errors
class GatewayHost(PartitionHost):
    """A partition host that also serves the gateway (see the module docstring). It serves as
    part of :meth:`start`, so a restarted host (same constructor arguments) serves again on
    the same address once the controller's health loop has started it."""

    def __init__(
        self,
        name: str,
        data_dir: str,
        *,
        fsync: str = "always",
        serve: ServeSpec | dict[str, Any] | None = None,
    ) -> None:
        if isinstance(serve, dict):
            serve = ServeSpec(**serve)
        if serve is not None:
            serve.check()
        super().__init__(name, data_dir, fsync=fsync)
        self.serve = serve
        self.server: _Server | None = None

    async def start(self) -> dict[str, Any]:
        described = await super().start()
        if self.serve is not None and self.server is None:
            router = Router(_fetch_table, local={self.name: self})
            peers = self._peer_traffic if self.serve.shared else None
            server = _Server(
                self.serve,
                router,
                self.functions,
                peers,
                clock=lambda: self.clock.now_ms(),
                data_dir=self.data_dir,
            )
            self.server = server
            try:
                await server.start()
            except BaseException:
                self.server = None
                raise
            settle_collector()  # again, now that the gateway's modules are loaded too
        return described

    async def url(self) -> str:
        await self.start()
        if self.server is None or self.server.url is None:
            raise RaybusError("InternalError", f"{self.name} does not serve a gateway.")
        return self.server.url

    def summary(self) -> dict[str, int]:
        return self.server.summary() if self.server else {}

    def traffic_families(self, node_id: str | None = None) -> Families:
        """This host's request-path metric families, for a peer answering a scrape of the
        address they share — none unless this host runs on ``node_id`` (when given): each
        node's scrape counts that node's processes once, so sums over nodes add up."""
        if node_id is not None and node_id != ray.get_runtime_context().get_node_id():
            return []
        return self.server.metrics.traffic_families() if self.server else []

    async def _peer_traffic(self) -> list[Families]:
        """The request-path families of the other hosts serving this address on this node; a
        host that does not answer within :data:`PEER_SCRAPE_TIMEOUT_S` (dead, restarting) is
        left out of this scrape."""
        assert self.server is not None
        names = [name for name in self.server.router.table.hosts if name != self.name]
        node_id = ray.get_runtime_context().get_node_id()
        refs: list[Any] = []
        for name in names:
            with contextlib.suppress(ValueError):  # not (yet) registered under its name
                peer = ray.get_actor(name, namespace=NAMESPACE)
                refs.append(peer.traffic_families.remote(node_id))
        if not refs:
            return []
        done, pending = await asyncio.wait(
            [asyncio.ensure_future(ref) for ref in refs], timeout=PEER_SCRAPE_TIMEOUT_S
        )
        for future in pending:
            future.cancel()
        return [f.result() for f in done if f.exception() is None]

    async def stop(self) -> None:
        if self.server is not None:
            await self.server.stop()
