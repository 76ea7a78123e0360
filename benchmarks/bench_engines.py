"""Queue engines on a file log, no Ray: cost per operation as the queue deepens, memory per
queued message, and recovery of a large log.

    .venv/bin/python -m benchmarks.bench_engines                 # depths 1k, 100k, 1M
    .venv/bin/python -m benchmarks.bench_engines --depths 1000 100000 --runs 3

For each depth the queue is filled with 1 KiB messages, then timed cycles run: send a batch,
receive a batch, delete it (so the depth stays put). One "op" is one message through
send + receive + delete; a flat ops/s column from 1k to 1M is the goal. Memory per message is
what Python allocates (tracemalloc) for the engine and log while filling, divided by the depth
(bodies are on disk), and again once 5 minutes have passed (">5min": FIFO dedup ids expired).
Recovery reopens the deepest queue from its log (full replay, no snapshot).
The log commits every call with fsync=never unless --fsync says otherwise: this measures the
engine and the log's CPU cost, not the disk (see bench_log for durable appends).
"""

from __future__ import annotations

import argparse
import gc
import os
import shutil
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

from raybus.core import ManualClock, QueueConfig
from raybus.engines import QueuePartition, SendEntry
from raybus.engines.queue.ops import Delete, QueueStats, Receive, Send
from raybus.partitions import CheckpointPolicy, Durable, open_queue
from raybus.storage import FileLog

BODY = b"x" * 1024
NO_CHECKPOINT = CheckpointPolicy(min_checkpoint_bytes=1 << 62)
_counter = 10**12  # dedup ids for timed cycles, never reused within a process

Queue = Durable[QueuePartition]


def progress(text: str) -> None:
    sys.stderr.write(f"\r{text:<78}")
    sys.stderr.flush()


def open_at(path: Path, fifo: bool, fsync: str) -> Queue:
    config = QueueConfig.create(
        "bench.fifo" if fifo else "bench", visibility_timeout_s=43_200, retention_s=1_209_600
    )
    return open_queue(config, FileLog(path, fsync=fsync), tag=1, checkpoint=NO_CHECKPOINT)


def entries(n: int, fifo: bool, start: int) -> list[SendEntry]:
    if fifo:  # 1,000 groups, explicit dedup ids
        return [
            SendEntry(BODY, group_id=f"g{(start + i) % 1000}", dedup_id=str(start + i))
            for i in range(n)
        ]
    return [SendEntry(BODY) for _ in range(n)]


def fill(queue: Queue, clock: ManualClock, depth: int, fifo: bool) -> tuple[float, float]:
    """Send ``depth`` messages in batches of 1,000. Returns allocated bytes per message right
    after, and again once the 5-minute FIFO dedup window has passed (retention is 14 days)."""
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    sent = 0
    while sent < depth:
        n = min(1000, depth - sent)
        queue.run(Send(entries(n, fifo, sent)), clock.now_ms())
        sent += n
        if sent % 50_000 == 0 or sent == depth:
            progress(f"  filling {sent:,}/{depth:,}")
    gc.collect()
    per_message = (tracemalloc.get_traced_memory()[0] - before) / depth
    clock.advance(301)
    queue.run(QueueStats(), clock.now_ms())
    gc.collect()
    settled = (tracemalloc.get_traced_memory()[0] - before) / depth
    tracemalloc.stop()
    return per_message, settled


def cycle_rate(queue: Queue, clock: ManualClock, batch: int, cycles: int, fifo: bool) -> float:
    """Messages/s through send + receive + delete at constant depth."""
    global _counter
    started = time.perf_counter()
    for _ in range(cycles):
        queue.run(Send(entries(batch, fifo, _counter)), clock.now_ms())
        _counter += batch
        got = queue.run(Receive(batch), clock.now_ms())
        queue.run(Delete([m.receipt for m in got]), clock.now_ms())
        clock.advance(0.001)
    return batch * cycles / (time.perf_counter() - started)


def run(args: argparse.Namespace) -> None:
    root = Path(tempfile.mkdtemp(prefix="raybus-bench-", dir=args.dir))
    rows = []
    try:
        for fifo in (False, True) if args.fifo else (False,):
            for depth in args.depths:
                path = root / f"{'fifo' if fifo else 'std'}-{depth}"
                clock = ManualClock()
                queue = open_at(path, fifo, args.fsync)
                memory = fill(queue, clock, depth, fifo)
                rates = []
                for run_index in range(args.runs):
                    progress(f"  depth {depth:,}: run {run_index + 1}/{args.runs}")
                    rates.append(cycle_rate(queue, clock, args.batch, args.cycles, fifo))
                disk = queue.log.disk_bytes()
                queue.close()
                recovery = None
                if depth == max(args.depths):
                    progress(f"  recovering {disk / 1e6:,.0f} MB")
                    gc.collect()
                    started = time.perf_counter()
                    again = open_at(path, fifo, args.fsync)
                    seconds = time.perf_counter() - started
                    assert again.engine.message_count == depth
                    again.close()
                    recovery = (seconds, disk / seconds / 1e6)
                rows.append(
                    (
                        ("FIFO" if fifo else "standard"),
                        depth,
                        statistics.median(rates),
                        min(rates),
                        max(rates),
                        memory,
                        recovery,
                        disk,
                    )
                )
                shutil.rmtree(path)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    progress("")
    sys.stderr.write("\r")
    print(
        f"\nqueue engines + file log (fsync={args.fsync}), 1 KiB bodies, batch {args.batch}, "
        f"{args.cycles} cycles x {args.runs} runs, python {sys.version.split()[0]}, "
        f"{os.cpu_count()} cpus"
    )
    print(
        f"{'queue':<9} {'depth':>10} {'ops/s median':>13} {'(min-max)':>19} "
        f"{'B/msg':>7} {'>5min':>6} {'log MB':>8} {'recovery':>18}"
    )
    for kind, depth, median, low, high, memory, recovery, disk in rows:
        rec = "" if recovery is None else f"{recovery[0]:.2f}s {recovery[1]:.0f}MB/s"
        print(
            f"{kind:<9} {depth:>10,} {median:>13,.0f} {f'({low:,.0f}-{high:,.0f})':>19} "
            f"{memory[0]:>7.0f} {memory[1]:>6.0f} {disk / 1e6:>8,.0f} {rec:>18}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--depths", type=int, nargs="+", default=[1_000, 100_000, 1_000_000])
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--cycles", type=int, default=300)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--fsync", default="never", choices=["always", "interval", "never"])
    parser.add_argument("--fifo", action="store_true", help="also run a FIFO queue")
    parser.add_argument("--dir", default=None, help="where to put the logs (default: tmp)")
    run(parser.parse_args())


if __name__ == "__main__":
    main()
