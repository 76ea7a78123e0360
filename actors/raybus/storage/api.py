"""The partition-log interface: what engines and hosts may rely on.

A partition log is an append-only sequence of opaque byte records. Each record is addressed by
its **offset**: the byte position of its frame in the log's logical stream (segment base offset
plus position in the segment). Offsets are strictly increasing, never reused, and survive
restarts, so an engine may keep ``offset`` in its in-memory index and read the body back later.

Life of a record:

1. :meth:`PartitionLog.append` buffers records in memory and returns their offsets at once
   (no I/O). Buffered records are readable by :meth:`read` but NOT durable.
2. :meth:`PartitionLog.commit` writes everything buffered and syncs per the fsync policy; it
   returns the new ``durable_offset``. Nothing may be acknowledged to a client before the
   commit that covers it returns. Concurrent callers share commits through
   :class:`raybus.storage.GroupCommitter`.
3. A failed write or fsync is **sticky**: the log raises ``RaybusError("StorageFailure")`` from
   every later append and commit; it never acknowledges anything after a failure.

Snapshots and compaction: a host writes an engine snapshot covering every record before
``offset`` with :meth:`write_snapshot`; recovery then loads that snapshot and replays
``scan(offset)``. Records before the snapshot stay readable by offset for as long as their
segment exists; :meth:`delete_segment` removes a sealed segment wholly below the latest snapshot
(whose live records the host first re-appended — see :func:`raybus.storage.plan_compaction`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Protocol

__all__ = [
    "FsyncPolicy",
    "PartitionLog",
    "RecordReader",
    "RecoveryReport",
    "SegmentInfo",
]


class FsyncPolicy(str, Enum):
    """When a commit calls fsync — and therefore what an acknowledged record survives.

    - ``always``: every commit (one group of appends) is written and fsynced before it
      returns. An acknowledged record survives a process crash, a kernel crash and power loss.
    - ``interval``: every commit is written to the OS before it returns; fsync runs at most
      every ``fsync_interval_ms``. An acknowledged record survives a process crash (SIGKILL);
      a power loss or kernel crash may lose up to the last interval.
    - ``never``: written to the OS, never fsynced by raybus (the OS flushes on its own
      schedule). Survives a process crash only. For benchmarks and throwaway data.
    """

    ALWAYS = "always"
    INTERVAL = "interval"
    NEVER = "never"


@dataclass(frozen=True, slots=True)
class SegmentInfo:
    base_offset: int
    end_offset: int  # offset one past the segment's last record (== next base when sealed)
    records: int
    size_bytes: int  # bytes on disk (header included)
    sealed: bool  # no more appends go here
    created_ms: int  # for the age-based roll


@dataclass(frozen=True, slots=True)
class RecoveryReport:
    """What opening the log found. ``truncated_bytes`` > 0 means a torn or corrupt tail was cut."""

    segments: int
    records: int
    bytes_scanned: int
    truncated_bytes: int
    truncated_at: int | None  # offset where the cut began
    reason: str | None  # "torn frame", "crc mismatch", "bad header", ...
    seconds: float
    snapshot_offset: int | None = None  # the snapshot recovery found (None: no snapshot)
    notes: tuple[str, ...] = ()  # anything else recovery repaired or skipped, one line each


class RecordReader(Protocol):
    """The read side that engines get: bodies stay on disk, the engine keeps offsets."""

    def read(self, offset: int) -> bytes: ...

    def read_many(self, offsets: Sequence[int]) -> list[bytes]: ...


class PartitionLog(RecordReader, Protocol):
    @property
    def end_offset(self) -> int:
        """The offset the next appended record will get."""
        ...

    @property
    def durable_offset(self) -> int:
        """Every record with a smaller offset is committed under the fsync policy."""
        ...

    @property
    def recovery(self) -> RecoveryReport: ...

    def append(self, payloads: Sequence[bytes]) -> list[int]:
        """Buffer records; return their offsets. No I/O; not durable until :meth:`commit`."""
        ...

    def commit(self) -> int:
        """Write and sync (per policy) everything buffered; return ``durable_offset``."""
        ...

    def read(self, offset: int) -> bytes:
        """The payload of the record at ``offset``; CRC-checked. Raises KeyError if no record
        starts there (or its segment was deleted)."""
        ...

    def read_many(self, offsets: Sequence[int]) -> list[bytes]:
        """``[read(offset) for offset in offsets]``, in fewer system calls where records lie
        close together. The same errors as :meth:`read`."""
        ...

    def scan(self, start: int = 0) -> Iterator[tuple[int, bytes]]:
        """``(offset, payload)`` of every record with offset >= ``start``, in order."""
        ...

    def write_snapshot(self, offset: int, state: bytes) -> None:
        """Durably store ``state``, which covers every record before ``offset``."""
        ...

    def load_snapshot(self) -> tuple[int, bytes] | None:
        """The latest snapshot written, or None."""
        ...

    def segments(self) -> list[SegmentInfo]: ...

    def roll(self) -> None:
        """Seal the active segment (if it holds records) and start a new one."""
        ...

    def delete_segment(self, base_offset: int) -> None:
        """Remove a sealed segment that lies wholly below the latest snapshot's offset."""
        ...

    def disk_bytes(self) -> int:
        """Bytes the log occupies (segments and snapshot)."""
        ...

    def close(self) -> None: ...
