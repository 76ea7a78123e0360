"""One segment file: in-memory bookkeeping, creation, and the validating scan used by recovery.

A :class:`Segment` is owned by a :class:`raybus.storage.FileLog`, which guards every field with
its state lock. The frame and header layout are documented in :mod:`raybus.storage.format`.
"""

from __future__ import annotations

import os
from array import array
from bisect import bisect_left, bisect_right
from dataclasses import dataclass

from raybus.storage.format import (
    SEGMENT_HEADER_BYTES,
    FormatError,
    decode_segment_header,
    encode_segment_header,
    frame_bytes_at,
    iter_frames,
    segment_file_name,
)

__all__ = [
    "INDEX_INTERVAL_BYTES",
    "Segment",
    "SegmentScan",
    "create_segment_file",
    "scan_segment_file",
    "should_roll",
]

INDEX_INTERVAL_BYTES = 16 * 1024
"""A segment remembers one record start per this many bytes (a sparse index: ~64 KiB of RAM per
GiB of log), so ``scan(start)`` and the alignment check of a failed read parse at most this many
bytes before reaching ``start``."""

_SCAN_CHUNK_BYTES = 8 * 1024 * 1024
_OPEN_FLAGS = os.O_RDWR | getattr(os, "O_CLOEXEC", 0)


def should_roll(
    *,
    header_and_data_bytes: int,
    records: int,
    frame_bytes: int,
    segment_bytes: int,
) -> bool:
    """The size rule both logs share: a segment that holds a record takes no frame that would
    push its file past ``segment_bytes`` (a lone oversized record gets a segment of its own)."""
    return records > 0 and header_and_data_bytes + frame_bytes > segment_bytes


class Segment:
    """Bookkeeping of one segment. Offsets are absolute; ``size``/``written`` count data bytes
    after the header (so the segment covers offsets ``[base, base + size)``)."""

    __slots__ = (
        "base",
        "created_ms",
        "fd",
        "index",
        "next_index",
        "path",
        "records",
        "sealed",
        "size",
        "written",
    )

    def __init__(self, directory: str, base: int, created_ms: int) -> None:
        self.base = base
        self.created_ms = created_ms
        self.path = os.path.join(directory, segment_file_name(base))
        self.fd = -1  # -1 until the file exists
        self.size = 0  # data bytes, buffered ones included
        self.written = 0  # data bytes handed to the OS
        self.records = 0  # buffered ones included
        self.sealed = False
        self.index = array("Q")  # sorted absolute offsets of some record starts
        self.next_index = base

    @property
    def end(self) -> int:
        return self.base + self.size

    def note_records(self, offsets: list[int]) -> None:
        """Count freshly appended records (sorted offsets) and extend the sparse index."""
        self.records += len(offsets)
        if offsets[-1] < self.next_index:
            return
        index = self.index
        i = 0
        n = len(offsets)
        while i < n:
            i = bisect_left(offsets, self.next_index, i)
            if i >= n:
                break
            index.append(offsets[i])
            self.next_index = offsets[i] + INDEX_INTERVAL_BYTES
            i += 1

    def boundary_at_or_before(self, offset: int) -> int:
        """The offset of a record start ≤ ``offset`` (the segment base if none is indexed)."""
        i = bisect_right(self.index, offset)
        return self.index[i - 1] if i else self.base


def create_segment_file(segment: Segment) -> bytes:
    """Create the segment's file exclusively and open it; return the header bytes the caller
    must write at position 0 (together with the first data, in one write)."""
    segment.fd = os.open(segment.path, _OPEN_FLAGS | os.O_CREAT | os.O_EXCL, 0o644)
    return encode_segment_header(segment.base, segment.created_ms)


@dataclass(slots=True)
class SegmentScan:
    """What the validating scan of one segment file found."""

    created_ms: int
    valid_bytes: int  # data bytes (after the header) that hold whole, valid frames
    records: int
    index: array[int]
    next_index: int
    file_bytes: int
    error: FormatError | None  # why the scan stopped before the end of the file


def scan_segment_file(fd: int, base: int) -> SegmentScan:
    """Validate the header and every frame of an open segment file.

    Reads the file in 8 MiB chunks (one ``preadv`` each into a reused buffer) and checks each
    frame's length and CRC; stops at the first invalid frame. Raises :class:`FormatError`
    ("bad header") if the header is invalid or names another base offset.
    """
    file_bytes = os.fstat(fd).st_size
    parsed = decode_segment_header(os.pread(fd, SEGMENT_HEADER_BYTES, 0))
    if parsed.base_offset != base:
        raise FormatError("bad header", f"header base {parsed.base_offset} != file name {base}")
    data_bytes = file_bytes - SEGMENT_HEADER_BYTES
    buf = bytearray(min(_SCAN_CHUNK_BYTES, max(data_bytes, 1)))
    index: array[int] = array("Q")
    next_index = base
    records = 0
    pos = 0  # data position of buf[0]
    error: FormatError | None = None
    while pos < data_bytes:
        want = min(len(buf), data_bytes - pos)
        with memoryview(buf) as view:
            got = os.preadv(fd, [view[:want]], SEGMENT_HEADER_BYTES + pos)
        consumed = 0
        try:
            for p, _, end in iter_frames(buf, got):
                if base + pos + p >= next_index:
                    index.append(base + pos + p)
                    next_index = base + pos + p + INDEX_INTERVAL_BYTES
                records += 1
                consumed = end
        except FormatError as exc:
            error = FormatError(
                exc.reason, f"{exc} in the record at offset {base + pos + consumed}"
            )
        at_eof = pos + got >= data_bytes or got < want
        need = frame_bytes_at(buf, consumed)
        pos += consumed
        if error is not None or pos >= data_bytes:
            break
        if at_eof:
            error = FormatError(
                "torn frame", f"{data_bytes - pos} bytes at offset {base + pos} are not a frame"
            )
            break
        if consumed == 0:  # one frame is longer than the buffer
            buf = bytearray(max(need, 2 * len(buf)))
    return SegmentScan(
        created_ms=parsed.created_ms,
        valid_bytes=pos,
        records=records,
        index=index,
        next_index=next_index,
        file_bytes=file_bytes,
        error=error,
    )
