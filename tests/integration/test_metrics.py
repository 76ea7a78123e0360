"""/metrics: per-queue counters, depth gauges per partition, latency histograms."""

from __future__ import annotations

import httpx
import pytest

from raybus.sdk import Client, errors


def samples(url: str) -> dict[str, float]:
    out = {}
    for line in httpx.get(url + "/metrics").text.splitlines():
        if line and not line.startswith("#"):
            key, value = line.rsplit(" ", 1)
            out[key] = float(value)
    return out


def test_metrics_count_messages_and_report_depth_per_partition(
    client: Client, name: str, url: str
) -> None:
    queue = client.create_queue(name, partitions=2)
    queue.send_batch(["a", "bb", "ccc"])
    got = queue.receive(max_messages=10)
    while len(got) < 3:
        got += queue.receive(max_messages=10)
    queue.delete_batch(got[:1])
    seen = samples(url)
    label = f'{{resource="{name}"}}'
    assert seen[f"raybus_queue_messages_sent_total{label}"] == 3
    assert seen[f"raybus_queue_bytes_sent_total{label}"] == 6
    assert seen[f"raybus_queue_messages_received_total{label}"] == 3
    assert seen[f"raybus_queue_messages_deleted_total{label}"] == 1
    in_flight = sum(
        seen[f'raybus_queue_messages_in_flight{{partition="{p}",resource="{name}"}}']
        for p in (0, 1)
    )
    assert in_flight == 2
    sends = seen['raybus_gateway_request_duration_seconds_count{operation="send",outcome="ok"}']
    assert sends >= 1
    with pytest.raises(errors.QueueDoesNotExist):  # failures are counted by their code
        client.queue(name + "-missing")
    missing = 'operation="get_queue",outcome="QueueDoesNotExist"'
    assert samples(url)[f"raybus_gateway_request_duration_seconds_count{{{missing}}}"] >= 1
