"""The ``interval`` fsync policy's timer: one daemon thread per log, idle while nothing is dirty.

Contract: after :meth:`IntervalSyncer.poke`, ``sync()`` runs on the timer thread
``interval_s`` later (pokes in between share that run), so unsynced data waits at most
``interval_s`` plus one fsync, and fsyncs happen at most once per ``interval_s``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

__all__ = ["IntervalSyncer"]


class IntervalSyncer:
    """Calls ``sync()`` (which returns False to stop the timer for good) ``interval_s`` after
    the first :meth:`poke` since the previous call."""

    def __init__(self, sync: Callable[[], bool], interval_s: float, name: str) -> None:
        self._sync = sync
        self._interval_s = interval_s
        self._cv = threading.Condition()
        self._pending = False
        self._closed = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def poke(self) -> None:
        with self._cv:
            if not self._pending:
                self._pending = True
                self._cv.notify()

    def close(self) -> None:
        """Stop the thread (without a last sync) and wait for it."""
        with self._cv:
            self._closed = True
            self._cv.notify_all()
        if self._thread is not threading.current_thread():
            self._thread.join()

    def _run(self) -> None:
        while True:
            with self._cv:
                while not self._pending and not self._closed:
                    self._cv.wait()
                deadline = time.monotonic() + self._interval_s
                while not self._closed and (left := deadline - time.monotonic()) > 0:
                    self._cv.wait(left)
                if self._closed:
                    return
                self._pending = False
            if not self._sync():
                return
