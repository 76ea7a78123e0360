"""Benchmark of the partition log: durable appends/s and recovery speed.

Run: ``.venv/bin/python -m benchmarks.bench_log`` (about a minute). Every figure is the median
of ``--runs`` runs. All appends are durable (``fsync=always``: one write + one fsync per commit).

- ``sync``: one thread appends a batch and calls ``log.commit()``.
- ``group``: ``--writers`` asyncio tasks each append a batch and ``await
  GroupCommitter.commit()``; concurrent batches share flushes (so a flush can hold several).
- recovery: a ``--recovery-gb`` log of 1 KiB records is reopened; "warm" has the files in the
  page cache, "cold" first evicts them (``posix_fadvise(DONTNEED)`` after an fsync, which
  affects only these files).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from raybus.storage import FileLog, FsyncPolicy, GroupCommitter


class CountingFsync:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, fd: int) -> None:
        os.fsync(fd)
        self.calls += 1


@dataclass
class Run:
    messages: int
    seconds: float
    commits: int
    fsyncs: int
    commit_seconds: list[float]

    @property
    def rate(self) -> float:
        return self.messages / self.seconds


def _payloads(count: int, record_bytes: int) -> list[bytes]:
    base = os.urandom(record_bytes)
    return [i.to_bytes(8, "little") + base[8:] for i in range(count)]


def run_sync(directory: str, batch: int, record_bytes: int, seconds: float) -> Run:
    fsync = CountingFsync()
    log = FileLog(directory, fsync=FsyncPolicy.ALWAYS, fsync_fn=fsync)
    fsync.calls = 0
    payloads = _payloads(batch, record_bytes)
    latencies = []
    messages = 0
    started = time.perf_counter()
    deadline = started + seconds
    while True:
        t0 = time.perf_counter()
        log.append(payloads)
        log.commit()
        t1 = time.perf_counter()
        latencies.append(t1 - t0)
        messages += batch
        if t1 >= deadline and len(latencies) >= 20:
            break
    elapsed = time.perf_counter() - started
    log.close()
    return Run(messages, elapsed, len(latencies), fsync.calls, latencies)


def run_group(directory: str, batch: int, record_bytes: int, seconds: float, writers: int) -> Run:
    fsync = CountingFsync()
    log = FileLog(directory, fsync=FsyncPolicy.ALWAYS, fsync_fn=fsync)
    fsync.calls = 0
    payloads = _payloads(batch, record_bytes)
    latencies: list[float] = []

    async def writer(deadline: float) -> int:
        sent = 0
        while True:
            t0 = time.perf_counter()
            log.append(payloads)
            await committer.commit()
            t1 = time.perf_counter()
            latencies.append(t1 - t0)
            sent += batch
            if t1 >= deadline and sent >= 20 * batch:
                return sent

    async def main() -> tuple[int, float]:
        started = time.perf_counter()
        counts = await asyncio.gather(*(writer(started + seconds) for _ in range(writers)))
        elapsed = time.perf_counter() - started
        await committer.aclose()
        return sum(counts), elapsed

    committer = GroupCommitter(log)
    messages, elapsed = asyncio.run(main())
    log.close()
    return Run(messages, elapsed, committer.flushes, fsync.calls, latencies)


def median_run(make: Callable[[str], Run], runs: int, root: str) -> tuple[Run, float]:
    """The run with the median rate; also returns the median commit latency over all runs."""
    results = []
    for i in range(runs):
        directory = os.path.join(root, f"run-{i}")
        try:
            results.append(make(directory))
        finally:
            shutil.rmtree(directory, ignore_errors=True)
    results.sort(key=lambda r: r.rate)
    latency = statistics.median(x for r in results for x in r.commit_seconds)
    return results[len(results) // 2], latency


def build_log(directory: str, total_bytes: int, record_bytes: int) -> int:
    """Write about ``total_bytes`` of records (fsync=never, then one fsync per segment)."""
    payloads = _payloads(1000, record_bytes)
    with FileLog(directory, fsync=FsyncPolicy.NEVER) as log:
        while log.end_offset < total_bytes:
            log.append(payloads)
            log.commit()
    for name in os.listdir(directory):
        fd = os.open(os.path.join(directory, name), os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    return sum(os.path.getsize(os.path.join(directory, n)) for n in os.listdir(directory))


def evict(directory: str) -> None:
    for name in os.listdir(directory):
        fd = os.open(os.path.join(directory, name), os.O_RDONLY)
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def time_recovery(directory: str, cold: bool) -> tuple[float, int, int]:
    if cold:
        evict(directory)
    started = time.perf_counter()
    log = FileLog(directory, fsync=FsyncPolicy.NEVER)
    elapsed = time.perf_counter() - started
    report = log.recovery
    log.close()
    assert report.truncated_bytes == 0
    return elapsed, report.bytes_scanned, report.records


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--record-bytes", type=int, default=1024)
    parser.add_argument("--batches", default="1,10,100,1000", help="comma-separated")
    parser.add_argument("--writers", type=int, default=4, help="concurrent group writers")
    parser.add_argument("--seconds", type=float, default=0.5, help="per run")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--recovery-gb", type=float, default=1.0, help="0 skips recovery")
    parser.add_argument("--recovery-runs", type=int, default=3)
    parser.add_argument("--dir", default=None, help="where to write (default: a temp dir)")
    args = parser.parse_args(argv)
    batches = [int(b) for b in args.batches.split(",")]
    size, secs = args.record_bytes, args.seconds
    root = tempfile.mkdtemp(prefix="raybus-bench-log-", dir=args.dir)
    try:
        print(
            f"durable appends, {args.record_bytes}-byte records, fsync=always, "
            f"median of {args.runs} runs x {args.seconds}s"
        )
        header = (
            f"{'path':<18}{'batch':>6}{'msgs/s':>12}{'MB/s':>9}"
            f"{'msgs/fsync':>12}{'commit p50 ms':>15}"
        )
        print(header)
        print("-" * len(header))
        configs: list[tuple[str, int, Callable[[str], Run]]] = []
        for batch in batches:
            configs.append(
                ("sync", batch, partial(run_sync, batch=batch, record_bytes=size, seconds=secs))
            )
            for writers in sorted({1, args.writers}):
                group = partial(
                    run_group, batch=batch, writers=writers, record_bytes=size, seconds=secs
                )
                configs.append((f"group x{writers}", batch, group))
        for name, batch, make in configs:
            run, latency = median_run(make, args.runs, root)
            print(
                f"{name:<18}{batch:>6}{run.rate:>12,.0f}"
                f"{run.rate * args.record_bytes / 1e6:>9.1f}"
                f"{run.messages / max(run.fsyncs, 1):>12.1f}{latency * 1e3:>15.3f}",
                flush=True,
            )
        if args.recovery_gb > 0:
            directory = os.path.join(root, "recovery")
            started = time.perf_counter()
            size = build_log(directory, int(args.recovery_gb * 1e9), args.record_bytes)
            print(
                f"\nrecovery of a {size / 1e9:.2f} GB log of {args.record_bytes}-byte records "
                f"(built in {time.perf_counter() - started:.1f}s), "
                f"median of {args.recovery_runs} opens"
            )
            print(f"{'cache':<8}{'seconds':>10}{'MB/s':>10}{'records/s':>14}")
            for cold in (False, True):
                times = []
                for _ in range(args.recovery_runs):
                    elapsed, scanned, records = time_recovery(directory, cold)
                    times.append(elapsed)
                seconds = statistics.median(times)
                print(
                    f"{'cold' if cold else 'warm':<8}{seconds:>10.3f}"
                    f"{scanned / seconds / 1e6:>10.0f}{records / seconds:>14,.0f}",
                    flush=True,
                )
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
