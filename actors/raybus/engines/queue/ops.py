"""The operations of a queue partition (see :mod:`raybus.engines.ops`).

Each one calls one method of :class:`~raybus.engines.queue.QueuePartition` with the turn's
time. ``Send``, ``ChangeVisibility`` and (on a FIFO queue, where deleting a group's head frees
the next message) ``Delete`` wake long polls after the commit; ``Receive`` hands the
messages that exhausted their redrive policy to the shell as transfers (delivered to the
dead-letter queue after the commit, removed here once the target committed them).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from raybus.core.errors import RaybusError
from raybus.engines.ops import Op, Turn
from raybus.engines.queue.engine import QueuePartition
from raybus.engines.queue.messages import DeadLetter, ReceivedMessage, SendEntry, SendResult

__all__ = [
    "ChangeVisibility",
    "Delete",
    "Purge",
    "QueueStats",
    "Receive",
    "Send",
    "SettleTransfer",
    "TakeForTransfer",
]


@dataclass(frozen=True, slots=True)
class Send(Op[QueuePartition, list[SendResult | RaybusError]]):
    entries: Sequence[SendEntry]

    def apply(self, engine: QueuePartition, turn: Turn) -> list[SendResult | RaybusError]:
        turn.wake = True
        return engine.send(turn.now_ms, self.entries)


@dataclass(frozen=True, slots=True)
class Receive(Op[QueuePartition, list[ReceivedMessage]]):
    """A short poll: at most ``max_messages`` of what is visible now."""

    max_messages: int
    visibility_timeout_s: int | None = None

    # What a receive appends (the messages' receive count and visibility deadline) is in-flight
    # state a crash may undo; its answer needs only the messages' SEND records durable.
    answer_needs_commit = False

    def apply(self, engine: QueuePartition, turn: Turn) -> list[ReceivedMessage]:
        received = engine.receive(turn.now_ms, self.max_messages, self.visibility_timeout_s)
        turn.transfers.extend(received.dead_letters)
        turn.needs_durable(received.durable_through)
        return received.messages


@dataclass(frozen=True, slots=True)
class Delete(Op[QueuePartition, list[RaybusError | None]]):
    receipts: Sequence[object]

    def apply(self, engine: QueuePartition, turn: Turn) -> list[RaybusError | None]:
        if engine.config.fifo:
            turn.wake = True  # deleting a group's head makes the next message visible
        return engine.delete(turn.now_ms, self.receipts)


@dataclass(frozen=True, slots=True)
class ChangeVisibility(Op[QueuePartition, list[RaybusError | None]]):
    changes: Sequence[tuple[object, object]]  # (receipt, seconds)

    def apply(self, engine: QueuePartition, turn: Turn) -> list[RaybusError | None]:
        turn.wake = True
        return engine.change_visibility(turn.now_ms, self.changes)


@dataclass(frozen=True, slots=True)
class Purge(Op[QueuePartition, int]):
    def apply(self, engine: QueuePartition, turn: Turn) -> int:
        return engine.purge(turn.now_ms)


@dataclass(frozen=True, slots=True)
class QueueStats(Op[QueuePartition, dict[str, int]]):
    """Depth (visible, in flight, delayed, oldest age), the counters and the epoch."""

    def apply(self, engine: QueuePartition, turn: Turn) -> dict[str, int]:
        stats = dict(engine.stats(turn.now_ms))
        counters = engine.counters
        stats.update(
            sent=counters.sent,
            sent_bytes=counters.sent_bytes,
            received=counters.received,
            deleted=counters.deleted,
            dead_lettered=counters.dead_lettered,
            expired=counters.expired,
            epoch=turn.epoch,
        )
        return stats


@dataclass(frozen=True, slots=True)
class TakeForTransfer(Op[QueuePartition, list[DeadLetter]]):
    """Hold up to ``limit`` visible messages for a move to ``target`` (a move task)."""

    limit: int
    target: str

    def apply(self, engine: QueuePartition, turn: Turn) -> list[DeadLetter]:
        return engine.take_for_transfer(turn.now_ms, self.limit, self.target)


@dataclass(frozen=True, slots=True)
class SettleTransfer(Op[QueuePartition, None]):
    """The target committed ``moved`` (remove them here) and refused ``failed`` (they stay,
    hidden for a visibility timeout, then visible again)."""

    moved: Sequence[int]
    failed: Sequence[int]
    dead_lettered: bool = False

    def apply(self, engine: QueuePartition, turn: Turn) -> None:
        if self.moved:
            engine.finish_transfer(turn.now_ms, self.moved, dead_lettered=self.dead_lettered)
        if self.failed:
            engine.abort_transfer(turn.now_ms, self.failed)
        turn.wake = True  # a FIFO group blocked behind a transfer is free again
