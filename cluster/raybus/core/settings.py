"""What every kind's settings share: validation helpers, resource names, and targets.

Settings types are immutable dataclasses, built from their wire form with ``from_dict``
(validated, raising :class:`RaybusError` with the codes the gateway returns) and written back
with ``to_dict``; ranges and defaults are AWS's. Checks that need other resources belong to the
controller. Nothing here does I/O.

Targets (destinations, dead-letter queues, mapping sources) have one wire form, a string
``"<kind>:<name>"`` such as ``"queue:orders"``, ``"topic:alerts"`` or ``"function:resize"``;
a bare name means a queue where only queues are allowed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any, Literal

from raybus.core.errors import RaybusError
from raybus.core.names import FIFO_SUFFIX, validate_queue_name

__all__ = [
    "MAX_FUNCTION_NAME_CHARS",
    "MAX_TOPIC_NAME_CHARS",
    "NAME_PATTERN",
    "Target",
    "TargetKind",
    "bool_setting",
    "field_names",
    "int_in",
    "invalid",
    "known",
    "target",
    "validate_function_name",
    "validate_topic_name",
]

MAX_TOPIC_NAME_CHARS = 256
MAX_FUNCTION_NAME_CHARS = 64
STEM = re.compile(r"[A-Za-z0-9_-]+")
NAME_PATTERN = r"^[A-Za-z0-9_-]+(\.fifo)?$"  # queues and topics (JSON Schema form)

TargetKind = Literal["queue", "topic", "function"]


def invalid(parameter: str, message: str, code: str = "InvalidParameterValue") -> RaybusError:
    return RaybusError(code, message, parameter=parameter)


def int_in(parameter: str, value: object, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise invalid(parameter, f"{parameter} must be an integer from {low} to {high}.")
    return value


def bool_setting(parameter: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise invalid(parameter, f"{parameter} must be true or false.")
    return value


def known(kind: str, data: Mapping[str, Any], allowed: frozenset[str]) -> dict[str, Any]:
    if not isinstance(data, Mapping):
        raise RaybusError("MalformedRequest", f"{kind} settings are a map.")
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise invalid(unknown[0], f"Unknown {kind} setting(s): {', '.join(unknown)}.")
    return dict(data)


def validate_topic_name(name: object, *, fifo: bool) -> str:
    """1–256 characters of ``[A-Za-z0-9_-]``; a FIFO topic's name ends in ``.fifo``."""
    if not isinstance(name, str) or not name:
        raise invalid("name", "A topic name is a non-empty string.")
    if len(name) > MAX_TOPIC_NAME_CHARS:
        raise invalid("name", f"Topic names are at most {MAX_TOPIC_NAME_CHARS} characters.")
    stem = name[: -len(FIFO_SUFFIX)] if name.endswith(FIFO_SUFFIX) else name
    if fifo != (stem != name):
        raise invalid("name", "A topic's name ends in .fifo exactly when it is a FIFO topic.")
    if not STEM.fullmatch(stem):
        raise invalid(
            "name", "Topic names may contain only alphanumerics, hyphens and underscores."
        )
    return name


def validate_function_name(name: object) -> str:
    """1–64 characters of ``[A-Za-z0-9_-]`` (Lambda's rule for unqualified names)."""
    if (
        not isinstance(name, str)
        or not 1 <= len(name) <= MAX_FUNCTION_NAME_CHARS
        or not STEM.fullmatch(name)
    ):
        raise invalid(
            "function",
            f"A function name is 1–{MAX_FUNCTION_NAME_CHARS} alphanumerics, hyphens or "
            "underscores.",
        )
    return name


@dataclass(frozen=True, slots=True)
class Target:
    """A resource that receives something: ``queue:<name>``, ``topic:<name>``,
    ``function:<name>``."""

    kind: TargetKind
    name: str

    @classmethod
    def parse(
        cls, value: object, parameter: str, allowed: tuple[TargetKind, ...] = ("queue",)
    ) -> Target:
        if isinstance(value, Target):
            target = value
        elif isinstance(value, str) and value:
            kind, sep, name = value.partition(":")
            if not sep:
                kind, name = "queue", value
            if kind not in ("queue", "topic", "function"):
                raise invalid(parameter, f"{parameter} must be queue:, topic: or function:.")
            target = cls(kind, name)  # type: ignore[arg-type]
        else:
            raise invalid(parameter, f"{parameter} is a string such as queue:<name>.")
        if target.kind not in allowed:
            raise invalid(parameter, f"{parameter} must be one of: {', '.join(allowed)}.")
        if target.kind == "queue":
            validate_queue_name(target.name, fifo=target.name.endswith(FIFO_SUFFIX))
        elif target.kind == "topic":
            validate_topic_name(target.name, fifo=target.name.endswith(FIFO_SUFFIX))
        else:
            validate_function_name(target.name)
        return target

    def __str__(self) -> str:
        return f"{self.kind}:{self.name}"


def target(value: object, parameter: str, allowed: tuple[TargetKind, ...]) -> str | None:
    return None if value is None else str(Target.parse(value, parameter, allowed))


def field_names(cls: type) -> frozenset[str]:
    return frozenset(f.name for f in fields(cls))
