"""Every partition host of the embedded cluster serves the one gateway port (SO_REUSEPORT),
and a request that may use any partition uses the receiving process's own partition."""

from __future__ import annotations

import ray

from raybus.actors import host_name
from raybus.control import RunningCluster
from raybus.sdk import Client
from tests.integration.test_metrics import samples


def sent_per_host(cluster: RunningCluster) -> dict[str, int]:
    hosts = range(cluster.spec.partition_hosts)
    totals = ray.get([cluster.gateways[i].summary.remote() for i in hosts])
    return {host_name(i): totals[i].get("sent", 0) for i in hosts}


def test_every_host_serves_the_port_and_a_send_stays_on_the_receiving_hosts_partition(
    cluster: RunningCluster, url: str, name: str
) -> None:
    with Client(url) as client:
        client.create_queue(name, partitions=2)
    before = sent_per_host(cluster)
    for index in range(40):  # a fresh connection each: the kernel picks a listening socket
        with Client(url) as fresh:
            fresh.queue(name).send(f"m{index}")
    after = sent_per_host(cluster)
    served = {host: after[host] - before[host] for host in after}
    assert sum(served.values()) == 40
    assert all(count > 0 for count in served.values()), served  # both processes served
    table = ray.get(cluster.controller.routing.remote())
    route = table.route("queue", name)
    assert {p.host for p in route.partitions} == set(served)  # one partition on each host
    seen = samples(url)
    visible = {host: 0 for host in served}
    for index, placement in enumerate(route.partitions):
        key = f'raybus_queue_messages_visible{{partition="{index}",resource="{name}"}}'
        visible[placement.host] += int(seen[key])
    assert visible == served  # each send went to the partition of the process it reached


def test_any_process_answers_a_scrape_with_the_counters_of_all_of_them(
    cluster: RunningCluster, url: str, name: str
) -> None:
    with Client(url) as client:
        client.create_queue(name, partitions=2)
    for index in range(20):
        with Client(url) as fresh:
            fresh.queue(name).send(f"m{index}")
    key = f'raybus_queue_messages_sent_total{{resource="{name}"}}'
    totals = {samples(url)[key] for _ in range(12)}  # fresh connections: either process answers
    assert totals == {20.0}
