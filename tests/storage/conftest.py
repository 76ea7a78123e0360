"""Fixtures shared by the storage specification: one suite, two implementations."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from raybus.core import ManualClock
from raybus.storage import FileLog, MemoryLog, PartitionLog


class CountingFsync:
    """``os.fsync`` that really syncs, counts calls and notes which fd / path each synced."""

    def __init__(self) -> None:
        self.calls = 0
        self.fds: list[int] = []
        self.paths: list[str] = []

    def __call__(self, fd: int) -> None:
        os.fsync(fd)
        self.calls += 1
        self.fds.append(fd)
        self.paths.append(os.readlink(f"/proc/self/fd/{fd}"))


class Logs:
    """Opens logs of one kind (``"file"`` or ``"memory"``) with the same knobs."""

    def __init__(self, kind: str, directory: Path, clock: ManualClock) -> None:
        self.kind = kind
        self.directory = directory
        self.clock = clock
        self._open: list[PartitionLog] = []

    def open(self, name: str = "log", **options: Any) -> PartitionLog:
        """A fresh log (for files: in directory ``name``) with ``options``."""
        options.setdefault("clock", self.clock)
        log: PartitionLog
        if self.kind == "file":
            log = FileLog(self.directory / name, **options)
        else:
            log = MemoryLog(**options)
        self._open.append(log)
        return log

    def reopen(self, log: PartitionLog, **options: Any) -> PartitionLog:
        """Close ``log`` and open what it left: the directory again, or the memory log's
        committed state."""
        options.setdefault("clock", self.clock)
        if isinstance(log, MemoryLog):
            log.close()
            fresh: PartitionLog = log.reopen()
        else:
            assert isinstance(log, FileLog)
            log.close()
            fresh = FileLog(log.directory, **options)
        self._open.append(fresh)
        return fresh

    def close_all(self) -> None:
        for log in self._open:
            log.close()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture(params=["file", "memory"])
def logs(request: pytest.FixtureRequest, tmp_path: Path, clock: ManualClock) -> Iterator[Logs]:
    factory = Logs(request.param, tmp_path, clock)
    yield factory
    factory.close_all()


def frame(payload: bytes) -> int:
    """Offset space one record takes: 8 frame-header bytes plus the payload."""
    return 8 + len(payload)
