"""``MemoryLog``: the partition log in memory, for engine unit tests.

It follows :class:`raybus.storage.FileLog` exactly where an engine can observe it: the same
offsets (frame sizes, segment headers take no offset space), the same size- and age-based rolls,
the same ``segments()`` and ``disk_bytes()`` figures once committed, the same errors. Both pass
one shared test suite. ``commit`` is instant; :meth:`MemoryLog.reopen` shows what a crash would
leave (committed records only) and :meth:`MemoryLog.inject_failure` makes the next commit fail
as a disk would.

Threading: every method takes one lock; safe from any thread.
"""

from __future__ import annotations

import threading
from bisect import bisect_left
from collections.abc import Iterator, Sequence

from raybus.core.clock import Clock, SystemClock
from raybus.core.errors import RaybusError
from raybus.storage.api import RecoveryReport, SegmentInfo
from raybus.storage.format import (
    FRAME_HEADER_BYTES,
    MAX_RECORD_BYTES,
    SEGMENT_HEADER_BYTES,
    SNAPSHOT_HEADER_BYTES,
)
from raybus.storage.segment import should_roll
from raybus.storage.segments import SegmentList, check_snapshot_offset

__all__ = ["MemoryLog"]

_DEFAULT_SEGMENT_BYTES = 64 * 1024 * 1024
_DEFAULT_SEGMENT_AGE_MS = 3_600_000


class _Segment:
    __slots__ = ("base", "created_ms", "offsets", "on_disk", "payloads", "sealed", "size")

    def __init__(self, base: int, created_ms: int, *, on_disk: bool) -> None:
        self.base = base
        self.created_ms = created_ms
        self.offsets: list[int] = []
        self.payloads: list[bytes] = []
        self.size = 0  # data bytes
        self.sealed = False
        self.on_disk = on_disk  # a FileLog would have created the file by now

    @property
    def end(self) -> int:
        return self.base + self.size

    @property
    def records(self) -> int:
        return len(self.offsets)


class MemoryLog:
    """A :class:`raybus.storage.PartitionLog` in memory. Same knobs as ``FileLog`` minus the
    file-only ones."""

    def __init__(
        self,
        *,
        segment_bytes: int = _DEFAULT_SEGMENT_BYTES,
        segment_age_ms: int = _DEFAULT_SEGMENT_AGE_MS,
        clock: Clock | None = None,
    ) -> None:
        if segment_bytes <= SEGMENT_HEADER_BYTES:
            raise ValueError(f"segment_bytes must exceed {SEGMENT_HEADER_BYTES}")
        if segment_age_ms <= 0:
            raise ValueError("segment_age_ms must be positive")
        self._segment_bytes = segment_bytes
        self._segment_age_ms = segment_age_ms
        self._clock: Clock = clock if clock is not None else SystemClock()
        self._lock = threading.RLock()
        self._segments = SegmentList([_Segment(0, self._clock.now_ms(), on_disk=True)])
        self._end = 0
        self._durable = 0
        self._snapshot: tuple[int, bytes] | None = None
        self._failure: BaseException | None = None
        self._inject: BaseException | None = None
        self._closed = False
        self._recovery = RecoveryReport(
            segments=1,
            records=0,
            bytes_scanned=0,
            truncated_bytes=0,
            truncated_at=None,
            reason=None,
            seconds=0.0,
        )

    @property
    def end_offset(self) -> int:
        return self._end

    @property
    def durable_offset(self) -> int:
        return self._durable

    @property
    def recovery(self) -> RecoveryReport:
        return self._recovery

    def append(self, payloads: Sequence[bytes]) -> list[int]:
        with self._lock:
            self._check_writable()
            for payload in payloads:
                if len(payload) > MAX_RECORD_BYTES:
                    raise ValueError(f"record of {len(payload)} bytes exceeds {MAX_RECORD_BYTES}")
            if not payloads:
                return []
            segment = self._segments[-1]
            if segment.offsets and (
                self._clock.now_ms() - segment.created_ms >= self._segment_age_ms
            ):
                segment = self._roll_locked(on_disk=False)
            offsets = []
            for payload in payloads:
                frame_bytes = FRAME_HEADER_BYTES + len(payload)
                if should_roll(
                    header_and_data_bytes=SEGMENT_HEADER_BYTES + segment.size,
                    records=len(segment.offsets),
                    frame_bytes=frame_bytes,
                    segment_bytes=self._segment_bytes,
                ):
                    segment = self._roll_locked(on_disk=False)
                offsets.append(self._end)
                segment.offsets.append(self._end)
                segment.payloads.append(bytes(payload))
                segment.size += frame_bytes
                self._end += frame_bytes
            return offsets

    def _roll_locked(self, *, on_disk: bool) -> _Segment:
        return self._segments.append(_Segment(self._end, self._clock.now_ms(), on_disk=on_disk))

    def commit(self) -> int:
        with self._lock:
            self._check_writable()
            if self._durable == self._end:
                return self._durable
            if self._inject is not None:
                self._failure, self._inject = self._inject, None
                raise RaybusError(
                    "StorageFailure", f"memory log failed to write: {self._failure!r}"
                ) from self._failure
            for segment in self._segments:
                segment.on_disk = segment.on_disk or segment.end > self._durable
            self._durable = self._end
            return self._durable

    def inject_failure(self, error: BaseException | None = None) -> None:
        """Make the next commit that has something to write fail with ``StorageFailure`` (from
        ``error``, default an ``OSError``); the failure is sticky, as in ``FileLog``."""
        with self._lock:
            self._inject = error if error is not None else OSError("injected write failure")

    def read(self, offset: int) -> bytes:
        with self._lock:
            self._check_open()
            segment = self._segments.find(offset)
            if segment is not None:
                i = bisect_left(segment.offsets, offset)
                if i < len(segment.offsets) and segment.offsets[i] == offset:
                    return segment.payloads[i]
            raise KeyError(offset)

    def read_many(self, offsets: Sequence[int]) -> list[bytes]:
        return [self.read(offset) for offset in offsets]

    def scan(self, start: int = 0) -> Iterator[tuple[int, bytes]]:
        """As ``FileLog.scan``: records with ``start`` <= offset < the end offset when the
        iteration starts; takes the lock per record."""
        with self._lock:
            self._check_open()
            stop = self._end
        position = start
        while True:
            with self._lock:
                self._check_open()
                found = self._next_record(position, stop)
            if found is None:
                return
            yield found
            position = found[0] + 1

    def _next_record(self, position: int, stop: int) -> tuple[int, bytes] | None:
        for segment in self._segments.from_offset(position):
            j = bisect_left(segment.offsets, position)
            if j < len(segment.offsets):
                offset = segment.offsets[j]
                return (offset, segment.payloads[j]) if offset < stop else None
        return None

    def write_snapshot(self, offset: int, state: bytes) -> None:
        with self._lock:
            self._check_writable()
            check_snapshot_offset(offset, self._snapshot[0] if self._snapshot else 0, self._end)
            if offset > self._durable:
                self.commit()
            self._snapshot = (offset, bytes(state))

    def load_snapshot(self) -> tuple[int, bytes] | None:
        with self._lock:
            self._check_open()
            return self._snapshot

    def segments(self) -> list[SegmentInfo]:
        with self._lock:
            return self._segments.infos()

    def roll(self) -> None:
        with self._lock:
            self.commit()
            if self._segments[-1].offsets:
                self._roll_locked(on_disk=True)

    def delete_segment(self, base_offset: int) -> None:
        with self._lock:
            self._check_open()
            self._segments.remove_below(base_offset, self._snapshot[0] if self._snapshot else None)

    def disk_bytes(self) -> int:
        """What a ``FileLog`` holding the committed records would occupy."""
        with self._lock:
            total = sum(
                SEGMENT_HEADER_BYTES + min(segment.size, max(0, self._durable - segment.base))
                for segment in self._segments
                if segment.on_disk
            )
            if self._snapshot is not None:
                total += SNAPSHOT_HEADER_BYTES + len(self._snapshot[1])
            return total

    def reopen(self) -> MemoryLog:
        """A new log holding what a crash would leave: committed records, their segments and
        the snapshot. Buffered records and any sticky failure are gone."""
        with self._lock:
            log = MemoryLog(
                segment_bytes=self._segment_bytes,
                segment_age_ms=self._segment_age_ms,
                clock=self._clock,
            )
            kept = [s for s in self._segments if s.base < self._durable or s.base == s.end]
            copies = []
            for segment in kept:
                copy = _Segment(segment.base, segment.created_ms, on_disk=True)
                n = bisect_left(segment.offsets, self._durable)
                copy.offsets = segment.offsets[:n]
                copy.payloads = segment.payloads[:n]
                copy.size = min(segment.size, self._durable - segment.base)
                copy.sealed = True
                copies.append(copy)
            if not copies or copies[-1].end < self._durable:
                copies.append(_Segment(self._durable, self._clock.now_ms(), on_disk=True))
            copies[-1].sealed = False
            log._segments = SegmentList(copies)
            log._end = log._durable = self._durable
            log._snapshot = self._snapshot
            log._recovery = RecoveryReport(
                segments=len(copies),
                records=sum(len(s.offsets) for s in copies),
                bytes_scanned=sum(SEGMENT_HEADER_BYTES + s.size for s in copies),
                truncated_bytes=0,
                truncated_at=None,
                reason=None,
                seconds=0.0,
                snapshot_offset=self._snapshot[0] if self._snapshot else None,
            )
            return log

    def _check_open(self) -> None:
        if self._closed:
            raise ValueError("memory log is closed")

    def _check_writable(self) -> None:
        self._check_open()
        if self._failure is not None:
            raise RaybusError(
                "StorageFailure", f"memory log refuses writes after a failure: {self._failure!r}"
            )

    def close(self) -> None:
        with self._lock:
            if not self._closed and self._failure is None:
                self.commit()
            self._closed = True

    def __enter__(self) -> MemoryLog:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"MemoryLog(end={self._end}, durable={self._durable})"
