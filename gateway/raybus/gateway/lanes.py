"""Per-partition coalescing of typed operations, for every kind (no timer).

Each partition — ``(kind, key, partition)`` — has a *lane*. A request submits its typed
operation (:mod:`raybus.engines.ops`) to the lane; if fewer than ``MAX_INFLIGHT`` calls to that
partition are running, a call leaves at once carrying everything queued; otherwise the
operations wait and leave together when a call returns. So an idle partition costs one round
trip per request, and a busy one carries many operations per call, per engine turn and per
fsync. More than ``MAX_PENDING`` queued operations on one lane is ``Throttled`` (HTTP 429 with
Retry-After): the gateway's memory stays bounded.

:meth:`Lanes.split` sends entries to a queue or a topic the way every writer does: FIFO by
message group (stable MD5, so a group's order holds), standard one partition per request,
rotating — one operation per partition, through the lanes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from raybus.actors import Router, send_split
from raybus.core.errors import RaybusError
from raybus.engines.ops import Op

__all__ = ["MAX_INFLIGHT", "MAX_OPS_PER_CALL", "MAX_PENDING", "Lanes"]

MAX_INFLIGHT = 2
MAX_PENDING = 1024
MAX_OPS_PER_CALL = 256

R = TypeVar("R")
Place = tuple[str, str, int]
Pending = tuple[Op[Any, Any], "asyncio.Future[Any]"]


class _Lane:
    __slots__ = ("inflight", "lanes", "pending", "place", "running")

    def __init__(self, lanes: Lanes, place: Place) -> None:
        self.lanes = lanes
        self.place = place
        self.pending: list[Pending] = []
        self.inflight = 0
        self.running: set[asyncio.Task[None]] = set()  # the loop keeps only weak references

    async def submit(self, op: Op[Any, R]) -> R:
        if len(self.pending) >= MAX_PENDING:
            self.lanes.throttled += 1
            raise RaybusError(
                "Throttled",
                f"Too many requests queued for {self.place[0]} {self.place[1]}; retry shortly.",
                retry_after_s=1,
            )
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.pending.append((op, future))
        if self.inflight < MAX_INFLIGHT:
            self._launch()
        result = await future
        if isinstance(result, RaybusError):
            raise result
        answer: R = result
        return answer

    def _launch(self) -> None:
        batch = self.pending[:MAX_OPS_PER_CALL]
        del self.pending[:MAX_OPS_PER_CALL]
        self.inflight += 1
        self.lanes.calls += 1
        task = asyncio.ensure_future(self._run(batch))
        self.running.add(task)
        task.add_done_callback(self.running.discard)

    async def _run(self, batch: list[Pending]) -> None:
        kind, key, partition = self.place
        try:
            results = await self.lanes.router.execute(kind, key, partition, [op for op, _ in batch])
        except BaseException as error:
            for _, future in batch:
                if not future.done():
                    future.set_exception(error)
        else:
            for (_, future), result in zip(batch, results, strict=True):
                if not future.done():
                    future.set_result(result)
        finally:
            self.inflight -= 1
            if self.pending and self.inflight < MAX_INFLIGHT:
                self._launch()


class Lanes:
    def __init__(self, router: Router) -> None:
        self.router = router
        self._lanes: dict[Place, _Lane] = {}
        self.calls = 0  # calls made to partitions (each carries one or more operations)
        self.throttled = 0

    async def submit(self, kind: str, key: str, partition: int, op: Op[Any, R]) -> R:
        """Queue ``op`` for the partition and answer its result (its error is raised)."""
        place = (kind, key, partition)
        lane = self._lanes.get(place)
        if lane is None:
            lane = self._lanes[place] = _Lane(self, place)
        return await lane.submit(op)

    def forget(self, kind: str, key: str) -> None:
        """Drop the lanes of a deleted resource."""
        for place in [p for p in self._lanes if p[:2] == (kind, key)]:
            del self._lanes[place]

    async def split(
        self,
        kind: str,
        key: str,
        entries: Sequence[Any],
        op: Callable[[list[Any]], Op[Any, list[Any]]],
    ) -> list[Any]:
        """One result (or error) per entry: ``op(chunk)`` for each partition's chunk."""
        route = await self.router.route(kind, key)

        def call(partition: int, chunk: list[Any]) -> Awaitable[list[Any]]:
            return self.submit(kind, key, partition, op(chunk))

        return await send_split(route, entries, self.router.nearest(route)[0], call)
