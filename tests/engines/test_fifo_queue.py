"""FIFO queue partition: order per group, group blocking, deduplication, sequence numbers."""

from __future__ import annotations

import hashlib

import pytest

from raybus.core import ManualClock, RaybusError
from raybus.engines import DEDUP_WINDOW_MS, SendEntry

from .conftest import MakeQueue, bodies, send


def entry(body: str, group: str = "g", dedup: str | None = None) -> SendEntry:
    return SendEntry(body.encode(), group_id=group, dedup_id=dedup or body)


def test_every_message_needs_a_valid_group_id(make_queue: MakeQueue, clock: ManualClock) -> None:
    queue = make_queue("q.fifo")
    results = queue.send(
        clock.now_ms(),
        [
            SendEntry(b"a", dedup_id="1"),
            SendEntry(b"a", group_id="x" * 129, dedup_id="2"),
            SendEntry(b"a", group_id="has space", dedup_id="3"),
            SendEntry(b"a", group_id="x" * 128, dedup_id="4"),
            SendEntry(b"a", group_id="!#$%&()*+,-./:;<=>?@[]^_`{|}~", dedup_id="5"),
        ],
    )
    assert [getattr(r, "code", None) for r in results] == [
        "MissingParameter",
        "InvalidParameterValue",
        "InvalidParameterValue",
        None,
        None,
    ]


def test_a_per_message_delay_is_refused_as_sqs_refuses_it(
    make_queue: MakeQueue, clock: ManualClock
) -> None:
    queue = make_queue("q.fifo")
    results = queue.send(
        clock.now_ms(),
        [
            SendEntry(b"a", group_id="g", dedup_id="1", delay_s=0),
            SendEntry(b"a", group_id="g", dedup_id="2", delay_s=5),
        ],
    )
    assert [getattr(r, "code", None) for r in results] == ["InvalidParameterValue"] * 2


def test_without_content_based_dedup_a_dedup_id_is_required(
    make_queue: MakeQueue, clock: ManualClock
) -> None:
    (result,) = make_queue("q.fifo").send(clock.now_ms(), [SendEntry(b"a", group_id="g")])
    assert isinstance(result, RaybusError) and result.code == "InvalidParameterValue"


def test_messages_of_a_group_arrive_in_order(make_queue: MakeQueue, clock: ManualClock) -> None:
    queue = make_queue("q.fifo")
    send(queue, clock.now_ms(), *[entry(str(i)) for i in range(5)])
    messages = queue.receive(clock.now_ms(), 10).messages
    assert bodies(messages) == [str(i).encode() for i in range(5)]
    numbers = [m.sequence_number for m in messages]
    assert numbers == sorted(numbers) and len(set(numbers)) == 5


def test_a_group_with_a_message_in_flight_is_not_served_but_other_groups_are(
    make_queue: MakeQueue, clock: ManualClock
) -> None:
    queue = make_queue("q.fifo")
    send(queue, clock.now_ms(), entry("a1", "a"), entry("a2", "a"), entry("b1", "b"))
    assert bodies(queue.receive(clock.now_ms(), 1).messages) == [b"a1"]
    assert bodies(queue.receive(clock.now_ms(), 10).messages) == [b"b1"]
    assert queue.receive(clock.now_ms(), 10).messages == []
    assert not queue.has_visible(clock.now_ms())


def test_a_receive_takes_as_many_of_one_group_as_it_can_then_other_groups(
    make_queue: MakeQueue, clock: ManualClock
) -> None:
    queue = make_queue("q.fifo")
    send(
        queue,
        clock.now_ms(),
        entry("a1", "a"),
        entry("b1", "b"),
        entry("a2", "a"),
        entry("b2", "b"),
        entry("a3", "a"),
    )
    assert bodies(queue.receive(clock.now_ms(), 4).messages) == [b"a1", b"a2", b"a3", b"b1"]


def test_deleting_the_in_flight_messages_unblocks_the_group(
    make_queue: MakeQueue, clock: ManualClock
) -> None:
    queue = make_queue("q.fifo")
    send(queue, clock.now_ms(), entry("1"), entry("2"), entry("3"))
    first_two = queue.receive(clock.now_ms(), 2).messages
    queue.delete(clock.now_ms(), [first_two[1].receipt])  # out of order: still blocked
    assert queue.receive(clock.now_ms(), 10).messages == []
    queue.delete(clock.now_ms(), [first_two[0].receipt])
    assert bodies(queue.receive(clock.now_ms(), 10).messages) == [b"3"]


def test_a_timed_out_message_is_redelivered_before_the_rest_of_its_group(
    make_queue: MakeQueue, clock: ManualClock
) -> None:
    queue = make_queue("q.fifo", visibility_timeout_s=5)
    send(queue, clock.now_ms(), entry("1"), entry("2"))
    queue.receive(clock.now_ms(), 1)
    clock.advance(5)
    again = queue.receive(clock.now_ms(), 10).messages
    assert bodies(again) == [b"1", b"2"] and again[0].receive_count == 2


def test_a_duplicate_within_five_minutes_is_accepted_but_not_enqueued(
    make_queue: MakeQueue, clock: ManualClock
) -> None:
    queue = make_queue("q.fifo")
    (first,) = send(queue, clock.now_ms(), entry("x", dedup="d"))
    clock.advance(DEDUP_WINDOW_MS / 1000 - 0.001)
    (dup,) = send(queue, clock.now_ms(), entry("y", dedup="d"))
    assert dup.duplicate and (dup.message_id, dup.sequence_number) == (
        first.message_id,
        first.sequence_number,
    )
    assert queue.stats(clock.now_ms())["visible"] == 1
    clock.advance(0.001)
    (fresh,) = send(queue, clock.now_ms(), entry("z", dedup="d"))
    assert not fresh.duplicate and fresh.message_id != first.message_id


def test_the_dedup_window_survives_receive_and_delete(
    make_queue: MakeQueue, clock: ManualClock
) -> None:
    queue = make_queue("q.fifo")
    send(queue, clock.now_ms(), entry("x", dedup="d"))
    message = queue.receive(clock.now_ms(), 1).messages[0]
    queue.delete(clock.now_ms(), [message.receipt])
    (dup,) = send(queue, clock.now_ms(), entry("x", dedup="d"))
    assert dup.duplicate and queue.receive(clock.now_ms(), 1).messages == []


def test_content_based_dedup_uses_the_sha256_of_the_body(
    make_queue: MakeQueue, clock: ManualClock
) -> None:
    queue = make_queue("q.fifo", content_based_dedup=True)
    results = send(
        queue,
        clock.now_ms(),
        SendEntry(b"same", group_id="g"),
        SendEntry(b"same", group_id="h"),
        SendEntry(b"other", group_id="g"),
    )
    assert [r.duplicate for r in results] == [False, True, False]
    message = queue.receive(clock.now_ms(), 1).messages[0]
    assert message.dedup_id == hashlib.sha256(b"same").hexdigest()


def test_an_explicit_dedup_id_wins_over_content(make_queue: MakeQueue, clock: ManualClock) -> None:
    queue = make_queue("q.fifo", content_based_dedup=True)
    results = send(
        queue,
        clock.now_ms(),
        SendEntry(b"same", group_id="g", dedup_id="1"),
        SendEntry(b"same", group_id="g", dedup_id="2"),
    )
    assert [r.duplicate for r in results] == [False, False]


@pytest.mark.parametrize(("scope", "duplicate"), [("queue", True), ("messageGroup", False)])
def test_the_dedup_scope_decides_whether_groups_share_ids(
    make_queue: MakeQueue, clock: ManualClock, scope: str, duplicate: bool
) -> None:
    queue = make_queue("q.fifo", dedup_scope=scope)
    _, second = send(
        queue, clock.now_ms(), entry("a", "g1", dedup="d"), entry("b", "g2", dedup="d")
    )
    assert second.duplicate is duplicate


def test_the_queue_delay_applies_and_keeps_group_order(
    make_queue: MakeQueue, clock: ManualClock
) -> None:
    queue = make_queue("q.fifo", delay_s=3)
    send(queue, clock.now_ms(), entry("1"))
    clock.advance(1)
    send(queue, clock.now_ms(), entry("2"))
    clock.advance(2)
    assert bodies(queue.receive(clock.now_ms(), 10).messages) == [b"1"]


def test_emptied_groups_are_forgotten(make_queue: MakeQueue, clock: ManualClock) -> None:
    queue = make_queue("q.fifo")
    send(queue, clock.now_ms(), *[entry(f"m{i}", f"g{i}") for i in range(100)])
    messages = queue.receive(clock.now_ms(), 100).messages
    queue.delete(clock.now_ms(), [m.receipt for m in messages])
    assert queue._groups == {} and queue._group_numbers == {}  # type: ignore[attr-defined]


def test_the_ready_index_stays_proportional_to_live_groups(
    make_queue: MakeQueue, clock: ManualClock
) -> None:
    queue = make_queue("q.fifo", retention_s=60, content_based_dedup=True)
    for round_ in range(200):
        send(
            queue,
            clock.now_ms(),
            *[SendEntry(f"{round_}-{i}".encode(), group_id=f"g{i}") for i in range(20)],
        )
        clock.advance(1)
    queue.stats(clock.now_ms())
    assert len(queue._ready) <= 2 * len(queue._groups) + 64 + 20  # type: ignore[attr-defined]


def test_dedup_ids_are_forgotten_once_the_window_passes_even_without_sends(
    make_queue: MakeQueue, clock: ManualClock
) -> None:
    queue = make_queue("q.fifo")
    send(queue, clock.now_ms(), *[entry(f"m{i}") for i in range(50)])
    clock.advance(DEDUP_WINDOW_MS / 1000)
    queue.stats(clock.now_ms())
    assert len(queue._dedup) == 0  # type: ignore[attr-defined]
    assert queue.stats(clock.now_ms())["visible"] == 50
