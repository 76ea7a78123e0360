"""Moving partitions between hosts (``ControlPlane.move_partition``) and finishing moves a crash
interrupted (``ControlPlane.reconcile_hosts``), over fake hosts that hold partitions the way a
partition host does: what matters is the order of the steps — the catalog is saved before the
old owner releases, and the old owner releases before the new one opens (the log's ``flock``
allows one holder) — and that a half-done move is finished, not redone or lost."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from raybus.actors import Router
from raybus.control.catalog import Catalog, CatalogStore, CodeStore, PartitionMove
from raybus.control.keeper import CatalogKeeper
from raybus.control.plane import ControlPlane
from raybus.core.errors import RaybusError
from tests.control.test_catalog import HOSTS, config

Place = tuple[str, str, int]


class Method:
    def __init__(self, run: Any) -> None:
        self.remote = run


class FakeHost:
    """The host calls a move uses; every step is written to the shared ``journal``, with the
    catalog's placement of the partition at that moment."""

    def __init__(self, name: str, journal: list[tuple[Any, ...]], plane: list[ControlPlane]):
        self.name = name
        self.held: dict[Place, int] = {}
        self.journal = journal
        self.plane = plane
        self.holding = Method(self._holding)
        self.release = Method(self._release)
        self.open = Method(self._open)

    def _owner(self, place: Place) -> list[Any]:
        return list(self.plane[0].catalog.get(place[0], place[1]).placements[place[2]])

    async def _holding(self) -> list[tuple[str, str, int, int]]:
        return [(*place, epoch) for place, epoch in self.held.items()]

    async def _release(self, kind: str, key: str, partition: int, epoch: int) -> bool:
        place = (kind, key, partition)
        self.journal.append(("release", self.name, place, self._owner(place)))
        return self.held.pop(place, epoch) < epoch

    async def _open(self, kind: str, key: str, partition: int, epoch: int, *_: Any) -> int:
        place = (kind, key, partition)
        holders = [h for h in HOST_OBJECTS[id(self.journal)] if place in h.held and h is not self]
        assert not holders, f"{place} opened on {self.name} while {holders[0].name} holds it"
        self.journal.append(("open", self.name, place, self._owner(place)))
        self.held[place] = max(self.held.get(place, 0), epoch)
        return self.held[place]


HOST_OBJECTS: dict[int, list[FakeHost]] = {}


def cluster(tmp_path: Path) -> tuple[ControlPlane, dict[str, FakeHost], list[tuple[Any, ...]]]:
    store = CatalogStore(str(tmp_path))
    keeper = CatalogKeeper(store)

    def prepare(catalog: Catalog) -> None:
        catalog.ensure_hosts(HOSTS[:2])
        catalog.add("queue", config("a", partitions=2))  # one on each host, epoch 1

    keeper.change_now(prepare)
    journal: list[tuple[Any, ...]] = []
    holder: list[ControlPlane] = []
    hosts = {name: FakeHost(name, journal, holder) for name in HOSTS[:2]}
    HOST_OBJECTS[id(journal)] = list(hosts.values())
    for index, name in enumerate(HOSTS[:2]):
        hosts[name].held[("queue", "a", index)] = 1

    async def table() -> Any:
        return keeper.catalog.table()

    plane = ControlPlane(keeper, dict(hosts), Router(table), CodeStore(str(tmp_path)))
    holder.append(plane)
    return plane, hosts, journal


def test_a_move_saves_the_catalog_then_releases_the_old_owner_then_opens_the_new_one(
    tmp_path: Path,
) -> None:
    plane, hosts, journal = cluster(tmp_path)
    move = PartitionMove("queue", "a", 0, HOSTS[0], HOSTS[1])
    assert asyncio.run(plane.move_partition(move)) == 2
    place = ("queue", "a", 0)
    assert journal == [
        ("release", HOSTS[0], place, [HOSTS[1], 2]),  # the catalog already says: host 1, epoch 2
        ("open", HOSTS[1], place, [HOSTS[1], 2]),
    ]
    saved = plane.keeper.store.load()  # durable, not only installed
    assert saved.get("queue", "a").placements == [[HOSTS[1], 2], [HOSTS[1], 1]]
    assert hosts[HOSTS[0]].held == {}
    assert hosts[HOSTS[1]].held == {place: 2, ("queue", "a", 1): 1}


def test_a_move_planned_from_an_older_catalog_is_refused_and_changes_nothing(
    tmp_path: Path,
) -> None:
    plane, _, journal = cluster(tmp_path)
    stale = PartitionMove("queue", "a", 1, HOSTS[0], HOSTS[1])  # partition 1 is on host 1
    version = plane.catalog.version
    with pytest.raises(RaybusError) as caught:
        asyncio.run(plane.move_partition(stale))
    assert caught.value.code == "ResourceConflict"
    assert plane.catalog.version == version and journal == []


def test_a_move_cut_short_after_the_catalog_was_saved_is_finished_by_reconciling(
    tmp_path: Path,
) -> None:
    plane, hosts, journal = cluster(tmp_path)

    async def crash_after_saving() -> None:  # the controller died right after the save
        async with plane.change() as catalog:
            catalog.move("queue", "a", 0, HOSTS[1])

    asyncio.run(crash_after_saving())
    assert hosts[HOSTS[0]].held[("queue", "a", 0)] == 1  # the old owner still holds it
    assert asyncio.run(plane.reconcile_hosts()) == 2  # one release, one open
    place = ("queue", "a", 0)
    assert journal == [
        ("release", HOSTS[0], place, [HOSTS[1], 2]),
        ("open", HOSTS[1], place, [HOSTS[1], 2]),
    ]
    assert place not in hosts[HOSTS[0]].held and hosts[HOSTS[1]].held[place] == 2
    journal.clear()
    assert asyncio.run(plane.reconcile_hosts()) == 0  # in line: nothing more to do
    assert journal == []


def test_a_batch_of_moves_is_one_catalog_change_and_a_stale_move_in_it_fails_alone(
    tmp_path: Path,
) -> None:
    plane, hosts, journal = cluster(tmp_path)
    version = plane.catalog.version
    moves = [
        PartitionMove("queue", "a", 1, HOSTS[0], HOSTS[1]),  # stale: partition 1 is on host 1
        PartitionMove("queue", "a", 0, HOSTS[0], HOSTS[1]),
        PartitionMove("queue", "a", 7, HOSTS[0], HOSTS[1]),  # no such partition
    ]
    stale, moved, missing = asyncio.run(plane.move_partitions(moves))
    assert isinstance(stale, RaybusError) and stale.code == "ResourceConflict"
    assert isinstance(missing, RaybusError) and missing.code == "ResourceConflict"
    assert moved == 2
    assert plane.catalog.version == version + 1  # one change for the whole batch
    assert [(step, host) for step, host, *_ in journal] == [
        ("release", HOSTS[0]),
        ("open", HOSTS[1]),
    ]
    assert hosts[HOSTS[1]].held == {("queue", "a", 0): 2, ("queue", "a", 1): 1}
