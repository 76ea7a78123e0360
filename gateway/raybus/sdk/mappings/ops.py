"""The event-source-mapping operations (Lambda's mappings from a queue or a topic to a
function) as pure :class:`~raybus.sdk._wire.Op` s; nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from raybus.sdk._handles import Named, name_of, target
from raybus.sdk._wire import Call, Op, answer_list, answer_map, nothing, path, without_none
from raybus.sdk.models import MappingStats

__all__ = [
    "SOURCE_KINDS",
    "create_mapping",
    "delete_mapping",
    "get_mapping",
    "list_mappings",
    "mapping_settings",
    "mapping_stats",
    "source_target",
    "update_mapping",
]

SOURCE_KINDS = ("queue", "topic")


def source_target(source: object) -> str:
    """The wire name of a mapping's source: a queue or topic handle, ``"queue:<name>"``,
    ``"topic:<name>"`` or a bare queue name."""
    return target(source, "source", SOURCE_KINDS)


def _filters_to_wire(settings: Mapping[str, Any]) -> dict[str, Any]:
    """``filter_criteria`` as Lambda's ``{"Filters": [{"Pattern": ...}]}`` or a sequence of
    patterns (JSON objects or their text); a tuple goes as a list."""
    body = dict(settings)
    if isinstance(body.get("filter_criteria"), tuple):
        body["filter_criteria"] = list(body["filter_criteria"])
    return body


def mapping_settings(
    source: object, function: str | Named, settings: Mapping[str, Any]
) -> dict[str, Any]:
    body = {"source": source_target(source), "function": name_of(function), **settings}
    return without_none(_filters_to_wire(body))


def _config(answer: Mapping[str, Any]) -> dict[str, Any]:
    return answer_map(answer, "mapping")


def create_mapping(body: Mapping[str, Any]) -> Op[dict[str, Any]]:
    return Op(Call("POST", path("event-source-mappings"), body), _config)


def get_mapping(mapping_id: str) -> Op[dict[str, Any]]:
    return Op(Call("GET", path("event-source-mappings", mapping_id)), _config)


def list_mappings(function: str | None, source: str | None) -> Op[list[dict[str, Any]]]:
    params = without_none({"function": function, "source": source})
    call = Call("GET", path("event-source-mappings"), params=params or None)
    return Op(call, lambda a: [m for m in answer_list(a, "mappings") if isinstance(m, dict)])


def update_mapping(mapping_id: str, changes: Mapping[str, Any]) -> Op[dict[str, Any]]:
    call = Call("PATCH", path("event-source-mappings", mapping_id), _filters_to_wire(changes))
    return Op(call, _config)


def delete_mapping(mapping_id: str) -> Op[None]:
    return Op(Call("DELETE", path("event-source-mappings", mapping_id)), nothing)


def mapping_stats(mapping_id: str) -> Op[MappingStats]:
    call = Call("GET", path("event-source-mappings", mapping_id, "stats"))
    return Op(call, lambda a: cast(MappingStats, a))
