"""SQS-API peers: moto's server and LocalStack (host mode, no Docker), both in memory.

The client speaks SQS's JSON protocol (``X-Amz-Target: AmazonSQS.<Action>``, AWS JSON 1.0)
directly over aiohttp with keep-alive connections — no boto3, no request signing — so the
client process spends as little as possible per request and the server is what is measured.
The ``Authorization`` header carries a syntactically valid SigV4 credential scope (unsigned):
moto routes a request to a service by it, and both servers read account and region from it.

SQS caps a batch at 10 messages (``max_batch = 10``); the 1,000-message phases are not run.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .base import Message, Receiver, ServerProcess, Target, TargetUnavailable, free_port

__all__ = ["LocalStackTarget", "MotoTarget", "RaybusSqsTarget", "SqsClient", "SqsError"]

AUTH = (
    "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/sqs/aws4_request, "
    "SignedHeaders=host;x-amz-date, Signature=0"
)
REPO = Path(__file__).resolve().parents[2]
#: Where benchmarks/peers/setup.sh puts LocalStack (it needs Python >= 3.12).
LOCALSTACK_PYTHON = REPO / ".venv-localstack" / "bin" / "python"


class SqsError(RuntimeError):
    pass


class SqsClient:
    """A minimal async SQS JSON-protocol client (the actions the benchmark uses)."""

    def __init__(self, endpoint: str, connections: int = 64) -> None:
        self.endpoint = endpoint.rstrip("/") + "/"
        self.connections = connections
        self._session: Any = None
        self._urls: dict[str, str] = {}

    async def open(self) -> None:
        import aiohttp

        connector = aiohttp.TCPConnector(limit=self.connections, force_close=False)
        self._session = aiohttp.ClientSession(
            connector=connector, timeout=aiohttp.ClientTimeout(total=120)
        )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def call(self, action: str, payload: dict[str, Any]) -> dict[str, Any]:
        import json

        headers = {
            "X-Amz-Target": f"AmazonSQS.{action}",
            "Content-Type": "application/x-amz-json-1.0",
            "Authorization": AUTH,
            "X-Amz-Date": "20260101T000000Z",
        }
        async with self._session.post(
            self.endpoint, data=json.dumps(payload), headers=headers
        ) as response:
            text = await response.text()
            if response.status != 200:
                raise SqsError(f"{action}: HTTP {response.status}: {text[:300]}")
        result: dict[str, Any] = json.loads(text) if text else {}
        return result

    async def create_queue(self, name: str, visibility_timeout_s: int) -> str:
        answer = await self.call(
            "CreateQueue",
            {"QueueName": name, "Attributes": {"VisibilityTimeout": str(visibility_timeout_s)}},
        )
        url: str = answer["QueueUrl"]
        self._urls[name] = url
        return url

    def url(self, name: str) -> str:
        return self._urls[name]

    async def delete_queue(self, name: str) -> None:
        await self.call("DeleteQueue", {"QueueUrl": self._urls.pop(name)})

    async def send(self, name: str, bodies: Sequence[bytes]) -> None:
        url = self._urls[name]
        if len(bodies) == 1:
            await self.call("SendMessage", {"QueueUrl": url, "MessageBody": bodies[0].decode()})
            return
        entries = [{"Id": str(i), "MessageBody": b.decode()} for i, b in enumerate(bodies)]
        answer = await self.call("SendMessageBatch", {"QueueUrl": url, "Entries": entries})
        if answer.get("Failed"):
            raise SqsError(f"SendMessageBatch: {answer['Failed'][:2]}")

    async def receive(self, name: str, max_messages: int, wait_s: float) -> list[Message]:
        answer = await self.call(
            "ReceiveMessage",
            {
                "QueueUrl": self._urls[name],
                "MaxNumberOfMessages": max_messages,
                "WaitTimeSeconds": int(wait_s),
            },
        )
        return [Message(m["Body"].encode(), m["ReceiptHandle"]) for m in answer.get("Messages", ())]

    async def delete(self, name: str, messages: Sequence[Message]) -> None:
        url = self._urls[name]
        if len(messages) == 1:
            await self.call("DeleteMessage", {"QueueUrl": url, "ReceiptHandle": messages[0].handle})
            return
        entries = [{"Id": str(i), "ReceiptHandle": m.handle} for i, m in enumerate(messages)]
        answer = await self.call("DeleteMessageBatch", {"QueueUrl": url, "Entries": entries})
        if answer.get("Failed"):
            raise SqsError(f"DeleteMessageBatch: {answer['Failed'][:2]}")


class _SqsReceiver(Receiver):
    def __init__(self, client: SqsClient, queue: str, max_messages: int) -> None:
        self.client = client
        self.queue = queue
        self.max_messages = max_messages

    async def receive(self, wait_s: float) -> list[Message]:
        return await self.client.receive(self.queue, self.max_messages, wait_s)

    async def delete(self, messages: Sequence[Message]) -> None:
        if messages:
            await self.client.delete(self.queue, messages)


class _SqsTarget(Target):
    max_batch = 10
    protocol = "SQS JSON 1.0 over HTTP/1.1 (aiohttp, keep-alive, unsigned)"
    durability = "in memory (no persistence)"

    def __init__(self, url: str | None = None, connections: int = 64) -> None:
        self.url = url
        self.connections = connections
        self.server: ServerProcess | None = None
        self.client: SqsClient | None = None

    def _spawn(self) -> str:
        raise NotImplementedError

    async def start(self) -> None:
        import asyncio

        endpoint: str = self.url if self.url else await asyncio.to_thread(self._spawn)
        self.client = SqsClient(endpoint, self.connections)
        await self.client.open()

    async def stop(self) -> None:
        import asyncio

        if self.client is not None:
            await self.client.close()
            self.client = None
        if self.server is not None:
            await asyncio.to_thread(self.server.stop)
            self.server = None

    def _c(self) -> SqsClient:
        assert self.client is not None, "start() first"
        return self.client

    async def create_queue(self, name: str) -> None:
        # Long visibility timeout: no redelivery during a measurement.
        await self._c().create_queue(name, visibility_timeout_s=600)

    async def delete_queue(self, name: str) -> None:
        await self._c().delete_queue(name)

    async def send(self, queue: str, bodies: Sequence[bytes]) -> None:
        await self._c().send(queue, bodies)

    async def receiver(self, queue: str, max_messages: int) -> Receiver:
        return _SqsReceiver(self._c(), queue, max_messages)

    def root_pids(self) -> list[int]:
        return self.server.pids() if self.server is not None else []


def _http_ready(url: str) -> bool:
    import urllib.request

    with urllib.request.urlopen(url, timeout=1) as response:
        return bool(response.status == 200)


class MotoTarget(_SqsTarget):
    """``moto_server`` (werkzeug, threaded, one process) from the benchmark's own venv."""

    name = "moto"

    def _spawn(self) -> str:
        binary = Path(sys.executable).with_name("moto_server")
        if not binary.exists():
            raise TargetUnavailable(f"moto: {binary} not found (pip install 'moto[server]')")
        port = free_port()
        self.server = ServerProcess("moto")
        self.server.spawn([str(binary), "-H", "127.0.0.1", "-p", str(port)])
        endpoint = f"http://127.0.0.1:{port}"
        self.server.wait_until(lambda: _http_ready(endpoint + "/moto-api/"), 60, "HTTP answer")
        return endpoint

    def version(self) -> str:
        from importlib.metadata import version

        return f"moto {version('moto')}"


def spawn_localstack(server: ServerProcess, python: Path, services: str) -> str:
    """Start LocalStack's runtime in host mode (``python -m localstack.runtime.main``, no
    Docker) serving ``services`` (``SERVICES``, comma-separated) on a free loopback port, with
    ``PERSISTENCE=0`` and its file system under ``server``'s temp directory; returns its
    endpoint (the caller waits for what it needs to be up). ``OVERRIDE_IN_DOCKER=0``: this
    machine has a ``/.dockerenv``, which would otherwise make LocalStack write to
    ``/var/lib/localstack``."""
    if not python.exists():
        raise TargetUnavailable(
            f"localstack: {python} not found (run benchmarks/peers/setup.sh localstack)"
        )
    port = free_port()
    env = {
        "SERVICES": services,
        "PERSISTENCE": "0",
        "GATEWAY_LISTEN": f"127.0.0.1:{port}",
        "OVERRIDE_IN_DOCKER": "0",
        "FILESYSTEM_ROOT": os.path.join(server.dir, "fs"),
        "SKIP_SSL_CERT_DOWNLOAD": "1",
        "DISABLE_EVENTS": "1",
        "DNS_ADDRESS": "0",
        "EAGER_SERVICE_LOADING": "1",
        "DEBUG": "0",
    }
    server.spawn([str(python), "-m", "localstack.runtime.main"], env=env)
    return f"http://127.0.0.1:{port}"


class LocalStackTarget(_SqsTarget):
    """LocalStack's SQS, started by :func:`spawn_localstack`."""

    name = "localstack"

    def __init__(self, url: str | None = None, connections: int = 64, python: str = "") -> None:
        super().__init__(url, connections)
        self.python = Path(python or os.environ.get("LOCALSTACK_PYTHON", "") or LOCALSTACK_PYTHON)

    def _spawn(self) -> str:
        self.server = ServerProcess("localstack")
        endpoint = spawn_localstack(self.server, self.python, "sqs")
        self.server.wait_until(
            lambda: _http_ready(endpoint + "/_localstack/health"), 120, "health answer"
        )
        return endpoint

    def version(self) -> str:
        import subprocess

        try:
            out = subprocess.run(
                [
                    str(self.python),
                    "-c",
                    "import importlib.metadata as m;print(m.version('localstack-core'))",
                ],
                capture_output=True,
                text=True,
                timeout=30,
                check=True,
            )
        except (OSError, subprocess.SubprocessError):
            return "localstack-core ?"
        return f"localstack-core {out.stdout.strip()}"


class RaybusSqsTarget(_SqsTarget):
    """raybus's SQS endpoint, driven by the very client the SQS peers get: the same
    ``raybus up`` as the ``raybus`` target (or the one at ``url``), spoken to in SQS's JSON
    protocol instead of the native API."""

    name = "raybus-sqs"
    durability = "file log, acknowledged after the commit's fsync (group commit)"

    def __init__(
        self, url: str | None = None, connections: int = 64, up_args: Sequence[str] = ()
    ) -> None:
        super().__init__(url, connections)
        self.up_args = list(up_args)
        self.native: Any = None  # the RaybusTarget whose `raybus up` this target runs

    def _spawn(self) -> str:
        from .raybus_gateway import RaybusTarget

        self.native = RaybusTarget(up_args=self.up_args)
        url = self.native._spawn()
        self.server = self.native.server
        return str(url)

    def version(self) -> str:
        from importlib.metadata import version

        return f"raybus {version('raybus')} (SQS JSON 1.0 endpoint)"
