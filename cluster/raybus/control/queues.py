"""The control calls of queues (see :mod:`raybus.control.plane`).

Create is idempotent (equal settings answer the existing queue; other settings are
``QueueAlreadyExists``, SQS's rule); the ``raybus-`` prefix is reserved for the event queues of
functions, which list calls hide. A redrive policy's dead-letter queue, when it exists, must
allow the source (``RedriveNotAllowed``) and be of the same type. Changing a queue's settings
reaches its partitions before the call answers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from raybus.actors import merge_stats
from raybus.control.catalog import Catalog
from raybus.control.plane import ControlCall, ControlPlane
from raybus.core.errors import RaybusError
from raybus.core.queues import QueueConfig
from raybus.core.routing import ASYNC_QUEUE_PREFIX
from raybus.engines import check_redrive
from raybus.engines.queue.ops import QueueStats

__all__ = [
    "CreateQueue",
    "DeleteQueue",
    "GetQueue",
    "ListQueues",
    "QueueStatsCall",
    "UpdateQueue",
    "check_redrive_in",
    "list_names",
]

MAX_LIST = 1000


def list_names(
    catalog: Catalog, kind: str, prefix: str | None, limit: int, hidden: str | None = None
) -> list[str]:
    """Sorted keys of a kind, starting with ``prefix``, at most ``limit`` (≤ 1,000), leaving
    out those starting with ``hidden``."""
    names = sorted(
        key
        for key in catalog.of(kind)
        if (not prefix or key.startswith(prefix)) and not (hidden and key.startswith(hidden))
    )
    return names[: max(0, min(limit, MAX_LIST))]


def check_redrive_in(catalog: Catalog, config: QueueConfig) -> None:
    policy = config.redrive_policy
    if policy is not None:
        target = catalog.find("queue", policy.dead_letter_queue)
        check_redrive(config, None if target is None else target.config)


@dataclass(frozen=True, slots=True)
class CreateQueue(ControlCall[tuple[dict[str, Any], bool]]):
    settings: dict[str, Any]
    internal: bool = False  # a function's event queue may use the reserved prefix

    async def run(self, plane: ControlPlane) -> tuple[dict[str, Any], bool]:
        if not isinstance(self.settings, dict) or not isinstance(self.settings.get("name"), str):
            raise RaybusError("MissingParameter", "A queue needs a name.", parameter="name")
        config = QueueConfig.from_dict(self.settings)
        if config.name.startswith(ASYNC_QUEUE_PREFIX) and not self.internal:
            raise RaybusError(
                "InvalidParameterValue",
                f"Queue names starting with {ASYNC_QUEUE_PREFIX} are reserved.",
                parameter="name",
            )
        async with plane.change() as catalog:
            check_redrive_in(catalog, config)
            record, created = catalog.add("queue", config)
        if created:
            await plane.open_partitions("queue", config.name)
        return record.config.to_dict(), created


@dataclass(frozen=True, slots=True)
class GetQueue(ControlCall[dict[str, Any]]):
    name: str

    async def run(self, plane: ControlPlane) -> dict[str, Any]:
        config: dict[str, Any] = plane.catalog.config("queue", self.name).to_dict()
        return config


@dataclass(frozen=True, slots=True)
class ListQueues(ControlCall[list[str]]):
    prefix: str | None = None
    limit: int = MAX_LIST

    async def run(self, plane: ControlPlane) -> list[str]:
        return list_names(plane.catalog, "queue", self.prefix, self.limit, ASYNC_QUEUE_PREFIX)


@dataclass(frozen=True, slots=True)
class UpdateQueue(ControlCall[dict[str, Any]]):
    name: str
    changes: dict[str, Any]

    async def run(self, plane: ControlPlane) -> dict[str, Any]:
        if not isinstance(self.changes, dict):
            raise RaybusError("MalformedRequest", "Queue settings are a map.")
        async with plane.change() as catalog:
            config = catalog.config("queue", self.name).updated(**self.changes)
            check_redrive_in(catalog, config)
            catalog.put("queue", config)
        await plane.configure("queue", self.name)
        answer: dict[str, Any] = config.to_dict()
        return answer


@dataclass(frozen=True, slots=True)
class DeleteQueue(ControlCall[None]):
    name: str

    async def run(self, plane: ControlPlane) -> None:
        async with plane.change() as catalog:
            record = catalog.remove("queue", self.name)
        if plane.moves is not None:
            plane.moves.forget(self.name)
        await plane.close_partitions(record)


@dataclass(frozen=True, slots=True)
class QueueStatsCall(ControlCall[dict[str, Any]]):
    """Summed stats of every partition (and their count)."""

    name: str

    async def run(self, plane: ControlPlane) -> dict[str, Any]:
        return merge_stats(await plane.partition_stats("queue", self.name, QueueStats()))
