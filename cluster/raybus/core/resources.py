"""Typed, validated settings of topics, subscriptions, functions and event-source mappings.

Each class is immutable, built from its wire form with ``from_dict`` (validated, raising
:class:`RaybusError` with the codes the gateway returns) and written back with ``to_dict``.
Ranges and defaults are AWS's (SNS, Lambda, Lambda event-source mappings); checks that need
other resources (does the queue exist, is it FIFO, does the filter policy compile) belong to
the controller. Nothing here does I/O.

Targets (destinations, dead-letter queues, mapping sources) have one wire form, a string
``"<kind>:<name>"`` such as ``"queue:orders"``, ``"topic:alerts"`` or ``"function:resize"``;
a bare name means a queue where only queues are allowed.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal

from raybus.core.bounds import bounded, check_bounds
from raybus.core.errors import RaybusError
from raybus.core.names import FIFO_SUFFIX, validate_queue_name

__all__ = [
    "FunctionConfig",
    "MappingConfig",
    "PublishEntry",
    "PublishResult",
    "SubscriptionConfig",
    "Target",
    "TopicConfig",
    "validate_function_name",
    "validate_topic_name",
]

MAX_TOPIC_NAME_CHARS = 256
MAX_FUNCTION_NAME_CHARS = 64
MAX_SUBJECT_CHARS = 100
MAX_FILTERS = 5
LAMBDA_MB_PER_VCPU = 1769  # Lambda gives one vCPU per 1,769 MB of memory
_STEM = re.compile(r"[A-Za-z0-9_-]+")
NAME_PATTERN = r"^[A-Za-z0-9_-]+(\.fifo)?$"  # queues and topics (JSON Schema form)
_URL = re.compile(r"https?://[^\s/$.?#][^\s]*", re.IGNORECASE)

TargetKind = Literal["queue", "topic", "function"]
Protocol = Literal["queue", "function", "http", "https"]
Runtime = Literal["task", "actor"]


def _invalid(parameter: str, message: str, code: str = "InvalidParameterValue") -> RaybusError:
    return RaybusError(code, message, parameter=parameter)


def _int_in(parameter: str, value: object, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise _invalid(parameter, f"{parameter} must be an integer from {low} to {high}.")
    return value


def _bool(parameter: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise _invalid(parameter, f"{parameter} must be true or false.")
    return value


def _known(kind: str, data: Mapping[str, Any], allowed: frozenset[str]) -> dict[str, Any]:
    if not isinstance(data, Mapping):
        raise RaybusError("MalformedRequest", f"{kind} settings are a map.")
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise _invalid(unknown[0], f"Unknown {kind} setting(s): {', '.join(unknown)}.")
    return dict(data)


def validate_topic_name(name: object, *, fifo: bool) -> str:
    """1–256 characters of ``[A-Za-z0-9_-]``; a FIFO topic's name ends in ``.fifo``."""
    if not isinstance(name, str) or not name:
        raise _invalid("name", "A topic name is a non-empty string.")
    if len(name) > MAX_TOPIC_NAME_CHARS:
        raise _invalid("name", f"Topic names are at most {MAX_TOPIC_NAME_CHARS} characters.")
    stem = name[: -len(FIFO_SUFFIX)] if name.endswith(FIFO_SUFFIX) else name
    if fifo != (stem != name):
        raise _invalid("name", "A topic's name ends in .fifo exactly when it is a FIFO topic.")
    if not _STEM.fullmatch(stem):
        raise _invalid(
            "name", "Topic names may contain only alphanumerics, hyphens and underscores."
        )
    return name


def validate_function_name(name: object) -> str:
    """1–64 characters of ``[A-Za-z0-9_-]`` (Lambda's rule for unqualified names)."""
    if (
        not isinstance(name, str)
        or not 1 <= len(name) <= MAX_FUNCTION_NAME_CHARS
        or not _STEM.fullmatch(name)
    ):
        raise _invalid(
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
                raise _invalid(parameter, f"{parameter} must be queue:, topic: or function:.")
            target = cls(kind, name)  # type: ignore[arg-type]
        else:
            raise _invalid(parameter, f"{parameter} is a string such as queue:<name>.")
        if target.kind not in allowed:
            raise _invalid(parameter, f"{parameter} must be one of: {', '.join(allowed)}.")
        if target.kind == "queue":
            validate_queue_name(target.name, fifo=target.name.endswith(FIFO_SUFFIX))
        elif target.kind == "topic":
            validate_topic_name(target.name, fifo=target.name.endswith(FIFO_SUFFIX))
        else:
            validate_function_name(target.name)
        return target

    def __str__(self) -> str:
        return f"{self.kind}:{self.name}"


def _target(value: object, parameter: str, allowed: tuple[TargetKind, ...]) -> str | None:
    return None if value is None else str(Target.parse(value, parameter, allowed))


# -- topics ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TopicConfig:
    name: str = field(
        metadata={"schema_extra": {"maxLength": MAX_TOPIC_NAME_CHARS, "pattern": NAME_PATTERN}}
    )
    fifo: bool = False
    content_based_dedup: bool = False

    def __post_init__(self) -> None:
        _bool("fifo", self.fifo)
        _bool("content_based_dedup", self.content_based_dedup)
        validate_topic_name(self.name, fifo=self.fifo)
        if self.content_based_dedup and not self.fifo:
            raise _invalid("content_based_dedup", "content_based_dedup applies to FIFO topics.")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TopicConfig:
        settings = _known("topic", data, _names(cls))
        if "name" not in settings:
            raise RaybusError("MissingParameter", "A topic needs a name.", parameter="name")
        name = settings["name"]
        settings.setdefault("fifo", isinstance(name, str) and name.endswith(FIFO_SUFFIX))
        return cls(**settings)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class SubscriptionConfig:
    """One subscription of one topic. ``endpoint`` is a queue name (protocol ``queue``), a
    function name (``function``) or a URL (``http``/``https``). ``filter_policy`` is the
    policy's JSON object (checked by the controller with :mod:`raybus.rules`);
    ``delivery_policy`` is SNS's ``{"healthyRetryPolicy": {...}}`` (HTTP/S only)."""

    id: str
    topic: str
    protocol: Protocol
    endpoint: str
    raw: bool = False
    filter_policy: dict[str, Any] | None = None
    filter_policy_scope: str = "MessageAttributes"
    dead_letter_queue: str | None = None
    delivery_policy: dict[str, Any] | None = None
    enabled: bool = True

    def __post_init__(self) -> None:
        if self.protocol not in ("queue", "function", "http", "https"):
            raise _invalid("protocol", "protocol must be queue, function, http or https.")
        if self.protocol == "queue":
            validate_queue_name(self.endpoint, fifo=str(self.endpoint).endswith(FIFO_SUFFIX))
        elif self.protocol == "function":
            validate_function_name(self.endpoint)
        elif not isinstance(self.endpoint, str) or not _URL.fullmatch(self.endpoint):
            raise _invalid("endpoint", "An HTTP(S) endpoint is an http:// or https:// URL.")
        elif not self.endpoint.lower().startswith(self.protocol + "://"):
            raise _invalid("endpoint", f"A {self.protocol} endpoint starts with {self.protocol}://")
        _bool("raw", self.raw)
        _bool("enabled", self.enabled)
        if self.raw and self.protocol == "function":
            raise _invalid("raw", "Raw delivery applies to queue and HTTP(S) subscriptions.")
        if self.filter_policy is not None and not isinstance(self.filter_policy, dict):
            raise _invalid("filter_policy", "A filter policy is a JSON object.", "InvalidParameter")
        if self.filter_policy_scope not in ("MessageAttributes", "MessageBody"):
            raise _invalid(
                "filter_policy_scope",
                "filter_policy_scope must be MessageAttributes or MessageBody.",
                "InvalidParameter",
            )
        if self.dead_letter_queue is not None:
            Target.parse(self.dead_letter_queue, "dead_letter_queue")
        if self.delivery_policy is not None:
            if self.protocol not in ("http", "https"):
                raise _invalid(
                    "delivery_policy",
                    "A delivery policy applies to HTTP(S) subscriptions; queue and function "
                    "endpoints use AWS's managed retry policy.",
                    "InvalidParameter",
                )
            if not isinstance(self.delivery_policy, dict):
                raise _invalid("delivery_policy", "A delivery policy is a JSON object.")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SubscriptionConfig:
        settings = _known("subscription", data, _names(cls))
        for required in ("topic", "protocol", "endpoint"):
            if required not in settings:
                raise RaybusError(
                    "MissingParameter", f"A subscription needs {required}.", parameter=required
                )
        settings.setdefault("id", str(uuid.uuid4()))
        dlq = settings.get("dead_letter_queue")
        if dlq is not None:
            settings["dead_letter_queue"] = Target.parse(dlq, "dead_letter_queue").name
        return cls(**settings)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def updated(self, changes: Mapping[str, Any]) -> SubscriptionConfig:
        changes = _known("subscription", changes, _SUBSCRIPTION_MUTABLE)
        return SubscriptionConfig.from_dict({**self.to_dict(), **changes})

    def same_endpoint(self, other: SubscriptionConfig) -> bool:
        return (self.topic, self.protocol, self.endpoint) == (
            other.topic,
            other.protocol,
            other.endpoint,
        )


_SUBSCRIPTION_MUTABLE = frozenset(
    {
        "raw",
        "filter_policy",
        "filter_policy_scope",
        "dead_letter_queue",
        "delivery_policy",
        "enabled",
    }
)


@dataclass(frozen=True, slots=True)
class PublishEntry:
    """One message to publish. ``subject`` goes into the SNS envelope (≤ 100 printable ASCII
    characters, no line breaks); ``group_id`` / ``dedup_id`` are for FIFO topics."""

    body: bytes | str
    attributes: Any = None
    subject: str | None = None
    group_id: str | None = None
    dedup_id: str | None = None


@dataclass(frozen=True, slots=True)
class PublishResult:
    message_id: str
    sequence_number: str | None = None
    duplicate: bool = False  # FIFO: the 5-minute dedup window swallowed this publish


# -- functions -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FunctionConfig:
    """A Lambda-style function. Exactly one of ``handler`` (``package.module:function``,
    importable on the cluster) and ``code_sha256`` (a serialised callable uploaded with the
    function; the controller keeps the bytes) is set.

    ``cpus`` defaults to Lambda's share, ``memory_mb / 1769``; ``concurrency`` is the reserved
    concurrency (``None``: unreserved, bounded by the pool or the cluster; ``0``: every
    invocation is throttled). ``runtime`` ``task`` runs each invocation as a Ray task;
    ``actor`` keeps ``pool_size`` warm Ray actors (default: the concurrency, else 2)."""

    name: str = field(
        metadata={"schema_extra": {"pattern": f"^[A-Za-z0-9_-]{{1,{MAX_FUNCTION_NAME_CHARS}}}$"}}
    )
    handler: str | None = None
    code_sha256: str | None = None
    code_size: int = 0
    timeout_s: int = bounded(1, 900, default=3)
    memory_mb: int = bounded(128, 10_240, default=128)
    cpus: float | None = field(
        default=None, metadata={"schema_extra": {"exclusiveMinimum": 0, "maximum": 64}}
    )
    concurrency: int | None = bounded(0, 1000, default=None)
    max_retries: int = bounded(0, 2, default=2)
    max_event_age_s: int = bounded(60, 21_600, default=21_600)
    on_success: str | None = None
    on_failure: str | None = None
    dead_letter_queue: str | None = None
    runtime: Runtime = "task"
    pool_size: int | None = bounded(1, 1000, default=None)

    def __post_init__(self) -> None:
        validate_function_name(self.name)
        if (self.handler is None) == (self.code_sha256 is None):
            raise _invalid("handler", "Give exactly one of handler (module:function) and code.")
        if self.handler is not None and (
            not isinstance(self.handler, str)
            or not re.fullmatch(r"[A-Za-z_][\w.]*:[A-Za-z_]\w*(\.[A-Za-z_]\w*)*", self.handler)
        ):
            raise _invalid("handler", "handler is an import path such as package.module:function.")
        check_bounds(self, _int_in)
        if self.cpus is not None and (
            isinstance(self.cpus, bool)
            or not isinstance(self.cpus, (int, float))
            or not 0 < self.cpus <= 64
        ):
            raise _invalid("cpus", "cpus must be a number above 0 and at most 64.")
        allowed: tuple[TargetKind, ...] = ("queue", "topic", "function")
        for name in ("on_success", "on_failure"):
            value = getattr(self, name)
            if value is not None:
                Target.parse(value, name, allowed)
        if self.dead_letter_queue is not None:
            Target.parse(self.dead_letter_queue, "dead_letter_queue", ("queue", "topic"))
        if self.runtime not in ("task", "actor"):
            raise _invalid("runtime", "runtime must be task or actor.")

    @property
    def cpu_share(self) -> float:
        return self.cpus if self.cpus is not None else round(self.memory_mb / LAMBDA_MB_PER_VCPU, 4)

    @property
    def pool(self) -> int:
        if self.pool_size is not None:
            return self.pool_size
        return self.concurrency if self.concurrency else 2

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FunctionConfig:
        settings = _known("function", data, _names(cls))
        if "name" not in settings:
            raise RaybusError("MissingParameter", "A function needs a name.", parameter="name")
        allowed: tuple[TargetKind, ...] = ("queue", "topic", "function")
        for name in ("on_success", "on_failure"):
            settings[name] = _target(settings.get(name), name, allowed)
        settings["dead_letter_queue"] = _target(
            settings.get("dead_letter_queue"), "dead_letter_queue", ("queue", "topic")
        )
        return cls(**settings)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def updated(self, changes: Mapping[str, Any]) -> FunctionConfig:
        changes = _known("function", changes, _names(FunctionConfig) - {"name"})
        return FunctionConfig.from_dict({**self.to_dict(), **changes})


# -- event-source mappings -------------------------------------------------------------------


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
        check_bounds(self, _int_in)
        if self.batch_size > 10 and self.batching_window_s < 1:
            raise _invalid(
                "batching_window_s",
                "A batch_size above 10 needs a batching_window_s of at least 1 second.",
            )
        _bool("report_batch_item_failures", self.report_batch_item_failures)
        _bool("enabled", self.enabled)
        if len(self.filter_criteria) > MAX_FILTERS:
            raise _invalid("filter_criteria", f"At most {MAX_FILTERS} filter patterns.")

    @property
    def target(self) -> Target:
        return Target.parse(self.source, "source", ("queue", "topic"))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MappingConfig:
        settings = _known("event-source mapping", data, _names(cls))
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
        changes = _known(
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
            raise _invalid("filter_criteria", "filter_criteria.Filters is a list.")
        value = [f.get("Pattern") if isinstance(f, Mapping) else f for f in value]
    if not isinstance(value, (list, tuple)) or not all(isinstance(p, (dict, str)) for p in value):
        raise _invalid("filter_criteria", "filter_criteria is a list of event patterns.")
    return tuple(value)


def _names(cls: type) -> frozenset[str]:
    return frozenset(f.name for f in fields(cls))
