"""Locality: :meth:`Router.nearest` orders a route's partitions for a request that may use any
of them — those hosted in this process first, then the others, each group rotating."""

from __future__ import annotations

from collections import Counter

from raybus.actors import Router
from raybus.core import QueueConfig
from raybus.core.routing import PartitionRoute, Route, RoutingTable


async def _no_table() -> RoutingTable:
    raise AssertionError("not fetched in these tests")


def route_on(*hosts: str) -> Route[QueueConfig]:
    partitions = tuple(PartitionRoute(host, 1) for host in hosts)
    return Route("queue", "q", QueueConfig.create("q"), 1, partitions)


def router(*local: str) -> Router:
    return Router(_no_table, local={name: object() for name in local})  # type: ignore[misc]


def test_local_partitions_come_first_and_rotate_and_the_remote_ones_follow() -> None:
    route = route_on("h0", "h1", "h0", "h1", "h0")
    here = router("h0")
    orders = [here.nearest(route) for _ in range(6)]
    for order in orders:
        assert sorted(order) == [0, 1, 2, 3, 4]  # every partition, once
        assert set(order[:3]) == {0, 2, 4} and set(order[3:]) == {1, 3}
    assert Counter(order[0] for order in orders) == {0: 2, 2: 2, 4: 2}  # the load spreads
    assert Counter(order[3] for order in orders) == {1: 3, 3: 3}


def test_with_no_local_partition_or_only_local_ones_every_partition_takes_turns() -> None:
    route = route_on("h0", "h1", "h2")
    for here in (router(), router("h0", "h1", "h2")):
        firsts = [here.nearest(route)[0] for _ in range(6)]
        assert Counter(firsts) == {0: 2, 1: 2, 2: 2}


def test_a_single_partition_is_the_only_choice() -> None:
    assert router("h9").nearest(route_on("h0")) == [0]
