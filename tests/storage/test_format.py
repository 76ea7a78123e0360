"""The on-disk format is what raybus.storage.format documents, byte for byte."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import raybus.storage as storage
from raybus.storage import FileLog
from raybus.storage.format import (
    SEGMENT_HEADER_BYTES,
    SEGMENT_MAGIC,
    SEGMENT_VERSION,
    SNAPSHOT_HEADER_BYTES,
    FormatError,
    decode_frame,
    decode_segment_header,
    decode_snapshot,
    encode_frames,
    encode_segment_header,
    encode_snapshot,
    segment_file_name,
    snapshot_file_name,
)


def test_every_public_name_of_the_package_exists() -> None:
    assert sorted(set(storage.__all__)) == sorted(storage.__all__)
    assert [name for name in storage.__all__ if not hasattr(storage, name)] == []


def test_a_segment_file_is_the_documented_header_followed_by_frames(tmp_path: Path) -> None:
    with FileLog(tmp_path) as log:
        log.append([b"hello", b""])
        log.commit()
        created_ms = log.segments()[0].created_ms
    data = (tmp_path / "00000000000000000000.log").read_bytes()
    assert data[:4] == b"RBLG" and data[4] == 1 and data[5] == 0
    assert struct.unpack_from("<HQQI", data, 6) == (32, 0, created_ms, 0)
    assert struct.unpack_from("<I", data, 28)[0] == zlib.crc32(data[:28])
    frame = data[32:]
    assert frame[4:8] == (5).to_bytes(4, "little") and frame[8:13] == b"hello"
    assert frame[:4] == zlib.crc32(frame[4:13]).to_bytes(4, "little")
    assert frame[13:] == zlib.crc32(b"\0\0\0\0").to_bytes(4, "little") + b"\0\0\0\0"


def test_file_names_are_zero_padded_offsets() -> None:
    assert segment_file_name(1234) == "00000000000000001234.log"
    assert snapshot_file_name(7) == "snapshot-00000000000000000007.snap"


def test_a_segment_header_round_trips_and_any_damage_is_a_bad_header() -> None:
    header = encode_segment_header(2**40, 1_700_000_000_123)
    assert len(header) == SEGMENT_HEADER_BYTES
    parsed = decode_segment_header(header)
    assert (parsed.base_offset, parsed.created_ms) == (2**40, 1_700_000_000_123)
    for byte in range(SEGMENT_HEADER_BYTES):
        damaged = bytearray(header)
        damaged[byte] ^= 0x10
        with pytest.raises(FormatError) as caught:
            decode_segment_header(bytes(damaged))
        assert caught.value.reason == "bad header"
    with pytest.raises(FormatError):
        decode_segment_header(header[:-1])


def test_an_unknown_segment_version_is_refused() -> None:
    head = struct.pack("<4sBBHQQI", SEGMENT_MAGIC, SEGMENT_VERSION + 1, 0, 32, 0, 0, 0)
    with pytest.raises(FormatError, match="version"):
        decode_segment_header(head + struct.pack("<I", zlib.crc32(head)))


@given(st.lists(st.binary(max_size=300), max_size=20), st.integers(0, 2**50))
def test_frames_round_trip_at_the_offsets_encode_returns(payloads: list[bytes], base: int) -> None:
    out = bytearray()
    offsets = encode_frames(payloads, out, base)
    assert len(out) == sum(8 + len(p) for p in payloads)
    for offset, payload in zip(offsets, payloads, strict=True):
        start, end = decode_frame(out, offset - base, len(out))
        assert bytes(out[start:end]) == payload


@given(st.binary(max_size=200), st.data())
def test_any_single_bit_flip_in_a_frame_is_detected(payload: bytes, data: st.DataObject) -> None:
    out = bytearray()
    encode_frames([payload], out)
    byte = data.draw(st.integers(0, len(out) - 1))
    out[byte] ^= 1 << data.draw(st.integers(0, 7))
    with pytest.raises(FormatError) as caught:
        decode_frame(out, 0, len(out))
    assert caught.value.reason in {"crc mismatch", "torn frame", "bad length"}


@given(st.binary(max_size=64))
def test_decoding_arbitrary_bytes_either_finds_a_frame_or_raises_format_error(
    data: bytes,
) -> None:
    try:
        start, end = decode_frame(data, 0, len(data))
    except FormatError:
        return
    assert 8 <= start <= end <= len(data)


@given(st.integers(0, 2**60), st.binary(max_size=500))
def test_a_snapshot_round_trips_and_truncation_or_damage_is_detected(
    offset: int, state: bytes
) -> None:
    data = encode_snapshot(offset, state)
    assert len(data) == SNAPSHOT_HEADER_BYTES + len(state)
    assert decode_snapshot(data) == (offset, state)
    with pytest.raises(FormatError):
        decode_snapshot(data[:-1])
    for byte in {0, 9, 27, 30, len(data) - 1}:
        damaged = bytearray(data)
        damaged[byte] ^= 0x01
        with pytest.raises(FormatError):
            decode_snapshot(bytes(damaged))
