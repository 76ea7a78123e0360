"""The controller's catalog (raybus.control.catalog): placement, idempotent create, default
partitioning, epochs, its byte format and its durable store — pure, without Ray."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import msgpack
import pytest

from raybus.control.catalog import Catalog, CatalogStore
from raybus.core.config import QueueConfig
from raybus.core.errors import RaybusError

HOSTS = ["raybus-host-0", "raybus-host-1", "raybus-host-2"]


def catalog(hosts: list[str] = HOSTS) -> Catalog:
    c = Catalog()
    c.ensure_hosts(list(hosts))
    return c


def config(name: str, **settings: Any) -> QueueConfig:
    return QueueConfig.create(name, **settings)


def load(c: Catalog) -> Counter[str]:
    return Counter(host for record in c.queues.values() for host, _ in record.placements)


# -- placement -----------------------------------------------------------------------------------


def test_a_partitioned_queue_puts_one_partition_on_each_host() -> None:
    c = catalog()
    record, created = c.add_queue(config("orders"))
    assert created
    assert [host for host, _ in record.placements] == HOSTS
    assert [epoch for _, epoch in record.placements] == [1, 1, 1]


def test_one_partition_queues_go_to_the_least_loaded_host_in_host_order() -> None:
    c = catalog()
    hosts = [c.add_queue(config(f"q{i}.fifo"))[0].placements[0][0] for i in range(7)]
    assert hosts == [*HOSTS, *HOSTS, HOSTS[0]]


@pytest.mark.parametrize(
    "partitions", [[1, 5, 2, 7, 1, 3], [4, 4, 4], [1] * 10, [2, 1, 2, 1, 2]], ids=str
)
def test_placement_keeps_the_hosts_within_one_partition_of_each_other(
    partitions: list[int],
) -> None:
    c = catalog()
    for i, count in enumerate(partitions):
        c.add_queue(config(f"q{i}", partitions=count))
        counts = [load(c)[h] for h in HOSTS]
        assert max(counts) - min(counts) <= 1, counts
    assert sum(load(c).values()) == sum(partitions)


def test_a_host_added_later_takes_the_next_partitions_until_it_catches_up() -> None:
    c = catalog(HOSTS[:2])
    c.add_queue(config("a", partitions=4))
    c.ensure_hosts(HOSTS)
    record, _ = c.add_queue(config("b", partitions=2))
    assert [host for host, _ in record.placements] == [HOSTS[2], HOSTS[2]]


# -- default partitions ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hosts", "name", "settings", "partitions"),
    [
        (3, "standard", {}, 3),
        (1, "standard", {}, 1),
        (2, "standard", {"partitions": 5}, 5),
        (3, "q.fifo", {}, 1),
        (3, "q.fifo", {"dedup_scope": "queue", "partitions": 1}, 1),
        (3, "q.fifo", {"dedup_scope": "messageGroup"}, 3),
        (2, "q.fifo", {"dedup_scope": "messageGroup"}, 2),
        (3, "q.fifo", {"dedup_scope": "messageGroup", "partitions": 8}, 8),
    ],
    ids=[
        "standard-one-per-host",
        "standard-one-host",
        "standard-explicit",
        "fifo-queue-scope-one",
        "fifo-queue-scope-explicit-one",
        "fifo-group-scope-one-per-host",
        "fifo-group-scope-two-hosts",
        "fifo-group-scope-explicit",
    ],
)
def test_the_default_partition_count_follows_the_queue_type(
    hosts: int, name: str, settings: dict[str, Any], partitions: int
) -> None:
    c = catalog(HOSTS[:hosts])
    queue = config(name, **settings)
    assert c.default_partitions(queue) == partitions
    record, _ = c.add_queue(queue)
    assert len(record.placements) == partitions
    assert record.config.partitions == partitions  # the resolved count is what is stored


# -- idempotent create -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("first", "again"),
    [
        ({}, {}),
        ({"visibility_timeout_s": 45}, {"visibility_timeout_s": 45}),
        ({}, {"partitions": 3}),  # the chosen default, named explicitly
        ({"partitions": 2}, {}),  # "the default" matches whatever was chosen
    ],
    ids=["defaults", "same-settings", "explicit-equal-to-default", "default-after-explicit"],
)
def test_creating_an_existing_queue_with_equal_settings_returns_it_unchanged(
    first: dict[str, Any], again: dict[str, Any]
) -> None:
    c = catalog()
    original, _ = c.add_queue(config("orders", **first))
    version, snapshot = c.version, c.to_bytes()
    record, created = c.add_queue(config("orders", **again))
    assert created is False
    assert record is original
    assert (c.version, c.to_bytes()) == (version, snapshot)


@pytest.mark.parametrize(
    "again",
    [
        {"visibility_timeout_s": 46},
        {"partitions": 2},
        {"delay_s": 1},
        {"redrive_policy": {"dead_letter_queue": "dlq", "max_receive_count": 3}},
    ],
    ids=["visibility", "partitions", "delay", "redrive"],
)
def test_creating_an_existing_queue_with_other_settings_is_queue_already_exists(
    again: dict[str, Any],
) -> None:
    c = catalog()
    c.add_queue(config("orders", visibility_timeout_s=45))
    version, snapshot = c.version, c.to_bytes()
    with pytest.raises(RaybusError) as info:
        c.add_queue(config("orders", **{"visibility_timeout_s": 45, **again}))
    assert info.value.code == "QueueAlreadyExists"
    assert info.value.http_status == 409
    assert (c.version, c.to_bytes()) == (version, snapshot)


def test_every_created_queue_gets_its_own_incarnation() -> None:
    c = catalog()
    first, _ = c.add_queue(config("orders"))
    c.remove_queue("orders")
    second, _ = c.add_queue(config("orders"))
    assert first.incarnation != second.incarnation


# -- versions and epochs -------------------------------------------------------------------------


def test_reopening_a_host_bumps_only_its_epochs_and_the_version() -> None:
    c = catalog()
    c.add_queue(config("a"))
    c.add_queue(config("b.fifo"))
    c.add_queue(config("c", partitions=5))
    before = {name: [list(p) for p in r.placements] for name, r in c.queues.items()}
    version = c.version
    c.reopen_host(HOSTS[1])
    assert c.version == version + 1
    for name, record in c.queues.items():
        for (host, epoch), (old_host, old_epoch) in zip(
            record.placements, before[name], strict=True
        ):
            assert host == old_host
            assert epoch == old_epoch + (1 if host == HOSTS[1] else 0)
    c.reopen_host(HOSTS[1])
    assert max(epoch for r in c.queues.values() for h, epoch in r.placements if h == HOSTS[1]) == 3


def test_the_routing_table_carries_version_epochs_and_the_clock_mode() -> None:
    c = catalog()
    c.add_queue(config("a"))
    c.reopen_host(HOSTS[0])
    table = c.table()
    assert table.version == c.version and table.hosts == tuple(HOSTS)
    assert [(p.host, p.epoch) for p in table.queues["a"].partitions] == [
        (HOSTS[0], 2),
        (HOSTS[1], 1),
        (HOSTS[2], 1),
    ]
    assert table.test_clock is False
    c.clock_ms = 1_700_000_000_000
    assert c.table().test_clock is True


def test_assignments_list_what_a_host_must_open() -> None:
    c = catalog()
    record, _ = c.add_queue(config("a"))
    c.add_queue(config("b.fifo"))
    assert c.assignments(HOSTS[1]) == [
        ("a", 1, 1, record.config.to_dict(), record.incarnation),
    ]


def test_every_change_bumps_the_version_and_a_no_op_does_not() -> None:
    c = catalog()
    steps = [
        lambda: c.add_queue(config("a")),
        lambda: c.update_queue("a", c.record("a").config.updated(visibility_timeout_s=5)),
        lambda: c.reopen_host(HOSTS[0]),
        lambda: c.ensure_hosts(["raybus-host-9"]),
        lambda: c.remove_queue("a"),
    ]
    for step in steps:
        version = c.version
        step()
        assert c.version == version + 1
    version = c.version
    c.ensure_hosts(HOSTS)  # all known already
    assert c.version == version


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.record("missing"),
        lambda c: c.remove_queue("missing"),
        lambda c: c.update_queue("missing", config("missing")),
    ],
    ids=["record", "remove", "update"],
)
def test_an_unknown_queue_is_queue_does_not_exist(call: Any) -> None:
    c = catalog()
    version = c.version
    with pytest.raises(RaybusError) as info:
        call(c)
    assert info.value.code == "QueueDoesNotExist"
    assert c.version == version and c.queues == {}


# -- format and durability ---------------------------------------------------------------------


def populated() -> Catalog:
    c = catalog()
    c.clock_ms = 1_700_000_123_456
    c.add_queue(
        config("dlq", redrive_allow_policy={"permission": "byQueue", "source_queues": ["a"]})
    )
    c.add_queue(
        config(
            "a",
            visibility_timeout_s=10,
            redrive_policy={"dead_letter_queue": "dlq", "max_receive_count": 3},
        )
    )
    c.add_queue(config("g.fifo", dedup_scope="messageGroup", content_based_dedup=True))
    c.reopen_host(HOSTS[2])
    return c


def test_the_catalog_round_trips_through_its_bytes() -> None:
    c = populated()
    again = Catalog.from_bytes(c.to_bytes())
    assert again == c
    assert again.table() == c.table()


def test_an_empty_catalog_round_trips() -> None:
    assert Catalog.from_bytes(Catalog().to_bytes()) == Catalog()


def test_an_unknown_format_is_refused() -> None:
    blob = msgpack.packb({**msgpack.unpackb(populated().to_bytes()), "format": 99})
    with pytest.raises(ValueError, match="format"):
        Catalog.from_bytes(blob)


def test_a_new_store_holds_an_empty_catalog(tmp_path: Path) -> None:
    store = CatalogStore(str(tmp_path))
    try:
        assert store.load() == Catalog()
    finally:
        store.close()


def test_the_store_keeps_the_latest_catalog_across_a_reopen(tmp_path: Path) -> None:
    c = populated()
    store = CatalogStore(str(tmp_path))
    store.save(Catalog(hosts=["old"]))
    store.save(c)
    store.close()
    reopened = CatalogStore(str(tmp_path))
    try:
        loaded = reopened.load()
        assert loaded == c
        loaded.add_queue(config("later"))
        reopened.save(loaded)
    finally:
        reopened.close()
    third = CatalogStore(str(tmp_path))
    try:
        assert set(third.load().queues) == {"dlq", "a", "g.fifo", "later"}
    finally:
        third.close()


def test_topics_subscriptions_functions_and_mappings_survive_a_round_trip() -> None:
    from raybus.core.resources import (
        FunctionConfig,
        MappingConfig,
        SubscriptionConfig,
        TopicConfig,
    )

    catalog = Catalog(hosts=["h0", "h1"])
    catalog.add_queue(QueueConfig.create("q", partitions=1))
    record, created = catalog.add_topic(TopicConfig.from_dict({"name": "t"}))
    assert created
    assert catalog.add_topic(TopicConfig.from_dict({"name": "t"})) == (record, False)
    sub = SubscriptionConfig.from_dict(
        {"topic": "t", "protocol": "queue", "endpoint": "q", "filter_policy": {"a": ["b"]}}
    )
    catalog.put_subscription(sub)
    catalog.put_function(FunctionConfig.from_dict({"name": "f", "handler": "m:h"}))
    mapping = MappingConfig.from_dict({"source": "queue:q", "function": "f"})
    catalog.put_mapping(mapping)
    again = Catalog.from_bytes(catalog.to_bytes())
    assert again.topics["t"].subscriptions == {sub.id: sub}
    assert again.functions == catalog.functions
    assert again.mappings == {mapping.id: mapping}
    assert again.table().topics["t"].subscriptions == (sub,)
    host = record.placements[0][0]
    assert host == "h1"  # the queue took h0: the topic goes to the least-loaded host
    again.reopen_host(host)
    assert again.topics["t"].placements[0][1] == 2
    assert again.subscription(sub.id)[1] == sub
    again.remove_topic("t")
    with pytest.raises(RaybusError) as missing:
        again.subscription(sub.id)
    assert missing.value.code == "ResourceNotFound"


def test_a_format_1_catalog_is_still_read() -> None:
    blob = msgpack.packb(
        {
            "format": 1,
            "version": 3,
            "hosts": ["h0"],
            "clock_ms": None,
            "queues": {
                "q": {
                    "config": QueueConfig.create("q").to_dict(),
                    "incarnation": 7,
                    "placements": [["h0", 1]],
                }
            },
        },
        use_bin_type=True,
    )
    catalog = Catalog.from_bytes(blob)
    assert list(catalog.queues) == ["q"]
    assert catalog.topics == {} and catalog.functions == {} and catalog.mappings == {}
