"""The operations of a bus partition (see :mod:`raybus.engines.ops`).

PutEvents is the only operation callers send; deliveries are the shell's own business (its
delivery loop takes, delivers and settles — :mod:`raybus.partitions.bus`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from raybus.core.buses import EventEntry, PutEventsResult
from raybus.core.errors import RaybusError
from raybus.engines.bus.engine import BusPartition
from raybus.engines.ops import Op, Turn

__all__ = ["BusStats", "PutEvents"]


@dataclass(frozen=True, slots=True)
class PutEvents(Op[BusPartition, list[PutEventsResult | RaybusError]]):
    entries: Sequence[EventEntry]

    def apply(self, engine: BusPartition, turn: Turn) -> list[PutEventsResult | RaybusError]:
        turn.wake = True  # the delivery loop looks again after the commit
        return engine.put(turn.now_ms, self.entries)


@dataclass(frozen=True, slots=True)
class BusStats(Op[BusPartition, dict[str, Any]]):
    """Event counts, and per target its delivery counters."""

    def apply(self, engine: BusPartition, turn: Turn) -> dict[str, Any]:
        stats = engine.stats()
        stats["epoch"] = turn.epoch
        return stats
