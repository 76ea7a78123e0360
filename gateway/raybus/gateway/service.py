"""The gateway's data plane: routes queue operations to partitions and coalesces them.

Coalescing (no timer): each partition has a *lane*. A request joins the lane's queue; if fewer
than ``MAX_INFLIGHT`` calls to that partition are running, a call leaves at once carrying
everything queued; otherwise the requests wait and leave together when a call returns. So an
idle partition costs one round trip per request, and a busy one carries many requests per Ray
call and per fsync. More than ``MAX_PENDING`` queued requests on one lane is ``Throttled``
(HTTP 429 with Retry-After) — the gateway's memory stays bounded.

Receives: a short poll asks the partitions one after another (starting at a rotating one) until
it has ``max_messages``. A long poll on a one-partition queue parks on its host; on a
partitioned queue it parks a ``wait_visible`` on every partition and receives from the first
that wakes, cancelling the others.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Sequence
from typing import Any

from raybus.actors import Router, merge_stats, split_by_partition
from raybus.core.errors import RaybusError
from raybus.core.tokens import decode_receipt
from raybus.engines import ReceivedMessage, SendEntry, SendResult

__all__ = ["MAX_INFLIGHT", "MAX_PENDING", "QueueService", "merge_stats"]

MAX_INFLIGHT = 2
MAX_PENDING = 1024
MAX_OPS_PER_CALL = 256
MAX_RECEIVE = 1000
MAX_WAIT_S = 20


class _Lane:
    __slots__ = ("inflight", "partition", "pending", "queue", "running", "service")

    def __init__(self, service: QueueService, queue: str, partition: int) -> None:
        self.service = service
        self.queue = queue
        self.partition = partition
        self.pending: list[tuple[tuple[Any, ...], asyncio.Future[Any]]] = []
        self.inflight = 0
        self.running: set[asyncio.Task[None]] = set()  # the loop keeps only weak references

    async def submit(self, op: tuple[Any, ...]) -> Any:
        if len(self.pending) >= MAX_PENDING:
            self.service.throttled += 1
            raise RaybusError(
                "Throttled",
                f"Too many requests queued for {self.queue}; retry shortly.",
                retry_after_s=1,
            )
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.pending.append((op, future))
        if self.inflight < MAX_INFLIGHT:
            self._launch()
        result = await future
        if isinstance(result, RaybusError):
            raise result
        return result

    def _launch(self) -> None:
        batch = self.pending[:MAX_OPS_PER_CALL]
        del self.pending[:MAX_OPS_PER_CALL]
        self.inflight += 1
        self.service.calls += 1
        task = asyncio.ensure_future(self._run(batch))
        self.running.add(task)
        task.add_done_callback(self.running.discard)

    async def _run(self, batch: list[tuple[tuple[Any, ...], asyncio.Future[Any]]]) -> None:
        try:
            results = await self.service.router.call(
                self.queue, self.partition, "execute", [op for op, _ in batch]
            )
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


class QueueService:
    def __init__(self, router: Router) -> None:
        self.router = router
        self.lanes: dict[tuple[str, int], _Lane] = {}
        self.turn = itertools.count()
        self.calls = 0
        self.throttled = 0
        self.parked = 0  # receives waiting in a long poll right now

    def lane(self, queue: str, partition: int) -> _Lane:
        key = (queue, partition)
        lane = self.lanes.get(key)
        if lane is None:
            lane = self.lanes[key] = _Lane(self, queue, partition)
        return lane

    def forget(self, queue: str) -> None:
        for key in [k for k in self.lanes if k[0] == queue]:
            del self.lanes[key]

    # -- send -----------------------------------------------------------------------------------
    async def send(
        self, queue: str, entries: Sequence[SendEntry | RaybusError]
    ) -> list[SendResult | RaybusError]:
        route = await self.router.route(queue)
        results: list[SendResult | RaybusError | None] = [
            e if isinstance(e, RaybusError) else None for e in entries
        ]
        valid = [i for i, e in enumerate(entries) if not isinstance(e, RaybusError)]
        batch = [entries[i] for i in valid]
        parts = split_by_partition(route, batch, next(self.turn))  # type: ignore[arg-type]

        async def one(partition: int, indexes: list[int]) -> None:
            answer = await self.lane(queue, partition).submit(("send", [batch[i] for i in indexes]))
            for index, result in zip(indexes, answer, strict=True):
                results[valid[index]] = result

        await asyncio.gather(*(one(p, idx) for p, idx in parts.items()))
        return [r if r is not None else RaybusError("InternalError", "no result") for r in results]

    # -- receive --------------------------------------------------------------------------------
    async def receive(
        self, queue: str, max_messages: int, wait_s: float | None, visibility_timeout_s: int | None
    ) -> list[ReceivedMessage]:
        route = await self.router.route(queue)
        if wait_s is None:
            wait_s = route.config.receive_wait_s
        count = len(route.partitions)
        if count == 1 and wait_s > 0:
            self.parked += 1
            try:
                result: list[ReceivedMessage] = await self.router.call(
                    queue, 0, "receive", max_messages, visibility_timeout_s, wait_s
                )
            finally:
                self.parked -= 1
            if isinstance(result, RaybusError):
                raise result
            return result
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait_s
        start = next(self.turn)
        while True:
            messages: list[ReceivedMessage] = []
            for step in range(count):
                partition = (start + step) % count
                messages += await self.lane(queue, partition).submit(
                    ("receive", max_messages - len(messages), visibility_timeout_s)
                )
                if len(messages) >= max_messages:
                    break
            remaining = deadline - loop.time()
            if messages or remaining <= 0:
                return messages
            self.parked += 1
            try:
                woke = await self._wait_any(queue, count, remaining)
            finally:
                self.parked -= 1
            if woke is None:
                return []
            start = woke

    async def _wait_any(self, queue: str, count: int, wait_s: float) -> int | None:
        """Park on every partition; the index of the first with a visible message, or None.
        The other waits are cancelled (remote ones with ``ray.cancel``)."""
        waits = {
            asyncio.ensure_future(self.router.call(queue, p, "wait_visible", wait_s)): p
            for p in range(count)
        }
        try:
            pending = set(waits)
            while pending:
                done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                for future in done:
                    error = future.exception()
                    if error is None and future.result():
                        return waits[future]
                    if isinstance(error, RaybusError) and error.retriable:
                        return waits[future]  # re-route and retry on the next pass
                    if error is not None:
                        raise error
            return None
        finally:
            for future in waits:
                future.cancel()

    # -- delete / visibility ------------------------------------------------------------------
    def _by_partition(
        self, count: int, receipts: Sequence[object]
    ) -> tuple[dict[int, list[int]], dict[int, RaybusError]]:
        parts: dict[int, list[int]] = {}
        errors: dict[int, RaybusError] = {}
        for index, handle in enumerate(receipts):
            try:
                partition = decode_receipt(handle).partition
            except RaybusError as error:
                errors[index] = error
                continue
            if partition >= count:
                errors[index] = RaybusError(
                    "ReceiptHandleIsInvalid", "The receipt handle does not belong to this queue."
                )
                continue
            parts.setdefault(partition, []).append(index)
        return parts, errors

    async def delete(self, queue: str, receipts: Sequence[object]) -> list[RaybusError | None]:
        return await self._per_receipt(queue, receipts, "delete", list(receipts))

    async def change_visibility(
        self, queue: str, changes: Sequence[tuple[object, object]]
    ) -> list[RaybusError | None]:
        return await self._per_receipt(
            queue, [receipt for receipt, _ in changes], "visibility", list(changes)
        )

    async def _per_receipt(
        self, queue: str, receipts: Sequence[object], op: str, items: list[Any]
    ) -> list[RaybusError | None]:
        route = await self.router.route(queue)
        parts, errors = self._by_partition(len(route.partitions), receipts)
        results: list[RaybusError | None] = [errors.get(i) for i in range(len(receipts))]

        async def one(partition: int, indexes: list[int]) -> None:
            answer = await self.lane(queue, partition).submit((op, [items[i] for i in indexes]))
            for index, result in zip(indexes, answer, strict=True):
                results[index] = result

        await asyncio.gather(*(one(p, idx) for p, idx in parts.items()))
        return results

    # -- whole queue ----------------------------------------------------------------------------
    async def purge(self, queue: str) -> int:
        route = await self.router.route(queue)
        counts = await asyncio.gather(
            *(self.lane(queue, p).submit(("purge",)) for p in range(len(route.partitions)))
        )
        return sum(counts)

    async def partition_stats(self, queue: str) -> list[dict[str, Any]]:
        route = await self.router.route(queue)
        parts: list[dict[str, Any]] = await asyncio.gather(
            *(self.lane(queue, p).submit(("stats",)) for p in range(len(route.partitions)))
        )
        return parts

    async def stats(self, queue: str) -> dict[str, Any]:
        return merge_stats(await self.partition_stats(queue))
