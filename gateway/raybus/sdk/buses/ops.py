"""The event-bus operations (EventBridge) as pure :class:`~raybus.sdk._wire.Op` s: buses,
events, rules and targets, pattern tests, archives and replays. Nothing here does I/O."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from raybus.sdk._wire import Call, Op, answer_list, answer_map, names_query, nothing, path
from raybus.sdk.errors import InternalError, RaybusError, error_from_wire

__all__ = [
    "MAX_EVENTS",
    "bus_stats",
    "create_archive",
    "create_bus",
    "delete_archive",
    "delete_bus",
    "delete_rule",
    "event_entry",
    "get_archive",
    "get_bus",
    "get_replay",
    "get_rule",
    "list_buses",
    "list_rules",
    "put_events",
    "put_rule",
    "put_targets",
    "remove_targets",
    "start_replay",
    "test_event_pattern",
]

MAX_EVENTS = 10  # EventBridge's PutEvents


def _text(pattern: Mapping[str, Any] | str) -> str:
    return pattern if isinstance(pattern, str) else json.dumps(dict(pattern))


def create_bus(body: Mapping[str, Any]) -> Op[dict[str, Any]]:
    return Op(Call("POST", path("buses"), body), lambda a: answer_map(a, "bus"))


def get_bus(name: str) -> Op[dict[str, Any]]:
    return Op(Call("GET", path("buses", name)), lambda a: answer_map(a, "bus"))


def list_buses(prefix: str | None, limit: int | None) -> Op[list[str]]:
    call = Call("GET", path("buses"), params=names_query(prefix, limit))
    return Op(call, lambda a: [str(n) for n in answer_list(a, "buses")])


def bus_stats(name: str) -> Op[dict[str, Any]]:
    return Op(Call("GET", path("buses", name, "stats")), dict)


def delete_bus(name: str) -> Op[None]:
    return Op(Call("DELETE", path("buses", name)), nothing)


def event_entry(
    source: str,
    detail_type: str,
    detail: Mapping[str, Any] | str,
    *,
    resources: Iterable[str] = (),
    time_ms: int | None = None,
) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "source": source,
        "detail_type": detail_type,
        "detail": detail if isinstance(detail, str) else dict(detail),
    }
    if resources:
        entry["resources"] = list(resources)
    if time_ms is not None:
        entry["time_ms"] = time_ms
    return entry


def _event_results(answer: dict[str, Any]) -> list[str | RaybusError]:
    results: list[str | RaybusError] = []
    for item in answer_list(answer, "results"):
        if isinstance(item, Mapping) and "event_id" in item:
            results.append(str(item["event_id"]))
        elif isinstance(item, Mapping) and isinstance(item.get("error"), Mapping):
            results.append(error_from_wire(item["error"]))
        else:
            raise InternalError(f"The gateway answered an event with {item!r:.100}.")
    return results


def put_events(bus: str, entries: list[dict[str, Any]]) -> Op[list[str | RaybusError]]:
    call = Call("POST", path("buses", bus, "events"), {"entries": entries})
    return Op(call, _event_results)


def put_rule(bus: str, name: str, settings: Mapping[str, Any]) -> Op[dict[str, Any]]:
    body = dict(settings)
    if body.get("event_pattern") is not None:
        body["event_pattern"] = _text(body["event_pattern"])
    return Op(Call("PUT", path("buses", bus, "rules", name), body), lambda a: answer_map(a, "rule"))


def get_rule(bus: str, name: str) -> Op[dict[str, Any]]:
    return Op(Call("GET", path("buses", bus, "rules", name)), lambda a: answer_map(a, "rule"))


def list_rules(bus: str, prefix: str | None) -> Op[list[dict[str, Any]]]:
    params = {"prefix": prefix} if prefix else None
    call = Call("GET", path("buses", bus, "rules"), params=params)
    return Op(call, lambda a: [dict(r) for r in answer_list(a, "rules")])


def delete_rule(bus: str, name: str, force: bool) -> Op[None]:
    params = {"force": "true"} if force else None
    return Op(Call("DELETE", path("buses", bus, "rules", name), params=params), nothing)


def put_targets(bus: str, rule: str, targets: list[dict[str, Any]]) -> Op[list[dict[str, Any]]]:
    call = Call("POST", path("buses", bus, "rules", rule, "targets"), {"targets": targets})
    return Op(call, lambda a: [dict(f) for f in answer_list(a, "failed")])


def remove_targets(bus: str, rule: str, ids: list[str]) -> Op[None]:
    call = Call("POST", path("buses", bus, "rules", rule, "targets", "remove"), {"ids": ids})
    return Op(call, nothing)


def test_event_pattern(
    pattern: Mapping[str, Any] | str, event: Mapping[str, Any] | str
) -> Op[bool]:
    body = {"pattern": _text(pattern), "event": event if isinstance(event, str) else dict(event)}
    return Op(Call("POST", path("test-event-pattern"), body), lambda a: bool(a.get("result")))


def create_archive(body: Mapping[str, Any]) -> Op[dict[str, Any]]:
    data = dict(body)
    if data.get("event_pattern") is not None:
        data["event_pattern"] = _text(data["event_pattern"])
    return Op(Call("POST", path("archives"), data), lambda a: answer_map(a, "archive"))


def get_archive(name: str) -> Op[dict[str, Any]]:
    return Op(Call("GET", path("archives", name)), lambda a: answer_map(a, "archive"))


def delete_archive(name: str) -> Op[None]:
    return Op(Call("DELETE", path("archives", name)), nothing)


def start_replay(body: Mapping[str, Any]) -> Op[dict[str, Any]]:
    return Op(Call("POST", path("replays"), body), lambda a: answer_map(a, "replay"))


def get_replay(name: str) -> Op[dict[str, Any]]:
    return Op(Call("GET", path("replays", name)), lambda a: answer_map(a, "replay"))
