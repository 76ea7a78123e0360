"""Queues in the partition layer: the engine, long polls, and dead-letter transfers.

- :data:`QUEUES` builds a queue partition's engine (standard or FIFO by its settings) and its
  behaviour.
- Dead letters: a receive may hand back messages that exhausted the redrive policy (as the
  turn's transfers). After the receive's commit they are sent to the dead-letter queue through
  the dispatcher and removed here only once the target committed them (:func:`transfer`); a
  failure hides them for a visibility timeout and they are retried. Delivered twice at most,
  never lost.
- :class:`LongPoll` and :class:`WaitVisible` are the queue's waiting operations: a receive
  that waits up to ``wait_s`` for the first visible message, and a wait alone (a partitioned
  queue's long poll parks one on every partition and receives from the first that wakes).
  They wake on sends, visibility changes and clock moves; with the system clock also when the
  earliest delayed or in-flight message is due.
- Test clock: the partition is due while a waiter is parked and a message is visible, and,
  while a waiter is parked, its next due time is when the earliest delayed or in-flight message
  becomes visible. Without a waiter nothing happens at that time (the next receive applies it),
  so it is no step of an advance; nor are retention and the dedup window, which change nothing
  anyone waits for: they are applied when time is read.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from raybus.core.queues import QueueConfig
from raybus.engines import DeadLetter, QueuePartition, ReceivedMessage, new_partition
from raybus.engines.ops import Turn
from raybus.engines.queue.ops import Receive, SettleTransfer
from raybus.partitions.durable import CheckpointPolicy, Durable
from raybus.partitions.shell import Environment, PartitionShell, Wait
from raybus.partitions.transfer import transfer
from raybus.storage import PartitionLog

__all__ = [
    "QUEUES",
    "LongPoll",
    "QueueBehaviour",
    "QueuePartitions",
    "WaitVisible",
    "open_queue",
]

QueueShell = PartitionShell[QueuePartition]


class QueueBehaviour:
    def __init__(self, shell: QueueShell, env: Environment) -> None:
        self.shell = shell
        self.dispatcher = env.dispatcher

    def configured(self, config: Any) -> None:
        pass

    async def attach(self, attached: Sequence[Any]) -> None:
        pass

    def due(self, now_ms: int) -> bool:
        return self.shell.waiters > 0 and self.shell.engine.has_visible(now_ms)

    def next_due_ms(self, now_ms: int) -> int | None:
        if self.shell.waiters == 0:
            return None
        engine = self.shell.engine
        engine.advance(now_ms)  # what is due by now is applied: the heads lie in the future
        return engine.next_change_ms()

    def committed(self, turn: Turn) -> None:
        letters: list[DeadLetter] = list(turn.transfers)
        by_target: dict[str, list[DeadLetter]] = {}
        for letter in letters:
            by_target.setdefault(letter.target, []).append(letter)
        for target, group in by_target.items():
            self.shell.spawn(self._dead_letters(target, group))

    async def _dead_letters(self, target: str, letters: list[DeadLetter]) -> None:
        shell = self.shell

        async def send(items: Sequence[DeadLetter]) -> Sequence[object]:
            return await self.dispatcher.send(target, [letter.entry for letter in items])

        async def settle(moved: list[DeadLetter], failed: list[DeadLetter]) -> None:
            if shell.closed:
                return
            await shell.execute(
                [SettleTransfer([m.seq for m in moved], [f.seq for f in failed], True)]
            )

        await transfer(letters, send, settle, what=f"dead-letter delivery to {target}")

    async def close(self) -> None:
        pass


@dataclass(frozen=True, slots=True)
class QueuePartitions:
    name: str = "queue"

    def engine(
        self, config: Any, log: PartitionLog, *, tag: int, partition: int, epoch: int
    ) -> QueuePartition:
        if not isinstance(config, QueueConfig):
            config = QueueConfig.from_dict(config)
        return new_partition(config, log, tag=tag, partition=partition, epoch=epoch)

    def behaviour(self, shell: QueueShell, env: Environment) -> QueueBehaviour:
        return QueueBehaviour(shell, env)


QUEUES = QueuePartitions()


def open_queue(
    config: QueueConfig,
    log: PartitionLog,
    *,
    tag: int,
    partition: int = 0,
    epoch: int = 0,
    checkpoint: CheckpointPolicy | None = None,
) -> Durable[QueuePartition]:
    """A queue partition recovered from ``log``, to drive synchronously with
    :meth:`Durable.run` (the demo, benchmarks and tests: no event loop, no Ray)."""
    engine = QUEUES.engine(config, log, tag=tag, partition=partition, epoch=epoch)
    return Durable.recover(engine, log, checkpoint=checkpoint)


@dataclass(frozen=True, slots=True)
class WaitVisible(Wait[QueuePartition, bool]):
    """Wait until a receive would find a message, or ``wait_s`` (real seconds) passes.
    ``idle=False`` (test clock): the waiter holds unfinished work meanwhile (a poller
    collecting a batch), so the host is not quiescent while it waits."""

    wait_s: float
    idle: bool = True

    async def run(self, shell: QueueShell) -> bool:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.wait_s
        engine = shell.engine
        while not shell.closed:
            event = shell.waiting()
            now = shell.clock.now_ms()
            if engine.has_visible(now):
                return True
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            due = None if shell.virtual_clock else engine.next_change_ms()
            if due is not None:
                remaining = min(remaining, max(0.0, (due - now) / 1000) + 0.001)
            await shell.park(event, remaining, idle=self.idle)
        return False


@dataclass(frozen=True, slots=True)
class LongPoll(Wait[QueuePartition, list[ReceivedMessage]]):
    """Receive, waiting up to ``wait_s`` for the first visible message (``idle``: as
    :class:`WaitVisible`'s)."""

    max_messages: int
    visibility_timeout_s: int | None
    wait_s: float
    idle: bool = True

    async def run(self, shell: QueueShell) -> list[ReceivedMessage]:
        wait_s = self.wait_s
        loop = asyncio.get_running_loop()
        while True:
            messages = await shell.apply(Receive(self.max_messages, self.visibility_timeout_s))
            if messages or wait_s <= 0:
                return messages
            started = loop.time()
            if not await WaitVisible(wait_s, self.idle).run(shell):
                return []
            wait_s -= loop.time() - started
