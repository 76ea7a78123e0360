"""The topic, subscription, function and event-source-mapping operations as pure :class:`Op` s
(see :mod:`raybus.sdk._ops` for queues); nothing here does I/O.

Resources are named on the wire as targets, ``"<kind>:<name>"`` (``queue:orders``,
``topic:alerts``, ``function:resize``). The SDK accepts its own handles wherever a target is
expected: each handle class names its kind in ``resource_kind``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, cast

from raybus.core.attributes import attributes_size
from raybus.sdk._code import serialize_handler
from raybus.sdk._ops import BatchPlan, _entry_results, _list, _map, _nothing, chunks, name_of
from raybus.sdk._wire import Call, Op, body_bytes, encode_attributes, path
from raybus.sdk.errors import (
    FunctionError,
    InternalError,
    InvalidParameterValue,
    MessageTooLong,
    RaybusError,
)
from raybus.sdk.models import MappingStats, PublishResult, TopicStats

MAX_PUBLISH_ENTRIES = 10  # SNS PublishBatch
MAX_PUBLISH_BYTES = 262_144  # per message and per batch request
# A synchronous invoke holds the answer while the function runs: up to Lambda's 900 s.
INVOKE_EXTRA_TIMEOUT_S = 900.0
PUBLISH_KEYWORDS = frozenset({"attributes", "subject", "group_id", "dedup_id"})
_KINDS = ("queue", "topic", "function")


# -- targets ----------------------------------------------------------------------------------


def target(value: object, parameter: str, allowed: tuple[str, ...] = _KINDS) -> str:
    """``"<kind>:<name>"`` for an SDK handle (``Queue``, ``Topic``, ``Function`` and their
    async twins) or a string; a bare name stays bare (the gateway reads it as a queue)."""
    kind = getattr(value, "resource_kind", None)
    if isinstance(kind, str):
        if kind not in allowed:
            raise InvalidParameterValue(
                f"{parameter} is one of: {', '.join(allowed)}; not a {kind}.", parameter=parameter
            )
        return f"{kind}:{name_of(cast(Any, value))}"
    if isinstance(value, str) and value:
        return value
    raise InvalidParameterValue(
        f"{parameter} is a resource handle or a string such as queue:<name>.", parameter=parameter
    )


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


def _without_none(settings: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in settings.items() if value is not None}


# -- topics -----------------------------------------------------------------------------------


def topic_settings(name: str, fifo: bool | None, content_based_dedup: bool) -> dict[str, Any]:
    fifo = name.endswith(".fifo") if fifo is None else fifo
    return {"name": name, "fifo": fifo, "content_based_dedup": content_based_dedup}


def create_topic(body: Mapping[str, Any]) -> Op[dict[str, Any]]:
    return Op(Call("POST", path("topics"), body), lambda a: _map(a, "topic"))


def get_topic(name: str) -> Op[dict[str, Any]]:
    return Op(Call("GET", path("topics", name)), lambda a: _map(a, "topic"))


def _names_query(prefix: str | None, limit: int | None) -> dict[str, str] | None:
    params = {}
    if prefix:
        params["prefix"] = prefix
    if limit is not None:
        params["limit"] = str(limit)
    return params or None


def list_topics(prefix: str | None, limit: int | None) -> Op[list[str]]:
    call = Call("GET", path("topics"), params=_names_query(prefix, limit))
    return Op(call, lambda a: [str(n) for n in _list(a, "topics")])


def delete_topic(name: str) -> Op[None]:
    return Op(Call("DELETE", path("topics", name)), _nothing)


def topic_stats(name: str) -> Op[TopicStats]:
    return Op(Call("GET", path("topics", name, "stats")), lambda a: cast(TopicStats, a))


def publish_entry(
    body: object,
    *,
    attributes: Mapping[str, object] | None = None,
    subject: str | None = None,
    group_id: str | None = None,
    dedup_id: str | None = None,
) -> tuple[dict[str, Any], int]:
    """The wire entry and the bytes it counts toward the 256 KiB limits."""
    raw = body_bytes(body)
    entry: dict[str, Any] = {"body": raw}
    typed = encode_attributes(attributes)
    if typed:
        entry["attributes"] = {name: list(attribute) for name, attribute in typed.items()}
    for key, value in (("subject", subject), ("group_id", group_id), ("dedup_id", dedup_id)):
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


def _publish_kwargs(entry: object) -> tuple[object, dict[str, Any]]:
    if isinstance(entry, Mapping):
        if "body" not in entry:
            raise InvalidParameterValue("A batch entry needs a body.", parameter="body")
        unknown = set(entry) - PUBLISH_KEYWORDS - {"body"}
        if unknown:
            raise InvalidParameterValue(
                f"Unknown batch entry keys: {', '.join(sorted(map(str, unknown)))}.",
                parameter=sorted(map(str, unknown))[0],
            )
        return entry["body"], {k: v for k, v in entry.items() if k != "body"}
    return entry, {}


def plan_publish_batch(name: str, entries: Iterable[object]) -> BatchPlan[PublishResult]:
    """Requests of at most 10 entries and 256 KiB each, in order; entries the SDK can refuse
    itself (no body, an unknown key, an attribute of no SNS type, over 256 KiB) get their
    error in their slot and are not sent."""
    items = list(entries)
    plan: BatchPlan[PublishResult] = BatchPlan(len(items))
    wire: list[dict[str, Any]] = []
    sizes: list[int] = []
    positions: list[int] = []
    for position, item in enumerate(items):
        try:
            body, kwargs = _publish_kwargs(item)
            entry, size = publish_entry(body, **kwargs)
            if size > MAX_PUBLISH_BYTES:
                raise MessageTooLong(
                    f"The message is {size} bytes; a topic takes at most {MAX_PUBLISH_BYTES}.",
                    limit=MAX_PUBLISH_BYTES,
                )
        except RaybusError as exc:
            plan.slots[position] = exc
            continue
        wire.append(entry)
        sizes.append(size)
        positions.append(position)
    for group in chunks(sizes, MAX_PUBLISH_ENTRIES, MAX_PUBLISH_BYTES):
        call = Call("POST", path("topics", name, "publish"), {"entries": [wire[i] for i in group]})
        plan.requests.append(
            ([positions[i] for i in group], Op(call, _entry_results(len(group), _publish_result)))
        )
    return plan


# -- subscriptions ----------------------------------------------------------------------------


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
    return _without_none(
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


def subscribe(topic: str, settings: Mapping[str, Any]) -> Op[dict[str, Any]]:
    call = Call("POST", path("topics", topic, "subscriptions"), settings)
    return Op(call, lambda a: _map(a, "subscription"))


def list_subscriptions(topic: str) -> Op[list[dict[str, Any]]]:
    call = Call("GET", path("topics", topic, "subscriptions"))
    return Op(call, lambda a: [s for s in _list(a, "subscriptions") if isinstance(s, dict)])


def get_subscription(sub_id: str) -> Op[dict[str, Any]]:
    return Op(Call("GET", path("subscriptions", sub_id)), lambda a: _map(a, "subscription"))


def update_subscription(sub_id: str, changes: Mapping[str, Any]) -> Op[dict[str, Any]]:
    call = Call("PATCH", path("subscriptions", sub_id), changes)
    return Op(call, lambda a: _map(a, "subscription"))


def unsubscribe(sub_id: str) -> Op[None]:
    return Op(Call("DELETE", path("subscriptions", sub_id)), _nothing)


# -- functions --------------------------------------------------------------------------------

_DESTINATIONS: dict[str, tuple[str, ...]] = {
    "on_success": _KINDS,
    "on_failure": _KINDS,
    "dead_letter_queue": ("queue", "topic"),
}


def function_settings(changes: Mapping[str, Any]) -> dict[str, Any]:
    """A create or update body: a callable ``handler`` becomes ``code`` (its serialised
    bytes) and destinations given as handles become targets. ``None`` stays (an update
    clears the setting with it; :func:`create_function` leaves it out)."""
    body: dict[str, Any] = {}
    for key, value in changes.items():
        if key == "handler" and value is not None and not isinstance(value, str):
            body["code"] = serialize_handler(value)
        elif key in _DESTINATIONS and value is not None:
            body[key] = target(value, key, _DESTINATIONS[key])
        else:
            body[key] = value
    return body


def create_function(body: Mapping[str, Any]) -> Op[dict[str, Any]]:
    return Op(Call("POST", path("functions"), _without_none(body)), lambda a: _map(a, "function"))


def get_function(name: str) -> Op[dict[str, Any]]:
    return Op(Call("GET", path("functions", name)), lambda a: _map(a, "function"))


def list_functions(prefix: str | None, limit: int | None) -> Op[list[str]]:
    call = Call("GET", path("functions"), params=_names_query(prefix, limit))
    return Op(call, lambda a: [str(n) for n in _list(a, "functions")])


def update_function(name: str, changes: Mapping[str, Any]) -> Op[dict[str, Any]]:
    call = Call("PATCH", path("functions", name), function_settings(changes))
    return Op(call, lambda a: _map(a, "function"))


def delete_function(name: str) -> Op[None]:
    return Op(Call("DELETE", path("functions", name)), _nothing)


def _invocation(answer: Mapping[str, Any]) -> Any:
    """The handler's result, or raise :class:`FunctionError` for a failed invocation."""
    if not isinstance(answer.get("ok"), bool) or "payload" not in answer:
        raise InternalError("The gateway's invoke answer lacks ok and payload.")
    request_id = answer.get("request_id")
    request_id = request_id if isinstance(request_id, str) else None
    if not answer["ok"]:
        raise FunctionError.from_payload(answer["payload"], request_id)
    return answer["payload"]


def invoke(name: str, payload: Any) -> Op[Any]:
    call = Call(
        "POST",
        path("functions", name, "invoke"),
        {"payload": payload},
        extra_timeout_s=INVOKE_EXTRA_TIMEOUT_S,
    )
    return Op(call, _invocation)


def _request_id(answer: Mapping[str, Any]) -> str:
    value = answer.get("request_id")
    if not isinstance(value, str):
        raise InternalError("The gateway's invoke-async answer lacks request_id.")
    return value


def invoke_async(name: str, payload: Any) -> Op[str]:
    return Op(
        Call("POST", path("functions", name, "invoke-async"), {"payload": payload}), _request_id
    )


# -- event-source mappings --------------------------------------------------------------------


def _filters_to_wire(settings: Mapping[str, Any]) -> dict[str, Any]:
    """``filter_criteria`` as Lambda's ``{"Filters": [{"Pattern": ...}]}`` or a sequence of
    patterns (JSON objects or their text); a tuple goes as a list."""
    body = dict(settings)
    if isinstance(body.get("filter_criteria"), tuple):
        body["filter_criteria"] = list(body["filter_criteria"])
    return body


def mapping_settings(
    source: object, function: object, settings: Mapping[str, Any]
) -> dict[str, Any]:
    body = {
        "source": target(source, "source", ("queue", "topic")),
        "function": name_of(cast(Any, function)) if not isinstance(function, str) else function,
        **settings,
    }
    return _without_none(_filters_to_wire(body))


def create_mapping(body: Mapping[str, Any]) -> Op[dict[str, Any]]:
    return Op(Call("POST", path("event-source-mappings"), body), lambda a: _map(a, "mapping"))


def get_mapping(mapping_id: str) -> Op[dict[str, Any]]:
    return Op(Call("GET", path("event-source-mappings", mapping_id)), lambda a: _map(a, "mapping"))


def list_mappings(function: str | None, source: str | None) -> Op[list[dict[str, Any]]]:
    params = _without_none({"function": function, "source": source})
    call = Call("GET", path("event-source-mappings"), params=params or None)
    return Op(call, lambda a: [m for m in _list(a, "mappings") if isinstance(m, dict)])


def update_mapping(mapping_id: str, changes: Mapping[str, Any]) -> Op[dict[str, Any]]:
    body = _filters_to_wire(changes)
    call = Call("PATCH", path("event-source-mappings", mapping_id), body)
    return Op(call, lambda a: _map(a, "mapping"))


def delete_mapping(mapping_id: str) -> Op[None]:
    return Op(Call("DELETE", path("event-source-mappings", mapping_id)), _nothing)


def mapping_stats(mapping_id: str) -> Op[MappingStats]:
    call = Call("GET", path("event-source-mappings", mapping_id, "stats"))
    return Op(call, lambda a: cast(MappingStats, a))
