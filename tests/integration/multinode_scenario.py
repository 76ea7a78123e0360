"""The multi-node scenario, run as its own process (it needs its own Ray cluster, while the test
session shares one): three Ray nodes on this machine sharing one data directory; partitions
spread over the nodes; a node is removed, its partition host restarts on another node and
reopens its partitions from disk; no acknowledged message is lost.

Prints one JSON line with what it observed; exits non-zero on any failed check.
"""

from __future__ import annotations

import json
import sys
import time

import ray
from ray.cluster_utils import Cluster

from raybus.control import ClusterSpec, start
from raybus.gateway import Gateway
from raybus.sdk import Client


def wait_for(condition, timeout_s: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.2)


def main(data_dir: str) -> None:
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    workers = [cluster.add_node(num_cpus=1) for _ in range(2)]
    cluster.wait_for_nodes()
    ray.init(address=cluster.address, namespace="raybus", log_to_driver=False)
    head_id = ray.get_runtime_context().get_node_id()
    running = start(
        ClusterSpec(
            data_dir=data_dir, port=0, partition_hosts=3, address=cluster.address, test_clock=True
        ),
        gateway=Gateway,
    )
    head_gateway = running.urls[[n["NodeID"] for n in ray.nodes() if n["Alive"]].index(head_id)]
    client = Client(head_gateway, max_retries=20)
    health = client.health()
    nodes_before = {h["name"]: h["node_id"] for h in health["hosts"]}
    assert len(set(nodes_before.values())) == 3, f"hosts not spread: {nodes_before}"

    queue = client.create_queue("spread", partitions=3, visibility_timeout_s=30)
    sent = set()
    for batch in range(30):
        bodies = [f"m{batch}-{i}" for i in range(10)]
        results = queue.send_batch(bodies)
        sent.update(b for b, r in zip(bodies, results, strict=True) if not isinstance(r, Exception))
    deleted = set()
    for _ in range(5):
        got = queue.receive(max_messages=10)
        results = queue.delete_batch(got)
        deleted.update(m.text for m, r in zip(got, results, strict=True) if r is None)
    queue.receive(max_messages=10)  # in flight when the node goes

    controller_node = health["controller_node_id"]
    victim_host, victim_node = next(
        (name, node)
        for name, node in nodes_before.items()
        if node not in (head_id, controller_node)
    )
    node = next(w for w in workers if w.node_id == victim_node)
    cluster.remove_node(node)

    def moved() -> bool:
        hosts = {h["name"]: h for h in client.health()["hosts"]}
        now = hosts[victim_host]
        return bool(now.get("up")) and now.get("node_id") not in (None, victim_node)

    wait_for(moved, 180, "the host to restart on another node")
    client.advance_clock(31)
    drained = []
    for _ in range(1000):
        got = queue.receive(max_messages=100)
        if not got:
            if queue.stats()["visible"] == 0:
                break
            continue
        drained += [m.text for m in got]
        queue.delete_batch(got)
    lost = sent - deleted - set(drained)
    assert not lost, f"lost {len(lost)} acknowledged messages"
    assert not (deleted & set(drained)), "deleted messages came back"
    after = {h["name"]: h["node_id"] for h in client.health()["hosts"]}
    print(
        json.dumps(
            {
                "nodes_before": nodes_before,
                "nodes_after": after,
                "victim": victim_host,
                "sent": len(sent),
                "deleted": len(deleted),
                "drained": len(drained),
            }
        )
    )
    client.close()
    running.stop(shutdown_ray=True)
    cluster.shutdown()


if __name__ == "__main__":
    main(sys.argv[1])
