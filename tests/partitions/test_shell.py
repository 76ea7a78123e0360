"""The partition shell (:class:`raybus.partitions.PartitionShell`), on a queue: a call is
acknowledged only after the commit that covers it, waiters wake after it, and long polls
return as soon as a message lands or at their deadline."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from raybus.core import ManualClock, QueueConfig, RaybusError
from raybus.engines import QueuePartition, SendEntry, SendResult
from raybus.engines.ops import Op
from raybus.engines.queue.ops import ChangeVisibility, Delete, Receive, Send
from raybus.partitions import (
    QUEUES,
    Environment,
    LongPoll,
    PartitionShell,
    WaitVisible,
    open_queue,
)
from raybus.storage import MemoryLog
from tests.partitions.fakes import WAIT_S, FakeDispatcher

Shell = PartitionShell[QueuePartition]


class GatedLog(MemoryLog):
    """A memory log whose commits (on the committer's thread) wait for ``release``, like a
    slow disk, and report that they started."""

    def __init__(self) -> None:
        super().__init__()
        self.entered = threading.Event()
        self.release = threading.Event()

    def commit(self) -> int:
        if self.durable_offset < self.end_offset:
            self.entered.set()
            if not self.release.wait(WAIT_S):
                raise AssertionError("the test never released the commit")
        return super().commit()


def shell_on(
    log: MemoryLog, clock: ManualClock | None = None, *, virtual: bool = False, **settings: object
) -> Shell:
    clock = clock or ManualClock()
    env = Environment(clock=clock, dispatcher=FakeDispatcher(clock), virtual_clock=virtual)
    durable = open_queue(QueueConfig.create("q", **settings), log, tag=9, epoch=1)
    return PartitionShell(QUEUES, durable, partition=0, epoch=1, env=env)


async def settle_loop(rounds: int = 10) -> None:
    """Let every ready task run a few steps (used only to show that something did NOT
    happen: what would have happened by now had it been triggered)."""
    for _ in range(rounds):
        await asyncio.sleep(0)


# -- commit before acknowledge -----------------------------------------------------------------


def test_a_call_is_acknowledged_and_waiters_woken_only_after_its_commit() -> None:
    async def scenario() -> None:
        log = GatedLog()
        shell = shell_on(log)
        loop = asyncio.get_running_loop()
        woken = asyncio.ensure_future(shell.changed(None))
        await asyncio.sleep(0)  # the waiter takes the current event
        call = asyncio.ensure_future(shell.execute([Send([SendEntry(b"one")])]))
        assert await loop.run_in_executor(None, log.entered.wait, WAIT_S)  # the flush runs
        await settle_loop()
        assert not call.done() and not woken.done()
        assert log.durable_offset < log.end_offset
        log.release.set()
        ((result,),) = await asyncio.wait_for(call, WAIT_S)
        assert isinstance(result, SendResult)
        assert log.durable_offset == log.end_offset
        await asyncio.wait_for(woken, WAIT_S)
        await shell.close()

    asyncio.run(scenario())


def test_a_receive_answers_before_its_own_record_is_durable_and_flushes_it_soon() -> None:
    """A receive appends in-flight state only (a crash may make the message visible again:
    at-least-once), so its answer does not wait for that record's fsync; it is flushed at
    once all the same, without anyone waiting."""

    async def scenario() -> None:
        log = GatedLog()
        log.release.set()
        shell = shell_on(log)
        loop = asyncio.get_running_loop()
        await shell.execute([Send([SendEntry(b"one")])])
        log.release.clear()
        log.entered.clear()
        (messages,) = await asyncio.wait_for(shell.execute([Receive(1)]), WAIT_S)
        assert [m.body for m in messages] == [b"one"]
        assert await loop.run_in_executor(None, log.entered.wait, WAIT_S)  # flushing, gated
        assert log.durable_offset < log.end_offset
        log.release.set()
        await asyncio.wait_for(shell.committer.commit(), WAIT_S)
        assert log.durable_offset == log.end_offset
        assert shell.committer.flushes == 2  # the send's, and the one the receive started
        await shell.close()

    asyncio.run(scenario())


def test_a_receive_waits_for_the_commit_of_the_sends_it_returns() -> None:
    async def scenario() -> None:
        log = GatedLog()
        shell = shell_on(log)
        loop = asyncio.get_running_loop()
        send = asyncio.ensure_future(shell.execute([Send([SendEntry(b"one")])]))
        assert await loop.run_in_executor(None, log.entered.wait, WAIT_S)  # its flush is held
        receive = asyncio.ensure_future(shell.execute([Receive(1)]))
        await settle_loop()
        assert shell.engine.message_count == 1
        assert not receive.done() and not send.done()  # the message is not durable yet
        log.release.set()
        ((messages,), _) = await asyncio.wait_for(asyncio.gather(receive, send), WAIT_S)
        assert [m.body for m in messages] == [b"one"]
        await shell.close()

    asyncio.run(scenario())


def test_calls_that_arrive_during_a_flush_are_applied_at_once_and_share_a_flush() -> None:
    async def scenario() -> None:
        log = GatedLog()
        shell = shell_on(log)
        loop = asyncio.get_running_loop()
        first = asyncio.ensure_future(shell.execute([Send([SendEntry(b"one")])]))
        assert await loop.run_in_executor(None, log.entered.wait, WAIT_S)
        others = [
            asyncio.ensure_future(shell.execute([Send([SendEntry(f"m{i}")])])) for i in range(3)
        ]
        await settle_loop()
        assert shell.engine.message_count == 4  # applied at once, in their own turns
        assert not any(call.done() for call in [first, *others])
        log.release.set()
        await asyncio.wait_for(asyncio.gather(first, *others), WAIT_S)
        assert log.durable_offset == log.end_offset
        # four calls, one flush running when three arrived: it may cover them (a commit writes
        # whatever was appended when it runs), else they share the next one
        assert shell.committer.flushes in (1, 2)
        await shell.close()

    asyncio.run(scenario())


def test_a_failed_commit_acknowledges_nothing_in_the_calls_that_shared_it() -> None:
    async def scenario() -> None:
        log = MemoryLog()
        shell = shell_on(log)
        await shell.execute([Send([SendEntry(b"kept")])])
        woken = asyncio.ensure_future(shell.changed(None))
        await asyncio.sleep(0)  # the waiter takes the current event
        log.inject_failure()
        calls = [
            asyncio.ensure_future(shell.execute([Send([SendEntry(b"lost")]), Receive(10)])),
            asyncio.ensure_future(shell.execute([Send([SendEntry(b"lost too")])])),
        ]
        answers = await asyncio.wait_for(asyncio.gather(*calls, return_exceptions=True), WAIT_S)
        assert all(isinstance(a, RaybusError) and a.code == "StorageFailure" for a in answers)
        await settle_loop()
        assert not woken.done()  # nothing was committed: nobody is told to look
        with pytest.raises(RaybusError) as later:  # the failure is sticky: reopen the partition
            await shell.execute([Send([SendEntry(b"later")])])
        assert later.value.code == "StorageFailure"
        woken.cancel()
        await shell.close()
        recovered = open_queue(QueueConfig.create("q"), log.reopen(), tag=9)
        assert [m.body for m in recovered.run(Receive(10), shell.clock.now_ms())] == [b"kept"]
        assert recovered.engine.message_count == 1

    asyncio.run(scenario())


@pytest.mark.parametrize(
    ("make_op", "wakes"),
    [
        (lambda receipt: Send([SendEntry(b"more")]), True),
        (lambda receipt: ChangeVisibility([(receipt, 0)]), True),
        (lambda receipt: Receive(1), False),
    ],
    ids=["send", "change-visibility", "receive"],
)
def test_a_turn_wakes_waiters_when_its_ops_say_so(
    make_op: Callable[[str], Op[QueuePartition, Any]], wakes: bool
) -> None:
    async def scenario() -> None:
        shell = shell_on(MemoryLog())
        await shell.execute([Send([SendEntry(b"one")])])
        (message,) = await shell.apply(Receive(1))
        woken = asyncio.ensure_future(shell.changed(None))
        await asyncio.sleep(0)  # the waiter takes the current event
        op = make_op(message.receipt)
        await shell.execute([op])
        await settle_loop()
        assert woken.done() is wakes
        woken.cancel()
        await shell.close()

    asyncio.run(scenario())


def test_changed_returns_after_its_timeout_without_a_wake() -> None:
    async def scenario() -> None:
        shell = shell_on(MemoryLog())
        loop = asyncio.get_running_loop()
        started = loop.time()
        await asyncio.wait_for(shell.changed(0.01), WAIT_S)
        assert loop.time() - started >= 0.01
        await shell.close()

    asyncio.run(scenario())


def test_a_closed_shell_refuses_calls_and_wakes_its_waiters() -> None:
    async def scenario() -> None:
        shell = shell_on(MemoryLog())
        waiter = asyncio.ensure_future(shell.perform(LongPoll(1, None, wait_s=WAIT_S)))
        await settle_loop()
        await shell.close()
        assert await asyncio.wait_for(waiter, WAIT_S) == []
        for call in (shell.execute([Receive(1)]), shell.perform(WaitVisible(0))):
            with pytest.raises(RaybusError) as info:
                await call
            assert info.value.code == "PartitionUnavailable"

    asyncio.run(scenario())


def test_a_shell_opened_from_a_directory_recovers_what_was_committed(tmp_path: Path) -> None:
    async def scenario() -> None:
        clock = ManualClock()
        env = Environment(clock=clock, dispatcher=FakeDispatcher(clock))
        config = QueueConfig.create("q")

        async def open_shell() -> Shell:
            return await PartitionShell.open(
                QUEUES, config, str(tmp_path), tag=9, partition=0, epoch=1, env=env
            )

        shell = await open_shell()
        await shell.execute([Send([SendEntry(f"m{i}") for i in range(3)])])
        await shell.close()
        again = await open_shell()
        assert again.durable.recovery.records_replayed == 3  # one record per message
        assert sorted(m.body for m in await again.apply(Receive(10))) == [b"m0", b"m1", b"m2"]
        await again.close()

    asyncio.run(scenario())


# -- long polls -------------------------------------------------------------------------------


def test_a_long_poll_returns_as_soon_as_a_send_lands() -> None:
    async def scenario() -> None:
        shell = shell_on(MemoryLog())
        loop = asyncio.get_running_loop()
        started = loop.time()
        poll = asyncio.ensure_future(shell.perform(LongPoll(10, None, wait_s=60)))
        await settle_loop()
        assert not poll.done()  # parked: the queue is empty
        await shell.execute([Send([SendEntry(b"landed")])])
        messages = await asyncio.wait_for(poll, WAIT_S)
        assert [m.body for m in messages] == [b"landed"]
        assert loop.time() - started < WAIT_S  # long before its 60 s
        await shell.close()

    asyncio.run(scenario())


def test_a_long_poll_returns_nothing_at_its_deadline() -> None:
    async def scenario() -> None:
        shell = shell_on(MemoryLog())
        loop = asyncio.get_running_loop()
        started = loop.time()
        messages = await asyncio.wait_for(shell.perform(LongPoll(10, None, wait_s=0.05)), WAIT_S)
        assert messages == []
        assert loop.time() - started >= 0.05
        assert not await shell.perform(WaitVisible(0.01))
        await shell.close()

    asyncio.run(scenario())


def test_a_long_poll_of_zero_seconds_is_a_short_poll() -> None:
    async def scenario() -> None:
        shell = shell_on(MemoryLog())
        assert await asyncio.wait_for(shell.perform(LongPoll(10, None, wait_s=0)), WAIT_S) == []
        await shell.execute([Send([SendEntry(b"x")])])
        polled = await shell.perform(LongPoll(10, 30, wait_s=0))
        assert [m.body for m in polled] == [b"x"]
        assert shell.engine.stats(shell.clock.now_ms())["in_flight"] == 1
        await shell.close()

    asyncio.run(scenario())


def test_a_long_poll_on_a_virtual_clock_wakes_when_the_clock_makes_a_message_visible() -> None:
    async def scenario() -> None:
        clock = ManualClock()
        shell = shell_on(MemoryLog(), clock, virtual=True)
        await shell.execute([Send([SendEntry(b"later", delay_s=5)])])
        poll = asyncio.ensure_future(shell.perform(LongPoll(10, None, wait_s=60)))
        await settle_loop()
        assert not poll.done()
        clock.advance(4)
        shell.wake()  # what a host does when the virtual clock moves
        await settle_loop()
        assert not poll.done()  # still delayed
        clock.advance(1)
        shell.wake()
        messages = await asyncio.wait_for(poll, WAIT_S)
        assert [m.body for m in messages] == [b"later"]
        await shell.close()

    asyncio.run(scenario())


def test_a_long_poll_on_the_real_clock_wakes_when_a_delayed_message_is_due() -> None:
    async def scenario() -> None:
        clock = ManualClock()
        shell = shell_on(MemoryLog(), clock, visibility_timeout_s=0)
        await shell.execute([Send([SendEntry(b"x")])])
        (first,) = await shell.apply(Receive(1, visibility_timeout_s=1))
        poll = asyncio.ensure_future(shell.perform(LongPoll(10, None, wait_s=60)))
        await settle_loop()
        assert not poll.done()  # in flight until the clock passes its deadline
        clock.advance(1)  # no wake: the poll's own timer (due time + 1 ms) finds it
        (again,) = await asyncio.wait_for(poll, WAIT_S)
        assert (again.message_id, again.receive_count) == (first.message_id, 2)
        await shell.close()

    asyncio.run(scenario())


def test_deleting_a_fifo_groups_head_wakes_a_long_poll_for_the_next_message() -> None:
    """On a virtual clock nothing else would wake the poll: the next message of the group
    becomes visible only because its head was deleted."""

    async def scenario() -> list[Any]:
        clock = ManualClock()
        env = Environment(clock=clock, dispatcher=FakeDispatcher(clock), virtual_clock=True)
        config = QueueConfig.create("jobs.fifo", content_based_dedup=True)
        durable = open_queue(config, MemoryLog(), tag=9, epoch=1)
        shell: Shell = PartitionShell(QUEUES, durable, partition=0, epoch=1, env=env)
        await shell.apply(
            Send([SendEntry(b"first", group_id="g"), SendEntry(b"second", group_id="g")])
        )
        (head,) = await shell.apply(Receive(1))
        poll = asyncio.ensure_future(shell.perform(LongPoll(1, None, WAIT_S)))
        await settle_loop()
        assert not poll.done()  # the group is blocked behind its head
        await shell.apply(Delete([head.receipt]))
        got = await asyncio.wait_for(poll, WAIT_S / 2)  # woken by the delete, not its deadline
        await shell.close()
        return got

    (message,) = asyncio.run(scenario())
    assert message.body == b"second"
