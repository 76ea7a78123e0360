"""Fixtures for engine tests: a memory log, a manual clock and queue factories."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from raybus.core import ManualClock, QueueConfig
from raybus.engines import QueuePartition, SendEntry, new_partition
from raybus.storage import MemoryLog

MakeQueue = Callable[..., QueuePartition]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(start_ms=1_700_000_000_000)


@pytest.fixture
def make_queue() -> MakeQueue:
    def make(
        name: str = "q", *, log: MemoryLog | None = None, tag: int = 7, **settings: Any
    ) -> QueuePartition:
        config = QueueConfig.create(name, **settings)
        return new_partition(config, log if log is not None else MemoryLog(), tag=tag)

    return make


def bodies(messages: Any) -> list[bytes]:
    return [m.body for m in messages]


def send(queue: QueuePartition, now_ms: int, *items: Any, **common: Any) -> list[Any]:
    """Send bodies (or SendEntry objects); fail the test on any per-entry error."""
    entries = [i if isinstance(i, SendEntry) else SendEntry(i, **common) for i in items]
    results = queue.send(now_ms, entries)
    for result in results:
        if isinstance(result, Exception):
            raise result
    return results
