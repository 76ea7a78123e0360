"""Event-source mapping settings (Lambda's) and the mapping kind (:mod:`raybus.core.kinds`)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from raybus.core.bounds import bounded, check_bounds
from raybus.core.errors import RaybusError
from raybus.core.kinds import Kind
from raybus.core.settings import (
    Target,
    bool_setting,
    field_names,
    int_in,
    invalid,
    known,
    validate_function_name,
)

__all__ = ["MAPPING", "MAX_FILTERS", "MappingConfig"]

MAX_FILTERS = 5


@dataclass(frozen=True, slots=True)
class MappingConfig:
    """An event-source mapping: ``source`` (``queue:<name>`` polled in batches, or
    ``topic:<name>``, which the controller turns into a function subscription recorded in
    ``subscription``) feeding ``function``.

    Lambda's limits: ``batch_size`` 1–10,000 (≤ 10 for FIFO queues, checked by the
    controller), above 10 only with a ``batching_window_s`` of at least 1 s; the window is
    0–300 s; ``max_concurrency`` 2–1,000; at most 5 filter patterns."""

    id: str
    source: str
    function: str
    batch_size: int = bounded(1, 10_000, default=10)
    batching_window_s: int = bounded(0, 300, default=0)
    max_concurrency: int | None = bounded(2, 1000, default=None)
    report_batch_item_failures: bool = False
    filter_criteria: tuple[Any, ...] = field(
        default=(),
        metadata={
            "schema": {
                "description": "Up to 5 event patterns (objects or their JSON text), or "
                'Lambda\'s {"Filters": [{"Pattern": "<json>"}]}.',
                "anyOf": [
                    {"type": "array", "maxItems": MAX_FILTERS},
                    {"type": "object", "properties": {"Filters": {"type": "array"}}},
                ],
            }
        },
    )
    enabled: bool = True
    subscription: str | None = None

    def __post_init__(self) -> None:
        Target.parse(self.source, "source", ("queue", "topic"))
        validate_function_name(self.function)
        check_bounds(self, int_in)
        if self.batch_size > 10 and self.batching_window_s < 1:
            raise invalid(
                "batching_window_s",
                "A batch_size above 10 needs a batching_window_s of at least 1 second.",
            )
        bool_setting("report_batch_item_failures", self.report_batch_item_failures)
        bool_setting("enabled", self.enabled)
        if len(self.filter_criteria) > MAX_FILTERS:
            raise invalid("filter_criteria", f"At most {MAX_FILTERS} filter patterns.")

    @property
    def target(self) -> Target:
        return Target.parse(self.source, "source", ("queue", "topic"))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MappingConfig:
        settings = known("event-source mapping", data, field_names(cls))
        for required in ("source", "function"):
            if required not in settings:
                raise RaybusError(
                    "MissingParameter", f"A mapping needs {required}.", parameter=required
                )
        settings.setdefault("id", str(uuid.uuid4()))
        settings["source"] = str(Target.parse(settings["source"], "source", ("queue", "topic")))
        settings["filter_criteria"] = _filters(settings.get("filter_criteria"))
        return cls(**settings)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["filter_criteria"] = list(self.filter_criteria)
        return data

    def updated(self, changes: Mapping[str, Any]) -> MappingConfig:
        changes = known(
            "event-source mapping",
            changes,
            frozenset(
                {
                    "batch_size",
                    "batching_window_s",
                    "max_concurrency",
                    "report_batch_item_failures",
                    "filter_criteria",
                    "enabled",
                }
            ),
        )
        return MappingConfig.from_dict({**self.to_dict(), **changes})


def _filters(value: object) -> tuple[Any, ...]:
    """Lambda's ``{"Filters": [{"Pattern": "<json>"}]}`` or a plain list of patterns (JSON
    objects or their text); compiled and checked by the controller."""
    if value is None:
        return ()
    if isinstance(value, Mapping):
        value = value.get("Filters")
        if not isinstance(value, list):
            raise invalid("filter_criteria", "filter_criteria.Filters is a list.")
        value = [f.get("Pattern") if isinstance(f, Mapping) else f for f in value]
    if not isinstance(value, (list, tuple)) or not all(isinstance(p, (dict, str)) for p in value):
        raise invalid("filter_criteria", "filter_criteria is a list of event patterns.")
    return tuple(value)


MAPPING = Kind(
    name="mapping",
    plural="event-source-mappings",
    config=MappingConfig.from_dict,
    key=lambda config: str(config.id),
    missing=lambda key: RaybusError(
        "ResourceNotFound", f"No event-source mapping named {key}.", resource=key
    ),
)
