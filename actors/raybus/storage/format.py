"""On-disk format of the partition log: segment files, record frames and snapshot files.

Everything is little-endian. Checksums are CRC-32 (IEEE 802.3, :func:`zlib.crc32`).

Directory layout
----------------
``<base_offset:020d>.log``
    One segment. ``base_offset`` is the offset of its first record; its records occupy offsets
    ``[base_offset, base_offset + file_size - SEGMENT_HEADER_BYTES)``.
``snapshot-<offset:020d>.snap``
    An engine snapshot covering every record before ``offset``. Only the latest is kept.
``*.tmp``
    A snapshot being written; never read, removed at open.

Offsets
-------
The log's logical stream is the concatenation of every record frame ever appended, in order;
the offset of a record is the position of its frame in that stream. Segment headers take no
logical space, so a sealed segment's end offset is the next segment's base offset, and a
segment roll never changes the offset the next record gets. A gap between two segments means
the segments in between were deleted (only below the latest snapshot).

Segment header (``SEGMENT_HEADER_BYTES`` = 32)
----------------------------------------------
====== ==== =======================================================
offset size field
====== ==== =======================================================
0      4    magic ``b"RBLG"``
4      1    format version, ``SEGMENT_VERSION`` (= 1)
5      1    flags, 0 (reserved)
6      2    header size in bytes (= 32)
8      8    base offset (u64), equal to the number in the file name
16     8    creation time in ms since the epoch (u64), for the age-based roll
24     4    reserved, 0
28     4    CRC-32 of bytes [0, 28)
====== ==== =======================================================

Record frame (``FRAME_HEADER_BYTES`` = 8 + payload)
---------------------------------------------------
====== ====== ===============================================
offset size   field
====== ====== ===============================================
0      4      CRC-32 of bytes [4, 8 + length): length and payload
4      4      payload length (u32), at most ``MAX_RECORD_BYTES``
8      length payload (opaque to the log; engines put msgpack here)
====== ====== ===============================================

Frames follow the header back to back with no padding. A segment is valid up to its first
frame that is incomplete, longer than ``MAX_RECORD_BYTES`` or fails its CRC; recovery cuts the
last segment there and refuses to open a log whose earlier (sealed) segment is invalid.

Snapshot file (``SNAPSHOT_HEADER_BYTES`` = 32 + state)
------------------------------------------------------
====== ====== ======================================================
offset size   field
====== ====== ======================================================
0      4      magic ``b"RBSN"``
4      1      format version, ``SNAPSHOT_VERSION`` (= 1)
5      3      reserved, 0
8      8      offset covered (u64): the state includes every record before it
16     8      state length (u64)
24     4      CRC-32 of the state bytes
28     4      CRC-32 of bytes [0, 28)
32     length state (opaque)
====== ====== ======================================================

Versioning: a reader refuses a version it does not know. New versions get a new number; the
meaning of version 1 never changes.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

__all__ = [
    "FRAME_HEADER_BYTES",
    "MAX_RECORD_BYTES",
    "SEGMENT_HEADER_BYTES",
    "SEGMENT_MAGIC",
    "SEGMENT_VERSION",
    "SNAPSHOT_HEADER_BYTES",
    "SNAPSHOT_MAGIC",
    "SNAPSHOT_VERSION",
    "FormatError",
    "SegmentHeader",
    "decode_frame",
    "decode_segment_header",
    "decode_snapshot",
    "encode_frames",
    "encode_segment_header",
    "encode_snapshot",
    "frame_bytes_at",
    "iter_frames",
    "segment_file_name",
    "snapshot_file_name",
]

SEGMENT_MAGIC = b"RBLG"
SEGMENT_VERSION = 1
SEGMENT_HEADER_BYTES = 32
SNAPSHOT_MAGIC = b"RBSN"
SNAPSHOT_VERSION = 1
SNAPSHOT_HEADER_BYTES = 32
FRAME_HEADER_BYTES = 8
MAX_RECORD_BYTES = 64 * 1024 * 1024

_SEGMENT_HEADER = struct.Struct("<4sBBHQQI")  # 28 bytes, then the CRC
_SNAPSHOT_HEADER = struct.Struct("<4sB3xQQI")  # 28 bytes, then the CRC
_U32 = struct.Struct("<I")
_FRAME = struct.Struct("<II")

_crc32 = zlib.crc32
_LENGTH_CRCS: dict[int, int] = {}  # CRC-32 of the 4 length bytes, the seed of a frame's CRC


class FormatError(ValueError):
    """Bytes that do not hold what the format promises; ``reason`` is a short stable phrase,
    ``position`` where in the parsed buffer the bad frame starts (when known)."""

    def __init__(self, reason: str, detail: str = "", *, position: int | None = None) -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.position = position


@dataclass(frozen=True, slots=True)
class SegmentHeader:
    base_offset: int
    created_ms: int


def segment_file_name(base_offset: int) -> str:
    return f"{base_offset:020d}.log"


def snapshot_file_name(offset: int) -> str:
    return f"snapshot-{offset:020d}.snap"


def encode_segment_header(base_offset: int, created_ms: int) -> bytes:
    head = _SEGMENT_HEADER.pack(
        SEGMENT_MAGIC, SEGMENT_VERSION, 0, SEGMENT_HEADER_BYTES, base_offset, created_ms, 0
    )
    return head + _U32.pack(_crc32(head))


def decode_segment_header(data: bytes | bytearray | memoryview) -> SegmentHeader:
    """Parse and verify a segment header; raises :class:`FormatError` ("bad header")."""
    if len(data) < SEGMENT_HEADER_BYTES:
        raise FormatError("bad header", f"{len(data)} of {SEGMENT_HEADER_BYTES} bytes")
    magic, version, _flags, size, base, created_ms, _ = _SEGMENT_HEADER.unpack_from(data, 0)
    (crc,) = _U32.unpack_from(data, 28)
    if magic != SEGMENT_MAGIC:
        raise FormatError("bad header", f"magic {magic!r}")
    if crc != _crc32(memoryview(data)[:28]):
        raise FormatError("bad header", "header crc mismatch")
    if version != SEGMENT_VERSION:
        raise FormatError("bad header", f"unknown segment version {version}")
    if size != SEGMENT_HEADER_BYTES:
        raise FormatError("bad header", f"header size {size}")
    return SegmentHeader(base_offset=base, created_ms=created_ms)


def encode_frames(payloads: Sequence[bytes], out: bytearray, base: int = 0) -> list[int]:
    """Append the frames of ``payloads`` to ``out``; return the offset of each frame, where
    ``out[0]`` has offset ``base``.

    Cost: one copy of each payload plus two CRC passes over 4 + len bytes. Raises ValueError
    (and appends nothing) if a payload is not bytes-like or exceeds ``MAX_RECORD_BYTES``.
    """
    for payload in payloads:
        if len(payload) > MAX_RECORD_BYTES:
            raise ValueError(f"record of {len(payload)} bytes exceeds {MAX_RECORD_BYTES}")
    positions: list[int] = []
    pos = base + len(out)
    pack = _FRAME.pack
    crc32 = _crc32
    add = positions.append
    length_crcs = _LENGTH_CRCS
    for payload in payloads:
        n = len(payload)
        add(pos)
        seed = length_crcs.get(n)
        if seed is None:
            seed = crc32(n.to_bytes(4, "little"))
            if len(length_crcs) < 65536:
                length_crcs[n] = seed
        out += pack(crc32(payload, seed), n)
        out += payload
        pos += 8 + n
    return positions


def decode_frame(buf: bytes | bytearray | memoryview, pos: int, limit: int) -> tuple[int, int]:
    """Verify the frame at ``buf[pos:]`` that must end by ``limit``; return (start, end) of its
    payload. Raises :class:`FormatError` with reason "torn frame", "bad length" or
    "crc mismatch"."""
    if pos + FRAME_HEADER_BYTES > limit:
        raise FormatError("torn frame", f"{limit - pos} header bytes at {pos}")
    crc, n = _FRAME.unpack_from(buf, pos)
    if n > MAX_RECORD_BYTES:
        raise FormatError("bad length", f"{n} bytes at {pos}")
    end = pos + FRAME_HEADER_BYTES + n
    if end > limit:
        raise FormatError("torn frame", f"{n} byte payload cut at {limit - pos - 8} at {pos}")
    if crc != _crc32(memoryview(buf)[pos + 4 : end]):
        raise FormatError("crc mismatch", f"at {pos}")
    return pos + FRAME_HEADER_BYTES, end


def iter_frames(
    data: bytes | bytearray, size: int | None = None, stop: int | None = None
) -> Iterator[tuple[int, int, int]]:
    """``(frame start, payload start, payload end)`` of each whole, verified frame at the
    start of ``data[:size]`` that starts before ``stop``. Stops quietly at a frame cut by
    ``size`` (the caller reads on, or calls it torn); raises :class:`FormatError` (with
    ``position``) at a frame whose length is impossible or whose CRC fails."""
    size = len(data) if size is None else size
    stop = size if stop is None else stop
    view = memoryview(data)
    unpack_from = _FRAME.unpack_from
    crc32 = _crc32
    p = 0
    try:
        while p + FRAME_HEADER_BYTES <= size and p < stop:
            crc, n = unpack_from(data, p)
            if n > MAX_RECORD_BYTES:
                raise FormatError("bad length", f"{n} bytes", position=p)
            end = p + FRAME_HEADER_BYTES + n
            if end > size:
                return
            if crc32(view[p + 4 : end]) != crc:
                raise FormatError("crc mismatch", position=p)
            yield p, p + FRAME_HEADER_BYTES, end
            p = end
    finally:
        view.release()


def frame_bytes_at(data: bytes | bytearray, position: int = 0) -> int:
    """Bytes the frame starting at ``position`` needs (header only if not readable yet)."""
    if len(data) - position < FRAME_HEADER_BYTES:
        return FRAME_HEADER_BYTES
    return FRAME_HEADER_BYTES + int(_FRAME.unpack_from(data, position)[1])


def encode_snapshot(offset: int, state: bytes) -> bytes:
    head = _SNAPSHOT_HEADER.pack(
        SNAPSHOT_MAGIC, SNAPSHOT_VERSION, offset, len(state), _crc32(state)
    )
    return head + _U32.pack(_crc32(head)) + state


def decode_snapshot(data: bytes) -> tuple[int, bytes]:
    """Verify a whole snapshot file; return ``(offset, state)`` or raise :class:`FormatError`."""
    if len(data) < SNAPSHOT_HEADER_BYTES:
        raise FormatError("bad snapshot", f"{len(data)} of {SNAPSHOT_HEADER_BYTES} header bytes")
    magic, version, offset, length, state_crc = _SNAPSHOT_HEADER.unpack_from(data, 0)
    (crc,) = _U32.unpack_from(data, 28)
    if magic != SNAPSHOT_MAGIC or crc != _crc32(memoryview(data)[:28]):
        raise FormatError("bad snapshot", "header magic or crc mismatch")
    if version != SNAPSHOT_VERSION:
        raise FormatError("bad snapshot", f"unknown snapshot version {version}")
    if len(data) != SNAPSHOT_HEADER_BYTES + length:
        raise FormatError("bad snapshot", f"{len(data) - 32} of {length} state bytes")
    state = data[SNAPSHOT_HEADER_BYTES:]
    if _crc32(state) != state_crc:
        raise FormatError("bad snapshot", "state crc mismatch")
    return offset, state
