"""Test doubles for the partition layer: a dispatcher that sends to other partitions in the same
process and records every call, and a bounded wait for a condition on the event loop."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any

from raybus.core import Clock, RaybusError
from raybus.core.topics import PublishEntry, PublishResult
from raybus.engines import QueuePartition, SendEntry, SendResult
from raybus.engines.queue.ops import Send
from raybus.partitions import Durable

WAIT_S = 10.0  # a bound on every wait: a hang fails the test instead of hanging it


async def until(condition: Callable[[], bool], what: str, timeout_s: float = WAIT_S) -> None:
    """Return as soon as ``condition()`` holds; fail after ``timeout_s``. Checks on the event
    loop between other tasks' steps, so the background work it waits for keeps running."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        await asyncio.sleep(0.001)


class FakeDispatcher:
    """A :class:`raybus.partitions.Dispatcher` over queues in this process.

    ``send`` runs a committed ``Send`` on the named queue's :class:`Durable` (so it returns only
    once the target committed, as the real one does) and raises ``QueueDoesNotExist`` for a
    name it does not know, or the target's error (a failed commit). ``post`` answers
    ``status``. Every call is recorded, with the clock's time, before it is answered."""

    def __init__(self, clock: Clock, queues: dict[str, Durable[QueuePartition]] | None = None):
        self.clock = clock
        self.queues = queues if queues is not None else {}
        self.sends: list[tuple[str, list[SendEntry]]] = []
        self.posts: list[tuple[str, bytes, dict[str, str], int]] = []  # url, body, headers, now
        self.status = 200

    async def send(self, queue: str, entries: list[SendEntry]) -> list[SendResult | RaybusError]:
        self.sends.append((queue, list(entries)))
        target = self.queues.get(queue)
        if target is None:
            raise RaybusError("QueueDoesNotExist", f"Queue {queue} does not exist.", queue=queue)
        return target.run(Send(entries), self.clock.now_ms())

    async def publish(
        self, topic: str, entries: Sequence[PublishEntry]
    ) -> list[PublishResult | RaybusError]:
        raise AssertionError("not expected in these tests")

    async def invoke_async(self, function: str, payload: Any) -> str:
        raise AssertionError("not expected in these tests")

    async def deliver(self, target: str, body: str, attributes: Any = None) -> None:
        raise AssertionError("not expected in these tests")

    async def is_fifo(self, queue: str) -> bool:
        target = self.queues.get(queue)
        return target is not None and target.engine.fifo

    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        self.posts.append((url, body, headers, self.clock.now_ms()))
        return self.status

    def sent_to(self, queue: str) -> list[SendEntry]:
        """Every entry offered to ``queue``, accepted or not, in order."""
        return [entry for name, entries in self.sends if name == queue for entry in entries]
