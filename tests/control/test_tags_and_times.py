"""Every resource's creation and change times (stamped by the keeper on the catalog's clock)
and its tags (AWS's rules), kept across a reload."""

from __future__ import annotations

import asyncio
from pathlib import Path

import msgpack
import pytest

from raybus.control.catalog import Catalog, CatalogStore
from raybus.control.keeper import CatalogKeeper
from raybus.core.clock import ManualClock
from raybus.core.errors import RaybusError
from raybus.core.queues import QueueConfig
from raybus.core.tags import MAX_TAGS, merged_tags, without_tags


def keeper_at(path: Path, clock: ManualClock) -> CatalogKeeper:
    keeper = CatalogKeeper(CatalogStore(str(path)), clock=clock)
    keeper.change_now(lambda c: c.ensure_hosts(["h0"]))
    return keeper


def test_a_new_resource_gets_both_times_and_a_change_moves_only_the_change_time(
    tmp_path: Path,
) -> None:
    clock = ManualClock(1_000_000)
    keeper = keeper_at(tmp_path, clock)
    keeper.change_now(lambda c: c.add("queue", QueueConfig.create("q")))
    record = keeper.catalog.get("queue", "q")
    assert (record.created_ms, record.modified_ms) == (1_000_000, 1_000_000)

    clock.advance(5)
    keeper.change_now(lambda c: c.add("queue", QueueConfig.create("other")))
    assert keeper.catalog.get("queue", "q").modified_ms == 1_000_000  # untouched

    clock.advance(5)
    changed = QueueConfig.create("q", visibility_timeout_s=60)
    keeper.change_now(lambda c: c.put("queue", changed))
    record = keeper.catalog.get("queue", "q")
    assert (record.created_ms, record.modified_ms) == (1_000_000, 1_010_000)


def test_a_catalog_on_the_test_clock_stamps_its_own_time(tmp_path: Path) -> None:
    keeper = keeper_at(tmp_path, ManualClock(5))
    keeper.change_now(lambda c: setattr(c, "clock_ms", 1_700_000_000_000))
    keeper.change_now(lambda c: c.add("queue", QueueConfig.create("q")))
    assert keeper.catalog.get("queue", "q").created_ms == 1_700_000_000_000


def test_mid_advance_a_change_is_stamped_with_the_current_step_not_the_target(
    tmp_path: Path,
) -> None:
    keeper = keeper_at(tmp_path, ManualClock(5))
    keeper.change_now(lambda c: setattr(c, "clock_ms", 2_000_000))  # the advance's target
    keeper.stepping_ms = 1_500_000  # the step the advance has reached
    keeper.change_now(lambda c: c.add("queue", QueueConfig.create("q")))
    assert keeper.catalog.get("queue", "q").created_ms == 1_500_000
    keeper.stepping_ms = None
    keeper.change_now(lambda c: c.add("queue", QueueConfig.create("r")))
    assert keeper.catalog.get("queue", "r").created_ms == 2_000_000


def test_tags_and_times_survive_a_reload_and_an_older_catalog_reads_without_them(
    tmp_path: Path,
) -> None:
    keeper = keeper_at(tmp_path, ManualClock(42_000))
    keeper.change_now(lambda c: c.add("queue", QueueConfig.create("q")))
    keeper.change_now(lambda c: c.set_tags("queue", "q", {"team": "ops", "env": ""}))
    keeper.store.close()  # type: ignore[attr-defined]
    again = CatalogStore(str(tmp_path)).load().get("queue", "q")
    assert (again.created_ms, again.tags) == (42_000, {"team": "ops", "env": ""})

    blob = Catalog.from_bytes(keeper.catalog.to_bytes())
    assert blob.get("queue", "q").tags == {"team": "ops", "env": ""}
    data = msgpack.unpackb(keeper.catalog.to_bytes(), raw=False)
    for item in data["resources"]["queue"]:
        for key in ("created_ms", "modified_ms", "tags"):
            del item[key]
    older = Catalog.from_bytes(msgpack.packb(data, use_bin_type=True)).get("queue", "q")
    assert (older.created_ms, older.modified_ms, older.tags) == (0, 0, {})


def test_a_tag_change_bumps_the_version_so_the_keeper_saves_it(tmp_path: Path) -> None:
    keeper = keeper_at(tmp_path, ManualClock(0))
    keeper.change_now(lambda c: c.add("queue", QueueConfig.create("q")))
    before = keeper.catalog.version

    async def tag() -> None:
        async with keeper.change() as draft:
            draft.set_tags("queue", "q", {"a": "1"})

    asyncio.run(tag())
    assert keeper.catalog.version == before + 1
    assert keeper.catalog.get("queue", "q").tags == {"a": "1"}


@pytest.mark.parametrize(
    ("added", "problem"),
    [
        ({"": "v"}, "1 to 128"),
        ({"k" * 129: "v"}, "1 to 128"),
        ({"aws:owner": "me"}, "reserved"),
        ({"AWS:owner": "me"}, "reserved"),
        ({"k": "v" * 257}, "0 to 256"),
        ({"k": 5}, "0 to 256"),
        ({f"k{i}": "v" for i in range(MAX_TAGS + 1)}, "at most 50"),
    ],
)
def test_tags_break_aws_rules_with_a_clear_error(added: dict[str, object], problem: str) -> None:
    with pytest.raises(RaybusError) as raised:
        merged_tags({}, added)
    assert raised.value.code == "InvalidParameterValue"
    assert problem in raised.value.message


def test_tags_merge_replace_and_remove_as_aws_does() -> None:
    tags = merged_tags({"a": "1", "b": "2"}, {"b": "3", "c": ""})
    assert tags == {"a": "1", "b": "3", "c": ""}
    assert without_tags(tags, ["a", "missing"]) == {"b": "3", "c": ""}
    assert len(merged_tags({f"k{i}": "v" for i in range(MAX_TAGS)}, {"k0": "new"})) == MAX_TAGS
