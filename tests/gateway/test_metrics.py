"""The gateway's Prometheus registry: no ``_created`` series, and subscriptions and mappings
labelled by the names a person recognises (topic and endpoint, source and function) — one
series each, never an id."""

from __future__ import annotations

import re
from typing import Any

from prometheus_client import CollectorRegistry, Counter, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from raybus.core.mappings import MappingConfig
from raybus.core.routing import Route, RoutingTable
from raybus.core.topics import SubscriptionConfig, TopicConfig
from raybus.gateway import GatewayMetrics
from raybus.gateway.resource_metrics import mapping_backlogs, subscription_endpoint

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)


def scrape(metrics: GatewayMetrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of one scrape: (name, sorted labels) -> value."""
    text = generate_latest(metrics.registry).decode()
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            key = (sample.name, tuple(sorted(sample.labels.items())))
            assert key not in out, f"duplicate series {key}"
            out[key] = sample.value
    return out


def sub(topic: str, protocol: str, endpoint: str) -> SubscriptionConfig:
    return SubscriptionConfig.from_dict(
        {"topic": topic, "protocol": protocol, "endpoint": endpoint}
    )


def table_with(
    topics: dict[str, list[SubscriptionConfig]], mappings: list[MappingConfig]
) -> RoutingTable:
    return RoutingTable(
        version=1,
        resources={
            "topic": {
                name: Route("topic", name, TopicConfig(name), 1, (), tuple(subs))
                for name, subs in topics.items()
            },
            "mapping": {m.id: Route("mapping", m.id, m) for m in mappings},
        },
    )


def sub_stats(**counts: int) -> dict[str, int]:
    keys = ("delivered", "failed", "retried", "dead_lettered", "discarded", "filtered", "backlog")
    return {key: counts.get(key, 0) for key in keys}


def test_no_counter_or_histogram_exports_a_created_series_and_other_registries_keep_theirs() -> (
    None
):
    metrics = GatewayMetrics()
    for queue in ("a", "b"):
        metrics.count("sent", queue, 3, 30)
        metrics.count("received", queue, 2)
        metrics.count("deleted", queue, 1)
    metrics.latency.labels("send", "ok").observe(0.01)
    metrics.throttled.labels("send").inc()
    text = generate_latest(metrics.registry).decode()
    assert 'raybus_queue_messages_sent_total{resource="a"} 3.0' in text
    assert "raybus_gateway_request_duration_seconds_count" in text
    assert "_created" not in text

    elsewhere = CollectorRegistry()
    Counter("unrelated", "another library's counter", registry=elsewhere).inc()
    assert "unrelated_created" in generate_latest(elsewhere).decode()


def test_subscriptions_and_mappings_are_labelled_by_topic_endpoint_source_and_function() -> None:
    to_queue = sub("alerts", "queue", "audit")
    to_function = sub("alerts", "function", "notify")
    to_hook = sub("alerts", "https", "https://user:secret@hooks.example.com:8443/T0/B1?key=k")
    by_mapping = sub("alerts", "function", "resize")  # owned by the topic mapping below
    from_queue = MappingConfig.from_dict({"source": "queue:orders", "function": "resize"})
    from_topic = MappingConfig.from_dict(
        {"source": "topic:alerts", "function": "resize", "subscription": by_mapping.id}
    )
    table = table_with(
        {"alerts": [to_queue, to_function, to_hook, by_mapping]}, [from_queue, from_topic]
    )
    host = {
        "topics": {
            "alerts": {
                "published": 7,
                "retained": 2,
                "subscriptions": {
                    to_queue.id: sub_stats(delivered=7),
                    to_function.id: sub_stats(delivered=5, failed=1, backlog=2),
                    to_hook.id: sub_stats(delivered=6, retried=3, backlog=1),
                    by_mapping.id: sub_stats(delivered=4, backlog=3),
                },
            }
        },
        "functions": {},
        "mappings": {from_queue.id: {"invocations": 2, "errors": 1, "filtered": 0, "deleted": 9}},
    }
    queues = {"orders": [{"visible": 4, "delayed": 1}, {"visible": 2, "delayed": 0}]}
    metrics = GatewayMetrics()
    metrics.resources.update(table, queues, [host])
    seen = scrape(metrics)

    hook = subscription_endpoint(to_hook)
    assert re.fullmatch(r"https://hooks\.example\.com:8443#[0-9a-f]{8}", hook)

    def value(name: str, **labels: str) -> float:
        return seen[(name, tuple(sorted(labels.items())))]

    delivered = "raybus_subscription_messages_delivered_total"
    assert value(delivered, resource="alerts", endpoint="queue:audit") == 7
    assert value(delivered, resource="alerts", endpoint="function:notify") == 5
    assert value(delivered, resource="alerts", endpoint=hook) == 6
    assert value(delivered, resource="alerts", endpoint="mapping:resize") == 4
    assert value("raybus_subscription_messages_retried_total", resource="alerts", endpoint=hook)
    backlog = "raybus_subscription_backlog_messages"
    assert value(backlog, resource="alerts", endpoint="function:notify") == 2
    assert value("raybus_topic_messages_published_total", resource="alerts") == 7

    mapping_backlog = "raybus_mapping_backlog_messages"
    assert value(mapping_backlog, resource="queue:orders", endpoint="function:resize") == 7
    assert value(mapping_backlog, resource="topic:alerts", endpoint="function:resize") == 3
    invocations = "raybus_mapping_invocations_total"
    assert value(invocations, resource="queue:orders", endpoint="function:resize") == 2
    assert value(
        "raybus_mapping_deleted_total", resource="queue:orders", endpoint="function:resize"
    )

    label_values = [v for _, labels in seen for _, v in labels]
    assert [v for v in label_values if UUID.search(v)] == []
    assert not [v for v in label_values if "secret" in v or "key=" in v or "/T0" in v]
    series = [key for key in seen if key[0] == delivered]
    assert len(series) == 4


def test_a_subscription_or_mapping_the_routing_table_does_not_know_is_left_out() -> None:
    known = sub("alerts", "queue", "audit")
    gone = sub("alerts", "queue", "old")
    mapping = MappingConfig.from_dict({"source": "queue:orders", "function": "resize"})
    stale = MappingConfig.from_dict({"source": "queue:orders", "function": "gone"})
    host: dict[str, Any] = {
        "topics": {
            "alerts": {
                "published": 1,
                "retained": 0,
                "subscriptions": {known.id: sub_stats(delivered=1), gone.id: sub_stats()},
            }
        },
        "mappings": {mapping.id: {"invocations": 1}, stale.id: {"invocations": 5}},
    }
    metrics = GatewayMetrics()
    metrics.resources.update(table_with({"alerts": [known]}, [mapping]), {}, [host])
    seen = scrape(metrics)
    subs = [k for k in seen if k[0] == "raybus_subscription_messages_delivered_total"]
    assert subs == [
        (
            "raybus_subscription_messages_delivered_total",
            (("endpoint", "queue:audit"), ("resource", "alerts")),
        )
    ]
    mappings = [k for k in seen if k[0] == "raybus_mapping_invocations_total"]
    assert [dict(labels)["endpoint"] for _, labels in mappings] == ["function:resize"]


def test_a_topic_or_mapping_reported_by_two_hosts_is_one_summed_series() -> None:
    audit = sub("alerts", "queue", "audit")
    mapping = MappingConfig.from_dict({"source": "queue:orders", "function": "resize"})

    def host(n: int) -> dict[str, Any]:
        return {
            "topics": {
                "alerts": {
                    "published": n,
                    "retained": n,
                    "subscriptions": {audit.id: sub_stats(delivered=n)},
                }
            },
            "mappings": {mapping.id: {"invocations": n}},
        }

    metrics = GatewayMetrics()
    metrics.resources.update(table_with({"alerts": [audit]}, [mapping]), {}, [host(1), host(2)])
    seen = scrape(metrics)  # asserts no duplicate series
    labels = (("endpoint", "queue:audit"), ("resource", "alerts"))
    assert seen[("raybus_subscription_messages_delivered_total", labels)] == 3
    assert seen[("raybus_topic_messages_published_total", (("resource", "alerts"),))] == 3
    mapping_labels = (("endpoint", "function:resize"), ("resource", "queue:orders"))
    assert seen[("raybus_mapping_invocations_total", mapping_labels)] == 3


def test_mapping_backlogs_count_visible_and_delayed_messages_or_the_subscription_backlog() -> None:
    by_mapping = sub("alerts", "function", "resize")
    from_queue = MappingConfig.from_dict({"source": "queue:orders", "function": "resize"})
    from_topic = MappingConfig.from_dict(
        {"source": "topic:alerts", "function": "resize", "subscription": by_mapping.id}
    )
    unseen = MappingConfig.from_dict({"source": "queue:elsewhere", "function": "resize"})
    table = table_with({"alerts": [by_mapping]}, [from_queue, from_topic, unseen])
    queues = {"orders": [{"visible": 3, "delayed": 2, "in_flight": 9}]}
    hosts = [{"topics": {"alerts": {"subscriptions": {by_mapping.id: {"backlog": 4}}}}}]
    assert mapping_backlogs(table, queues, hosts) == {from_queue.id: 5, from_topic.id: 4}


def test_a_scrape_adds_the_request_counters_of_the_peers_serving_the_same_address() -> None:
    """Every host of an embedded cluster serves one port; whichever answers a scrape adds its
    peers' request-path families (fetched over Ray as plain data) to its own."""
    import asyncio

    here, peer = GatewayMetrics(), GatewayMetrics()
    here.count("sent", "q", 3, 30)
    peer.count("sent", "q", 4, 40)
    peer.count("sent", "other", 1, 10)
    here.latency.labels("send", "ok").observe(0.003)
    peer.latency.labels("send", "ok").observe(0.2)
    peer.long_polls.set(2)
    shipped = peer.traffic_families()

    async def peers() -> list[Any]:
        return [shipped]

    here.peers = peers
    asyncio.run(here.gather_peers())
    samples = scrape(here)
    assert samples[("raybus_queue_messages_sent_total", (("resource", "q"),))] == 7
    assert samples[("raybus_queue_bytes_sent_total", (("resource", "q"),))] == 70
    assert samples[("raybus_queue_messages_sent_total", (("resource", "other"),))] == 1
    latency = "raybus_gateway_request_duration_seconds"
    labels = (("operation", "send"), ("outcome", "ok"))
    assert samples[(latency + "_count", labels)] == 2
    assert samples[(latency + "_bucket", (("le", "0.005"), *labels))] == 1
    assert samples[(latency + "_bucket", (("le", "0.25"), *labels))] == 2
    assert samples[("raybus_gateway_long_polls", ())] == 2
    # the peer's own scrape is unchanged: only the answering process adds the others
    assert scrape(peer)[("raybus_queue_messages_sent_total", (("resource", "q"),))] == 4
