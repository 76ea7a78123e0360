"""The controller: one detached, named, restartable async actor.

It owns the catalog (durable, see :mod:`raybus.control.catalog`), creates the partition hosts,
places partitions with epochs and serves the routing table to gateways and hosts
(:meth:`Controller.routing`, or :meth:`Controller.watch_routing` as a long poll). Every call is
idempotent: creating an existing queue with equal settings, deleting twice (the second is
``QueueDoesNotExist``), a host registering again. Every catalog change goes through
:class:`~raybus.control.keeper.CatalogKeeper`: validated and applied to a draft, saved, and
only then installed, so a rejected or unsaveable change leaves memory and disk as they were.
The keeper's lock is never held across a call to another actor, so a host calling back during
a placement cannot deadlock it. Every public method answers a failure as a catalog error
(:func:`~raybus.core.errors.replies_with_errors`): no input can kill the controller. The
monitor loop (health, restarting hosts' registration) survives every error it meets.

Under ``--test-clock`` the controller holds the virtual time (durably, in the catalog) and
pushes every advance to all hosts before answering.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
from typing import Any

import ray

from raybus.actors import (
    PartitionHost,
    Router,
    host_class_options,
    host_name,
    host_options,
    merge_stats,
)
from raybus.control.catalog import Catalog, CatalogStore, CodeStore
from raybus.control.keeper import CatalogKeeper
from raybus.control.moves import MoveTasks
from raybus.control.resources import ResourceAdmin
from raybus.core.clock import SystemClock
from raybus.core.config import QueueConfig
from raybus.core.errors import RaybusError, replies_with_errors
from raybus.core.routing import ASYNC_QUEUE_PREFIX, RoutingTable
from raybus.engines import check_redrive

__all__ = ["Controller"]

log = logging.getLogger(__name__)

PING_INTERVAL_S = 1.0
PING_TIMEOUT_S = 5.0
MAX_LIST = 1000
MAX_ADVANCE_S = 366 * 24 * 3600  # one call moves at most a (leap) year


@replies_with_errors
class Controller(ResourceAdmin):
    def __init__(
        self,
        data_dir: str,
        *,
        hosts: int = 1,
        test_clock: bool = False,
        fsync: str = "always",
        host_class: type = PartitionHost,
        host_zero_options: dict[str, Any] | None = None,
    ) -> None:
        """``host_class`` builds the partition hosts (a subclass may serve the gateway too:
        injected, since the control plane sits below the gateway); ``host_zero_options`` are
        extra constructor keywords for host 0 only (where the embedded gateway lives)."""
        self.data_dir = data_dir
        self.store = CatalogStore(data_dir)
        self.code_store = CodeStore(data_dir)
        self.keeper = CatalogKeeper(self.store, on_change=self._installed)
        self.router = Router(self._local_table)

        def prepare(catalog: Catalog) -> None:
            catalog.ensure_hosts([host_name(i) for i in range(hosts)])
            if test_clock and catalog.clock_ms is None:
                catalog.clock_ms = SystemClock().now_ms()

        self.keeper.change_now(prepare)
        self.fsync = fsync
        remote: Any = ray.remote(**host_class_options())(host_class)
        self.hosts: dict[str, Any] = {}
        for index, name in enumerate(self.catalog.hosts):
            extra = (host_zero_options or {}) if index == 0 else {}
            self.hosts[name] = remote.options(**host_options(index)).remote(
                name, data_dir, fsync=fsync, **extra
            )

        self.incarnations: dict[str, int] = {}
        self.health_state: dict[str, dict[str, Any]] = {}
        self.moves = MoveTasks(self)
        self._monitor: asyncio.Task[None] | None = None

    # -- plumbing -------------------------------------------------------------------------------
    @property
    def catalog(self) -> Catalog:
        """The installed catalog (read only: change it with :meth:`_change`)."""
        return self.keeper.catalog

    def _ensure_loop(self) -> None:
        """Start the monitor loop on the actor's event loop (the first call that has one)."""
        if self._monitor is None:
            self._monitor = asyncio.ensure_future(self._monitor_loop())

    def _change(self) -> contextlib.AbstractAsyncContextManager[Catalog]:
        """A draft of the catalog, saved and installed when the block ends (see keeper)."""
        self._ensure_loop()
        return self.keeper.change()

    async def _local_table(self) -> RoutingTable:
        return self.catalog.table()

    def _installed(self, catalog: Catalog) -> None:
        self.router.install(catalog.table())

    def now_ms(self) -> int:
        return (
            self.catalog.clock_ms if self.catalog.clock_ms is not None else SystemClock().now_ms()
        )

    # -- readiness and health -------------------------------------------------------------------
    async def ready(self, timeout_s: float = 60.0) -> dict[str, Any]:
        """Wait until every host has registered and reopened its partitions."""
        self._ensure_loop()
        await asyncio.wait_for(
            asyncio.gather(*(handle.start.remote() for handle in self.hosts.values())), timeout_s
        )
        return await self.health()

    async def _monitor_loop(self) -> None:
        while True:
            try:
                await self._check_hosts()
            except Exception:  # the loop never dies
                log.exception("host check failed")
            await asyncio.sleep(PING_INTERVAL_S)

    async def _check_hosts(self) -> None:
        async def check(name: str, handle: Any) -> None:
            try:
                state = await asyncio.wait_for(handle.ping.remote(), PING_TIMEOUT_S)
            except Exception as error:
                self.health_state[name] = {"name": name, "up": False, "error": repr(error)}
                return
            self.health_state[name] = {**state, "up": bool(state["started"])}
            if not state["started"]:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(handle.start.remote(), PING_TIMEOUT_S * 6)

        await asyncio.gather(*(check(name, handle) for name, handle in self.hosts.items()))

    async def health(self) -> dict[str, Any]:
        self._ensure_loop()
        await self._check_hosts()
        hosts = [self.health_state.get(name, {"name": name, "up": False}) for name in self.hosts]
        return {
            "status": "ok" if all(h["up"] for h in hosts) else "degraded",
            "hosts": hosts,
            "partitions": sum(len(r.placements) for r in self.catalog.queues.values()),
            "routing_version": self.catalog.version,
            "test_clock": self.catalog.clock_ms is not None,
            "controller_node_id": ray.get_runtime_context().get_node_id(),
            "controller_pid": os.getpid(),
        }

    # -- routing --------------------------------------------------------------------------------
    async def routing(self) -> RoutingTable:
        self._ensure_loop()
        return self.catalog.table()

    async def watch_routing(self, known_version: int, timeout_s: float = 10.0) -> RoutingTable:
        """Long poll: the table as soon as its version exceeds ``known_version``."""
        self._ensure_loop()
        return (await self.keeper.wait_newer(known_version, timeout_s)).table()

    async def host_started(self, name: str, incarnation: int) -> dict[str, Any]:
        """A host (re)started: new epochs for its partitions, and what it must open."""
        fresh = False
        async with self._change() as catalog:
            if self.incarnations.get(name) != incarnation:
                catalog.reopen_host(name)
                fresh = True
        if fresh:  # only once the new epochs are saved (the block may raise)
            self.incarnations[name] = incarnation
        return {
            "now_ms": self.catalog.clock_ms,
            "assignments": self.catalog.assignments(name),
            "topics": self.catalog.topic_assignments(name),
        }

    # -- queues ---------------------------------------------------------------------------------
    async def create_queue(self, settings: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        if not isinstance(settings, dict) or not isinstance(settings.get("name"), str):
            raise RaybusError("MissingParameter", "A queue needs a name.", parameter="name")
        config = QueueConfig.from_dict(settings)
        if config.name.startswith(ASYNC_QUEUE_PREFIX):
            raise RaybusError(
                "InvalidParameterValue",
                f"Queue names starting with {ASYNC_QUEUE_PREFIX} are reserved.",
                parameter="name",
            )
        async with self._change() as catalog:
            self._check_redrive(catalog, config)
            record, created = catalog.add_queue(config)
        if created:
            await self._open_partitions(config.name)
        return record.config.to_dict(), created

    @staticmethod
    def _check_redrive(catalog: Catalog, config: QueueConfig) -> None:
        policy = config.redrive_policy
        if policy is not None:
            target = catalog.queues.get(policy.dead_letter_queue)
            check_redrive(config, None if target is None else target.config)

    async def _open_partitions(self, name: str) -> None:
        record = self.catalog.queues.get(name)
        if record is None:
            return
        config = record.config.to_dict()
        await asyncio.gather(
            *(
                self.hosts[host].open_partition.remote(
                    name, index, epoch, config, record.incarnation
                )
                for index, (host, epoch) in enumerate(record.placements)
            )
        )

    async def get_queue(self, name: str) -> dict[str, Any]:
        return self.catalog.record(name).config.to_dict()

    async def list_queues(self, prefix: str | None = None, limit: int = MAX_LIST) -> list[str]:
        names = sorted(
            n
            for n in self.catalog.queues
            if (not prefix or n.startswith(prefix)) and not n.startswith(ASYNC_QUEUE_PREFIX)
        )
        return names[: max(0, min(limit, MAX_LIST))]

    async def update_queue(self, name: str, changes: dict[str, Any]) -> dict[str, Any]:
        if not isinstance(changes, dict):
            raise RaybusError("MalformedRequest", "Queue settings are a map.")
        async with self._change() as catalog:
            record = catalog.record(name)
            config = record.config.updated(**changes)
            self._check_redrive(catalog, config)
            catalog.update_queue(name, config)
        hosts = {host for host, _ in record.placements}
        await asyncio.gather(
            *(self.hosts[h].update_config.remote(name, config.to_dict()) for h in hosts)
        )
        return config.to_dict()

    async def delete_queue(self, name: str) -> None:
        async with self._change() as catalog:
            record = catalog.remove_queue(name)
        self.moves.forget(name)
        hosts = {host for host, _ in record.placements}
        results = await asyncio.gather(
            *(
                self.hosts[h].close_queue.remote(name, record.incarnation, delete_files=True)
                for h in hosts
            ),
            return_exceptions=True,
        )
        for result in results:
            if isinstance(result, BaseException):
                log.warning("closing %s on a host failed (files stay): %r", name, result)

    async def queue_stats(self, name: str) -> dict[str, Any]:
        """Summed stats of every partition of ``name`` (and the per-partition list)."""
        record = self.catalog.record(name)
        route = record.route()
        results = await asyncio.gather(
            *(
                self.router.call(name, index, "execute", [("stats",)])
                for index in range(len(route.partitions))
            )
        )
        parts = [r[0] for r in results]
        for part in parts:
            if isinstance(part, RaybusError):
                raise part
        return merge_stats(parts)

    # -- clock ----------------------------------------------------------------------------------
    async def clock(self) -> dict[str, Any]:
        return {"now_ms": self.now_ms(), "test_clock": self.catalog.clock_ms is not None}

    async def advance_clock(self, seconds: float) -> int:
        if self.catalog.clock_ms is None:
            raise RaybusError(
                "UnsupportedOperation", "The clock moves only under `raybus up --test-clock`."
            )
        if (
            isinstance(seconds, bool)
            or not isinstance(seconds, (int, float))
            or not math.isfinite(seconds)
            or not 0 <= seconds <= MAX_ADVANCE_S
        ):
            raise RaybusError(
                "InvalidParameterValue",
                f"seconds must be a number from 0 to {MAX_ADVANCE_S}.",
                parameter="seconds",
            )
        async with self._change() as catalog:
            assert catalog.clock_ms is not None
            now = catalog.clock_ms + round(seconds * 1000)
            catalog.clock_ms = now
        await asyncio.gather(*(h.set_clock.remote(now) for h in self.hosts.values()))
        self.moves.wake()
        return now

    # -- move tasks -----------------------------------------------------------------------------
    async def start_move_task(
        self, source: str, destination: str | None, rate_per_s: int | None
    ) -> dict[str, Any]:
        self._ensure_loop()
        return await self.moves.start(source, destination, rate_per_s)

    async def list_move_tasks(self, source: str) -> list[dict[str, Any]]:
        self.catalog.record(source)
        return self.moves.describe(source)

    async def cancel_move_task(self, handle: str) -> dict[str, Any]:
        return self.moves.cancel(handle)

    async def shutdown_hosts(self) -> None:
        await asyncio.gather(
            *(h.shutdown.remote() for h in self.hosts.values()), return_exceptions=True
        )
