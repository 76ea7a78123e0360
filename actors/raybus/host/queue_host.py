"""A queue partition bound to its log: recovery, commit before acknowledge, checkpoints.

This is the Ray-free core of a partition host. The Ray actor shell owns one ``QueueHost`` per
hosted partition and serialises calls to it; tests, benchmarks and the demo use it directly.

Durability contract: every mutating method returns only after ``log.commit()`` covered the
records it appended, so its result may be acknowledged. A receive commits too, so a message is
never handed out before its send is durable and receive counts survive a crash. After a
``StorageFailure`` the host is unusable (the log's error is sticky): reopen it from disk.

Checkpoints bound disk use: once the log has grown by more than ``slack_ratio`` times the live
size measured at the last checkpoint (and at least ``min_checkpoint_bytes``), the host seals
the active segment, copies the live SEND records out of sparse segments
(:func:`raybus.storage.plan_compaction`), writes an engine snapshot and deletes what the
snapshot makes unnecessary. Disk use therefore stays under roughly
``(1 + slack_ratio) * live + min_checkpoint_bytes``; a queue whose messages were all deleted
shrinks to one empty segment and a small snapshot.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import msgpack

from raybus.core.config import QueueConfig
from raybus.core.errors import RaybusError
from raybus.engines import (
    DeadLetter,
    QueuePartition,
    ReceiveResult,
    SendEntry,
    SendResult,
    new_partition,
)
from raybus.storage import PartitionLog, plan_compaction

__all__ = [
    "CheckpointPolicy",
    "QueueHost",
    "RecoverableEngine",
    "RecoveryStats",
    "checkpoint_engine",
    "recover_engine",
]

T = TypeVar("T")
_COPY_CHUNK = 4096


@dataclass(frozen=True, slots=True)
class CheckpointPolicy:
    slack_ratio: float = 0.5
    min_checkpoint_bytes: int = 64 << 20

    def __post_init__(self) -> None:
        if self.slack_ratio <= 0 or self.min_checkpoint_bytes < 0:
            raise ValueError("slack_ratio must be > 0 and min_checkpoint_bytes >= 0")

    def due(self, disk_bytes: int, baseline_bytes: int) -> bool:
        """A log of ``disk_bytes`` that measured ``baseline_bytes`` after its last checkpoint
        has grown enough to compact and snapshot again."""
        grown = disk_bytes - baseline_bytes
        return grown > max(self.min_checkpoint_bytes, self.slack_ratio * baseline_bytes)


@dataclass(frozen=True, slots=True)
class RecoveryStats:
    snapshot_offset: int | None
    records_replayed: int
    messages: int
    seconds: float


class RecoverableEngine(Protocol):
    """What recovery and checkpoints need of an engine (queue and topic partitions alike)."""

    def restore(self, state: Any) -> None: ...
    def replay(self, offset: int, payload: bytes) -> None: ...
    def finish_recovery(self) -> None: ...
    def snapshot(self) -> Any: ...
    def live_offsets(self) -> Any: ...
    def relocate(self, moved: dict[int, int]) -> None: ...


def recover_engine(engine: RecoverableEngine, log: PartitionLog) -> tuple[int | None, int]:
    """Rebuild ``engine`` from ``log``: its latest snapshot, then every later record.
    Returns (the snapshot's offset or None, records replayed)."""
    snapshot = log.load_snapshot()
    start = 0
    if snapshot is not None:
        start, blob = snapshot
        engine.restore(msgpack.unpackb(blob, raw=False, strict_map_key=False))
    replayed = 0
    for offset, payload in log.scan(start):
        engine.replay(offset, payload)
        replayed += 1
    engine.finish_recovery()
    return (None if snapshot is None else start), replayed


def checkpoint_engine(engine: RecoverableEngine, log: PartitionLog, slack_ratio: float) -> None:
    """Compact and snapshot now: seal the active segment, copy the live records out of sparse
    segments, snapshot the engine, delete what the snapshot makes unnecessary. O(live records
    + bytes relocated); memory for the copy is bounded by ``_COPY_CHUNK`` records at a time."""
    log.commit()
    log.roll()
    plan = plan_compaction(log.segments(), engine.live_offsets(), slack_ratio=slack_ratio)
    if plan.relocate:
        moved: dict[int, int] = {}
        for chunk in range(0, len(plan.relocate), _COPY_CHUNK):
            offsets = plan.relocate[chunk : chunk + _COPY_CHUNK]
            copies = log.append([log.read(offset) for offset in offsets])
            moved.update(zip(offsets, copies, strict=True))
            log.commit()
        engine.relocate(moved)
    state = msgpack.packb(engine.snapshot(), use_bin_type=True)
    log.write_snapshot(log.end_offset, state)
    for base in plan.drop:
        log.delete_segment(base)


class QueueHost:
    """Owns one engine and its log. Not thread-safe; one caller at a time."""

    def __init__(
        self,
        engine: QueuePartition,
        log: PartitionLog,
        *,
        checkpoint: CheckpointPolicy | None = None,
        recovery: RecoveryStats | None = None,
    ) -> None:
        self.engine = engine
        self.log = log
        self.policy = checkpoint or CheckpointPolicy()
        self.recovery = recovery or RecoveryStats(None, 0, 0, 0.0)
        self.checkpoints = 0
        self._baseline_bytes = log.disk_bytes()

    @classmethod
    def open(
        cls,
        config: QueueConfig,
        log: PartitionLog,
        *,
        tag: int,
        partition: int = 0,
        epoch: int = 0,
        checkpoint: CheckpointPolicy | None = None,
    ) -> QueueHost:
        """Rebuild the partition from ``log``: latest snapshot, then every later record."""
        started = time.perf_counter()
        engine = new_partition(config, log, tag=tag, partition=partition, epoch=epoch)
        snapshot_offset, replayed = recover_engine(engine, log)
        stats = RecoveryStats(
            snapshot_offset=snapshot_offset,
            records_replayed=replayed,
            messages=engine.message_count,
            seconds=time.perf_counter() - started,
        )
        return cls(engine, log, checkpoint=checkpoint, recovery=stats)

    # -- operations (each returns after its records are committed) -------------------------------
    def send(self, now_ms: int, entries: Sequence[SendEntry]) -> list[SendResult | RaybusError]:
        return self._committed(self.engine.send(now_ms, entries))

    def receive(
        self, now_ms: int, max_messages: int, visibility_timeout_s: int | None = None
    ) -> ReceiveResult:
        return self._committed(self.engine.receive(now_ms, max_messages, visibility_timeout_s))

    def delete(self, now_ms: int, receipts: Sequence[object]) -> list[RaybusError | None]:
        return self._committed(self.engine.delete(now_ms, receipts))

    def change_visibility(
        self, now_ms: int, changes: Sequence[tuple[object, object]]
    ) -> list[RaybusError | None]:
        return self._committed(self.engine.change_visibility(now_ms, changes))

    def purge(self, now_ms: int) -> int:
        return self._committed(self.engine.purge(now_ms))

    def take_for_transfer(self, now_ms: int, limit: int, target: str) -> list[DeadLetter]:
        return self.engine.take_for_transfer(now_ms, limit, target)

    def finish_transfer(self, now_ms: int, seqs: Sequence[int], *, dead_lettered: bool) -> None:
        self.engine.finish_transfer(now_ms, seqs, dead_lettered=dead_lettered)
        self._committed(None)

    def stats(self, now_ms: int) -> dict[str, int]:
        return self.engine.stats(now_ms)

    def _committed(self, result: T) -> T:
        self.log.commit()
        self.maybe_checkpoint()
        return result

    # -- checkpoints -----------------------------------------------------------------------------
    def checkpoint_due(self) -> bool:
        return self.policy.due(self.log.disk_bytes(), self._baseline_bytes)

    def maybe_checkpoint(self) -> bool:
        if not self.checkpoint_due():
            return False
        self.checkpoint()
        return True

    def checkpoint(self) -> None:
        """Compact and snapshot now. O(live messages + bytes relocated); memory for the copy is
        bounded by ``_COPY_CHUNK`` records at a time."""
        checkpoint_engine(self.engine, self.log, self.policy.slack_ratio)
        self.checkpoints += 1
        self._baseline_bytes = self.log.disk_bytes()

    def close(self) -> None:
        self.log.commit()
        self.log.close()
