"""The partition host: an async Ray actor hosting many partitions of resources of every kind.

Each partition runs in a :class:`~raybus.partitions.shell.PartitionShell`, built for its kind by
:mod:`raybus.partitions.registry`; the host itself knows no kind. Its data calls are the
router's: :meth:`PartitionHost.execute` (a batch of typed operations), :meth:`perform` (a
waiting operation) and :meth:`attach` (a resource's attached settings); its placement calls are
the controller's: :meth:`open`, :meth:`configure`, :meth:`close`.

Lifecycle: a new incarnation (first start, or a restart after a crash or a lost node) starts
empty. Its first call runs :meth:`start` once: it tells the controller its incarnation and gets
back every partition placed on it, with *new* epochs, and reopens each from disk (the data
directory is shared, or a persistent volume on Kubernetes). A call that carries an older epoch
is refused with ``StaleEpoch``, so a caller holding routing from before the restart refreshes
its table instead of talking to a partition it no longer knows.

Concurrency: data methods run on the default group's event loop, where every engine lives.
``ping`` and ``stats`` run in the ``control`` group (another thread and loop), so health checks
never wait behind parked long polls; ``stats`` hops to the data loop to read engines safely.

Pollers (event-source mappings and asynchronous invokes: :mod:`raybus.actors.pollers`) run
beside the queue partitions they read and follow the routing table, which the host long-polls.

Test clock: the controller moves time one due timer at a time (:mod:`raybus.control.clock`):
:meth:`PartitionHost.set_clock` sets the host's virtual time, :meth:`settle_clock` wakes what is
due, waits until the host is quiescent (its :class:`~raybus.partitions.activity.Activity`) and
reports the next due time. With the system clock the host has no activity and neither runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import resource
import shutil
import uuid
from collections.abc import Sequence
from typing import Any

import ray

from raybus.actors.channel import ChannelServer
from raybus.actors.collector import settle_collector
from raybus.actors.dispatch import FunctionRuntime, RouterDispatcher
from raybus.actors.layout import partition_directory
from raybus.actors.pollers import Pollers
from raybus.actors.router import Router, channel_enabled
from raybus.core.clock import Clock, ClockReport, ManualClock, SystemClock
from raybus.core.errors import RaybusError, replies_with_errors
from raybus.core.registry import kind
from raybus.core.routing import RoutingTable, partition_tag
from raybus.engines.ops import Op
from raybus.options import CONTROLLER_NAME, NAMESPACE
from raybus.partitions import Environment, PartitionShell, Wait, partition_kind
from raybus.partitions.activity import Activity, settle
from raybus.storage import FsyncPolicy

__all__ = ["PartitionHost", "partition_directory"]

log = logging.getLogger(__name__)

Key = tuple[str, str, int]  # kind, resource key, partition
WATCH_TIMEOUT_S = 10.0


def _raise_fd_limit() -> None:
    """Each open segment holds a file descriptor: lift the soft limit to the hard one."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


@replies_with_errors
class PartitionHost:
    def __init__(self, name: str, data_dir: str, *, fsync: str = "always") -> None:
        _raise_fd_limit()
        self.name = name
        self.data_dir = data_dir
        self.fsync = FsyncPolicy(fsync)
        self.incarnation = uuid.uuid4().int >> 64
        self.clock: Clock = SystemClock()
        self.virtual = False
        self.activity: Activity | None = None  # test clock only
        self.shells: dict[Key, PartitionShell[Any]] = {}
        self._opening: dict[Key, asyncio.Future[PartitionShell[Any]]] = {}
        self._started: asyncio.Future[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.router = Router(self._fetch_table, local={name: self})  # own partitions: no Ray
        self.dispatcher = RouterDispatcher(self.router, data_dir)
        self.functions = FunctionRuntime(self._controller)
        self.pollers = Pollers(self.name, self.shells, self.functions, self.dispatcher)
        self._watcher: asyncio.Task[None] | None = None
        self.channel = ChannelServer(self.execute, name)

    # -- lifecycle ------------------------------------------------------------------------------
    def _controller(self) -> Any:
        return ray.get_actor(CONTROLLER_NAME, namespace=NAMESPACE)

    async def _fetch_table(self) -> RoutingTable:
        table: RoutingTable = await self._controller().routing.remote()
        return table

    async def start(self) -> dict[str, Any]:
        """Register this incarnation with the controller and reopen its partitions (once)."""
        self._loop = asyncio.get_running_loop()
        if self._started is None:
            self._started = asyncio.ensure_future(self._register())
        try:
            await asyncio.shield(self._started)
        except BaseException:
            self._started = None  # let the next call try again
            raise
        return self.describe()

    async def _register(self) -> None:
        if channel_enabled() and self.channel.address() is None:
            await self.channel.start(ray.util.get_node_ip_address())  # type: ignore[no-untyped-call]
        answer = await self._controller().host_started.remote(self.name, self.incarnation)
        if answer["now_ms"] is not None:
            self._use_virtual_clock(answer["now_ms"])
        await asyncio.gather(*(self._open(*assignment) for assignment in answer["assignments"]))
        table = await self.router.refresh()
        await asyncio.gather(
            *(
                shell.attach(route.attached)
                for (kind_name, key, _), shell in self.shells.items()
                if (route := table.route(kind_name, key)) is not None and route.attached
            )
        )
        await self.pollers.reconcile(table)
        self._watcher = asyncio.ensure_future(self._watch())
        settle_collector()
        log.info("%s started with %d partitions", self.name, len(self.shells))

    async def _watch(self) -> None:
        """Follow the controller's routing table (long poll) and keep the pollers in step with
        the functions and mappings in it. Never dies."""
        while True:
            try:
                table = await self._controller().watch_routing.remote(
                    self.router.table.version, WATCH_TIMEOUT_S
                )
                if table is None:  # nothing new within the timeout
                    continue
                self.router.install(table)
                await self.pollers.reconcile(self.router.table)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("routing watch failed; retrying")
                await asyncio.sleep(1.0)  # a pause after an error (the controller may restart)

    def _use_virtual_clock(self, now_ms: int) -> None:
        if not self.virtual:
            self.clock = ManualClock(now_ms)
            self.virtual = True
            self.activity = Activity()
        elif isinstance(self.clock, ManualClock) and now_ms > self.clock.now_ms():
            self.clock.set(now_ms)

    async def _open(
        self,
        kind_name: str,
        key: str,
        partition: int,
        epoch: int,
        config: dict[str, Any],
        incarnation: int,
    ) -> PartitionShell[Any]:
        place = (kind_name, key, partition)
        settings = kind(kind_name).from_dict(config)
        current = self.shells.get(place)
        if current is not None:
            current.epoch = max(current.epoch, epoch)
            current.configure(settings)
            return current
        pending = self._opening.get(place)
        if pending is None:
            env = Environment(
                clock=self.clock,
                dispatcher=self.dispatcher,
                fsync=self.fsync,
                virtual_clock=self.virtual,
                activity=self.activity,
            )
            pending = asyncio.ensure_future(
                PartitionShell.open(
                    partition_kind(kind_name),
                    settings,
                    partition_directory(self.data_dir, kind_name, key, incarnation, partition),
                    tag=partition_tag(incarnation, partition),
                    partition=partition,
                    epoch=epoch,
                    env=env,
                )
            )
            self._opening[place] = pending
        try:
            opened = await asyncio.shield(pending)
        finally:
            if self._opening.get(place) is pending and pending.done():
                del self._opening[place]
        self.shells.setdefault(place, opened)
        opened.epoch = max(opened.epoch, epoch)
        return self.shells[place]

    # -- placement calls from the controller (idempotent) --------------------------------------
    async def open(
        self,
        kind_name: str,
        key: str,
        partition: int,
        epoch: int,
        config: dict[str, Any],
        incarnation: int,
    ) -> int:
        await self.start()
        opened = await self._open(kind_name, key, partition, epoch, config, incarnation)
        await self.pollers.reconcile(self.router.table)  # a function's event queue: its poller
        return opened.epoch

    async def configure(self, kind_name: str, key: str, config: dict[str, Any]) -> None:
        await self.start()
        settings = kind(kind_name).from_dict(config)
        for (name, resource_key, _), shell in self.shells.items():
            if (name, resource_key) == (kind_name, key):
                shell.configure(settings)

    async def close(self, kind_name: str, key: str, incarnation: int, *, delete_files: bool) -> int:
        """Close every partition of the resource here; with ``delete_files`` remove its data."""
        await self.start()
        closed = 0
        for place in [p for p in self.shells if p[:2] == (kind_name, key)]:
            shell = self.shells.pop(place)
            await self.pollers.forget(shell)
            await shell.close()
            closed += 1
        if delete_files:
            directory = os.path.dirname(
                partition_directory(self.data_dir, kind_name, key, incarnation, 0)
            )
            await asyncio.get_running_loop().run_in_executor(
                None, lambda: shutil.rmtree(directory, ignore_errors=True)
            )
        return closed

    async def release(self, kind_name: str, key: str, partition: int, epoch: int) -> bool:
        """Stop serving one partition that moved away at ``epoch``: close it (what it
        acknowledged is committed; its log's ``flock`` is released for the new owner) and keep
        its files. False if it is not open here below that epoch."""
        await self.start()
        place = (kind_name, key, partition)
        shell = self.shells.get(place)
        if shell is None or shell.epoch >= epoch:
            return False
        del self.shells[place]  # callers from now on: StaleEpoch, and their routers refresh
        await self.pollers.forget(shell)
        await shell.close()
        log.info("%s released %s %s/%d (moved at epoch %d)", self.name, *place, epoch)
        return True

    async def holding(self) -> list[tuple[str, str, int, int]]:
        """Every partition open here, as (kind, key, partition, epoch)."""
        await self.start()
        return [(*place, shell.epoch) for place, shell in self.shells.items()]

    async def set_clock(self, now_ms: int, *, wake: bool = True) -> None:
        """Move the virtual clock to ``now_ms`` (never back) and, with ``wake``, wake every
        partition. The controller's steps set every host's clock first without waking, so no
        work runs at the new time until all hosts have it."""
        await self.start()
        self._use_virtual_clock(now_ms)
        if wake:
            for shell in self.shells.values():
                shell.wake()

    async def settle_clock(
        self, now_ms: int, horizon_ms: int, timeout_s: float, routing_version: int = 0
    ) -> ClockReport:
        """At ``now_ms`` (set before): wake what is due, wait up to ``timeout_s`` real seconds
        until this host is quiescent, and report the earliest due time in ``(now_ms,
        horizon_ms]`` (:func:`raybus.partitions.activity.settle`). First the routing table of
        ``routing_version`` (the controller's) is put in force here, so the pollers of a
        function or mapping created just before the advance wait on their queues before time
        moves, instead of starting after it."""
        await self.start()
        self._use_virtual_clock(now_ms)
        activity = self.activity
        if activity is None:  # the system clock: nothing to settle (the controller refuses)
            return ClockReport(True, 0, None)
        if self.router.table.version < routing_version:
            await self.pollers.reconcile(await self.router.refresh())
        return await settle(activity, lambda: self.shells.values(), now_ms, horizon_ms, timeout_s)

    # -- data calls (the router's) ------------------------------------------------------------
    async def _shell(self, kind_name: str, key: str, partition: int, epoch: int) -> Any:
        if self._started is None or not self._started.done():
            await self.start()
        place = (kind_name, key, partition)
        shell = self.shells.get(place)
        if shell is None and place in self._opening:
            shell = await asyncio.shield(self._opening[place])
        if shell is None or epoch < shell.epoch:
            raise RaybusError(
                "StaleEpoch",
                f"{self.name} does not serve {kind_name} {key}/{partition} at epoch {epoch}.",
                resource=key,
                partition=partition,
            )
        if epoch > shell.epoch:
            raise RaybusError(
                "PartitionUnavailable",
                f"{kind_name} {key}/{partition} is being reassigned.",
                resource=key,
            )
        return shell

    async def execute(
        self, kind_name: str, key: str, partition: int, epoch: int, ops: Sequence[Op[Any, Any]]
    ) -> list[Any]:
        shell = await self._shell(kind_name, key, partition, epoch)
        results: list[Any] = await shell.execute(ops)
        return results

    async def channel_address(self) -> tuple[str, int, bytes] | None:
        """Where a peer's router sends this host's ``execute`` calls (see
        :mod:`raybus.actors.channel`): its node address, port and secret."""
        await self.start()
        return self.channel.address()

    async def perform(
        self, kind_name: str, key: str, partition: int, epoch: int, wait: Wait[Any, Any]
    ) -> Any:
        shell = await self._shell(kind_name, key, partition, epoch)
        return await shell.perform(wait)

    async def attach(
        self, kind_name: str, key: str, partition: int, epoch: int, attached: Sequence[Any]
    ) -> None:
        shell = await self._shell(kind_name, key, partition, epoch)
        await shell.attach(attached)

    # -- control group ----------------------------------------------------------------------------
    @ray.method(concurrency_group="control")
    def ping(self) -> dict[str, Any]:
        return self.describe()

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "incarnation": self.incarnation,
            "started": self._started is not None and self._started.done(),
            "partitions": len(self.shells),
            "pid": os.getpid(),
            "node_id": ray.get_runtime_context().get_node_id(),
        }

    async def _on_data_loop(self, read: Any) -> Any:
        loop = self._loop
        if loop is None:
            return None
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(read(), loop))

    @ray.method(concurrency_group="control")
    async def resource_stats(self) -> dict[str, Any]:
        """Topic, bus and bucket stats (summed over this host's partitions of each), function
        metrics and mapping poller counts of this host, read on the data loop (engines live
        there)."""

        async def read() -> dict[str, Any]:
            topics: dict[str, dict[str, Any]] = {}
            buses: dict[str, dict[str, Any]] = {}
            buckets: dict[str, dict[str, Any]] = {}
            for (kind_name, key, _), shell in self.shells.items():
                if kind_name == "topic":
                    _add(topics.setdefault(key, {}), shell.engine.stats(shell.clock.now_ms()))
                elif kind_name == "bus":
                    _add(buses.setdefault(key, {}), shell.engine.stats())
                elif kind_name == "bucket":
                    _add(buckets.setdefault(key, {}), shell.engine.stats())
            invoker = self.functions.existing_invoker()
            return {
                "topics": topics,
                "buses": buses,
                "buckets": buckets,
                "functions": {} if invoker is None else invoker.metrics(),
                "mappings": self.pollers.counters(),
            }

        stats = await self._on_data_loop(read)
        return stats or {"topics": {}, "buses": {}, "buckets": {}, "functions": {}, "mappings": {}}

    async def shutdown(self) -> None:
        """Stop the pollers, close every partition cleanly (commit, release locks)."""
        if self._watcher is not None:
            self._watcher.cancel()
        await self.pollers.stop()
        await self.channel.close()
        for place in list(self.shells):
            await self.shells.pop(place).close()
        await self.dispatcher.close()


def _add(total: dict[str, Any], part: dict[str, Any]) -> None:
    """Add one partition's stats into ``total`` (numbers add up, maps merge recursively)."""
    for name, value in part.items():
        if isinstance(value, dict):
            _add(total.setdefault(name, {}), value)
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            total[name] = total.get(name, 0) + value
        else:
            total.setdefault(name, value)
