"""A queue partition on a real file log (:func:`raybus.partitions.open_queue`, driven with
committed typed operations): acknowledged work survives close, SIGKILL and compaction."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from raybus.core import ManualClock, QueueConfig
from raybus.engines import QueuePartition, SendEntry
from raybus.engines.queue.ops import Delete, QueueStats, Receive, Send
from raybus.partitions import CheckpointPolicy, Durable, open_queue
from raybus.storage import FileLog

ROOT = Path(__file__).resolve().parents[2]
KIB = 1024

Queue = Durable[QueuePartition]


def open_at(path: Path, config: QueueConfig, **policy: int) -> Queue:
    log = FileLog(path, segment_bytes=64 * KIB)
    return open_queue(
        config,
        log,
        tag=3,
        checkpoint=CheckpointPolicy(
            min_checkpoint_bytes=policy.get("min_checkpoint_bytes", 128 * KIB)
        ),
    )


def stats(queue: Queue, now_ms: int) -> dict[str, int]:
    return queue.run(QueueStats(), now_ms)


def drain(queue: Queue, now_ms: int) -> list[bytes]:
    """Receive and delete until empty (deleting unblocks FIFO groups)."""
    got: list[bytes] = []
    for _ in range(10_000):
        batch = queue.run(Receive(100), now_ms)
        if not batch:
            return got
        got.extend(m.body for m in batch)
        queue.run(Delete([m.receipt for m in batch]), now_ms)
    raise AssertionError("queue did not drain")


def test_a_reopened_queue_has_every_acknowledged_message_and_receipt(tmp_path: Path) -> None:
    clock = ManualClock()
    config = QueueConfig.create("q", visibility_timeout_s=60)
    queue = open_at(tmp_path, config)
    queue.run(Send([SendEntry(f"m{i}".encode()) for i in range(50)]), clock.now_ms())
    received = queue.run(Receive(10), clock.now_ms())
    queue.run(Delete([m.receipt for m in received[:5]]), clock.now_ms())
    queue.close()
    again = open_at(tmp_path, config)
    assert again.engine.message_count == 45
    assert stats(again, clock.now_ms())["in_flight"] == 5
    assert again.run(Delete([m.receipt for m in received[5:]]), clock.now_ms()) == [None] * 5
    assert stats(again, clock.now_ms())["in_flight"] == 0
    assert sorted(drain(again, clock.now_ms())) == sorted(f"m{i}".encode() for i in range(10, 50))


@pytest.mark.parametrize("kind", ["standard", "fifo"])
def test_sigkill_loses_no_acknowledged_send_and_revives_no_acknowledged_delete(
    tmp_path: Path, kind: str
) -> None:
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.partitions.crash_writer", str(tmp_path), kind],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    seen: dict[str, set[str]] = {"sent": set(), "received": set(), "deleted": set()}
    stop_after = random.Random(kind).randint(300, 3000)  # kill at a varied point
    for line in child.stdout:
        verb, body = line.split()
        seen[verb].add(body)
        if len(seen["sent"]) >= stop_after:
            break
    os.kill(child.pid, signal.SIGKILL)
    child.wait(timeout=30)
    for line in child.stdout:  # what the child acknowledged between our last read and the kill
        verb, body = line.split()
        seen[verb].add(body)
    sent, deleted = seen["sent"], seen["deleted"]
    in_flight = seen["received"] - deleted  # a delete the kill may have cut: either way is right
    assert len(in_flight) <= 4
    config = QueueConfig.create(
        "crash.fifo" if kind == "fifo" else "crash", visibility_timeout_s=600
    )
    queue = open_at(tmp_path, config)
    # past the child's 600 s visibility timeout, well within retention
    clock = ManualClock(start_ms=time.time_ns() // 1_000_000 + 601_000)
    present = {b.decode() for b in drain(queue, clock.now_ms())}
    assert sent - deleted - in_flight <= present, "an acknowledged send was lost"
    assert not (deleted & present), "an acknowledged delete came back"


def test_a_log_whose_messages_were_all_deleted_shrinks_to_almost_nothing(tmp_path: Path) -> None:
    clock = ManualClock()
    queue = open_at(tmp_path, QueueConfig.create("q"), min_checkpoint_bytes=0)
    for _ in range(20):
        queue.run(Send([SendEntry(b"x" * KIB) for _ in range(50)]), clock.now_ms())
    assert queue.log.disk_bytes() > 1000 * KIB
    while received := queue.run(Receive(100), clock.now_ms()):
        queue.run(Delete([m.receipt for m in received]), clock.now_ms())
    queue.checkpoint()
    assert queue.log.disk_bytes() < 8 * KIB
    queue.close()
    assert open_at(tmp_path, QueueConfig.create("q")).engine.message_count == 0


def test_disk_use_stays_bounded_by_live_data_plus_slack(tmp_path: Path) -> None:
    clock = ManualClock()
    policy = CheckpointPolicy(slack_ratio=0.5, min_checkpoint_bytes=256 * KIB)
    queue = open_queue(
        QueueConfig.create("q", visibility_timeout_s=0),
        FileLog(tmp_path, segment_bytes=64 * KIB),
        tag=1,
        checkpoint=policy,
    )
    rng = random.Random(7)
    worst = 0.0
    for _ in range(400):
        queue.run(
            Send([SendEntry(b"y" * rng.randint(100, 2 * KIB)) for _ in range(rng.randint(1, 20))]),
            clock.now_ms(),
        )
        received = queue.run(Receive(rng.randint(1, 25)), clock.now_ms())
        queue.run(Delete([m.receipt for m in received]), clock.now_ms())
        live = sum(len(queue.log.read(o)) for o in queue.engine.live_offsets())
        bound = live * (1 + policy.slack_ratio) + policy.min_checkpoint_bytes + 2 * 64 * KIB
        worst = max(worst, queue.log.disk_bytes() / bound)
        assert queue.log.disk_bytes() <= bound
    assert queue.checkpoints > 0 and worst > 0.3  # the bound was actually approached


def test_recovery_after_checkpoints_matches_the_state_before(tmp_path: Path) -> None:
    clock = ManualClock()
    config = QueueConfig.create("q.fifo", content_based_dedup=True)
    queue = open_at(tmp_path, config, min_checkpoint_bytes=16 * KIB)
    for round_ in range(30):
        queue.run(
            Send(
                [SendEntry(f"{round_}-{i}".encode() * 50, group_id=f"g{i % 4}") for i in range(10)]
            ),
            clock.now_ms(),
        )
        received = queue.run(Receive(8), clock.now_ms())
        queue.run(Delete([m.receipt for m in received[:6]]), clock.now_ms())
        clock.advance(1)
    assert queue.checkpoints > 0
    before = queue.engine.snapshot()
    queue.close()
    again = open_at(tmp_path, config)
    assert again.recovery.snapshot_offset is not None
    assert again.engine.snapshot() == before
