"""/metrics: per-queue counters, depth gauges per partition, latency histograms; topics,
subscriptions, functions and mappings labelled by name; no ``_created`` series."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families

from raybus.sdk import Client, errors
from tests.integration.test_semantics import wait_for

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)


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
    queue.send_batch(["a", "bb", "c\u00e9"])  # bytes are counted as UTF-8: 1 + 2 + 3
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


def families(url: str) -> list[Metric]:
    return list(text_string_to_metric_families(httpx.get(url + "/metrics").text))


def value(seen: list[Metric], metric: str, **labels: str) -> float:
    for family in seen:
        for sample in family.samples:
            if sample.name == metric and sample.labels == labels:
                return float(sample.value)
    raise AssertionError(f"no {metric}{labels}")


def test_topics_subscriptions_functions_and_mappings_are_labelled_by_name(
    client: Client, name: str, url: str
) -> None:
    def handler(event: Any, context: Any) -> Any:
        if event.get("fail"):
            raise ValueError("no")
        return "ok"

    topic = client.create_topic(name)
    queue = client.create_queue(name + "-q")
    topic.subscribe(queue, raw=True)
    topic.publish_batch([{"body": f"m{i}"} for i in range(3)])
    client.create_function(name, handler)
    client.invoke(name, {})
    with pytest.raises(errors.FunctionError):
        client.invoke(name, {"fail": True})
    idle = client.create_queue(name + "-idle")
    client.create_event_source_mapping(idle, name, enabled=False)
    idle.send_batch(["a", "b"])
    client.create_event_source_mapping(f"topic:{name}", name)  # after the publishes: idle
    wait_for(lambda: client.queue(queue.name).stats()["visible"] == 3)

    def mapping_subscription_listed() -> bool:
        text = httpx.get(url + "/metrics").text
        return f'endpoint="mapping:{name}",resource="{name}"' in text

    wait_for(mapping_subscription_listed)
    seen = families(url)
    delivered = "raybus_subscription_messages_delivered_total"
    assert value(seen, "raybus_topic_messages_published_total", resource=name) == 3
    assert value(seen, delivered, resource=name, endpoint=f"queue:{queue.name}") == 3
    assert value(seen, delivered, resource=name, endpoint=f"mapping:{name}") == 0
    assert value(seen, "raybus_function_invocations_total", resource=name) == 2
    assert value(seen, "raybus_function_errors_total", resource=name) == 1
    assert value(seen, "raybus_function_duration_seconds_count", resource=name) == 2
    backlog = "raybus_mapping_backlog_messages"
    function = f"function:{name}"
    assert value(seen, backlog, resource=f"queue:{idle.name}", endpoint=function) == 2
    assert value(seen, backlog, resource=f"topic:{name}", endpoint=function) == 0


def test_no_series_is_a_created_timestamp_and_no_label_value_is_an_id(
    client: Client, name: str, url: str
) -> None:
    """Over everything the session's tests have made so far, plus one of each kind here."""
    queue = client.create_queue(name)
    queue.send("x")
    topic = client.create_topic(name)
    topic.subscribe(queue)
    topic.publish("y")
    wait_for(lambda: queue.stats()["visible"] == 2)
    seen = families(url)
    samples = [sample for family in seen for sample in family.samples]
    assert any(s.name == "raybus_subscription_messages_delivered_total" for s in samples)
    assert [s.name for s in samples if s.name.endswith("_created")] == []
    label_values = {v for sample in samples for v in sample.labels.values()}
    assert [v for v in label_values if UUID.search(v)] == []
