"""Topics on the client: :class:`AsyncTopicMethods` (the client's topic methods),
:class:`AsyncTopic` and :class:`AsyncSubscription`.

Delivery is SNS's: at-least-once. A publish returns once the message is durable in the topic's
log; every subscription then gets it (retried on its delivery policy), possibly twice after a
crash.

``_aio.py`` is the source of both flavours; ``_sync.py`` beside it is generated from it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

from raybus.core import arns
from raybus.sdk._handles import Handle, Target, name_of
from raybus.sdk.base._aio import AsyncClientBase
from raybus.sdk.errors import RaybusError
from raybus.sdk.models import PublishResult, TopicStats
from raybus.sdk.topics import ops

__all__ = ["AsyncSubscription", "AsyncTopic", "AsyncTopicMethods"]


class AsyncTopicMethods(AsyncClientBase):
    """The client's topic and subscription methods."""

    async def create_topic(
        self,
        name: str,
        *,
        fifo: bool | None = None,
        content_based_dedup: bool = False,
        dedup_scope: str = "topic",
        partitions: int | None = None,
    ) -> AsyncTopic:
        """Create a topic, or return the existing one when its settings are the same (else
        ``ResourceConflict``). ``fifo=None`` means "FIFO iff the name ends in ``.fifo``".
        ``partitions=None`` lets the cluster choose (one per host; a FIFO topic deduplicating
        topic-wide has one); a FIFO topic with ``dedup_scope="messageGroup"`` deduplicates per
        message group and is partitioned by it (SNS's ``FifoThroughputScope=MessageGroup``)."""
        body = ops.topic_settings(name, fifo, content_based_dedup, dedup_scope, partitions)
        return AsyncTopic(self, await self._run(ops.create_topic(body)))

    async def topic(self, name: str) -> AsyncTopic:
        """The topic named ``name``; raises ``ResourceNotFound``."""
        return AsyncTopic(self, await self._run(ops.get_topic(name)))

    async def list_topics(
        self, prefix: str | None = None, *, limit: int | None = None
    ) -> list[str]:
        """Topic names, sorted; at most ``limit`` (the gateway's default is 1,000)."""
        return await self._run(ops.list_topics(prefix, limit))

    async def delete_topic(self, topic: str | AsyncTopic) -> None:
        """Delete the topic and its subscriptions."""
        await self._run(ops.delete_topic(name_of(topic)))

    async def subscription(self, subscription_id: str) -> AsyncSubscription:
        """The subscription with this id; raises ``ResourceNotFound``."""
        return AsyncSubscription(self, await self._run(ops.get_subscription(subscription_id)))


class AsyncTopic(Handle[AsyncClientBase]):
    """A handle on one topic: ``name``, ``fifo``, ``arn`` and ``config`` (its settings as the
    gateway last reported them)."""

    resource_kind: ClassVar[str] = "topic"

    def __init__(self, client: AsyncClientBase, config: Mapping[str, Any]) -> None:
        super().__init__(client, config)
        self.name: str = str(self.config.get("name"))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"

    @property
    def fifo(self) -> bool:
        return bool(self.config.get("fifo", self.name.endswith(".fifo")))

    @property
    def arn(self) -> str:
        """The SNS-style ARN handlers see (``arn:aws:sns:us-east-1:000000000000:<name>``)."""
        return arns.topic_arn(self.name)

    async def publish(
        self,
        body: bytes | str | Mapping[str, str],
        *,
        attributes: Mapping[str, object] | None = None,
        subject: str | None = None,
        group_id: str | None = None,
        dedup_id: str | None = None,
        structure: str | None = None,
    ) -> PublishResult:
        """Publish one message (text; at most 256 KiB with its attributes); returns once it
        is durable. ``subject`` goes into the SNS envelope; ``group_id`` and ``dedup_id`` are
        for FIFO topics (``dedup_id`` optional with content-based deduplication).
        ``structure="json"`` is SNS's ``MessageStructure``: ``body`` is a mapping (or its
        JSON text) with a ``"default"`` message and optional ones per protocol (``"sqs"``,
        ``"lambda"``, ``"http"``, ``"https"``); each subscription gets its protocol's."""
        entry, _ = ops.publish_entry(
            body,
            attributes=attributes,
            subject=subject,
            group_id=group_id,
            dedup_id=dedup_id,
            structure=structure,
        )
        return await self._client._run(ops.publish(self.name, entry))

    async def publish_batch(
        self, entries: Iterable[bytes | str | Mapping[str, Any]]
    ) -> list[PublishResult | RaybusError]:
        """Publish many; one result per entry, in order (a failed entry's slot holds its
        typed error). An entry is a body or a mapping with ``body`` and the keywords of
        :meth:`publish`. Sent as requests of at most 10 entries and 256 KiB, SNS's limits."""
        return await self._client._run_batch(ops.plan_publish_batch(self.name, entries))

    async def subscribe(
        self,
        target: Target,
        *,
        raw: bool = False,
        filter_policy: Mapping[str, Any] | None = None,
        filter_policy_scope: str = "MessageAttributes",
        dead_letter_queue: Target | None = None,
        delivery_policy: Mapping[str, Any] | None = None,
    ) -> AsyncSubscription:
        """Subscribe a queue (a handle or ``"queue:<name>"``), a function (a handle, a name
        or ``"function:<name>"``) or an ``http(s)://`` URL. Subscribing the same endpoint
        again returns the existing subscription. ``raw`` delivers the bare message instead of
        the SNS JSON envelope (queues and HTTP); ``filter_policy`` is SNS's, applied to the
        attributes or, with ``filter_policy_scope="MessageBody"``, to the JSON body;
        ``dead_letter_queue`` receives messages whose retries are exhausted;
        ``delivery_policy`` is SNS's HTTP/S retry policy."""
        settings = ops.subscription_settings(
            target,
            raw=raw,
            filter_policy=filter_policy,
            filter_policy_scope=filter_policy_scope,
            dead_letter_queue=dead_letter_queue,
            delivery_policy=delivery_policy,
        )
        config = await self._client._run(ops.subscribe(self.name, settings))
        return AsyncSubscription(self._client, config)

    async def subscriptions(self) -> list[AsyncSubscription]:
        found = await self._client._run(ops.list_subscriptions(self.name))
        return [AsyncSubscription(self._client, config) for config in found]

    async def stats(self) -> TopicStats:
        return await self._client._run(ops.topic_stats(self.name))

    async def delete(self) -> None:
        """Delete the topic and its subscriptions (as ``client.delete_topic``)."""
        await self._client._run(ops.delete_topic(self.name))


class AsyncSubscription(Handle[AsyncClientBase]):
    """A handle on one subscription: ``id``, ``topic``, ``protocol``, ``endpoint``, ``arn`` and
    ``config`` (its settings as the gateway last reported them)."""

    resource_kind: ClassVar[str] = "subscription"

    def __init__(self, client: AsyncClientBase, config: Mapping[str, Any]) -> None:
        super().__init__(client, config)
        self.id: str = str(self.config.get("id"))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.id!r}, {self.protocol}:{self.endpoint})"

    @property
    def topic(self) -> str:
        return str(self.config.get("topic"))

    @property
    def protocol(self) -> str:
        return str(self.config.get("protocol"))

    @property
    def endpoint(self) -> str:
        return str(self.config.get("endpoint"))

    @property
    def arn(self) -> str:
        return arns.subscription_arn(self.topic, self.id)

    async def update(self, **changes: Any) -> dict[str, Any]:
        """Change ``raw``, ``filter_policy``, ``filter_policy_scope``, ``dead_letter_queue``,
        ``delivery_policy`` or ``enabled`` (``None`` removes a policy); returns the config."""
        op = ops.update_subscription(self.id, ops.subscription_changes(changes))
        self.config = await self._client._run(op)
        return self.config

    async def enable(self) -> None:
        await self.update(enabled=True)

    async def disable(self) -> None:
        """Stop deliveries; messages wait (and stay retained) until :meth:`enable`."""
        await self.update(enabled=False)

    async def delete(self) -> None:
        """Unsubscribe."""
        await self._client._run(ops.unsubscribe(self.id))
