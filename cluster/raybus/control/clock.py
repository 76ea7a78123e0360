"""The test clock's advance: every timer due in the interval runs, in time order.

``advance_clock(seconds)`` under ``raybus up --test-clock`` does not jump: it *steps*. The
participants are every partition host and the controller's own move tasks
(:class:`ClockParticipant`). From the current time ``now`` to the ``target``:

1. **Settle at now.** Each participant wakes what is due at ``now``, waits until it is
   quiescent — none of its background work (delivery loops, pollers, function invocations,
   transfers, move tasks, long polls) busy and nothing due — and reports its activity
   *generation* and the earliest time in ``(now, target]`` when something is due
   (:func:`raybus.partitions.activity.settle`). One round is not enough: a host that reported
   may receive work from one still busy (a delivery to a queue it owns). So rounds repeat until
   two in a row are quiescent everywhere with the same generations — no work started anywhere
   between them, hence the whole cluster was idle at once.
2. **Step.** The next time is the earliest reported due time. If there is none up to the
   target, stop stepping. Otherwise every participant's clock is set to it (without waking
   anything, so no work runs at the new time before every host has it), the controller's
   reported clock follows, and the loop settles again — now including every timer created by
   the work of earlier steps (the retry after a retry).
3. **Finish.** Every participant's clock is set to the target (waking everything). Work due
   at the target itself was a step, so the advance answers once it is done too.

Bounds (:mod:`raybus.core.clock`): at most ``max_steps`` steps; each step waits at most
``step_timeout_s`` real seconds for quiescence; the advance spends at most ``budget_s`` real
seconds. Past a bound — or if a participant cannot be reached — the advance *stops early*: the
clock stays at the last step reached, every participant that answers is woken there (what is
due then runs, unwaited; work already running goes on), and the caller gets
``ClockAdvanceIncomplete`` naming where it stopped, why, and what was still busy; a further
advance continues from there. Nothing due is ever skipped, and the clock never moves back.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from raybus.core.clock import (
    ADVANCE_BUDGET_S,
    ADVANCE_STEP_TIMEOUT_S,
    MAX_ADVANCE_STEPS,
    ClockReport,
)
from raybus.core.errors import RaybusError

__all__ = ["Advance", "ClockParticipant", "advance"]

MAX_BUSY_REPORTED = 20  # what was still going on, in the error's details (a bounded answer)


class ClockParticipant(Protocol):
    """One participant of an advance (a partition host, the move tasks)."""

    @property
    def name(self) -> str: ...

    async def set_clock(self, now_ms: int, wake: bool) -> None:
        """Set the virtual time (never back); ``wake``: wake everything afterwards."""

    async def settle(self, now_ms: int, horizon_ms: int, timeout_s: float) -> ClockReport:
        """Wake what is due at ``now_ms``, wait until quiescent (at most ``timeout_s``), report
        (see :class:`~raybus.core.clock.ClockReport`)."""
        ...


@dataclass(frozen=True, slots=True)
class Advance:
    """How an advance ended: the clock stands at ``now_ms`` after ``steps`` steps; ``stopped``
    is None when it reached ``target_ms``, else why it stopped early (``"steps"``,
    ``"quiescence"``, ``"budget"``, ``"unreachable"``) and ``busy`` what was still going on."""

    now_ms: int
    target_ms: int
    steps: int
    stopped: str | None = None
    busy: tuple[str, ...] = ()

    def error(self) -> RaybusError:
        """The ``ClockAdvanceIncomplete`` error of an advance that stopped early."""
        why = {
            "steps": "it took the most steps one advance may take",
            "quiescence": "work was still running when a step's wait for quiescence ran out",
            "budget": "the advance used up its real-time budget",
            "unreachable": "a partition host did not answer",
        }.get(self.stopped or "", str(self.stopped))
        return RaybusError(
            "ClockAdvanceIncomplete",
            f"The clock stopped at {self.now_ms}, {self.target_ms - self.now_ms} ms before its "
            f"target {self.target_ms}: {why}. Advance again to go on.",
            now_ms=self.now_ms,
            target_ms=self.target_ms,
            steps=self.steps,
            reason=self.stopped,
            busy=list(self.busy[:MAX_BUSY_REPORTED]),
        )


class _Stop(Exception):
    def __init__(self, reason: str, busy: Sequence[str] = ()) -> None:
        super().__init__(reason)
        self.reason = reason
        self.busy = tuple(busy)


async def advance(
    participants: Sequence[ClockParticipant],
    start_ms: int,
    target_ms: int,
    *,
    on_step: Callable[[int], None] = lambda now_ms: None,
    max_steps: int = MAX_ADVANCE_STEPS,
    step_timeout_s: float = ADVANCE_STEP_TIMEOUT_S,
    budget_s: float = ADVANCE_BUDGET_S,
    monotonic: Callable[[], float] = time.monotonic,
) -> Advance:
    """Step ``participants`` from ``start_ms`` to ``target_ms`` (module docstring).
    ``on_step(now)`` runs once every participant's clock is at a step's time, before any work
    runs at it (the controller's reported clock). Never raises for a participant's failure: it
    ends the advance early (``"unreachable"``)."""
    if target_ms < start_ms:
        raise ValueError("a clock never moves backwards")
    budget_end = monotonic() + budget_s
    now = start_ms
    steps = 0

    async def set_all(at: int, wake: bool) -> None:
        nonlocal now
        results = await asyncio.gather(
            *(p.set_clock(at, wake) for p in participants), return_exceptions=True
        )
        now = max(now, at)  # even if some failed: the reported clock is never behind a host
        on_step(now)
        failed = [f"{p.name}: {r!r}" for p, r in zip(participants, results, strict=True)
                  if isinstance(r, BaseException)]  # fmt: skip
        if failed:
            raise _Stop("unreachable", failed)

    async def settle_all(at: int) -> int | None:
        step_end = min(monotonic() + step_timeout_s, budget_end)
        previous: tuple[int, ...] | None = None
        while True:
            remaining = step_end - monotonic()
            if remaining <= 0:
                raise _Stop("budget" if step_end == budget_end else "quiescence")
            results = await asyncio.gather(
                *(p.settle(at, target_ms, remaining) for p in participants),
                return_exceptions=True,
            )
            failed = [f"{p.name}: {r!r}" for p, r in zip(participants, results, strict=True)
                      if isinstance(r, BaseException)]  # fmt: skip
            if failed:
                raise _Stop("unreachable", failed)
            reports = [r for r in results if isinstance(r, ClockReport)]
            busy = [
                f"{p.name}: {what}"
                for p, r in zip(participants, reports, strict=True)
                if not r.quiescent
                for what in r.busy or ("busy",)
            ]
            if busy:
                raise _Stop("budget" if step_end == budget_end else "quiescence", busy)
            generations = tuple(r.generation for r in reports)
            if generations == previous:
                due = [r.next_due_ms for r in reports if r.next_due_ms is not None]
                upcoming = [d for d in due if at < d <= target_ms]
                return min(upcoming) if upcoming else None
            previous = generations

    try:
        await set_all(now, False)  # a host that restarted meanwhile is brought to now
        while True:
            due = await settle_all(now)
            if due is None:
                break
            if steps >= max_steps:
                raise _Stop("steps")
            steps += 1
            await set_all(due, False)
        if now < target_ms:
            await set_all(target_ms, True)
    except _Stop as stop:
        # what is due where the clock stopped runs now, as at a target (best effort: not waited
        # for, and a participant that cannot be reached catches up when it comes back)
        await asyncio.gather(*(p.set_clock(now, True) for p in participants),
                             return_exceptions=True)  # fmt: skip
        return Advance(now, target_ms, steps, stop.reason, stop.busy)
    return Advance(now, target_ms, steps)
