"""The routing table: which partition host serves each partition of each queue, at which epoch.

The controller owns it and bumps ``version`` on every change; gateways and partition hosts keep
a copy and refresh it when a host answers ``StaleEpoch`` (or when the controller pushes a newer
version). A table is immutable: a refresh replaces it whole.

Partition choice is pure and stable: a FIFO message group maps to
``partition_for(group_id, n)`` (MD5, never Python's salted ``hash``), so every gateway sends a
group to the same partition and per-group order holds.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field

from raybus.core.config import QueueConfig
from raybus.core.hashing import partition_for
from raybus.core.resources import FunctionConfig, MappingConfig, SubscriptionConfig, TopicConfig

__all__ = [
    "ASYNC_QUEUE_PREFIX",
    "PartitionRoute",
    "QueueRoute",
    "RoutingTable",
    "TopicRoute",
    "async_queue_name",
    "partition_tag",
]

ASYNC_QUEUE_PREFIX = "raybus-async-"


def async_queue_name(function: str) -> str:
    """The internal queue that holds ``function``'s asynchronous invocations (the durable
    event queue Lambda keeps for async invokes). The ``raybus-`` prefix is reserved."""
    return ASYNC_QUEUE_PREFIX + function


def partition_tag(incarnation: int, partition: int) -> int:
    """The 64-bit tag of one partition of one queue incarnation.

    Message ids and receipts embed it, so a queue deleted and created again under the same name
    never accepts the old queue's receipts, and partitions never share message ids."""
    raw = incarnation.to_bytes(8, "big") + partition.to_bytes(4, "big")
    return int.from_bytes(hashlib.blake2b(raw, digest_size=8).digest(), "big")


@dataclass(frozen=True, slots=True)
class PartitionRoute:
    host: str  # the partition host actor's name
    epoch: int


@dataclass(frozen=True, slots=True)
class QueueRoute:
    config: QueueConfig
    incarnation: int
    partitions: tuple[PartitionRoute, ...]

    @property
    def name(self) -> str:
        return self.config.name

    def tag(self, partition: int) -> int:
        return partition_tag(self.incarnation, partition)

    def partition_of_group(self, group_id: str) -> int:
        return partition_for(group_id, len(self.partitions))


@dataclass(frozen=True, slots=True)
class TopicRoute:
    config: TopicConfig
    incarnation: int
    partitions: tuple[PartitionRoute, ...]
    subscriptions: tuple[SubscriptionConfig, ...] = ()

    @property
    def name(self) -> str:
        return self.config.name

    def tag(self, partition: int) -> int:
        return partition_tag(self.incarnation, partition)


@dataclass(frozen=True, slots=True)
class RoutingTable:
    """Everything a gateway or host needs to route: queues and topics with their placements,
    and the functions and event-source mappings that hosts run pollers for."""

    version: int = 0
    queues: Mapping[str, QueueRoute] = field(default_factory=dict)
    hosts: tuple[str, ...] = ()
    test_clock: bool = False
    topics: Mapping[str, TopicRoute] = field(default_factory=dict)
    functions: Mapping[str, FunctionConfig] = field(default_factory=dict)
    mappings: Mapping[str, MappingConfig] = field(default_factory=dict)
