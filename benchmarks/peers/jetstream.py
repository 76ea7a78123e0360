"""NATS JetStream peer: Debian's ``nats-server`` with file storage, through nats-py.

One queue = one stream (work-queue retention, file storage, one subject) with one durable
pull consumer (explicit acks, unlimited ack-pending, 10-minute ack wait).

- send ×1: ``js.publish`` (waits for the PubAck: the stream stored the message);
  send ×N: N ``js.publish_async`` pipelined on the connection, then wait for all N PubAcks.
- receive ×N: ``fetch(batch=N)`` on a pull subscription bound to the consumer (one
  subscription per concurrent worker); delete = ``msg.ack()`` per message (a fire-and-forget
  publish, as nats-py's own examples do; the work-queue stream then drops the message).

Durability: JetStream's file store writes every message to its block file but does not fsync
per message; nats-server 2.9 (Debian 12) flushes to disk in the background (``sync_interval``,
the knob to fsync every write, only exists from 2.10).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import subprocess
from collections.abc import Sequence
from typing import Any

from .base import Message, Receiver, ServerProcess, Target, TargetUnavailable, free_port, port_open

__all__ = ["JetStreamTarget"]

CONSUMER = "bench"


class _JsReceiver(Receiver):
    def __init__(self, sub: Any, max_messages: int) -> None:
        self.sub = sub
        self.max_messages = max_messages

    async def receive(self, wait_s: float) -> list[Message]:
        import nats.errors

        try:
            msgs = await self.sub.fetch(batch=self.max_messages, timeout=max(wait_s, 0.25))
        except (nats.errors.TimeoutError, asyncio.TimeoutError):
            return []
        return [Message(m.data, m) for m in msgs]

    async def delete(self, messages: Sequence[Message]) -> None:
        for message in messages:
            await message.handle.ack()

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.sub.unsubscribe()


class JetStreamTarget(Target):
    name = "nats"
    max_batch = 1000
    protocol = "NATS client protocol (nats-py, one connection)"
    durability = "file store, written per message, no fsync per message (2.9: background flush)"

    def __init__(self, url: str | None = None) -> None:
        self.url = url
        self.server: ServerProcess | None = None
        self.nc: Any = None
        self.js: Any = None

    def _spawn(self) -> str:
        binary = shutil.which("nats-server")
        if binary is None:
            raise TargetUnavailable("nats: nats-server not found (apt-get install nats-server)")
        port = free_port()
        self.server = ServerProcess("nats")
        store = os.path.join(self.server.dir, "jetstream")
        config = os.path.join(self.server.dir, "nats.conf")
        with open(config, "w", encoding="utf-8") as handle:
            handle.write(
                f"listen: 127.0.0.1:{port}\n"
                "max_payload: 8MB\n"
                "jetstream {\n"
                f'  store_dir: "{store}"\n'
                "  max_memory_store: 256MB\n"
                "  max_file_store: 64GB\n"
                "}\n"
            )
        self.server.spawn([binary, "-c", config])
        self.server.wait_until(lambda: port_open(port), 30, "listening port")
        return f"nats://127.0.0.1:{port}"

    async def start(self) -> None:
        import nats

        url: str = self.url if self.url else await asyncio.to_thread(self._spawn)
        self.nc = await nats.connect(url, max_reconnect_attempts=0, pending_size=64 * 1024 * 1024)
        self.js = self.nc.jetstream(timeout=60, publish_async_max_pending=100_000)

    async def stop(self) -> None:
        if self.nc is not None:
            with contextlib.suppress(Exception):
                await self.nc.drain()
            self.nc = None
        if self.server is not None:
            await asyncio.to_thread(self.server.stop)
            self.server = None

    async def create_queue(self, name: str) -> None:
        from nats.js.api import (
            AckPolicy,
            ConsumerConfig,
            RetentionPolicy,
            StorageType,
            StreamConfig,
        )

        await self.js.add_stream(
            StreamConfig(
                name=name,
                subjects=[name],
                retention=RetentionPolicy.WORK_QUEUE,
                storage=StorageType.FILE,
                max_msgs=-1,
                max_bytes=-1,
            )
        )
        await self.js.add_consumer(
            name,
            ConsumerConfig(
                durable_name=CONSUMER,
                ack_policy=AckPolicy.EXPLICIT,
                ack_wait=600,
                max_ack_pending=-1,
                max_waiting=4096,
            ),
        )

    async def delete_queue(self, name: str) -> None:
        await self.js.delete_stream(name)

    async def send(self, queue: str, bodies: Sequence[bytes]) -> None:
        if len(bodies) == 1:
            await self.js.publish(queue, bodies[0])
            return
        futures = [await self.js.publish_async(queue, body) for body in bodies]
        await asyncio.gather(*futures)

    async def receiver(self, queue: str, max_messages: int) -> Receiver:
        sub = await self.js.pull_subscribe_bind(durable=CONSUMER, stream=queue)
        return _JsReceiver(sub, max_messages)

    def root_pids(self) -> list[int]:
        return self.server.pids() if self.server is not None else []

    def version(self) -> str:
        binary = shutil.which("nats-server")
        if binary is None:
            return "nats-server ?"
        out = subprocess.run([binary, "--version"], capture_output=True, text=True, check=False)
        return out.stdout.strip() or out.stderr.strip()
