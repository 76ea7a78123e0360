"""Prometheus samples of topics, subscriptions, functions and event-source mappings.

At scrape time the gateway asks every partition host for its resource stats once (topic
engines, the function invoker, mapping pollers; :meth:`PartitionHost.resource_stats`) and this
collector turns the merged answer into samples. Counters count since the hosting process
started (Prometheus handles the resets). Labels: ``resource`` only — a topic, a subscription
as ``<topic>/<subscription id>``, a function, or a mapping id.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
)
from prometheus_client.registry import Collector

__all__ = ["ResourceCollector", "merge_function_metrics"]

_SUBSCRIPTION_COUNTERS = (
    ("delivered", "Deliveries acknowledged by the endpoint."),
    ("failed", "Delivery attempts that failed."),
    ("retried", "Retry deliveries taken from the delivery policy."),
    ("dead_lettered", "Messages moved to the subscription's dead-letter queue."),
    ("discarded", "Messages dropped when the policy was exhausted without a DLQ."),
    ("filtered", "Messages the filter policy kept from the subscription."),
)
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
    def __init__(self) -> None:
        self.hosts: Sequence[Mapping[str, Any]] = ()
        self.own_invoker: Callable[[], Any] | None = None  # a standalone gateway's invoker
        self.backlogs: Mapping[str, int] = {}  # mapping id -> waiting messages

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
        subs = {
            key: CounterMetricFamily(f"raybus_subscription_messages_{key}", text, labels=labels)
            for key, text in _SUBSCRIPTION_COUNTERS
        }
        backlog = GaugeMetricFamily(
            "raybus_subscription_backlog_messages",
            "Messages not yet settled for the subscription (including retries).",
            labels=labels,
        )
        for host in self.hosts:
            for topic, stats in host.get("topics", {}).items():
                published.add_metric([topic], stats.get("published", 0))
                retained.add_metric([topic], stats.get("retained", 0))
                for sub_id, sub in stats.get("subscriptions", {}).items():
                    resource = [f"{topic}/{sub_id}"]
                    for key, family in subs.items():
                        family.add_metric(resource, sub.get(key, 0))
                    backlog.add_metric(resource, sub.get("backlog", 0))
        yield from (published, retained, *subs.values(), backlog)
        yield from self._functions()
        yield from self._mappings()

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
        labels = ["resource"]
        backlog = GaugeMetricFamily(
            "raybus_mapping_backlog_messages",
            "Messages waiting in the mapping's source.",
            labels=labels,
        )
        for mapping_id, waiting in self.backlogs.items():
            backlog.add_metric([mapping_id], waiting)
        counters = {
            key: CounterMetricFamily(f"raybus_mapping_{key}", text, labels=labels)
            for key, text in _MAPPING_COUNTERS
        }
        totals: dict[str, dict[str, int]] = {}
        for host in self.hosts:
            for mapping_id, counts in host.get("mappings", {}).items():
                total = totals.setdefault(mapping_id, {})
                for key, value in counts.items():
                    total[key] = total.get(key, 0) + value
        for mapping_id, counts in totals.items():
            for key, family in counters.items():
                family.add_metric([mapping_id], counts.get(key, 0))
        yield from (backlog, *counters.values())
