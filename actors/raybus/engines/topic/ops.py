"""The operations of a topic partition (see :mod:`raybus.engines.ops`).

Publishing is the only operation callers send; deliveries are the shell's own business (its
delivery loops take, deliver and settle — :mod:`raybus.partitions.topic`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from raybus.core.errors import RaybusError
from raybus.core.topics import PublishEntry, PublishResult
from raybus.engines.ops import Op, Turn
from raybus.engines.topic.engine import TopicPartition

__all__ = ["Publish", "TopicStats"]


@dataclass(frozen=True, slots=True)
class Publish(Op[TopicPartition, list[PublishResult | RaybusError]]):
    entries: Sequence[PublishEntry]

    def apply(self, engine: TopicPartition, turn: Turn) -> list[PublishResult | RaybusError]:
        turn.wake = True  # the delivery loops look again after the commit
        return engine.publish(turn.now_ms, self.entries)


@dataclass(frozen=True, slots=True)
class TopicStats(Op[TopicPartition, dict[str, Any]]):
    """Published and retained counts, and per subscription its delivery counters."""

    def apply(self, engine: TopicPartition, turn: Turn) -> dict[str, Any]:
        stats = engine.stats(turn.now_ms)
        stats["epoch"] = turn.epoch
        return stats
