"""``raybus demo``: the queue engines on a real data directory, crash included.

1. A standard queue: send, receive, delete; counts and SQS digests.
2. Durability: a child process sends batches and prints each acknowledgement; the demo SIGKILLs
   it mid-stream, reopens the log and checks that every acknowledged message is there.
3. A FIFO queue with a dead-letter queue on a virtual clock: a poison message leaves after
   ``maxReceiveCount`` receives and the messages behind it flow again.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from raybus.core import ManualClock, QueueConfig, SystemClock
from raybus.engines import SendEntry
from raybus.engines.queue.ops import Delete, QueueStats, Receive, Send, SettleTransfer
from raybus.partitions import open_queue
from raybus.storage import FileLog

__all__ = ["register"]


def register(sub: Any) -> None:
    parser = sub.add_parser("demo", help="run a short durable-queue demo (no Ray needed)")
    parser.add_argument("--data-dir", default=None, help="keep the data here (default: a temp dir)")
    parser.add_argument(
        "--kill-after",
        type=int,
        default=20_000,
        help="acknowledged sends before the writer is killed",
    )
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    parser.set_defaults(func=run)


def _say(text: str = "") -> None:
    print(text, flush=True)


def _writer(directory: str) -> int:
    """The child: send batches of 100 forever, printing the last body of each acked batch."""
    queue = open_queue(QueueConfig.create("orders"), FileLog(directory), tag=1)
    clock = SystemClock()
    n = 0
    while True:
        queue.run(Send([SendEntry(f"order-{n + i}") for i in range(100)]), clock.now_ms())
        n += 100
        print(n, flush=True)


def _basics(root: Path) -> None:
    _say("1. A standard queue on a file log")
    clock = SystemClock()
    queue = open_queue(QueueConfig.create("greetings"), FileLog(root / "greetings"), tag=2)
    results = queue.run(
        Send(
            [
                SendEntry("hello", attributes={"lang": ("String", "en")}),
                SendEntry("bonjour", attributes={"lang": ("String", "fr")}),
            ]
        ),
        clock.now_ms(),
    )
    for result in results:
        assert not isinstance(result, Exception)
        _say(f"   sent {result.message_id}  md5 {result.md5_of_body}")
    messages = queue.run(Receive(10), clock.now_ms())
    for m in messages:
        _say(
            f"   received {m.body.decode()!r} lang={m.attributes['lang'].value!s} "
            f"(receive count {m.receive_count})"
        )
    _say(f"   stats while in flight: {_depth(queue.run(QueueStats(), clock.now_ms()))}")
    queue.run(Delete([m.receipt for m in messages]), clock.now_ms())
    _say(f"   stats after delete:    {_depth(queue.run(QueueStats(), clock.now_ms()))}")
    queue.close()


def _depth(stats: dict[str, int]) -> dict[str, int]:
    return {k: stats[k] for k in ("visible", "in_flight", "delayed", "oldest_age_ms")}


def _crash(root: Path, kill_after: int) -> bool:
    _say(f"\n2. Durability: SIGKILL a writer after ~{kill_after:,} acknowledged messages")
    directory = root / "orders"
    child = subprocess.Popen(
        [sys.executable, "-m", "raybus.cli", "demo", "--child", str(directory)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    acked = 0
    started = time.perf_counter()
    for line in child.stdout:
        acked = int(line)
        if acked >= kill_after:
            break
    elapsed = time.perf_counter() - started
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    _say(
        f"   writer acknowledged {acked:,} messages in {elapsed:.2f}s "
        f"({acked / elapsed:,.0f}/s, fsync per batch of 100), then was killed"
    )
    log = FileLog(directory)
    queue = open_queue(QueueConfig.create("orders"), log, tag=1)
    report, stats = log.recovery, queue.recovery
    _say(
        f"   reopened: {queue.engine.message_count:,} messages, {stats.records_replayed:,} "
        f"records replayed in {stats.seconds:.2f}s; torn tail cut: {report.truncated_bytes} bytes"
    )
    present: set[int] = set()
    now = SystemClock().now_ms()
    while batch := queue.run(Receive(1000), now):
        present.update(int(m.body.decode().split("-")[1]) for m in batch)
    missing = set(range(acked)) - present
    _say(
        f"   every acknowledged message present: {not missing}"
        f" (plus {len(present) - acked} sent but not yet acknowledged when killed)"
    )
    queue.close()
    return not missing


def _dead_letters(root: Path) -> None:
    _say("\n3. FIFO with a dead-letter queue, on a virtual clock")
    clock = ManualClock()
    dlq = open_queue(QueueConfig.create("jobs-dlq.fifo"), FileLog(root / "dlq"), tag=3)
    jobs = open_queue(
        QueueConfig.create(
            "jobs.fifo",
            content_based_dedup=True,
            visibility_timeout_s=30,
            redrive_policy={"dead_letter_queue": "jobs-dlq.fifo", "max_receive_count": 3},
        ),
        FileLog(root / "jobs"),
        tag=4,
    )
    jobs.run(
        Send([SendEntry(b, group_id="customer-1") for b in ("poison", "job-2", "job-3")]),
        clock.now_ms(),
    )
    for _ in range(8):  # a consumer taking one message at a time; it fails on "poison"
        (messages,), turn = jobs.execute([Receive(1)], clock.now_ms())
        for letter in turn.transfers:  # dead letters: the target commits first, then the source
            dlq.run(Send([letter.entry]), clock.now_ms())
            jobs.run(SettleTransfer([letter.seq], [], dead_lettered=True), clock.now_ms())
            _say(f"   {letter.entry.body!r} exceeded maxReceiveCount: moved to jobs-dlq.fifo")
        if not messages:
            if not turn.transfers:
                break
            continue
        message = messages[0]
        if message.body == b"poison":
            _say(
                f"   received 'poison' (attempt {message.receive_count}): the handler fails; "
                "the group waits"
            )
            clock.advance(30)  # the visibility timeout passes
        else:
            jobs.run(Delete([message.receipt]), clock.now_ms())
            _say(f"   received {message.body.decode()!r}: processed and deleted")
    in_dlq = dlq.run(Receive(10), clock.now_ms())
    _say(f"   in the dead-letter queue: {[(m.body.decode(), m.system) for m in in_dlq]}")


def run(args: argparse.Namespace) -> int:
    if args.child:
        return _writer(args.child)
    root = Path(args.data_dir) if args.data_dir else Path(tempfile.mkdtemp(prefix="raybus-demo-"))
    root.mkdir(parents=True, exist_ok=True)
    _say(f"raybus demo — data in {root}\n")
    try:
        _basics(root)
        ok = _crash(root, args.kill_after)
        _dead_letters(root)
    finally:
        if not args.data_dir:
            shutil.rmtree(root, ignore_errors=True)
    _say(
        "\n`raybus up` serves these engines from Ray actors behind an HTTP gateway; "
        "README.md's quick tour drives them with the SDK and the CLI."
    )
    return 0 if ok else 1
