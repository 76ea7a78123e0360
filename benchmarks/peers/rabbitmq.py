"""RabbitMQ peer: Debian's ``rabbitmq-server`` (one node on loopback), through aio-pika.

The node runs as a child of the benchmark, from ``/usr/lib/rabbitmq/bin/rabbitmq-server``
(the ``/usr/sbin`` wrapper would switch to the ``rabbitmq`` user and its system directories),
with its own ``epmd`` on a free port, its data, logs, config and Erlang cookie under a temp
directory, and no plugins.

One queue = one durable classic queue; messages are persistent (delivery mode 2).

- send ×1: publish on a channel in confirm mode and wait for the broker's confirm;
  send ×N: N publishes pipelined on that channel, then wait for all N confirms. RabbitMQ
  confirms a persistent message routed to a durable queue once it is persisted to disk
  (its message store syncs in batches).
- receive ×N: one consumer per concurrent worker, each on its own channel with
  ``prefetch_count = N``; a worker collects up to N deliveries, then delete = one
  ``basic.ack`` with ``multiple=True`` (×1: one ack per message). Acks are not confirmed
  by the broker (AMQP 0-9-1 has no ack for acks).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
from collections.abc import Sequence
from typing import Any

from .base import Message, Receiver, ServerProcess, Target, TargetUnavailable, free_port, port_open

__all__ = ["RabbitMqTarget"]

SERVER = "/usr/lib/rabbitmq/bin/rabbitmq-server"
#: after the first delivery, how long a batch waits for the rest before returning short
GATHER_S = 0.02


class _RabbitReceiver(Receiver):
    def __init__(self, channel: Any, max_messages: int) -> None:
        self.channel = channel
        self.max_messages = max_messages
        self.inbox: asyncio.Queue[Any] = asyncio.Queue()
        self.tag: str | None = None
        self.queue: Any = None

    async def open(self, name: str) -> None:
        await self.channel.set_qos(prefetch_count=self.max_messages)
        self.queue = await self.channel.get_queue(name, ensure=False)

        async def deliver(message: Any) -> None:
            self.inbox.put_nowait(message)

        self.tag = await self.queue.consume(deliver, no_ack=False)

    async def receive(self, wait_s: float) -> list[Message]:
        try:
            first = await asyncio.wait_for(self.inbox.get(), timeout=max(wait_s, 0.05))
        except asyncio.TimeoutError:
            return []
        got = [first]
        while len(got) < self.max_messages:
            if not self.inbox.empty():
                got.append(self.inbox.get_nowait())
                continue
            try:
                got.append(await asyncio.wait_for(self.inbox.get(), timeout=GATHER_S))
            except asyncio.TimeoutError:
                break
        return [Message(m.body, m) for m in got]

    async def delete(self, messages: Sequence[Message]) -> None:
        if not messages:
            return
        if len(messages) == 1:
            await messages[0].handle.ack()
        else:
            await messages[-1].handle.ack(multiple=True)

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            if self.tag is not None and self.queue is not None:
                await self.queue.cancel(self.tag)
        with contextlib.suppress(Exception):
            await self.channel.close()


class RabbitMqTarget(Target):
    name = "rabbitmq"
    max_batch = 1000
    protocol = "AMQP 0-9-1 (aio-pika, one connection, publisher confirms)"
    durability = (
        "durable classic queue, persistent messages, confirm after the store's batched fsync"
    )

    def __init__(self, url: str | None = None) -> None:
        self.url = url
        self.server: ServerProcess | None = None
        self.epmd: ServerProcess | None = None
        self.connection: Any = None
        self.publisher: Any = None
        self.admin: Any = None

    def _spawn(self) -> str:
        if not os.path.exists(SERVER):
            raise TargetUnavailable(
                f"rabbitmq: {SERVER} not found (apt-get install rabbitmq-server)"
            )
        epmd_port, amqp_port, dist_port = free_port(), free_port(), free_port()
        self.epmd = ServerProcess("rabbitmq-epmd")
        self.epmd.spawn(
            ["epmd", "-port", str(epmd_port), "-address", "127.0.0.1"],
            env={"ERL_EPMD_ADDRESS": "127.0.0.1"},
        )
        self.epmd.wait_until(lambda: port_open(epmd_port), 15, "epmd port")
        self.server = ServerProcess("rabbitmq")
        base = self.server.dir
        with open(os.path.join(base, "rabbitmq.conf"), "w", encoding="utf-8") as handle:
            handle.write("loopback_users = none\n")
        with open(os.path.join(base, "enabled_plugins"), "w", encoding="utf-8") as handle:
            handle.write("[].\n")
        env = {
            "HOME": base,
            "ERL_EPMD_PORT": str(epmd_port),
            "ERL_EPMD_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODENAME": f"bench{amqp_port}@localhost",
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(amqp_port),
            "RABBITMQ_DIST_PORT": str(dist_port),
            "RABBITMQ_BASE": base,
            "RABBITMQ_CONFIG_FILE": os.path.join(base, "rabbitmq"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": os.path.join(base, "enabled_plugins"),
            "RABBITMQ_MNESIA_BASE": os.path.join(base, "mnesia"),
            "RABBITMQ_LOG_BASE": os.path.join(base, "log"),
            "RABBITMQ_PID_FILE": os.path.join(base, "rabbitmq.pid"),
            "RABBITMQ_LOGS": "-",
        }
        self.server.spawn([SERVER], env=env)
        self.server.wait_until(lambda: port_open(amqp_port), 90, "AMQP port")
        return f"amqp://guest:guest@127.0.0.1:{amqp_port}/"

    async def start(self) -> None:
        import aio_pika

        url: str = self.url if self.url else await asyncio.to_thread(self._spawn)
        self.connection = await aio_pika.connect(url)
        self.publisher = await self.connection.channel(publisher_confirms=True)
        self.admin = await self.connection.channel()

    async def stop(self) -> None:
        if self.connection is not None:
            with contextlib.suppress(Exception):
                await self.connection.close()
            self.connection = None
        for server in (self.server, self.epmd):
            if server is not None:
                await asyncio.to_thread(server.stop)
        self.server = self.epmd = None

    async def create_queue(self, name: str) -> None:
        await self.admin.declare_queue(name, durable=True)

    async def delete_queue(self, name: str) -> None:
        await self.admin.queue_delete(name)

    async def send(self, queue: str, bodies: Sequence[bytes]) -> None:
        import aio_pika

        exchange = self.publisher.default_exchange
        persistent = aio_pika.DeliveryMode.PERSISTENT
        if len(bodies) == 1:
            await exchange.publish(
                aio_pika.Message(bodies[0], delivery_mode=persistent), routing_key=queue
            )
            return
        await asyncio.gather(
            *(
                exchange.publish(aio_pika.Message(b, delivery_mode=persistent), routing_key=queue)
                for b in bodies
            )
        )

    async def receiver(self, queue: str, max_messages: int) -> Receiver:
        receiver = _RabbitReceiver(await self.connection.channel(), max_messages)
        await receiver.open(queue)
        return receiver

    def root_pids(self) -> list[int]:
        return [pid for s in (self.server, self.epmd) if s is not None for pid in s.pids()]

    def version(self) -> str:
        out = subprocess.run(
            ["dpkg-query", "-W", "-f", "${Version}", "rabbitmq-server"],
            capture_output=True,
            text=True,
            check=False,
        )
        return f"rabbitmq-server {out.stdout.strip() or '?'}"
