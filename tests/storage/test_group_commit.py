"""GroupCommitter: concurrent asyncio waiters share flushes; the loop keeps serving."""

from __future__ import annotations

import asyncio
import errno
import os
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from raybus.core import RaybusError
from raybus.storage import FileLog, GroupCommitter, MemoryLog, PartitionLog

from .conftest import CountingFsync, Logs

WAIT_S = 10.0


class GatedFsync(CountingFsync):
    """Counts fsyncs; while ``gate`` is clear, an fsync blocks (after setting ``inside``)."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = threading.Event()
        self.gate.set()
        self.inside = threading.Event()

    def __call__(self, fd: int) -> None:
        self.inside.set()
        assert self.gate.wait(WAIT_S)
        super().__call__(fd)


async def wait_for(event: threading.Event) -> None:
    assert await asyncio.to_thread(event.wait, WAIT_S)


def test_a_waiter_returns_once_its_records_are_durable(logs: Logs) -> None:
    log = logs.open()

    async def main() -> None:
        committer = GroupCommitter(log)
        offsets = log.append([b"a", b"b"])
        durable = await committer.commit()
        assert durable == log.durable_offset == log.end_offset > offsets[-1]
        await committer.aclose()

    asyncio.run(main())


def test_a_waiter_with_nothing_new_returns_without_a_flush(logs: Logs) -> None:
    log = logs.open()

    async def main() -> None:
        committer = GroupCommitter(log)
        log.append([b"a"])
        await committer.commit()
        await committer.commit()
        assert committer.flushes == 1
        await committer.aclose()

    asyncio.run(main())


def test_concurrent_waiters_share_one_flush_with_one_write_and_one_fsync(tmp_path: Path) -> None:
    """The first waiter's flush is held inside fsync while fifty writers append and wait;
    they all ride on the single next flush: two flushes, two fsyncs in total."""
    fsync = GatedFsync()
    log = FileLog(tmp_path, fsync_fn=fsync)
    fsync.calls = 0

    async def writer(i: int) -> int:
        log.append([f"message {i}".encode()])
        return await committer.commit()

    async def main() -> None:
        fsync.gate.clear()
        first = asyncio.create_task(writer(-1))
        await wait_for(fsync.inside)
        others = [asyncio.create_task(writer(i)) for i in range(50)]
        await asyncio.sleep(0)  # one loop pass: every writer appends and starts waiting
        assert log.end_offset > log.durable_offset
        fsync.gate.set()
        results = await asyncio.gather(first, *others)
        assert results[-1] == log.end_offset == log.durable_offset
        await committer.aclose()

    committer = GroupCommitter(log)
    asyncio.run(main())
    assert committer.flushes == 2
    assert fsync.calls == 2
    with log:
        assert len(list(log.scan())) == 51


def test_the_event_loop_keeps_serving_reads_and_appends_while_a_flush_runs(
    tmp_path: Path,
) -> None:
    fsync = GatedFsync()
    log = FileLog(tmp_path, fsync_fn=fsync)

    async def main() -> None:
        committer = GroupCommitter(log)
        fsync.gate.clear()
        fsync.inside.clear()
        offsets = log.append([b"in flight"])
        flush = asyncio.create_task(committer.commit())
        await wait_for(fsync.inside)
        assert log.read(offsets[0]) == b"in flight"  # served from memory mid-write
        later = log.append([b"appended meanwhile"])
        assert log.read(later[0]) == b"appended meanwhile"
        assert [p for _, p in log.scan()] == [b"in flight", b"appended meanwhile"]
        fsync.gate.set()
        await flush
        assert log.durable_offset == later[0]  # the second record waits for the next flush
        await committer.commit()
        assert log.durable_offset == log.end_offset
        await committer.aclose()

    asyncio.run(main())
    log.close()


def test_a_failed_flush_raises_storage_failure_in_every_waiter_that_shared_it(
    tmp_path: Path,
) -> None:
    def failing(fd: int) -> None:
        raise OSError(errno.EIO, "Input/output error")

    healthy = True

    def fsync(fd: int) -> None:
        if not healthy:
            failing(fd)
        os.fsync(fd)

    log = FileLog(tmp_path, fsync_fn=fsync)

    async def writer() -> int:
        log.append([b"x"])
        return await committer.commit()

    async def main() -> list[int | BaseException]:
        return await asyncio.gather(*(writer() for _ in range(10)), return_exceptions=True)

    committer = GroupCommitter(log)
    healthy = False
    outcomes = asyncio.run(main())
    assert all(isinstance(o, RaybusError) and o.code == "StorageFailure" for o in outcomes)
    assert committer.flushes <= 2
    log.close()


def test_cancelling_a_waiter_does_not_cancel_the_flush_others_share(tmp_path: Path) -> None:
    fsync = GatedFsync()
    log = FileLog(tmp_path, fsync_fn=fsync)

    async def main() -> None:
        committer = GroupCommitter(log)
        fsync.gate.clear()
        fsync.inside.clear()
        log.append([b"a"])
        impatient = asyncio.create_task(committer.commit())
        patient = asyncio.create_task(committer.commit())
        await wait_for(fsync.inside)
        impatient.cancel()
        fsync.gate.set()
        assert await patient == log.end_offset
        with pytest.raises(asyncio.CancelledError):
            await impatient
        assert committer.flushes == 1
        await committer.aclose()

    asyncio.run(main())
    log.close()


@pytest.mark.parametrize("make", [MemoryLog, None], ids=["memory", "file"])
def test_many_writers_end_with_every_record_durable_in_append_order(
    tmp_path: Path, make: Callable[[], PartitionLog] | None
) -> None:
    log = make() if make is not None else FileLog(tmp_path)

    async def writer(i: int) -> list[int]:
        offsets = []
        for j in range(20):
            offsets += log.append([f"{i}-{j}".encode()] * (1 + j % 3))
            await committer.commit()
            assert log.durable_offset > offsets[-1]
        return offsets

    async def main() -> list[list[int]]:
        result = await asyncio.gather(*(writer(i) for i in range(10)))
        await committer.aclose()
        return result

    committer = GroupCommitter(log)
    all_offsets = sorted(o for offsets in asyncio.run(main()) for o in offsets)
    assert [o for o, _ in log.scan()] == all_offsets
    assert committer.flushes < 200  # batching happened
    log.close()


def test_a_waiter_that_finds_a_finished_flush_not_yet_cleared_starts_the_next_one() -> None:
    """Regression: a flush completes, and before its done-callback runs another writer appends
    and commits. Awaiting the finished flush returns without yielding, so the writer must start
    the next flush rather than spin (which would starve the loop and hang every caller)."""
    log = MemoryLog()
    outcome: list[int] = []

    async def scenario() -> None:
        committer = GroupCommitter(log)
        log.append([b"first"])
        finished: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        finished.set_result(log.commit())
        committer._flush = finished  # the window: finished, callback not yet run
        log.append([b"second"])
        outcome.append(await committer.commit())
        await committer.aclose()

    runner = threading.Thread(target=lambda: asyncio.run(scenario()), daemon=True)
    runner.start()
    runner.join(timeout=10)
    assert not runner.is_alive(), "commit spun on a finished flush"
    assert outcome == [log.end_offset] and log.durable_offset == log.end_offset


def test_commit_through_an_offset_already_durable_returns_without_a_flush(logs: Logs) -> None:
    log = logs.open()

    async def main() -> None:
        committer = GroupCommitter(log)
        first = log.append([b"a"])
        await committer.commit()
        log.append([b"b"])  # buffered, not needed by the caller below
        durable = log.durable_offset
        assert await committer.commit(through=first[0] + 1) == durable
        assert committer.flushes == 1
        assert log.durable_offset < log.end_offset
        await committer.aclose()

    asyncio.run(main())


def test_flush_soon_flushes_without_a_waiter_and_again_after_a_running_flush(
    tmp_path: Path,
) -> None:
    """A flush is held in fsync; a record appended meanwhile is not in it, and flush_soon()
    makes the committer flush again once it finishes — nobody awaits a commit."""
    fsync = GatedFsync()
    log = FileLog(tmp_path, fsync_fn=fsync)

    async def main() -> None:
        committer = GroupCommitter(log)
        committer.flush_soon()
        assert committer.flushes == 0  # nothing appended: nothing to flush
        fsync.gate.clear()
        fsync.inside.clear()
        log.append([b"first"])
        committer.flush_soon()
        await wait_for(fsync.inside)  # the first flush is in fsync
        fsync.inside.clear()
        later = log.append([b"appended meanwhile"])
        committer.flush_soon()
        assert committer.flushes == 1
        fsync.gate.set()
        await wait_for(fsync.inside)  # a second flush ran, started by the committer itself
        assert committer.flushes == 2
        assert await committer.commit(through=later[0] + 1) >= later[0] + 1
        assert log.durable_offset == log.end_offset
        await committer.aclose()

    asyncio.run(main())
    log.close()
