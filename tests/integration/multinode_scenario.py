"""The multi-node scenario, run as its own process (it needs its own Ray cluster, while the test
session shares one): three Ray nodes on this machine sharing one data directory, raybus attached
to them. Every partition host serves the gateway on its node (here all three nodes are this
machine, so all of them share the one port); partitions spread over the nodes; a node is removed
while senders and a consumer run, its partition host restarts on another node, reopens its
partitions from disk and serves there; no acknowledged message is lost, and no message whose
delete was acknowledged comes back.

Prints one JSON line with what it observed; exits non-zero on any failed check.
"""

from __future__ import annotations

import json
import socket
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import ray
from ray.cluster_utils import Cluster

from raybus.control import ClusterSpec, start
from raybus.gateway import Gateway, GatewayHost
from raybus.sdk import Client
from tests.integration.test_crash import LOAD_CLIENT, Ledger, drain, run_load


def wait_for(condition: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.2)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def sent_per_host(hosts: list[Any]) -> dict[str, int]:
    return {
        str(h["name"]): int(summary.get("sent", 0))
        for h, summary in zip(
            hosts, ray.get([ray.get_actor(h["name"]).summary.remote() for h in hosts]), strict=True
        )
    }


def main(data_dir: str) -> None:
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    workers = [cluster.add_node(num_cpus=1) for _ in range(2)]
    cluster.wait_for_nodes()
    ray.init(address=cluster.address, namespace="raybus", log_to_driver=False)
    head_id = ray.get_runtime_context().get_node_id()
    spec = ClusterSpec(
        data_dir=data_dir,
        port=free_port(),
        partition_hosts=3,
        address=cluster.address,
        test_clock=True,
    )
    running = start(spec, gateway=Gateway, gateway_host=GatewayHost)
    url = running.url
    assert running.urls == [url], running.urls  # three nodes, one machine: one address
    client = Client(url, **LOAD_CLIENT)
    health = client.health()
    nodes_before = {h["name"]: h["node_id"] for h in health["hosts"]}
    assert len(set(nodes_before.values())) == 3, f"hosts not spread: {nodes_before}"

    queue = client.create_queue("spread", partitions=3, visibility_timeout_s=30)
    before = sent_per_host(health["hosts"])
    for index in range(60):  # a fresh connection each: the kernel picks a listening socket
        with Client(url) as fresh:
            fresh.queue("spread").send(f"probe-{index}")
    served = {name: count - before[name] for name, count in sent_per_host(health["hosts"]).items()}
    assert sum(served.values()) == 60 and all(served.values()), f"not every host served: {served}"

    ledger, stop = Ledger(), threading.Event()
    ledger.sent.update(f"probe-{index}" for index in range(60))
    threads = run_load(url, queue.name, ledger, stop)
    wait_for(lambda: len(ledger.sent) >= 400 and len(ledger.deleted) >= 50, 120, "load")

    controller_node = health["controller_node_id"]
    victim_host, victim_node = next(
        (name, node)
        for name, node in nodes_before.items()
        if node not in (head_id, controller_node)
    )
    node = next(w for w in workers if w.node_id == victim_node)
    cluster.remove_node(node)  # its raylet and every worker process on it are killed
    acked_at_kill = len(ledger.sent)

    def moved() -> bool:
        try:
            hosts = {h["name"]: h for h in client.health()["hosts"]}
        except Exception:
            return False  # the connection may have reached the host that died
        now = hosts[victim_host]
        return bool(now.get("up")) and now.get("node_id") not in (None, victim_node)

    wait_for(moved, 180, "the host to restart on another node")
    wait_for(lambda: len(ledger.sent) >= acked_at_kill + 300, 120, "load after the restart")
    stop.set()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a load thread hung"

    after_hosts = client.health()["hosts"]
    before_restart = sent_per_host(after_hosts)
    for index in range(60):  # the restarted host serves the port on its new node
        with Client(url) as fresh:
            fresh.queue("spread").send(f"late-{index}")
    ledger.sent.update(f"late-{index}" for index in range(60))
    late = {n: c - before_restart[n] for n, c in sent_per_host(after_hosts).items()}
    assert late[victim_host] > 0, f"the restarted host does not serve: {late}"

    client.advance_clock(31)  # in-flight messages whose delete never came back return
    drained = drain(client, queue.name)
    ledger.check_after_drain(drained)
    after = {h["name"]: h["node_id"] for h in after_hosts}
    print(
        json.dumps(
            {
                "nodes_before": nodes_before,
                "nodes_after": after,
                "victim": victim_host,
                "served": served,
                "served_after": late,
                "sent": len(ledger.sent),
                "deleted": len(ledger.deleted),
                "drained": len(drained),
                "failures": ledger.failures,
            }
        )
    )
    client.close()
    running.stop(shutdown_ray=True)
    cluster.shutdown()


if __name__ == "__main__":
    main(sys.argv[1])
