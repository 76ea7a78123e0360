"""What every control call works with: the catalog, the hosts, the router, the code store, the
move tasks and the clock — composed once by the controller and handed to each call.

A control call (:class:`ControlCall`) is a small typed value — ``CreateQueue(settings)`` —
that declares its result type and runs against the :class:`ControlPlane`; the controller
actor has one entry point for all of them (``Controller.run``), and each kind keeps its calls in
a module of its own (:mod:`raybus.control.queues`, ``topics``, ``functions``, ``mappings``).
No call reaches back into the controller, and the plane knows no kind: it offers the generic
steps a call composes — change the catalog (:meth:`ControlPlane.change`, saved before it is
installed), open, configure or close a resource's partitions on their hosts, push attached
settings (a topic's subscriptions) to the partitions, read each partition's stats.

The rules every call keeps: a change is durable in the catalog before it is answered, and a
rejected change changes nothing (:mod:`raybus.control.keeper`); the catalog's lock is never held
across a call to a host, so a host calling back cannot deadlock the controller.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from typing import Any, Generic, Protocol, TypeVar

from raybus.actors import Router
from raybus.control.catalog import Catalog, CodeStore, PartitionMove, Record
from raybus.control.keeper import CatalogKeeper
from raybus.core.clock import SystemClock
from raybus.core.errors import RaybusError
from raybus.engines.ops import Op

__all__ = ["ControlCall", "ControlPlane", "MoveTaskRunner"]

log = logging.getLogger(__name__)

HOST_CALL_TIMEOUT_S = 60.0  # a host closing or opening one partition (recovery reads its log)
MOVES_IN_FLIGHT = 16  # partitions closing and reopening at once in one batch of moves

R = TypeVar("R", covariant=True)


class ControlCall(Generic[R]):
    """One call of the control plane, answering ``R`` (dataclasses, picklable)."""

    async def run(self, plane: ControlPlane) -> R:
        raise NotImplementedError


class MoveTaskRunner(Protocol):
    """What other calls need of the move tasks (:class:`raybus.control.moves.MoveTasks`)."""

    def forget(self, queue: str) -> None:
        """A queue was deleted: fail the tasks moving from or to it."""

    def wake(self) -> None:
        """The clock moved: idle tasks look again."""


class ControlPlane:
    def __init__(
        self,
        keeper: CatalogKeeper,
        hosts: dict[str, Any],
        router: Router,
        code_store: CodeStore,
        *,
        ensure_loop: Callable[[], None] = lambda: None,
    ) -> None:
        self.keeper = keeper
        self.hosts = hosts
        self.router = router
        self.code_store = code_store
        self._ensure_loop = ensure_loop
        self.moves: MoveTaskRunner | None = None

    @property
    def catalog(self) -> Catalog:
        """The installed catalog (read only: change it with :meth:`change`)."""
        return self.keeper.catalog

    def change(self) -> contextlib.AbstractAsyncContextManager[Catalog]:
        """A draft of the catalog, saved and installed when the block ends."""
        self._ensure_loop()
        return self.keeper.change()

    @property
    def stepping_ms(self) -> int | None:
        """While a test-clock advance steps, the time of its current step (the catalog holds
        the target already): what the controller reports, move tasks read and the keeper
        stamps changes with."""
        return self.keeper.stepping_ms

    @stepping_ms.setter
    def stepping_ms(self, now_ms: int | None) -> None:
        self.keeper.stepping_ms = now_ms

    def now_ms(self) -> int:
        if self.stepping_ms is not None:
            return self.stepping_ms
        clock = self.catalog.clock_ms
        return clock if clock is not None else SystemClock().now_ms()

    # -- the hosts ------------------------------------------------------------------------------
    async def open_partitions(self, kind: str, key: str) -> None:
        """Open every partition of a resource just created, on its hosts."""
        record = self.catalog.find(kind, key)
        if record is None:
            return
        config = record.config.to_dict()
        await asyncio.gather(
            *(
                self.hosts[host].open.remote(kind, key, index, epoch, config, record.incarnation)
                for index, (host, epoch) in enumerate(record.placements)
            )
        )

    async def configure(self, kind: str, key: str) -> None:
        """Hand a resource's changed settings to every host holding one of its partitions."""
        record = self.catalog.find(kind, key)
        if record is None:
            return
        config = record.config.to_dict()
        hosts = {host for host, _ in record.placements}
        await asyncio.gather(*(self.hosts[h].configure.remote(kind, key, config) for h in hosts))

    async def close_partitions(self, record: Record) -> None:
        """Close a deleted resource's partitions and remove their files (a host that does not
        answer keeps the files: nothing refers to them any more)."""
        hosts = {host for host, _ in record.placements}
        results = await asyncio.gather(
            *(
                self.hosts[h].close.remote(
                    record.kind, record.key, record.incarnation, delete_files=True
                )
                for h in hosts
            ),
            return_exceptions=True,
        )
        for result in results:
            if isinstance(result, BaseException):
                log.warning(
                    "closing %s %s failed (files stay): %r", record.kind, record.key, result
                )

    async def move_partition(self, move: PartitionMove) -> int:
        """Move one partition to another host, online; returns its new epoch (see
        :meth:`move_partitions`), or raises why it could not."""
        (outcome,) = await self.move_partitions([move])
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    async def move_partitions(self, moves: Sequence[PartitionMove]) -> list[int | BaseException]:
        """Move partitions to other hosts, online; per move its new epoch, or why it failed.

        The catalog first, for all of them in one change (saved: a controller restarted
        mid-move finds the new owners, and callers with the old epochs are refused from now
        on); a move planned from an older catalog — the partition is no longer on its source —
        is ``ResourceConflict`` and changes nothing. Then for each partition, concurrently (at
        most :data:`MOVES_IN_FLIGHT`): the old owner closes it — committing what it
        acknowledged and releasing the log's ``flock`` — and the new owner opens it at the new
        epoch from the same directory (data directories are shared by the hosts: one machine,
        or a shared volume). Callers that reach it meanwhile get ``StaleEpoch`` or
        ``PartitionUnavailable``, which routers and clients retry. An old owner that cannot be
        reached is dead or cut off: its ``flock`` keeps the new owner from opening until the
        process is gone, and that move fails (a rebalance run again finishes it)."""
        outcomes: list[int | BaseException] = []
        planned: list[tuple[int, PartitionMove, int, int, dict[str, Any]]] = []
        async with self.change() as catalog:
            for move in moves:
                record = catalog.find(move.kind, move.key)
                if (
                    record is None
                    or not 0 <= move.partition < len(record.placements)
                    or record.placements[move.partition][0] != move.source
                ):
                    outcomes.append(
                        RaybusError(
                            "ResourceConflict",
                            f"{move.kind} {move.key}/{move.partition} is no longer on "
                            f"{move.source}.",
                        )
                    )
                    continue
                epoch = catalog.move(move.kind, move.key, move.partition, move.target)
                planned.append(
                    (len(outcomes), move, epoch, record.incarnation, record.config.to_dict())
                )
                outcomes.append(epoch)
        limit = asyncio.Semaphore(MOVES_IN_FLIGHT)

        async def carry(move: PartitionMove, epoch: int, incarnation: int, config: Any) -> int:
            async with limit:
                with contextlib.suppress(Exception):  # gone: its process holds no log now
                    await asyncio.wait_for(
                        self.hosts[move.source].release.remote(
                            move.kind, move.key, move.partition, epoch
                        ),
                        HOST_CALL_TIMEOUT_S,
                    )
                opened: int = await asyncio.wait_for(
                    self.hosts[move.target].open.remote(
                        move.kind, move.key, move.partition, epoch, config, incarnation
                    ),
                    HOST_CALL_TIMEOUT_S,
                )
            attached = self.catalog.attached(move.kind, move.key)
            if attached:
                await self.router.attach(move.kind, move.key, move.partition, attached)
            return opened

        results = await asyncio.gather(
            *(carry(move, epoch, inc, config) for _, move, epoch, inc, config in planned),
            return_exceptions=True,
        )
        for (index, *_), result in zip(planned, results, strict=True):
            outcomes[index] = result
        return outcomes

    async def reconcile_hosts(self) -> int:
        """Bring every host that answers in line with the catalog: release what it serves
        that has moved away, then open what the catalog places on it that it does not serve
        (a move interrupted by a crash is finished here). Returns how many partitions that
        took; a host that does not answer is left to its own restart, which reopens its
        assignments."""
        held: dict[str, dict[tuple[str, str, int], int]] = {}
        for name, handle in self.hosts.items():
            with contextlib.suppress(Exception):
                places = await asyncio.wait_for(handle.holding.remote(), HOST_CALL_TIMEOUT_S)
                held[name] = {(k, key, p): epoch for k, key, p, epoch in places}
        catalog = self.catalog
        changed = 0
        for name, places in held.items():  # first releases: a stray owner holds the flock
            for kind_name, key, index in places:
                record = catalog.find(kind_name, key)
                if record is None or index >= len(record.placements):
                    continue  # deleted meanwhile: its delete closes it
                owner, current = record.placements[index]
                if owner != name:  # released only below the epoch it moved at
                    await self.hosts[name].release.remote(kind_name, key, index, current)
                    changed += 1
        touched: set[tuple[str, str]] = set()
        for name in held:
            for kind_name, key, index, epoch, settings, incarnation in catalog.assignments(name):
                if held[name].get((kind_name, key, index), -1) < epoch:
                    await self.hosts[name].open.remote(
                        kind_name, key, index, epoch, settings, incarnation
                    )
                    touched.add((kind_name, key))
                    changed += 1
        for kind_name, key in touched:
            if catalog.attached(kind_name, key):
                await self.push_attached(kind_name, key)
        return changed

    async def push_attached(self, kind: str, key: str) -> None:
        """Hand every partition of a resource its attached settings now (a topic's
        subscriptions), so what is acknowledged after this reaches a new subscriber."""
        record = self.catalog.find(kind, key)
        if record is None:
            return
        attached = self.catalog.attached(kind, key)
        await asyncio.gather(
            *(
                self.router.attach(kind, key, index, attached)
                for index in range(len(record.placements))
            )
        )

    async def partition_stats(self, kind: str, key: str, op: Op[Any, Any]) -> list[Any]:
        """``op`` (the kind's stats operation) on every partition of the resource."""
        record = self.catalog.get(kind, key)
        return list(
            await asyncio.gather(
                *(
                    self.router.apply(kind, key, index, op)
                    for index in range(len(record.placements))
                )
            )
        )

    async def host_stats(self) -> list[dict[str, Any]]:
        """Every reachable host's ``resource_stats`` (for /metrics); a host that does not
        answer is left out of this scrape."""
        results = await asyncio.gather(
            *(asyncio.wait_for(h.resource_stats.remote(), 5.0) for h in self.hosts.values()),
            return_exceptions=True,
        )
        return [r for r in results if isinstance(r, dict)]
