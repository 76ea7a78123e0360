"""Injected time. State code never reads the wall clock; it is handed ``now_ms`` by its shell.

All times are integer milliseconds since the Unix epoch: exact to compare, cheap to store,
and what SQS reports (``SentTimestamp``, ``ApproximateFirstReceiveTimestamp``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

__all__ = [
    "ADVANCE_ANSWER_S",
    "ADVANCE_BUDGET_S",
    "ADVANCE_CALL_S",
    "ADVANCE_STEP_TIMEOUT_S",
    "MAX_ADVANCE_STEPS",
    "Clock",
    "ClockReport",
    "ManualClock",
    "SystemClock",
]

# The bounds of one test-clock advance (docs/http-api.md, "Clock"): the controller steps through
# at most MAX_ADVANCE_STEPS due times, waits at most ADVANCE_STEP_TIMEOUT_S (real seconds) for
# the cluster to become quiescent at each of them, and spends at most ADVANCE_BUDGET_S (real
# seconds) in all; past any bound the advance stops early with ``ClockAdvanceIncomplete``.
MAX_ADVANCE_STEPS = 10_000
ADVANCE_STEP_TIMEOUT_S = 60.0
ADVANCE_BUDGET_S = 300.0
# How long a participant (a partition host) may take to answer one call of an advance beyond
# the wait it was asked for; past it the participant counts as unreachable. The last round may
# start just before the budget ends and the clock is set once more after it, so an advance
# answers within ADVANCE_ANSWER_S (what a client waits for its answer).
ADVANCE_CALL_S = 30.0
ADVANCE_ANSWER_S = ADVANCE_BUDGET_S + 2 * ADVANCE_CALL_S


class Clock(Protocol):
    """A source of ``now`` in integer milliseconds. Never goes backwards."""

    def now_ms(self) -> int: ...


class SystemClock:
    """Wall-clock time, clamped to be non-decreasing (an NTP step back never reorders state)."""

    __slots__ = ("_last", "_lock")

    def __init__(self) -> None:
        self._last = 0
        self._lock = threading.Lock()

    def now_ms(self) -> int:
        now = time.time_ns() // 1_000_000
        with self._lock:
            if now < self._last:
                return self._last
            self._last = now
            return now


class ManualClock:
    """A virtual clock moved only by :meth:`advance` / :meth:`set`.

    Listeners registered with :meth:`on_advance` run synchronously after each move, so a host can
    wake timers (visibility deadlines, long polls) when a test jumps time forward.
    """

    __slots__ = ("_listeners", "_lock", "_now")

    def __init__(self, start_ms: int = 1_700_000_000_000) -> None:
        self._now = start_ms
        self._lock = threading.Lock()
        self._listeners: list[Callable[[int], None]] = []

    def now_ms(self) -> int:
        return self._now

    def advance(self, seconds: float) -> int:
        """Move forward by ``seconds`` (≥ 0); returns the new ``now_ms``."""
        if seconds < 0:
            raise ValueError("a clock never moves backwards")
        return self.set(self._now + round(seconds * 1000))

    def set(self, now_ms: int) -> int:
        with self._lock:
            if now_ms < self._now:
                raise ValueError("a clock never moves backwards")
            self._now = now_ms
            listeners = list(self._listeners)
        for listener in listeners:
            listener(now_ms)
        return now_ms

    def on_advance(self, listener: Callable[[int], None]) -> None:
        with self._lock:
            self._listeners.append(listener)


@dataclass(frozen=True, slots=True)
class ClockReport:
    """What one participant of a test-clock advance (a partition host, the controller's move
    tasks) reports at a step: whether it became quiescent at the step's time (no background
    work running and none due), its activity ``generation`` (it grows whenever work starts, so
    two equal reports in a row prove nothing ran in between), the earliest time after the step
    and at most the advance's target when something is due there (None: nothing), and, when
    it is not quiescent, what is still going on."""

    quiescent: bool
    generation: int
    next_due_ms: int | None
    busy: tuple[str, ...] = ()
