"""One queue partition inside a partition host: engine + file log + group commit + long polls.

Concurrency: every method runs on the host's data event loop. A batch of operations is applied
to the engine in one synchronous turn (no ``await`` inside a state transition), then one
``await`` on the group committer makes all of it durable before any result is returned. Calls
that arrive while a flush runs are applied meanwhile and share the next flush, so a busy
partition does one fsync per flush, not per call.

Durability: a result leaves :meth:`execute` only after a commit that covers the log's end at
the time the batch finished, so it covers every record the batch appended — and every record
appended before it, which is why a FIFO duplicate (which appends nothing) is acknowledged only
once the original send is durable, and why a receive never exposes a message whose send is not.

Dead letters: a receive may hand back messages that exhausted the redrive policy. They are
delivered to the dead-letter queue through the injected ``deliver`` coroutine *after* the
receive's commit and removed here only once the target acknowledged them (then committed);
a failure hides them for a visibility timeout and they are retried. A crash in between leaves
them here: delivered twice at most, never lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from raybus.core.clock import Clock
from raybus.core.config import QueueConfig
from raybus.core.errors import RaybusError
from raybus.engines import DeadLetter, SendEntry, SendResult
from raybus.host import CheckpointPolicy, QueueHost
from raybus.storage import FileLog, FsyncPolicy, GroupCommitter

__all__ = ["Deliver", "LivePartition", "Op", "OpResult"]

log = logging.getLogger(__name__)

Deliver = Callable[[str, list[SendEntry]], Awaitable[list[SendResult | RaybusError]]]
Op = tuple[Any, ...]  # (name, *args) — see LivePartition.execute
OpResult = Any


@dataclass(slots=True)
class _Waker:
    """Long-poll wake-ups: waiters wait on the current event; a change sets it and replaces it."""

    event: asyncio.Event

    def notify(self) -> None:
        self.event.set()
        self.event = asyncio.Event()


class LivePartition:
    def __init__(
        self,
        host: QueueHost,
        *,
        epoch: int,
        clock: Clock,
        deliver: Deliver,
        virtual_clock: bool = False,
    ) -> None:
        self.host = host
        self.engine = host.engine
        self.epoch = epoch
        self.clock = clock
        self.committer = GroupCommitter(host.log)
        self._deliver = deliver
        self._virtual = virtual_clock
        self._waker = _Waker(asyncio.Event())
        self._background: set[asyncio.Task[None]] = set()
        self.closed = False

    @classmethod
    async def open(
        cls,
        config: QueueConfig,
        directory: str,
        *,
        tag: int,
        partition: int,
        epoch: int,
        clock: Clock,
        deliver: Deliver,
        fsync: FsyncPolicy = FsyncPolicy.ALWAYS,
        checkpoint: CheckpointPolicy | None = None,
        virtual_clock: bool = False,
    ) -> LivePartition:
        """Recover the partition from ``directory`` (on a worker thread: recovery of a large
        log takes seconds and must not stall the host's other partitions)."""

        def recover() -> QueueHost:
            file_log = FileLog(directory, fsync=fsync, clock=clock)
            try:
                return QueueHost.open(
                    config,
                    file_log,
                    tag=tag,
                    partition=partition,
                    epoch=epoch,
                    checkpoint=checkpoint,
                )
            except BaseException:
                file_log.close()
                raise

        host = await asyncio.get_running_loop().run_in_executor(None, recover)
        return cls(host, epoch=epoch, clock=clock, deliver=deliver, virtual_clock=virtual_clock)

    @property
    def config(self) -> QueueConfig:
        return self.engine.config

    def update_config(self, config: QueueConfig) -> None:
        self.engine.config = config
        self.wake()

    def wake(self) -> None:
        self._waker.notify()

    # -- the data path ------------------------------------------------------------------------
    async def execute(self, ops: Sequence[Op]) -> list[OpResult]:
        """Apply ``ops`` in order in one engine turn, commit once, return one result per op.

        Ops: ``("send", entries)``, ``("receive", max_messages, visibility_timeout_s)``,
        ``("delete", receipts)``, ``("visibility", [(receipt, seconds), ...])``,
        ``("purge",)``, ``("stats",)``. An op that raises a :class:`RaybusError` yields that
        error in its slot; the others still apply. ``StorageFailure`` from the commit fails
        the whole call (nothing in it is acknowledged).
        """
        if self.closed:
            raise RaybusError("PartitionUnavailable", "The partition is closed.")
        engine = self.engine
        now = self.clock.now_ms()
        results: list[OpResult] = []
        letters: list[DeadLetter] = []
        woke = False
        for op in ops:
            name = op[0]
            try:
                if name == "send":
                    result: OpResult = engine.send(now, op[1])
                    woke = True
                elif name == "receive":
                    received = engine.receive(now, op[1], op[2])
                    letters.extend(received.dead_letters)
                    result = received.messages
                elif name == "delete":
                    result = engine.delete(now, op[1])
                elif name == "visibility":
                    result = engine.change_visibility(now, op[1])
                    woke = True
                elif name == "purge":
                    result = engine.purge(now)
                elif name == "stats":
                    result = self.stats(now)
                else:
                    result = RaybusError("InternalError", f"unknown partition op {name!r}")
            except RaybusError as error:
                result = error
            results.append(result)
        await self.committer.commit()
        if woke:
            self.wake()
        if letters:
            self._spawn(self._deliver_dead_letters(letters))
        if self.host.checkpoint_due():
            self._checkpoint()
        return results

    def stats(self, now_ms: int | None = None) -> dict[str, int]:
        engine = self.engine
        stats = dict(engine.stats(self.clock.now_ms() if now_ms is None else now_ms))
        counters = engine.counters
        stats.update(
            sent=counters.sent,
            sent_bytes=counters.sent_bytes,
            received=counters.received,
            deleted=counters.deleted,
            dead_lettered=counters.dead_lettered,
            expired=counters.expired,
            epoch=self.epoch,
        )
        return stats

    async def wait_visible(self, timeout_s: float) -> bool:
        """Wait until a receive would find a message, or ``timeout_s`` (real seconds) passes.

        Wakes on sends, visibility changes and clock moves; with the system clock it also wakes
        when the earliest delayed or in-flight message is due."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while not self.closed:
            now = self.clock.now_ms()
            if self.engine.has_visible(now):
                return True
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            due = None if self._virtual else self.engine.next_change_ms()
            if due is not None:
                remaining = min(remaining, max(0.0, (due - now) / 1000) + 0.001)
            event = self._waker.event
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), remaining)
        return False

    async def receive(
        self, max_messages: int, visibility_timeout_s: int | None, wait_s: float
    ) -> OpResult:
        """Receive, long-polling up to ``wait_s`` for the first visible message."""
        while True:
            (result,) = await self.execute([("receive", max_messages, visibility_timeout_s)])
            if isinstance(result, RaybusError) or result or wait_s <= 0:
                return result
            loop = asyncio.get_running_loop()
            started = loop.time()
            if not await self.wait_visible(wait_s):
                return []
            wait_s -= loop.time() - started

    # -- transfers (dead letters here; move tasks driven by the controller) -------------------
    def take_for_transfer(self, limit: int, target: str) -> list[DeadLetter]:
        return self.engine.take_for_transfer(self.clock.now_ms(), limit, target)

    async def settle_transfer(self, moved: Sequence[int], failed: Sequence[int]) -> None:
        now = self.clock.now_ms()
        if moved:
            self.engine.finish_transfer(now, moved, dead_lettered=False)
        if failed:
            self.engine.abort_transfer(now, failed)
        await self.committer.commit()
        self.wake()

    async def _deliver_dead_letters(self, letters: list[DeadLetter]) -> None:
        by_target: dict[str, list[DeadLetter]] = {}
        for letter in letters:
            by_target.setdefault(letter.target, []).append(letter)
        for target, group in by_target.items():
            moved: list[int] = []
            failed: list[int] = []
            try:
                results = await self._deliver(target, [letter.entry for letter in group])
            except Exception as error:  # the target is missing or down: keep them here
                log.warning("dead-letter delivery to %s failed: %s", target, error)
                failed = [letter.seq for letter in group]
            else:
                for letter, result in zip(group, results, strict=True):
                    (failed if isinstance(result, Exception) else moved).append(letter.seq)
            if self.closed:
                return
            now = self.clock.now_ms()
            if moved:
                self.engine.finish_transfer(now, moved, dead_lettered=True)
            if failed:
                self.engine.abort_transfer(now, failed)
            await self.committer.commit()
            self.wake()  # a FIFO group blocked behind a dead letter is free again

    def _spawn(self, coroutine: Awaitable[None]) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def _checkpoint(self) -> None:
        """Compact and snapshot. Runs on the loop between turns (rare: every few tens of MB of
        log growth); it is synchronous so no other call sees a half-compacted engine."""
        try:
            self.host.checkpoint()
        except RaybusError:
            log.exception("checkpoint failed; the log keeps growing until the next try")

    async def close(self) -> None:
        self.closed = True
        self.wake()
        for task in list(self._background):
            task.cancel()
        await self.committer.aclose()
        self.host.close()
