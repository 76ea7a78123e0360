"""Dead letters: redrive at receive time, transfer before removal, move-back tasks."""

from __future__ import annotations

import pytest

from raybus.core import ManualClock, QueueConfig, RaybusError
from raybus.engines import (
    MoveTask,
    QueuePartition,
    ReceiveResult,
    SendEntry,
    check_move_task,
    check_redrive,
)

from .conftest import MakeQueue, bodies, send

REDRIVE = {"dead_letter_queue": "dlq", "max_receive_count": 2}


def receive_and_time_out(queue: QueuePartition, clock: ManualClock, times: int) -> None:
    for _ in range(times):
        assert len(queue.receive(clock.now_ms(), 1, visibility_timeout_s=0).messages) == 1


def test_a_message_is_delivered_max_receive_count_times_then_dead_lettered(
    make_queue: MakeQueue, clock: ManualClock
) -> None:
    queue = make_queue(redrive_policy=REDRIVE)
    (sent,) = send(queue, clock.now_ms(), b"poison")
    receive_and_time_out(queue, clock, 2)
    result = queue.receive(clock.now_ms(), 10)
    assert result.messages == []
    (letter,) = result.dead_letters
    assert letter.target == "dlq"
    assert (letter.entry.body, letter.entry.message_id) == (b"poison", sent.message_id)
    assert letter.entry.system == {"dead_letter_source": "q"}
    assert queue.stats(clock.now_ms())["in_flight"] == 1  # held until the target commits


def test_the_source_forgets_the_message_only_after_the_target_has_it(
    make_queue: MakeQueue, clock: ManualClock
) -> None:
    queue, dlq = make_queue(redrive_policy=REDRIVE), make_queue("dlq")
    send(queue, clock.now_ms(), b"poison", b"fine")
    receive_and_time_out(queue, clock, 2)  # the oldest, "poison", twice
    result = queue.receive(clock.now_ms(), 10)
    assert bodies(result.messages) == [b"fine"]
    (letter,) = result.dead_letters
    (moved,) = send(dlq, clock.now_ms(), letter.entry)
    assert moved.message_id == letter.entry.message_id
    queue.finish_transfer(clock.now_ms(), [letter.seq], dead_lettered=True)
    assert queue.counters.dead_lettered == 1
    in_dlq = dlq.receive(clock.now_ms(), 1).messages[0]
    assert in_dlq.system == {"dead_letter_source": "q"}
    assert in_dlq.sent_ms == letter.entry.sent_ms  # standard queues keep the enqueue time


def test_an_aborted_transfer_hides_the_message_for_a_visibility_timeout_then_retries(
    make_queue: MakeQueue, clock: ManualClock
) -> None:
    queue = make_queue(redrive_policy=REDRIVE, visibility_timeout_s=30)
    send(queue, clock.now_ms(), b"poison")
    receive_and_time_out(queue, clock, 2)
    (letter,) = queue.receive(clock.now_ms(), 10).dead_letters
    queue.abort_transfer(clock.now_ms(), [letter.seq])
    assert queue.stats(clock.now_ms())["in_flight"] == 1
    assert queue.receive(clock.now_ms(), 10) == ReceiveResult([], [])
    clock.advance(30)
    assert queue.receive(clock.now_ms(), 10).dead_letters[0].seq == letter.seq


def test_a_missing_dead_letter_queue_does_not_starve_healthy_messages(
    make_queue: MakeQueue, clock: ManualClock
) -> None:
    queue = make_queue(redrive_policy={"dead_letter_queue": "gone", "max_receive_count": 1})
    send(queue, clock.now_ms(), *[f"poison{i}".encode() for i in range(30)])
    assert len(queue.receive(clock.now_ms(), 30, visibility_timeout_s=0).messages) == 30
    send(queue, clock.now_ms(), b"healthy")
    delivered: list[bytes] = []
    for _ in range(10):  # each receive dead-letters at most 10; the DLQ refuses them all
        result = queue.receive(clock.now_ms(), 10)
        assert len(result.dead_letters) <= 10
        queue.abort_transfer(clock.now_ms(), [letter.seq for letter in result.dead_letters])
        delivered += bodies(result.messages)
    assert delivered == [b"healthy"]


def test_on_fifo_the_group_behind_a_poison_message_waits_then_flows(
    make_queue: MakeQueue, clock: ManualClock
) -> None:
    queue = make_queue(
        "q.fifo",
        content_based_dedup=True,
        redrive_policy={"dead_letter_queue": "dlq.fifo", "max_receive_count": 1},
    )
    send(
        queue, clock.now_ms(), SendEntry(b"poison", group_id="g"), SendEntry(b"next", group_id="g")
    )
    queue.receive(clock.now_ms(), 1, visibility_timeout_s=0)
    result = queue.receive(clock.now_ms(), 10)
    assert result.messages == [] and len(result.dead_letters) == 1
    assert queue.receive(clock.now_ms(), 10).messages == []  # blocked while moving
    queue.finish_transfer(clock.now_ms(), [result.dead_letters[0].seq], dead_lettered=True)
    assert bodies(queue.receive(clock.now_ms(), 10).messages) == [b"next"]


# -- redrive rules ------------------------------------------------------------------------------
def config(name: str, **settings: object) -> QueueConfig:
    return QueueConfig.create(name, **settings)


def test_a_redrive_policy_needs_an_existing_target_of_the_same_type() -> None:
    source = config("src", redrive_policy={"dead_letter_queue": "dlq", "max_receive_count": 3})
    check_redrive(source, config("dlq"))
    with pytest.raises(RaybusError, match="does not exist"):
        check_redrive(source, None)
    fifo = config("src.fifo", redrive_policy={"dead_letter_queue": "dlq", "max_receive_count": 3})
    with pytest.raises(RaybusError) as info:
        check_redrive(fifo, config("dlq"))
    assert info.value.code == "InvalidRedrivePolicy"


@pytest.mark.parametrize(
    ("allow", "ok"),
    [
        ({"permission": "allowAll"}, True),
        ({"permission": "denyAll"}, False),
        ({"permission": "byQueue", "source_queues": ["src"]}, True),
        ({"permission": "byQueue", "source_queues": ["other"]}, False),
    ],
)
def test_the_dead_letter_queue_decides_who_may_use_it(allow: dict[str, object], ok: bool) -> None:
    source = config("src", redrive_policy={"dead_letter_queue": "dlq", "max_receive_count": 3})
    target = config("dlq", redrive_allow_policy=allow)
    if ok:
        check_redrive(source, target)
    else:
        with pytest.raises(RaybusError) as info:
            check_redrive(source, target)
        assert info.value.code == "RedriveNotAllowed"


def test_move_tasks_stay_within_one_queue_type_and_rate_limit() -> None:
    check_move_task(config("dlq"), config("src"), 500)
    for destination, rate in (
        (config("dlq"), None),
        (config("x.fifo"), None),
        (config("src"), 0),
        (config("src"), 501),
    ):
        with pytest.raises(RaybusError):
            check_move_task(config("dlq"), destination, rate)


# -- move tasks ---------------------------------------------------------------------------------
def test_a_move_task_moves_every_message_back_and_completes(
    make_queue: MakeQueue, clock: ManualClock
) -> None:
    dlq, source = make_queue("dlq"), make_queue("src")
    send(dlq, clock.now_ms(), *[f"m{i}".encode() for i in range(25)])
    task = MoveTask("t1", "dlq", "src", clock.now_ms(), to_move=25)
    steps = 0
    while (quota := task.quota(clock.now_ms())) > 0 and steps < 100:
        steps += 1
        letters = dlq.take_for_transfer(clock.now_ms(), min(quota, 10), "src")
        send(source, clock.now_ms(), *[letter.entry for letter in letters])
        dlq.finish_transfer(clock.now_ms(), [letter.seq for letter in letters], dead_lettered=False)
        task.record_moved(clock.now_ms(), len(letters), source_empty=not letters)
    assert task.status == "COMPLETED" and task.moved == 25 and steps == 3
    assert dlq.stats(clock.now_ms())["visible"] == 0
    assert len(source.receive(clock.now_ms(), 100).messages) == 25


def test_a_rate_limited_move_task_moves_no_faster_than_its_rate() -> None:
    task = MoveTask("t", "dlq", "src", started_ms=0, to_move=100, rate_per_s=10)
    assert task.quota(0) == 1
    task.record_moved(0, 1, source_empty=False)
    assert task.quota(0) == 0 and task.next_due_ms(0) == 100
    assert task.quota(1000) == 10
    task.record_moved(1000, 10, source_empty=False)
    assert task.quota(1000) == 0 and task.next_due_ms(1000) == 1100


def test_a_cancelled_task_stops_between_batches() -> None:
    task = MoveTask("t", "dlq", "src", started_ms=0, to_move=100)
    task.cancel()
    assert task.quota(0) == 0 and task.status == "CANCELLING"
    task.settle()
    assert task.status == "CANCELLED"
    with pytest.raises(RaybusError):
        task.cancel()
    assert task.describe()["status"] == "CANCELLED"


def test_a_task_completes_early_when_the_queue_runs_dry() -> None:
    task = MoveTask("t", "dlq", "src", started_ms=0, to_move=10)
    task.record_moved(0, 4, source_empty=False)
    task.record_moved(0, 0, source_empty=True)
    assert task.status == "COMPLETED" and task.moved == 4


def test_a_task_with_nothing_to_move_is_complete_at_once() -> None:
    for rate in (None, 5):
        task = MoveTask("t", "dlq", "src", started_ms=0, to_move=0, rate_per_s=rate)
        assert task.status == "COMPLETED" and task.quota(0) == 0 and task.next_due_ms(0) is None
