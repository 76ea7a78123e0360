"""Prometheus samples of topics, subscriptions, functions, event-source mappings, buses,
rules and their targets, and buckets.

At scrape time the gateway asks every partition host for its resource stats once (topic
engines, the function invoker, mapping pollers; :meth:`PartitionHost.resource_stats`) and hands
them, with its routing table and the queue partitions' stats, to
:meth:`ResourceCollector.update`; the collector turns them into samples. Counters count since
the hosting process started (Prometheus handles the resets).

Labels name what a person recognises, never an id: ``resource`` is the topic or function; a
subscription is ``resource="<topic>"`` with ``endpoint`` (:func:`subscription_endpoint`), and
a mapping ``resource="<source>"`` (``queue:<name>`` or ``topic:<name>``) with
``endpoint="function:<name>"``. ``endpoint`` means where the messages go in both. Each pair
names one subscription or mapping — a topic's subscriptions are unique per endpoint (SNS
returns the existing one), the subscription a topic's mapping owns is ``mapping:<function>``,
and there is one mapping per source and function — so there is one series per subscription or
mapping and nothing per message (samples of one pair are summed, so a duplicate can never
break a scrape). A subscription or mapping the routing table does not know yet (or any more)
is left out of that scrape.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
)
from prometheus_client.registry import Collector

from raybus.core.buses import target_key
from raybus.core.routing import RoutingTable
from raybus.core.topics import SubscriptionConfig

__all__ = [
    "ResourceCollector",
    "mapping_backlogs",
    "merge_function_metrics",
    "subscription_endpoint",
]

_SUBSCRIPTION_COUNTERS = (
    ("delivered", "Deliveries acknowledged by the endpoint."),
    ("failed", "Delivery attempts that failed."),
    ("retried", "Retry deliveries taken from the delivery policy."),
    ("dead_lettered", "Messages moved to the subscription's dead-letter queue."),
    ("discarded", "Messages dropped when the policy was exhausted without a DLQ."),
    ("filtered", "Messages the filter policy kept from the subscription."),
)
# EventBridge's metrics (AWS/Events): name, raybus's counter, help
_TARGET_COUNTERS = (
    ("invocations", "invocations", "Deliveries attempted (EventBridge's Invocations)."),
    ("failed_invocations", "failed", "Delivery attempts that failed."),
    ("retry_invocation_attempts", "retried", "Deliveries that were retries "
     "(RetryInvocationAttempts)."),
    ("dead_letter_invocations", "dead_lettered", "Events moved to the target's dead-letter "
     "queue (DeadLetterInvocations)."),
    ("discarded_events", "discarded", "Events given up without a dead-letter queue."),
    ("delivered_events", "delivered", "Events the target acknowledged."),
)  # fmt: skip
_FUNCTION_COUNTERS = (
    ("invocations", "Invocations run (successes and failures)."),
    ("errors", "Invocations that failed."),
    ("throttles", "Invocations refused or delayed by reserved concurrency."),
    ("timeouts", "Invocations stopped at their timeout."),
)
_MAPPING_COUNTERS = (
    ("invocations", "Batches handed to the function."),
    ("errors", "Batches that failed (all or in part by a malformed response)."),
    ("filtered", "Messages dropped by the filter criteria."),
    ("deleted", "Messages deleted after processing or filtering."),
)


def subscription_endpoint(sub: SubscriptionConfig, mapping: bool = False) -> str:
    """The ``endpoint`` label of a subscription: ``queue:<name>``, ``function:<name>``,
    ``mapping:<function>`` for the subscription an event-source mapping from the topic owns,
    or for HTTP(S) ``<scheme>://<host[:port]>#<first 8 hex digits of the URL's SHA-256>`` —
    /metrics is open and a webhook URL's path or query may be a secret, so it is not shown;
    the digest tells two endpoints on one host apart."""
    if mapping:
        return f"mapping:{sub.endpoint}"
    if sub.protocol in ("queue", "function"):
        return f"{sub.protocol}:{sub.endpoint}"
    digest = hashlib.sha256(sub.endpoint.encode("utf-8")).hexdigest()[:8]
    try:
        parts = urlsplit(sub.endpoint)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:  # checked by the controller; never fail a scrape over one URL
        host, port = "", None
    if port is not None:
        host = f"{host}:{port}"
    return f"{sub.protocol}://{host}#{digest}"


def mapping_backlogs(
    table: RoutingTable,
    queues: Mapping[str, Sequence[Mapping[str, Any]]],
    hosts: Sequence[Mapping[str, Any]],
) -> dict[str, int]:
    """Messages waiting for each mapping, by mapping id: a queue source's visible and delayed
    messages (``queues``: its partitions' stats), a topic source's subscription backlog
    (from the hosts' resource stats). Sources without stats this scrape are left out."""
    topics = {name: stats for host in hosts for name, stats in host.get("topics", {}).items()}
    backlogs: dict[str, int] = {}
    for mapping in table.configs("mapping").values():
        kind, _, source = mapping.source.partition(":")
        if kind == "queue" and source in queues:
            backlogs[mapping.id] = sum(
                p.get("visible", 0) + p.get("delayed", 0) for p in queues[source]
            )
        elif kind == "topic" and source in topics:
            sub = topics[source].get("subscriptions", {}).get(mapping.subscription or "", {})
            backlogs[mapping.id] = sub.get("backlog", 0)
    return backlogs


def merge_function_metrics(parts: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Sum one function's metrics over processes (histogram buckets add per bound)."""
    merged: dict[str, dict[str, Any]] = {}
    for part in parts:
        for name, metrics in part.items():
            total = merged.get(name)
            if total is None:
                merged[name] = {
                    **metrics,
                    "duration_seconds": {
                        "buckets": list(metrics["duration_seconds"]["buckets"]),
                        "sum": metrics["duration_seconds"]["sum"],
                        "count": metrics["duration_seconds"]["count"],
                    },
                }
                continue
            for key in ("invocations", "errors", "throttles", "timeouts", "in_flight"):
                total[key] = total.get(key, 0) + metrics.get(key, 0)
            duration, extra = total["duration_seconds"], metrics["duration_seconds"]
            duration["buckets"] = [
                (bound, count + other)
                for (bound, count), (_, other) in zip(
                    duration["buckets"], extra["buckets"], strict=True
                )
            ]
            duration["sum"] += extra["sum"]
            duration["count"] += extra["count"]
    return merged


class ResourceCollector(Collector):
    """Samples of the latest :meth:`update` (one scrape's inputs; replaced whole each time)."""

    def __init__(self) -> None:
        self.table: RoutingTable | None = None  # names the subscriptions and mappings
        self.hosts: Sequence[Mapping[str, Any]] = ()
        self.own_invoker: Callable[[], Any] | None = None  # a standalone gateway's invoker
        self.backlogs: Mapping[str, int] = {}  # mapping id -> waiting messages

    def update(
        self,
        table: RoutingTable,
        queues: Mapping[str, Sequence[Mapping[str, Any]]],
        hosts: Sequence[Mapping[str, Any]],
    ) -> None:
        """This scrape's inputs: the gateway's routing table, every queue's partition stats
        and every host's :meth:`PartitionHost.resource_stats` (empty when the table has no
        topics, functions or mappings)."""
        self.table = table
        self.hosts = hosts
        self.backlogs = mapping_backlogs(table, queues, hosts)

    def _subscription_labels(self) -> dict[str, tuple[str, str]]:
        """Subscription id -> (topic, endpoint), from the routing table."""
        table = self.table
        if table is None:
            return {}
        mappings = table.configs("mapping").values()
        owned = {m.subscription for m in mappings if m.subscription is not None}
        return {
            sub.id: (topic, subscription_endpoint(sub, mapping=sub.id in owned))
            for topic, route in table.routes("topic").items()
            for sub in route.attached
        }

    def _mapping_labels(self) -> dict[str, tuple[str, str]]:
        """Mapping id -> (source, ``function:<name>``), from the routing table."""
        table = self.table
        if table is None:
            return {}
        return {
            mapping_id: (mapping.source, f"function:{mapping.function}")
            for mapping_id, mapping in table.configs("mapping").items()
        }

    def collect(self) -> Iterator[Any]:
        labels = ["resource"]
        published = CounterMetricFamily(
            "raybus_topic_messages_published", "Messages published.", labels=labels
        )
        retained = GaugeMetricFamily(
            "raybus_topic_messages_retained",
            "Messages kept until every subscription settles them.",
            labels=labels,
        )
        pair = ["resource", "endpoint"]
        subs = {
            key: CounterMetricFamily(f"raybus_subscription_messages_{key}", text, labels=pair)
            for key, text in _SUBSCRIPTION_COUNTERS
        }
        backlog = GaugeMetricFamily(
            "raybus_subscription_backlog_messages",
            "Messages not yet settled for the subscription (including retries).",
            labels=pair,
        )
        names = self._subscription_labels()
        topics: dict[str, dict[str, int]] = {}
        per_sub: dict[tuple[str, str], dict[str, int]] = {}
        for host in self.hosts:  # summed, so a topic seen twice (mid-move) is one series
            for topic, stats in host.get("topics", {}).items():
                _add(topics.setdefault(topic, {}), stats, ("published", "retained"))
                for sub_id, sub in stats.get("subscriptions", {}).items():
                    if sub_id in names:
                        keys = (*(key for key, _ in _SUBSCRIPTION_COUNTERS), "backlog")
                        _add(per_sub.setdefault(names[sub_id], {}), sub, keys)
        for topic, counts in topics.items():
            published.add_metric([topic], counts["published"])
            retained.add_metric([topic], counts["retained"])
        for (topic, endpoint), counts in per_sub.items():
            for key, family in subs.items():
                family.add_metric([topic, endpoint], counts[key])
            backlog.add_metric([topic, endpoint], counts["backlog"])
        yield from (published, retained, *subs.values(), backlog)
        yield from self._functions()
        yield from self._mappings()
        yield from self._buses()
        yield from self._buckets()

    def _own_functions(self) -> Mapping[str, Any]:
        invoker = None if self.own_invoker is None else self.own_invoker()
        return {} if invoker is None else dict(invoker.metrics())

    def _functions(self) -> Iterator[Any]:
        labels = ["resource"]
        functions = merge_function_metrics(
            [host.get("functions", {}) for host in self.hosts] + [self._own_functions()]
        )
        families = {
            key: CounterMetricFamily(f"raybus_function_{key}", text, labels=labels)
            for key, text in _FUNCTION_COUNTERS
        }
        in_flight = GaugeMetricFamily(
            "raybus_function_in_flight", "Invocations running now.", labels=labels
        )
        duration = HistogramMetricFamily(
            "raybus_function_duration_seconds", "Handler run time.", labels=labels
        )
        for name, metrics in functions.items():
            for key, family in families.items():
                family.add_metric([name], metrics.get(key, 0))
            in_flight.add_metric([name], metrics.get("in_flight", 0))
            hist = metrics["duration_seconds"]
            duration.add_metric([name], list(hist["buckets"]), hist["sum"])
        yield from (*families.values(), in_flight, duration)

    def _mappings(self) -> Iterator[Any]:
        labels = ["resource", "endpoint"]
        names = self._mapping_labels()
        backlog = GaugeMetricFamily(
            "raybus_mapping_backlog_messages",
            "Messages waiting in the mapping's source.",
            labels=labels,
        )
        waiting: dict[tuple[str, str], dict[str, int]] = {}
        for mapping_id, count in self.backlogs.items():
            if mapping_id in names:
                _add(waiting.setdefault(names[mapping_id], {}), {"backlog": count}, ("backlog",))
        for pair, counts in waiting.items():
            backlog.add_metric(list(pair), counts["backlog"])
        counters = {
            key: CounterMetricFamily(f"raybus_mapping_{key}", text, labels=labels)
            for key, text in _MAPPING_COUNTERS
        }
        totals: dict[tuple[str, str], dict[str, int]] = {}
        for host in self.hosts:
            for mapping_id, counts in host.get("mappings", {}).items():
                if mapping_id in names:
                    _add(totals.setdefault(names[mapping_id], {}), counts, tuple(counts))
        for pair, counts in totals.items():
            for key, family in counters.items():
                family.add_metric(list(pair), counts.get(key, 0))
        yield from (backlog, *counters.values())

    def _target_labels(self) -> dict[str, tuple[str, str, str]]:
        """Target key (``<bus>/<rule>/<id>``) → (bus, rule, endpoint), from the routing
        table; the endpoint names where the events go (``queue:<name>``, ``archive:<name>``,
        ...)."""
        table = self.table
        if table is None:
            return {}
        labels: dict[str, tuple[str, str, str]] = {}
        for bus, route in table.routes("bus").items():
            for rule in route.attached:
                for target in getattr(rule, "targets", ()):
                    labels[target_key(bus, rule.name, target.id)] = (
                        bus,
                        rule.name,
                        f"{target.kind}:{target.name}",
                    )
        return labels

    def _buses(self) -> Iterator[Any]:
        bus_labels = ["resource"]
        events = CounterMetricFamily(
            "raybus_bus_events", "Events put on the bus (PutEvents entries accepted).",
            labels=bus_labels,
        )  # fmt: skip
        matched = CounterMetricFamily(
            "raybus_bus_matched_events",
            "Events that matched at least one rule (EventBridge's MatchedEvents).",
            labels=bus_labels,
        )
        triggered = CounterMetricFamily(
            "raybus_rule_triggered_rules",
            "Events the rule matched (EventBridge's TriggeredRules).",
            labels=["resource", "rule"],
        )
        latency = HistogramMetricFamily(
            "raybus_bus_ingestion_to_invocation_start_latency_seconds",
            "From an event's put to its first delivery attempt "
            "(EventBridge's IngestionToInvocationStartLatency).",
            labels=bus_labels,
        )
        target_labels = ["resource", "rule", "endpoint"]
        families = {
            counter: CounterMetricFamily(f"raybus_target_{name}", text, labels=target_labels)
            for name, counter, text in _TARGET_COUNTERS
        }
        backlog = GaugeMetricFamily(
            "raybus_target_backlog_events",
            "Events the target still owes (pending, retrying, in flight).",
            labels=target_labels,
        )
        names = self._target_labels()
        buses: dict[str, dict[str, Any]] = {}
        for host in self.hosts:
            for bus, stats in host.get("buses", {}).items():
                total = buses.setdefault(bus, {"targets": {}, "rules": {}, "buckets": {}})
                _add(total, stats, ("events", "matched"))
                for rule_key, hits in stats.get("rules", {}).items():
                    total["rules"][rule_key] = total["rules"].get(rule_key, 0) + hits
                hist = stats.get("latency", {})
                _add(total["buckets"], hist.get("buckets", {}), tuple(hist.get("buckets", {})))
                total["latency_sum"] = total.get("latency_sum", 0.0) + hist.get("sum", 0.0)
                for key, counts in stats.get("targets", {}).items():
                    if key in names:
                        keys = (*(c for _, c, _ in _TARGET_COUNTERS), "backlog")
                        _add(total["targets"].setdefault(names[key], {}), counts, keys)
        for bus, total in buses.items():
            events.add_metric([bus], total["events"])
            matched.add_metric([bus], total["matched"])
            for rule_key, hits in total["rules"].items():
                triggered.add_metric([bus, rule_key.rsplit("/", 1)[-1]], hits)
            if total["buckets"]:
                buckets = sorted(
                    total["buckets"].items(),
                    key=lambda item: float("inf") if item[0] == "+Inf" else float(item[0]),
                )
                latency.add_metric([bus], buckets, total.get("latency_sum", 0.0))
            for labels, counts in total["targets"].items():
                for _name, counter, _ in _TARGET_COUNTERS:
                    families[counter].add_metric(list(labels), counts[counter])
                backlog.add_metric(list(labels), counts["backlog"])
        yield from (events, matched, triggered, latency, *families.values(), backlog)

    def _buckets(self) -> Iterator[Any]:
        """S3's storage and request metrics (AWS/S3): BucketSizeBytes, NumberOfObjects, the
        request counts, BytesUploaded and BytesDownloaded, and the notifications' outcomes."""
        labels = ["resource"]
        size = GaugeMetricFamily(
            "raybus_bucket_size_bytes",
            "Bytes stored in the bucket's current and noncurrent versions (S3's BucketSizeBytes).",
            labels=labels,
        )
        objects = GaugeMetricFamily(
            "raybus_bucket_objects",
            "Objects stored, every version counted (S3's NumberOfObjects).",
            labels=labels,
        )
        requests = CounterMetricFamily(
            "raybus_bucket_requests",
            "Object requests by operation (S3's PutRequests, GetRequests, DeleteRequests, "
            "ListRequests).",
            labels=["resource", "operation"],
        )
        families = {
            counter: CounterMetricFamily(f"raybus_bucket_{counter}", text, labels=labels)
            for counter, text in _BUCKET_COUNTERS
        }
        buckets: dict[str, dict[str, int]] = {}
        keys = ("bytes", "objects", "puts", "gets", "deletes", "lists", *dict(_BUCKET_COUNTERS))
        for host in self.hosts:
            for bucket, stats in host.get("buckets", {}).items():
                _add(buckets.setdefault(bucket, {}), stats, keys)
        for bucket, total in buckets.items():
            size.add_metric([bucket], total["bytes"])
            objects.add_metric([bucket], total["objects"])
            for operation in ("puts", "gets", "deletes", "lists"):
                requests.add_metric([bucket, operation[:-1]], total[operation])
            for counter, _ in _BUCKET_COUNTERS:
                families[counter].add_metric([bucket], total[counter])
        yield from (size, objects, requests, *families.values())


_BUCKET_COUNTERS = (
    ("bytes_uploaded", "Bytes uploaded in puts and parts (S3's BytesUploaded)."),
    ("bytes_downloaded", "Bytes of the objects read by GETs (S3's BytesDownloaded)."),
    (
        "notifications",
        "Event notifications (and replications) owed, each committed with its change.",
    ),
    ("notifications_delivered", "Event notifications delivered."),
    ("notifications_failed", "Event notification deliveries that failed (each retried)."),
    ("notifications_dropped", "Event notifications given up after a day of failures."),
)


def _add(total: dict[str, int], counts: Mapping[str, Any], keys: Sequence[str]) -> None:
    """Add ``counts[key]`` (0 when absent) into ``total[key]`` for every key."""
    for key in keys:
        total[key] = total.get(key, 0) + counts.get(key, 0)
