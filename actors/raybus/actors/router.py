"""Client-side routing to partition hosts, shared by gateways, hosts and the controller.

A :class:`Router` keeps the newest :class:`RoutingTable` it has seen and reaches any partition
of any kind by ``(kind, key, partition)`` with the epoch from the table. It has three typed
entry points — :meth:`Router.execute` (a batch of typed operations, one turn, one commit),
:meth:`Router.perform` (a waiting operation, such as a long poll) and :meth:`Router.attach`
(a resource's attached settings, such as a topic's subscriptions) — and one way of reaching a
host: a host in this process is a plain await (no Ray call, serialisation or object store),
any other one call on its channel (:mod:`raybus.actors.channel`: a socket between the two
processes, for ``execute``) or, for the rarer waits and settings, one Ray call (about 2 ms of
CPU over both processes here, whatever the argument).

When a host answers ``StaleEpoch`` the router fetches a fresh table and retries (bounded). A
dead or restarting host becomes the retriable ``PartitionUnavailable``.
"""

from __future__ import annotations

import asyncio
import collections
import itertools
import os
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol, TypeVar

import ray
from ray.exceptions import RayActorError

from raybus.actors.channel import ChannelClient, ChannelClosed
from raybus.core.arns import use_identity
from raybus.core.errors import RaybusError
from raybus.core.registry import kind
from raybus.core.routing import Route, RoutingTable
from raybus.engines.ops import Op
from raybus.options import NAMESPACE
from raybus.partitions.shell import Wait

__all__ = [
    "CHANNEL_SWITCH",
    "HostCalls",
    "Router",
    "channel_enabled",
    "merge_stats",
    "send_split",
    "split_by_partition",
    "unavailable",
]

STALE_RETRIES = 3
#: ``RAYBUS_HOST_CHANNEL=0`` in the hosts' environment turns the channel off: ``execute``
#: between hosts becomes a Ray call too (for a network that lets Ray's ports through but not
#: the hosts' own). On by default.
CHANNEL_SWITCH = "RAYBUS_HOST_CHANNEL"
#: Calls this process made to partitions, by path: ``local`` (a host in this process, a plain
#: await), ``channel`` (another host's channel) and ``ray`` (a Ray actor call: long polls,
#: attached settings, a host without a channel). Read by the gateway's ``/metrics``.
CALLS: collections.Counter[str] = collections.Counter()
R = TypeVar("R")
T = TypeVar("T")


class HostCalls(Protocol):
    """The data calls of a partition host (what a router sends); a host in this process
    answers them directly, any other through :class:`_Remote`."""

    async def execute(
        self, kind: str, key: str, partition: int, epoch: int, ops: Sequence[Op[Any, Any]]
    ) -> list[Any]: ...

    async def perform(
        self, kind: str, key: str, partition: int, epoch: int, wait: Wait[Any, Any]
    ) -> Any: ...

    async def attach(
        self, kind: str, key: str, partition: int, epoch: int, attached: Sequence[Any]
    ) -> None: ...


class _Remote:
    """A partition host in another process, as :class:`HostCalls`. ``execute`` — the data
    path's call — goes over the host's channel (:mod:`raybus.actors.channel`; its address is
    asked of the host through Ray once); the rest are Ray calls. A call abandoned by its
    caller (a long poll another partition answered first) is cancelled with ``ray.cancel``."""

    def __init__(self, handle: Any) -> None:
        self.handle = handle
        self._channel: asyncio.Future[ChannelClient | None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def _open_channel(self) -> ChannelClient | None:
        if not channel_enabled():
            return None
        try:
            method = self.handle.channel_address
        except AttributeError:  # a host of a version without channels: Ray calls only
            return None
        address = await method.remote()
        return None if address is None else ChannelClient(*address)

    @staticmethod
    async def _wait(ref: Any) -> Any:
        try:
            return await ref
        except asyncio.CancelledError:
            ray.cancel(ref)
            raise

    async def execute(
        self, kind: str, key: str, partition: int, epoch: int, ops: Sequence[Op[Any, Any]]
    ) -> list[Any]:
        loop = asyncio.get_running_loop()
        if self._loop is None:
            self._loop = loop
        if loop is self._loop:  # a channel belongs to the event loop that opened it
            for attempt in range(2):
                channel = await self._channel_now()
                if channel is None:
                    break
                if attempt == 0:  # a resend of a call that never left counts once
                    CALLS["channel"] += 1
                try:
                    return await channel.execute(kind, key, partition, epoch, list(ops))
                except ChannelClosed as closed:
                    # never sent: the connection was broken before it (a restarted host
                    # leaves one behind); once more on a new one, whose address the host
                    # (restarted, if it was) gives through Ray
                    if closed.sent or attempt == 1:
                        raise
                    self._forget(channel)
        CALLS["ray"] += 1
        result: list[Any] = await self._wait(
            self.handle.execute.remote(kind, key, partition, epoch, list(ops))
        )
        return result

    async def _channel_now(self) -> ChannelClient | None:
        """This host's channel (None: Ray calls), opened by the first caller that needs it."""
        if self._channel is None:
            self._channel = asyncio.ensure_future(self._open_channel())
        opening = self._channel
        try:
            return await asyncio.shield(opening)
        except Exception:
            if self._channel is opening and opening.done():
                self._channel = None  # ask again on the next call
            raise

    def _forget(self, channel: ChannelClient) -> None:
        """Drop ``channel`` (broken) so the next call opens a new one, unless another caller
        already has."""
        opening = self._channel
        if (
            opening is not None
            and opening.done()
            and not opening.cancelled()
            and opening.exception() is None
            and opening.result() is channel
        ):
            self._channel = None
        channel.close()

    def close(self) -> None:
        opening = self._channel
        if opening is None or not opening.done() or opening.cancelled() or opening.exception():
            return
        channel = opening.result()
        if channel is not None:
            channel.close()

    async def perform(
        self, kind: str, key: str, partition: int, epoch: int, wait: Wait[Any, Any]
    ) -> Any:
        CALLS["ray"] += 1
        return await self._wait(self.handle.perform.remote(kind, key, partition, epoch, wait))

    async def attach(
        self, kind: str, key: str, partition: int, epoch: int, attached: Sequence[Any]
    ) -> None:
        CALLS["ray"] += 1
        await self._wait(self.handle.attach.remote(kind, key, partition, epoch, list(attached)))


def channel_enabled() -> bool:
    """Whether hosts call each other's ``execute`` over channels (see ``CHANNEL_SWITCH``)."""
    return os.environ.get(CHANNEL_SWITCH, "1") != "0"


def unavailable(host: str, error: BaseException) -> RaybusError:
    return RaybusError(
        "PartitionUnavailable",
        f"Partition host {host} is unavailable ({type(error).__name__}).",
        host=host,
    )


def merge_stats(parts: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """One queue's stats from its partitions' (counts add up, the oldest age is the max)."""
    total: dict[str, Any] = {"visible": 0, "in_flight": 0, "delayed": 0, "oldest_age_ms": 0}
    for part in parts:
        for key, value in part.items():
            if key == "oldest_age_ms":
                total[key] = max(total[key], value)
            elif key != "epoch":
                total[key] = total.get(key, 0) + value
    total["partitions"] = len(parts)
    return total


def split_by_partition(
    route: Route[Any], entries: Sequence[Any], start: int
) -> dict[int, list[int]]:
    """Indexes of ``entries`` per partition of a queue or topic. FIFO: by message group
    (stable MD5), so a group's order holds. Standard: the whole batch to partition ``start``
    (one partition per batch; the caller spreads the load over calls)."""
    count = len(route.partitions)
    if not route.config.fifo or count == 1:
        return {start % count: list(range(len(entries)))}
    out: dict[int, list[int]] = {}
    for index, entry in enumerate(entries):
        group = entry.group_id if isinstance(entry.group_id, str) else ""
        out.setdefault(route.partition_of_group(group), []).append(index)
    return out


async def send_split(
    route: Route[Any],
    entries: Sequence[Any],
    start: int,
    call: Callable[[int, list[Any]], Awaitable[Sequence[Any]]],
) -> list[Any]:
    """One result (or error) per entry, in order: ``call(partition, chunk)`` for each
    partition's chunk (:func:`split_by_partition`), concurrently. The common case — one
    partition takes the whole batch — is awaited directly, with no task in between."""
    parts = split_by_partition(route, entries, start)
    if len(parts) == 1:
        ((partition, _),) = parts.items()
        answer = list(await call(partition, list(entries)))
        if len(answer) != len(entries):
            raise RaybusError("InternalError", "A partition answered the wrong number of results.")
        return answer
    results: list[Any] = [None] * len(entries)

    async def one(partition: int, indexes: list[int]) -> None:
        answer = await call(partition, [entries[i] for i in indexes])
        for index, result in zip(indexes, answer, strict=True):
            results[index] = result

    await asyncio.gather(*(one(p, idx) for p, idx in parts.items()))
    return [r if r is not None else RaybusError("InternalError", "no result") for r in results]


def _rotated(items: list[int], turn: int) -> list[int]:
    """``items`` starting at ``turn`` (modulo their count), wrapping around."""
    if not items:
        return items
    start = turn % len(items)
    return items[start:] + items[:start]


class Router:
    """``local`` maps host names to partition hosts living in this process."""

    def __init__(
        self,
        fetch_table: Callable[[], Awaitable[RoutingTable]],
        *,
        local: dict[str, HostCalls] | None = None,
    ) -> None:
        self._fetch = fetch_table
        self.table = RoutingTable()
        self.local: dict[str, HostCalls] = local if local is not None else {}
        self._remote: dict[str, _Remote] = {}
        self._refreshing: asyncio.Future[RoutingTable] | None = None
        self.turn = itertools.count()

    # -- table ----------------------------------------------------------------------------------
    def install(self, table: RoutingTable) -> None:
        if table.version >= self.table.version:
            self.table = table
            use_identity(table.aws_account_id, table.aws_region)

    async def refresh(self) -> RoutingTable:
        """Fetch the newest table; concurrent callers share one fetch."""
        if self._refreshing is None:
            self._refreshing = asyncio.ensure_future(self._fetch())
            try:
                self.install(await self._refreshing)
            finally:
                self._refreshing = None
        else:
            await asyncio.shield(self._refreshing)
        return self.table

    async def route(self, kind_name: str, key: str) -> Route[Any]:
        """The resource's route; refreshes once before answering the kind's not-found error."""
        route = self.table.route(kind_name, key)
        if route is None:
            route = (await self.refresh()).route(kind_name, key)
        if route is None:
            raise kind(kind_name).not_found(key)
        return route

    def nearest(self, route: Route[Any]) -> list[int]:
        """The route's partitions in the order a request that may use any of them tries them:
        those hosted in this process first, then the others, each group rotating per call so
        the load spreads (locality: a local partition is a plain await, a remote one a Ray
        call)."""
        turn = next(self.turn)
        partitions = route.partitions
        count = len(partitions)
        if count == 1:
            return [0]
        local = [p for p in range(count) if partitions[p].host in self.local]
        remote = [p for p in range(count) if partitions[p].host not in self.local]
        return [*_rotated(local, turn), *_rotated(remote, turn)]

    def host(self, name: str) -> HostCalls:
        local = self.local.get(name)
        if local is not None:
            CALLS["local"] += 1
            return local
        remote = self._remote.get(name)
        if remote is None:
            remote = self._remote[name] = _Remote(ray.get_actor(name, namespace=NAMESPACE))
        return remote

    # -- calls ----------------------------------------------------------------------------------
    async def execute(
        self, kind_name: str, key: str, partition: int, ops: Sequence[Op[Any, Any]]
    ) -> list[Any]:
        """``ops`` in one turn of the partition: one result (or error) per op."""
        return await self._on(
            kind_name, key, partition, lambda h, e: h.execute(kind_name, key, partition, e, ops)
        )

    async def apply(self, kind_name: str, key: str, partition: int, op: Op[Any, R]) -> R:
        """One op in its own turn; its error is raised."""
        (result,) = await self.execute(kind_name, key, partition, [op])
        if isinstance(result, RaybusError):
            raise RaybusError(result.code, result.message, **result.details) from None
        answer: R = result
        return answer

    async def perform(self, kind_name: str, key: str, partition: int, wait: Wait[Any, R]) -> R:
        result: R = await self._on(
            kind_name, key, partition, lambda h, e: h.perform(kind_name, key, partition, e, wait)
        )
        return result

    async def attach(
        self, kind_name: str, key: str, partition: int, attached: Sequence[Any]
    ) -> None:
        await self._on(
            kind_name,
            key,
            partition,
            lambda h, e: h.attach(kind_name, key, partition, e, attached),
        )

    async def _on(
        self,
        kind_name: str,
        key: str,
        partition: int,
        call: Callable[[HostCalls, int], Awaitable[T]],
    ) -> T:
        """``call(host, epoch)`` on the partition's current host, refreshing the table and
        trying again when the host answers ``StaleEpoch`` (bounded)."""
        for attempt in range(STALE_RETRIES + 1):
            route = await self.route(kind_name, key)
            if partition >= len(route.partitions):
                raise RaybusError("StaleEpoch", f"{kind_name} {key} has no partition {partition}.")
            placement = route.partitions[partition]
            try:
                return await call(self.host(placement.host), placement.epoch)
            except RaybusError as error:
                if error.code != "StaleEpoch" or attempt == STALE_RETRIES:
                    # rebuilt: Ray delivers actor errors wrapped in its task-error class
                    raise RaybusError(error.code, error.message, **error.details) from None
            except (RayActorError, ValueError, ChannelClosed) as error:
                # dead, restarting, or not yet named: a recreated host is found by name (and
                # its channel's new address asked of it)
                remote = self._remote.pop(placement.host, None)
                if remote is not None:
                    remote.close()
                raise unavailable(placement.host, error) from error
            await self.refresh()
        raise AssertionError("unreachable")
