"""Transfers between hosts on real logs: the target commits first, the source removes after."""

from __future__ import annotations

from pathlib import Path

from raybus.core import ManualClock, QueueConfig
from raybus.engines import MoveTask, SendEntry
from raybus.host import QueueHost, deliver_dead_letters, run_move_step
from raybus.storage import FileLog


def host(path: Path, name: str, tag: int, **settings: object) -> QueueHost:
    return QueueHost.open(QueueConfig.create(name, **settings), FileLog(path / name), tag=tag)


def test_a_dead_letter_survives_a_crash_between_the_two_commits(tmp_path: Path) -> None:
    clock = ManualClock()
    redrive = {"dead_letter_queue": "dlq", "max_receive_count": 1}
    source, dlq = host(tmp_path, "src", 1, redrive_policy=redrive), host(tmp_path, "dlq", 2)
    source.send(clock.now_ms(), [SendEntry(b"poison")])
    source.receive(clock.now_ms(), 1, visibility_timeout_s=0)
    (letter,) = source.receive(clock.now_ms(), 1).dead_letters
    dlq.send(clock.now_ms(), [letter.entry])  # the target committed; then the source "crashes"
    source.close()
    dlq.close()
    source, dlq = host(tmp_path, "src", 1, redrive_policy=redrive), host(tmp_path, "dlq", 2)
    assert dlq.stats(clock.now_ms())["visible"] == 1
    assert source.stats(clock.now_ms())["visible"] == 1  # duplicated, not lost
    result = source.receive(clock.now_ms(), 1)
    assert deliver_dead_letters(clock.now_ms(), source, result.dead_letters, {"dlq": dlq}.get) == 1
    source.close()
    assert host(tmp_path, "src", 1, redrive_policy=redrive).recovery.messages == 0


def test_a_missing_dead_letter_queue_keeps_the_message_in_the_source(tmp_path: Path) -> None:
    clock = ManualClock()
    redrive = {"dead_letter_queue": "gone", "max_receive_count": 1}
    source = host(tmp_path, "src", 1, redrive_policy=redrive)
    source.send(clock.now_ms(), [SendEntry(b"poison")])
    source.receive(clock.now_ms(), 1, visibility_timeout_s=0)
    letters = source.receive(clock.now_ms(), 1).dead_letters
    assert deliver_dead_letters(clock.now_ms(), source, letters, lambda name: None) == 0
    assert source.stats(clock.now_ms())["in_flight"] == 1  # hidden, then retried
    clock.advance(30)
    assert source.stats(clock.now_ms())["visible"] == 1


def test_a_rate_limited_move_task_drains_the_dlq_into_the_source(tmp_path: Path) -> None:
    clock = ManualClock()
    dlq, source = host(tmp_path, "dlq", 1), host(tmp_path, "src", 2)
    dlq.send(clock.now_ms(), [SendEntry(f"m{i}".encode()) for i in range(30)])
    task = MoveTask("t", "dlq", "src", clock.now_ms(), to_move=30, rate_per_s=10)
    elapsed_s = 0
    while task.status == "RUNNING" and elapsed_s < 10:
        run_move_step(clock.now_ms(), task, dlq, source)
        assert task.moved <= 10 * elapsed_s + 1  # never faster than the rate
        clock.advance(1)
        elapsed_s += 1
    assert task.status == "COMPLETED" and task.moved == 30
    assert elapsed_s == 4  # steps at t = 0, 1, 2, 3 s move 1, 10, 10, 9
    assert source.stats(clock.now_ms())["visible"] == 30
    assert dlq.stats(clock.now_ms())["visible"] == 0


def test_messages_the_destination_refuses_stay_in_the_dlq(tmp_path: Path) -> None:
    clock = ManualClock()
    dlq = host(tmp_path, "dlq", 1, max_message_bytes=4096)
    source = host(tmp_path, "src", 2, max_message_bytes=1024)
    dlq.send(clock.now_ms(), [SendEntry(b"x" * 2000), SendEntry(b"small")])
    task = MoveTask("t", "dlq", "src", clock.now_ms(), to_move=2)
    assert run_move_step(clock.now_ms(), task, dlq, source) == 2  # transfers keep their size
    assert source.stats(clock.now_ms())["visible"] == 2


def test_a_failing_dead_letter_queue_leaves_the_message_in_the_source(tmp_path: Path) -> None:
    from raybus.storage import MemoryLog

    clock = ManualClock()
    redrive = {"dead_letter_queue": "dlq", "max_receive_count": 1}
    source = host(tmp_path, "src", 1, redrive_policy=redrive, visibility_timeout_s=30)
    dlq_log = MemoryLog()
    dlq = QueueHost.open(QueueConfig.create("dlq"), dlq_log, tag=2)
    source.send(clock.now_ms(), [SendEntry(b"poison")])
    source.receive(clock.now_ms(), 1, visibility_timeout_s=0)
    letters = source.receive(clock.now_ms(), 1).dead_letters
    dlq_log.inject_failure()
    assert deliver_dead_letters(clock.now_ms(), source, letters, {"dlq": dlq}.get) == 0
    clock.advance(30)
    assert source.stats(clock.now_ms())["in_flight"] == 0
    assert source.receive(clock.now_ms(), 1).dead_letters[0].entry.body == b"poison"
