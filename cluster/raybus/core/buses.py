"""Event buses (EventBridge's): bus, rule and target settings, the PutEvents entry and the
event envelope; the bus and rule kinds (:mod:`raybus.core.kinds`).

A **bus** is partitioned like a standard topic (one partition per host unless ``partitions``
says): EventBridge promises no order, so a PutEvents entry may land in any partition. A
**rule** is a kind attached to its bus (its settings travel with the bus's route, so every
partition matches against every rule); its **targets** (at most five, as on AWS) are part of
the rule's settings. A rule's key is ``<bus>/<rule>`` (rule names never contain ``/``).

Limits are AWS's: bus names 1–256 characters of ``[/.-_A-Za-z0-9]`` (a custom bus's without
``/``), rule names and target ids 1–64 of ``[.-_A-Za-z0-9]``, descriptions 512 characters,
an entry at most 256 KiB (EventBridge's size: 14 bytes for a time, plus the UTF-8 bytes of
source, detail type, detail and each resource), 10 entries per PutEvents, a retry policy of
0–185 attempts and 60–86,400 seconds (default 185 and 24 hours).
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from raybus.core.bounds import bounded, check_bounds
from raybus.core.errors import RaybusError
from raybus.core.kinds import Kind
from raybus.core.names import FIFO_SUFFIX, validate_queue_name
from raybus.core.settings import (
    field_names,
    int_in,
    invalid,
    known,
    validate_function_name,
    validate_topic_name,
)

__all__ = [
    "ALL_MANAGEMENT_EVENTS",
    "API_CALL_DETAIL_TYPE",
    "API_DESTINATION",
    "ARCHIVE",
    "ARCHIVE_RULE_PREFIX",
    "ARCHIVE_TARGET_ID",
    "BUS",
    "CONNECTION",
    "DEFAULT_BUS",
    "MANAGED_BY_EVENTS",
    "MAX_ENTRIES",
    "MAX_ENTRY_BYTES",
    "MAX_TARGETS_PER_RULE",
    "REPLAY",
    "RULE",
    "ApiDestinationConfig",
    "ArchiveConfig",
    "BusConfig",
    "ConnectionConfig",
    "EventEntry",
    "PutEventsResult",
    "ReplayConfig",
    "RetryPolicy",
    "RuleConfig",
    "TargetConfig",
    "check_entry",
    "entry_size",
    "event_time",
    "rule_key",
    "split_rule_key",
    "target_key",
]

DEFAULT_BUS = "default"
MAX_BUS_NAME = 256
MAX_RULE_NAME = 64
MAX_TARGET_ID = 64
MAX_DESCRIPTION = 512
MAX_ENTRIES = 10
MAX_ENTRY_BYTES = 262_144
MAX_TARGETS_PER_RULE = 5
MAX_INPUT_CHARS = 8_192
MAX_PATTERN_CHARS = 4_096  # EventBridge's EventPattern length constraint
MAX_SCHEDULE_CHARS = 256
MAX_RESOURCES = 256  # not an AWS constant: a bound so one entry cannot hold millions
DEFAULT_RETRY_ATTEMPTS = 185
DEFAULT_EVENT_AGE_S = 86_400
_BUS_NAME = re.compile(r"[/.\-_A-Za-z0-9]+")
_RULE_NAME = re.compile(r"[.\-_A-Za-z0-9]+")
_TIME_BYTES = 14  # what a Time adds to an entry's size (EventBridge's calculation)

RuleState = Literal["ENABLED", "DISABLED", "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS"]
# The rule state that also sees read-only API calls, and the detail type of API-call events.
ALL_MANAGEMENT_EVENTS = "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS"
API_CALL_DETAIL_TYPE = "AWS API Call via CloudTrail"
TargetKind = Literal["queue", "topic", "function", "bus", "archive", "api_destination"]
_RULE_STATES = ("ENABLED", "DISABLED", ALL_MANAGEMENT_EVENTS)
_TARGET_KINDS = ("queue", "topic", "function", "bus", "archive", "api_destination")
MAX_ARCHIVE_NAME = 48
MAX_REPLAY_NAME = 64
ARCHIVE_RULE_PREFIX = "Events-Archive-"
ARCHIVE_TARGET_ID = "archive"
MANAGED_BY_EVENTS = "events.amazonaws.com"


def _text(parameter: str, value: object, limit: int) -> None:
    if value is not None and (not isinstance(value, str) or len(value) > limit):
        raise invalid(parameter, f"{parameter} is a string of at most {limit} characters.")


def validate_bus_name(name: object, *, custom: bool = False) -> str:
    """1–256 characters of ``[/.-_A-Za-z0-9]``; a bus made with CreateEventBus may not contain
    ``/`` (only partner buses do) nor be called ``default``."""
    if not isinstance(name, str) or not 1 <= len(name) <= MAX_BUS_NAME:
        raise invalid("name", f"An event bus name is 1–{MAX_BUS_NAME} characters.")
    if not _BUS_NAME.fullmatch(name):
        raise invalid(
            "name", "An event bus name may contain only alphanumerics and . - _ / characters."
        )
    if custom and "/" in name:
        raise invalid("name", "A custom event bus name may not contain '/'.")
    return name


def validate_rule_name(name: object, parameter: str = "name") -> str:
    if not isinstance(name, str) or not 1 <= len(name) <= MAX_RULE_NAME:
        raise invalid(parameter, f"A rule name is 1–{MAX_RULE_NAME} characters.")
    if not _RULE_NAME.fullmatch(name):
        raise invalid(parameter, "A rule name may contain only alphanumerics and . - _.")
    return name


def validate_archive_name(name: object, parameter: str = "name") -> str:
    if not isinstance(name, str) or not 1 <= len(name) <= MAX_ARCHIVE_NAME:
        raise invalid(parameter, f"An archive name is 1–{MAX_ARCHIVE_NAME} characters.")
    if not _RULE_NAME.fullmatch(name):
        raise invalid(parameter, "An archive name may contain only alphanumerics and . - _.")
    return name


def validate_replay_name(name: object, parameter: str = "name") -> str:
    if not isinstance(name, str) or not 1 <= len(name) <= MAX_REPLAY_NAME:
        raise invalid(parameter, f"A replay name is 1–{MAX_REPLAY_NAME} characters.")
    if not _RULE_NAME.fullmatch(name):
        raise invalid(parameter, "A replay name may contain only alphanumerics and . - _.")
    return name


def rule_key(bus: str, rule: str) -> str:
    return f"{bus}/{rule}"


def target_key(bus: str, rule: str, target_id: str) -> str:
    """A target's key in its bus's partitions (and metrics): ``<bus>/<rule>/<target id>``."""
    return f"{bus}/{rule}/{target_id}"


def split_rule_key(key: str) -> tuple[str, str]:
    bus, _, rule = key.rpartition("/")
    return bus, rule


@dataclass(frozen=True, slots=True)
class BusConfig:
    """An event bus. ``dead_letter_queue`` is the bus's own (EventBridge's bus-level
    DeadLetterConfig), stored and reported; ``policy`` is its resource policy, stored and not
    enforced (as every IAM document raybus keeps)."""

    name: str
    description: str | None = None
    kms_key_identifier: str | None = None
    dead_letter_queue: str | None = None
    policy: str | None = None
    partitions: int | None = bounded(1, 1024, default=None)
    created_ms: int = 0

    def __post_init__(self) -> None:
        validate_bus_name(self.name)
        _text("description", self.description, MAX_DESCRIPTION)
        _text("kms_key_identifier", self.kms_key_identifier, 2048)
        _text("policy", self.policy, 10_240)
        if self.dead_letter_queue is not None:
            validate_queue_name(
                self.dead_letter_queue, fifo=str(self.dead_letter_queue).endswith(FIFO_SUFFIX)
            )
        int_in("created_ms", self.created_ms, 0, 1 << 62)
        check_bounds(self, int_in)

    @property
    def fifo(self) -> bool:
        """Buses are never FIFO (routing spreads entries as for a standard topic)."""
        return False

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BusConfig:
        settings = known("bus", data, field_names(cls))
        if "name" not in settings:
            raise RaybusError("MissingParameter", "An event bus needs a name.", parameter="name")
        return cls(**settings)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def updated(self, changes: Mapping[str, Any]) -> BusConfig:
        changes = known("bus", changes, _BUS_MUTABLE)
        return BusConfig.from_dict({**self.to_dict(), **changes})


_BUS_MUTABLE = frozenset({"description", "kms_key_identifier", "dead_letter_queue", "policy"})


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """EventBridge's per-target RetryPolicy: attempts after the first (0–185) and the oldest
    an event may be before it is given up (60–86,400 s)."""

    maximum_retry_attempts: int = DEFAULT_RETRY_ATTEMPTS
    maximum_event_age_s: int = DEFAULT_EVENT_AGE_S

    def __post_init__(self) -> None:
        int_in("maximum_retry_attempts", self.maximum_retry_attempts, 0, 185)
        int_in("maximum_event_age_s", self.maximum_event_age_s, 60, 86_400)


@dataclass(frozen=True, slots=True)
class TargetConfig:
    """One target of a rule: where matching events go (``kind`` and ``name``: a queue, a
    topic, a function or another bus) and how they are shaped on the way (at most one of
    ``input``, ``input_path`` and ``input_template`` with ``input_paths_map``; checked with
    :mod:`raybus.rules.transform` by the controller). ``message_group_id`` is SqsParameters'
    (required for a FIFO queue). Failed deliveries are retried on ``retry_policy``; then the
    event goes to ``dead_letter_queue`` (a queue's name) or is dropped."""

    id: str
    kind: TargetKind
    name: str
    input: str | None = None
    input_path: str | None = None
    input_paths_map: dict[str, str] | None = None
    input_template: str | None = None
    message_group_id: str | None = None
    retry_policy: RetryPolicy = field(default_factory=RetryPolicy)
    dead_letter_queue: str | None = None
    role_arn: str | None = None
    retention_days: int | None = None  # an archive's (0: forever)
    # an API destination's HttpParameters: values for the endpoint's ``*``, headers, query
    http_path: tuple[str, ...] | None = None
    http_headers: dict[str, str] | None = None
    http_query: dict[str, str] | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not 1 <= len(self.id) <= MAX_TARGET_ID:
            raise invalid("id", f"A target id is 1–{MAX_TARGET_ID} characters.")
        if not _RULE_NAME.fullmatch(self.id):
            raise invalid("id", "A target id may contain only alphanumerics and . - _.")
        if self.kind not in _TARGET_KINDS:
            raise invalid(
                "kind", "A target's kind is queue, topic, function, bus or api_destination."
            )
        if self.kind == "queue":
            validate_queue_name(self.name, fifo=str(self.name).endswith(FIFO_SUFFIX))
        elif self.kind == "topic":
            validate_topic_name(self.name, fifo=str(self.name).endswith(FIFO_SUFFIX))
        elif self.kind == "function":
            validate_function_name(self.name)
        elif self.kind in ("archive", "api_destination"):
            validate_archive_name(self.name)
        else:
            validate_bus_name(self.name)
        for field_name in ("http_headers", "http_query"):
            value = getattr(self, field_name)
            if value is not None and (
                not isinstance(value, dict)
                or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items())
            ):
                raise invalid(field_name, f"{field_name} maps names to strings.")
        if self.http_path is not None and (
            not isinstance(self.http_path, tuple)
            or not all(isinstance(v, str) for v in self.http_path)
        ):
            raise invalid("http_path", "http_path is a list of strings.")
        if self.retention_days is not None:
            if self.kind != "archive":
                raise invalid("retention_days", "retention_days applies to archives.")
            int_in("retention_days", self.retention_days, 0, 1 << 31)
        _text("input", self.input, MAX_INPUT_CHARS)
        _text("input_path", self.input_path, 256)
        _text("input_template", self.input_template, MAX_INPUT_CHARS)
        _text("message_group_id", self.message_group_id, 128)
        _text("role_arn", self.role_arn, 1600)
        if self.input_paths_map is not None and (
            not isinstance(self.input_paths_map, dict)
            or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in self.input_paths_map.items()
            )
        ):
            raise invalid("input_paths_map", "input_paths_map maps names to JSON paths.")
        if self.input_paths_map is not None and self.input_template is None:
            raise invalid("input_template", "An input transformer needs an input template.")
        if not isinstance(self.retry_policy, RetryPolicy):
            raise invalid("retry_policy", "retry_policy is a RetryPolicy.")
        if self.dead_letter_queue is not None:
            validate_queue_name(
                self.dead_letter_queue, fifo=str(self.dead_letter_queue).endswith(FIFO_SUFFIX)
            )

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TargetConfig:
        settings = known("target", data, field_names(cls))
        for required in ("id", "kind", "name"):
            if required not in settings:
                raise RaybusError(
                    "MissingParameter", f"A target needs {required}.", parameter=required
                )
        path = settings.get("http_path")
        if isinstance(path, list):
            settings["http_path"] = tuple(path)
        policy = settings.get("retry_policy")
        if policy is None:
            settings.pop("retry_policy", None)
        elif isinstance(policy, Mapping):
            settings["retry_policy"] = RetryPolicy(
                **known("retry_policy", policy, field_names(RetryPolicy))
            )
        return cls(**settings)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        if self.http_path is not None:
            data["http_path"] = list(self.http_path)
        return data

    @property
    def shaped(self) -> bool:
        return any(x is not None for x in (self.input, self.input_path, self.input_template))


@dataclass(frozen=True, slots=True)
class RuleConfig:
    """One rule of one bus: an event pattern (JSON text, kept as given: AWS answers it back),
    a schedule expression, or both on the default bus only; its state; at most five targets.
    ``created_ms`` anchors a ``rate(...)`` schedule (it fires every period from creation)."""

    name: str
    bus: str = DEFAULT_BUS
    event_pattern: str | None = None
    schedule_expression: str | None = None
    state: RuleState = "ENABLED"
    description: str | None = None
    role_arn: str | None = None
    managed_by: str | None = None
    targets: tuple[TargetConfig, ...] = ()
    created_ms: int = 0

    def __post_init__(self) -> None:
        validate_rule_name(self.name)
        validate_bus_name(self.bus, custom=False)
        _text("event_pattern", self.event_pattern, MAX_PATTERN_CHARS)
        _text("schedule_expression", self.schedule_expression, MAX_SCHEDULE_CHARS)
        _text("description", self.description, MAX_DESCRIPTION)
        _text("role_arn", self.role_arn, 1600)
        _text("managed_by", self.managed_by, 128)
        if self.event_pattern is None and self.schedule_expression is None:
            raise RaybusError(
                "ValidationException",
                "Parameter(s) EventPattern or ScheduleExpression must be specified.",
                parameter="event_pattern",
            )
        if self.schedule_expression is not None and self.bus != DEFAULT_BUS:
            raise RaybusError(
                "ValidationException",
                "ScheduleExpression is supported only on the default event bus.",
                parameter="schedule_expression",
            )
        if self.state not in _RULE_STATES:
            raise invalid("state", "A rule's state is ENABLED, DISABLED or "
                          "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS.")  # fmt: skip
        if not isinstance(self.targets, tuple) or not all(
            isinstance(t, TargetConfig) for t in self.targets
        ):
            raise invalid("targets", "targets is a list of targets.")
        if len(self.targets) > MAX_TARGETS_PER_RULE:
            raise RaybusError(
                "LimitExceededException",
                f"A rule has at most {MAX_TARGETS_PER_RULE} targets.",
                parameter="targets",
            )
        ids = [t.id for t in self.targets]
        if len(set(ids)) != len(ids):
            raise invalid("targets", "Two targets of a rule share an id.")
        int_in("created_ms", self.created_ms, 0, 1 << 62)

    @property
    def key(self) -> str:
        return rule_key(self.bus, self.name)

    @property
    def enabled(self) -> bool:
        return self.state != "DISABLED"

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RuleConfig:
        settings = known("rule", data, field_names(cls))
        if "name" not in settings:
            raise RaybusError("MissingParameter", "A rule needs a name.", parameter="name")
        pattern = settings.get("event_pattern")
        if isinstance(pattern, dict):  # the native API may give the pattern as an object
            settings["event_pattern"] = json.dumps(pattern)
        targets = settings.get("targets", ())
        if not isinstance(targets, (list, tuple)):
            raise invalid("targets", "targets is a list of targets.")
        settings["targets"] = tuple(
            t if isinstance(t, TargetConfig) else TargetConfig.from_dict(t) for t in targets
        )
        return cls(**settings)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["targets"] = [t.to_dict() for t in self.targets]
        return data

    def updated(self, changes: Mapping[str, Any]) -> RuleConfig:
        changes = known("rule", changes, _RULE_MUTABLE)
        return RuleConfig.from_dict({**self.to_dict(), **changes})

    def with_targets(self, targets: Sequence[TargetConfig]) -> RuleConfig:
        return RuleConfig.from_dict({**self.to_dict(), "targets": list(targets)})


_RULE_MUTABLE = frozenset(
    {
        "event_pattern",
        "schedule_expression",
        "state",
        "description",
        "role_arn",
        "managed_by",
        "targets",
    }
)


@dataclass(frozen=True, slots=True)
class ArchiveConfig:
    """An archive of a bus's events (EventBridge's): the events matching ``event_pattern`` (all,
    if None) kept for ``retention_days`` (0: forever). It works as on AWS: a managed rule
    ``Events-Archive-<name>`` on the bus whose one target is the archive."""

    name: str
    bus: str = DEFAULT_BUS
    event_pattern: str | None = None
    retention_days: int = 0
    description: str | None = None
    kms_key_identifier: str | None = None
    created_ms: int = 0

    def __post_init__(self) -> None:
        validate_archive_name(self.name)
        validate_bus_name(self.bus)
        _text("event_pattern", self.event_pattern, MAX_PATTERN_CHARS)
        _text("description", self.description, MAX_DESCRIPTION)
        _text("kms_key_identifier", self.kms_key_identifier, 2048)
        int_in("retention_days", self.retention_days, 0, 1 << 31)
        int_in("created_ms", self.created_ms, 0, 1 << 62)

    @property
    def rule_name(self) -> str:
        return ARCHIVE_RULE_PREFIX + self.name

    def rule_pattern(self) -> str:
        """The managed rule's pattern: the archive's, and never a replayed event."""
        pattern: dict[str, Any] = (
            {} if self.event_pattern is None else json.loads(self.event_pattern)
        )
        if not isinstance(pattern, dict):
            raise RaybusError("InvalidEventPatternException", "Event pattern is not valid.")
        return json.dumps({**pattern, "replay-name": [{"exists": False}]})

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ArchiveConfig:
        settings = known("archive", data, field_names(cls))
        if "name" not in settings:
            raise RaybusError("MissingParameter", "An archive needs a name.", parameter="name")
        pattern = settings.get("event_pattern")
        if isinstance(pattern, dict):
            settings["event_pattern"] = json.dumps(pattern)
        return cls(**settings)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def updated(self, changes: Mapping[str, Any]) -> ArchiveConfig:
        changes = known("archive", changes, _ARCHIVE_MUTABLE)
        return ArchiveConfig.from_dict({**self.to_dict(), **changes})


_ARCHIVE_MUTABLE = frozenset({"event_pattern", "retention_days", "description"})
ReplayState = Literal["RUNNING", "CANCELLING"]


@dataclass(frozen=True, slots=True)
class ReplayConfig:
    """A replay: the events archive ``archive`` took in ``[start_ms, end_ms]`` put on the
    archive's bus again, with ``replay-name``, seen only by ``rules`` (all, if None). Attached
    to the bus, so each of its partitions replays what it archived."""

    name: str
    bus: str
    archive: str
    start_ms: int
    end_ms: int
    rules: tuple[str, ...] | None = None
    description: str | None = None
    state: ReplayState = "RUNNING"
    started_ms: int = 0

    def __post_init__(self) -> None:
        validate_replay_name(self.name)
        validate_bus_name(self.bus)
        validate_archive_name(self.archive, "archive")
        int_in("start_ms", self.start_ms, 0, 1 << 62)
        int_in("end_ms", self.end_ms, 0, 1 << 62)
        int_in("started_ms", self.started_ms, 0, 1 << 62)
        if self.end_ms <= self.start_ms:
            raise RaybusError(
                "ValidationException",
                "Parameter EventEndTime is not valid. Reason: EventStartTime must be before "
                "EventEndTime.",
                parameter="end_ms",
            )
        _text("description", self.description, MAX_DESCRIPTION)
        if self.rules is not None:
            if not isinstance(self.rules, tuple):
                raise invalid("rules", "rules is a list of rule names.")
            for rule in self.rules:
                validate_rule_name(rule, "rules")
        if self.state not in ("RUNNING", "CANCELLING"):
            raise invalid("state", "A replay's state is RUNNING or CANCELLING.")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ReplayConfig:
        settings = known("replay", data, field_names(cls))
        for required in ("name", "bus", "archive", "start_ms", "end_ms"):
            if required not in settings:
                raise RaybusError(
                    "MissingParameter", f"A replay needs {required}.", parameter=required
                )
        rules = settings.get("rules")
        if isinstance(rules, list):
            settings["rules"] = tuple(rules)
        return cls(**settings)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        if self.rules is not None:
            data["rules"] = list(self.rules)
        return data


AuthorizationType = Literal["BASIC", "API_KEY", "OAUTH_CLIENT_CREDENTIALS"]
HttpMethod = Literal["POST", "GET", "HEAD", "OPTIONS", "PUT", "PATCH", "DELETE"]
_HTTP_METHODS = ("POST", "GET", "HEAD", "OPTIONS", "PUT", "PATCH", "DELETE")
_HTTPS_URL = re.compile(r"^https?://[^\s]+$")


@dataclass(frozen=True, slots=True)
class ConnectionConfig:
    """How an API destination authorizes itself (EventBridge's connection): ``BASIC``
    (``username``, ``password``) or ``API_KEY`` (``api_key_name`` header with
    ``api_key_value``), plus extra ``headers``, ``query`` and ``body`` parameters sent with
    every invocation. ``deauthorized``: DeauthorizeConnection cleared its secrets."""

    name: str
    authorization_type: AuthorizationType
    description: str | None = None
    username: str | None = None
    password: str | None = None
    api_key_name: str | None = None
    api_key_value: str | None = None
    headers: dict[str, str] | None = None
    query: dict[str, str] | None = None
    body: dict[str, str] | None = None
    deauthorized: bool = False
    created_ms: int = 0

    def __post_init__(self) -> None:
        validate_archive_name(self.name)  # the same rule: 1–64 of [.-_A-Za-z0-9]
        if self.authorization_type not in ("BASIC", "API_KEY", "OAUTH_CLIENT_CREDENTIALS"):
            raise invalid("authorization_type", "BASIC, API_KEY or OAUTH_CLIENT_CREDENTIALS.")
        if self.authorization_type == "OAUTH_CLIENT_CREDENTIALS":
            raise RaybusError(
                "ValidationException",
                "OAUTH_CLIENT_CREDENTIALS connections are not supported by raybus; use BASIC or "
                "API_KEY.",
                parameter="authorization_type",
            )
        _text("description", self.description, MAX_DESCRIPTION)
        for field_name in ("username", "password", "api_key_name", "api_key_value"):
            _text(field_name, getattr(self, field_name), 512)
        if not self.deauthorized:
            needed = (
                ("username", "password")
                if self.authorization_type == "BASIC"
                else ("api_key_name", "api_key_value")
            )
            for field_name in needed:
                if not getattr(self, field_name):
                    raise RaybusError(
                        "ValidationException",
                        f"A {self.authorization_type} connection needs {field_name}.",
                        parameter=field_name,
                    )
        for field_name in ("headers", "query", "body"):
            value = getattr(self, field_name)
            if value is not None and (
                not isinstance(value, dict)
                or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items())
            ):
                raise invalid(field_name, f"{field_name} maps names to strings.")
        int_in("created_ms", self.created_ms, 0, 1 << 62)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ConnectionConfig:
        settings = known("connection", data, field_names(cls))
        for required in ("name", "authorization_type"):
            if required not in settings:
                raise RaybusError(
                    "MissingParameter", f"A connection needs {required}.", parameter=required
                )
        return cls(**settings)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def public(self) -> dict[str, Any]:
        """The settings without the secrets (what Describe answers)."""
        data = self.to_dict()
        data.pop("password")
        data.pop("api_key_value")
        return data


@dataclass(frozen=True, slots=True)
class ApiDestinationConfig:
    """An HTTP endpoint events are sent to (EventBridge's API destination): ``endpoint`` (an
    ``*`` in it is replaced by the target's path parameters, in order), ``method``, the
    ``connection`` that authorizes it, and at most ``rate_per_s`` invocations a second."""

    name: str
    connection: str
    endpoint: str
    method: HttpMethod = "POST"
    rate_per_s: int = 300
    description: str | None = None
    created_ms: int = 0

    def __post_init__(self) -> None:
        validate_archive_name(self.name)
        validate_archive_name(self.connection, "connection")
        if not isinstance(self.endpoint, str) or not _HTTPS_URL.match(self.endpoint):
            raise invalid("endpoint", "An API destination's endpoint is an http(s) URL.")
        _text("endpoint", self.endpoint, 2048)
        if self.method not in _HTTP_METHODS:
            raise invalid("method", f"method is one of {', '.join(_HTTP_METHODS)}.")
        int_in("rate_per_s", self.rate_per_s, 1, 1 << 31)
        _text("description", self.description, MAX_DESCRIPTION)
        int_in("created_ms", self.created_ms, 0, 1 << 62)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ApiDestinationConfig:
        settings = known("api destination", data, field_names(cls))
        for required in ("name", "connection", "endpoint"):
            if required not in settings:
                raise RaybusError(
                    "MissingParameter", f"An API destination needs {required}.",
                    parameter=required,
                )  # fmt: skip
        return cls(**settings)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# -- events ---------------------------------------------------------------------------------------
@dataclass(slots=True)
class EventEntry:
    """One PutEvents entry. ``detail`` is the JSON text of an object; ``time_ms`` the event's
    time (None: the time of the call). ``replay_name`` marks an event re-sent by a replay;
    ``rules`` limits which rules of the bus see it (a replay's EventSourceArn filter), or, when
    ``addressed``, names the rules whose targets get it without matching (a scheduled rule's
    event)."""

    source: str | None
    detail_type: str | None
    detail: str | None
    resources: tuple[str, ...] = ()
    time_ms: int | None = None
    trace_header: str | None = None
    replay_name: str | None = None
    rules: tuple[str, ...] | None = None
    internal: bool = False  # raybus's own events (schedules, API calls) may use ``aws.``
    addressed: bool = False  # for the targets of ``rules`` without matching (a schedule's)


@dataclass(slots=True)
class PutEventsResult:
    event_id: str


def entry_size(entry: EventEntry) -> int:
    """EventBridge's size of an entry (Calculating PutEvents event entry size)."""
    size = _TIME_BYTES if entry.time_ms is not None else 0
    for text in (entry.source, entry.detail_type, entry.detail, *entry.resources):
        if text:
            size += len(text.encode("utf-8", "surrogatepass"))
    return size


def _entry_error(parameter: str, reason: str) -> RaybusError:
    return RaybusError(
        "InvalidArgument", f"Parameter {parameter} is not valid. Reason: {reason}",
        parameter=parameter,
    )  # fmt: skip


def check_entry(entry: EventEntry, *, internal: bool = False) -> dict[str, Any]:
    """The entry's detail as a JSON object, or the per-entry error AWS answers:
    ``InvalidArgument`` for a missing source, detail type or detail, ``MalformedDetail`` for a
    detail that is not a JSON object, ``NotAuthorizedForSourceException`` for a source in
    AWS's ``aws.`` namespace (``internal`` callers — API-call events — may use it)."""
    for parameter, value in (
        ("Source", entry.source),
        ("DetailType", entry.detail_type),
        ("Detail", entry.detail),
    ):
        if value is None or value == "":
            raise _entry_error(parameter, f"{parameter} is a required argument.")
        if not isinstance(value, str):
            raise _entry_error(parameter, f"{parameter} must be a string.")
    assert entry.source is not None and entry.detail is not None
    if len(entry.source) > 256 or len(entry.detail_type or "") > 128:  # the console's bounds
        raise _entry_error("Source", "Source is at most 256 and DetailType 128 characters.")
    if entry.source.startswith("aws.") and not internal:
        raise RaybusError("NotAuthorizedForSourceException", "Not authorized for the source.")
    try:
        detail = json.loads(entry.detail)
    except (ValueError, RecursionError):
        detail = None
    if not isinstance(detail, dict):
        raise RaybusError("MalformedDetail", "Detail is malformed.", parameter="Detail")
    if len(entry.resources) > MAX_RESOURCES or not all(isinstance(r, str) for r in entry.resources):
        raise _entry_error("Resources", "Resources is a list of strings.")
    return detail


def event_time(ms: int) -> str:
    """EventBridge's event time: ISO 8601 in UTC to the second (``2026-12-03T08:00:00Z``)."""
    return _second(ms // 1000)


@functools.lru_cache(maxsize=256)
def _second(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _bus_partitions(config: BusConfig, hosts: int) -> int:
    return config.partitions or max(1, hosts)


BUS = Kind(
    name="bus",
    plural="buses",
    config=BusConfig.from_dict,
    key=lambda config: str(config.name),
    partitions=_bus_partitions,
)
ARCHIVE = Kind(
    name="archive",
    plural="archives",
    config=ArchiveConfig.from_dict,
    key=lambda config: str(config.name),
)
REPLAY = Kind(
    name="replay",
    plural="replays",
    config=ReplayConfig.from_dict,
    key=lambda config: str(config.name),
    parent="bus",
    parent_of=lambda config: str(config.bus),
)
CONNECTION = Kind(
    name="connection",
    plural="connections",
    config=ConnectionConfig.from_dict,
    key=lambda config: str(config.name),
)
API_DESTINATION = Kind(
    name="api_destination",
    plural="api-destinations",
    config=ApiDestinationConfig.from_dict,
    key=lambda config: str(config.name),
)
RULE = Kind(
    name="rule",
    plural="rules",
    config=RuleConfig.from_dict,
    key=lambda config: str(config.key),
    parent="bus",
    parent_of=lambda config: str(config.bus),
)
