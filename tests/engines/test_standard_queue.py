"""Standard queue partition: the SQS rules for send, receive, delete, visibility and purge."""

from __future__ import annotations

import pytest

from raybus.core import ManualClock, RaybusError, decode_receipt, encode_receipt
from raybus.engines import SendEntry, SendResult
from raybus.engines.records import decode
from raybus.storage.memory_log import MemoryLog

from .conftest import MakeQueue, bodies, send

KIB = 1024


# -- send ---------------------------------------------------------------------------------------
def test_a_send_returns_a_unique_message_id_and_the_sqs_digests(
    make_queue: MakeQueue, clock: ManualClock
) -> None:
    queue = make_queue()
    one, two = send(queue, clock.now_ms(), b"hello", "hello")
    assert isinstance(one, SendResult) and one.message_id != two.message_id
    assert one.md5_of_body == two.md5_of_body == "5d41402abc4b2a76b9719d911017c592"
    assert one.sequence_number is None


@pytest.mark.parametrize("body", [b"hello", "h\u00e9llo", b"\x00" * KIB])
def test_a_plain_message_takes_the_inline_path_to_the_same_record_and_result(
    make_queue: MakeQueue, clock: ManualClock, body: bytes | str
) -> None:
    """A body and nothing else is checked inline (QueuePartition.send); the same message with
    an empty attribute map goes through validate_entry. Both must write the same SEND record
    and answer the same result, apart from the sequence number and the message id."""
    plain_log, general_log = MemoryLog(), MemoryLog()
    plain = make_queue(log=plain_log).send(clock.now_ms(), [SendEntry(body)])
    general = make_queue(log=general_log).send(clock.now_ms(), [SendEntry(body, attributes={})])
    assert plain == general  # same tag and seq in both queues, so the same message id too
    (inline,) = [decode(p) for _, p in plain_log.scan()]
    (validated,) = [decode(p) for _, p in general_log.scan()]
    assert inline == validated
    assert inline[5] == (body.encode() if isinstance(body, str) else body)


def test_the_inline_path_keeps_every_refusal(make_queue: MakeQueue, clock: ManualClock) -> None:
    queue = make_queue(max_message_bytes=KIB)
    results = queue.send(
        clock.now_ms(), [SendEntry(b""), SendEntry(b"x" * (KIB + 1)), SendEntry(b"x" * KIB)]
    )
    codes = [getattr(r, "code", None) for r in results]
    assert codes == ["MissingParameter", "MessageTooLong", None]
    assert queue.counters.sent == 1 and queue.counters.sent_bytes == KIB


def test_text_bodies_are_stored_as_utf8(make_queue: MakeQueue, clock: ManualClock) -> None:
    queue = make_queue()
    send(queue, clock.now_ms(), "héllo")
    assert bodies(queue.receive(clock.now_ms(), 1).messages) == ["héllo".encode()]


def test_a_batch_reports_each_entry_and_one_bad_entry_spoils_nothing(
    make_queue: MakeQueue, clock: ManualClock
) -> None:
    queue = make_queue()
    results = queue.send(
        clock.now_ms(),
        [SendEntry(b"a"), SendEntry(b""), SendEntry(b"c"), SendEntry(b"d", delay_s=901)],
    )
    assert [type(r).__name__ for r in results] == [
        "SendResult",
        "RaybusError",
        "SendResult",
        "RaybusError",
    ]
    assert [getattr(r, "code", None) for r in results] == [
        None,
        "MissingParameter",
        None,
        "InvalidParameterValue",
    ]
    assert bodies(queue.receive(clock.now_ms(), 10).messages) == [b"a", b"c"]


def test_the_size_limit_counts_body_and_attributes(
    make_queue: MakeQueue, clock: ManualClock
) -> None:
    queue = make_queue(max_message_bytes=2 * KIB)
    send(queue, clock.now_ms(), b"x" * (2 * KIB))
    (result,) = queue.send(
        clock.now_ms(), [SendEntry(b"x" * (2 * KIB - 10), attributes={"k": ("String", "v" * 10)})]
    )
    assert isinstance(result, RaybusError) and result.code == "MessageTooLong"
    assert result.details == {"size": 2 * KIB - 10 + 1 + 6 + 10, "limit": 2 * KIB}


def test_the_default_limit_is_256_kib_and_the_hard_limit_1_mib(
    make_queue: MakeQueue, clock: ManualClock
) -> None:
    (too_big,) = make_queue().send(clock.now_ms(), [SendEntry(b"x" * (256 * KIB + 1))])
    assert isinstance(too_big, RaybusError) and too_big.code == "MessageTooLong"
    send(make_queue(max_message_bytes=1024 * KIB), clock.now_ms(), b"x" * (1024 * KIB))
    with pytest.raises(RaybusError):
        make_queue(max_message_bytes=1024 * KIB + 1)


def test_a_dedup_id_is_refused_on_a_standard_queue(
    make_queue: MakeQueue, clock: ManualClock
) -> None:
    (result,) = make_queue().send(clock.now_ms(), [SendEntry(b"a", dedup_id="d")])
    assert isinstance(result, RaybusError) and result.code == "InvalidParameterValue"


# -- delay --------------------------------------------------------------------------------------
def test_the_queue_delay_hides_new_messages_until_it_passes(
    make_queue: MakeQueue, clock: ManualClock
) -> None:
    queue = make_queue(delay_s=10)
    send(queue, clock.now_ms(), b"a")
    assert queue.stats(clock.now_ms())["delayed"] == 1
    clock.advance(9.999)
    assert queue.receive(clock.now_ms(), 1).messages == []
    clock.advance(0.001)
    assert bodies(queue.receive(clock.now_ms(), 1).messages) == [b"a"]


def test_a_per_message_delay_overrides_the_queue_delay(
    make_queue: MakeQueue, clock: ManualClock
) -> None:
    queue = make_queue(delay_s=60)
    send(queue, clock.now_ms(), SendEntry(b"now", delay_s=0), SendEntry(b"later", delay_s=5))
    assert bodies(queue.receive(clock.now_ms(), 10).messages) == [b"now"]
    clock.advance(5)
    assert bodies(queue.receive(clock.now_ms(), 10).messages) == [b"later"]


# -- receive and visibility ---------------------------------------------------------------------
def test_a_received_message_is_hidden_for_the_visibility_timeout_then_returns(
    make_queue: MakeQueue, clock: ManualClock
) -> None:
    queue = make_queue(visibility_timeout_s=30)
    send(queue, clock.now_ms(), b"a")
    first = queue.receive(clock.now_ms(), 1).messages[0]
    assert (first.receive_count, first.first_receive_ms) == (1, clock.now_ms())
    first_receive = clock.now_ms()
    clock.advance(29.999)
    assert queue.receive(clock.now_ms(), 1).messages == []
    clock.advance(0.001)
    again = queue.receive(clock.now_ms(), 1).messages[0]
    assert (again.receive_count, again.first_receive_ms) == (2, first_receive)
    assert again.message_id == first.message_id and again.receipt != first.receipt


def test_a_receive_may_override_the_visibility_timeout(
    make_queue: MakeQueue, clock: ManualClock
) -> None:
    queue = make_queue(visibility_timeout_s=30)
    send(queue, clock.now_ms(), b"a")
    queue.receive(clock.now_ms(), 1, visibility_timeout_s=0)
    assert bodies(queue.receive(clock.now_ms(), 1, visibility_timeout_s=5).messages) == [b"a"]
    clock.advance(5)
    assert bodies(queue.receive(clock.now_ms(), 1).messages) == [b"a"]


@pytest.mark.parametrize("timeout", [-1, 43_201, 1.5, "3", True])
def test_visibility_timeouts_outside_0_to_12_hours_are_refused(
    make_queue: MakeQueue, clock: ManualClock, timeout: object
) -> None:
    with pytest.raises(RaybusError) as info:
        make_queue().receive(clock.now_ms(), 1, visibility_timeout_s=timeout)  # type: ignore[arg-type]
    assert info.value.code == "InvalidParameterValue"


def test_receive_returns_at_most_max_messages_oldest_first(
    make_queue: MakeQueue, clock: ManualClock
) -> None:
    queue = make_queue()
    send(queue, clock.now_ms(), *[bytes([65 + i]) for i in range(5)])
    assert bodies(queue.receive(clock.now_ms(), 3).messages) == [b"A", b"B", b"C"]
    assert bodies(queue.receive(clock.now_ms(), 3).messages) == [b"D", b"E"]
    assert queue.receive(clock.now_ms(), 3).messages == []


def test_a_returned_message_is_served_before_newer_ones(
    make_queue: MakeQueue, clock: ManualClock
) -> None:
    queue = make_queue(visibility_timeout_s=1)
    send(queue, clock.now_ms(), b"old")
    queue.receive(clock.now_ms(), 1)
    send(queue, clock.now_ms(), b"new")
    clock.advance(1)
    assert bodies(queue.receive(clock.now_ms(), 2).messages) == [b"old", b"new"]


def test_received_messages_carry_attributes_digests_and_timestamps(
    make_queue: MakeQueue, clock: ManualClock
) -> None:
    queue = make_queue()
    (sent,) = send(queue, clock.now_ms(), SendEntry(b"b", attributes={"k": ("Number", "7")}))
    sent_at = clock.now_ms()
    clock.advance(2)
    message = queue.receive(clock.now_ms(), 1).messages[0]
    assert message.attributes == {"k": ("Number", "7")}
    assert (message.md5_of_body, message.md5_of_attributes) == (
        sent.md5_of_body,
        sent.md5_of_attributes,
    )
    assert (message.sent_ms, message.first_receive_ms) == (sent_at, sent_at + 2000)


# -- delete -------------------------------------------------------------------------------------
def test_deleting_with_the_latest_receipt_removes_the_message(
    make_queue: MakeQueue, clock: ManualClock
) -> None:
    queue = make_queue(visibility_timeout_s=0)
    send(queue, clock.now_ms(), b"a")
    receipt = queue.receive(clock.now_ms(), 1).messages[0].receipt
    assert queue.delete(clock.now_ms(), [receipt]) == [None]
    assert queue.stats(clock.now_ms())["visible"] == 0
    assert queue.delete(clock.now_ms(), [receipt]) == [None]  # again: harmless


def test_a_stale_receipt_succeeds_but_deletes_nothing(
    make_queue: MakeQueue, clock: ManualClock
) -> None:
    queue = make_queue(visibility_timeout_s=1)
    send(queue, clock.now_ms(), b"a")
    stale = queue.receive(clock.now_ms(), 1).messages[0].receipt
    clock.advance(1)
    latest = queue.receive(clock.now_ms(), 1).messages[0].receipt
    assert queue.delete(clock.now_ms(), [stale]) == [None]
    assert queue.stats(clock.now_ms())["in_flight"] == 1
    assert queue.delete(clock.now_ms(), [latest]) == [None]
    assert queue.stats(clock.now_ms())["in_flight"] == 0


def test_an_expired_receipt_still_deletes_if_nobody_received_the_message_since(
    make_queue: MakeQueue, clock: ManualClock
) -> None:
    queue = make_queue(visibility_timeout_s=1)
    send(queue, clock.now_ms(), b"a")
    receipt = queue.receive(clock.now_ms(), 1).messages[0].receipt
    clock.advance(5)
    assert queue.delete(clock.now_ms(), [receipt]) == [None]
    assert queue.receive(clock.now_ms(), 1).messages == []


def test_malformed_and_foreign_receipts_are_invalid(
    make_queue: MakeQueue, clock: ManualClock
) -> None:
    queue, other = make_queue(tag=1), make_queue(tag=2)
    send(other, clock.now_ms(), b"a")
    foreign = other.receive(clock.now_ms(), 1).messages[0].receipt
    forged = encode_receipt(decode_receipt(foreign)._replace(tag=1, seq=99))
    results = queue.delete(clock.now_ms(), ["garbage", foreign, forged, 12])
    assert [getattr(r, "code", None) for r in results] == ["ReceiptHandleIsInvalid"] * 4
    assert other.stats(clock.now_ms())["in_flight"] == 1


def test_a_receipt_decoded_by_the_gateway_is_checked_as_its_handle_would_be(
    make_queue: MakeQueue, clock: ManualClock
) -> None:
    """The gateway decodes receipts to route them and passes the decoded ones on: they delete
    and change visibility as their handles do, and a foreign or forged one is still refused."""
    queue, other = make_queue(tag=1, visibility_timeout_s=30), make_queue(tag=2)
    send(queue, clock.now_ms(), b"a", b"b")
    send(other, clock.now_ms(), b"c")
    first, second = (decode_receipt(m.receipt) for m in queue.receive(clock.now_ms(), 2).messages)
    foreign = decode_receipt(other.receive(clock.now_ms(), 1).messages[0].receipt)
    forged = first._replace(seq=99)
    assert queue.change_visibility(clock.now_ms(), [(first, 0), (forged, 0)])[0] is None
    results = queue.delete(clock.now_ms(), [second, foreign, forged])
    assert results[0] is None
    assert [getattr(r, "code", None) for r in results[1:]] == ["ReceiptHandleIsInvalid"] * 2
    assert queue.stats(clock.now_ms())["visible"] == 1  # first, made visible again
    assert queue.stats(clock.now_ms())["in_flight"] == 0  # second, deleted


# -- change visibility --------------------------------------------------------------------------
def test_changing_visibility_restarts_the_timeout_from_now(
    make_queue: MakeQueue, clock: ManualClock
) -> None:
    queue = make_queue(visibility_timeout_s=10)
    send(queue, clock.now_ms(), b"a")
    receipt = queue.receive(clock.now_ms(), 1).messages[0].receipt
    clock.advance(8)
    assert queue.change_visibility(clock.now_ms(), [(receipt, 10)]) == [None]
    clock.advance(9)
    assert queue.receive(clock.now_ms(), 1).messages == []
    clock.advance(1)
    assert bodies(queue.receive(clock.now_ms(), 1).messages) == [b"a"]


def test_a_zero_visibility_timeout_makes_the_message_visible_at_once(
    make_queue: MakeQueue, clock: ManualClock
) -> None:
    queue = make_queue()
    send(queue, clock.now_ms(), b"a")
    receipt = queue.receive(clock.now_ms(), 1).messages[0].receipt
    queue.change_visibility(clock.now_ms(), [(receipt, 0)])
    assert queue.stats(clock.now_ms())["visible"] == 1


def test_visibility_changes_need_the_latest_receipt_of_an_in_flight_message(
    make_queue: MakeQueue, clock: ManualClock
) -> None:
    queue = make_queue(visibility_timeout_s=1)
    send(queue, clock.now_ms(), b"a", b"b")
    first, second = queue.receive(clock.now_ms(), 2).messages
    clock.advance(1)
    newest = queue.receive(clock.now_ms(), 1).messages[0]  # "a" again
    queue.delete(clock.now_ms(), [newest.receipt])
    results = queue.change_visibility(
        clock.now_ms(), [(first.receipt, 5), (second.receipt, 5), ("junk", 5), (newest.receipt, 5)]
    )
    assert [getattr(r, "code", None) for r in results] == [
        "MessageNotInflight",
        "MessageNotInflight",
        "ReceiptHandleIsInvalid",
        "MessageNotInflight",
    ]


def test_a_message_stays_hidden_at_most_12_hours_after_its_receive(
    make_queue: MakeQueue, clock: ManualClock
) -> None:
    queue = make_queue(visibility_timeout_s=43_200)
    send(queue, clock.now_ms(), b"a")
    receipt = queue.receive(clock.now_ms(), 1).messages[0].receipt
    clock.advance(3600)
    (too_long,) = queue.change_visibility(clock.now_ms(), [(receipt, 43_200)])
    assert isinstance(too_long, RaybusError) and too_long.code == "InvalidParameterValue"
    assert queue.change_visibility(clock.now_ms(), [(receipt, 43_200 - 3600)]) == [None]


# -- purge, retention, counts -------------------------------------------------------------------
def test_purge_removes_everything_and_may_run_once_a_minute(
    make_queue: MakeQueue, clock: ManualClock
) -> None:
    queue = make_queue()
    send(queue, clock.now_ms(), b"a", b"b", SendEntry(b"c", delay_s=60))
    queue.receive(clock.now_ms(), 1)
    assert queue.purge(clock.now_ms()) == 3
    assert queue.stats(clock.now_ms()) == {
        "visible": 0,
        "in_flight": 0,
        "delayed": 0,
        "oldest_age_ms": 0,
    }
    clock.advance(59)
    with pytest.raises(RaybusError) as info:
        queue.purge(clock.now_ms())
    assert info.value.code == "PurgeQueueInProgress"
    clock.advance(1)
    assert queue.purge(clock.now_ms()) == 0


def test_messages_expire_after_the_retention_period_even_in_flight(
    make_queue: MakeQueue, clock: ManualClock
) -> None:
    queue = make_queue(retention_s=60, visibility_timeout_s=600)
    send(queue, clock.now_ms(), b"a")
    clock.advance(30)
    send(queue, clock.now_ms(), b"b")
    queue.receive(clock.now_ms(), 1)  # "a" in flight
    clock.advance(30)
    assert queue.stats(clock.now_ms())["in_flight"] == 0
    assert bodies(queue.receive(clock.now_ms(), 10).messages) == [b"b"]
    assert queue.counters.expired == 1


def test_counts_and_the_age_of_the_oldest_message(
    make_queue: MakeQueue, clock: ManualClock
) -> None:
    queue = make_queue()
    send(queue, clock.now_ms(), b"a", b"b")
    clock.advance(3)
    send(queue, clock.now_ms(), SendEntry(b"c", delay_s=10))
    queue.receive(clock.now_ms(), 1)
    assert queue.stats(clock.now_ms()) == {
        "visible": 1,
        "in_flight": 1,
        "delayed": 1,
        "oldest_age_ms": 3000,
    }


def test_the_long_poll_signal_follows_visibility(make_queue: MakeQueue, clock: ManualClock) -> None:
    queue = make_queue(visibility_timeout_s=5)
    assert not queue.has_visible(clock.now_ms()) and queue.next_change_ms() is None
    send(queue, clock.now_ms(), SendEntry(b"a", delay_s=2))
    assert not queue.has_visible(clock.now_ms())
    assert queue.next_change_ms() == clock.now_ms() + 2000
    clock.advance(2)
    assert queue.has_visible(clock.now_ms())
    queue.receive(clock.now_ms(), 1)
    assert not queue.has_visible(clock.now_ms())
    assert queue.next_change_ms() == clock.now_ms() + 5000


def test_lazily_cleaned_indexes_stay_proportional_to_live_messages(
    make_queue: MakeQueue, clock: ManualClock
) -> None:
    queue = make_queue(retention_s=60, visibility_timeout_s=43_200)
    send(queue, clock.now_ms(), b"stuck")
    queue.receive(clock.now_ms(), 1)  # in flight for 12 h: it pins the arrival order
    for _ in range(200):
        send(queue, clock.now_ms(), *[b"x"] * 50)
        clock.advance(1)  # older messages expire, nobody consumes
    live = sum(queue.stats(clock.now_ms())[k] for k in ("visible", "in_flight", "delayed"))
    sizes = [len(queue._arrivals), len(queue._fresh) + len(queue._returned)]  # type: ignore[attr-defined]
    assert all(size <= 2 * live + 64 + 50 for size in sizes), (sizes, live)
