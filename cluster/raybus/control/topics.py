"""The control calls of topics and their subscriptions (see :mod:`raybus.control.plane`).

Topics are partitioned like queues (:class:`~raybus.core.topics.TopicConfig`); their
subscriptions are a kind attached to them: a subscription's settings travel with the topic's
route, and every change is pushed to each of the topic's partitions before the call answers, so
every publish acknowledged after it reaches the new subscriber.

Checks that need more than one resource: a subscription's queue or function must exist; a
standard topic cannot deliver to a FIFO queue and a FIFO topic delivers only to queues (SNS's
rules); filter policies must compile (:mod:`raybus.rules`). SNS's Subscribe is idempotent per
(topic, protocol, endpoint): it answers the existing subscription.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from raybus.control.catalog import Catalog
from raybus.control.plane import ControlCall, ControlPlane
from raybus.control.queues import MAX_LIST, list_names
from raybus.core.errors import RaybusError
from raybus.core.retry import policy_for
from raybus.core.topics import SubscriptionConfig, TopicConfig
from raybus.engines.topic.ops import TopicStats
from raybus.rules import PatternError, compile_filter_policy

__all__ = [
    "AllSubscriptions",
    "ConfirmSubscription",
    "CreateTopic",
    "DeleteTopic",
    "GetSubscription",
    "GetTopic",
    "ListSubscriptions",
    "ListTopics",
    "Subscribe",
    "TopicStatsCall",
    "Unsubscribe",
    "UpdateSubscription",
    "UpdateTopic",
    "check_subscription",
    "merge_topic_stats",
]


def check_subscription(catalog: Catalog, topic: TopicConfig, sub: SubscriptionConfig) -> None:
    if sub.protocol == "queue":
        queue = catalog.config("queue", sub.endpoint)
        if queue.fifo and not topic.fifo:
            raise RaybusError(
                "InvalidParameter",
                "A standard topic cannot deliver to a FIFO queue.",
                parameter="endpoint",
            )
    elif topic.fifo:
        raise RaybusError(
            "InvalidParameter", "A FIFO topic delivers only to queues.", parameter="protocol"
        )
    if sub.protocol == "function":
        catalog.get("function", sub.endpoint)
    if sub.dead_letter_queue is not None:
        catalog.get("queue", sub.dead_letter_queue)
    if sub.filter_policy is not None:
        try:
            compile_filter_policy(sub.filter_policy, sub.filter_policy_scope)
        except PatternError as error:
            raise RaybusError(
                "InvalidParameter", f"Invalid filter_policy: {error}", parameter="filter_policy"
            ) from None
    if sub.delivery_policy is not None:
        policy_for(sub.protocol, sub.delivery_policy)


def merge_topic_stats(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """One topic's stats from its partitions' (counts add up, per subscription too)."""
    total: dict[str, Any] = {}

    def add(into: dict[str, Any], part: dict[str, Any]) -> None:
        for name, value in part.items():
            if name == "epoch":
                continue
            if isinstance(value, dict):
                add(into.setdefault(name, {}), value)
            elif isinstance(value, (int, float)) and not isinstance(value, bool):
                into[name] = into.get(name, 0) + value
            else:
                into.setdefault(name, value)

    for part in parts:
        add(total, part)
    total.setdefault("subscriptions", {})
    return total


@dataclass(frozen=True, slots=True)
class CreateTopic(ControlCall[tuple[dict[str, Any], bool]]):
    settings: dict[str, Any]

    async def run(self, plane: ControlPlane) -> tuple[dict[str, Any], bool]:
        config = TopicConfig.from_dict(self.settings)
        async with plane.change() as catalog:
            record, created = catalog.add("topic", config)
        if created:
            await plane.open_partitions("topic", config.name)
        return record.config.to_dict(), created


@dataclass(frozen=True, slots=True)
class GetTopic(ControlCall[dict[str, Any]]):
    name: str

    async def run(self, plane: ControlPlane) -> dict[str, Any]:
        catalog = plane.catalog
        record = catalog.get("topic", self.name)
        return {
            "topic": record.config.to_dict(),
            "subscriptions": [r.config.to_dict() for r in catalog.children("topic", self.name)],
        }


@dataclass(frozen=True, slots=True)
class ListTopics(ControlCall[list[str]]):
    prefix: str | None = None
    limit: int = MAX_LIST

    async def run(self, plane: ControlPlane) -> list[str]:
        return list_names(plane.catalog, "topic", self.prefix, self.limit)


@dataclass(frozen=True, slots=True)
class DeleteTopic(ControlCall[None]):
    """Deletes the topic, its subscriptions and the event-source mappings it feeds."""

    name: str

    async def run(self, plane: ControlPlane) -> None:
        async with plane.change() as catalog:
            record = catalog.remove("topic", self.name)
            for sub in list(catalog.children("topic", self.name)):
                catalog.remove("subscription", sub.key)
            source = f"topic:{self.name}"
            for mapping in [m for m in catalog.of("mapping").values() if m.config.source == source]:
                catalog.remove("mapping", mapping.key)
        await plane.close_partitions(record)


@dataclass(frozen=True, slots=True)
class TopicStatsCall(ControlCall[dict[str, Any]]):
    name: str

    async def run(self, plane: ControlPlane) -> dict[str, Any]:
        return merge_topic_stats(await plane.partition_stats("topic", self.name, TopicStats()))


# -- subscriptions ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class UpdateTopic(ControlCall[dict[str, Any]]):
    """Change a topic's changeable settings; they reach its partitions before the answer."""

    name: str
    changes: dict[str, Any]

    async def run(self, plane: ControlPlane) -> dict[str, Any]:
        if not isinstance(self.changes, dict):
            raise RaybusError("MalformedRequest", "Topic settings are a map.")
        async with plane.change() as catalog:
            config = catalog.config("topic", self.name).updated(self.changes)
            catalog.put("topic", config)
        await plane.configure("topic", self.name)
        answer: dict[str, Any] = config.to_dict()
        return answer


@dataclass(frozen=True, slots=True)
class ConfirmSubscription(ControlCall[dict[str, Any]]):
    """The endpoint confirmed a pending subscription with its token: from now on it gets the
    topic's messages (those published while it was pending are not delivered, as in SNS)."""

    topic: str
    token: str

    async def run(self, plane: ControlPlane) -> dict[str, Any]:
        async with plane.change() as catalog:
            catalog.get("topic", self.topic)
            for record in catalog.children("topic", self.topic):
                sub = record.config
                if sub.pending_token == self.token:
                    confirmed = SubscriptionConfig.from_dict(
                        {**sub.to_dict(), "pending_token": None}
                    )
                    catalog.put("subscription", confirmed)
                    break
            else:
                raise RaybusError(
                    "InvalidParameter",
                    "Invalid token: no subscription is waiting for it.",
                    parameter="Token",
                )
        await plane.push_attached("topic", self.topic)
        answer: dict[str, Any] = confirmed.to_dict()
        return answer


@dataclass(frozen=True, slots=True)
class Subscribe(ControlCall[tuple[dict[str, Any], bool]]):
    topic: str
    settings: dict[str, Any]

    async def run(self, plane: ControlPlane) -> tuple[dict[str, Any], bool]:
        if not isinstance(self.settings, dict):
            raise RaybusError("MalformedRequest", "Subscription settings are a map.")
        sub = SubscriptionConfig.from_dict({**self.settings, "topic": self.topic})
        async with plane.change() as catalog:
            topic = catalog.config("topic", self.topic)
            for existing in catalog.children("topic", self.topic):
                if existing.config.same_endpoint(sub):  # SNS answers the existing one
                    return existing.config.to_dict(), False
            check_subscription(catalog, topic, sub)
            catalog.put("subscription", sub)
        await plane.push_attached("topic", self.topic)
        return sub.to_dict(), True


@dataclass(frozen=True, slots=True)
class ListSubscriptions(ControlCall[list[dict[str, Any]]]):
    topic: str

    async def run(self, plane: ControlPlane) -> list[dict[str, Any]]:
        plane.catalog.get("topic", self.topic)
        return [r.config.to_dict() for r in plane.catalog.children("topic", self.topic)]


@dataclass(frozen=True, slots=True)
class AllSubscriptions(ControlCall[list[dict[str, Any]]]):
    """Every subscription of every topic (pending ones too), by topic, then id."""

    async def run(self, plane: ControlPlane) -> list[dict[str, Any]]:
        subs = sorted(plane.catalog.of("subscription").values(),
                      key=lambda r: (r.config.topic, r.config.id))  # fmt: skip
        return [r.config.to_dict() for r in subs]


@dataclass(frozen=True, slots=True)
class GetSubscription(ControlCall[dict[str, Any]]):
    id: str

    async def run(self, plane: ControlPlane) -> dict[str, Any]:
        config: dict[str, Any] = plane.catalog.config("subscription", self.id).to_dict()
        return config


@dataclass(frozen=True, slots=True)
class UpdateSubscription(ControlCall[dict[str, Any]]):
    id: str
    changes: dict[str, Any]

    async def run(self, plane: ControlPlane) -> dict[str, Any]:
        async with plane.change() as catalog:
            updated = catalog.config("subscription", self.id).updated(self.changes)
            check_subscription(catalog, catalog.config("topic", updated.topic), updated)
            catalog.put("subscription", updated)
        await plane.push_attached("topic", updated.topic)
        answer: dict[str, Any] = updated.to_dict()
        return answer


@dataclass(frozen=True, slots=True)
class Unsubscribe(ControlCall[None]):
    """Deletes the subscription and the event-source mapping that owns it, if any."""

    id: str

    async def run(self, plane: ControlPlane) -> None:
        async with plane.change() as catalog:
            sub = catalog.remove("subscription", self.id).config
            for mapping in [m for m in catalog.of("mapping").values()
                            if m.config.subscription == self.id]:  # fmt: skip
                catalog.remove("mapping", mapping.key)
        await plane.push_attached("topic", sub.topic)
