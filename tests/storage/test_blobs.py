"""Blobs: written whole or not at all, read by range across parts, linked, swept when old and
unreferenced."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator, Awaitable
from pathlib import Path

import pytest

from raybus.storage.blobs import delete_blobs, link_blob, read_blobs, sweep, write_blob


async def chunks(*parts: bytes, fail: bool = False) -> AsyncIterator[bytes]:
    for part in parts:
        yield part
    if fail:
        raise ValueError("checksum mismatch at the end")


async def collect(opening: Awaitable[AsyncIterator[bytes]]) -> bytes:
    return b"".join([chunk async for chunk in await opening])


def test_a_blob_is_written_whole_and_observed_as_it_streams(tmp_path: Path) -> None:
    seen: list[bytes] = []
    name, size = asyncio.run(
        write_blob(str(tmp_path / "blobs"), chunks(b"ab", b"", b"cde"), observe=seen.append)
    )
    assert size == 5 and seen == [b"ab", b"cde"]
    assert (tmp_path / "blobs" / name).read_bytes() == b"abcde"
    assert os.listdir(tmp_path / "blobs") == [name]  # no temporary file left


def test_a_failed_stream_leaves_nothing_behind(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="checksum"):
        asyncio.run(write_blob(str(tmp_path), chunks(b"x" * 10, fail=True)))
    assert os.listdir(tmp_path) == []


def test_ranges_read_across_parts(tmp_path: Path) -> None:
    directory = str(tmp_path)
    one, _ = asyncio.run(write_blob(directory, chunks(b"0123")))
    two, _ = asyncio.run(write_blob(directory, chunks(b"456789")))
    whole = asyncio.run(collect(read_blobs(directory, [one, two], [4, 6], 0, 10)))
    assert whole == b"0123456789"
    assert asyncio.run(collect(read_blobs(directory, [one, two], [4, 6], 2, 7))) == b"23456"
    assert asyncio.run(collect(read_blobs(directory, [one, two], [4, 6], 5, 6))) == b"5"


def test_a_reader_that_opened_a_blob_keeps_it_after_delete(tmp_path: Path) -> None:
    directory = str(tmp_path)
    name, _ = asyncio.run(write_blob(directory, chunks(b"x" * 3_000_000)))

    async def scenario() -> bytes:
        stream = await read_blobs(directory, [name], [3_000_000], 0, 3_000_000)
        await delete_blobs(directory, [name])  # after the open, before any byte is read
        return b"".join([chunk async for chunk in stream])

    assert len(asyncio.run(scenario())) == 3_000_000
    assert not (tmp_path / name).exists()


def test_a_missing_blob_fails_at_the_open_before_any_byte(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        asyncio.run(collect(read_blobs(str(tmp_path), ["gone"], [3], 0, 3)))


def test_a_linked_blob_has_the_same_bytes_under_a_new_name(tmp_path: Path) -> None:
    name, _ = asyncio.run(write_blob(str(tmp_path / "a"), chunks(b"same")))
    linked = asyncio.run(link_blob(str(tmp_path / "a" / name), str(tmp_path / "b")))
    assert linked != name
    assert (tmp_path / "b" / linked).read_bytes() == b"same"


def test_sweep_removes_only_old_unreferenced_files(tmp_path: Path) -> None:
    directory = str(tmp_path)
    kept, _ = asyncio.run(write_blob(directory, chunks(b"k")))
    orphan, _ = asyncio.run(write_blob(directory, chunks(b"o")))
    young, _ = asyncio.run(write_blob(directory, chunks(b"y")))
    (tmp_path / "half.tmp").write_bytes(b"h")
    old = time.time() - 7200
    for name in (kept, orphan, "half.tmp"):
        os.utime(tmp_path / name, (old, old))
    assert sweep(directory, {kept}) == 2
    assert sorted(os.listdir(tmp_path)) == sorted([kept, young])
    assert sweep(str(tmp_path / "missing"), set()) == 0


def test_a_body_larger_than_the_write_buffer_is_written_in_order(tmp_path: Path) -> None:
    data = os.urandom(10 << 20)
    sizes = [1, 7, 65536, 3 << 20, 12345]
    pieces = []
    at = 0
    for turn in range(10_000):
        if at >= len(data):
            break
        step = sizes[turn % len(sizes)]
        pieces.append(data[at : at + step])
        at += step
    name, size = asyncio.run(write_blob(str(tmp_path), chunks(*pieces)))
    assert size == len(data)
    assert (tmp_path / name).read_bytes() == data
