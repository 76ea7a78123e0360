# Generated from _aio.py by `python -m tests.sdk.generate_sync`: edit _aio.py, not this
# file (tests/sdk/test_generated_sync.py fails when the two differ).
"""Event buses on the client: :class:`BusMethods` (the client's bus, archive, replay and
pattern-test methods) and :class:`Bus`.

Delivery is EventBridge's: at-least-once. ``put_events`` returns once the events are durable
in the bus's log, matched against every rule; each target of each matching rule then gets them
(retried on its retry policy, then its dead-letter queue), possibly twice after a crash.

``_aio.py`` is the source of both flavours; ``_sync.py`` beside it is generated from it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

from raybus.core import arns
from raybus.sdk._handles import Handle, name_of
from raybus.sdk.base._sync import ClientBase
from raybus.sdk.buses import ops
from raybus.sdk.errors import RaybusError

__all__ = ["Bus", "BusMethods"]


class BusMethods(ClientBase):
    """The client's event-bus methods."""

    def create_bus(self, name: str, *, description: str | None = None) -> Bus:
        """Create an event bus, or return the existing one when its settings are the same.
        Every cluster has the bus ``default``."""
        body: dict[str, Any] = {"name": name}
        if description is not None:
            body["description"] = description
        return Bus(self, self._run(ops.create_bus(body)))

    def bus(self, name: str = "default") -> Bus:
        """The bus named ``name``; raises ``ResourceNotFound``."""
        return Bus(self, self._run(ops.get_bus(name)))

    def list_buses(self, prefix: str | None = None, *, limit: int | None = None) -> list[str]:
        """Bus names, sorted."""
        return self._run(ops.list_buses(prefix, limit))

    def delete_bus(self, bus: str | Bus) -> None:
        """Delete a custom bus, its rules and its archives."""
        self._run(ops.delete_bus(name_of(bus)))

    def test_event_pattern(
        self, pattern: Mapping[str, Any] | str, event: Mapping[str, Any] | str
    ) -> bool:
        """EventBridge's TestEventPattern: whether ``pattern`` matches ``event`` (an event
        with its envelope fields; ``ValidationException`` otherwise)."""
        return self._run(ops.test_event_pattern(pattern, event))

    def create_archive(
        self,
        name: str,
        bus: str | Bus = "default",
        *,
        event_pattern: Mapping[str, Any] | str | None = None,
        retention_days: int = 0,
    ) -> dict[str, Any]:
        """Archive the bus's events (those matching ``event_pattern``, all if None) for
        ``retention_days`` (0: forever)."""
        body: dict[str, Any] = {
            "name": name,
            "bus": name_of(bus),
            "event_pattern": event_pattern,
            "retention_days": retention_days,
        }
        return self._run(ops.create_archive(body))

    def archive(self, name: str) -> dict[str, Any]:
        """An archive's settings with its event count (``events``) and size (``bytes``)."""
        return self._run(ops.get_archive(name))

    def delete_archive(self, name: str) -> None:
        self._run(ops.delete_archive(name))

    def start_replay(
        self,
        name: str,
        archive: str,
        start_ms: int,
        end_ms: int,
        *,
        rules: Iterable[str] | None = None,
    ) -> dict[str, Any]:
        """Put the events ``archive`` took in ``[start_ms, end_ms]`` on its bus again (each
        with ``replay-name``), seen only by ``rules`` if given."""
        body: dict[str, Any] = {
            "name": name,
            "archive": archive,
            "start_ms": start_ms,
            "end_ms": end_ms,
        }
        if rules is not None:
            body["rules"] = list(rules)
        return self._run(ops.start_replay(body))

    def replay(self, name: str) -> dict[str, Any]:
        """A replay with its ``state`` (RUNNING, COMPLETED, CANCELLED)."""
        return self._run(ops.get_replay(name))


class Bus(Handle[ClientBase]):
    """A handle on one event bus: ``name``, ``arn`` and ``config``."""

    resource_kind: ClassVar[str] = "bus"

    def __init__(self, client: ClientBase, config: Mapping[str, Any]) -> None:
        super().__init__(client, config)
        self.name: str = str(self.config.get("name"))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"

    @property
    def arn(self) -> str:
        return arns.bus_arn(self.name)

    def stats(self) -> dict[str, Any]:
        """Events put and matched, and per target its delivery counts (summed over the bus's
        partitions), archives' sizes and replays' progress."""
        return self._client._run(ops.bus_stats(self.name))

    def put_event(
        self,
        source: str,
        detail_type: str,
        detail: Mapping[str, Any] | str,
        *,
        resources: Iterable[str] = (),
        time_ms: int | None = None,
    ) -> str:
        """Put one event (``detail``: a JSON object, or its text); returns its id once it is
        durable. Raises the entry's error (``MalformedDetail``, ``InvalidArgument``,
        ``NotAuthorizedForSourceException``)."""
        entry = ops.event_entry(source, detail_type, detail, resources=resources,
                                time_ms=time_ms)  # fmt: skip
        (result,) = self._client._run(ops.put_events(self.name, [entry]))
        if isinstance(result, RaybusError):
            raise result
        return result

    def put_events(self, entries: Iterable[Mapping[str, Any]]) -> list[str | RaybusError]:
        """Put many events: each a mapping with ``source``, ``detail_type``, ``detail`` and
        optionally ``resources`` and ``time_ms``; one result per entry, in order (the event's
        id, or the entry's typed error). Sent as requests of at most 10 entries."""
        wire = [ops.event_entry(**dict(entry)) for entry in entries]
        results: list[str | RaybusError] = []
        for start in range(0, len(wire), ops.MAX_EVENTS):
            chunk = wire[start : start + ops.MAX_EVENTS]
            results.extend(self._client._run(ops.put_events(self.name, chunk)))
        return results

    def put_rule(
        self,
        name: str,
        *,
        event_pattern: Mapping[str, Any] | str | None = None,
        schedule_expression: str | None = None,
        state: str | None = None,
        description: str | None = None,
    ) -> dict[str, Any]:
        """Create or update a rule (an update keeps its targets and what it does not name)."""
        settings = {
            key: value
            for key, value in (
                ("event_pattern", event_pattern),
                ("schedule_expression", schedule_expression),
                ("state", state),
                ("description", description),
            )
            if value is not None
        }
        return self._client._run(ops.put_rule(self.name, name, settings))

    def rule(self, name: str) -> dict[str, Any]:
        return self._client._run(ops.get_rule(self.name, name))

    def rules(self, prefix: str | None = None) -> list[dict[str, Any]]:
        return self._client._run(ops.list_rules(self.name, prefix))

    def delete_rule(self, name: str, *, force: bool = False) -> None:
        """Delete a rule (it must have no targets left)."""
        self._client._run(ops.delete_rule(self.name, name, force))

    def put_targets(self, rule: str, targets: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """Add or replace targets of ``rule``: each ``{"id", "kind", "name", ...}`` (kind
        ``queue``, ``topic``, ``function``, ``bus`` or ``api_destination``; ``input``,
        ``input_path``, ``input_paths_map`` with ``input_template``, ``message_group_id``,
        ``retry_policy``, ``dead_letter_queue``). Returns the targets refused, with why."""
        return self._client._run(ops.put_targets(self.name, rule, [dict(t) for t in targets]))

    def remove_targets(self, rule: str, ids: Iterable[str]) -> None:
        self._client._run(ops.remove_targets(self.name, rule, list(ids)))
