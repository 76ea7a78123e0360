"""Prometheus metrics of one gateway (`raybus_<component>_<thing>_<unit>`).

Counters the gateway sees itself (messages sent/received/deleted, bytes, request latency,
throttles) are updated on the request path. Depth gauges and the dead-letter counter belong to
the partitions: at scrape time the gateway reads every partition's stats once and a custom
collector turns them into samples labelled ``resource`` and ``partition``. Labels are
``resource``, ``partition``, ``operation`` and ``outcome``, and ``endpoint`` for subscriptions
and event-source mappings (:mod:`raybus.gateway.resource_metrics`) — never message, group,
subscription or mapping ids.

No ``_created`` series: prometheus_client adds one to every counter and histogram child by
default, doubling the lines of a scrape for a value nobody graphs. The registry drops them
itself (:class:`MetricsRegistry`) rather than through ``disable_created_metrics()`` or
``PROMETHEUS_DISABLE_CREATED_SERIES``, which switch every registry of the process (and the
variable is read only when prometheus_client is first imported, which Ray may do first).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from raybus.gateway.resource_metrics import ResourceCollector

__all__ = ["GatewayMetrics", "MetricsRegistry"]

LATENCY_BUCKETS = (
    0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 25.0,
)  # fmt: skip


class MetricsRegistry(CollectorRegistry):
    """A registry whose counters and histograms export no ``<name>_created`` samples (only
    this registry: nothing process-wide changes)."""

    def collect(self) -> Iterator[Metric]:
        for family in super().collect():
            created = family.name + "_created"
            if any(sample.name == created for sample in family.samples):
                kept = Metric(family.name, family.documentation, family.type, family.unit)
                kept.samples = [s for s in family.samples if s.name != created]
                family = kept
            yield family


class _PartitionCollector(Collector):
    def __init__(self) -> None:
        self.latest: Mapping[str, list[dict[str, Any]]] = {}
        self.parked = 0

    def collect(self) -> Iterator[Any]:
        labels = ["resource", "partition"]
        visible = GaugeMetricFamily(
            "raybus_queue_messages_visible", "Messages available to receive.", labels=labels
        )
        in_flight = GaugeMetricFamily(
            "raybus_queue_messages_in_flight", "Messages received and not deleted.", labels=labels
        )
        delayed = GaugeMetricFamily(
            "raybus_queue_messages_delayed", "Messages not yet visible.", labels=labels
        )
        age = GaugeMetricFamily(
            "raybus_queue_oldest_message_age_seconds", "Age of the oldest message.", labels=labels
        )
        dead = CounterMetricFamily(
            "raybus_queue_messages_dead_lettered",
            "Messages moved to the dead-letter queue (since the partition opened).",
            labels=labels,
        )
        expired = CounterMetricFamily(
            "raybus_queue_messages_expired",
            "Messages dropped by the retention period (since the partition opened).",
            labels=labels,
        )
        for queue, parts in self.latest.items():
            for index, part in enumerate(parts):
                values = [queue, str(index)]
                visible.add_metric(values, part.get("visible", 0))
                in_flight.add_metric(values, part.get("in_flight", 0))
                delayed.add_metric(values, part.get("delayed", 0))
                age.add_metric(values, part.get("oldest_age_ms", 0) / 1000)
                dead.add_metric(values, part.get("dead_lettered", 0))
                expired.add_metric(values, part.get("expired", 0))
        yield from (visible, in_flight, delayed, age, dead, expired)
        yield GaugeMetricFamily(
            "raybus_gateway_long_polls", "Receives waiting in a long poll.", value=self.parked
        )


class GatewayMetrics:
    def __init__(self) -> None:
        self.registry: CollectorRegistry = MetricsRegistry()
        resource = ["resource"]
        self.sent = Counter(
            "raybus_queue_messages_sent", "Messages accepted.", resource, registry=self.registry
        )
        self.sent_bytes = Counter(
            "raybus_queue_bytes_sent", "Body bytes accepted.", resource, registry=self.registry
        )
        self.received = Counter(
            "raybus_queue_messages_received",
            "Messages handed to consumers.",
            resource,
            registry=self.registry,
        )
        self.deleted = Counter(
            "raybus_queue_messages_deleted", "Messages deleted.", resource, registry=self.registry
        )
        self.latency = Histogram(
            "raybus_gateway_request_duration_seconds",
            "Request latency by operation and outcome.",
            ["operation", "outcome"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.throttled = Counter(
            "raybus_gateway_throttled",
            "Requests refused with 429.",
            ["operation"],
            registry=self.registry,
        )
        self.partitions = _PartitionCollector()
        self.registry.register(self.partitions)
        self.resources = ResourceCollector()
        self.registry.register(self.resources)
        self.totals = {"sent": 0, "received": 0, "deleted": 0}

    def count(self, kind: str, queue: str, amount: int, nbytes: int = 0) -> None:
        if amount <= 0:
            return
        self.totals[kind] += amount
        if kind == "sent":
            self.sent.labels(queue).inc(amount)
            self.sent_bytes.labels(queue).inc(nbytes)
        elif kind == "received":
            self.received.labels(queue).inc(amount)
        else:
            self.deleted.labels(queue).inc(amount)

    def forget(self, queue: str) -> None:
        for metric in (self.sent, self.sent_bytes, self.received, self.deleted):
            with contextlib.suppress(KeyError):
                metric.remove(queue)
