"""The ordered segment list that :class:`raybus.storage.FileLog` and
:class:`raybus.storage.MemoryLog` both keep, and the offset rules they share.

Pure bookkeeping: no I/O and no locking. Each log guards its :class:`SegmentList` with its own
lock (``FileLog``'s state lock, ``MemoryLog``'s one lock); what a segment holds (a file, or
payloads in memory) stays with the log.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Iterator
from itertools import islice
from typing import Generic, Protocol, TypeVar

from raybus.storage.api import SegmentInfo
from raybus.storage.format import SEGMENT_HEADER_BYTES

__all__ = ["SegmentLike", "SegmentList", "check_snapshot_offset"]


class SegmentLike(Protocol):
    """What the list needs of a segment. Offsets are absolute; ``size`` counts data bytes
    after the header, so the segment covers ``[base, end)``."""

    sealed: bool

    @property
    def base(self) -> int: ...

    @property
    def end(self) -> int: ...

    @property
    def size(self) -> int: ...

    @property
    def records(self) -> int: ...

    @property
    def created_ms(self) -> int: ...


S = TypeVar("S", bound=SegmentLike)


class SegmentList(Generic[S]):
    """Segments in offset order (gaps where segments were deleted), found by bisection over
    their base offsets. Every segment but the last is sealed."""

    __slots__ = ("_bases", "_segments")

    def __init__(self, segments: Iterable[S] = ()) -> None:
        self._segments = list(segments)
        self._bases = [segment.base for segment in self._segments]

    def __len__(self) -> int:
        return len(self._segments)

    def __iter__(self) -> Iterator[S]:
        return iter(self._segments)

    def __getitem__(self, index: int) -> S:
        return self._segments[index]

    def append(self, segment: S) -> S:
        """Seal the active segment (if any) and make ``segment`` the active one."""
        if self._segments:
            self._segments[-1].sealed = True
        self._segments.append(segment)
        self._bases.append(segment.base)
        return segment

    def find(self, offset: int) -> S | None:
        """The segment covering ``offset``, or None (before the first, in a gap, at the end)."""
        i = bisect_right(self._bases, offset) - 1
        if i < 0:
            return None
        segment = self._segments[i]
        return segment if offset < segment.end else None

    def from_offset(self, offset: int) -> Iterator[S]:
        """The segments from the one starting at or before ``offset`` (else the first) on."""
        return islice(self._segments, max(bisect_right(self._bases, offset) - 1, 0), None)

    def remove_below(self, base_offset: int, snapshot_offset: int | None) -> S:
        """Remove and return the sealed segment starting at ``base_offset``; it must end at or
        below ``snapshot_offset`` (ValueError otherwise, and for an unknown base)."""
        i = bisect_right(self._bases, base_offset) - 1
        if i < 0 or self._bases[i] != base_offset:
            raise ValueError(f"no segment starts at offset {base_offset}")
        segment = self._segments[i]
        if not segment.sealed or snapshot_offset is None or segment.end > snapshot_offset:
            raise ValueError(
                f"segment {base_offset} (end {segment.end}, sealed {segment.sealed}) is "
                f"not wholly below the latest snapshot offset {snapshot_offset}"
            )
        del self._segments[i]
        del self._bases[i]
        return segment

    def infos(self) -> list[SegmentInfo]:
        """``PartitionLog.segments()``: sizes count the segment header."""
        return [
            SegmentInfo(
                base_offset=segment.base,
                end_offset=segment.end,
                records=segment.records,
                size_bytes=SEGMENT_HEADER_BYTES + segment.size,
                sealed=segment.sealed,
                created_ms=segment.created_ms,
            )
            for segment in self._segments
        ]


def check_snapshot_offset(offset: int, current: int, end: int) -> None:
    """A new snapshot covers at least what the ``current`` one does and at most up to ``end``
    (ValueError otherwise)."""
    if not current <= offset <= end:
        raise ValueError(f"snapshot offset {offset} outside [{current}, {end}] (current, end)")
