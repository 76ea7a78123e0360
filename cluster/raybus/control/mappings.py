"""The control calls of event-source mappings (see :mod:`raybus.control.plane`).

A mapping from a queue is polled by the hosts owning the queue's partitions (they follow the
routing table); one from a topic becomes a function subscription of the topic, owned by the
mapping (recorded in ``subscription``). One mapping per (source, function): creating it again
with equal settings answers it, other settings are ``ResourceConflict``.

Lambda's rules checked here: the function and the source exist; a FIFO queue takes batches of
at most 10 and no batching window; a topic source invokes once per message (no batch settings
or filter criteria: the subscription's filter policy filters); filter patterns compile.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from raybus.control.catalog import Catalog
from raybus.control.plane import ControlCall, ControlPlane
from raybus.control.queues import MAX_LIST, QueueStatsCall
from raybus.control.topics import TopicStatsCall, check_subscription
from raybus.core.errors import RaybusError
from raybus.core.mappings import MappingConfig
from raybus.core.routing import ASYNC_QUEUE_PREFIX
from raybus.core.settings import Target
from raybus.core.topics import SubscriptionConfig
from raybus.rules import PatternError, compile_pattern

__all__ = [
    "CreateMapping",
    "DeleteMapping",
    "GetMapping",
    "ListMappings",
    "MappingStats",
    "UpdateMapping",
]


def _check(catalog: Catalog, config: MappingConfig) -> None:
    catalog.get("function", config.function)
    target = config.target
    if target.kind == "queue":
        if target.name.startswith(ASYNC_QUEUE_PREFIX):
            raise RaybusError(
                "InvalidParameterValue", "Internal queues cannot be sources.", parameter="source"
            )
        queue = catalog.config("queue", target.name)
        if queue.fifo and config.batch_size > 10:
            raise RaybusError(
                "InvalidParameterValue",
                "A FIFO queue's batch_size is at most 10.",
                parameter="batch_size",
            )
        if queue.fifo and config.batching_window_s:
            raise RaybusError(
                "InvalidParameterValue",
                "FIFO queues do not support a batching window.",
                parameter="batching_window_s",
            )
    else:
        catalog.get("topic", target.name)
        if config.batch_size != 10 or config.batching_window_s or config.filter_criteria:
            raise RaybusError(
                "InvalidParameterValue",
                "A topic source invokes once per message: no batch settings or filter "
                "criteria (use the subscription's filter policy).",
                parameter="source",
            )
    for pattern in config.filter_criteria:
        try:
            compile_pattern(pattern)
        except PatternError as error:
            raise RaybusError(
                "InvalidParameterValue",
                f"Invalid filter_criteria: {error}",
                parameter="filter_criteria",
            ) from None


def _refeed(catalog: Catalog, config: MappingConfig, function: str) -> MappingConfig:
    """``config`` feeding ``function`` instead; one mapping per (source, function)."""
    if config.subscription is not None:
        raise RaybusError(
            "InvalidParameterValue",
            "A topic mapping's function cannot change: delete the mapping and map again.",
            parameter="function",
        )
    for record in catalog.of("mapping").values():
        other: MappingConfig = record.config
        if (other.source, other.function) == (config.source, function):
            raise RaybusError(
                "ResourceConflict",
                f"A mapping from {config.source} to {function} exists.",
                resource=other.id,
            )
    return MappingConfig.from_dict({**config.to_dict(), "function": function})


@dataclass(frozen=True, slots=True)
class CreateMapping(ControlCall[tuple[dict[str, Any], bool]]):
    settings: dict[str, Any]

    async def run(self, plane: ControlPlane) -> tuple[dict[str, Any], bool]:
        config = MappingConfig.from_dict(self.settings)
        topic = None
        async with plane.change() as catalog:
            for existing in catalog.of("mapping").values():
                have: MappingConfig = existing.config
                if (have.source, have.function) == (config.source, config.function):
                    same = have.to_dict() | {"id": config.id, "subscription": None}
                    if same == config.to_dict():
                        return have.to_dict(), False
                    raise RaybusError(
                        "ResourceConflict",
                        f"A mapping from {config.source} to {config.function} exists.",
                        resource=have.id,
                    )
            _check(catalog, config)
            target = config.target
            if target.kind == "topic":
                sub = SubscriptionConfig.from_dict(
                    {
                        "topic": target.name,
                        "protocol": "function",
                        "endpoint": config.function,
                        "enabled": config.enabled,
                    }
                )
                check_subscription(catalog, catalog.config("topic", target.name), sub)
                catalog.put("subscription", sub)
                config = MappingConfig.from_dict({**config.to_dict(), "subscription": sub.id})
                topic = target.name
            catalog.put("mapping", config)
        if topic is not None:
            await plane.push_attached("topic", topic)
        return config.to_dict(), True


@dataclass(frozen=True, slots=True)
class GetMapping(ControlCall[dict[str, Any]]):
    id: str

    async def run(self, plane: ControlPlane) -> dict[str, Any]:
        config: dict[str, Any] = plane.catalog.config("mapping", self.id).to_dict()
        return config


@dataclass(frozen=True, slots=True)
class ListMappings(ControlCall[list[dict[str, Any]]]):
    function: str | None = None
    source: str | None = None

    async def run(self, plane: ControlPlane) -> list[dict[str, Any]]:
        wanted = (
            None
            if self.source is None
            else str(Target.parse(self.source, "source", ("queue", "topic")))
        )
        return [
            r.config.to_dict()
            for r in plane.catalog.of("mapping").values()
            if (self.function is None or r.config.function == self.function)
            and (wanted is None or r.config.source == wanted)
        ][:MAX_LIST]


@dataclass(frozen=True, slots=True)
class UpdateMapping(ControlCall[dict[str, Any]]):
    """Change a mapping's batch settings, filters and state — and, for a queue source, the
    function it feeds (Lambda's UpdateEventSourceMapping ``FunctionName``): a mapping from a
    topic owns a subscription to its function, so its function stays."""

    id: str
    changes: dict[str, Any]

    async def run(self, plane: ControlPlane) -> dict[str, Any]:
        topic = None
        changes = dict(self.changes)
        function = changes.pop("function", None)
        async with plane.change() as catalog:
            config = catalog.config("mapping", self.id).updated(changes)
            if function is not None and function != config.function:
                config = _refeed(catalog, config, function)
            _check(catalog, config)
            catalog.put("mapping", config)
            if config.subscription is not None:
                sub = catalog.config("subscription", config.subscription)
                catalog.put("subscription", sub.updated({"enabled": config.enabled}))
                topic = sub.topic
        if topic is not None:
            await plane.push_attached("topic", topic)
        answer: dict[str, Any] = config.to_dict()
        return answer


@dataclass(frozen=True, slots=True)
class DeleteMapping(ControlCall[None]):
    id: str

    async def run(self, plane: ControlPlane) -> None:
        topic = None
        async with plane.change() as catalog:
            config = catalog.remove("mapping", self.id).config
            if config.subscription is not None:
                topic = catalog.remove("subscription", config.subscription).config.topic
        if topic is not None:
            await plane.push_attached("topic", topic)


@dataclass(frozen=True, slots=True)
class MappingStats(ControlCall[dict[str, Any]]):
    """The mapping's backlog (messages waiting in its source: visible and delayed for a queue,
    undelivered for a topic subscription) and, for a queue source, its pollers' counts."""

    id: str

    async def run(self, plane: ControlPlane) -> dict[str, Any]:
        config: MappingConfig = plane.catalog.config("mapping", self.id)
        target = config.target
        if target.kind == "topic":
            topic = await TopicStatsCall(target.name).run(plane)
            sub = topic["subscriptions"].get(config.subscription, {})
            return {"backlog": sub.get("backlog", 0), "source": config.source}
        stats = await QueueStatsCall(target.name).run(plane)
        counts: dict[str, Any] = {"backlog": int(stats["visible"]) + int(stats["delayed"])}
        counts.update(in_flight=stats["in_flight"], source=config.source)
        for key in ("invocations", "errors", "filtered", "deleted"):  # summed over the pollers
            counts[key] = 0
        for host in await plane.host_stats():
            for key, value in host["mappings"].get(self.id, {}).items():
                if key in counts:
                    counts[key] += value
        return counts
