"""Delivering a topic's messages: per-subscriber cursors, filters, retries, dead letters, FIFO
order, retention and pipelining. Time is a number: every call takes ``now`` explicitly."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pytest

from raybus.core.errors import RaybusError
from raybus.core.topics import PublishEntry, TopicConfig
from raybus.engines import Delivery, Message, Subscriber, TopicPartition
from raybus.engines.topic import engine as topic_module
from raybus.storage import MemoryLog


def topic(name: str = "t", *subs: Subscriber, log: MemoryLog | None = None) -> TopicPartition:
    t = TopicPartition(
        TopicConfig(name, fifo=name.endswith(".fifo")),
        log if log is not None else MemoryLog(),
        tag=1,
    )
    t.set_subscriptions(0, list(subs))
    return t


def publish(t: TopicPartition, now: int, *bodies: str, **common: Any) -> None:
    if t.config.fifo:
        common.setdefault("group_id", "g")
        entries = [PublishEntry(b, dedup_id=f"{b}@{now}", **common) for b in bodies]
    else:
        entries = [PublishEntry(b, **common) for b in bodies]
    for result in t.publish(now, entries):
        if isinstance(result, RaybusError):
            raise result


def schedule(*delays_ms: int) -> Callable[[int], int | None]:
    """A retry policy: the n-th failure waits ``delays_ms[n-1]``; then it is exhausted."""

    def delay(failed: int) -> int | None:
        return delays_ms[failed - 1] if failed <= len(delays_ms) else None

    return delay


def texts(deliveries: Sequence[Delivery]) -> list[str]:
    return [d.message.body.decode() for d in deliveries]


def attempts(deliveries: Sequence[Delivery]) -> list[tuple[str, int]]:
    return [(d.message.body.decode(), d.attempt) for d in deliveries]


def outcomes(deliveries: Sequence[Delivery], failing: set[str] | None = None) -> list[Any]:
    failing = failing or set()
    return [(d.seq, d.message.body.decode() not in failing) for d in deliveries]


def sub_stats(t: TopicPartition, sub_id: str, now: int = 0) -> dict[str, int]:
    stats: dict[str, int] = t.stats(now)["subscriptions"][sub_id]
    return stats


# -- fan-out -------------------------------------------------------------------------------------


def test_each_subscriber_gets_every_message_with_its_own_cursor() -> None:
    t = topic("t", Subscriber("a"), Subscriber("b"))
    publish(t, 0, "m1", "m2", "m3")
    got_a = t.take(0, "a", 2)
    assert texts(got_a) == ["m1", "m2"]
    t.settle(0, "a", outcomes(got_a))
    assert texts(t.take(0, "b", 10)) == ["m1", "m2", "m3"]
    assert texts(t.take(0, "a", 10)) == ["m3"]
    assert sub_stats(t, "a")["delivered"] == 2 and sub_stats(t, "b")["delivered"] == 0


def test_the_message_object_is_shared_not_copied_per_subscriber() -> None:
    t = topic("t", Subscriber("a"), Subscriber("b"))
    publish(t, 0, "m")
    assert t.take(0, "a", 1)[0].message is t.take(0, "b", 1)[0].message


def test_a_subscriber_added_later_starts_at_the_end() -> None:
    t = topic("t", Subscriber("a"))
    publish(t, 0, "before")
    t.set_subscriptions(0, [Subscriber("a"), Subscriber("b")])
    publish(t, 0, "after")
    assert texts(t.take(0, "b", 10)) == ["after"]
    assert texts(t.take(0, "a", 10)) == ["before", "after"]


def test_changing_a_subscriber_swaps_its_callables_and_keeps_its_cursor() -> None:
    t = topic("t", Subscriber("a"))
    publish(t, 0, "m1", "m2")
    t.settle(0, "a", outcomes(t.take(0, "a", 1)))
    t.set_subscriptions(0, [Subscriber("a", matches=lambda m: m.body != b"m3")])
    publish(t, 0, "m3", "m4")
    assert texts(t.take(0, "a", 10)) == ["m2", "m4"]


def test_two_subscribers_with_one_id_are_refused() -> None:
    t = topic()
    with pytest.raises(ValueError):
        t.set_subscriptions(0, [Subscriber("a"), Subscriber("a")])


def test_unknown_subscribers_are_no_ops() -> None:
    t = topic("t", Subscriber("a"))
    publish(t, 0, "m")
    assert t.take(0, "zz", 10) == []
    assert t.settle(0, "zz", [(1, True)]) == []
    t.settle_exhausted(0, "zz", [1], True)
    assert not t.has_work(0, "zz") and t.next_due_ms("zz") is None


def test_settling_something_not_in_flight_changes_nothing() -> None:
    t = topic("t", Subscriber("a"))
    publish(t, 0, "m1", "m2")
    (d1, _) = t.take(0, "a", 10)
    t.settle(0, "a", [(d1.seq, True), (d1.seq, False), (99, True)])
    assert sub_stats(t, "a")["delivered"] == 1 and sub_stats(t, "a")["failed"] == 0


# -- filters -------------------------------------------------------------------------------------


def only(*wanted: str) -> Callable[[Message], bool]:
    return lambda m: m.body.decode() in wanted


def test_filtered_out_messages_are_skipped_and_settled_at_once() -> None:
    t = topic("t", Subscriber("a", matches=only("m2", "m4")), Subscriber("b"))
    publish(t, 0, "m1", "m2", "m3", "m4")
    got = t.take(0, "a", 10)
    assert texts(got) == ["m2", "m4"]
    stats = sub_stats(t, "a")
    assert stats["filtered"] == 2 and stats["backlog"] == 2
    t.settle(0, "a", outcomes(got))
    assert sub_stats(t, "a")["backlog"] == 0
    assert not t.has_work(0, "a")


def test_a_take_that_only_filters_returns_nothing_and_nothing_is_left() -> None:
    t = topic("t", Subscriber("a", matches=only()))
    publish(t, 0, "m1", "m2")
    assert t.has_work(0, "a")  # take would settle the filtered messages
    assert t.take(0, "a", 10) == []
    assert not t.has_work(0, "a") and t.message_count == 0


def test_a_take_scans_a_bounded_number_of_filtered_messages(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(topic_module, "FILTER_SCAN_MAX", 3)
    t = topic("t", Subscriber("a", matches=only("m8")))
    publish(t, 0, *[f"m{i}" for i in range(1, 9)])
    assert t.take(0, "a", 10) == [] and t.has_work(0, "a")
    assert t.take(0, "a", 10) == []
    assert texts(t.take(0, "a", 10)) == ["m8"]
    assert sub_stats(t, "a")["filtered"] == 7


# -- retries -------------------------------------------------------------------------------------


def test_a_failed_delivery_is_retried_when_its_delay_has_passed() -> None:
    t = topic("t", Subscriber("a", retry_delay_ms=schedule(1_000, 5_000)))
    publish(t, 0, "m")
    assert t.settle(100, "a", outcomes(t.take(100, "a", 10), {"m"})) == []
    assert t.next_due_ms("a") == 1_100
    assert not t.has_work(1_099, "a") and t.take(1_099, "a", 10) == []
    assert t.has_work(1_100, "a")
    retry = t.take(1_100, "a", 10)
    assert attempts(retry) == [("m", 2)]
    assert t.next_due_ms("a") is None  # the retry is in flight
    t.settle(1_200, "a", outcomes(retry, {"m"}))
    assert t.next_due_ms("a") == 6_200
    stats = sub_stats(t, "a", 6_000)
    assert (stats["failed"], stats["retried"], stats["retrying"], stats["backlog"]) == (2, 1, 1, 1)


def test_due_retries_come_before_new_messages_oldest_due_first() -> None:
    delays = iter([3_000, 1_000])  # the first failure waits longer than the second
    t = topic("t", Subscriber("s", retry_delay_ms=lambda n: next(delays)))
    publish(t, 0, "a", "b")
    t.settle(0, "s", outcomes(t.take(0, "s", 10), {"a", "b"}))
    publish(t, 0, "c")
    assert attempts(t.take(1_000, "s", 10)) == [("b", 2), ("c", 1)]
    publish(t, 0, "d")
    assert attempts(t.take(3_000, "s", 10)) == [("a", 2), ("d", 1)]


def test_a_retry_is_never_handed_out_twice_while_in_flight() -> None:
    t = topic("t", Subscriber("a", retry_delay_ms=schedule(0, 0)))
    publish(t, 0, "m")
    t.settle(0, "a", outcomes(t.take(0, "a", 10), {"m"}))
    assert texts(t.take(0, "a", 10)) == ["m"]
    assert t.take(0, "a", 10) == [] and not t.has_work(0, "a")


def test_an_exhausted_message_without_a_dead_letter_queue_is_discarded() -> None:
    t = topic("t", Subscriber("a", retry_delay_ms=schedule(10)))
    publish(t, 0, "m")
    t.settle(0, "a", outcomes(t.take(0, "a", 10), {"m"}))
    assert t.settle(10, "a", outcomes(t.take(10, "a", 10), {"m"})) == []
    stats = sub_stats(t, "a")
    assert (stats["discarded"], stats["backlog"], stats["failed"]) == (1, 0, 2)
    assert t.message_count == 0


def test_an_exhausted_message_goes_to_the_dead_letter_queue_once_acknowledged() -> None:
    t = topic("t", Subscriber("a", retry_delay_ms=schedule(10), has_dead_letter_queue=True))
    publish(t, 0, "m")
    t.settle(0, "a", outcomes(t.take(0, "a", 10), {"m"}))
    (gone,) = t.settle(10, "a", outcomes(t.take(10, "a", 10), {"m"}))
    assert (gone.message.body, gone.attempts) == (b"m", 2)
    assert t.take(10_000, "a", 10) == [] and t.message_count == 1  # held for the move
    t.settle_exhausted(10, "a", [gone.seq], True)
    stats = sub_stats(t, "a")
    assert (stats["dead_lettered"], stats["backlog"], stats["discarded"]) == (1, 0, 0)
    assert t.message_count == 0


def test_a_refused_dead_letter_is_retried_after_the_last_delay_and_never_lost() -> None:
    t = topic("t", Subscriber("a", retry_delay_ms=schedule(700), has_dead_letter_queue=True))
    publish(t, 0, "m")
    t.settle(0, "a", outcomes(t.take(0, "a", 10), {"m"}))
    (gone,) = t.settle(700, "a", outcomes(t.take(700, "a", 10), {"m"}))
    t.settle_exhausted(800, "a", [gone.seq], False)
    assert t.next_due_ms("a") == 1_500
    again = t.take(1_500, "a", 10)
    assert attempts(again) == [("m", 3)]
    (gone,) = t.settle(1_500, "a", outcomes(again, {"m"}))  # exhausted again: DLQ again
    assert gone.attempts == 3
    t.settle_exhausted(1_600, "a", [gone.seq], True)
    assert sub_stats(t, "a")["dead_lettered"] == 1 and t.message_count == 0


def test_a_policy_without_retries_exhausts_at_once_and_a_refusal_waits_a_second() -> None:
    t = topic("t", Subscriber("a", has_dead_letter_queue=True))
    publish(t, 0, "m")
    (gone,) = t.settle(0, "a", outcomes(t.take(0, "a", 10), {"m"}))
    assert gone.attempts == 1
    t.settle_exhausted(0, "a", [gone.seq], False)
    assert t.next_due_ms("a") == topic_module.REDRIVE_RETRY_DELAY_MS


# -- FIFO order ----------------------------------------------------------------------------------


def fifo_sub(**settings: Any) -> Subscriber:
    return Subscriber("f", fifo_order=True, **settings)


def test_fifo_order_allows_one_batch_in_flight() -> None:
    t = topic("t.fifo", fifo_sub())
    publish(t, 0, "m1", "m2", "m3")
    assert texts(t.take(0, "f", 2)) == ["m1", "m2"]
    assert t.take(0, "f", 2) == [] and not t.has_work(0, "f")


def test_fifo_order_retries_the_failed_message_before_anything_after_it() -> None:
    t = topic("t.fifo", fifo_sub(retry_delay_ms=schedule(1_000)))
    publish(t, 0, "m1", "m2", "m3", "m4")
    batch = t.take(0, "f", 10)
    t.settle(0, "f", outcomes(batch, {"m2"}))  # m3, m4 settled ok after the failure
    stats = sub_stats(t, "f")
    assert (stats["delivered"], stats["failed"], stats["backlog"]) == (1, 1, 3)
    publish(t, 0, "m5")
    assert t.take(999, "f", 10) == [] and not t.has_work(999, "f")
    assert t.next_due_ms("f") == 1_000
    retry = t.take(1_000, "f", 10)
    assert attempts(retry) == [("m2", 2)]  # alone: what follows waits for it to go through
    t.settle(1_000, "f", outcomes(retry))
    assert attempts(t.take(1_000, "f", 10)) == [("m3", 1), ("m4", 1), ("m5", 1)]


def test_fifo_order_settles_in_seq_order_whatever_the_outcome_order() -> None:
    t = topic("t.fifo", fifo_sub(retry_delay_ms=schedule(5)))
    publish(t, 0, "m1", "m2", "m3")
    batch = t.take(0, "f", 10)
    t.settle(0, "f", list(reversed(outcomes(batch, {"m1"}))))
    retry = t.take(5, "f", 10)
    assert attempts(retry) == [("m1", 2)]
    t.settle(5, "f", outcomes(retry))
    assert attempts(t.take(5, "f", 10)) == [("m2", 1), ("m3", 1)]


def test_fifo_order_returns_unreported_later_deliveries_too() -> None:
    t = topic("t.fifo", fifo_sub(retry_delay_ms=schedule(5)))
    publish(t, 0, "m1", "m2", "m3")
    batch = t.take(0, "f", 10)
    t.settle(0, "f", [(batch[0].seq, False)])
    retry = t.take(5, "f", 10)
    assert attempts(retry) == [("m1", 2)]
    t.settle(5, "f", outcomes(retry))
    assert attempts(t.take(5, "f", 10)) == [("m2", 1), ("m3", 1)]


def test_fifo_order_dead_letters_an_exhausted_message_then_continues() -> None:
    t = topic("t.fifo", fifo_sub(has_dead_letter_queue=True))
    publish(t, 0, "m1", "m2", "m3")
    (gone,) = t.settle(0, "f", outcomes(t.take(0, "f", 10), {"m1"}))
    assert t.take(0, "f", 10) == []  # blocked while the move is pending
    t.settle_exhausted(0, "f", [gone.seq], False)
    assert t.take(999, "f", 10) == []
    assert t.next_due_ms("f") == 1_000
    (gone,) = t.settle(1_000, "f", outcomes(t.take(1_000, "f", 1), {"m1"}))
    t.settle_exhausted(1_000, "f", [gone.seq], True)
    assert attempts(t.take(1_000, "f", 10)) == [("m2", 1), ("m3", 1)]


def test_fifo_order_discards_an_exhausted_message_without_a_queue_and_continues() -> None:
    t = topic("t.fifo", fifo_sub())
    publish(t, 0, "m1", "m2")
    assert t.settle(0, "f", outcomes(t.take(0, "f", 10), {"m1"})) == []
    assert attempts(t.take(0, "f", 10)) == [("m2", 1)]
    assert sub_stats(t, "f")["discarded"] == 1


# -- pipelining, retention, enabling -------------------------------------------------------------


def test_pipelined_takes_hand_out_disjoint_batches_settled_in_any_order() -> None:
    t = topic("t", Subscriber("a"))
    publish(t, 0, *[f"m{i}" for i in range(1, 7)])
    first, second = t.take(0, "a", 3), t.take(0, "a", 3)
    assert texts(first) == ["m1", "m2", "m3"] and texts(second) == ["m4", "m5", "m6"]
    t.settle(0, "a", outcomes(second))
    assert t.message_count == 6  # the cursor waits for m1..m3
    assert sub_stats(t, "a")["backlog"] == 3
    t.settle(0, "a", outcomes(first))
    assert t.message_count == 0 and t.live_offsets() == []


def test_a_message_is_retained_until_every_cursor_passed_it_and_no_retry_needs_it() -> None:
    t = topic("t", Subscriber("a", retry_delay_ms=schedule(50)), Subscriber("b"))
    publish(t, 0, "m1", "m2")
    offsets = t.live_offsets()
    assert len(offsets) == 2
    t.settle(0, "a", outcomes(t.take(0, "a", 10), {"m1"}))
    t.settle(0, "b", outcomes(t.take(0, "b", 10)))
    assert t.message_count == 1 and t.live_offsets() == offsets[:1]  # m1 waits for a's retry
    t.settle(50, "a", outcomes(t.take(50, "a", 10)))
    assert t.message_count == 0


def test_removing_a_subscriber_releases_what_only_it_retained() -> None:
    t = topic("t", Subscriber("a"), Subscriber("slow"))
    publish(t, 0, "m1", "m2")
    t.settle(0, "a", outcomes(t.take(0, "a", 10)))
    assert t.message_count == 2
    t.set_subscriptions(0, [Subscriber("a")])
    assert t.message_count == 0 and list(t.stats(0)["subscriptions"]) == ["a"]


def test_a_disabled_subscriber_gets_nothing_and_its_messages_wait() -> None:
    t = topic("t", Subscriber("a", enabled=False))
    publish(t, 0, "m1")
    assert t.take(0, "a", 10) == [] and not t.has_work(0, "a")
    assert t.message_count == 1 and sub_stats(t, "a")["backlog"] == 1
    t.set_subscriptions(0, [Subscriber("a")])
    assert texts(t.take(0, "a", 10)) == ["m1"]


def test_stats_report_the_contract_keys() -> None:
    t = topic("t", Subscriber("a"))
    publish(t, 0, "m")
    assert t.stats(0) == {
        "published": 1,
        "retained": 1,
        "subscriptions": {
            "a": {
                "backlog": 1,
                "retrying": 0,
                "delivered": 0,
                "failed": 0,
                "retried": 0,
                "dead_lettered": 0,
                "discarded": 0,
                "filtered": 0,
            }
        },
    }


def test_without_a_message_cache_deliveries_are_read_back_from_the_log() -> None:
    log = MemoryLog()
    cached = topic("t.fifo", Subscriber("a"))
    uncached = TopicPartition(TopicConfig("t.fifo", fifo=True), log, tag=1, cache_bytes=0)
    uncached.set_subscriptions(0, [Subscriber("a")])
    for t in (cached, uncached):
        t.publish(
            3,
            [
                PublishEntry(
                    "m", attributes={"k": ("String", "v")}, subject="S", group_id="g", dedup_id="d"
                )
            ],
        )
    assert uncached.take(3, "a", 1) == cached.take(3, "a", 1)


def test_switching_a_subscriber_out_of_fifo_order_keeps_its_retries() -> None:
    t = topic("t", Subscriber("a", fifo_order=True, retry_delay_ms=schedule(10, 10)))
    publish(t, 0, "m1", "m2")
    t.settle(0, "a", outcomes(t.take(0, "a", 10), {"m1"}))
    retry = t.take(10, "a", 10)  # m1 alone; m2 is held back behind it
    t.set_subscriptions(0, [Subscriber("a", retry_delay_ms=schedule(10, 10))])
    t.settle(10, "a", outcomes(retry, {"m1"}))
    assert attempts(t.take(20, "a", 10)) == [("m2", 1), ("m1", 3)]  # m2 no longer waits
    assert sub_stats(t, "a")["retried"] == 2


def test_fifo_order_takes_no_ok_ahead_of_an_earlier_unreported_delivery() -> None:
    t = topic("t.fifo", fifo_sub(retry_delay_ms=schedule(5)))
    publish(t, 0, "m1", "m2", "m3")
    m1, m2, m3 = t.take(0, "f", 10)
    t.settle(0, "f", [(m2.seq, True), (m3.seq, False)])  # m1 not reported yet
    assert sub_stats(t, "f")["delivered"] == 0 and sub_stats(t, "f")["failed"] == 0
    assert t.take(0, "f", 10) == []  # m1 is still in flight
    t.settle(0, "f", [(m1.seq, True)])
    assert attempts(t.take(0, "f", 10)) == [("m2", 1), ("m3", 1)]
