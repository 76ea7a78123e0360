"""raybus through its gateway, with the real SDK (``raybus.sdk.AsyncClient``, msgpack/HTTP).

Either attaches to a running gateway (``--url``) or starts ``raybus up --data-dir <tmp>`` as
a subprocess in its own session, waits for ``/healthz`` and stops the whole process tree
afterwards (the driver, Ray's GCS, raylet, workers, ...).

- send ×1: ``queue.send(body)``; send ×N: ``queue.send_batch(bodies)`` (one request up to
  1,000 entries / 1 MiB); every entry's result is checked.
- receive ×N: ``queue.receive(max_messages=N, wait_s=...)``, then ``queue.delete_batch``
  (×1: ``queue.delete_message``) — SQS's model: the delete is answered by the gateway.

``raybus-raw`` (``RaybusRawTarget``) is a diagnostic twin: the same gateway through a bare
aiohttp + msgpack client, to tell the SDK's cost from the gateway's.

Memory of an attached gateway: ``--raybus-pid`` names the root of its tree; without it, the
process listening on the URL's port is found and its highest ancestor whose command line
mentions ``raybus`` is taken as the root.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from .base import Message, Receiver, ServerProcess, Target, TargetUnavailable, free_port

__all__ = ["RaybusRawTarget", "RaybusTarget", "find_root_pid"]

DEFAULT_URL = "http://127.0.0.1:8000"


class _RaybusReceiver(Receiver):
    def __init__(self, queue: Any, max_messages: int) -> None:
        self.queue = queue
        self.max_messages = max_messages

    async def receive(self, wait_s: float) -> list[Message]:
        got = await self.queue.receive(max_messages=self.max_messages, wait_s=int(wait_s))
        return [Message(m.body, m) for m in got]

    async def delete(self, messages: Sequence[Message]) -> None:
        if not messages:
            return
        if len(messages) == 1:
            await self.queue.delete_message(messages[0].handle)
            return
        errors = [e for e in await self.queue.delete_batch([m.handle for m in messages]) if e]
        if errors:
            raise RuntimeError(f"delete_batch: {len(errors)} failed, first: {errors[0]!r}")


def find_root_pid(url: str) -> int | None:
    """The root of the tree serving ``url`` on this machine (see the module docstring)."""
    import psutil

    port = urlparse(url).port or 80
    listener = None
    with contextlib.suppress(psutil.Error):
        for conn in psutil.net_connections(kind="tcp"):
            if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port:
                listener = conn.pid
                break
    if listener is None:
        return None
    root = listener
    with contextlib.suppress(psutil.Error):
        for parent in psutil.Process(listener).parents():
            if "raybus" in " ".join(parent.cmdline()):
                root = parent.pid
    return int(root)


class RaybusTarget(Target):
    name = "raybus"
    max_batch = 1000
    protocol = "raybus native API, msgpack over HTTP/1.1 (raybus.sdk.AsyncClient)"
    durability = "file log, acknowledged after the commit's fsync (group commit)"

    def __init__(
        self,
        url: str | None = None,
        connections: int = 64,
        up_args: Sequence[str] = (),
        pid: int | None = None,
        partitions: int | None = None,
    ) -> None:
        self.url = url
        self.connections = connections
        self.up_args = list(up_args)
        self.pid = pid
        self.partitions = partitions
        self.server: ServerProcess | None = None
        self.client: Any = None
        self.session: Any = None  # raybus-raw's aiohttp session
        self.queues: dict[str, Any] = {}

    def _spawn(self) -> str:
        binary = Path(sys.executable).with_name("raybus")
        command = str(binary) if binary.exists() else shutil.which("raybus")
        if command is None:
            raise TargetUnavailable("raybus: the raybus command is not installed")
        port = free_port()
        self.server = ServerProcess("raybus")
        data_dir = os.path.join(self.server.dir, "data")
        argv = [
            command,
            "up",
            "--data-dir",
            data_dir,
            "--port",
            str(port),
            "--quiet",
            *self.up_args,
        ]
        self.server.spawn(argv)
        url = f"http://127.0.0.1:{port}"
        self.server.wait_until(lambda: _healthy(url), 180, "healthy /healthz")
        return url

    async def start(self) -> None:
        from raybus.sdk import AsyncClient

        if self.url is None:
            self.url = await asyncio.to_thread(self._spawn)
        # No transport argument: the SDK's own default I/O (aiohttp since ed6e72d; passing an
        # httpx transport would switch it to its httpx path, which is there for tests).
        self.client = AsyncClient(self.url, timeout_s=120)
        if self.server is None and self.pid is None:
            self.pid = await asyncio.to_thread(find_root_pid, self.url)

    async def stop(self) -> None:
        if self.client is not None:
            await self.client.aclose()
            self.client = None
        if self.server is not None:
            await asyncio.to_thread(self.server.stop, 60.0)
            self.server = None

    async def create_queue(self, name: str) -> None:
        kwargs: dict[str, Any] = {"visibility_timeout_s": 600}
        if self.partitions:
            kwargs["partitions"] = self.partitions
        self.queues[name] = await self.client.create_queue(name, **kwargs)

    async def delete_queue(self, name: str) -> None:
        self.queues.pop(name, None)
        await self.client.delete_queue(name)

    async def send(self, queue: str, bodies: Sequence[bytes]) -> None:
        handle = self.queues[queue]
        if len(bodies) == 1:
            await handle.send(bodies[0])
            return
        results = await handle.send_batch(list(bodies))
        failed = [r for r in results if isinstance(r, Exception)]
        if failed:
            raise RuntimeError(f"send_batch: {len(failed)} failed, first: {failed[0]!r}")

    async def receiver(self, queue: str, max_messages: int) -> Receiver:
        return _RaybusReceiver(self.queues[queue], max_messages)

    def root_pids(self) -> list[int]:
        if self.server is not None:
            return self.server.pids()
        return [self.pid] if self.pid else []

    def version(self) -> str:
        from importlib.metadata import version

        return f"raybus {version('raybus')}"


def _healthy(url: str) -> bool:
    import urllib.request

    with urllib.request.urlopen(url + "/healthz", timeout=2) as response:
        return bool(response.status == 200)


class _RawReceiver(Receiver):
    def __init__(self, target: RaybusRawTarget, queue: str, max_messages: int) -> None:
        self.target = target
        self.queue = queue
        self.max_messages = max_messages

    async def receive(self, wait_s: float) -> list[Message]:
        answer = await self.target.call(
            f"/v1/queues/{self.queue}/receive",
            {"max_messages": self.max_messages, "wait_s": int(wait_s)},
        )
        return [Message(m["body"], m["receipt"]) for m in answer["messages"]]

    async def delete(self, messages: Sequence[Message]) -> None:
        path = f"/v1/queues/{self.queue}/delete"
        if len(messages) == 1:
            await self.target.call(path, {"receipt": messages[0].handle})
        elif messages:
            answer = await self.target.call(path, {"receipts": [m.handle for m in messages]})
            _check_results("delete", answer["results"])


def _check_results(what: str, results: list[Any]) -> None:
    failed = [r for r in results if r and "error" in r]
    if failed:
        raise RuntimeError(f"{what}: {len(failed)} entries failed, first: {failed[0]['error']}")


class RaybusRawTarget(RaybusTarget):
    """Diagnostic twin of ``raybus``: the same gateway through a bare aiohttp + msgpack client
    speaking docs/http-api.md (no SDK), retrying only ``429 Throttled``. The gap
    between the two columns is the client's cost, not the gateway's."""

    name = "raybus-raw"
    protocol = "raybus native API, msgpack over HTTP/1.1 (bare aiohttp client, no SDK)"

    async def start(self) -> None:
        import aiohttp

        if self.url is None:
            self.url = await asyncio.to_thread(self._spawn)
        connector = aiohttp.TCPConnector(limit=self.connections)
        self.session = aiohttp.ClientSession(
            self.url, connector=connector, timeout=aiohttp.ClientTimeout(total=120)
        )
        if self.server is None and self.pid is None:
            self.pid = await asyncio.to_thread(find_root_pid, self.url)

    async def stop(self) -> None:
        if self.session is not None:
            await self.session.close()
            self.session = None
        await super().stop()

    async def call(self, path: str, payload: dict[str, Any] | None, method: str = "POST") -> Any:
        import msgpack

        data = None if payload is None else msgpack.packb(payload, use_bin_type=True)
        headers = {"content-type": "application/msgpack", "accept": "application/msgpack"}
        for _ in range(50):
            async with self.session.request(method, path, data=data, headers=headers) as response:
                content = await response.read()
                if response.status == 429:
                    await asyncio.sleep(float(response.headers.get("retry-after", "0")) or 0.01)
                    continue
                answer = msgpack.unpackb(content, raw=False) if content else {}
                if response.status != 200:
                    raise RuntimeError(f"{method} {path}: HTTP {response.status}: {answer}")
                return answer
        raise RuntimeError(f"{method} {path}: still throttled after 50 tries")

    async def create_queue(self, name: str) -> None:
        settings: dict[str, Any] = {"name": name, "visibility_timeout_s": 600}
        if self.partitions:
            settings["partitions"] = self.partitions
        await self.call("/v1/queues", settings)

    async def delete_queue(self, name: str) -> None:
        await self.call(f"/v1/queues/{name}", None, method="DELETE")

    async def send(self, queue: str, bodies: Sequence[bytes]) -> None:
        path = f"/v1/queues/{queue}/messages"
        if len(bodies) == 1:
            await self.call(path, {"body": bodies[0]})
            return
        answer = await self.call(path, {"entries": [{"body": b} for b in bodies]})
        _check_results("send_batch", answer["results"])

    async def receiver(self, queue: str, max_messages: int) -> Receiver:
        return _RawReceiver(self, queue, max_messages)
