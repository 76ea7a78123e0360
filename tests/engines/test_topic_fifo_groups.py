"""FIFO order per message group (SNS): a message waiting for a retry holds back the later
messages of its own group only; the other groups keep flowing, and the held group resumes in
order once its head is delivered, dead-lettered or discarded — also across a recovery from
the log. Time is a number: every call takes ``now`` explicitly."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import msgpack
import pytest

from raybus.core.errors import RaybusError
from raybus.core.topics import PublishEntry, TopicConfig
from raybus.engines import Delivery, Subscriber, TopicPartition
from raybus.engines.topic import fifo as fifo_module
from raybus.storage import MemoryLog, PartitionLog

SUB = "f"


def schedule(*delays_ms: int) -> Callable[[int], int | None]:
    """The n-th failure waits ``delays_ms[n-1]``; then the policy is exhausted."""
    return lambda failed: delays_ms[failed - 1] if failed <= len(delays_ms) else None


def spec(**settings: Any) -> Subscriber:
    return Subscriber(SUB, fifo_order=True, **settings)


def fifo_topic(log: PartitionLog | None = None, **settings: Any) -> TopicPartition:
    t = TopicPartition(
        TopicConfig("t.fifo", fifo=True), log if log is not None else MemoryLog(), tag=3
    )
    t.set_subscriptions(0, [spec(**settings)])
    return t


def publish(t: TopicPartition, now: int, *names: str) -> None:
    """Publish messages named ``<group><n>`` (``a1``, ``b2``...): the group is the letter."""
    entries = [PublishEntry(n, group_id=n[0], dedup_id=n) for n in names]
    for result in t.publish(now, entries):
        if isinstance(result, RaybusError):
            raise result


def names(deliveries: Sequence[Delivery]) -> list[str]:
    return [d.message.body.decode() for d in deliveries]


def tries(deliveries: Sequence[Delivery]) -> list[tuple[str, int]]:
    return [(d.message.body.decode(), d.attempt) for d in deliveries]


def report(deliveries: Sequence[Delivery], *failing: str) -> list[tuple[int, bool]]:
    return [(d.seq, d.message.body.decode() not in failing) for d in deliveries]


def deliver(t: TopicPartition, now: int, *failing: str, limit: int = 100) -> list[Delivery]:
    """One take and its settle; returns what was taken."""
    batch = t.take(now, SUB, limit)
    t.settle(now, SUB, report(batch, *failing))
    return batch


def stats(t: TopicPartition, now: int = 0) -> dict[str, int]:
    counters: dict[str, int] = t.stats(now)["subscriptions"][SUB]
    return counters


def recovered(live: TopicPartition, log: PartitionLog, *, snapshot: bool) -> TopicPartition:
    fresh = TopicPartition(live.config, log, tag=live.tag)
    start = 0
    if snapshot:
        start = log.end_offset
        fresh.restore(msgpack.unpackb(msgpack.packb(live.snapshot()), strict_map_key=False))
    for offset, payload in log.scan(start):
        fresh.replay(offset, payload)
    fresh.finish_recovery()
    return fresh


# -- one group held, the others flowing ---------------------------------------------------------


def test_a_retrying_message_holds_back_its_group_while_other_groups_are_delivered() -> None:
    t = fifo_topic(retry_delay_ms=schedule(1_000, 1_000, 1_000))
    publish(t, 0, "a1", "b1", "a2", "b2")
    assert names(deliver(t, 0, "a1")) == ["a1", "b1", "a2", "b2"]
    publish(t, 10, "a3", "b3", "c1")
    assert names(deliver(t, 10)) == ["b3", "c1"]  # a2 and a3 wait behind a1
    assert tries(deliver(t, 1_000, "a1")) == [("a1", 2)]  # a retry goes alone
    publish(t, 1_500, "b4")
    assert names(deliver(t, 1_500)) == ["b4"]
    assert tries(deliver(t, 2_000)) == [("a1", 3)]
    publish(t, 2_000, "a4")
    assert tries(deliver(t, 2_000)) == [("a2", 1), ("a3", 1), ("a4", 1)]  # flowing again
    counters = stats(t)
    assert (counters["delivered"], counters["backlog"], counters["failed"]) == (9, 0, 2)
    assert t.message_count == 0


def test_a_held_group_resumes_in_order_after_its_head_is_dead_lettered() -> None:
    t = fifo_topic(retry_delay_ms=schedule(500), has_dead_letter_queue=True)
    publish(t, 0, "a1", "a2", "b1")
    deliver(t, 0, "a1")
    publish(t, 100, "a3", "b2")
    assert names(deliver(t, 100)) == ["b2"]
    batch = t.take(500, SUB, 100)
    assert tries(batch) == [("a1", 2)]
    (gone,) = t.settle(500, SUB, report(batch, "a1"))
    assert t.take(500, SUB, 100) == []  # held while the move is pending
    t.settle_exhausted(500, SUB, [gone.seq], True)
    assert tries(deliver(t, 500)) == [("a2", 1), ("a3", 1)]
    counters = stats(t)
    assert (counters["dead_lettered"], counters["delivered"], counters["backlog"]) == (1, 4, 0)


def test_a_held_group_resumes_after_its_head_is_discarded_without_a_queue() -> None:
    t = fifo_topic(retry_delay_ms=schedule(500))
    publish(t, 0, "a1", "b1")
    deliver(t, 0, "a1")
    publish(t, 1, "a2")
    assert t.take(1, SUB, 100) == [] and not t.has_work(1, SUB)
    assert tries(deliver(t, 500, "a1")) == [("a1", 2)]  # the policy runs out: discarded
    assert tries(deliver(t, 500)) == [("a2", 1)]
    assert stats(t)["discarded"] == 1 and stats(t)["backlog"] == 0


def test_settle_stops_each_group_at_its_own_failure() -> None:
    t = fifo_topic(retry_delay_ms=schedule(50))
    publish(t, 0, "a1", "b1", "a2", "b2", "c1")
    t.settle(0, SUB, report(t.take(0, SUB, 100), "a1", "c1"))
    counters = stats(t)
    assert (counters["delivered"], counters["failed"]) == (2, 2)  # b1 and b2
    assert counters["retrying"] == 2 and counters["backlog"] == 3  # a1, c1 retry; a2 waits
    assert t.take(49, SUB, 100) == []
    retries = t.take(50, SUB, 100)
    assert tries(retries) == [("a1", 2), ("c1", 2)]  # a2 follows once a1 is through
    t.settle(50, SUB, report(retries))
    assert tries(t.take(50, SUB, 100)) == [("a2", 1)]


def test_an_unreported_delivery_keeps_its_group_in_flight_and_not_the_others() -> None:
    t = fifo_topic(retry_delay_ms=schedule(5))
    publish(t, 0, "a1", "b1", "a2", "b2")
    a1, b1, a2, b2 = t.take(0, SUB, 100)
    t.settle(0, SUB, [(b1.seq, True), (a2.seq, True), (b2.seq, True)])  # a1 not reported
    assert stats(t)["delivered"] == 2
    assert t.take(0, SUB, 100) == []  # a1 is still in flight: one batch at a time
    t.settle(0, SUB, [(a1.seq, True)])
    assert tries(t.take(0, SUB, 100)) == [("a2", 1)]  # a2's ok came ahead of a1: taken again


def test_a_line_longer_than_a_batch_is_handed_out_in_order_over_several_takes() -> None:
    t = fifo_topic(retry_delay_ms=schedule(10))
    publish(t, 0, "a1")
    deliver(t, 0, "a1")
    publish(t, 1, "a2", "a3", "a4", "b1")
    assert names(deliver(t, 1)) == ["b1"]
    assert names(deliver(t, 10, limit=2)) == ["a1"]
    assert names(deliver(t, 10, limit=1)) == ["a2"]
    publish(t, 10, "a5")
    assert names(deliver(t, 10, limit=2)) == ["a3", "a4"]  # a5 waits for the line
    assert names(deliver(t, 10, limit=2)) == ["a5"]
    assert stats(t)["backlog"] == 0


def test_held_back_messages_are_retained_and_the_other_groups_are_not() -> None:
    t = fifo_topic(retry_delay_ms=schedule(60_000))
    publish(t, 0, "a1")
    deliver(t, 0, "a1")
    for n in range(1, 51):
        publish(t, n, f"b{n}", f"a{n + 1}")
        deliver(t, n)
    assert t.message_count == 51  # a1..a51; no b is kept for the held group
    counters = stats(t)
    assert (counters["backlog"], counters["retrying"], counters["delivered"]) == (51, 1, 50)


# -- timers ---------------------------------------------------------------------------------------


def test_has_work_and_next_due_follow_the_lines() -> None:
    t = fifo_topic(retry_delay_ms=schedule(1_000))
    publish(t, 0, "a1")
    deliver(t, 0, "a1")
    assert t.next_due_ms(SUB) == 1_000 and not t.has_work(999, SUB)
    publish(t, 5, "a2")
    assert t.has_work(5, SUB)  # a take would hold a2 back (a durable change)
    assert t.take(5, SUB, 100) == [] and not t.has_work(5, SUB)
    publish(t, 6, "b1")
    assert t.has_work(6, SUB)
    batch = t.take(6, SUB, 100)
    assert names(batch) == ["b1"]
    assert t.next_due_ms(SUB) is None and not t.has_work(1_000, SUB)  # a batch in flight
    t.settle(6, SUB, report(batch))
    assert t.next_due_ms(SUB) == 1_000 and t.has_work(1_000, SUB)


def test_a_take_holds_back_a_bounded_number_of_messages(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fifo_module, "FILTER_SCAN_MAX", 3)
    t = fifo_topic(retry_delay_ms=schedule(1_000))
    publish(t, 0, "a1")
    deliver(t, 0, "a1")
    publish(t, 1, "a2", "a3", "a4", "a5", "b1")
    assert t.take(1, SUB, 100) == [] and t.has_work(1, SUB)
    assert names(t.take(1, SUB, 100)) == ["b1"]


# -- recovery -------------------------------------------------------------------------------------


@pytest.mark.parametrize("snapshot", [False, True], ids=["replay", "snapshot"])
def test_a_held_group_stays_held_and_in_order_after_recovery(snapshot: bool) -> None:
    log = MemoryLog()
    policy = schedule(1_000, 1_000)
    t = fifo_topic(log, retry_delay_ms=policy)
    publish(t, 0, "a1", "b1", "a2")
    deliver(t, 0, "a1")
    publish(t, 10, "a3", "b2")
    assert names(deliver(t, 10)) == ["b2"]
    log.commit()
    again = recovered(t, log, snapshot=snapshot)
    assert again.snapshot() == t.snapshot()
    again.set_subscriptions(0, [spec(retry_delay_ms=policy)])
    assert again.next_due_ms(SUB) == 1_000
    publish(again, 20, "a4", "b3")
    assert names(deliver(again, 20)) == ["b3"]
    assert tries(deliver(again, 1_000)) == [("a1", 2)]
    assert tries(deliver(again, 1_000)) == [("a2", 1), ("a3", 1), ("a4", 1)]
    assert stats(again)["backlog"] == 0 and again.message_count == 0


def test_a_crash_before_held_messages_were_logged_holds_them_back_again() -> None:
    log = MemoryLog()
    t = fifo_topic(log, retry_delay_ms=schedule(1_000))
    publish(t, 0, "a1", "a2", "b1")
    t.settle(0, SUB, report(t.take(0, SUB, 100), "a1"))  # a2 returned, not yet held back
    log.commit()
    again = recovered(t, log, snapshot=False)
    again.set_subscriptions(0, [spec(retry_delay_ms=schedule(1_000))])
    assert again.take(0, SUB, 100) == []  # a2 is held back now
    assert tries(deliver(again, 1_000)) == [("a1", 2)]
    assert tries(deliver(again, 1_000)) == [("a2", 1)]
