"""The controller's calls for topics, subscriptions, functions and event-source mappings.

A mixin of :class:`raybus.control.controller.Controller`, split out to keep files small; it
uses the controller's catalog, ``_change`` (a draft saved before it is installed) and host
handles. The same rules hold: every change is durable in the catalog before it is answered
(and a rejected change changes nothing), creates are idempotent for equal
settings (``ResourceConflict`` otherwise), and the lock is never held across a call to a host.

Checks that need more than one resource live here: a subscription's queue or function must
exist; a standard topic cannot deliver to a FIFO queue and a FIFO topic delivers only to
queues (SNS's rules); filter policies and filter criteria must compile (:mod:`raybus.rules`);
a FIFO source takes batches of at most 10 and no batching window (Lambda's rule).

A subscription is pushed to the topic's host before ``subscribe`` answers, so every publish
acknowledged after it reaches the new subscriber. Pollers (mappings, asynchronous invokes)
follow the routing table, which hosts long-poll: their start may lag a change by one round.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from typing import TYPE_CHECKING, Any

from raybus.control.catalog import Catalog, CodeStore, TopicRecord
from raybus.core.config import QueueConfig
from raybus.core.errors import RaybusError
from raybus.core.resources import (
    FunctionConfig,
    MappingConfig,
    SubscriptionConfig,
    Target,
    TopicConfig,
)
from raybus.core.retry import policy_for
from raybus.core.routing import ASYNC_QUEUE_PREFIX, async_queue_name
from raybus.functions.loader import check_handler
from raybus.rules import PatternError, compile_filter_policy, compile_pattern

if TYPE_CHECKING:
    from raybus.actors import Router

__all__ = ["ResourceAdmin", "async_queue_config"]

log = logging.getLogger(__name__)

MAX_LIST = 1000
MAX_CODE_BYTES = 50 << 20  # Lambda's direct-upload limit


def async_queue_config(config: FunctionConfig) -> QueueConfig:
    """The internal queue of ``config``'s asynchronous invocations. Its visibility timeout
    covers one invocation with room to spare; retries are scheduled by changing it."""
    return QueueConfig.create(
        async_queue_name(config.name),
        visibility_timeout_s=min(43_200, config.timeout_s * 6 + 30),
        retention_s=1_209_600,
    )


def _policy_error(error: PatternError, parameter: str, code: str) -> RaybusError:
    return RaybusError(code, f"Invalid {parameter}: {error}", parameter=parameter)


class ResourceAdmin:
    """Mixin: needs ``catalog``, ``hosts``, ``router``, ``code_store`` and ``_change`` from
    the controller."""

    hosts: dict[str, Any]
    router: Router
    code_store: CodeStore

    @property
    def catalog(self) -> Catalog:
        raise NotImplementedError

    def _change(self) -> contextlib.AbstractAsyncContextManager[Catalog]:
        raise NotImplementedError

    async def _open_partitions(self, name: str) -> None:
        raise NotImplementedError

    # -- topics ---------------------------------------------------------------------------------
    async def create_topic(self, settings: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        config = TopicConfig.from_dict(settings)
        async with self._change() as catalog:
            record, created = catalog.add_topic(config)
        if created:
            await self._open_topic(record)
        return record.config.to_dict(), created

    async def _open_topic(self, record: TopicRecord) -> None:
        subs = [sub.to_dict() for sub in record.subscriptions.values()]
        await asyncio.gather(
            *(
                self.hosts[host].open_topic.remote(
                    record.config.name,
                    index,
                    epoch,
                    record.config.to_dict(),
                    record.incarnation,
                    subs,
                )
                for index, (host, epoch) in enumerate(record.placements)
            )
        )

    async def get_topic(self, name: str) -> dict[str, Any]:
        record = self.catalog.topic(name)
        return {
            "topic": record.config.to_dict(),
            "subscriptions": [sub.to_dict() for sub in record.subscriptions.values()],
        }

    async def list_topics(self, prefix: str | None = None, limit: int = MAX_LIST) -> list[str]:
        names = sorted(n for n in self.catalog.topics if not prefix or n.startswith(prefix))
        return names[: max(0, min(limit, MAX_LIST))]

    async def delete_topic(self, name: str) -> None:
        async with self._change() as catalog:
            record = catalog.remove_topic(name)
        results = await asyncio.gather(
            *(
                self.hosts[host].close_topic.remote(name, record.incarnation, delete_files=True)
                for host in {host for host, _ in record.placements}
            ),
            return_exceptions=True,
        )
        for result in results:
            if isinstance(result, BaseException):
                log.warning("closing topic %s on a host failed (files stay): %r", name, result)

    async def topic_stats(self, name: str) -> dict[str, Any]:
        self.catalog.topic(name)
        (stats,) = await self.router.call_topic(name, 0, "execute_topic", [("stats",)])
        if isinstance(stats, RaybusError):
            raise stats
        result: dict[str, Any] = stats
        return result

    # -- subscriptions --------------------------------------------------------------------------
    @staticmethod
    def _check_subscription(catalog: Catalog, topic: TopicConfig, sub: SubscriptionConfig) -> None:
        if sub.protocol == "queue":
            queue = catalog.record(sub.endpoint).config
            if queue.fifo and not topic.fifo:
                raise RaybusError(
                    "InvalidParameter",
                    "A standard topic cannot deliver to a FIFO queue.",
                    parameter="endpoint",
                )
        elif topic.fifo:
            raise RaybusError(
                "InvalidParameter",
                "A FIFO topic delivers only to queues.",
                parameter="protocol",
            )
        if sub.protocol == "function":
            catalog.function(sub.endpoint)
        if sub.dead_letter_queue is not None:
            catalog.record(sub.dead_letter_queue)
        if sub.filter_policy is not None:
            try:
                compile_filter_policy(sub.filter_policy, sub.filter_policy_scope)
            except PatternError as error:
                raise _policy_error(error, "filter_policy", "InvalidParameter") from None
        if sub.delivery_policy is not None:
            policy_for(sub.protocol, sub.delivery_policy)

    async def subscribe(self, topic: str, settings: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        if not isinstance(settings, dict):
            raise RaybusError("MalformedRequest", "Subscription settings are a map.")
        sub = SubscriptionConfig.from_dict({**settings, "topic": topic})
        async with self._change() as catalog:
            record = catalog.topic(topic)
            for existing in record.subscriptions.values():
                if existing.same_endpoint(sub):  # SNS returns the existing subscription
                    return existing.to_dict(), False
            self._check_subscription(catalog, record.config, sub)
            catalog.put_subscription(sub)
        await self._push_subscriptions(topic)
        return sub.to_dict(), True

    async def _push_subscriptions(self, topic: str) -> None:
        record = self.catalog.topics.get(topic)
        if record is None:
            return
        subs = [sub.to_dict() for sub in record.subscriptions.values()]
        await asyncio.gather(
            *(
                self.router.call_topic(topic, index, "set_subscriptions", subs)
                for index in range(len(record.placements))
            )
        )

    async def list_subscriptions(self, topic: str) -> list[dict[str, Any]]:
        return [sub.to_dict() for sub in self.catalog.topic(topic).subscriptions.values()]

    async def get_subscription(self, sub_id: str) -> dict[str, Any]:
        return self.catalog.subscription(sub_id)[1].to_dict()

    async def update_subscription(self, sub_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        async with self._change() as catalog:
            record, sub = catalog.subscription(sub_id)
            updated = sub.updated(changes)
            self._check_subscription(catalog, record.config, updated)
            catalog.put_subscription(updated)
        await self._push_subscriptions(updated.topic)
        return updated.to_dict()

    async def unsubscribe(self, sub_id: str) -> None:
        async with self._change() as catalog:
            sub = catalog.remove_subscription(sub_id)
        await self._push_subscriptions(sub.topic)

    # -- functions ------------------------------------------------------------------------------
    def _function_settings(
        self, settings: dict[str, Any], base: FunctionConfig | None
    ) -> tuple[FunctionConfig, bytes | None]:
        """The validated config and the uploaded code (``None`` if none came with the call)."""
        if not isinstance(settings, dict):
            raise RaybusError("MalformedRequest", "Function settings are a map.")
        settings = dict(settings)
        for server_side in ("code_sha256", "code_size"):
            if server_side in settings:
                raise RaybusError(
                    "InvalidParameterValue",
                    f"{server_side} is set by the server.",
                    parameter=server_side,
                )
        code = settings.pop("code", None)
        if code is not None:
            if not isinstance(code, (bytes, bytearray)) or not code:
                raise RaybusError(
                    "InvalidParameterValue", "code is the serialised handler.", parameter="code"
                )
            if len(code) > MAX_CODE_BYTES:
                raise RaybusError(
                    "RequestTooLarge", f"code exceeds {MAX_CODE_BYTES} bytes.", parameter="code"
                )
            code = bytes(code)
            settings.update(
                handler=None, code_sha256=hashlib.sha256(code).hexdigest(), code_size=len(code)
            )
        elif settings.get("handler") is not None:
            settings.update(code_sha256=None, code_size=0)
        config = base.updated(settings) if base is not None else FunctionConfig.from_dict(settings)
        if config.handler is not None:
            check_handler(config.handler)
        return config, code

    async def create_function(self, settings: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        config, code = self._function_settings(settings, None)
        async with self._change() as catalog:
            existing = catalog.functions.get(config.name)
            if existing is not None:
                if config == existing:
                    return existing.to_dict(), False
                raise RaybusError(
                    "ResourceConflict",
                    f"Function {config.name} already exists with other settings.",
                    resource=config.name,
                )
            if code is not None:
                self.code_store.put(config.name, code)
            queue = async_queue_config(config)
            catalog.add_queue(queue)
            catalog.put_function(config)
        await self._open_partitions(queue.name)
        return config.to_dict(), True

    async def update_function(self, name: str, changes: dict[str, Any]) -> dict[str, Any]:
        async with self._change() as catalog:
            base = catalog.function(name)
            config, code = self._function_settings(changes, base)
            if code is not None:
                self.code_store.put(name, code)
            catalog.put_function(config)
        self.code_store.prune(name, config.code_sha256)
        if config.timeout_s != base.timeout_s:
            timeout = async_queue_config(config).visibility_timeout_s
            await self.update_queue(  # type: ignore[attr-defined]
                async_queue_name(name), {"visibility_timeout_s": timeout}
            )
        return config.to_dict()

    async def get_function(self, name: str) -> dict[str, Any]:
        return self.catalog.function(name).to_dict()

    async def function_code(self, name: str, sha256: str) -> bytes:
        """The uploaded code of ``name`` (hosts fetch and cache it by digest)."""
        return self.code_store.get(name, sha256)

    async def list_functions(self, prefix: str | None = None, limit: int = MAX_LIST) -> list[str]:
        names = sorted(n for n in self.catalog.functions if not prefix or n.startswith(prefix))
        return names[: max(0, min(limit, MAX_LIST))]

    async def delete_function(self, name: str) -> None:
        async with self._change() as catalog:
            catalog.remove_function(name)
            for mapping in [m for m in catalog.mappings.values() if m.function == name]:
                catalog.remove_mapping(mapping.id)
                if mapping.subscription is not None:
                    catalog.remove_subscription(mapping.subscription)
        self.code_store.prune(name, None)
        try:
            await self.delete_queue(async_queue_name(name))  # type: ignore[attr-defined]
        except RaybusError as error:
            if error.code != "QueueDoesNotExist":
                raise

    # -- event-source mappings ------------------------------------------------------------------
    @staticmethod
    def _check_mapping(catalog: Catalog, config: MappingConfig) -> None:
        catalog.function(config.function)
        target = config.target
        if target.kind == "queue":
            if target.name.startswith(ASYNC_QUEUE_PREFIX):
                raise RaybusError(
                    "InvalidParameterValue",
                    "Internal queues cannot be sources.",
                    parameter="source",
                )
            queue = catalog.record(target.name).config
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
            catalog.topic(target.name)
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
                raise _policy_error(error, "filter_criteria", "InvalidParameterValue") from None

    async def create_mapping(self, settings: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        config = MappingConfig.from_dict(settings)
        async with self._change() as catalog:
            for existing in catalog.mappings.values():
                if (existing.source, existing.function) == (config.source, config.function):
                    same = existing.to_dict() | {"id": config.id, "subscription": None}
                    if same == config.to_dict():
                        return existing.to_dict(), False
                    raise RaybusError(
                        "ResourceConflict",
                        f"A mapping from {config.source} to {config.function} exists.",
                        resource=existing.id,
                    )
            self._check_mapping(catalog, config)
            target = config.target
            topic = None
            if target.kind == "topic":
                sub = SubscriptionConfig.from_dict(
                    {
                        "topic": target.name,
                        "protocol": "function",
                        "endpoint": config.function,
                        "enabled": config.enabled,
                    }
                )
                self._check_subscription(catalog, catalog.topic(target.name).config, sub)
                catalog.put_subscription(sub)
                config = MappingConfig.from_dict({**config.to_dict(), "subscription": sub.id})
                topic = target.name
            catalog.put_mapping(config)
        if topic is not None:
            await self._push_subscriptions(topic)
        return config.to_dict(), True

    async def get_mapping(self, mapping_id: str) -> dict[str, Any]:
        return self.catalog.mapping(mapping_id).to_dict()

    async def list_mappings(
        self, function: str | None = None, source: str | None = None
    ) -> list[dict[str, Any]]:
        wanted = None if source is None else str(Target.parse(source, "source", ("queue", "topic")))
        return [
            m.to_dict()
            for m in self.catalog.mappings.values()
            if (function is None or m.function == function)
            and (wanted is None or m.source == wanted)
        ][:MAX_LIST]

    async def update_mapping(self, mapping_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        async with self._change() as catalog:
            config = catalog.mapping(mapping_id).updated(changes)
            self._check_mapping(catalog, config)
            catalog.put_mapping(config)
            topic = None
            if config.subscription is not None:
                record, sub = catalog.subscription(config.subscription)
                catalog.put_subscription(sub.updated({"enabled": config.enabled}))
                topic = record.config.name
        if topic is not None:
            await self._push_subscriptions(topic)
        return config.to_dict()

    async def delete_mapping(self, mapping_id: str) -> None:
        async with self._change() as catalog:
            config = catalog.remove_mapping(mapping_id)
            topic = None
            if config.subscription is not None:
                topic = catalog.remove_subscription(config.subscription).topic
        if topic is not None:
            await self._push_subscriptions(topic)

    async def resource_stats(self) -> list[dict[str, Any]]:
        """Every reachable host's :meth:`PartitionHost.resource_stats` (for /metrics); a host
        that does not answer is left out of this scrape."""
        results = await asyncio.gather(
            *(asyncio.wait_for(h.resource_stats.remote(), 5.0) for h in self.hosts.values()),
            return_exceptions=True,
        )
        return [r for r in results if isinstance(r, dict)]

    async def mapping_stats(self, mapping_id: str) -> dict[str, Any]:
        """The mapping's backlog: messages waiting in its source (visible and delayed for a
        queue; undelivered for a topic subscription)."""
        config = self.catalog.mapping(mapping_id)
        target = config.target
        if target.kind == "topic":
            topic = await self.topic_stats(target.name)
            sub = topic["subscriptions"].get(config.subscription, {})
            return {"backlog": sub.get("backlog", 0), "source": config.source}
        stats = await self.queue_stats(target.name)  # type: ignore[attr-defined]
        counts: dict[str, Any] = {"backlog": int(stats["visible"]) + int(stats["delayed"])}
        counts.update(in_flight=stats["in_flight"], source=config.source)
        for key in ("invocations", "errors", "filtered", "deleted"):  # summed over the pollers
            counts[key] = 0
        for host in await self.resource_stats():
            for key, value in host["mappings"].get(mapping_id, {}).items():
                if key in counts:
                    counts[key] += value
        return counts
