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

from raybus.actors.live_partition import LivePartition, Op, OpResult
from raybus.actors.options import CONTROLLER_NAME, NAMESPACE
from raybus.actors.router import Router
from raybus.core.clock import Clock, ManualClock, SystemClock
from raybus.core.config import QueueConfig
from raybus.core.errors import RaybusError
from raybus.core.routing import RoutingTable, partition_tag
from raybus.engines import DeadLetter, SendEntry, SendResult
from raybus.storage import FsyncPolicy

__all__ = ["PartitionHost", "partition_directory"]

log = logging.getLogger(__name__)

Key = tuple[str, int]


def partition_directory(data_dir: str, queue: str, incarnation: int, partition: int) -> str:
    return os.path.join(data_dir, "queues", queue, f"{incarnation:016x}", f"p{partition:04d}")


def _raise_fd_limit() -> None:
    """Each open segment holds a file descriptor: lift the soft limit to the hard one."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


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
        log.info("%s started with %d partitions", self.name, len(self.partitions))

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

    # -- placement calls from the controller (idempotent) --------------------------------------
    async def open_partition(
        self, queue: str, partition: int, epoch: int, config: dict[str, Any], incarnation: int
    ) -> int:
        await self.start()
        opened = await self._open(queue, partition, epoch, config, incarnation)
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
            await self.partitions.pop(key).close()
            closed += 1
        if delete_files:
            directory = os.path.join(self.data_dir, "queues", queue, f"{incarnation:016x}")
            await asyncio.get_running_loop().run_in_executor(
                None, lambda: shutil.rmtree(directory, ignore_errors=True)
            )
        return closed

    async def set_clock(self, now_ms: int) -> None:
        await self.start()
        self._use_virtual_clock(now_ms)
        for live in self.partitions.values():
            live.wake()

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

    async def shutdown(self) -> None:
        """Close every partition cleanly (commit, release locks)."""
        for key in list(self.partitions):
            await self.partitions.pop(key).close()
