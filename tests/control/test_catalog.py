"""The controller's catalog (raybus.control.catalog): placement, idempotent create, default
partitioning, epochs, its byte format and its durable store — pure, without Ray.

The catalog is generic over kinds (``add``/``put``/``remove``/``get``/``of`` take a kind's
name); queues and topics are the partitioned kinds, so most cases here are about them."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import msgpack
import pytest

from raybus.control.catalog import Catalog, CatalogStore
from raybus.core.errors import RaybusError
from raybus.core.functions import FunctionConfig
from raybus.core.mappings import MappingConfig
from raybus.core.queues import QueueConfig
from raybus.core.registry import kind
from raybus.core.topics import SubscriptionConfig, TopicConfig

HOSTS = ["raybus-host-0", "raybus-host-1", "raybus-host-2"]


def catalog(hosts: list[str] = HOSTS) -> Catalog:
    c = Catalog()
    c.ensure_hosts(list(hosts))
    return c


def config(name: str, **settings: Any) -> QueueConfig:
    return QueueConfig.create(name, **settings)


def topic(name: str, **settings: Any) -> TopicConfig:
    return TopicConfig.from_dict({"name": name, **settings})


def load(c: Catalog) -> Counter[str]:
    """Partitions per host, over every kind."""
    return Counter(
        host for records in c.records.values() for r in records.values() for host, _ in r.placements
    )


# -- placement -----------------------------------------------------------------------------------


def test_a_partitioned_queue_puts_one_partition_on_each_host() -> None:
    c = catalog()
    record, created = c.add("queue", config("orders"))
    assert created
    assert [host for host, _ in record.placements] == HOSTS
    assert [epoch for _, epoch in record.placements] == [1, 1, 1]


def test_one_partition_queues_go_to_the_least_loaded_host_in_host_order() -> None:
    c = catalog()
    hosts = [c.add("queue", config(f"q{i}.fifo"))[0].placements[0][0] for i in range(7)]
    assert hosts == [*HOSTS, *HOSTS, HOSTS[0]]


@pytest.mark.parametrize(
    "partitions", [[1, 5, 2, 7, 1, 3], [4, 4, 4], [1] * 10, [2, 1, 2, 1, 2]], ids=str
)
def test_placement_keeps_the_hosts_within_one_partition_of_each_other(
    partitions: list[int],
) -> None:
    c = catalog()
    for i, count in enumerate(partitions):
        c.add("queue", config(f"q{i}", partitions=count))
        counts = [load(c)[h] for h in HOSTS]
        assert max(counts) - min(counts) <= 1, counts
    assert sum(load(c).values()) == sum(partitions)


def test_queues_and_topics_share_the_placement_so_hosts_stay_balanced() -> None:
    c = catalog()
    c.add("queue", config("a.fifo"))
    c.add("topic", topic("t.fifo", fifo=True))
    c.add("queue", config("b", partitions=2))
    c.add("topic", topic("u", partitions=4))
    counts = [load(c)[h] for h in HOSTS]
    assert max(counts) - min(counts) <= 1, counts
    assert sum(counts) == 1 + 1 + 2 + 4


def test_a_host_added_later_takes_the_next_partitions_until_it_catches_up() -> None:
    c = catalog(HOSTS[:2])
    c.add("queue", config("a", partitions=4))
    c.ensure_hosts(HOSTS)
    record, _ = c.add("queue", config("b", partitions=2))
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
    partition_count = kind("queue").partitions
    assert partition_count is not None and partition_count(queue, hosts) == partitions
    record, _ = c.add("queue", queue)
    assert len(record.placements) == partitions
    assert record.config.partitions == partitions  # the resolved count is what is stored


@pytest.mark.parametrize(
    ("hosts", "name", "settings", "partitions"),
    [
        (3, "standard", {}, 3),
        (1, "standard", {}, 1),
        (2, "standard", {"partitions": 5}, 5),
        (3, "t.fifo", {}, 1),
        (3, "t.fifo", {"dedup_scope": "topic", "partitions": 1}, 1),
        (3, "t.fifo", {"dedup_scope": "messageGroup"}, 3),
        (2, "t.fifo", {"dedup_scope": "messageGroup"}, 2),
        (3, "t.fifo", {"dedup_scope": "messageGroup", "partitions": 8}, 8),
    ],
    ids=[
        "standard-one-per-host",
        "standard-one-host",
        "standard-explicit",
        "fifo-topic-scope-one",
        "fifo-topic-scope-explicit-one",
        "fifo-group-scope-one-per-host",
        "fifo-group-scope-two-hosts",
        "fifo-group-scope-explicit",
    ],
)
def test_topics_are_placed_like_queues(
    hosts: int, name: str, settings: dict[str, Any], partitions: int
) -> None:
    c = catalog(HOSTS[:hosts])
    record, created = c.add("topic", topic(name, **settings))
    assert created
    assert [host for host, _ in record.placements] == (HOSTS[:hosts] * 3)[:partitions]
    assert [epoch for _, epoch in record.placements] == [1] * partitions
    assert record.config.partitions == partitions  # the resolved count is what is stored
    route = c.table().route("topic", name)
    assert route is not None and len(route.partitions) == partitions


def test_a_fifo_topic_deduplicating_topic_wide_cannot_have_more_partitions() -> None:
    with pytest.raises(RaybusError) as info:
        topic("t.fifo", partitions=2)
    assert info.value.code == "UnsupportedOperation"


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
    original, _ = c.add("queue", config("orders", **first))
    version, snapshot = c.version, c.to_bytes()
    record, created = c.add("queue", config("orders", **again))
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
    c.add("queue", config("orders", visibility_timeout_s=45))
    version, snapshot = c.version, c.to_bytes()
    with pytest.raises(RaybusError) as info:
        c.add("queue", config("orders", **{"visibility_timeout_s": 45, **again}))
    assert info.value.code == "QueueAlreadyExists"
    assert info.value.http_status == 409
    assert (c.version, c.to_bytes()) == (version, snapshot)


@pytest.mark.parametrize(
    ("first", "again", "created"),
    [
        ({}, {}, False),
        ({}, {"partitions": 3}, False),
        ({"partitions": 2}, {}, False),
        ({}, {"partitions": 2}, None),
        ({"fifo": True, "content_based_dedup": True}, {"fifo": True}, None),
    ],
    ids=["defaults", "explicit-default", "default-after-explicit", "partitions", "dedup"],
)
def test_creating_an_existing_topic_is_idempotent_for_equal_settings_only(
    first: dict[str, Any], again: dict[str, Any], created: bool | None
) -> None:
    c = catalog()
    name = "t.fifo" if first.get("fifo") else "t"
    original, _ = c.add("topic", topic(name, **first))
    version, snapshot = c.version, c.to_bytes()
    if created is None:
        with pytest.raises(RaybusError) as info:
            c.add("topic", topic(name, **again))
        assert info.value.code == "ResourceConflict"
    else:
        assert c.add("topic", topic(name, **again)) == (original, False)
    assert (c.version, c.to_bytes()) == (version, snapshot)


def test_every_created_queue_gets_its_own_incarnation() -> None:
    c = catalog()
    first, _ = c.add("queue", config("orders"))
    c.remove("queue", "orders")
    second, _ = c.add("queue", config("orders"))
    assert first.incarnation != second.incarnation


# -- versions and epochs -------------------------------------------------------------------------


def test_reopening_a_host_bumps_only_its_epochs_and_the_version() -> None:
    c = catalog()
    c.add("queue", config("a"))
    c.add("queue", config("b.fifo"))
    c.add("queue", config("c", partitions=5))
    c.add("topic", topic("t"))
    c.put("function", FunctionConfig.from_dict({"name": "f", "handler": "m:h"}))
    places = [(name, key) for name, records in c.records.items() for key in records]
    before = {place: [list(p) for p in c.get(*place).placements] for place in places}
    version = c.version
    c.reopen_host(HOSTS[1])
    assert c.version == version + 1
    for place in places:
        for (host, epoch), (old_host, old_epoch) in zip(
            c.get(*place).placements, before[place], strict=True
        ):
            assert host == old_host
            assert epoch == old_epoch + (1 if host == HOSTS[1] else 0)
    assert c.get("function", "f").placements == []
    c.reopen_host(HOSTS[1])
    assert (
        max(
            epoch
            for records in c.records.values()
            for r in records.values()
            for h, epoch in r.placements
            if h == HOSTS[1]
        )
        == 3
    )


def test_the_routing_table_carries_version_epochs_and_the_clock_mode() -> None:
    c = catalog()
    c.add("queue", config("a"))
    c.reopen_host(HOSTS[0])
    table = c.table()
    assert table.version == c.version and table.hosts == tuple(HOSTS)
    route = table.route("queue", "a")
    assert route is not None
    assert (route.kind, route.key, route.name) == ("queue", "a", "a")
    assert route.config == c.config("queue", "a")
    assert route.incarnation == c.get("queue", "a").incarnation
    assert [(p.host, p.epoch) for p in route.partitions] == [
        (HOSTS[0], 2),
        (HOSTS[1], 1),
        (HOSTS[2], 1),
    ]
    assert table.routes("queue") == {"a": route}
    assert table.route("queue", "missing") is None and table.routes("topic") == {}
    assert table.test_clock is False
    c.clock_ms = 1_700_000_000_000
    assert c.table().test_clock is True


def test_a_subscription_is_attached_to_its_topics_route() -> None:
    c = catalog()
    c.add("topic", topic("t"))
    c.add("topic", topic("other"))
    subs = [
        SubscriptionConfig.from_dict({"topic": "t", "protocol": "queue", "endpoint": name})
        for name in ("a", "b")
    ]
    for sub in subs:
        c.put("subscription", sub)
    table = c.table()
    route, other = table.route("topic", "t"), table.route("topic", "other")
    assert route is not None and other is not None
    assert route.attached == tuple(subs)
    assert other.attached == ()
    assert [r.config for r in c.children("topic", "t")] == subs
    assert table.configs("subscription") == {sub.id: sub for sub in subs}


def test_assignments_list_what_a_host_must_open() -> None:
    c = catalog()
    record, _ = c.add("queue", config("a"))
    c.add("queue", config("b.fifo"))
    assert c.assignments(HOSTS[1]) == [
        ("queue", "a", 1, 1, record.config.to_dict(), record.incarnation),
    ]


def test_assignments_list_queues_then_topics_on_a_host() -> None:
    c = catalog(HOSTS[:1])
    t, _ = c.add("topic", topic("t"))
    q, _ = c.add("queue", config("q", partitions=2))
    c.put("function", FunctionConfig.from_dict({"name": "f", "handler": "m:h"}))
    assert c.assignments(HOSTS[0]) == [
        ("queue", "q", 0, 1, q.config.to_dict(), q.incarnation),
        ("queue", "q", 1, 1, q.config.to_dict(), q.incarnation),
        ("topic", "t", 0, 1, t.config.to_dict(), t.incarnation),
    ]


def test_every_change_bumps_the_version_and_a_no_op_does_not() -> None:
    c = catalog()
    sub = SubscriptionConfig.from_dict(
        {"id": "s", "topic": "t", "protocol": "queue", "endpoint": "a"}
    )
    steps = [
        lambda: c.add("queue", config("a")),
        lambda: c.put("queue", c.config("queue", "a").updated(visibility_timeout_s=5)),
        lambda: c.add("topic", topic("t")),
        lambda: c.put("subscription", sub),
        lambda: c.remove("subscription", "s"),
        lambda: c.reopen_host(HOSTS[0]),
        lambda: c.ensure_hosts(["raybus-host-9"]),
        lambda: c.remove("queue", "a"),
    ]
    for step in steps:
        version = c.version
        step()
        assert c.version == version + 1
    version = c.version
    c.ensure_hosts(HOSTS)  # all known already
    c.add("topic", topic("t"))  # exists with equal settings
    assert c.version == version


def test_put_replaces_settings_and_keeps_placements_and_incarnation() -> None:
    c = catalog()
    record, _ = c.add("queue", config("a"))
    incarnation, placements = record.incarnation, [list(p) for p in record.placements]
    updated = record.config.updated(visibility_timeout_s=5)
    assert c.put("queue", updated) is record
    assert c.config("queue", "a") == updated
    assert (record.incarnation, record.placements) == (incarnation, placements)


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.get("queue", "missing"),
        lambda c: c.config("queue", "missing"),
        lambda c: c.remove("queue", "missing"),
        lambda c: c.put("queue", config("missing")),
    ],
    ids=["get", "config", "remove", "put"],
)
def test_an_unknown_queue_is_queue_does_not_exist(call: Any) -> None:
    c = catalog()
    version = c.version
    with pytest.raises(RaybusError) as info:
        call(c)
    assert info.value.code == "QueueDoesNotExist"
    assert c.version == version and c.of("queue") == {}
    assert c.find("queue", "missing") is None


@pytest.mark.parametrize(
    ("kind_name", "call"),
    [
        ("topic", lambda c: c.get("topic", "missing")),
        ("topic", lambda c: c.put("topic", topic("missing"))),
        ("subscription", lambda c: c.remove("subscription", "missing")),
        ("function", lambda c: c.config("function", "missing")),
        ("mapping", lambda c: c.get("mapping", "missing")),
    ],
    ids=["topic-get", "topic-put", "subscription", "function", "mapping"],
)
def test_an_unknown_resource_of_another_kind_is_resource_not_found(
    kind_name: str, call: Any
) -> None:
    c = catalog()
    version = c.version
    with pytest.raises(RaybusError) as info:
        call(c)
    assert info.value.code == "ResourceNotFound"
    assert c.version == version and c.of(kind_name) == {}


def test_queries_never_change_the_catalog() -> None:
    c = populated()
    before = c.copy()
    for name in ("queue", "topic", "subscription", "function", "mapping", "unknown"):
        c.of(name)
        c.find(name, "missing")
        list(c.children(name, "missing"))
    c.table()
    c.assignments(HOSTS[0])
    assert c == before


# -- format and durability ---------------------------------------------------------------------


def populated() -> Catalog:
    c = catalog()
    c.clock_ms = 1_700_000_123_456
    c.add(
        "queue",
        config("dlq", redrive_allow_policy={"permission": "byQueue", "source_queues": ["a"]}),
    )
    c.add(
        "queue",
        config(
            "a",
            visibility_timeout_s=10,
            redrive_policy={"dead_letter_queue": "dlq", "max_receive_count": 3},
        ),
    )
    c.add("queue", config("g.fifo", dedup_scope="messageGroup", content_based_dedup=True))
    c.reopen_host(HOSTS[2])
    return c


def test_the_catalog_round_trips_through_its_bytes() -> None:
    c = populated()
    again = Catalog.from_bytes(c.to_bytes())
    assert again == c
    assert again.table() == c.table()


def test_a_catalog_whose_last_resource_of_a_kind_was_removed_round_trips() -> None:
    c = populated()
    c.add("topic", topic("t"))
    c.remove("topic", "t")
    assert Catalog.from_bytes(c.to_bytes()) == c


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
        loaded.add("queue", config("later"))
        reopened.save(loaded)
    finally:
        reopened.close()
    third = CatalogStore(str(tmp_path))
    try:
        assert set(third.load().of("queue")) == {"dlq", "a", "g.fifo", "later"}
    finally:
        third.close()


def test_topics_subscriptions_functions_and_mappings_survive_a_round_trip() -> None:
    catalog = Catalog(hosts=["h0", "h1"])
    catalog.add("queue", QueueConfig.create("q", partitions=1))
    record, created = catalog.add("topic", topic("t"))
    assert created
    assert catalog.add("topic", topic("t")) == (record, False)
    sub = SubscriptionConfig.from_dict(
        {"topic": "t", "protocol": "queue", "endpoint": "q", "filter_policy": {"a": ["b"]}}
    )
    catalog.put("subscription", sub)
    catalog.put("function", FunctionConfig.from_dict({"name": "f", "handler": "m:h"}))
    mapping = MappingConfig.from_dict({"source": "queue:q", "function": "f"})
    catalog.put("mapping", mapping)
    again = Catalog.from_bytes(catalog.to_bytes())
    assert again == catalog
    assert [r.config for r in again.children("topic", "t")] == [sub]
    assert again.of("function") == catalog.of("function")
    assert {key: r.config for key, r in again.of("mapping").items()} == {mapping.id: mapping}
    route = again.table().route("topic", "t")
    assert route is not None and route.attached == (sub,)
    # the queue took h0: the topic's first partition goes to the least-loaded host
    assert [host for host, _ in record.placements] == ["h1", "h0"]
    again.reopen_host("h1")
    assert again.get("topic", "t").placements == [["h1", 2], ["h0", 1]]
    assert again.config("subscription", sub.id) == sub
    again.remove("subscription", sub.id)
    with pytest.raises(RaybusError) as missing:
        again.get("subscription", sub.id)
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
    assert list(catalog.of("queue")) == ["q"]
    assert catalog.get("queue", "q").incarnation == 7
    assert catalog.get("queue", "q").placements == [["h0", 1]]
    assert (catalog.version, catalog.hosts, catalog.clock_ms) == (3, ["h0"], None)
    for name in ("topic", "subscription", "function", "mapping"):
        assert catalog.of(name) == {}
    assert Catalog.from_bytes(catalog.to_bytes()) == catalog  # saved again as format 3


def format_2_blob() -> tuple[bytes, dict[str, Any]]:
    """A catalog as format 2 wrote it: one map per kind, subscriptions inside their topics,
    topic settings without ``dedup_scope`` and ``partitions`` (every topic had one partition)."""
    queue = QueueConfig.create("q", partitions=2).to_dict()
    sub = SubscriptionConfig.from_dict(
        {"id": "s1", "topic": "t", "protocol": "queue", "endpoint": "q", "raw": True}
    ).to_dict()
    fifo_sub = SubscriptionConfig.from_dict(
        {"id": "s2", "topic": "t.fifo", "protocol": "function", "endpoint": "f"}
    ).to_dict()
    function = FunctionConfig.from_dict({"name": "f", "handler": "m:h"}).to_dict()
    mapping = MappingConfig.from_dict({"id": "m1", "source": "queue:q", "function": "f"}).to_dict()
    data = {
        "format": 2,
        "version": 12,
        "hosts": ["h0", "h1", "h2"],
        "clock_ms": 1_700_000_000_000,
        "queues": {"q": {"config": queue, "incarnation": 5, "placements": [["h0", 2], ["h1", 1]]}},
        "topics": {
            "t": {
                "config": {"name": "t", "fifo": False, "content_based_dedup": False},
                "incarnation": 6,
                "placements": [["h2", 3]],
                "subscriptions": [sub],
            },
            "t.fifo": {
                "config": {"name": "t.fifo", "fifo": True, "content_based_dedup": True},
                "incarnation": 8,
                "placements": [["h1", 1]],
                "subscriptions": [fifo_sub],
            },
        },
        "functions": [function],
        "mappings": [mapping],
    }
    parts = {"queue": queue, "sub": sub, "fifo_sub": fifo_sub, "function": function}
    return msgpack.packb(data, use_bin_type=True), {**parts, "mapping": mapping}


def test_a_format_2_catalog_is_still_read() -> None:
    blob, parts = format_2_blob()
    catalog = Catalog.from_bytes(blob)
    assert (catalog.version, catalog.hosts, catalog.clock_ms) == (
        12,
        ["h0", "h1", "h2"],
        1_700_000_000_000,
    )
    q = catalog.get("queue", "q")
    assert (q.config.to_dict(), q.incarnation, q.placements) == (
        parts["queue"],
        5,
        [["h0", 2], ["h1", 1]],
    )
    t, fifo = catalog.get("topic", "t"), catalog.get("topic", "t.fifo")
    assert (t.incarnation, t.placements) == (6, [["h2", 3]])
    assert (fifo.incarnation, fifo.placements) == (8, [["h1", 1]])
    assert fifo.config.fifo and fifo.config.content_based_dedup
    assert fifo.config.dedup_scope == "topic"
    assert [r.config.to_dict() for r in catalog.children("topic", "t")] == [parts["sub"]]
    assert [r.config.to_dict() for r in catalog.children("topic", "t.fifo")] == [parts["fifo_sub"]]
    assert catalog.config("function", "f").to_dict() == parts["function"]
    assert catalog.config("mapping", "m1").to_dict() == parts["mapping"]
    table = catalog.table()
    route = table.route("topic", "t")
    assert route is not None and [(p.host, p.epoch) for p in route.partitions] == [("h2", 3)]
    assert [s.id for s in route.attached] == ["s1"]
    assert catalog.assignments("h2") == [("topic", "t", 0, 3, t.config.to_dict(), 6)]


def test_topics_from_format_2_get_their_partition_count_from_their_placements() -> None:
    blob, _ = format_2_blob()
    catalog = Catalog.from_bytes(blob)
    # a standard topic would now get one partition per host: its data is in the one it had
    assert catalog.config("topic", "t").partitions == 1
    assert catalog.config("topic", "t.fifo").partitions == 1
    # so creating it again with default settings finds it, unchanged
    record = catalog.get("topic", "t")
    assert catalog.add("topic", topic("t")) == (record, False)
    assert len(record.placements) == 1
    again = Catalog.from_bytes(catalog.to_bytes())  # saved as format 3, read back
    assert again == catalog
    assert again.config("topic", "t").partitions == 1
