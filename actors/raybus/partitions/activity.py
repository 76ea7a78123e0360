"""Quiescence under the test clock: what a host's background work is doing right now.

Under ``raybus up --test-clock`` the controller moves time in steps (one per due timer, see
:mod:`raybus.control.clock`), and before each step it waits until every host is *quiescent*
at the current time: no background work running, and none due. This module is the host's
half of that condition; with the system clock none of it is used (``Environment.activity``
is None and every hook below is skipped).

- An :class:`Activity` counts the host's *units* of background work that are busy: topic
  delivery loops and every other task a shell spawns (dead-letter transfers), poller workers,
  and waiting operations (long polls) performed on the host's partitions. A unit is busy from
  its start to its end except while it is *parked* — waiting, with nothing to do, for a
  wake-up (:meth:`PartitionShell.park`). Every start and every return from a park adds one to
  :attr:`Activity.generation`. A unit is one task: a task it starts (``gather``) inherits its
  context but is not the unit, so only the unit itself can park it.
- A unit is parked only after it checked that it has nothing to do; a wake-up may come before
  the parked unit runs again. That gap is covered by each partition's behaviour: ``due(now)``
  is true while a parked unit would find work (a topic subscription with a delivery due, a
  queue with a visible message and a waiter) — and then :func:`settle` wakes it again.
- :func:`settle` waits, with no timer but an event set whenever a unit parks or ends, until no
  unit is busy and no partition has due work, then reports the earliest time after ``now``
  when something is due (``next_due_ms``): a :class:`~raybus.core.clock.ClockReport`.

One host's quiescence is not the cluster's: a busy host may still send to one that already
reported. The controller repeats the reports until two rounds in a row are quiescent with
unchanged generations (nothing started anywhere in between).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
from collections import Counter
from collections.abc import Callable, Coroutine, Iterable, Iterator
from contextvars import ContextVar
from typing import Any, Protocol, TypeVar

from raybus.core.clock import ClockReport

__all__ = ["Activity", "Participant", "settle"]

T = TypeVar("T")


class _Unit:
    """One unit of work: its activity, what it is (for reports) and the task that runs it."""

    __slots__ = ("activity", "name", "task")

    def __init__(self, activity: Activity, name: str, task: asyncio.Task[Any] | None) -> None:
        self.activity = activity
        self.name = name
        self.task = task

    def is_running(self, activity: Activity) -> bool:
        """True inside this unit's own task, for ``activity``."""
        return self.activity is activity and self.task is asyncio.current_task()


# The unit the running task belongs to (set in the context of every tracked task).
_UNIT: ContextVar[_Unit | None] = ContextVar("raybus_activity_unit", default=None)


class Activity:
    """Busy units of one host (or of the controller's move tasks), see the module docstring.
    Lives on one event loop; not thread-safe."""

    __slots__ = ("_busy", "_changed", "busy", "generation")

    def __init__(self) -> None:
        self.busy = 0
        self.generation = 0
        self._busy: Counter[str] = Counter()  # busy units by name, for reports
        self._changed = asyncio.Event()

    def _begin(self, unit: _Unit) -> None:
        """A unit starts, or returns from a park."""
        self.busy += 1
        self.generation += 1
        self._busy[unit.name] += 1

    def _end(self, unit: _Unit) -> None:
        """A unit ends, or parks."""
        self.busy -= 1
        self._busy[unit.name] -= 1
        if not self._busy[unit.name]:
            del self._busy[unit.name]
        self._changed.set()
        self._changed = asyncio.Event()

    def changed(self) -> asyncio.Event:
        """The event the next park or end sets (take it before checking a condition)."""
        return self._changed

    def busy_units(self) -> list[str]:
        """What is busy, by name (``name ×n`` for several alike), sorted."""
        return [name if n == 1 else f"{name} ×{n}" for name, n in sorted(self._busy.items())]

    def task(self, work: Coroutine[Any, Any, T], name: str) -> asyncio.Task[T]:
        """Run ``work`` as a new unit: busy from now (synchronously, so there is no moment when
        the task exists and is not counted) until the task is done — however it ends, even
        cancelled before it ever ran."""
        unit = _Unit(self, name, None)
        context = contextvars.copy_context()
        context.run(_UNIT.set, unit)
        task: asyncio.Task[T] = context.run(asyncio.ensure_future, work)
        unit.task = task
        self._begin(unit)
        task.add_done_callback(lambda _: self._end(unit))
        return task

    @contextlib.contextmanager
    def unit(self, name: str) -> Iterator[None]:
        """The running task is a unit for the block (a waiting operation performed on a
        partition), unless it is one of this activity already."""
        current = _UNIT.get()
        if current is not None and current.is_running(self):
            yield
            return
        unit = _Unit(self, name, asyncio.current_task())
        token = _UNIT.set(unit)
        self._begin(unit)
        try:
            yield
        finally:
            self._end(unit)
            _UNIT.reset(token)

    @contextlib.contextmanager
    def parked(self) -> Iterator[None]:
        """The running unit waits with nothing to do for the block (a no-op outside one of
        this activity's units)."""
        unit = _UNIT.get()
        if unit is None or not unit.is_running(self):
            yield
            return
        self._end(unit)
        try:
            yield
        finally:
            self._begin(unit)


class Participant(Protocol):
    """A partition as :func:`settle` sees it: its kind's behaviour answers ``due`` and
    ``next_due_ms``; ``wake`` wakes whatever waits on it."""

    @property
    def behaviour(self) -> Any: ...

    def wake(self) -> None: ...

    def describe(self) -> str: ...


async def settle(
    activity: Activity,
    partitions: Callable[[], Iterable[Participant]],
    now_ms: int,
    horizon_ms: int,
    timeout_s: float,
    *,
    extra_due: Callable[[int], list[str]] | None = None,
    extra_next_due: Callable[[int], int | None] | None = None,
) -> ClockReport:
    """Wait (at most ``timeout_s`` real seconds) until nothing of ``activity`` is busy and no
    partition has work due at ``now_ms``; wake each partition that has (its parked units run
    again). Then report the earliest due time in ``(now_ms, horizon_ms]``, or, on timeout, what
    was still busy or due. ``partitions`` is called afresh each time (partitions open and
    close). ``extra_due`` / ``extra_next_due`` add work that is not a partition's (the
    controller's move tasks; ``extra_due`` wakes what it reports)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while True:
        changed = activity.changed()
        pending = _wake_due(partitions(), now_ms)
        if extra_due is not None:
            pending.extend(extra_due(now_ms))
        if activity.busy == 0 and not pending:
            break
        remaining = deadline - loop.time()
        if remaining <= 0:
            busy = activity.busy_units()
            return ClockReport(False, activity.generation, None, (*busy, *pending))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(changed.wait(), remaining)
    due = [partition.behaviour.next_due_ms(now_ms) for partition in list(partitions())]
    if extra_next_due is not None:
        due.append(extra_next_due(now_ms))
    upcoming = [at for at in due if at is not None and now_ms < at <= horizon_ms]
    return ClockReport(True, activity.generation, min(upcoming) if upcoming else None)


def _wake_due(partitions: Iterable[Participant], now_ms: int) -> list[str]:
    """Wake every partition with work due at ``now_ms``; what they are (for reports)."""
    pending = []
    for partition in list(partitions):
        if partition.behaviour.due(now_ms):
            partition.wake()
            pending.append(f"{partition.describe()}: work due")
    return pending
