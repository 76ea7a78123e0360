"""The partition host: an async Ray actor hosting many partitions of many queues.

Lifecycle: a new incarnation (first start, or a restart after a crash or a lost node) starts
empty. Its first data call runs :meth:`PartitionHost.start` once: it tells the controller its
incarnation and gets back every partition placed on it, with *new* epochs, and reopens each
from disk (the data directory is shared, or a persistent volume on Kubernetes). A call that
carries an older epoch is refused with ``StaleEpoch``, so a gateway holding routing from
before the restart refreshes its table instead of talking to a partition it no longer knows.

Concurrency: data methods run on the default group's event loop, where every engine lives.
``ping`` and ``stats`` run in the ``control`` group (another thread and loop), so health checks
never wait behind parked long polls; ``stats`` hops to the data loop to read engines safely.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import resource
import shutil
import uuid
from typing import Any

import ray

from raybus.actors.dispatch import Dispatcher, FunctionRuntime
from raybus.actors.live_partition import LivePartition, Op, OpResult
from raybus.actors.live_topic import LiveTopic, TopicDispatch
from raybus.actors.options import CONTROLLER_NAME, NAMESPACE
from raybus.actors.pollers import AsyncPoller, MappingPoller, workers_per_partition
from raybus.actors.router import Router
from raybus.core.clock import Clock, ManualClock, SystemClock
from raybus.core.config import QueueConfig
from raybus.core.errors import RaybusError, replies_with_errors
from raybus.core.resources import FunctionConfig, MappingConfig, SubscriptionConfig, TopicConfig
from raybus.core.routing import RoutingTable, async_queue_name, partition_tag
from raybus.engines import DeadLetter, SendEntry, SendResult
from raybus.storage import FsyncPolicy

__all__ = ["PartitionHost", "partition_directory", "topic_directory"]

log = logging.getLogger(__name__)

Key = tuple[str, int]


def partition_directory(data_dir: str, queue: str, incarnation: int, partition: int) -> str:
    return os.path.join(data_dir, "queues", queue, f"{incarnation:016x}", f"p{partition:04d}")


def topic_directory(data_dir: str, topic: str, incarnation: int, partition: int) -> str:
    return os.path.join(data_dir, "topics", topic, f"{incarnation:016x}", f"p{partition:04d}")


WATCH_TIMEOUT_S = 10.0
PollerKey = tuple[str, str, int]  # ("mapping", id, partition) or ("async", function, partition)


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
        self.partitions: dict[Key, LivePartition] = {}
        self._opening: dict[Key, asyncio.Future[LivePartition]] = {}
        self._started: asyncio.Future[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.router = Router(self._fetch_table, local={name: self})  # own partitions: no Ray
        self.dispatcher = Dispatcher(self.router)
        self.topics: dict[Key, LiveTopic] = {}
        self._topic_dispatch: TopicDispatch | None = None
        self.functions = FunctionRuntime(self._controller)
        self.pollers: dict[PollerKey, MappingPoller | AsyncPoller] = {}
        self._watcher: asyncio.Task[None] | None = None
        self._reconciling = asyncio.Lock()

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
        answer = await self._controller().host_started.remote(self.name, self.incarnation)
        if answer["now_ms"] is not None:
            self._use_virtual_clock(answer["now_ms"])
        await asyncio.gather(*(self._open(*assignment) for assignment in answer["assignments"]))
        table = await self.router.refresh()
        await asyncio.gather(
            *(
                self._open_topic(
                    topic, index, epoch, config, incarnation, self._subs_of(table, topic)
                )
                for topic, index, epoch, config, incarnation in answer.get("topics", ())
            )
        )
        await self._reconcile(table)
        self._watcher = asyncio.ensure_future(self._watch())
        log.info(
            "%s started with %d partitions and %d topics",
            self.name,
            len(self.partitions),
            len(self.topics),
        )

    @staticmethod
    def _subs_of(table: RoutingTable, topic: str) -> list[dict[str, Any]]:
        route = table.topics.get(topic)
        return [] if route is None else [sub.to_dict() for sub in route.subscriptions]

    # -- the routing watch and the pollers it drives ---------------------------------------------
    async def _watch(self) -> None:
        """Follow the controller's routing table (long poll) and keep the pollers in step with
        the functions and mappings in it. Never dies."""
        while True:
            try:
                table = await self._controller().watch_routing.remote(
                    self.router.table.version, WATCH_TIMEOUT_S
                )
                self.router.install(table)
                await self._reconcile(self.router.table)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("routing watch failed; retrying")
                await asyncio.sleep(1.0)  # a pause after an error (the controller may restart)

    def _function(self, name: str) -> FunctionConfig | None:
        return self.router.table.functions.get(name)

    async def _reconcile(self, table: RoutingTable) -> None:
        """Start, resize, update and stop pollers to match ``table`` (serialised)."""
        if not table.functions and not self.pollers:
            return
        async with self._reconciling:
            await self._reconcile_now(table)

    async def _reconcile_now(self, table: RoutingTable) -> None:
        wanted: dict[PollerKey, tuple[Any, ...]] = {}
        for function in table.functions:
            queue = async_queue_name(function)
            for index in self._local_partitions(table, queue):
                wanted[("async", function, index)] = (queue, index, None)
        for mapping in table.mappings.values():
            target = mapping.target
            if (
                not mapping.enabled
                or target.kind != "queue"
                or mapping.function not in table.functions
            ):
                continue
            route = table.queues.get(target.name)
            if route is None:
                continue
            for index in self._local_partitions(table, target.name):
                wanted[("mapping", mapping.id, index)] = (target.name, index, mapping)
        for key in [key for key in self.pollers if key not in wanted]:
            await self.pollers.pop(key).stop()
        for key, (queue, index, mapping) in wanted.items():
            live = self.partitions.get((queue, index))
            if live is None:
                continue
            try:
                self._place_poller(table, key, live, queue, mapping)
            except Exception:  # one bad poller must not stop the others or the watch
                log.exception("starting poller %s failed", key)

    def _place_poller(
        self,
        table: RoutingTable,
        key: PollerKey,
        live: LivePartition,
        queue: str,
        mapping: MappingConfig | None,
    ) -> None:
        """Create, resize or update the poller for ``key`` (no await: atomic on the loop)."""
        poller = self.pollers.get(key)
        if mapping is None:
            config = table.functions[key[1]]
            workers = min(8, config.concurrency) if config.concurrency is not None else 8
            if poller is None:
                poller = AsyncPoller(
                    key[1],
                    live,
                    self.functions.invoker(),
                    self.functions.code_for,
                    self._function,
                    self.dispatcher,
                    self.clock,
                )
                self.pollers[key] = poller
            poller.resize(workers)
        else:
            count = len(table.queues[queue].partitions)
            workers = workers_per_partition(mapping.max_concurrency, count)
            if poller is None:
                poller = MappingPoller(
                    mapping,
                    queue,
                    live,
                    self.functions.invoker(),
                    self.functions.code_for,
                    self._function,
                )
                self.pollers[key] = poller
            assert isinstance(poller, MappingPoller)
            poller.update(mapping)
            poller.resize(workers)

    def _local_partitions(self, table: RoutingTable, queue: str) -> list[int]:
        route = table.queues.get(queue)
        if route is None:
            return []
        return [i for i, p in enumerate(route.partitions) if p.host == self.name]

    def _use_virtual_clock(self, now_ms: int) -> None:
        if not self.virtual:
            self.clock = ManualClock(now_ms)
            self.virtual = True
        elif isinstance(self.clock, ManualClock) and now_ms > self.clock.now_ms():
            self.clock.set(now_ms)

    async def _open(
        self, queue: str, partition: int, epoch: int, config: dict[str, Any], incarnation: int
    ) -> LivePartition:
        key = (queue, partition)
        current = self.partitions.get(key)
        if current is not None:
            current.epoch = max(current.epoch, epoch)
            current.update_config(QueueConfig.from_dict(config))
            return current
        pending = self._opening.get(key)
        if pending is None:
            pending = asyncio.ensure_future(
                LivePartition.open(
                    QueueConfig.from_dict(config),
                    partition_directory(self.data_dir, queue, incarnation, partition),
                    tag=partition_tag(incarnation, partition),
                    partition=partition,
                    epoch=epoch,
                    clock=self.clock,
                    deliver=self._deliver,
                    fsync=self.fsync,
                    virtual_clock=self.virtual,
                )
            )
            self._opening[key] = pending
        try:
            opened = await asyncio.shield(pending)
        finally:
            if self._opening.get(key) is pending and pending.done():
                del self._opening[key]
        self.partitions.setdefault(key, opened)
        opened.epoch = max(opened.epoch, epoch)
        return self.partitions[key]

    async def _deliver(
        self, queue: str, entries: list[SendEntry]
    ) -> list[SendResult | RaybusError]:
        return await self.router.send(queue, entries)

    async def _open_topic(
        self,
        topic: str,
        partition: int,
        epoch: int,
        config: dict[str, Any],
        incarnation: int,
        subscriptions: list[dict[str, Any]],
    ) -> LiveTopic:
        if self._topic_dispatch is None:
            self._topic_dispatch = TopicDispatch(self.dispatcher.send, self.dispatcher.is_fifo)
        key = (topic, partition)
        live = self.topics.get(key)
        if live is None:
            live = await LiveTopic.open(
                TopicConfig.from_dict(config),
                topic_directory(self.data_dir, topic, incarnation, partition),
                tag=partition_tag(incarnation, partition),
                partition=partition,
                epoch=epoch,
                clock=self.clock,
                dispatch=self._topic_dispatch,
                fsync=self.fsync,
                virtual_clock=self.virtual,
            )
            live = self.topics.setdefault(key, live)
        live.epoch = max(live.epoch, epoch)
        await live.set_subscriptions([SubscriptionConfig.from_dict(s) for s in subscriptions])
        return live

    # -- placement calls from the controller (idempotent) --------------------------------------
    async def open_partition(
        self, queue: str, partition: int, epoch: int, config: dict[str, Any], incarnation: int
    ) -> int:
        await self.start()
        opened = await self._open(queue, partition, epoch, config, incarnation)
        await self._reconcile(self.router.table)  # a function's event queue: start its poller
        return opened.epoch

    async def update_config(self, queue: str, config: dict[str, Any]) -> None:
        await self.start()
        parsed = QueueConfig.from_dict(config)
        for (name, _), live in self.partitions.items():
            if name == queue:
                live.update_config(parsed)

    async def close_queue(self, queue: str, incarnation: int, *, delete_files: bool) -> int:
        """Close every partition of ``queue`` here; with ``delete_files`` remove its data."""
        await self.start()
        closed = 0
        for key in [key for key in self.partitions if key[0] == queue]:
            live = self.partitions[key]
            for poller_key in [k for k, p in self.pollers.items() if p.live is live]:
                await self.pollers.pop(poller_key).stop()
            await self.partitions.pop(key).close()
            closed += 1
        if delete_files:
            directory = os.path.join(self.data_dir, "queues", queue, f"{incarnation:016x}")
            await asyncio.get_running_loop().run_in_executor(
                None, lambda: shutil.rmtree(directory, ignore_errors=True)
            )
        return closed

    async def open_topic(
        self,
        topic: str,
        partition: int,
        epoch: int,
        config: dict[str, Any],
        incarnation: int,
        subscriptions: list[dict[str, Any]],
    ) -> int:
        await self.start()
        opened = await self._open_topic(topic, partition, epoch, config, incarnation, subscriptions)
        return opened.epoch

    async def close_topic(self, topic: str, incarnation: int, *, delete_files: bool) -> int:
        await self.start()
        closed = 0
        for key in [key for key in self.topics if key[0] == topic]:
            await self.topics.pop(key).close()
            closed += 1
        if delete_files:
            directory = os.path.join(self.data_dir, "topics", topic, f"{incarnation:016x}")
            await asyncio.get_running_loop().run_in_executor(
                None, lambda: shutil.rmtree(directory, ignore_errors=True)
            )
        return closed

    async def _topic(self, topic: str, partition: int, epoch: int) -> LiveTopic:
        if self._started is None or not self._started.done():
            await self.start()
        live = self.topics.get((topic, partition))
        if live is None or epoch < live.epoch:
            raise RaybusError(
                "StaleEpoch",
                f"{self.name} does not serve topic {topic}/{partition} at epoch {epoch}.",
                topic=topic,
                partition=partition,
            )
        if epoch > live.epoch:
            raise RaybusError(
                "PartitionUnavailable", f"Topic {topic}/{partition} is being reassigned."
            )
        return live

    async def execute_topic(
        self, topic: str, partition: int, epoch: int, ops: list[Op]
    ) -> list[OpResult]:
        live = await self._topic(topic, partition, epoch)
        return await live.execute(ops)

    async def set_subscriptions(
        self, topic: str, partition: int, epoch: int, subscriptions: list[dict[str, Any]]
    ) -> None:
        live = await self._topic(topic, partition, epoch)
        await live.set_subscriptions([SubscriptionConfig.from_dict(s) for s in subscriptions])

    async def set_clock(self, now_ms: int) -> None:
        await self.start()
        self._use_virtual_clock(now_ms)
        for live in self.partitions.values():
            live.wake()
        for topic in self.topics.values():
            topic.wake()

    # -- data path ------------------------------------------------------------------------------
    async def _partition(self, queue: str, partition: int, epoch: int) -> LivePartition:
        if self._started is None or not self._started.done():
            await self.start()
        key = (queue, partition)
        live = self.partitions.get(key)
        if live is None and key in self._opening:
            live = await asyncio.shield(self._opening[key])
        if live is None or epoch < live.epoch:
            raise RaybusError(
                "StaleEpoch",
                f"{self.name} does not serve {queue}/{partition} at epoch {epoch}.",
                queue=queue,
                partition=partition,
            )
        if epoch > live.epoch:
            raise RaybusError(
                "PartitionUnavailable", f"{queue}/{partition} is being reassigned.", queue=queue
            )
        return live

    async def execute(
        self, queue: str, partition: int, epoch: int, ops: list[Op]
    ) -> list[OpResult]:
        live = await self._partition(queue, partition, epoch)
        return await live.execute(ops)

    async def receive(
        self,
        queue: str,
        partition: int,
        epoch: int,
        max_messages: int,
        visibility_timeout_s: int | None,
        wait_s: float,
    ) -> OpResult:
        live = await self._partition(queue, partition, epoch)
        return await live.receive(max_messages, visibility_timeout_s, wait_s)

    async def wait_visible(self, queue: str, partition: int, epoch: int, wait_s: float) -> bool:
        live = await self._partition(queue, partition, epoch)
        return await live.wait_visible(wait_s)

    async def take_for_transfer(
        self, queue: str, partition: int, epoch: int, limit: int, target: str
    ) -> list[DeadLetter]:
        live = await self._partition(queue, partition, epoch)
        return live.take_for_transfer(limit, target)

    async def settle_transfer(
        self, queue: str, partition: int, epoch: int, moved: list[int], failed: list[int]
    ) -> None:
        live = await self._partition(queue, partition, epoch)
        await live.settle_transfer(moved, failed)

    # -- control group ----------------------------------------------------------------------------
    @ray.method(concurrency_group="control")
    def ping(self) -> dict[str, Any]:
        return self.describe()

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "incarnation": self.incarnation,
            "started": self._started is not None and self._started.done(),
            "partitions": len(self.partitions),
            "pid": os.getpid(),
            "node_id": ray.get_runtime_context().get_node_id(),
        }

    @ray.method(concurrency_group="control")
    async def stats(self) -> dict[Key, dict[str, int]]:
        """Stats of every partition here, read on the data loop (engines live there)."""
        loop = self._loop
        if loop is None:
            return {}

        async def read() -> dict[Key, dict[str, int]]:
            return {key: live.stats() for key, live in self.partitions.items()}

        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(read(), loop))

    @ray.method(concurrency_group="control")
    async def resource_stats(self) -> dict[str, Any]:
        """Topic stats, function metrics and mapping poller counts of this host (read on the
        data loop, like :meth:`stats`)."""
        loop = self._loop
        if loop is None:
            return {"topics": {}, "functions": {}, "mappings": {}}

        async def read() -> dict[str, Any]:
            mappings: dict[str, dict[str, int]] = {}
            for (kind, ident, _), poller in self.pollers.items():
                if kind == "mapping":
                    total = mappings.setdefault(ident, {})
                    for key, value in poller.counters.as_dict().items():
                        total[key] = total.get(key, 0) + value
            invoker = self.functions.existing_invoker()
            return {
                "topics": {name: live.stats() for (name, _), live in self.topics.items()},
                "functions": {} if invoker is None else invoker.metrics(),
                "mappings": mappings,
            }

        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(read(), loop))

    async def shutdown(self) -> None:
        """Stop the pollers, close every partition and topic cleanly (commit, release locks)."""
        if self._watcher is not None:
            self._watcher.cancel()
        for poller in list(self.pollers.values()):
            await poller.stop()
        self.pollers.clear()
        for topic in list(self.topics.values()):
            await topic.close()
        self.topics.clear()
        for key in list(self.partitions):
            await self.partitions.pop(key).close()
        if self._topic_dispatch is not None:
            await self._topic_dispatch.close()
