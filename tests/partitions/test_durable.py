"""An engine bound to its log (:class:`raybus.partitions.Durable`): one turn of typed operations,
an error in its op's slot, commits, recovery."""

from __future__ import annotations

import pytest

from raybus.core import ManualClock, QueueConfig, RaybusError
from raybus.engines import QueuePartition, SendEntry, SendResult
from raybus.engines.ops import Turn
from raybus.engines.queue.ops import Delete, Purge, QueueStats, Receive, Send
from raybus.partitions import Durable, open_queue
from raybus.storage import MemoryLog

Queue = Durable[QueuePartition]


def queue(log: MemoryLog | None = None, **settings: object) -> Queue:
    return open_queue(QueueConfig.create("q", **settings), log or MemoryLog(), tag=5, epoch=2)


def test_an_ops_error_is_answered_in_its_slot_while_the_others_apply() -> None:
    clock = ManualClock()
    durable = queue()
    turn = Turn(clock.now_ms(), epoch=2)
    results = durable.apply(
        [
            Send([SendEntry(b"one")]),
            Receive(0),  # max_messages must be positive: the op raises
            Send([SendEntry(b"two")]),
            Purge(),
            Purge(),  # one purge per 60 s
        ],
        turn,
    )
    assert len(results) == 5
    first, refused, second, purged, again = results
    assert isinstance(first, list) and isinstance(first[0], SendResult)
    assert isinstance(refused, RaybusError) and refused.code == "InvalidParameterValue"
    assert isinstance(second, list) and isinstance(second[0], SendResult)
    assert purged == 2  # both sends applied before it, in order
    assert isinstance(again, RaybusError) and again.code == "PurgeQueueInProgress"


def test_apply_appends_without_committing() -> None:
    clock = ManualClock()
    log = MemoryLog()
    durable = queue(log)
    durable.apply([Send([SendEntry(b"one")])], Turn(clock.now_ms()))
    assert log.end_offset > log.durable_offset
    assert open_queue(QueueConfig.create("q"), log.reopen(), tag=5).engine.message_count == 0


def test_execute_commits_the_turn_and_returns_it() -> None:
    clock = ManualClock()
    log = MemoryLog()
    durable = queue(log, redrive_policy={"dead_letter_queue": "dlq", "max_receive_count": 1})
    (sent,), turn = durable.execute([Send([SendEntry(b"one")])], clock.now_ms())
    assert log.durable_offset == log.end_offset
    assert turn.now_ms == clock.now_ms() and turn.wake and turn.transfers == []
    assert turn.epoch == 2  # the epoch the partition was opened at
    assert isinstance(sent[0], SendResult)
    durable.execute([Receive(1, visibility_timeout_s=0)], clock.now_ms())
    clock.advance(1)
    ([messages], turn) = durable.execute([Receive(1)], clock.now_ms())
    assert messages == []
    assert [(t.target, t.entry.body) for t in turn.transfers] == [("dlq", b"one")]
    assert turn.now_ms == clock.now_ms()


def test_run_answers_one_ops_result_committed_and_raises_its_error() -> None:
    clock = ManualClock()
    log = MemoryLog()
    durable = queue(log)
    (sent,) = durable.run(Send([SendEntry(b"one")]), clock.now_ms())
    assert isinstance(sent, SendResult)
    assert log.durable_offset == log.end_offset
    with pytest.raises(RaybusError) as info:
        durable.run(Receive(0), clock.now_ms())
    assert info.value.code == "InvalidParameterValue"
    (message,) = durable.run(Receive(1), clock.now_ms())
    assert durable.run(Delete([message.receipt]), clock.now_ms()) == [None]
    assert durable.run(QueueStats(), clock.now_ms())["epoch"] == 2


def test_a_failed_commit_fails_the_call_and_keeps_failing() -> None:
    clock = ManualClock()
    log = MemoryLog()
    durable = queue(log)
    log.inject_failure()
    with pytest.raises(RaybusError) as info:
        durable.run(Send([SendEntry(b"lost")]), clock.now_ms())
    assert info.value.code == "StorageFailure"
    with pytest.raises(RaybusError) as sticky:
        durable.run(Send([SendEntry(b"later")]), clock.now_ms())
    assert sticky.value.code == "StorageFailure"
    assert open_queue(QueueConfig.create("q"), log.reopen(), tag=5).engine.message_count == 0


def test_recovery_replays_the_log_and_reports_what_it_did() -> None:
    clock = ManualClock()
    log = MemoryLog()
    durable = queue(log)
    durable.run(Send([SendEntry(f"m{i}") for i in range(3)]), clock.now_ms())
    durable.run(Send([SendEntry(b"m3")]), clock.now_ms())
    reopened = log.reopen()
    again = queue(reopened)
    assert again.engine.message_count == 4
    assert again.recovery.snapshot_offset is None
    assert again.recovery.records_replayed == 4
    assert again.recovery.seconds >= 0
    again.checkpoint()
    third = queue(reopened.reopen())
    assert third.recovery.snapshot_offset is not None
    assert third.recovery.records_replayed == 0
    assert third.engine.snapshot() == again.engine.snapshot()
