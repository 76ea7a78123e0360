"""The topic and subscription operations (SNS) as pure :class:`~raybus.sdk._wire.Op` s: each
builds its request and reads its answer; the clients run them, nothing here does I/O.

Publish batches are sent as requests of at most 10 entries and 256 KiB (SNS's PublishBatch
limits), planned by :mod:`raybus.sdk._batch`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any, cast

from raybus.core.attributes import attributes_size
from raybus.sdk._batch import BatchPlan, entry_kwargs, entry_results, plan_entries
from raybus.sdk._handles import name_of, target
from raybus.sdk._wire import (
    Call,
    Op,
    answer_list,
    answer_map,
    body_bytes,
    encode_attributes,
    names_query,
    nothing,
    path,
    without_none,
)
from raybus.sdk.errors import InternalError, InvalidParameterValue, MessageTooLong, RaybusError
from raybus.sdk.models import PublishResult, TopicStats

__all__ = [
    "MAX_PUBLISH_BYTES",
    "MAX_PUBLISH_ENTRIES",
    "PUBLISH_KEYWORDS",
    "create_topic",
    "delete_topic",
    "get_subscription",
    "get_topic",
    "list_subscriptions",
    "list_topics",
    "plan_publish_batch",
    "publish",
    "publish_entry",
    "subscribe",
    "subscription_changes",
    "subscription_endpoint",
    "subscription_settings",
    "topic_settings",
    "topic_stats",
    "unsubscribe",
    "update_subscription",
]

MAX_PUBLISH_ENTRIES = 10  # SNS PublishBatch
MAX_PUBLISH_BYTES = 262_144  # per message and per batch request
PUBLISH_KEYWORDS = frozenset({"attributes", "subject", "group_id", "dedup_id", "structure"})


# -- topics -----------------------------------------------------------------------------------


def topic_settings(
    name: str,
    fifo: bool | None,
    content_based_dedup: bool,
    dedup_scope: str = "topic",
    partitions: int | None = None,
) -> dict[str, Any]:
    fifo = name.endswith(".fifo") if fifo is None else fifo
    settings: dict[str, Any] = {
        "name": name,
        "fifo": fifo,
        "content_based_dedup": content_based_dedup,
    }
    if dedup_scope != "topic":
        settings["dedup_scope"] = dedup_scope
    if partitions is not None:
        settings["partitions"] = partitions
    return settings


def _config(answer: Mapping[str, Any]) -> dict[str, Any]:
    return answer_map(answer, "topic")


def create_topic(body: Mapping[str, Any]) -> Op[dict[str, Any]]:
    return Op(Call("POST", path("topics"), body), _config)


def get_topic(name: str) -> Op[dict[str, Any]]:
    return Op(Call("GET", path("topics", name)), _config)


def list_topics(prefix: str | None, limit: int | None) -> Op[list[str]]:
    call = Call("GET", path("topics"), params=names_query(prefix, limit))
    return Op(call, lambda a: [str(n) for n in answer_list(a, "topics")])


def delete_topic(name: str) -> Op[None]:
    return Op(Call("DELETE", path("topics", name)), nothing)


def topic_stats(name: str) -> Op[TopicStats]:
    return Op(Call("GET", path("topics", name, "stats")), lambda a: cast(TopicStats, a))


# -- publish ----------------------------------------------------------------------------------


def _structured_body(body: object, structure: str | None) -> object:
    """With ``structure="json"`` a mapping body (SNS's ``{"default": ..., "sqs": ...}``) is
    sent as its JSON text; the topic checks it either way."""
    if structure == "json" and isinstance(body, Mapping):
        return json.dumps(dict(body), ensure_ascii=False)
    return body


def publish_entry(
    body: object,
    *,
    attributes: Mapping[str, object] | None = None,
    subject: str | None = None,
    group_id: str | None = None,
    dedup_id: str | None = None,
    structure: str | None = None,
) -> tuple[dict[str, Any], int]:
    """The wire entry and the bytes it counts toward the 256 KiB limits."""
    raw = body_bytes(_structured_body(body, structure))
    entry: dict[str, Any] = {"body": raw}
    typed = encode_attributes(attributes)
    if typed:
        entry["attributes"] = {name: list(attribute) for name, attribute in typed.items()}
    for key, value in (
        ("subject", subject),
        ("group_id", group_id),
        ("dedup_id", dedup_id),
        ("structure", structure),
    ):
        if value is not None:
            entry[key] = value
    return entry, len(raw) + attributes_size(typed)


def _publish_result(answer: object) -> PublishResult:
    if not isinstance(answer, Mapping):
        raise InternalError(f"The gateway answered a publish with {answer!r:.100}.")
    sequence = answer.get("sequence_number")
    return PublishResult(
        message_id=str(answer.get("message_id", "")),
        sequence_number=None if sequence is None else str(sequence),
        duplicate=bool(answer.get("duplicate", False)),
    )


def publish(name: str, entry: Mapping[str, Any]) -> Op[PublishResult]:
    return Op(Call("POST", path("topics", name, "publish"), entry), _publish_result)


def _publish_wire(entry: object) -> tuple[dict[str, Any], int]:
    body, kwargs = entry_kwargs(entry, PUBLISH_KEYWORDS)
    wire, size = publish_entry(body, **kwargs)
    if size > MAX_PUBLISH_BYTES:
        raise MessageTooLong(
            f"The message is {size} bytes; a topic takes at most {MAX_PUBLISH_BYTES}.",
            limit=MAX_PUBLISH_BYTES,
        )
    return wire, size


def plan_publish_batch(name: str, entries: Iterable[object]) -> BatchPlan[PublishResult]:
    """Requests of at most 10 entries and 256 KiB each, in order; entries the SDK can refuse
    itself (no body, an unknown key, an attribute of no SNS type, over 256 KiB) get their
    error in their slot and are not sent."""

    def request(wire: list[dict[str, Any]]) -> Op[list[PublishResult | RaybusError]]:
        call = Call("POST", path("topics", name, "publish"), {"entries": wire})
        return Op(call, entry_results(len(wire), _publish_result))

    return plan_entries(
        entries,
        build=_publish_wire,
        max_entries=MAX_PUBLISH_ENTRIES,
        max_bytes=MAX_PUBLISH_BYTES,
        request=request,
    )


# -- subscriptions ----------------------------------------------------------------------------


def subscription_endpoint(value: object) -> tuple[str, str]:
    """``(protocol, endpoint)`` of a subscription target: a queue (handle or ``queue:<name>``),
    a function (handle, ``function:<name>`` or a bare name) or an ``http(s)://`` URL."""
    if isinstance(value, str) and value:
        lowered = value.lower()
        for protocol in ("https", "http"):
            if lowered.startswith(protocol + "://"):
                return protocol, value
        kind, sep, name = value.partition(":")
        if not sep:
            return "function", value
        if kind in ("queue", "function") and name:
            return kind, name
    else:
        handle_kind = getattr(value, "resource_kind", None)
        if handle_kind in ("queue", "function"):
            return str(handle_kind), name_of(cast(Any, value))
    raise InvalidParameterValue(
        "A subscription target is a queue, a function or an http(s):// URL "
        f"(queue:<name>, function:<name>, a function name), not {value!r:.80}.",
        parameter="target",
    )


def _dead_letter_queue(value: object) -> str | None:
    return None if value is None else target(value, "dead_letter_queue", ("queue",))


def subscription_settings(
    endpoint: object,
    *,
    raw: bool,
    filter_policy: Mapping[str, Any] | None,
    filter_policy_scope: str,
    dead_letter_queue: object,
    delivery_policy: Mapping[str, Any] | None,
) -> dict[str, Any]:
    protocol, address = subscription_endpoint(endpoint)
    return without_none(
        {
            "protocol": protocol,
            "endpoint": address,
            "raw": raw,
            "filter_policy": None if filter_policy is None else dict(filter_policy),
            "filter_policy_scope": filter_policy_scope,
            "dead_letter_queue": _dead_letter_queue(dead_letter_queue),
            "delivery_policy": None if delivery_policy is None else dict(delivery_policy),
        }
    )


def subscription_changes(changes: Mapping[str, Any]) -> dict[str, Any]:
    """An update body; ``dead_letter_queue`` may be a queue handle (``None`` removes it)."""
    body = dict(changes)
    if body.get("dead_letter_queue") is not None:
        body["dead_letter_queue"] = _dead_letter_queue(body["dead_letter_queue"])
    return body


def _subscription(answer: Mapping[str, Any]) -> dict[str, Any]:
    return answer_map(answer, "subscription")


def subscribe(topic: str, settings: Mapping[str, Any]) -> Op[dict[str, Any]]:
    return Op(Call("POST", path("topics", topic, "subscriptions"), settings), _subscription)


def list_subscriptions(topic: str) -> Op[list[dict[str, Any]]]:
    call = Call("GET", path("topics", topic, "subscriptions"))
    return Op(call, lambda a: [s for s in answer_list(a, "subscriptions") if isinstance(s, dict)])


def get_subscription(sub_id: str) -> Op[dict[str, Any]]:
    return Op(Call("GET", path("subscriptions", sub_id)), _subscription)


def update_subscription(sub_id: str, changes: Mapping[str, Any]) -> Op[dict[str, Any]]:
    return Op(Call("PATCH", path("subscriptions", sub_id), changes), _subscription)


def unsubscribe(sub_id: str) -> Op[None]:
    return Op(Call("DELETE", path("subscriptions", sub_id)), nothing)
