"""FileLog snapshots: atomic install, only the latest kept, corruption handled on open."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from raybus.core import RaybusError
from raybus.storage import FileLog
from raybus.storage.format import encode_snapshot, snapshot_file_name

from .conftest import CountingFsync


def snapshot_files(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if "snapshot" in p.name)


def log_with_snapshots(directory: Path, *states: bytes) -> list[int]:
    """A log with one record per state and a snapshot after each; returns snapshot offsets."""
    offsets = []
    with FileLog(directory) as log:
        for state in states:
            log.append([b"record"])
            log.write_snapshot(log.end_offset, state)
            offsets.append(log.end_offset)
    return offsets


def test_a_snapshot_is_synced_as_a_temp_file_then_renamed_and_the_directory_synced(
    tmp_path: Path,
) -> None:
    fsync = CountingFsync()
    with FileLog(tmp_path, fsync_fn=fsync) as log:
        log.append([b"r"])
        log.commit()
        fsync.paths.clear()
        log.write_snapshot(log.end_offset, b"state")
        assert fsync.paths == [
            str(tmp_path / (snapshot_file_name(log.end_offset) + ".tmp")),
            str(tmp_path),
        ]
    assert snapshot_files(tmp_path) == [snapshot_file_name(8 + 1)]


def test_only_the_latest_snapshot_file_is_kept(tmp_path: Path) -> None:
    offsets = log_with_snapshots(tmp_path, b"one", b"two", b"three")
    assert snapshot_files(tmp_path) == [snapshot_file_name(offsets[-1])]


def test_a_leftover_temp_file_from_a_crash_is_ignored_and_removed(tmp_path: Path) -> None:
    offsets = log_with_snapshots(tmp_path, b"good")
    tmp = tmp_path / (snapshot_file_name(offsets[0] + 50) + ".tmp")
    tmp.write_bytes(encode_snapshot(offsets[0] + 50, b"half written")[:20])
    with FileLog(tmp_path) as log:
        assert log.load_snapshot() == (offsets[0], b"good")
        assert any("removed unfinished" in note for note in log.recovery.notes)
    assert not tmp.exists()


def test_after_a_crash_between_rename_and_cleanup_the_newest_snapshot_wins(
    tmp_path: Path,
) -> None:
    offsets = log_with_snapshots(tmp_path, b"old", b"new")
    (tmp_path / snapshot_file_name(offsets[0])).write_bytes(encode_snapshot(offsets[0], b"old"))
    with FileLog(tmp_path) as log:
        assert log.load_snapshot() == (offsets[1], b"new")


def test_a_corrupt_newest_snapshot_falls_back_to_an_older_valid_one_and_says_so(
    tmp_path: Path,
) -> None:
    offsets = log_with_snapshots(tmp_path, b"old", b"new")
    (tmp_path / snapshot_file_name(offsets[0])).write_bytes(encode_snapshot(offsets[0], b"old"))
    newest = tmp_path / snapshot_file_name(offsets[1])
    data = bytearray(newest.read_bytes())
    data[-1] ^= 0x40
    newest.write_bytes(bytes(data))
    with FileLog(tmp_path) as log:
        assert log.load_snapshot() == (offsets[0], b"old")
        assert log.recovery.snapshot_offset == offsets[0]
        assert any("skipped corrupt snapshot" in note for note in log.recovery.notes)


def test_a_corrupt_snapshot_without_an_older_valid_one_refuses_to_open(tmp_path: Path) -> None:
    offsets = log_with_snapshots(tmp_path, b"only")
    path = tmp_path / snapshot_file_name(offsets[0])
    path.write_bytes(path.read_bytes()[:-1])
    with pytest.raises(RaybusError, match="no snapshot verifies") as caught:
        FileLog(tmp_path)
    assert caught.value.code == "StorageFailure"


def test_a_snapshot_damaged_after_open_fails_to_load_loudly(tmp_path: Path) -> None:
    offsets = log_with_snapshots(tmp_path, b"state")
    with FileLog(tmp_path) as log:
        (tmp_path / snapshot_file_name(offsets[0])).write_bytes(b"garbage")
        with pytest.raises(RaybusError, match="unreadable"):
            log.load_snapshot()


def test_a_failed_snapshot_write_is_sticky_and_leaves_the_previous_snapshot(
    tmp_path: Path,
) -> None:
    offsets = log_with_snapshots(tmp_path, b"previous")
    failing = {"on": False}

    def pwrite(fd: int, data: bytes, position: int) -> int:
        if failing["on"]:
            raise OSError(errno.ENOSPC, "No space left on device")
        return os.pwrite(fd, data, position)

    with FileLog(tmp_path, pwrite_fn=pwrite) as log:
        log.append([b"more"])
        log.commit()
        failing["on"] = True
        with pytest.raises(RaybusError, match="No space left"):
            log.write_snapshot(log.end_offset, b"next")
        with pytest.raises(RaybusError):
            log.append([b"x"])
    with FileLog(tmp_path) as log:
        assert log.load_snapshot() == (offsets[0], b"previous")
        assert [p for _, p in log.scan()] == [b"record", b"more"]
