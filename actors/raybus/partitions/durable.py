"""An engine bound to its log: recovery, commit, checkpoints — synchronous and Ray-free.

:class:`Durable` is the one way raybus binds an engine (any kind's) to its partition log. It
rebuilds the engine on open (latest snapshot, then every later record), applies typed
operations in one turn (:meth:`Durable.apply`, no I/O), and keeps disk use bounded with
checkpoints. The async shell (:class:`raybus.partitions.shell.PartitionShell`) commits through
a group committer; tests, the demo and the benchmarks use :meth:`Durable.run`, which commits at
once.

Durability contract: a result may be acknowledged only after a commit that covers the records
its turn appended (:meth:`run` commits before it returns). After a ``StorageFailure`` the log is
unusable (its error is sticky): reopen the partition from disk.

Checkpoints bound disk use: once the log has grown by more than ``slack_ratio`` times the live
size measured at the last checkpoint (and at least ``min_checkpoint_bytes``), the live records
are copied out of sparse segments (:func:`raybus.storage.plan_compaction`), an engine snapshot
is written and what the snapshot makes unnecessary is deleted. Disk use therefore stays under
roughly ``(1 + slack_ratio) * live + min_checkpoint_bytes``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

import msgpack

from raybus.core.errors import RaybusError
from raybus.engines.ops import Op, Turn
from raybus.storage import PartitionLog, plan_compaction

__all__ = [
    "CheckpointPolicy",
    "Durable",
    "RecoverableEngine",
    "RecoveryStats",
    "checkpoint_engine",
    "recover_engine",
]

E = TypeVar("E", bound="RecoverableEngine")
R = TypeVar("R")
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
    seconds: float


class RecoverableEngine(Protocol):
    """What recovery and checkpoints need of an engine (every kind's)."""

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


class Durable(Generic[E]):
    """One engine and its log. Not thread-safe: one caller at a time (the shell's loop)."""

    def __init__(
        self,
        engine: E,
        log: PartitionLog,
        *,
        checkpoint: CheckpointPolicy | None = None,
        recovery: RecoveryStats | None = None,
    ) -> None:
        self.engine = engine
        self.log = log
        self.policy = checkpoint or CheckpointPolicy()
        self.recovery = recovery or RecoveryStats(None, 0, 0.0)
        self.checkpoints = 0
        self._baseline_bytes = log.disk_bytes()

    @classmethod
    def recover(
        cls, engine: E, log: PartitionLog, *, checkpoint: CheckpointPolicy | None = None
    ) -> Durable[E]:
        """Rebuild ``engine`` (new, empty) from ``log``: latest snapshot, then the records."""
        started = time.perf_counter()
        snapshot_offset, replayed = recover_engine(engine, log)
        stats = RecoveryStats(snapshot_offset, replayed, time.perf_counter() - started)
        return cls(engine, log, checkpoint=checkpoint, recovery=stats)

    # -- turns ----------------------------------------------------------------------------------
    def apply(self, ops: Sequence[Op[E, Any]], turn: Turn) -> list[Any]:
        """Apply ``ops`` in order in one synchronous turn; one result (or the op's
        :class:`RaybusError`) per op. Appends to the log's buffer; does not commit."""
        engine = self.engine
        results: list[Any] = []
        for op in ops:
            if op.answer_needs_commit:
                turn.commit_all = True
            try:
                results.append(op.apply(engine, turn))
            except RaybusError as error:
                results.append(error)
        return results

    def execute(self, ops: Sequence[Op[E, Any]], now_ms: int) -> tuple[list[Any], Turn]:
        """``ops`` in one turn, committed before it returns (tests, demo, benchmarks): the
        results and the turn, whose ``transfers`` (dead letters) are the caller's to move.
        The turn's epoch is the one the engine was opened at."""
        turn = Turn(now_ms, int(getattr(self.engine, "epoch", 0)))
        results = self.apply(ops, turn)
        self.log.commit()
        self.maybe_checkpoint()
        return results, turn

    def run(self, op: Op[E, R], now_ms: int) -> R:
        """One op in its own committed turn; its error is raised."""
        (result,), _ = self.execute([op], now_ms)
        if isinstance(result, RaybusError):
            raise result
        answer: R = result
        return answer

    # -- checkpoints -----------------------------------------------------------------------------
    def checkpoint_due(self) -> bool:
        return self.policy.due(self.log.disk_bytes(), self._baseline_bytes)

    def maybe_checkpoint(self) -> bool:
        if not self.checkpoint_due():
            return False
        self.checkpoint()
        return True

    def checkpoint(self) -> None:
        """Compact and snapshot now (see :func:`checkpoint_engine`)."""
        checkpoint_engine(self.engine, self.log, self.policy.slack_ratio)
        self.checkpoints += 1
        self._baseline_bytes = self.log.disk_bytes()

    def close(self) -> None:
        self.log.commit()
        self.log.close()
