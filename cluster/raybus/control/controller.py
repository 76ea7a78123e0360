"""The controller: one detached, named, restartable async actor.

It owns the catalog (durable, :mod:`raybus.control.catalog`), creates the partition hosts,
places partitions with epochs and serves the routing table to gateways and hosts
(:meth:`Controller.routing`, or :meth:`Controller.watch_routing` as a long poll). Resources of
every kind are managed by typed control calls (:class:`~raybus.control.plane.ControlCall`, one
module per kind) through one entry point, :meth:`Controller.run`, against the composed
:class:`~raybus.control.plane.ControlPlane`; the controller itself knows no kind.

Every call is idempotent: creating an existing resource with equal settings, deleting twice
(the second is not-found), a host registering again. Every catalog change goes through
:class:`~raybus.control.keeper.CatalogKeeper`: validated and applied to a draft, saved, and only
then installed, so a rejected or unsaveable change leaves memory and disk as they were. Every
public method answers a failure as a catalog error
(:func:`~raybus.core.errors.replies_with_errors`): no input can kill the controller. The
monitor loop (health, restarting hosts' registration) survives every error it meets.

Under ``--test-clock`` the controller holds the virtual time (durably, in the catalog) and
moves it one due timer at a time, every host in step, until the target
(:mod:`raybus.control.clock`) before answering.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
from collections.abc import Callable
from typing import Any, TypeVar

import ray

from raybus.actors import (
    PartitionHost,
    Router,
    host_class_options,
    host_name,
    host_options,
)
from raybus.control.buses import ensure_default_bus
from raybus.control.catalog import Catalog, CatalogStore, CodeStore
from raybus.control.clock import ClockParticipant, advance
from raybus.control.functions import FunctionCode
from raybus.control.keeper import CatalogKeeper
from raybus.control.moves import MoveTasks
from raybus.control.plane import ControlCall, ControlPlane
from raybus.core.arns import ACCOUNT_ID, REGION
from raybus.core.clock import (
    ADVANCE_BUDGET_S,
    ADVANCE_CALL_S,
    ADVANCE_STEP_TIMEOUT_S,
    MAX_ADVANCE_STEPS,
    ClockReport,
    SystemClock,
)
from raybus.core.errors import RaybusError, replies_with_errors
from raybus.core.routing import RoutingTable

__all__ = ["Controller"]

log = logging.getLogger(__name__)

PING_INTERVAL_S = 1.0
PING_TIMEOUT_S = 5.0
MAX_ADVANCE_S = 366 * 24 * 3600  # one call moves at most a (leap) year
R = TypeVar("R")


@replies_with_errors
class Controller:
    def __init__(
        self,
        data_dir: str,
        *,
        hosts: int = 1,
        test_clock: bool = False,
        fsync: str = "always",
        host_class: type = PartitionHost,
        host_extra: dict[str, Any] | None = None,
        aws_account_id: str = ACCOUNT_ID,
        aws_region: str = REGION,
    ) -> None:
        """``host_class`` builds the partition hosts (a subclass may serve the gateway too:
        injected, since the control plane sits below the gateway); ``host_extra`` are extra
        constructor keywords for every host (the embedded gateway's address, which all of them
        serve together)."""
        self.data_dir = data_dir
        self.router = Router(self._local_table)
        self._table_cache: tuple[Catalog, RoutingTable] | None = None
        self.keeper = CatalogKeeper(CatalogStore(data_dir), on_change=self._installed)

        def prepare(catalog: Catalog) -> None:
            catalog.ensure_hosts([host_name(i) for i in range(hosts)])
            catalog.use_identity(aws_account_id, aws_region)
            ensure_default_bus(catalog)
            if test_clock and catalog.clock_ms is None:
                catalog.clock_ms = SystemClock().now_ms()

        self.keeper.change_now(prepare)
        self.fsync = fsync
        remote: Any = ray.remote(**host_class_options())(host_class)
        self.hosts: dict[str, Any] = {}
        for index, name in enumerate(self.catalog.hosts):
            self.hosts[name] = remote.options(**host_options(index)).remote(
                name, data_dir, fsync=fsync, **(host_extra or {})
            )
        self.plane = ControlPlane(
            self.keeper, self.hosts, self.router, CodeStore(data_dir), ensure_loop=self._ensure_loop
        )
        self.plane.moves = self.moves = MoveTasks(self.plane, test_clock=test_clock)
        self.incarnations: dict[str, int] = {}
        self._clock_lock = asyncio.Lock()
        self.health_state: dict[str, dict[str, Any]] = {}
        self._monitor: asyncio.Task[None] | None = None

    # -- plumbing -------------------------------------------------------------------------------
    @property
    def catalog(self) -> Catalog:
        """The installed catalog (read only: calls change it through the plane)."""
        return self.keeper.catalog

    def _ensure_loop(self) -> None:
        """Start the monitor loop on the actor's event loop (the first call that has one)."""
        if self._monitor is None:
            self._monitor = asyncio.ensure_future(self._monitor_loop())

    async def _local_table(self) -> RoutingTable:
        return self._table()

    def _installed(self, catalog: Catalog) -> None:
        self.router.install(self._table())

    # -- the one entry point of resource calls ------------------------------------------------
    async def run(self, call: ControlCall[R]) -> R:
        """Run a typed control call (``CreateQueue(settings)``, ``Subscribe(...)``, ...)."""
        self._ensure_loop()
        return await call.run(self.plane)

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
            "partitions": sum(
                len(record.placements)
                for records in self.catalog.records.values()
                for record in records.values()
            ),
            "routing_version": self.catalog.version,
            "test_clock": self.catalog.clock_ms is not None,
            "controller_node_id": ray.get_runtime_context().get_node_id(),
            "controller_pid": os.getpid(),
        }

    # -- routing --------------------------------------------------------------------------------
    def _table(self) -> RoutingTable:
        """The installed catalog's routing table, built once per catalog (a bus with thousands
        of rules makes it large: building it for every call would cost the controller)."""
        catalog = self.catalog
        cached = self._table_cache
        if cached is None or cached[0] is not catalog:
            cached = (catalog, catalog.table())
            self._table_cache = cached
        return cached[1]

    async def routing(self) -> RoutingTable:
        self._ensure_loop()
        return self._table()

    async def watch_routing(
        self, known_version: int, timeout_s: float = 10.0
    ) -> RoutingTable | None:
        """Long poll: the table as soon as its version exceeds ``known_version``; None when
        ``timeout_s`` passes first (the caller's table is current: nothing is sent again)."""
        self._ensure_loop()
        catalog = await self.keeper.wait_newer(known_version, timeout_s)
        if catalog.version <= known_version:
            return None
        return self._table()

    async def host_started(self, name: str, incarnation: int) -> dict[str, Any]:
        """A host (re)started: new epochs for its partitions, and what it must open."""
        fresh = False
        async with self.plane.change() as catalog:
            if self.incarnations.get(name) != incarnation:
                catalog.reopen_host(name)
                fresh = True
        if fresh:  # only once the new epochs are saved (the block may raise)
            self.incarnations[name] = incarnation
        now = (
            None if self.catalog.clock_ms is None else self.plane.now_ms()
        )  # mid-advance: the step
        return {"now_ms": now, "assignments": self.catalog.assignments(name)}

    async def function_code(self, name: str, sha256: str) -> bytes:
        """The uploaded code of a function (hosts fetch and cache it by digest)."""
        return await FunctionCode(name, sha256).run(self.plane)

    async def resource_stats(self) -> list[dict[str, Any]]:
        """Every reachable host's resource stats (for /metrics)."""
        return await self.plane.host_stats()

    # -- clock ----------------------------------------------------------------------------------
    async def clock(self) -> dict[str, Any]:
        return {"now_ms": self.plane.now_ms(), "test_clock": self.catalog.clock_ms is not None}

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
        async with self._clock_lock:  # one advance at a time
            return await self._advance(round(seconds * 1000))

    async def _advance(self, interval_ms: int) -> int:
        """Step through every timer due in the interval (raybus.control.clock). The target is
        saved first, so a controller that restarts mid-advance ends at the target, never behind
        a time it reported; an advance that stops early saves where it stopped and raises
        ``ClockAdvanceIncomplete``."""
        plane = self.plane
        start = plane.now_ms()
        target = start + interval_ms
        async with plane.change() as catalog:
            catalog.clock_ms = target
        plane.stepping_ms = start
        participants: list[ClockParticipant] = [
            _HostClock(name, handle, lambda: self.catalog.version)
            for name, handle in self.hosts.items()
        ]
        participants.append(self.moves)

        def stepped(now_ms: int) -> None:
            plane.stepping_ms = now_ms

        result = None
        try:
            result = await advance(
                participants,
                start,
                target,
                on_step=stepped,
                max_steps=MAX_ADVANCE_STEPS,
                step_timeout_s=ADVANCE_STEP_TIMEOUT_S,
                budget_s=ADVANCE_BUDGET_S,
            )
        finally:
            reached = target if result is None else result.now_ms
            if reached != target:
                async with plane.change() as catalog:
                    catalog.clock_ms = reached
            plane.stepping_ms = None
        assert result is not None
        log.info("clock advanced to %d in %d steps", result.now_ms, result.steps)
        if result.stopped is not None:
            raise result.error()
        return target

    async def shutdown_hosts(self) -> None:
        await asyncio.gather(
            *(h.shutdown.remote() for h in self.hosts.values()), return_exceptions=True
        )


class _HostClock:
    """A partition host as a participant of a clock advance (one Ray call per round). Each
    settle carries the catalog's routing version, which the host puts in force first."""

    def __init__(self, name: str, handle: Any, routing_version: Callable[[], int]) -> None:
        self.name = name
        self.handle = handle
        self.routing_version = routing_version

    async def set_clock(self, now_ms: int, wake: bool) -> None:
        await asyncio.wait_for(self.handle.set_clock.remote(now_ms, wake=wake), ADVANCE_CALL_S)

    async def settle(self, now_ms: int, horizon_ms: int, timeout_s: float) -> ClockReport:
        report: ClockReport = await asyncio.wait_for(
            self.handle.settle_clock.remote(
                now_ms, horizon_ms, timeout_s, routing_version=self.routing_version()
            ),
            timeout_s + ADVANCE_CALL_S,
        )
        return report
