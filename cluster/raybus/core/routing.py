"""The routing table: every resource by kind, and which partition host serves each partition of
each partitioned resource, at which epoch.

The controller owns it and bumps ``version`` on every change; gateways and partition hosts keep
a copy and refresh it when a host answers ``StaleEpoch`` (or when the controller pushes a newer
version). A table is immutable: a refresh replaces it whole.

Kinds are generic here (:mod:`raybus.core.kinds`): the table maps a kind's name to its routes,
so a new kind needs no change to it. Partition choice is pure and stable: a FIFO message group
maps to
``partition_for(group_id, n)`` (MD5, never Python's salted ``hash``), so every gateway sends a
group to the same partition and per-group order holds.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from raybus.core.hashing import partition_for

__all__ = [
    "ASYNC_QUEUE_PREFIX",
    "PartitionRoute",
    "Route",
    "RoutingTable",
    "async_queue_name",
    "partition_tag",
]

C = TypeVar("C")

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
class Route(Generic[C]):
    """One resource: its kind, settings and key; for a partitioned kind, its incarnation and
    where each partition lives; for a kind others attach to (a topic), the attached settings
    (its subscriptions)."""

    kind: str
    key: str
    config: C
    incarnation: int = 0
    partitions: tuple[PartitionRoute, ...] = ()
    attached: tuple[Any, ...] = ()

    @property
    def name(self) -> str:
        return self.key

    def tag(self, partition: int) -> int:
        return partition_tag(self.incarnation, partition)

    def partition_of_group(self, group_id: str) -> int:
        """The partition of a message group (stable: MD5 of the group id)."""
        return partition_for(group_id, len(self.partitions))


@dataclass(frozen=True, slots=True)
class RoutingTable:
    """Everything a gateway or host needs to route: every resource by kind and key (with the
    placement of each partition of the partitioned ones), the hosts, whether the cluster runs
    on a virtual clock, and its AWS identity (account id, region). Immutable; a newer
    ``version`` replaces it whole."""

    version: int = 0
    hosts: tuple[str, ...] = ()
    test_clock: bool = False
    resources: Mapping[str, Mapping[str, Route[Any]]] = field(default_factory=dict)
    aws_account_id: str = "000000000000"  # the identity AWS clients and events see
    aws_region: str = "us-east-1"

    def routes(self, kind: str) -> Mapping[str, Route[Any]]:
        """Every resource of ``kind`` by key (empty if there are none)."""
        return self.resources.get(kind, _EMPTY)

    def route(self, kind: str, key: str) -> Route[Any] | None:
        return self.resources.get(kind, _EMPTY).get(key)

    def configs(self, kind: str) -> dict[str, Any]:
        """The settings of every resource of ``kind`` by key."""
        return {key: route.config for key, route in self.routes(kind).items()}


_EMPTY: Mapping[str, Route[Any]] = {}
