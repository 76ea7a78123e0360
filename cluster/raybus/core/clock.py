"""Injected time. State code never reads the wall clock; it is handed ``now_ms`` by its shell.

All times are integer milliseconds since the Unix epoch: exact to compare, cheap to store,
and what SQS reports (``SentTimestamp``, ``ApproximateFirstReceiveTimestamp``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Protocol

__all__ = ["Clock", "ManualClock", "SystemClock"]


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
