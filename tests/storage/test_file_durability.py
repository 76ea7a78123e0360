"""FileLog durability: what each commit writes and fsyncs, under each policy, and failures."""

from __future__ import annotations

import errno
import os
import threading
from pathlib import Path

import pytest

from raybus.core import ManualClock, RaybusError
from raybus.storage import FileLog, FsyncPolicy
from raybus.storage.format import SEGMENT_HEADER_BYTES

from .conftest import CountingFsync

WAIT_S = 10.0  # upper bound for waiting on a condition; tests normally finish far sooner


class CountingPwrite:
    def __init__(self) -> None:
        self.calls = 0
        self.bytes = 0

    def __call__(self, fd: int, data: bytes, position: int) -> int:
        self.calls += 1
        n = os.pwrite(fd, data, position)
        self.bytes += n
        return n


def open_counted(
    directory: Path, **options: object
) -> tuple[FileLog, CountingFsync, CountingPwrite]:
    fsync, pwrite = CountingFsync(), CountingPwrite()
    log = FileLog(directory, fsync_fn=fsync, pwrite_fn=pwrite, clock=ManualClock(), **options)  # type: ignore[arg-type]
    fsync.calls = pwrite.calls = pwrite.bytes = 0  # forget what opening did
    return log, fsync, pwrite


@pytest.mark.parametrize("batch", [1, 10, 1000])
def test_an_always_commit_is_one_write_and_one_fsync_whatever_the_batch(
    tmp_path: Path, batch: int
) -> None:
    log, fsync, pwrite = open_counted(tmp_path)
    with log:
        for round_ in range(3):
            log.append([b"m" * 100] * batch)
            log.commit()
            assert (pwrite.calls, fsync.calls) == (round_ + 1, round_ + 1)
        assert pwrite.bytes == 3 * batch * 108


def test_a_commit_with_nothing_buffered_does_no_io(tmp_path: Path) -> None:
    log, fsync, pwrite = open_counted(tmp_path)
    with log:
        log.append([b"x"])
        log.commit()
        log.commit()
        log.commit()
        assert (pwrite.calls, fsync.calls) == (1, 1)


def test_a_commit_that_starts_a_segment_writes_it_whole_and_fsyncs_file_and_directory(
    tmp_path: Path,
) -> None:
    log, fsync, pwrite = open_counted(tmp_path, segment_bytes=SEGMENT_HEADER_BYTES + 300)
    with log:
        log.append([b"r" * 92] * 3)  # fills the first segment exactly
        log.commit()
        assert (pwrite.calls, fsync.calls) == (1, 1)
        log.append([b"r" * 92] * 2)  # goes to a new segment: header + records in one write
        log.commit()
        assert (pwrite.calls, fsync.calls) == (2, 3)  # new file, then its directory
        assert fsync.fds[-1] != fsync.fds[-2]


def test_concurrent_thread_commits_share_one_write_and_one_fsync(tmp_path: Path) -> None:
    """While one commit is inside fsync, five threads append and commit: the next commit
    writes all five batches at once and the others find nothing left to do."""
    gate, inside = threading.Event(), threading.Event()
    fsync = CountingFsync()

    def slow_fsync(fd: int) -> None:
        inside.set()
        assert gate.wait(WAIT_S)
        fsync(fd)

    gate.set()  # opening fsyncs the first segment file
    with FileLog(tmp_path, fsync_fn=slow_fsync) as log:
        gate.clear()
        inside.clear()
        fsync.calls = 0
        log.append([b"first"])
        first = threading.Thread(target=log.commit)
        first.start()
        assert inside.wait(WAIT_S)
        threads = []
        for i in range(5):
            offsets = log.append([f"batch {i}".encode()] * 10)
            threads.append(threading.Thread(target=log.commit))
            threads[-1].start()
        gate.set()
        for thread in [first, *threads]:
            thread.join(WAIT_S)
        assert fsync.calls == 2
        assert log.durable_offset == log.end_offset == offsets[-1] + 8 + 7


def test_a_failing_fsync_is_sticky(tmp_path: Path) -> None:
    def failing_fsync(fd: int) -> None:
        raise OSError(errno.EIO, "Input/output error")

    log = FileLog(tmp_path, fsync=FsyncPolicy.NEVER, fsync_fn=failing_fsync)  # opens fine
    log.close()
    log = FileLog(tmp_path, fsync=FsyncPolicy.ALWAYS)
    log.close()
    calls = {"n": 0}

    def fail_second(fd: int) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError(errno.EIO, "Input/output error")
        os.fsync(fd)

    with FileLog(tmp_path, fsync_fn=fail_second) as log:
        log.append([b"a"])
        log.commit()  # fsync 1 succeeds
        log.append([b"b"])
        with pytest.raises(RaybusError) as caught:
            log.commit()  # fsync 2 fails
        assert caught.value.code == "StorageFailure"
        assert isinstance(caught.value.__cause__, OSError)
        for _ in range(3):
            with pytest.raises(RaybusError, match="earlier failure"):
                log.append([b"c"])
            with pytest.raises(RaybusError, match="earlier failure"):
                log.commit()
        assert calls["n"] == 2  # nothing was retried


def test_a_failing_write_is_sticky_and_a_reopen_recovers_the_committed_records(
    tmp_path: Path,
) -> None:
    def full_disk(fd: int, data: bytes, position: int) -> int:
        n = os.pwrite(fd, bytes(data[: len(data) // 2]), position)  # half lands, then ENOSPC
        if n < len(data):
            raise OSError(errno.ENOSPC, "No space left on device")
        return n

    with FileLog(tmp_path) as log:
        log.append([b"kept"] * 3)
        log.commit()
    with FileLog(tmp_path, pwrite_fn=full_disk) as log:
        log.append([b"lost" * 50])  # half of its frame reaches the file
        with pytest.raises(RaybusError, match="No space left"):
            log.commit()
        with pytest.raises(RaybusError):
            log.append([b"more"])
    with FileLog(tmp_path) as log:
        assert [p for _, p in log.scan()] == [b"kept"] * 3
        assert log.recovery.truncated_bytes > 0  # the half-written batch was cut


def test_short_writes_are_completed(tmp_path: Path) -> None:
    def dribble(fd: int, data: bytes, position: int) -> int:
        return os.pwrite(fd, bytes(data[:7]), position)

    records = [os.urandom(100) for _ in range(20)]
    with FileLog(tmp_path, pwrite_fn=dribble) as log:
        log.append(records)
        log.commit()
    with FileLog(tmp_path) as log:
        assert [p for _, p in log.scan()] == records


def test_with_the_never_policy_segments_are_never_fsynced(tmp_path: Path) -> None:
    fsync = CountingFsync()
    with FileLog(tmp_path, fsync=FsyncPolicy.NEVER, fsync_fn=fsync, segment_bytes=500) as log:
        for _ in range(10):
            log.append([b"x" * 100] * 3)
            log.commit()
        log.roll()
        assert fsync.calls == 0
        log.write_snapshot(log.end_offset, b"state")  # snapshots are always durable
        assert fsync.calls == 2  # the snapshot file and the directory


def test_with_the_interval_policy_a_commit_writes_and_a_timer_fsyncs_soon_after(
    tmp_path: Path,
) -> None:
    synced = threading.Event()
    fsync = CountingFsync()

    def noting_fsync(fd: int) -> None:
        fsync(fd)
        synced.set()

    log = FileLog(tmp_path, fsync=FsyncPolicy.INTERVAL, fsync_interval_ms=20, fsync_fn=noting_fsync)
    with log:
        synced.clear()
        fsync.calls = 0
        log.append([b"x"])
        assert log.commit() == log.end_offset  # written to the OS, acknowledged
        assert synced.wait(WAIT_S)
        assert fsync.calls == 1


def test_with_the_interval_policy_commits_do_not_fsync_and_close_does(tmp_path: Path) -> None:
    fsync = CountingFsync()
    log = FileLog(tmp_path, fsync=FsyncPolicy.INTERVAL, fsync_interval_ms=3_600_000, fsync_fn=fsync)
    fsync.calls = 0
    for _ in range(20):
        log.append([b"x" * 10])
        log.commit()
    assert fsync.calls == 0
    log.close()
    assert fsync.calls == 1


def test_with_the_interval_policy_a_segment_is_fsynced_before_the_next_one_is_created(
    tmp_path: Path,
) -> None:
    fsync = CountingFsync()
    log = FileLog(
        tmp_path,
        fsync=FsyncPolicy.INTERVAL,
        fsync_interval_ms=3_600_000,
        fsync_fn=fsync,
        segment_bytes=SEGMENT_HEADER_BYTES + 200,
    )
    with log:
        fsync.calls, fsync.fds = 0, []
        log.append([b"r" * 92] * 2)
        log.commit()
        first_fd = fsync.fds  # nothing yet
        assert first_fd == []
        log.append([b"r" * 92])  # rolls
        log.commit()
        assert fsync.calls == 3  # the sealed segment, the new file, the directory
        assert len(set(fsync.fds)) == 3
