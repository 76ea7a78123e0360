"""``raybus_partition_calls_total{path}`` counts, over the node's processes, the calls to
partitions that stay local and those that go to another host's channel: a FIFO queue's groups
belong to partitions on both of the session's hosts, so a batch over many groups takes both."""

from __future__ import annotations

import httpx

from raybus.sdk import Client


def _calls(url: str) -> dict[str, float]:
    counts = {}
    for line in httpx.get(url + "/metrics").text.splitlines():
        if line.startswith("raybus_partition_calls_total{"):
            path = line.split('path="')[1].split('"')[0]
            counts[path] = float(line.rsplit(" ", 1)[1])
    return counts


def test_calls_to_another_hosts_partitions_go_over_its_channel(
    url: str, client: Client, name: str
) -> None:
    queue = client.create_queue(
        name + ".fifo",
        partitions=2,
        dedup_scope="messageGroup",
        throughput_limit="perMessageGroupId",
    )
    before = _calls(url)
    entries = [{"body": f"m{n}", "group_id": f"g{n}", "dedup_id": f"d{n}"} for n in range(40)]
    results = queue.send_batch(entries)
    assert not [r for r in results if isinstance(r, Exception)]
    after = _calls(url)
    assert set(after) == {"local", "channel", "ray"}
    # 40 groups over 2 partitions on 2 hosts: the host that took the request owns some of them
    # and the other host the rest (all 40 on one partition: a chance of 2 in 2**40)
    assert after["local"] > before.get("local", 0)
    assert after["channel"] > before.get("channel", 0)
