"""Transfers between queue partitions on real logs: the target commits first, the source removes
after (:func:`raybus.partitions.transfer`).

Dead letters take the real path: a queue :class:`PartitionShell` whose receive exhausts a
message's redrive policy hands it to its behaviour, which delivers it through the dispatcher
after the receive's commit and settles it at the source. Move tasks (SQS StartMessageMoveTask)
drive the :class:`MoveTask` engine and the transfer protocol with ``TakeForTransfer`` and
``SettleTransfer`` on two partitions, as the controller's move tasks do over the router."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from raybus.core import ManualClock, QueueConfig, RaybusError
from raybus.engines import DeadLetter, MoveTask, QueuePartition, SendEntry
from raybus.engines.queue.ops import QueueStats, Receive, Send, SettleTransfer, TakeForTransfer
from raybus.partitions import QUEUES, Durable, Environment, PartitionShell, open_queue, transfer
from raybus.storage import FileLog, MemoryLog
from tests.partitions.fakes import WAIT_S, FakeDispatcher

Queue = Durable[QueuePartition]
Shell = PartitionShell[QueuePartition]
REDRIVE = {"dead_letter_queue": "dlq", "max_receive_count": 1}


def queue_at(path: Path, name: str, tag: int, **settings: object) -> Queue:
    return open_queue(QueueConfig.create(name, **settings), FileLog(path / name), tag=tag)


async def shell_at(path: Path, name: str, tag: int, env: Environment, **settings: object) -> Shell:
    return await PartitionShell.open(
        QUEUES,
        QueueConfig.create(name, **settings),
        str(path / name),
        tag=tag,
        partition=0,
        epoch=1,
        env=env,
    )


async def settled_after(shell: Shell, action: Callable[[], Awaitable[Any]]) -> Any:
    """Run ``action`` (a receive that dead-letters), then wait until the behaviour settled the
    dead letters at the source: a ``SettleTransfer`` wakes the shell's waiters after its
    commit, and nothing else in these tests does."""
    woken = asyncio.ensure_future(shell.waiting().wait())
    result = await action()
    await asyncio.wait_for(woken, WAIT_S)
    return result


def visible(queue: Queue | Shell, now_ms: int) -> int:
    return queue.engine.stats(now_ms)["visible"]


# -- dead letters ------------------------------------------------------------------------------


def test_a_dead_letter_is_delivered_after_the_receive_and_removed_from_the_source(
    tmp_path: Path,
) -> None:
    clock = ManualClock()
    dlq = queue_at(tmp_path, "dlq", 2)
    dispatcher = FakeDispatcher(clock, {"dlq": dlq})

    async def scenario() -> None:
        env = Environment(clock=clock, dispatcher=dispatcher)
        source = await shell_at(tmp_path, "src", 1, env, redrive_policy=REDRIVE)
        (sent,) = await source.apply(Send([SendEntry(b"poison")]))
        assert not isinstance(sent, RaybusError)
        (first,) = await source.apply(Receive(1, visibility_timeout_s=0))
        assert dispatcher.sends == []
        assert await settled_after(source, lambda: source.apply(Receive(1))) == []
        assert [(name, [e.body for e in entries]) for name, entries in dispatcher.sends] == [
            ("dlq", [b"poison"])
        ]
        assert source.engine.message_count == 0
        assert source.engine.counters.dead_lettered == 1
        await source.close()

        (moved,) = dlq.run(Receive(1), clock.now_ms())
        assert (moved.body, moved.message_id) == (b"poison", first.message_id)
        assert moved.system["dead_letter_source"] == "src"

    asyncio.run(scenario())
    dlq.close()


def test_a_dead_letter_survives_a_crash_between_the_two_commits(tmp_path: Path) -> None:
    clock = ManualClock()
    source, dlq = queue_at(tmp_path, "src", 1, redrive_policy=REDRIVE), queue_at(tmp_path, "dlq", 2)
    source.run(Send([SendEntry(b"poison")]), clock.now_ms())
    source.run(Receive(1, visibility_timeout_s=0), clock.now_ms())
    messages, turn = source.execute([Receive(1)], clock.now_ms())
    assert messages == [[]]
    (letter,) = turn.transfers
    dlq.run(Send([letter.entry]), clock.now_ms())  # the target committed; then the source "crashes"
    source.close()
    dlq.close()
    source, dlq = queue_at(tmp_path, "src", 1, redrive_policy=REDRIVE), queue_at(tmp_path, "dlq", 2)
    assert visible(dlq, clock.now_ms()) == 1
    assert visible(source, clock.now_ms()) == 1  # duplicated, not lost
    source.close()
    dispatcher = FakeDispatcher(clock, {"dlq": dlq})

    async def recovered() -> None:
        env = Environment(clock=clock, dispatcher=dispatcher)
        shell = await shell_at(tmp_path, "src", 1, env, redrive_policy=REDRIVE)
        assert await settled_after(shell, lambda: shell.apply(Receive(1))) == []
        assert shell.engine.message_count == 0
        await shell.close()

    asyncio.run(recovered())
    assert [e.body for e in dispatcher.sent_to("dlq")] == [b"poison"]
    assert visible(dlq, clock.now_ms()) == 2  # delivered twice at most: at least once
    assert queue_at(tmp_path, "src", 1, redrive_policy=REDRIVE).engine.message_count == 0


def test_a_missing_dead_letter_queue_keeps_the_message_in_the_source(tmp_path: Path) -> None:
    clock = ManualClock()
    redrive = {"dead_letter_queue": "gone", "max_receive_count": 1}
    dispatcher = FakeDispatcher(clock)  # knows no queue: QueueDoesNotExist

    async def scenario() -> None:
        env = Environment(clock=clock, dispatcher=dispatcher)
        source = await shell_at(tmp_path, "src", 1, env, redrive_policy=redrive)
        await source.apply(Send([SendEntry(b"poison")]))
        await source.apply(Receive(1, visibility_timeout_s=0))
        assert await settled_after(source, lambda: source.apply(Receive(1))) == []
        assert [e.body for e in dispatcher.sent_to("gone")] == [b"poison"]
        assert source.engine.stats(clock.now_ms())["in_flight"] == 1  # hidden, then retried
        clock.advance(30)
        assert visible(source, clock.now_ms()) == 1
        assert source.engine.counters.dead_lettered == 0
        await source.close()

    asyncio.run(scenario())


def test_a_failing_dead_letter_queue_leaves_the_message_in_the_source(tmp_path: Path) -> None:
    clock = ManualClock()
    dlq_log = MemoryLog()
    dlq = open_queue(QueueConfig.create("dlq"), dlq_log, tag=2)
    dispatcher = FakeDispatcher(clock, {"dlq": dlq})

    async def scenario() -> None:
        env = Environment(clock=clock, dispatcher=dispatcher)
        source = await shell_at(
            tmp_path, "src", 1, env, redrive_policy=REDRIVE, visibility_timeout_s=30
        )
        await source.apply(Send([SendEntry(b"poison")]))
        await source.apply(Receive(1, visibility_timeout_s=0))
        dlq_log.inject_failure()
        assert await settled_after(source, lambda: source.apply(Receive(1))) == []
        assert source.engine.message_count == 1
        clock.advance(30)
        assert source.engine.stats(clock.now_ms())["in_flight"] == 0
        # visible again: the next receive dead-letters it again (and the DLQ fails again)
        assert await settled_after(source, lambda: source.apply(Receive(1))) == []
        assert [e.body for e in dispatcher.sent_to("dlq")] == [b"poison", b"poison"]
        assert source.engine.message_count == 1
        await source.close()

    asyncio.run(scenario())
    recovered = open_queue(QueueConfig.create("dlq"), dlq_log.reopen(), tag=2)
    assert recovered.engine.message_count == 0  # nothing reached the DLQ's disk


def test_dead_letters_leave_only_after_the_receive_that_produced_them_is_committed() -> None:
    clock = ManualClock()
    dlq = open_queue(QueueConfig.create("dlq"), MemoryLog(), tag=2)
    dispatcher = FakeDispatcher(clock, {"dlq": dlq})
    log = MemoryLog()

    async def scenario() -> None:
        env = Environment(clock=clock, dispatcher=dispatcher)
        durable = open_queue(QueueConfig.create("src", redrive_policy=REDRIVE), log, tag=1)
        source = PartitionShell(QUEUES, durable, partition=0, epoch=1, env=env)
        await source.apply(Send([SendEntry(b"poison")]))
        await source.apply(Receive(1, visibility_timeout_s=0))
        await source.apply(Send([SendEntry(b"fresh")]))
        log.inject_failure()
        with pytest.raises(RaybusError) as info:  # receives "fresh", dead-letters "poison"
            await source.execute([Receive(10)])
        assert info.value.code == "StorageFailure"
        assert durable.engine.stats(clock.now_ms())["in_flight"] == 2  # a letter was held
        for _ in range(10):  # a delivery started by that receive would have called by now
            await asyncio.sleep(0)
        assert dispatcher.sends == []
        await source.close()

    asyncio.run(scenario())
    assert dlq.engine.message_count == 0


# -- move tasks --------------------------------------------------------------------------------


async def move_step(now_ms: int, task: MoveTask, source: Queue, destination: Queue) -> int:
    """One rate-limited batch of ``task`` (the controller's step, for one partition): take up
    to the quota from the source, send to the destination, settle at the source; a refusal
    fails the task and leaves the refused messages in the source. Returns how many moved."""
    quota = task.quota(now_ms)
    if quota == 0:
        task.settle()
        return 0
    letters = source.run(TakeForTransfer(quota, task.destination), now_ms)
    refusals: list[str] = []

    async def send(items: Sequence[DeadLetter]) -> Sequence[object]:
        try:
            results = destination.run(Send([item.entry for item in items]), now_ms)
        except RaybusError as error:
            refusals.append(error.code)
            raise
        refusals.extend(r.code for r in results if isinstance(r, RaybusError))
        return results

    async def settle(moved: list[DeadLetter], failed: list[DeadLetter]) -> None:
        source.run(SettleTransfer([m.seq for m in moved], [f.seq for f in failed]), now_ms)

    moved, failed = await transfer(letters, send, settle, what="move")
    task.record_moved(now_ms, len(moved), source_empty=not letters)
    if failed:
        task.fail(f"{task.destination}: {refusals[0]}")
    return len(moved)


def test_a_rate_limited_move_task_drains_the_dlq_into_the_source(tmp_path: Path) -> None:
    clock = ManualClock()
    dlq, source = queue_at(tmp_path, "dlq", 1), queue_at(tmp_path, "src", 2)
    dlq.run(Send([SendEntry(f"m{i}".encode()) for i in range(30)]), clock.now_ms())
    task = MoveTask("t", "dlq", "src", clock.now_ms(), to_move=30, rate_per_s=10)
    elapsed_s = 0
    steps: list[int] = []
    while task.status == "RUNNING" and elapsed_s < 10:
        steps.append(asyncio.run(move_step(clock.now_ms(), task, dlq, source)))
        assert task.moved <= 10 * elapsed_s + 1  # never faster than the rate
        clock.advance(1)
        elapsed_s += 1
    assert task.status == "COMPLETED" and task.moved == 30
    assert elapsed_s == 4  # steps at t = 0, 1, 2, 3 s move 1, 10, 10, 9
    assert steps == [1, 10, 10, 9]
    assert visible(source, clock.now_ms()) == 30
    assert visible(dlq, clock.now_ms()) == 0
    assert dlq.engine.counters.moved_out == 30
    assert sorted(m.body for m in source.run(Receive(10), clock.now_ms())) == sorted(
        f"m{i}".encode() for i in range(10)
    )


def test_messages_larger_than_the_destination_allows_still_move(tmp_path: Path) -> None:
    clock = ManualClock()
    dlq = queue_at(tmp_path, "dlq", 1, max_message_bytes=4096)
    source = queue_at(tmp_path, "src", 2, max_message_bytes=1024)
    dlq.run(Send([SendEntry(b"x" * 2000), SendEntry(b"small")]), clock.now_ms())
    task = MoveTask("t", "dlq", "src", clock.now_ms(), to_move=2)
    assert asyncio.run(move_step(clock.now_ms(), task, dlq, source)) == 2  # they keep their size
    assert visible(source, clock.now_ms()) == 2
    assert task.status == "COMPLETED"


def test_a_failing_destination_fails_the_task_and_leaves_the_messages_in_the_dlq(
    tmp_path: Path,
) -> None:
    clock = ManualClock()
    dlq = queue_at(tmp_path, "dlq", 1, visibility_timeout_s=30)
    destination_log = MemoryLog()
    destination = open_queue(QueueConfig.create("src"), destination_log, tag=2)
    dlq.run(Send([SendEntry(f"m{i}".encode()) for i in range(3)]), clock.now_ms())
    task = MoveTask("t", "dlq", "src", clock.now_ms(), to_move=3)
    destination_log.inject_failure()
    assert asyncio.run(move_step(clock.now_ms(), task, dlq, destination)) == 0
    assert task.status == "FAILED" and task.moved == 0
    assert task.failure_reason == "src: StorageFailure"
    assert dlq.run(QueueStats(), clock.now_ms())["in_flight"] == 3  # hidden, not lost
    clock.advance(30)
    assert visible(dlq, clock.now_ms()) == 3
    recovered = open_queue(QueueConfig.create("src"), destination_log.reopen(), tag=2)
    assert recovered.engine.message_count == 0  # nothing reached the destination's disk
