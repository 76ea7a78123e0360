"""The gateway's data plane for queues: sends, receives, deletes, visibility, purge and stats,
as typed operations through the per-partition lanes (:mod:`raybus.gateway.lanes`).

Receives: a short poll asks the partitions one after another (starting at a rotating one) until
it has ``max_messages``; a partition that fails is skipped, and its error answers the request
only when no partition gave a message (what others gave is already in flight). A long poll on
a one-partition queue parks on its host (:class:`~raybus.partitions.LongPoll`); on a
partitioned queue it parks a :class:`~raybus.partitions.WaitVisible` on every partition and
receives from the first that wakes, cancelling the others. Deletes and visibility changes go
to the partition their receipt names.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any

from raybus.actors import merge_stats
from raybus.core.errors import RaybusError
from raybus.core.tokens import Receipt, decode_receipt
from raybus.engines import ReceivedMessage, SendEntry, SendResult
from raybus.engines.ops import Op
from raybus.engines.queue.ops import ChangeVisibility, Delete, Purge, QueueStats, Receive, Send
from raybus.gateway.lanes import Lanes
from raybus.partitions import LongPoll, WaitVisible

__all__ = ["MAX_RECEIVE", "MAX_WAIT_S", "QueueService", "merge_stats"]

MAX_RECEIVE = 1000
MAX_WAIT_S = 20
QUEUE = "queue"


class QueueService:
    def __init__(self, lanes: Lanes) -> None:
        self.lanes = lanes
        self.router = lanes.router
        self.parked = 0  # receives waiting in a long poll right now

    @property
    def calls(self) -> int:
        return self.lanes.calls

    def forget(self, queue: str) -> None:
        self.lanes.forget(QUEUE, queue)

    # -- send -----------------------------------------------------------------------------------
    async def send(
        self, queue: str, entries: Sequence[SendEntry | RaybusError]
    ) -> list[SendResult | RaybusError]:
        """One result per entry; an entry that is already an error stays in its slot."""
        valid = [i for i, e in enumerate(entries) if not isinstance(e, RaybusError)]
        if len(valid) == len(entries):  # the common case: nothing to put back in its slot
            return await self.lanes.split(QUEUE, queue, entries, Send)
        answers = await self.lanes.split(QUEUE, queue, [entries[i] for i in valid], Send)
        results: list[Any] = list(entries)  # the errors stay where they are
        for index, answer in zip(valid, answers, strict=True):
            results[index] = answer
        return results

    # -- receive --------------------------------------------------------------------------------
    async def receive(
        self, queue: str, max_messages: int, wait_s: float | None, visibility_timeout_s: int | None
    ) -> list[ReceivedMessage]:
        route = await self.router.route(QUEUE, queue)
        if wait_s is None:
            wait_s = route.config.receive_wait_s
        count = len(route.partitions)
        if count == 1 and wait_s > 0:
            self.parked += 1
            try:
                return await self.router.perform(
                    QUEUE, queue, 0, LongPoll(max_messages, visibility_timeout_s, wait_s)
                )
            finally:
                self.parked -= 1
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait_s
        order = self.router.nearest(route)
        while True:
            messages = await self._short_poll(queue, order, max_messages, visibility_timeout_s)
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
            order = [woke, *(p for p in order if p != woke)]

    async def _short_poll(
        self, queue: str, order: list[int], max_messages: int, visibility_timeout_s: int | None
    ) -> list[ReceivedMessage]:
        """Receive from the partitions in ``order`` until ``max_messages``. A partition that
        fails does not cost the messages others gave: they are already in flight, and raising
        would hide them from everyone until their visibility timeout. Its error is raised only
        when no partition gave a message (the client retries)."""
        messages: list[ReceivedMessage] = []
        failure: RaybusError | None = None
        for partition in order:
            wanted = Receive(max_messages - len(messages), visibility_timeout_s)
            try:
                messages += await self.lanes.submit(QUEUE, queue, partition, wanted)
            except RaybusError as error:
                failure = failure or error
                continue
            if len(messages) >= max_messages:
                break
        if failure is not None and not messages:
            raise failure
        return messages

    async def _wait_any(self, queue: str, count: int, wait_s: float) -> int | None:
        """Park on every partition; the index of the first with a visible message, or None.
        The other waits are cancelled (remote ones with ``ray.cancel``)."""
        waits = {
            asyncio.ensure_future(self.router.perform(QUEUE, queue, p, WaitVisible(wait_s))): p
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
    @staticmethod
    def _by_partition(
        count: int, receipts: Sequence[object]
    ) -> tuple[dict[int, list[tuple[int, Receipt]]], dict[int, RaybusError]]:
        """The receipts decoded and grouped by partition (with their index in the request),
        and the errors of those that are malformed or name a partition the queue lacks."""
        parts: dict[int, list[tuple[int, Receipt]]] = {}
        errors: dict[int, RaybusError] = {}
        for index, handle in enumerate(receipts):
            try:
                receipt = decode_receipt(handle)
            except RaybusError as error:
                errors[index] = error
                continue
            if receipt.partition >= count:
                errors[index] = RaybusError(
                    "ReceiptHandleIsInvalid", "The receipt handle does not belong to this queue."
                )
                continue
            parts.setdefault(receipt.partition, []).append((index, receipt))
        return parts, errors

    async def delete(self, queue: str, receipts: Sequence[object]) -> list[RaybusError | None]:
        return await self._per_receipt(
            queue, list(receipts), lambda chunk: Delete([receipt for _, receipt in chunk])
        )

    async def change_visibility(
        self, queue: str, changes: Sequence[tuple[object, object]]
    ) -> list[RaybusError | None]:
        seconds = [timeout for _, timeout in changes]
        return await self._per_receipt(
            queue,
            [receipt for receipt, _ in changes],
            lambda chunk: ChangeVisibility([(receipt, seconds[i]) for i, receipt in chunk]),
        )

    async def _per_receipt(
        self,
        queue: str,
        receipts: Sequence[object],
        op: Callable[[list[tuple[int, Receipt]]], Op[Any, list[RaybusError | None]]],
    ) -> list[RaybusError | None]:
        """Decode the receipts once, here, and send each partition the decoded ones (the
        engine checks they are its own and current) in one operation ``op(chunk)``."""
        route = await self.router.route(QUEUE, queue)
        parts, errors = self._by_partition(len(route.partitions), receipts)
        results: list[RaybusError | None] = [errors.get(i) for i in range(len(receipts))]

        async def one(partition: int, chunk: list[tuple[int, Receipt]]) -> None:
            answer = await self.lanes.submit(QUEUE, queue, partition, op(chunk))
            for (index, _), result in zip(chunk, answer, strict=True):
                results[index] = result

        await asyncio.gather(*(one(p, chunk) for p, chunk in parts.items()))
        return results

    # -- whole queue ----------------------------------------------------------------------------
    async def purge(self, queue: str) -> int:
        route = await self.router.route(QUEUE, queue)
        counts = await asyncio.gather(
            *(self.lanes.submit(QUEUE, queue, p, Purge()) for p in range(len(route.partitions)))
        )
        return sum(counts)

    async def partition_stats(self, queue: str) -> list[dict[str, Any]]:
        route = await self.router.route(QUEUE, queue)
        parts: list[dict[str, Any]] = await asyncio.gather(
            *(
                self.lanes.submit(QUEUE, queue, p, QueueStats())
                for p in range(len(route.partitions))
            )
        )
        return parts

    async def stats(self, queue: str) -> dict[str, Any]:
        return merge_stats(await self.partition_stats(queue))
