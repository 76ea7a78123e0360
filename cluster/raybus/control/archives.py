"""The control calls of archives and replays (EventBridge's), see :mod:`raybus.control.plane`.

An archive works as on AWS: a managed rule ``Events-Archive-<name>`` on its bus (managed by
``events.amazonaws.com``, pattern: the archive's, and never a replayed event) whose one target
is the archive, so each bus partition keeps what it archived in its own log for the
retention. A replay is a kind attached to the bus: every partition of the bus sees it and puts
its own archived events of the window back on the bus, recording its progress in its log (a
restarted partition continues where it stopped). A replay is COMPLETED once every partition
has finished; CANCELLING stops them; its state is read from the partitions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from raybus.control.buses import check_rule
from raybus.control.plane import ControlCall, ControlPlane
from raybus.core.buses import (
    ARCHIVE_TARGET_ID,
    MANAGED_BY_EVENTS,
    ArchiveConfig,
    ReplayConfig,
    RuleConfig,
    TargetConfig,
    rule_key,
    target_key,
)
from raybus.core.errors import RaybusError
from raybus.engines.bus.ops import BusStats

__all__ = [
    "CancelReplay",
    "CreateArchive",
    "DeleteArchive",
    "DescribeArchive",
    "DescribeReplay",
    "ListArchives",
    "ListReplays",
    "StartReplay",
    "UpdateArchive",
]

_BUS, _RULE, _ARCHIVE, _REPLAY = "bus", "rule", "archive", "replay"


def _managed_rule(archive: ArchiveConfig, created_ms: int) -> RuleConfig:
    target = TargetConfig(
        id=ARCHIVE_TARGET_ID,
        kind="archive",
        name=archive.name,
        retention_days=archive.retention_days,
    )
    return RuleConfig(
        name=archive.rule_name,
        bus=archive.bus,
        event_pattern=archive.rule_pattern(),
        managed_by=MANAGED_BY_EVENTS,
        description=f"Managed rule of archive {archive.name}.",
        targets=(target,),
        created_ms=created_ms,
    )


def _archive_key(archive: ArchiveConfig) -> str:
    return target_key(archive.bus, archive.rule_name, ARCHIVE_TARGET_ID)


async def _described(plane: ControlPlane, archive: ArchiveConfig) -> dict[str, Any]:
    """The archive's settings with its event count and size over the bus's partitions."""
    out: dict[str, Any] = {**archive.to_dict(), "state": "ENABLED", "events": 0, "bytes": 0}
    key = _archive_key(archive)
    for part in await plane.partition_stats(_BUS, archive.bus, BusStats()):
        held = part.get("archives", {}).get(key)
        if held is not None:
            out["events"] += held["events"]
            out["bytes"] += held["bytes"]
    return out


@dataclass(frozen=True, slots=True)
class CreateArchive(ControlCall[dict[str, Any]]):
    settings: dict[str, Any]

    async def run(self, plane: ControlPlane) -> dict[str, Any]:
        if not isinstance(self.settings, dict):
            raise RaybusError("MalformedRequest", "Archive settings are a map.")
        now = plane.now_ms()
        archive = ArchiveConfig.from_dict({**self.settings, "created_ms": now})
        rule = _managed_rule(archive, now)
        check_rule(rule)
        async with plane.change() as catalog:
            catalog.get(_BUS, archive.bus)
            if catalog.find(_ARCHIVE, archive.name) is not None:
                raise RaybusError(
                    "ResourceConflict", f"Archive {archive.name} already exists.",
                    resource=archive.name,
                )  # fmt: skip
            catalog.put(_ARCHIVE, archive)
            catalog.put(_RULE, rule)
        await plane.push_attached(_BUS, archive.bus)
        return {**archive.to_dict(), "state": "ENABLED"}


@dataclass(frozen=True, slots=True)
class UpdateArchive(ControlCall[dict[str, Any]]):
    name: str
    changes: dict[str, Any]

    async def run(self, plane: ControlPlane) -> dict[str, Any]:
        async with plane.change() as catalog:
            archive: ArchiveConfig = catalog.config(_ARCHIVE, self.name).updated(self.changes)
            rule = _managed_rule(archive, archive.created_ms)
            check_rule(rule)
            catalog.put(_ARCHIVE, archive)
            catalog.put(_RULE, rule)
        await plane.push_attached(_BUS, archive.bus)
        return {**archive.to_dict(), "state": "ENABLED"}


@dataclass(frozen=True, slots=True)
class DescribeArchive(ControlCall[dict[str, Any]]):
    name: str

    async def run(self, plane: ControlPlane) -> dict[str, Any]:
        return await _described(plane, plane.catalog.config(_ARCHIVE, self.name))


@dataclass(frozen=True, slots=True)
class ListArchives(ControlCall[list[dict[str, Any]]]):
    prefix: str | None = None
    bus: str | None = None

    async def run(self, plane: ControlPlane) -> list[dict[str, Any]]:
        archives = sorted(plane.catalog.of(_ARCHIVE).values(), key=lambda r: r.key)
        out = []
        for record in archives:
            archive: ArchiveConfig = record.config
            if self.prefix is not None and not archive.name.startswith(self.prefix):
                continue
            if self.bus is not None and archive.bus != self.bus:
                continue
            out.append(await _described(plane, archive))
        return out


@dataclass(frozen=True, slots=True)
class DeleteArchive(ControlCall[None]):
    """Delete an archive, its managed rule and what it kept."""

    name: str

    async def run(self, plane: ControlPlane) -> None:
        async with plane.change() as catalog:
            archive: ArchiveConfig = catalog.remove(_ARCHIVE, self.name).config
            key = rule_key(archive.bus, archive.rule_name)
            if catalog.find(_RULE, key) is not None:
                catalog.remove(_RULE, key)
        await plane.push_attached(_BUS, archive.bus)


# -- replays -------------------------------------------------------------------------------------
async def _replay_state(plane: ControlPlane, replay: ReplayConfig) -> dict[str, Any]:
    """The replay with its state read from the bus's partitions: COMPLETED once each has
    finished, CANCELLED once cancelled (the partitions stop at once), else RUNNING."""
    parts = await plane.partition_stats(_BUS, replay.bus, BusStats())
    progress = [part.get("replays", {}).get(replay.name) for part in parts]
    done = all(p is not None and p["done"] for p in progress)
    last = max((p["at_ms"] for p in progress if p is not None), default=None)
    if replay.state == "CANCELLING":
        state = "CANCELLED"
    elif done:
        state = "COMPLETED"
    else:
        state = "RUNNING"
    return {
        **replay.to_dict(),
        "state": state,
        "last_replayed_ms": last,
        "ended_ms": last if state == "COMPLETED" else None,
    }


@dataclass(frozen=True, slots=True)
class StartReplay(ControlCall[dict[str, Any]]):
    """Replay an archive's window onto its bus (EventBridge replays to the archive's own bus),
    seen by ``rules`` only if given."""

    settings: dict[str, Any]

    async def run(self, plane: ControlPlane) -> dict[str, Any]:
        if not isinstance(self.settings, dict):
            raise RaybusError("MalformedRequest", "Replay settings are a map.")
        async with plane.change() as catalog:
            archive: ArchiveConfig = catalog.config(_ARCHIVE, self.settings.get("archive", ""))
            bus = self.settings.get("bus", archive.bus)
            if bus != archive.bus:
                raise RaybusError(
                    "ValidationException",
                    "Parameter Destination.Arn is not valid. Reason: Cross event bus replay is "
                    "not supported.",
                    parameter="bus",
                )
            replay = ReplayConfig.from_dict(
                {**self.settings, "bus": archive.bus, "started_ms": plane.now_ms()}
            )
            if catalog.find(_REPLAY, replay.name) is not None:
                raise RaybusError(
                    "ResourceConflict", f"Replay {replay.name} already exists.",
                    resource=replay.name,
                )  # fmt: skip
            for rule in replay.rules or ():
                catalog.get(_RULE, rule_key(archive.bus, rule))
            catalog.put(_REPLAY, replay)
        await plane.push_attached(_BUS, archive.bus)
        return {**replay.to_dict(), "state": "STARTING"}


@dataclass(frozen=True, slots=True)
class DescribeReplay(ControlCall[dict[str, Any]]):
    name: str

    async def run(self, plane: ControlPlane) -> dict[str, Any]:
        return await _replay_state(plane, plane.catalog.config(_REPLAY, self.name))


@dataclass(frozen=True, slots=True)
class ListReplays(ControlCall[list[dict[str, Any]]]):
    prefix: str | None = None
    archive: str | None = None

    async def run(self, plane: ControlPlane) -> list[dict[str, Any]]:
        replays = sorted(plane.catalog.of(_REPLAY).values(), key=lambda r: r.key)
        out = []
        for record in replays:
            replay: ReplayConfig = record.config
            if self.prefix is not None and not replay.name.startswith(self.prefix):
                continue
            if self.archive is not None and replay.archive != self.archive:
                continue
            out.append(await _replay_state(plane, replay))
        return out


@dataclass(frozen=True, slots=True)
class CancelReplay(ControlCall[dict[str, Any]]):
    name: str

    async def run(self, plane: ControlPlane) -> dict[str, Any]:
        current = await _replay_state(plane, plane.catalog.config(_REPLAY, self.name))
        if current["state"] != "RUNNING":
            raise RaybusError(
                "ValidationException",
                f"Replay {self.name} is {current['state']} and cannot be cancelled.",
                resource=self.name,
            )
        async with plane.change() as catalog:
            replay: ReplayConfig = catalog.config(_REPLAY, self.name)
            cancelled = ReplayConfig.from_dict({**replay.to_dict(), "state": "CANCELLING"})
            catalog.put(_REPLAY, cancelled)
        await plane.push_attached(_BUS, replay.bus)
        return {**cancelled.to_dict(), "state": "CANCELLING"}
