"""Quiescence under the test clock (:mod:`raybus.partitions.activity`): which work counts as
busy, when it counts as parked, and :func:`settle` — wake what is due, wait until nothing is
busy, report the next due time — alone and on a real queue shell with a long poll."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from raybus.core import ManualClock, QueueConfig
from raybus.core.clock import ClockReport
from raybus.engines import SendEntry
from raybus.engines.queue.ops import Send
from raybus.partitions import QUEUES, Environment, LongPoll, PartitionShell, open_queue
from raybus.partitions.activity import Activity, settle
from raybus.storage import MemoryLog
from tests.partitions.fakes import WAIT_S, FakeDispatcher, until


def scenario(body: Callable[[], Any]) -> None:
    asyncio.run(asyncio.wait_for(body(), WAIT_S))


async def gated(gate: asyncio.Event) -> None:
    await gate.wait()


# -- units -----------------------------------------------------------------------------------


def test_a_task_is_busy_from_its_creation_until_it_ends() -> None:
    async def body() -> None:
        activity, gate = Activity(), asyncio.Event()
        task = activity.task(gated(gate), "delivery")
        assert (activity.busy, activity.generation) == (1, 1)  # before it ever ran
        assert activity.busy_units() == ["delivery"]
        await asyncio.sleep(0)
        assert activity.busy == 1
        ended = activity.changed()
        gate.set()
        await task
        await until(lambda: activity.busy == 0, "the end to be counted")
        assert ended.is_set() and activity.busy_units() == []

    scenario(body)


def test_a_task_cancelled_before_it_ever_ran_is_not_left_busy() -> None:
    async def body() -> None:
        activity = Activity()
        task = activity.task(gated(asyncio.Event()), "resized away")
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await until(lambda: activity.busy == 0, "the cancelled task to count as ended")

    scenario(body)


def test_units_alike_are_reported_once_with_their_count() -> None:
    async def body() -> None:
        activity, gate = Activity(), asyncio.Event()
        tasks = [activity.task(gated(gate), "poller") for _ in range(3)]
        tasks.append(activity.task(gated(gate), "delivery"))
        assert activity.busy_units() == ["delivery", "poller ×3"]
        gate.set()
        await asyncio.gather(*tasks)

    scenario(body)


def test_a_parked_unit_is_idle_and_starts_a_new_generation_when_it_returns() -> None:
    async def body() -> None:
        activity, wake_up, parked = Activity(), asyncio.Event(), asyncio.Event()

        async def loop() -> None:
            with activity.parked():
                parked.set()
                await wake_up.wait()
            await asyncio.Event().wait()  # busy again, holding work

        task = activity.task(loop(), "loop")
        await parked.wait()
        assert (activity.busy, activity.generation) == (0, 1)
        wake_up.set()
        await until(lambda: activity.busy == 1, "the unit to be busy again")
        assert activity.generation == 2
        task.cancel()

    scenario(body)


def test_parking_counts_only_in_the_units_own_task() -> None:
    async def body() -> None:
        activity, release = Activity(), asyncio.Event()
        seen: list[int] = []

        async def child() -> None:
            with activity.parked():  # a task the unit started: not the unit
                seen.append(activity.busy)
                await release.wait()

        async def unit() -> None:
            await asyncio.gather(child())

        async def stranger() -> None:
            with activity.parked():  # no unit at all
                seen.append(activity.busy)

        task = activity.task(unit(), "unit")
        await until(lambda: len(seen) == 1, "the child to park")
        await stranger()
        assert seen == [1, 1]
        release.set()
        await task

    scenario(body)


def test_a_waiting_operation_is_one_unit_and_none_more_inside_a_unit() -> None:
    async def body() -> None:
        activity = Activity()
        with activity.unit("long poll"):
            assert activity.busy_units() == ["long poll"]
            with activity.unit("nested"):
                assert activity.busy_units() == ["long poll"]
        assert activity.busy == 0

        async def worker() -> None:
            with activity.unit("perform in a poller"):
                assert activity.busy_units() == ["poller"]

        await activity.task(worker(), "poller")

    scenario(body)


# -- settle ----------------------------------------------------------------------------------


class FakePartition:
    """A partition for :func:`settle`: ``work`` items are due at once (a parked worker takes
    them when woken); ``timers`` are its next due times."""

    def __init__(self, name: str, timers: tuple[int, ...] = ()) -> None:
        self.name = name
        self.work = 0
        self.timers = timers
        self.wakes = 0
        self.woken = asyncio.Event()
        self.behaviour = self

    def due(self, now_ms: int) -> bool:
        return self.work > 0

    def next_due_ms(self, now_ms: int) -> int | None:
        ahead = [at for at in self.timers if at > now_ms]
        return min(ahead) if ahead else None

    def wake(self) -> None:
        self.wakes += 1
        self.woken.set()
        self.woken = asyncio.Event()

    def describe(self) -> str:
        return self.name


async def worker(activity: Activity, partition: FakePartition, done: list[int]) -> None:
    """Take the partition's work; park (idle) while there is none."""
    while True:
        event = partition.woken
        while partition.work:
            partition.work -= 1
            await asyncio.sleep(0)  # the work takes a few loop turns
            done.append(1)
        with activity.parked():
            await event.wait()


def test_settle_reports_the_earliest_due_time_after_now_up_to_the_horizon() -> None:
    async def body() -> None:
        partitions = [FakePartition("a", (900, 1_500)), FakePartition("b", (1_200, 5_000))]
        report = await settle(Activity(), lambda: partitions, 1_000, 2_000, WAIT_S)
        assert report == ClockReport(True, 0, 1_200)
        report = await settle(Activity(), lambda: partitions, 1_000, 1_100, WAIT_S)
        assert report == ClockReport(True, 0, None)  # nothing before the horizon

    scenario(body)


def test_settle_wakes_due_partitions_and_waits_until_their_work_is_done() -> None:
    async def body() -> None:
        activity, partition, done = Activity(), FakePartition("queue q/0"), []
        task = activity.task(worker(activity, partition, done), "poller")
        await until(lambda: activity.busy == 0, "the worker to park")
        partition.work = 3  # arrived without a wake-up: only `due` tells
        report = await settle(activity, lambda: [partition], 0, 10, WAIT_S)
        assert report.quiescent and len(done) == 3
        assert partition.wakes >= 1 and report.generation >= 2
        task.cancel()

    scenario(body)


def test_settle_waits_for_busy_units_to_end() -> None:
    async def body() -> None:
        activity, gate = Activity(), asyncio.Event()
        activity.task(gated(gate), "transfer")
        waiting = asyncio.ensure_future(settle(activity, list, 0, 10, WAIT_S))
        for _ in range(20):
            await asyncio.sleep(0)
        assert not waiting.done()
        gate.set()
        assert await waiting == ClockReport(True, 1, None)

    scenario(body)


def test_settle_that_times_out_reports_what_is_busy_and_what_is_due() -> None:
    async def body() -> None:
        activity = Activity()
        task = activity.task(gated(asyncio.Event()), "topic t/0: TopicBehaviour._run")
        stuck = FakePartition("queue q/0")
        stuck.work = 1  # due, and nobody takes it
        report = await settle(activity, lambda: [stuck], 0, 10, 0.01)
        assert not report.quiescent and report.next_due_ms is None
        assert report.busy == ("topic t/0: TopicBehaviour._run", "queue q/0: work due")
        task.cancel()

    scenario(body)


def test_settle_counts_work_that_is_not_a_partitions() -> None:
    async def body() -> None:
        activity, moved = Activity(), []
        runner = FakePartition("move task m")  # its parked runner: woken by extra_due
        task = activity.task(worker(activity, runner, moved), "move task m")
        await until(lambda: activity.busy == 0, "the runner to park")
        runner.work = 1  # its rate allows a move now: only extra_due tells

        def extra_due(now_ms: int) -> list[str]:
            if not runner.work:
                return []
            runner.wake()
            return ["move task m"]

        report = await settle(
            activity, list, 0, 100, WAIT_S, extra_due=extra_due, extra_next_due=lambda now: 40
        )
        assert report.quiescent and report.next_due_ms == 40
        assert moved == [1] and runner.wakes == 1
        task.cancel()

    scenario(body)


# -- on a queue shell --------------------------------------------------------------------------


def test_a_long_poll_parked_on_a_queue_is_idle_and_woken_by_settle_when_a_delay_ends() -> None:
    async def body() -> None:
        clock, activity = ManualClock(0), Activity()
        env = Environment(clock, FakeDispatcher(clock), virtual_clock=True, activity=activity)
        durable = open_queue(QueueConfig.create("q"), MemoryLog(), tag=9, epoch=1)
        shell = PartitionShell(QUEUES, durable, partition=0, epoch=1, env=env)
        behaviour: Any = shell.behaviour
        await shell.execute([Send([SendEntry(b"later", delay_s=30)])])
        assert behaviour.next_due_ms(0) is None  # nobody waits: the delay's end is no step
        poll = asyncio.ensure_future(shell.perform(LongPoll(1, None, WAIT_S)))
        await until(lambda: shell.waiters == 1, "the long poll to park")
        assert activity.busy == 0 and activity.generation == 1
        assert behaviour.next_due_ms(0) == 30_000
        assert not behaviour.due(0)
        clock.set(30_000)  # as a step does: no wake-up
        assert behaviour.due(30_000)
        report = await settle(activity, lambda: [shell], 30_000, 60_000, WAIT_S)
        assert report == ClockReport(True, 2, None)
        (message,) = await poll
        assert message.body == b"later"
        await shell.close()

    scenario(body)


def test_a_shells_background_work_is_a_unit_named_after_the_partition() -> None:
    async def body() -> None:
        clock, activity = ManualClock(0), Activity()
        env = Environment(clock, FakeDispatcher(clock), virtual_clock=True, activity=activity)
        durable = open_queue(QueueConfig.create("q"), MemoryLog(), tag=9, epoch=1)
        shell = PartitionShell(QUEUES, durable, partition=3, epoch=1, env=env)
        gate = asyncio.Event()
        shell.spawn(gated(gate))
        assert activity.busy_units() == ["queue q/3: gated"]
        await shell.close()  # cancels it
        await until(lambda: activity.busy == 0, "the cancelled work to end")

    scenario(body)
