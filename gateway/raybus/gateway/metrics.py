"""Prometheus metrics of one gateway (`raybus_<component>_<thing>_<unit>`).

Counters the gateway sees itself (messages sent/received/deleted, bytes, request latency,
throttles) are updated on the request path. Depth gauges and the dead-letter counter belong to
the partitions: at scrape time the gateway reads every partition's stats once and a custom
collector turns them into samples labelled ``resource`` and ``partition``. Labels are
``resource``, ``partition``, ``operation`` and ``outcome``, and ``endpoint`` for subscriptions
and event-source mappings (:mod:`raybus.gateway.resource_metrics`) — never message, group,
subscription or mapping ids.

Several processes may serve one address (every partition host of an embedded cluster listens
on the same port, :mod:`raybus.gateway.actor`), and a scrape reaches any one of them. So the
request-path counters live in a registry of their own (``traffic``); the process that answers a
scrape adds its peers' (:meth:`GatewayMetrics.traffic_families`, fetched over Ray) to its own,
sample by sample, and a scrape shows the whole address whichever process answers. The
partition and resource samples are read cluster-wide at scrape time already.

No ``_created`` series: prometheus_client adds one to every counter and histogram child by
default, doubling the lines of a scrape for a value nobody graphs. The registry drops them
itself (:class:`MetricsRegistry`) rather than through ``disable_created_metrics()`` or
``PROMETHEUS_DISABLE_CREATED_SERIES``, which switch every registry of the process (and the
variable is read only when prometheus_client is first imported, which Ray may do first).
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from raybus.actors.router import CALLS
from raybus.gateway.resource_metrics import ResourceCollector

__all__ = ["Families", "GatewayMetrics", "MetricsRegistry"]

#: Metric families as plain data (Ray carries them between processes):
#: ``(name, documentation, type, [(sample name, labels, value), ...])`` per family.
Families = list[tuple[str, str, str, list[tuple[str, dict[str, str], float]]]]

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


def families_of(registry: CollectorRegistry) -> Families:
    return [
        (f.name, f.documentation, f.type, [(x.name, dict(x.labels), x.value) for x in f.samples])
        for f in registry.collect()
    ]


class _Traffic(Collector):
    """This process's request-path families plus its peers' (``peers``, set just before a
    scrape), summed sample by sample: counters, histogram buckets and the long-poll gauge all
    add up over the processes serving one address."""

    def __init__(self, own: CollectorRegistry) -> None:
        self.own = own
        self.peers: list[Families] = []

    def collect(self) -> Iterator[Metric]:
        merged: dict[str, Metric] = {}
        values: dict[tuple[str, str, tuple[tuple[str, str], ...]], float] = {}
        for families in (families_of(self.own), *self.peers):
            for name, documentation, kind, samples in families:
                if name not in merged:
                    merged[name] = Metric(name, documentation, kind)
                for sample, labels, value in samples:
                    key = (name, sample, tuple(sorted(labels.items())))
                    values[key] = values.get(key, 0.0) + value
        for (name, sample, pairs), value in values.items():
            merged[name].add_sample(sample, dict(pairs), value)
        yield from merged.values()


class _PartitionCalls(Collector):
    """``raybus_partition_calls_total{path}``: this process's calls to partitions by path
    (:data:`raybus.actors.router.CALLS`) — how much of the load stays in the process that
    received it, and what crosses to other hosts on their channels or through Ray."""

    def collect(self) -> Iterator[Metric]:
        family = CounterMetricFamily(
            "raybus_partition_calls",
            "Calls to partitions by path: local (this process), channel (another host's "
            "channel) or ray (a Ray actor call).",
            labels=["path"],
        )
        for path in ("local", "channel", "ray"):
            family.add_metric([path], CALLS[path])
        yield family


class _PartitionCollector(Collector):
    def __init__(self) -> None:
        self.latest: Mapping[str, list[dict[str, Any]]] = {}

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


class GatewayMetrics:
    def __init__(self) -> None:
        self.traffic: CollectorRegistry = MetricsRegistry()  # this process's request path
        resource = ["resource"]
        self.sent = Counter(
            "raybus_queue_messages_sent", "Messages accepted.", resource, registry=self.traffic
        )
        self.sent_bytes = Counter(
            "raybus_queue_bytes_sent", "Body bytes accepted.", resource, registry=self.traffic
        )
        self.received = Counter(
            "raybus_queue_messages_received",
            "Messages handed to consumers.",
            resource,
            registry=self.traffic,
        )
        self.deleted = Counter(
            "raybus_queue_messages_deleted", "Messages deleted.", resource, registry=self.traffic
        )
        self.latency = Histogram(
            "raybus_gateway_request_duration_seconds",
            "Request latency by operation and outcome.",
            ["operation", "outcome"],
            buckets=LATENCY_BUCKETS,
            registry=self.traffic,
        )
        self.throttled = Counter(
            "raybus_gateway_throttled",
            "Requests refused with 429.",
            ["operation"],
            registry=self.traffic,
        )
        self.long_polls = Gauge(
            "raybus_gateway_long_polls", "Receives waiting in a long poll.", registry=self.traffic
        )
        self.traffic.register(_PartitionCalls())
        self.registry: CollectorRegistry = MetricsRegistry()  # what a scrape answers
        self._traffic = _Traffic(self.traffic)
        self.registry.register(self._traffic)
        self.partitions = _PartitionCollector()
        self.registry.register(self.partitions)
        self.resources = ResourceCollector()
        self.registry.register(self.resources)
        self.totals = {"sent": 0, "received": 0, "deleted": 0}
        # labelled children by (family, labels): ``labels()`` takes a lock and checks its
        # arguments on every call, twice per request
        self._children: dict[tuple[int, tuple[str, ...]], Any] = {}
        #: the request-path families of the other processes serving this address
        self.peers: Callable[[], Awaitable[Sequence[Families]]] | None = None

    def traffic_families(self) -> Families:
        """This process's request-path families, for the peer answering a scrape."""
        return families_of(self.traffic)

    async def gather_peers(self) -> None:
        """Fetch the peers' request-path families for the scrape about to be answered."""
        self._traffic.peers = list(await self.peers()) if self.peers is not None else []

    def _child(self, family: Any, *labels: str) -> Any:
        key = (id(family), labels)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = family.labels(*labels)
        return child

    def observe(self, operation: str, outcome: str, seconds: float) -> None:
        """One request's latency, by operation and outcome."""
        self._child(self.latency, operation, outcome).observe(seconds)

    def count(self, kind: str, queue: str, amount: int, nbytes: int = 0) -> None:
        if amount <= 0:
            return
        self.totals[kind] += amount
        if kind == "sent":
            self._child(self.sent, queue).inc(amount)
            self._child(self.sent_bytes, queue).inc(nbytes)
        elif kind == "received":
            self._child(self.received, queue).inc(amount)
        else:
            self._child(self.deleted, queue).inc(amount)

    def forget(self, queue: str) -> None:
        for metric in (self.sent, self.sent_bytes, self.received, self.deleted):
            self._children.pop((id(metric), (queue,)), None)
            with contextlib.suppress(KeyError):
                metric.remove(queue)
