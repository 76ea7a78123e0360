"""A real HTTP endpoint for delivery tests: an aiohttp server on 127.0.0.1, in a thread of its
own, that records every POST and answers it — with a fixed status, or by a coroutine the test
gives (which may call back into the cluster, as an SNS endpoint confirming its subscription
does)."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

__all__ = ["Endpoint", "Post"]

Post = tuple[dict[str, str], str]  # a request's headers and body text
Respond = Callable[[dict[str, str], str], Awaitable[int]]


class Endpoint:
    """Use as a context manager; ``url`` is where to POST. Every request is appended to
    ``calls`` before it is answered: by ``respond(headers, text)`` when given, else with
    ``status`` (which a test may change)."""

    def __init__(self, respond: Respond | None = None) -> None:
        self.status = 200
        self.calls: list[Post] = []
        self.paths: list[str] = []  # each request's path and query, in order
        self.url = ""
        self._respond = respond
        self._ready = threading.Event()
        self._stop: tuple[asyncio.AbstractEventLoop, asyncio.Event] | None = None
        self._thread = threading.Thread(target=lambda: asyncio.run(self._serve()), daemon=True)

    def messages(self, kind: str) -> list[dict[str, Any]]:
        """The JSON bodies of the SNS messages of one ``Type`` received so far, in order."""
        bodies = [json.loads(text) for _, text in self.calls]
        return [body for body in bodies if body.get("Type") == kind]

    async def _handle(self, request: web.Request) -> web.Response:
        headers, text = dict(request.headers), await request.text()
        self.paths.append(request.path_qs)
        self.calls.append((headers, text))
        status = self.status if self._respond is None else await self._respond(headers, text)
        return web.Response(status=status)

    async def _serve(self) -> None:
        app = web.Application()
        app.router.add_post("/{tail:.*}", self._handle)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}/hook"
        stop = asyncio.Event()
        self._stop = (asyncio.get_running_loop(), stop)
        self._ready.set()
        await stop.wait()
        await runner.cleanup()

    def __enter__(self) -> Endpoint:
        self._thread.start()
        assert self._ready.wait(10), "the endpoint did not start"
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._stop is not None
        loop, stop = self._stop
        loop.call_soon_threadsafe(stop.set)
        self._thread.join(10)
