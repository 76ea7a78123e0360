"""Rebalancing the catalog's placements over its hosts (``Catalog.balance_moves`` and
``Catalog.move``) — pure, without Ray."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from raybus.control.catalog import Catalog, PartitionMove
from raybus.core.errors import RaybusError
from tests.control.test_catalog import HOSTS, catalog, config, load, topic


def apply(c: Catalog, moves: list[PartitionMove]) -> None:
    for move in moves:
        c.move(move.kind, move.key, move.partition, move.target)


def test_a_balanced_catalog_needs_no_move() -> None:
    c = catalog()
    c.add("queue", config("a", partitions=3))
    c.add("topic", topic("t", partitions=2))
    version = c.version
    assert c.balance_moves() == []
    assert c.version == version  # planning changes nothing


def test_a_host_added_later_gets_partitions_from_the_loaded_hosts_until_all_are_within_one() -> (
    None
):
    c = catalog(HOSTS[:1])
    c.add("queue", config("a", partitions=4))
    c.add("queue", config("b", partitions=2))
    c.ensure_hosts(HOSTS)
    moves = c.balance_moves()
    assert len(moves) == 4  # 6 partitions on one host -> 2 on each of three
    assert {m.source for m in moves} == {HOSTS[0]}
    assert Counter(m.target for m in moves) == {HOSTS[1]: 2, HOSTS[2]: 2}
    apply(c, moves)
    assert load(c) == {host: 2 for host in HOSTS}
    assert c.balance_moves() == []


def test_a_resources_partitions_spread_over_the_hosts_when_they_move() -> None:
    c = catalog(HOSTS[:1])
    c.add("queue", config("a", partitions=3))
    c.add("queue", config("b", partitions=3))
    c.ensure_hosts(HOSTS)
    apply(c, c.balance_moves())
    for name in ("a", "b"):  # each queue ends with one partition per host, not two on one
        hosts = [host for host, _ in c.get("queue", name).placements]
        assert sorted(hosts) == sorted(HOSTS), (name, hosts)


def test_a_move_gives_the_partition_the_next_epoch_and_bumps_the_version() -> None:
    c = catalog(HOSTS[:2])
    c.add("queue", config("a", partitions=2))
    c.reopen_host(HOSTS[0])  # epoch 2 on host 0
    version = c.version
    assert c.move("queue", "a", 0, HOSTS[1]) == 3
    assert c.get("queue", "a").placements == [[HOSTS[1], 3], [HOSTS[1], 1]]
    assert c.version == version + 1
    route = c.table().route("queue", "a")
    assert route is not None and route.partitions[0].epoch == 3


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("queue", "a", 0, "raybus-host-9"), "No partition host named raybus-host-9."),
        (("queue", "a", 5, HOSTS[1]), "queue a has no partition 5."),
    ],
)
def test_a_move_to_an_unknown_host_or_partition_is_refused_and_changes_nothing(
    args: tuple[str, str, int, str], message: str
) -> None:
    c = catalog(HOSTS[:2])
    c.add("queue", config("a", partitions=2))
    before = c.copy()
    with pytest.raises(RaybusError) as caught:
        c.move(*args)
    assert (caught.value.code, caught.value.message) == ("InvalidParameterValue", message)
    assert c.get("queue", "a").placements == before.get("queue", "a").placements
    assert c.version == before.version


def test_moving_an_unknown_resource_is_its_kinds_not_found() -> None:
    c = catalog(HOSTS[:2])
    with pytest.raises(RaybusError) as caught:
        c.move("queue", "nope", 0, HOSTS[1])
    assert caught.value.code == "QueueDoesNotExist"


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(min_value=1, max_value=6), min_size=1, max_size=8),
    st.integers(min_value=1, max_value=3),
    st.integers(min_value=1, max_value=4),
)
def test_any_placement_is_balanced_by_the_fewest_moves(
    partitions: list[int], first_hosts: int, added: int
) -> None:
    hosts = [f"raybus-host-{i}" for i in range(first_hosts + added)]
    c = catalog(hosts[:first_hosts])
    for index, count in enumerate(partitions):
        c.add("queue", config(f"q{index}", partitions=count))
    c.ensure_hosts(hosts)
    before = Counter({host: 0 for host in hosts}) + load(c)
    moves = c.balance_moves()
    apply(c, moves)
    after = Counter({host: 0 for host in hosts})
    after.update(load(c))
    assert max(after.values()) - min(after.values()) <= 1
    assert sum(after.values()) == sum(partitions)
    # the fewest moves: exactly the surplus above the balanced share leaves each host
    share, extra = divmod(sum(partitions), len(hosts))
    ranked = sorted(hosts, key=lambda h: -before[h])
    least = sum(max(0, before[h] - (share + (i < extra))) for i, h in enumerate(ranked))
    assert len(moves) == least
