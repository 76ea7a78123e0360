"""A topic engine rebuilt from its log (full replay, snapshot plus tail, after compaction, from
files) holds the same cursors, retries, retained messages and dedup window as the live one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgpack
import pytest

from raybus.core import ManualClock, QueueConfig
from raybus.core.errors import RaybusError
from raybus.core.topics import PublishEntry, PublishResult, TopicConfig
from raybus.engines import (
    Delivery,
    QueuePartition,
    SendEntry,
    Subscriber,
    TopicPartition,
    new_partition,
)
from raybus.engines.topic.records import decode_topic_record
from raybus.storage import FileLog, MemoryLog, PartitionLog, plan_compaction


def recover(
    live: TopicPartition, log: PartitionLog, snapshot: tuple[int, bytes] | None = None
) -> TopicPartition:
    """A fresh engine from ``log``: ``snapshot`` (default: the log's own) then the tail."""
    fresh = TopicPartition(live.config, log, tag=live.tag)
    snapshot = snapshot if snapshot is not None else log.load_snapshot()
    start = 0
    if snapshot is not None:
        start, blob = snapshot
        fresh.restore(msgpack.unpackb(blob, raw=False, strict_map_key=False))
    for offset, payload in log.scan(start):
        fresh.replay(offset, payload)
    fresh.finish_recovery()
    return fresh


def checkpoint(engine: TopicPartition, log: PartitionLog) -> None:
    """What the host does: seal, relocate live records out of sparse segments, snapshot, drop."""
    log.roll()
    plan = plan_compaction(log.segments(), engine.live_offsets(), slack_ratio=0.0)
    if plan.relocate:
        copies = log.append([log.read(offset) for offset in plan.relocate])
        log.commit()
        engine.relocate(dict(zip(plan.relocate, copies, strict=True)))
    log.write_snapshot(log.end_offset, msgpack.packb(engine.snapshot(), use_bin_type=True))
    for base in plan.drop:
        log.delete_segment(base)


def same_state(a: TopicPartition, b: TopicPartition, now: int) -> None:
    a.stats(now), b.stats(now)  # both forget dedup ids past the window
    assert a.snapshot() == b.snapshot()


def topic(name: str, log: PartitionLog, *subs: Subscriber) -> TopicPartition:
    t = TopicPartition(TopicConfig(name, fifo=name.endswith(".fifo")), log, tag=9)
    t.set_subscriptions(0, list(subs))
    return t


def publish(t: TopicPartition, now: int, *bodies: str) -> list[PublishResult]:
    fifo = t.config.fifo
    entries = [
        PublishEntry(b, group_id="g" if fifo else None, dedup_id=b if fifo else None)
        for b in bodies
    ]
    results = t.publish(now, entries)
    assert not any(isinstance(r, RaybusError) for r in results)
    return [r for r in results if isinstance(r, PublishResult)]


def texts(deliveries: list[Delivery]) -> list[str]:
    return [d.message.body.decode() for d in deliveries]


def fail(deliveries: list[Delivery], *failing: str) -> list[tuple[int, bool]]:
    return [(d.seq, d.message.body.decode() not in failing) for d in deliveries]


def retry_every(ms: int, times: int) -> Any:
    return lambda failed: ms if failed <= times else None


def test_in_flight_deliveries_come_again_and_settled_ones_do_not(clock: ManualClock) -> None:
    log = MemoryLog()
    t = topic("t", log, Subscriber("a"))
    publish(t, 0, "m1", "m2", "m3", "m4")
    first, second = t.take(0, "a", 2), t.take(0, "a", 2)
    t.settle(0, "a", fail(second))  # settled out of order: m3, m4 are done, m1, m2 in flight
    again = recover(t, log)
    same_state(again, t, 0)
    again.set_subscriptions(0, [Subscriber("a")])
    assert texts(again.take(0, "a", 10)) == ["m1", "m2"]
    assert texts(first) == ["m1", "m2"]


def test_a_recovered_subscriber_waits_until_the_shell_attaches_it() -> None:
    log = MemoryLog()
    t = topic("t", log, Subscriber("a"))
    publish(t, 0, "m1")
    again = recover(t, log)
    assert again.take(0, "a", 10) == [] and not again.has_work(0, "a")
    again.set_subscriptions(0, [Subscriber("a")])
    assert texts(again.take(0, "a", 10)) == ["m1"]


def test_pending_retries_keep_their_attempts_and_due_times() -> None:
    log = MemoryLog()
    policy = retry_every(1_000, 5)
    t = topic("t", log, Subscriber("a", retry_delay_ms=policy))
    publish(t, 0, "m1", "m2")
    t.settle(10, "a", fail(t.take(10, "a", 10), "m1"))
    t.settle(1_010, "a", fail(t.take(1_010, "a", 10), "m1"))
    again = recover(t, log)
    same_state(again, t, 1_010)
    again.set_subscriptions(0, [Subscriber("a", retry_delay_ms=policy)])
    assert again.next_due_ms("a") == 2_010
    (retry,) = again.take(2_010, "a", 10)
    assert (texts([retry]), retry.attempt) == (["m1"], 3)


def test_a_message_on_its_way_to_the_dead_letter_queue_is_retried_after_a_crash() -> None:
    log = MemoryLog()
    spec = Subscriber("a", has_dead_letter_queue=True)
    t = topic("t", log, spec)
    publish(t, 0, "m1")
    (gone,) = t.settle(0, "a", fail(t.take(0, "a", 10), "m1"))
    again = recover(t, log)  # the move was not settled: not durable
    again.set_subscriptions(0, [spec])
    assert [(d.seq, d.attempt) for d in again.take(0, "a", 10)] == [(gone.seq, 1)]


def test_subscriptions_and_unsubscriptions_are_replayed() -> None:
    log = MemoryLog()
    t = topic("t", log, Subscriber("a"), Subscriber("b"))
    publish(t, 0, "m1")
    t.set_subscriptions(0, [Subscriber("b"), Subscriber("c")])
    publish(t, 0, "m2")
    again = recover(t, log)
    same_state(again, t, 0)
    again.set_subscriptions(0, [Subscriber("b"), Subscriber("c")])
    assert texts(again.take(0, "b", 10)) == ["m1", "m2"]
    assert texts(again.take(0, "c", 10)) == ["m2"]
    assert again.take(0, "a", 10) == []


def test_the_fifo_dedup_window_survives_and_still_ends_after_five_minutes() -> None:
    log = MemoryLog()
    t = topic("t.fifo", log, Subscriber("a"))
    (original,) = publish(t, 0, "m1")
    again = recover(t, log)
    (duplicate,) = publish(again, 299_999, "m1")
    assert duplicate.duplicate and duplicate.message_id == original.message_id
    (fresh,) = publish(again, 300_000, "m1")
    assert not fresh.duplicate


def test_unretained_publishes_still_advance_the_seq_after_recovery() -> None:
    log = MemoryLog()
    t = topic("t", log)
    (first,) = publish(t, 0, "nobody listens")
    again = recover(t, log)
    (second,) = publish(again, 0, "m2")
    assert second.message_id != first.message_id and again.message_count == 0


def test_a_snapshot_plus_the_tail_equals_a_full_replay() -> None:
    for name in ("t", "t.fifo"):
        log = MemoryLog()
        spec = Subscriber("a", retry_delay_ms=retry_every(100, 3))
        t = topic(name, log, spec, Subscriber("b"))
        publish(t, 0, *[f"m{i}" for i in range(10)])
        t.settle(0, "a", fail(t.take(0, "a", 4), "m1"))
        snapshot = (log.end_offset, msgpack.packb(t.snapshot(), use_bin_type=True))
        publish(t, 5, "tail")
        t.settle(5, "b", fail(t.take(5, "b", 20)))
        from_snapshot, full = recover(t, log, snapshot), recover(t, log)
        same_state(from_snapshot, t, 5)
        same_state(full, t, 5)


def test_compaction_keeps_exactly_the_retained_messages_readable() -> None:
    log = MemoryLog(segment_bytes=600)
    t = topic("t", log, Subscriber("a"), Subscriber("slow"))
    publish(t, 0, *[f"message {i:03}" for i in range(60)])
    t.settle(0, "a", fail(t.take(0, "a", 60)))
    t.settle(0, "slow", fail(t.take(0, "slow", 50)))  # ten left for "slow"
    log.commit()
    before = log.disk_bytes()
    checkpoint(t, log)
    assert log.disk_bytes() < before and t.message_count == 10
    for offset in t.live_offsets():
        assert decode_topic_record(log.read(offset))[0] == 32
    again = recover(t, log)
    same_state(again, t, 0)
    again.set_subscriptions(0, [Subscriber("a"), Subscriber("slow")])
    assert texts(again.take(0, "slow", 20)) == [f"message {i:03}" for i in range(50, 60)]


def test_a_topic_reopened_from_its_files_resumes_delivery(tmp_path: Path) -> None:
    clock = ManualClock()
    with FileLog(tmp_path, clock=clock) as log:
        t = topic("t", log, Subscriber("a"))
        publish(t, 0, "m1", "m2", "m3")
        t.settle(0, "a", fail(t.take(0, "a", 1)))
        log.commit()
        checkpoint(t, log)
        publish(t, 0, "m4")
        log.commit()
        expected = t.snapshot()
    with FileLog(tmp_path, clock=clock) as log:
        again = recover(t, log)
        assert again.snapshot() == expected
        again.set_subscriptions(0, [Subscriber("a")])
        assert texts(again.take(0, "a", 10)) == ["m2", "m3", "m4"]


def test_a_record_of_another_engine_fails_loudly() -> None:
    log = MemoryLog()
    queue: QueuePartition = new_partition(QueueConfig.create("q"), log, tag=1)
    queue.send(0, [SendEntry(b"x")])
    fresh = TopicPartition(TopicConfig("t"), log, tag=1)
    with pytest.raises(RaybusError) as caught:
        for offset, payload in log.scan(0):
            fresh.replay(offset, payload)
    assert caught.value.code == "StorageFailure"
