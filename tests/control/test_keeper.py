"""The catalog keeper: a change is installed only once it is saved; a failed or rejected
change leaves memory and disk exactly as they were."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from raybus.control.catalog import Catalog, CatalogStore
from raybus.control.keeper import CatalogKeeper
from raybus.core.errors import RaybusError
from raybus.core.queues import QueueConfig


class FailingStore:
    """A store whose next ``fail`` saves raise (a full disk, an unencodable value)."""

    def __init__(self, inner: CatalogStore) -> None:
        self.inner = inner
        self.fail = 0
        self.saves = 0

    def load(self) -> Catalog:
        return self.inner.load()

    def save(self, catalog: Catalog) -> None:
        if self.fail:
            self.fail -= 1
            raise OSError(28, "No space left on device")
        self.inner.save(catalog)
        self.saves += 1


def reloaded(path: Path, store: FailingStore) -> Catalog:
    """What a restarted controller would load (the store's lock released first)."""
    store.inner.close()
    fresh = CatalogStore(str(path))
    try:
        return fresh.load()
    finally:
        fresh.close()
        store.inner = CatalogStore(str(path))


def snapshot_bytes(path: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((path / "catalog").iterdir())}


def keeper_at(tmp_path: Path) -> tuple[CatalogKeeper, FailingStore]:
    store = FailingStore(CatalogStore(str(tmp_path)))
    keeper = CatalogKeeper(store)
    keeper.change_now(lambda c: c.ensure_hosts(["h0", "h1"]))
    return keeper, store


def test_a_saved_change_is_installed_and_survives_a_reload(tmp_path: Path) -> None:
    keeper, store = keeper_at(tmp_path)

    async def create() -> None:
        async with keeper.change() as draft:
            draft.add("queue", QueueConfig.create("orders"))

    asyncio.run(create())
    assert "orders" in keeper.catalog.of("queue")
    assert "orders" in reloaded(tmp_path, store).of("queue")


def test_a_change_whose_save_fails_changes_neither_memory_nor_disk(tmp_path: Path) -> None:
    keeper, store = keeper_at(tmp_path)
    before_memory = keeper.catalog.to_bytes()
    before_disk = snapshot_bytes(tmp_path)
    store.fail = 1

    async def create() -> None:
        async with keeper.change() as draft:
            draft.add("queue", QueueConfig.create("lost"))

    with pytest.raises(OSError):
        asyncio.run(create())
    assert keeper.catalog.to_bytes() == before_memory
    assert snapshot_bytes(tmp_path) == before_disk
    assert "lost" not in reloaded(tmp_path, store).of("queue")

    # and the keeper still works: later changes are saved and installed
    async def later() -> None:
        async with keeper.change() as draft:
            draft.add("queue", QueueConfig.create("later"))

    asyncio.run(later())
    assert set(keeper.catalog.of("queue")) == {"later"}
    assert set(reloaded(tmp_path, store).of("queue")) == {"later"}


def test_a_rejected_change_leaves_the_catalog_as_it_was(tmp_path: Path) -> None:
    keeper, store = keeper_at(tmp_path)
    before = keeper.catalog.to_bytes()
    saves = store.saves

    async def half_applied() -> None:
        async with keeper.change() as draft:
            draft.add("queue", QueueConfig.create("first"))
            raise RaybusError("InvalidParameterValue", "the second half was refused")

    with pytest.raises(RaybusError):
        asyncio.run(half_applied())
    assert keeper.catalog.to_bytes() == before
    assert store.saves == saves


def test_an_unencodable_value_cannot_be_saved_and_is_not_installed(tmp_path: Path) -> None:
    keeper, _ = keeper_at(tmp_path)
    before = keeper.catalog.to_bytes()

    async def poison() -> None:
        async with keeper.change() as draft:
            draft.clock_ms = 1
            draft.hosts.append("\ud800")  # no validation would let this in; the save refuses it
            draft.version += 1

    with pytest.raises(UnicodeEncodeError):
        asyncio.run(poison())
    assert keeper.catalog.to_bytes() == before


def test_the_draft_is_a_copy_mutations_do_not_leak_into_the_installed_catalog(
    tmp_path: Path,
) -> None:
    keeper, store = keeper_at(tmp_path)

    async def create() -> None:
        async with keeper.change() as draft:
            draft.add("queue", QueueConfig.create("orders", partitions=2))

    asyncio.run(create())
    installed = keeper.catalog
    store.fail = 1

    async def reopen() -> None:
        async with keeper.change() as draft:
            draft.reopen_host("h0")  # bumps epochs in the draft's placement lists

    with pytest.raises(OSError):
        asyncio.run(reopen())
    assert keeper.catalog is installed
    assert [epoch for _, epoch in installed.get("queue", "orders").placements] == [1, 1]


def test_a_change_that_changes_nothing_is_not_saved(tmp_path: Path) -> None:
    keeper, store = keeper_at(tmp_path)
    saves = store.saves

    async def look() -> None:
        async with keeper.change() as draft:
            assert draft.of("queue") == {}

    asyncio.run(look())
    assert store.saves == saves


def test_waiters_wake_on_an_installed_change_only(tmp_path: Path) -> None:
    keeper, store = keeper_at(tmp_path)

    async def scenario() -> tuple[int, int]:
        version = keeper.catalog.version
        waiter = asyncio.ensure_future(keeper.wait_newer(version, 5.0))
        await asyncio.sleep(0)
        store.fail = 1
        with pytest.raises(OSError):
            async with keeper.change() as draft:
                draft.add("queue", QueueConfig.create("failed"))
        assert not waiter.done()
        async with keeper.change() as draft:
            draft.add("queue", QueueConfig.create("saved"))
        newer = await asyncio.wait_for(waiter, 5.0)
        return version, newer.version

    old, new = asyncio.run(scenario())
    assert new == old + 1
