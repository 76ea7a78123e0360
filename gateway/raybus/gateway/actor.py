"""The gateway actor: an aiohttp server running on a Ray async actor's event loop.

Auth rule: a gateway bound to a non-loopback address refuses to start without a token unless
``allow_open`` says so explicitly; on loopback it may run open and logs that it does.
The routing table is kept fresh by a long poll on the controller (and refreshed at once when a
host answers ``StaleEpoch``).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
from typing import Any

import ray
from aiohttp import web

from raybus.actors import CONTROLLER_NAME, NAMESPACE, Router
from raybus.core.errors import RaybusError
from raybus.core.routing import RoutingTable
from raybus.gateway.metrics import GatewayMetrics
from raybus.gateway.server import build_app
from raybus.gateway.service import QueueService

__all__ = ["Gateway", "is_loopback"]

log = logging.getLogger(__name__)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Gateway:
    def __init__(
        self, host: str, port: int, *, token: str | None = None, allow_open: bool = False
    ) -> None:
        if token is None and not is_loopback(host) and not allow_open:
            raise RaybusError(
                "Unauthorized",
                f"Refusing to serve {host} without a token: pass --token, or --allow-open to "
                "run open on purpose.",
            )
        self.host = host
        self.port = port
        self.token = token
        self.metrics = GatewayMetrics()
        self.runner: web.AppRunner | None = None
        self.watcher: asyncio.Task[None] | None = None
        self.url: str | None = None

    def _controller(self) -> Any:
        return ray.get_actor(CONTROLLER_NAME, namespace=NAMESPACE)

    async def _fetch(self) -> RoutingTable:
        table: RoutingTable = await self._controller().routing.remote()
        return table

    async def start(self) -> str:
        """Bind and serve (idempotent); returns the URL."""
        if self.url is not None:
            return self.url
        router = Router(self._fetch)
        await router.refresh()
        self.service = QueueService(router)
        app = build_app(self.service, self._controller(), self.metrics, token=self.token)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, self.host, self.port, reuse_address=True)
        await site.start()
        port = self.port
        server = getattr(site, "_server", None)
        if port == 0 and server is not None and server.sockets:
            port = server.sockets[0].getsockname()[1]
        self.watcher = asyncio.ensure_future(self._watch(router))
        if self.token is None:
            log.warning("gateway on %s:%d runs open (no token)", self.host, port)
        self.url = f"http://{self.host}:{port}"
        return self.url

    async def _watch(self, router: Router) -> None:
        while True:
            try:
                table = await self._controller().watch_routing.remote(router.table.version)
                router.install(table)
            except Exception:  # the loop never dies: back off and try again
                log.warning("routing watch failed; retrying", exc_info=True)
                await asyncio.sleep(1.0)

    def summary(self) -> dict[str, Any]:
        """Totals since start (for `raybus up`'s live rate line)."""
        return {**self.metrics.totals, "calls": self.service.calls if self.url else 0}

    async def stop(self) -> None:
        if self.watcher is not None:
            self.watcher.cancel()
        if self.runner is not None:
            with contextlib.suppress(Exception):
                await self.runner.cleanup()
        self.url = None
