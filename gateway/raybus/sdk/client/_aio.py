"""The client: every resource kind's methods on one connection pool, and the cluster's own
calls (clock, partition hosts, health).

A kind registers here by adding its methods class (a subclass of the generic
:class:`~raybus.sdk.base._aio.AsyncClientBase`) to the client's bases.

``_aio.py`` is the source of both flavours; ``_sync.py`` beside it is generated from it.
"""

from __future__ import annotations

from raybus.sdk.buckets._aio import AsyncBucketMethods
from raybus.sdk.buses._aio import AsyncBusMethods
from raybus.sdk.client import ops
from raybus.sdk.functions._aio import AsyncFunctionMethods
from raybus.sdk.mappings._aio import AsyncMappingMethods
from raybus.sdk.models import Health, HostsRebalanced
from raybus.sdk.queues._aio import AsyncQueueMethods
from raybus.sdk.topics._aio import AsyncTopicMethods

__all__ = ["AsyncClient"]


class AsyncClient(
    AsyncQueueMethods,
    AsyncTopicMethods,
    AsyncFunctionMethods,
    AsyncMappingMethods,
    AsyncBusMethods,
    AsyncBucketMethods,
):
    """A connection pool to one gateway, speaking msgpack, retrying what is retriable.

    ``AsyncClient(url="http://127.0.0.1:8000", token=None, *, timeout_s=30.0, max_retries=5,
    backoff=None, transport=None, sleep=...)``: ``max_retries`` bounds the retries per request
    (see :mod:`raybus.sdk._retry` for the policy); ``backoff`` and ``sleep`` are injectable for
    tests; ``transport`` (an ``httpx.AsyncBaseTransport``, e.g. ``httpx.MockTransport``)
    replaces the network. ``timeout_s`` applies to connect, write and read; a long poll adds
    its wait. Close the client (or use ``async with``) to release its connections. The
    synchronous client talks httpx and is thread-safe as ``httpx.Client`` is; the asynchronous
    one talks aiohttp (httpx when a transport is injected).

    Queues, topics (and subscriptions), functions, event-source mappings, event buses and
    buckets each bring their methods (:mod:`raybus.sdk.queues`, :mod:`raybus.sdk.topics`,
    :mod:`raybus.sdk.functions`, :mod:`raybus.sdk.mappings`, :mod:`raybus.sdk.buses`,
    :mod:`raybus.sdk.buckets`); the handles they return run their calls through this client.
    """

    async def now_ms(self) -> int:
        """The cluster's clock in milliseconds since the epoch (virtual under --test-clock)."""
        return await self._run(ops.clock())

    async def advance_clock(self, seconds: float) -> int:
        """Move a test clock forward and return the new ``now_ms``; raises
        ``UnsupportedOperation`` unless the cluster runs with ``--test-clock``."""
        return await self._run(ops.advance_clock(seconds))

    async def rebalance_hosts(self, *, dry_run: bool = False) -> HostsRebalanced:
        """Even out the partitions over the partition hosts (a host added to the cluster takes
        new resources' partitions; this moves existing ones onto it), online: each move fences
        the old owner with a new epoch. ``dry_run`` lists the moves without making them."""
        return await self._run(ops.rebalance_hosts(dry_run))

    async def health(self) -> Health:
        """``/healthz``; returns (does not raise) when the cluster reports ``degraded``."""
        return await self._run(ops.health())
