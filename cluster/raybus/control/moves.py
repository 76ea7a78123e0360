"""Move-back tasks (SQS StartMessageMoveTask): drain a dead-letter queue into a destination.

Each step takes up to the task's quota of visible messages from each partition of the source
(:class:`~raybus.engines.queue.ops.TakeForTransfer`: held, not removed), sends them to the
destination — or, without one, back to the queue each was dead-lettered from — and only after
the target committed them removes them from the source (the one transfer protocol,
:func:`raybus.partitions.transfer`). A target that refuses a message leaves it in the source
and fails the task, as SQS does. A crash between the two steps repeats messages, never loses
them.

:class:`MoveTasks` is composed into the control plane (it needs the catalog, the router, the
dispatcher and the clock, nothing of the controller); the calls at the end are its API.

Tasks live in the controller's memory: a controller restart forgets running tasks (the
messages already moved stay moved; nothing is lost) — see docs/queues.md.

Under the test clock the tasks are a participant of every clock advance
(:mod:`raybus.control.clock`): each runner is a unit of their
:class:`~raybus.partitions.activity.Activity`, idle only while it waits for its rate limit, and
the next time a rate-limited task may move again is a due time the advance steps to.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from raybus.actors import RouterDispatcher
from raybus.control.plane import ControlCall, ControlPlane
from raybus.control.queues import QueueStatsCall
from raybus.core.clock import ClockReport
from raybus.core.errors import RaybusError
from raybus.engines import DeadLetter, MoveTask, check_move_rate, check_move_task
from raybus.engines.queue.ops import SettleTransfer, TakeForTransfer
from raybus.partitions import transfer
from raybus.partitions.activity import Activity, settle

__all__ = ["CancelMoveTask", "ListMoveTasks", "MoveTasks", "StartMoveTask"]

log = logging.getLogger(__name__)
IDLE_WAIT_S = 1.0
HISTORY = 10


class MoveTasks:
    name = "move tasks"

    def __init__(self, plane: ControlPlane, *, test_clock: bool = False) -> None:
        self.plane = plane
        self.dispatcher = RouterDispatcher(plane.router)
        self.tasks: dict[str, MoveTask] = {}
        self.runners: dict[str, asyncio.Task[None]] = {}
        self._wake: asyncio.Event | None = None
        self.activity = Activity() if test_clock else None
        self._parked: set[str] = set()  # handles of runners waiting in _idle

    def wake(self) -> None:
        """Wake every idle task (the clock moved, or a task was cancelled)."""
        if self._wake is not None:
            self._wake.set()
            self._wake = None

    async def start(
        self, source: str, destination: str | None, rate_per_s: int | None
    ) -> dict[str, Any]:
        catalog = self.plane.catalog
        source_config = catalog.config("queue", source)
        if destination is not None:
            check_move_task(source_config, catalog.config("queue", destination), rate_per_s)
        else:
            if not any(
                r.config.redrive_policy is not None
                and r.config.redrive_policy.dead_letter_queue == source
                for r in catalog.of("queue").values()
            ):
                raise RaybusError(
                    "InvalidParameterValue",
                    f"Queue {source} is no queue's dead-letter queue; name a destination.",
                    parameter="destination",
                )
            check_move_rate(rate_per_s)
        if any(
            t.source == source and t.status in ("RUNNING", "CANCELLING")
            for t in self.tasks.values()
        ):
            raise RaybusError(
                "MoveTaskConflict", f"A move task is already running for {source}.", source=source
            )
        stats = await QueueStatsCall(source).run(self.plane)
        task = MoveTask(
            handle=uuid.uuid4().hex,
            source=source,
            destination=destination or "",
            started_ms=self.plane.now_ms(),
            to_move=int(stats["visible"]),
            rate_per_s=rate_per_s,
        )
        self.tasks[task.handle] = task
        self._trim(source)
        if task.status == "RUNNING":
            work = self._run(task)
            activity = self.activity
            self.runners[task.handle] = (
                asyncio.ensure_future(work)
                if activity is None
                else activity.task(work, f"move task {task.handle} from {source}")
            )
        return self._describe(task)

    def describe(self, source: str) -> list[dict[str, Any]]:
        found = [t for t in self.tasks.values() if t.source == source]
        found.sort(key=lambda t: t.started_ms, reverse=True)
        return [self._describe(t) for t in found]

    def cancel(self, handle: str) -> dict[str, Any]:
        task = self.tasks.get(handle)
        if task is None:
            raise RaybusError("ResourceNotFound", f"No move task {handle}.", handle=handle)
        task.cancel()
        self.wake()
        if handle not in self.runners:
            task.settle()
        return self._describe(task)

    def forget(self, queue: str) -> None:
        for _handle, task in list(self.tasks.items()):
            if queue in (task.source, task.destination) and task.status == "RUNNING":
                task.fail(f"Queue {queue} was deleted.")

    @staticmethod
    def _describe(task: MoveTask) -> dict[str, Any]:
        described = dict(task.describe())
        described["destination"] = task.destination or None
        return described

    def _trim(self, source: str) -> None:
        ended = [
            t
            for t in self.tasks.values()
            if t.source == source and t.status not in ("RUNNING", "CANCELLING")
        ]
        ended.sort(key=lambda t: t.started_ms)
        for task in ended[: max(0, len(ended) - HISTORY)]:
            self.tasks.pop(task.handle, None)

    # -- the loop -------------------------------------------------------------------------------
    async def _run(self, task: MoveTask) -> None:
        try:
            while task.status in ("RUNNING", "CANCELLING"):
                now = self.plane.now_ms()
                quota = task.quota(now)
                if quota == 0:
                    task.settle()
                    if task.status != "RUNNING":
                        break
                    await self._idle(task, now)
                    continue
                moved, empty = await self._step(task, quota)
                task.record_moved(self.plane.now_ms(), moved, source_empty=empty)
        except RaybusError as error:
            task.fail(f"{error.code}: {error.message}")
        except Exception as error:  # never let a task die silently
            log.exception("move task %s failed", task.handle)
            task.fail(repr(error))
        finally:
            self.runners.pop(task.handle, None)

    async def _idle(self, task: MoveTask, now: int) -> None:
        due = task.next_due_ms(now)
        wait = (
            IDLE_WAIT_S
            if due is None or self.plane.catalog.clock_ms is not None
            else (max(0.001, (due - now) / 1000))
        )
        if self._wake is None:
            self._wake = asyncio.Event()  # shared by every idle task until the next wake
        event = self._wake
        if self.activity is None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), min(wait, IDLE_WAIT_S))
            return
        self._parked.add(task.handle)
        try:
            with self.activity.parked(), contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), min(wait, IDLE_WAIT_S))
        finally:
            self._parked.discard(task.handle)

    # -- the test clock (a participant of raybus.control.clock.advance) ----------------------
    async def set_clock(self, now_ms: int, wake: bool) -> None:
        if wake:
            self.wake()

    async def settle(self, now_ms: int, horizon_ms: int, timeout_s: float) -> ClockReport:
        activity = self.activity
        if activity is None:
            return ClockReport(True, 0, None)
        return await settle(
            activity,
            tuple,
            now_ms,
            horizon_ms,
            timeout_s,
            extra_due=self._due,
            extra_next_due=self._next_due,
        )

    def _due(self, now_ms: int) -> list[str]:
        """Idle runners that would move (or end) now; they are woken."""
        due = [
            f"move task {handle}"
            for handle in self._parked
            if (task := self.tasks.get(handle)) is not None
            and (task.status != "RUNNING" or task.quota(now_ms) > 0)
        ]
        if due:
            self.wake()
        return due

    def _next_due(self, now_ms: int) -> int | None:
        times = [
            at
            for handle in self.runners
            if (task := self.tasks.get(handle)) is not None
            and (at := task.next_due_ms(now_ms)) is not None
        ]
        return min(times) if times else None

    async def _step(self, task: MoveTask, quota: int) -> tuple[int, bool]:
        router = self.plane.router
        route = await router.route("queue", task.source)
        moved_total = 0
        taken_total = 0
        for partition in range(len(route.partitions)):
            if quota - moved_total <= 0:
                break
            letters = await router.apply(
                "queue",
                task.source,
                partition,
                TakeForTransfer(quota - moved_total, task.destination),
            )
            taken_total += len(letters)
            moved, reason = await self._move(task, partition, letters)
            moved_total += moved
            if reason is not None:  # count what did move, then fail the task
                task.record_moved(self.plane.now_ms(), moved_total, source_empty=False)
                raise RaybusError("InvalidParameterValue", reason)
        return moved_total, taken_total == 0

    async def _move(
        self, task: MoveTask, partition: int, letters: list[DeadLetter]
    ) -> tuple[int, str | None]:
        """Move one partition's taken letters, per target: (moved, why some failed)."""
        by_target: dict[str, list[DeadLetter]] = {}
        for letter in letters:
            target = task.destination or str(
                (letter.entry.system or {}).get("dead_letter_source", "")
            )
            by_target.setdefault(target, []).append(letter)
        moved_total = 0
        reason: str | None = None
        for target, group in by_target.items():
            moved, refused = await self._move_group(task.source, partition, target, group)
            moved_total += moved
            reason = refused or reason
        return moved_total, reason

    async def _move_group(
        self, source: str, partition: int, target: str, group: list[DeadLetter]
    ) -> tuple[int, str | None]:
        refusals: list[str] = []

        async def send(items: Sequence[DeadLetter]) -> Sequence[object]:
            try:
                if not target:
                    raise RaybusError(
                        "InvalidParameterValue", "A message has no original source queue."
                    )
                results = await self.dispatcher.send(target, [i.entry for i in items])
            except RaybusError as error:
                refusals.append(error.message)
                raise
            refusals.extend(r.message for r in results if isinstance(r, RaybusError))
            return results

        async def settle(moved: list[DeadLetter], failed: list[DeadLetter]) -> None:
            done = SettleTransfer([m.seq for m in moved], [f.seq for f in failed])
            await self.plane.router.apply("queue", source, partition, done)

        moved, failed = await transfer(group, send, settle, what=f"move to {target}")
        reason = f"{target or '?'}: {refusals[0] if refusals else 'refused'}" if failed else None
        return len(moved), reason


# -- the calls --------------------------------------------------------------------------------


def _tasks(plane: ControlPlane) -> MoveTasks:
    tasks = plane.moves
    assert isinstance(tasks, MoveTasks)
    return tasks


@dataclass(frozen=True, slots=True)
class StartMoveTask(ControlCall[dict[str, Any]]):
    source: str
    destination: str | None = None
    rate_per_s: int | None = None

    async def run(self, plane: ControlPlane) -> dict[str, Any]:
        return await _tasks(plane).start(self.source, self.destination, self.rate_per_s)


@dataclass(frozen=True, slots=True)
class ListMoveTasks(ControlCall[list[dict[str, Any]]]):
    source: str

    async def run(self, plane: ControlPlane) -> list[dict[str, Any]]:
        plane.catalog.get("queue", self.source)
        return _tasks(plane).describe(self.source)


@dataclass(frozen=True, slots=True)
class CancelMoveTask(ControlCall[dict[str, Any]]):
    handle: str

    async def run(self, plane: ControlPlane) -> dict[str, Any]:
        return _tasks(plane).cancel(self.handle)
