"""The asyncio twin of :mod:`raybus.sdk.resources`: :class:`AsyncResources` (mixed into
:class:`~raybus.sdk.AsyncClient`), :class:`AsyncTopic`, :class:`AsyncSubscription`,
:class:`AsyncFunction` and :class:`AsyncEventSourceMapping` — the same surface with
coroutines; the contracts are documented on the synchronous classes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar, cast

from raybus.core import arns
from raybus.sdk import _resource_ops as ops
from raybus.sdk._ops import BatchPlan, name_of
from raybus.sdk._wire import Op
from raybus.sdk.errors import RaybusError
from raybus.sdk.models import MappingStats, PublishResult, TopicStats

if TYPE_CHECKING:
    from raybus.sdk.aio import AsyncClient

__all__ = [
    "AsyncEventSourceMapping",
    "AsyncFunction",
    "AsyncResources",
    "AsyncSubscription",
    "AsyncTopic",
]

T = TypeVar("T")
Target = Any  # a handle (Queue, AsyncTopic, AsyncFunction) or a "kind:name" string
Handler = str | Callable[..., Any]


class AsyncResources:
    """The client's topic, function and mapping methods (mixed into ``Client``)."""

    async def _run(self, op: Op[T]) -> T:  # pragma: no cover - the client's I/O path
        raise NotImplementedError

    async def _run_batch(self, plan: BatchPlan[T]) -> list[T | RaybusError]:  # pragma: no cover
        raise NotImplementedError

    def _me(self) -> AsyncClient:
        return cast("AsyncClient", self)

    # -- topics ---------------------------------------------------------------------------------
    async def create_topic(
        self, name: str, *, fifo: bool | None = None, content_based_dedup: bool = False
    ) -> AsyncTopic:
        """Create a topic, or return the existing one when its settings are the same (else
        ``ResourceConflict``). ``fifo=None`` means "FIFO iff the name ends in ``.fifo``"."""
        body = ops.topic_settings(name, fifo, content_based_dedup)
        config = await self._run(ops.create_topic(body))
        return AsyncTopic(self._me(), config)

    async def topic(self, name: str) -> AsyncTopic:
        """The topic named ``name``; raises ``ResourceNotFound``."""
        config = await self._run(ops.get_topic(name))
        return AsyncTopic(self._me(), config)

    async def list_topics(
        self, prefix: str | None = None, *, limit: int | None = None
    ) -> list[str]:
        """AsyncTopic names, sorted; at most ``limit`` (the gateway's default is 1,000)."""
        return await self._run(ops.list_topics(prefix, limit))

    async def delete_topic(self, topic: str | AsyncTopic) -> None:
        """Delete the topic and its subscriptions."""
        await self._run(ops.delete_topic(name_of(topic)))

    async def subscription(self, subscription_id: str) -> AsyncSubscription:
        """The subscription with this id; raises ``ResourceNotFound``."""
        config = await self._run(ops.get_subscription(subscription_id))
        return AsyncSubscription(self._me(), config)

    # -- functions ------------------------------------------------------------------------------
    async def create_function(
        self,
        name: str,
        handler: Handler,
        *,
        timeout_s: int = 3,
        max_retries: int = 2,
        max_event_age_s: int = 21_600,
        on_success: Target | None = None,
        on_failure: Target | None = None,
        dead_letter_queue: Target | None = None,
        concurrency: int | None = None,
        memory_mb: int = 128,
        cpus: float | None = None,
        runtime: str = "task",
        pool_size: int | None = None,
    ) -> AsyncFunction:
        """Create a function, or return the existing one when its settings are the same (else
        ``ResourceConflict``).

        ``handler`` is an import path ``"package.module:function"`` (importable on the cluster)
        or a Python callable, which is serialised and uploaded (see :mod:`raybus.sdk._code`;
        needs ``cloudpickle``). Destinations (``on_success``, ``on_failure``) are queues,
        topics or functions, ``dead_letter_queue`` a queue or topic: handles or
        ``"kind:name"`` strings. ``max_retries`` (0–2) and ``max_event_age_s`` (60–21,600)
        apply to asynchronous invocations; ``concurrency`` is the reserved concurrency;
        ``runtime`` is ``"task"`` (a Ray task per invocation) or ``"actor"`` (``pool_size``
        warm actors)."""
        body = ops.function_settings(
            {
                "name": name,
                "handler": handler,
                "timeout_s": timeout_s,
                "max_retries": max_retries,
                "max_event_age_s": max_event_age_s,
                "on_success": on_success,
                "on_failure": on_failure,
                "dead_letter_queue": dead_letter_queue,
                "concurrency": concurrency,
                "memory_mb": memory_mb,
                "cpus": cpus,
                "runtime": runtime,
                "pool_size": pool_size,
            }
        )
        config = await self._run(ops.create_function(body))
        return AsyncFunction(self._me(), config)

    async def function(self, name: str) -> AsyncFunction:
        """The function named ``name``; raises ``ResourceNotFound``."""
        config = await self._run(ops.get_function(name))
        return AsyncFunction(self._me(), config)

    async def list_functions(
        self, prefix: str | None = None, *, limit: int | None = None
    ) -> list[str]:
        return await self._run(ops.list_functions(prefix, limit))

    async def delete_function(self, function: str | AsyncFunction) -> None:
        await self._run(ops.delete_function(name_of(function)))

    async def invoke(self, function: str | AsyncFunction, payload: Any) -> Any:
        """Run the function on ``payload`` (a JSON value) and return its result. Raises
        :class:`~raybus.sdk.errors.FunctionError` when the handler failed (raised, timed out,
        returned something that is not JSON), ``TooManyRequestsException`` (retried first)
        when its concurrency is exhausted, ``ResourceNotFound`` when it does not exist."""
        return await self._run(ops.invoke(name_of(function), payload))

    async def invoke_async(self, function: str | AsyncFunction, payload: Any) -> str:
        """Queue an invocation (durable once this returns) and return its request id. Failures
        are retried ``max_retries`` times, then go to ``on_failure`` / the dead-letter queue."""
        return await self._run(ops.invoke_async(name_of(function), payload))

    # -- event-source mappings ----------------------------------------------------------------
    async def create_event_source_mapping(
        self,
        source: Target,
        function: str | AsyncFunction,
        *,
        batch_size: int = 10,
        batching_window_s: int = 0,
        max_concurrency: int | None = None,
        report_batch_item_failures: bool = False,
        filter_criteria: Sequence[Any] | Mapping[str, Any] | None = None,
        enabled: bool = True,
    ) -> AsyncEventSourceMapping:
        """Feed ``function`` from ``source``: a queue (polled in batches of ``batch_size``,
        waiting up to ``batching_window_s`` to fill one) or a topic (a function
        subscription). ``filter_criteria`` is Lambda's ``{"Filters": [{"Pattern": ...}]}`` or
        a list of patterns. Creating the same mapping again returns it."""
        body = ops.mapping_settings(
            source,
            function,
            {
                "batch_size": batch_size,
                "batching_window_s": batching_window_s,
                "max_concurrency": max_concurrency,
                "report_batch_item_failures": report_batch_item_failures,
                "filter_criteria": filter_criteria,
                "enabled": enabled,
            },
        )
        config = await self._run(ops.create_mapping(body))
        return AsyncEventSourceMapping(self._me(), config)

    async def event_source_mapping(self, mapping_id: str) -> AsyncEventSourceMapping:
        config = await self._run(ops.get_mapping(mapping_id))
        return AsyncEventSourceMapping(self._me(), config)

    async def list_event_source_mappings(
        self, function: str | AsyncFunction | None = None, source: Target | None = None
    ) -> list[AsyncEventSourceMapping]:
        """Mappings, optionally only those of one function and/or one source."""
        name = None if function is None else name_of(function)
        where = None if source is None else ops.target(source, "source", ("queue", "topic"))
        found = await self._run(ops.list_mappings(name, where))
        return [AsyncEventSourceMapping(self._me(), config) for config in found]


class AsyncTopic:
    """A handle on one topic: ``name``, ``fifo`` and ``config`` as the gateway last reported."""

    resource_kind: ClassVar[str] = "topic"

    def __init__(self, client: AsyncClient, config: Mapping[str, Any]) -> None:
        self._client = client
        self.config: dict[str, Any] = dict(config)
        self.name: str = str(self.config.get("name"))

    def __repr__(self) -> str:
        return f"AsyncTopic({self.name!r})"

    @property
    def client(self) -> AsyncClient:
        return self._client

    @property
    def fifo(self) -> bool:
        return bool(self.config.get("fifo", self.name.endswith(".fifo")))

    @property
    def arn(self) -> str:
        """The SNS-style ARN handlers see (``arn:aws:sns:us-east-1:000000000000:<name>``)."""
        return arns.topic_arn(self.name)

    async def publish(
        self,
        body: bytes | str,
        *,
        attributes: Mapping[str, object] | None = None,
        subject: str | None = None,
        group_id: str | None = None,
        dedup_id: str | None = None,
    ) -> PublishResult:
        """Publish one message (text; at most 256 KiB with its attributes); returns once it
        is durable. ``subject`` goes into the SNS envelope; ``group_id`` and ``dedup_id`` are
        for FIFO topics (``dedup_id`` optional with content-based deduplication)."""
        entry, _ = ops.publish_entry(
            body, attributes=attributes, subject=subject, group_id=group_id, dedup_id=dedup_id
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
        await self._client._run(ops.delete_topic(self.name))


class AsyncSubscription:
    """A handle on one subscription: ``id``, ``topic``, ``protocol``, ``endpoint``, ``config``."""

    def __init__(self, client: AsyncClient, config: Mapping[str, Any]) -> None:
        self._client = client
        self.config: dict[str, Any] = dict(config)
        self.id: str = str(self.config.get("id"))

    def __repr__(self) -> str:
        return f"AsyncSubscription({self.id!r}, {self.protocol}:{self.endpoint})"

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
        await self._client._run(ops.unsubscribe(self.id))


class AsyncFunction:
    """A handle on one function: ``name`` and ``config`` (without the code bytes:
    ``code_sha256`` and ``code_size`` describe uploaded code)."""

    resource_kind: ClassVar[str] = "function"

    def __init__(self, client: AsyncClient, config: Mapping[str, Any]) -> None:
        self._client = client
        self.config: dict[str, Any] = dict(config)
        self.name: str = str(self.config.get("name"))

    def __repr__(self) -> str:
        return f"AsyncFunction({self.name!r})"

    @property
    def client(self) -> AsyncClient:
        return self._client

    @property
    def arn(self) -> str:
        """The Lambda-style ARN (``arn:aws:lambda:us-east-1:000000000000:function:<name>``)."""
        return arns.function_arn(self.name)

    async def invoke(self, payload: Any) -> Any:
        """See :meth:`Client.invoke <raybus.sdk.Client.invoke>`."""
        return await self._client._run(ops.invoke(self.name, payload))

    async def invoke_async(self, payload: Any) -> str:
        return await self._client._run(ops.invoke_async(self.name, payload))

    async def update(self, **changes: Any) -> dict[str, Any]:
        """Change settings (the keywords of ``create_function``; a callable ``handler``
        uploads new code); returns the config. The next invocation uses them."""
        self.config = await self._client._run(ops.update_function(self.name, changes))
        return self.config

    async def delete(self) -> None:
        await self._client._run(ops.delete_function(self.name))


class AsyncEventSourceMapping:
    """A handle on one event-source mapping: ``id``, ``source``, ``function``, ``config``."""

    def __init__(self, client: AsyncClient, config: Mapping[str, Any]) -> None:
        self._client = client
        self.config: dict[str, Any] = dict(config)
        self.id: str = str(self.config.get("id"))

    def __repr__(self) -> str:
        return f"AsyncEventSourceMapping({self.id!r}, {self.source} -> {self.function})"

    @property
    def source(self) -> str:
        return str(self.config.get("source"))

    @property
    def function(self) -> str:
        return str(self.config.get("function"))

    async def update(self, **changes: Any) -> dict[str, Any]:
        """Change ``batch_size``, ``batching_window_s``, ``max_concurrency``,
        ``report_batch_item_failures``, ``filter_criteria`` or ``enabled``."""
        self.config = await self._client._run(ops.update_mapping(self.id, changes))
        return self.config

    async def enable(self) -> None:
        await self.update(enabled=True)

    async def disable(self) -> None:
        """Stop polling; the source keeps its messages until :meth:`enable`."""
        await self.update(enabled=False)

    async def stats(self) -> MappingStats:
        return await self._client._run(ops.mapping_stats(self.id))

    async def delete(self) -> None:
        await self._client._run(ops.delete_mapping(self.id))
