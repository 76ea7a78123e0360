"""The partitioned kinds' part in the partition layer: one line per kind.

A host opens a partition of kind ``k`` with ``PARTITION_KINDS[k]`` (:class:`PartitionKind`):
it builds the engine and the shell's behaviour. A new partitioned kind adds its module here.
"""

from __future__ import annotations

from typing import Any

from raybus.core.errors import RaybusError
from raybus.partitions.bucket import BUCKETS
from raybus.partitions.bus import BUSES
from raybus.partitions.queue import QUEUES
from raybus.partitions.shell import PartitionKind
from raybus.partitions.topic import TOPICS

__all__ = ["PARTITION_KINDS", "partition_kind"]

PARTITION_KINDS: dict[str, PartitionKind[Any]] = {
    kind.name: kind for kind in (QUEUES, TOPICS, BUSES, BUCKETS)
}


def partition_kind(name: str) -> PartitionKind[Any]:
    kind = PARTITION_KINDS.get(name)
    if kind is None:
        raise RaybusError("InternalError", f"No partitions of kind {name!r} on this host.")
    return kind
