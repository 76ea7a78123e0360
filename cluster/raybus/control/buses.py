"""The control calls of event buses, their rules and the rules' targets (see
:mod:`raybus.control.plane`).

Buses are partitioned like standard topics; rules are a kind attached to them, so a rule's
settings (targets included) travel with the bus's route, and every change is pushed to each of
the bus's partitions before the call answers: an event acknowledged after PutRule or
PutTargets answered is matched against the new rule and reaches the new target.

Checks are EventBridge's: patterns must compile (``InvalidEventPatternException``), schedules
must parse and live on the default bus (``ValidationException``), a rule keeps at most five
targets (``LimitExceededException``), a FIFO queue target needs a message group id, input
shaping must be valid; a rule with targets cannot be deleted, and a rule managed by a service
changes only when the caller says ``force``. Targets' resources are not required to exist (as
on AWS: a missing one fails at delivery, is retried, then dead-lettered).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from raybus.control.catalog import Catalog
from raybus.control.plane import ControlCall, ControlPlane
from raybus.control.queues import MAX_LIST
from raybus.core.buses import (
    DEFAULT_BUS,
    MAX_TARGETS_PER_RULE,
    BusConfig,
    RuleConfig,
    TargetConfig,
    rule_key,
    validate_bus_name,
    validate_rule_name,
)
from raybus.core.errors import RaybusError
from raybus.engines.bus.ops import BusStats
from raybus.rules import compile_pattern
from raybus.rules.schedule import parse_schedule
from raybus.rules.transform import InputShape, compile_input

__all__ = [
    "BusStatsCall",
    "CreateBus",
    "DeleteBus",
    "DeleteRule",
    "DescribeBus",
    "DescribeRule",
    "ListBuses",
    "ListRules",
    "PutRule",
    "PutRules",
    "PutTargets",
    "RemoveTargets",
    "RulesByTarget",
    "SetRuleState",
    "TargetFailure",
    "check_rule",
    "check_target",
    "ensure_default_bus",
]

_BUS = "bus"
_RULE = "rule"


def ensure_default_bus(catalog: Catalog) -> None:
    """Every cluster has the default bus (EventBridge's ``default``), as every AWS account."""
    if catalog.find(_BUS, DEFAULT_BUS) is None:
        catalog.add(_BUS, BusConfig(DEFAULT_BUS))


def check_rule(rule: RuleConfig) -> None:
    if rule.event_pattern is not None:
        compile_pattern(rule.event_pattern)
    if rule.schedule_expression is not None:
        parse_schedule(rule.schedule_expression, anchor_ms=rule.created_ms)


def check_target(catalog: Catalog, target: TargetConfig, bus: str) -> None:
    """What EventBridge checks of a target of a rule of ``bus`` when it is put (not that its
    resource exists). A rule may not send to its own bus: the event would match it again."""
    if target.kind == "bus" and target.name == bus:
        raise RaybusError(
            "ValidationException",
            f"Target {target.id} is the rule's own event bus {bus}.",
            parameter="name",
        )
    compile_input(
        InputShape(
            input=target.input,
            input_path=target.input_path,
            paths_map=target.input_paths_map,
            template=target.input_template,
        )
    )
    if target.kind == "queue" and target.name.endswith(".fifo") and not target.message_group_id:
        raise RaybusError(
            "ValidationException",
            f"Parameter(s) SqsParameters must be specified for target: {target.id}.",
            parameter="message_group_id",
        )
    if target.kind == "archive":
        raise RaybusError(
            "ValidationException", "Archive targets belong to archives' managed rules.",
            parameter="kind",
        )  # fmt: skip
    if target.kind == "api_destination":
        catalog.get("api_destination", target.name)
    if target.kind == "bus" and target.shaped:
        raise RaybusError(
            "ValidationException",
            "Input, InputPath and InputTransformer are not supported for event bus targets.",
            parameter="input",
        )


@dataclass(frozen=True, slots=True)
class TargetFailure:
    target_id: str
    code: str
    message: str


# -- buses ---------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class CreateBus(ControlCall[tuple[dict[str, Any], bool]]):
    """Create a bus (idempotent for equal settings, as every raybus create)."""

    settings: dict[str, Any]

    async def run(self, plane: ControlPlane) -> tuple[dict[str, Any], bool]:
        if not isinstance(self.settings, dict):
            raise RaybusError("MalformedRequest", "Bus settings are a map.")
        validate_bus_name(self.settings.get("name"), custom=True)
        if self.settings.get("name") == DEFAULT_BUS:
            raise RaybusError(
                "ResourceConflict", "Event bus default already exists.", resource=DEFAULT_BUS
            )
        config = BusConfig.from_dict({**self.settings, "created_ms": plane.now_ms()})
        async with plane.change() as catalog:
            existing = catalog.find(_BUS, config.name)
            if existing is not None:
                return existing.config.to_dict(), False
            record, created = catalog.add(_BUS, config)
        if created:
            await plane.open_partitions(_BUS, config.name)
        return record.config.to_dict(), created


@dataclass(frozen=True, slots=True)
class DescribeBus(ControlCall[dict[str, Any]]):
    name: str = DEFAULT_BUS

    async def run(self, plane: ControlPlane) -> dict[str, Any]:
        config: dict[str, Any] = plane.catalog.config(_BUS, self.name).to_dict()
        return config


@dataclass(frozen=True, slots=True)
class ListBuses(ControlCall[list[dict[str, Any]]]):
    prefix: str | None = None
    limit: int = MAX_LIST

    async def run(self, plane: ControlPlane) -> list[dict[str, Any]]:
        buses = sorted(plane.catalog.of(_BUS).values(), key=lambda r: r.key)
        return [
            r.config.to_dict()
            for r in buses
            if self.prefix is None or r.key.startswith(self.prefix)
        ][: self.limit]


@dataclass(frozen=True, slots=True)
class DeleteBus(ControlCall[None]):
    """Delete a custom bus and its rules (the default bus cannot be deleted)."""

    name: str

    async def run(self, plane: ControlPlane) -> None:
        if self.name == DEFAULT_BUS:
            raise RaybusError(
                "ValidationException", "Cannot delete event bus default.", parameter="name"
            )
        async with plane.change() as catalog:
            record = catalog.remove(_BUS, self.name)
            for child in list(catalog.children(_BUS, self.name)):  # its rules and replays
                catalog.remove(child.kind, child.key)
            for archive in [a for a in catalog.of("archive").values()
                            if a.config.bus == self.name]:  # fmt: skip
                catalog.remove("archive", archive.key)
        await plane.close_partitions(record)


@dataclass(frozen=True, slots=True)
class BusStatsCall(ControlCall[dict[str, Any]]):
    name: str

    async def run(self, plane: ControlPlane) -> dict[str, Any]:
        parts = await plane.partition_stats(_BUS, self.name, BusStats())
        total: dict[str, Any] = {"events": 0, "matched": 0, "retained": 0, "targets": {}}
        for part in parts:
            for name in ("events", "matched", "retained"):
                total[name] += part[name]
            for key, counters in part["targets"].items():
                into = total["targets"].setdefault(key, dict.fromkeys(counters, 0))
                for counter, value in counters.items():
                    into[counter] += value
        return total


# -- rules ---------------------------------------------------------------------------------------
def _rules(plane: ControlPlane, bus: str) -> list[Any]:
    """The bus's rules (its other children are replays)."""
    return [r for r in plane.catalog.children(_BUS, bus) if r.kind == _RULE]


def _managed(rule: RuleConfig, force: bool) -> None:
    if rule.managed_by is not None and not force:
        raise RaybusError(
            "ManagedRuleException",
            f"Rule {rule.name} is managed by {rule.managed_by}; it can be changed only with force.",
            resource=rule.key,
        )


@dataclass(frozen=True, slots=True)
class PutRule(ControlCall[dict[str, Any]]):
    """Create or update a rule (EventBridge's PutRule: an update keeps the targets and any
    setting it does not name)."""

    bus: str
    settings: dict[str, Any]
    force: bool = False

    async def run(self, plane: ControlPlane) -> dict[str, Any]:
        if not isinstance(self.settings, dict):
            raise RaybusError("MalformedRequest", "Rule settings are a map.")
        name = validate_rule_name(self.settings.get("name"))
        async with plane.change() as catalog:
            catalog.get(_BUS, self.bus)
            existing = catalog.find(_RULE, rule_key(self.bus, name))
            if existing is None:
                rule = RuleConfig.from_dict(
                    {**self.settings, "bus": self.bus, "created_ms": plane.now_ms()}
                )
            else:
                _managed(existing.config, self.force)
                changes = {k: v for k, v in self.settings.items() if k != "name"}
                rule = existing.config.updated(changes)
            check_rule(rule)
            catalog.put(_RULE, rule)
        await plane.push_attached(_BUS, self.bus)
        answer: dict[str, Any] = rule.to_dict()
        return answer


@dataclass(frozen=True, slots=True)
class PutRules(ControlCall[list[dict[str, Any]]]):
    """Create or update many rules of one bus in one catalog change and one push to its
    partitions (raybus's own call: a bus with thousands of rules is set up in one step, where
    one PutRule each would push the whole rule set every time). Each rule as :class:`PutRule`
    takes it, ``targets`` included; all or nothing: the first invalid rule refuses the call."""

    bus: str
    rules: Sequence[dict[str, Any]]
    force: bool = False

    async def run(self, plane: ControlPlane) -> list[dict[str, Any]]:
        if not isinstance(self.rules, (list, tuple)) or not self.rules:
            raise RaybusError("MalformedRequest", "rules is a non-empty list of rule settings.")
        now = plane.now_ms()
        done: list[RuleConfig] = []
        async with plane.change() as catalog:
            catalog.get(_BUS, self.bus)
            for settings in self.rules:
                if not isinstance(settings, dict):
                    raise RaybusError("MalformedRequest", "A rule's settings are a map.")
                name = validate_rule_name(settings.get("name"))
                existing = catalog.find(_RULE, rule_key(self.bus, name))
                if existing is None:
                    rule = RuleConfig.from_dict({**settings, "bus": self.bus, "created_ms": now})
                else:
                    _managed(existing.config, self.force)
                    changes = {k: v for k, v in settings.items() if k != "name"}
                    rule = existing.config.updated(changes)
                check_rule(rule)
                for target in rule.targets:
                    check_target(catalog, target, self.bus)
                catalog.put(_RULE, rule)
                done.append(rule)
        await plane.push_attached(_BUS, self.bus)
        return [rule.to_dict() for rule in done]


@dataclass(frozen=True, slots=True)
class SetRuleState(ControlCall[dict[str, Any]]):
    """EnableRule / DisableRule."""

    bus: str
    name: str
    enabled: bool
    force: bool = False

    async def run(self, plane: ControlPlane) -> dict[str, Any]:
        async with plane.change() as catalog:
            catalog.get(_BUS, self.bus)
            rule: RuleConfig = catalog.config(_RULE, rule_key(self.bus, self.name))
            _managed(rule, self.force)
            rule = rule.updated({"state": "ENABLED" if self.enabled else "DISABLED"})
            catalog.put(_RULE, rule)
        await plane.push_attached(_BUS, self.bus)
        answer: dict[str, Any] = rule.to_dict()
        return answer


@dataclass(frozen=True, slots=True)
class DescribeRule(ControlCall[dict[str, Any]]):
    bus: str
    name: str

    async def run(self, plane: ControlPlane) -> dict[str, Any]:
        plane.catalog.get(_BUS, self.bus)
        config: dict[str, Any] = plane.catalog.config(
            _RULE, rule_key(self.bus, self.name)
        ).to_dict()
        return config


@dataclass(frozen=True, slots=True)
class ListRules(ControlCall[list[dict[str, Any]]]):
    """A bus's rules by name, optionally those whose name starts with ``prefix``."""

    bus: str
    prefix: str | None = None

    async def run(self, plane: ControlPlane) -> list[dict[str, Any]]:
        plane.catalog.get(_BUS, self.bus)
        rules = sorted(_rules(plane, self.bus), key=lambda r: r.config.name)
        return [
            r.config.to_dict()
            for r in rules
            if self.prefix is None or r.config.name.startswith(self.prefix)
        ]


@dataclass(frozen=True, slots=True)
class RulesByTarget(ControlCall[list[str]]):
    """The names of a bus's rules with a target delivering to ``kind`` ``name``."""

    bus: str
    kind: str
    name: str

    async def run(self, plane: ControlPlane) -> list[str]:
        plane.catalog.get(_BUS, self.bus)
        names = [
            r.config.name
            for r in _rules(plane, self.bus)
            if any(t.kind == self.kind and t.name == self.name for t in r.config.targets)
        ]
        return sorted(names)


@dataclass(frozen=True, slots=True)
class DeleteRule(ControlCall[None]):
    bus: str
    name: str
    force: bool = False

    async def run(self, plane: ControlPlane) -> None:
        async with plane.change() as catalog:
            catalog.get(_BUS, self.bus)
            key = rule_key(self.bus, self.name)
            rule = catalog.find(_RULE, key)
            if rule is None:
                return  # EventBridge: deleting a rule that is not there succeeds
            _managed(rule.config, self.force)
            if rule.config.targets:
                raise RaybusError(
                    "ValidationException",
                    "Rule can't be deleted since it has targets.",
                    resource=key,
                )
            catalog.remove(_RULE, key)
        await plane.push_attached(_BUS, self.bus)


# -- targets -------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class PutTargets(ControlCall[list[TargetFailure]]):
    """Add or replace targets of a rule; per-target failures, as EventBridge's
    ``FailedEntries`` (the others are put)."""

    bus: str
    rule: str
    targets: Sequence[dict[str, Any]] = field(default_factory=tuple)
    force: bool = False

    async def run(self, plane: ControlPlane) -> list[TargetFailure]:
        failures: list[TargetFailure] = []
        async with plane.change() as catalog:
            catalog.get(_BUS, self.bus)
            rule: RuleConfig = catalog.config(_RULE, rule_key(self.bus, self.rule))
            _managed(rule, self.force)
            merged = {t.id: t for t in rule.targets}
            for wire in self.targets:
                target_id = str(wire.get("id", "")) if isinstance(wire, dict) else ""
                try:
                    if not isinstance(wire, dict):
                        raise RaybusError("MalformedRequest", "A target is a map.")
                    target = TargetConfig.from_dict(wire)
                    check_target(catalog, target, self.bus)
                except RaybusError as error:
                    failures.append(TargetFailure(target_id, error.code, error.message))
                    continue
                if target.id not in merged and len(merged) >= MAX_TARGETS_PER_RULE:
                    failures.append(
                        TargetFailure(
                            target.id,
                            "LimitExceededException",
                            "The requested resource exceeds the maximum number allowed.",
                        )
                    )
                    continue
                merged[target.id] = target
            if len(failures) < len(self.targets):
                catalog.put(_RULE, rule.with_targets(list(merged.values())))
        if len(failures) < len(self.targets):
            await plane.push_attached(_BUS, self.bus)
        return failures


@dataclass(frozen=True, slots=True)
class RemoveTargets(ControlCall[list[TargetFailure]]):
    bus: str
    rule: str
    ids: Sequence[str] = ()
    force: bool = False

    async def run(self, plane: ControlPlane) -> list[TargetFailure]:
        async with plane.change() as catalog:
            catalog.get(_BUS, self.bus)
            rule: RuleConfig = catalog.config(_RULE, rule_key(self.bus, self.rule))
            _managed(rule, self.force)
            gone = set(self.ids)
            kept = [t for t in rule.targets if t.id not in gone]
            catalog.put(_RULE, rule.with_targets(kept))
        await plane.push_attached(_BUS, self.bus)
        return []
