"""The HTTP routes of event buses, rules, targets, archives, replays, connections and API
destinations (docs/http-api.md), and the bus data plane.

:class:`BusService` puts events through the per-partition lanes: a batch goes to one of the
bus's partitions (buses promise no order; the nearest first), as one
:class:`~raybus.engines.bus.ops.PutEvents`, coalesced with other requests to the same
partition and acknowledged after its commit. Control routes run typed control calls
(:mod:`raybus.control.buses`, :mod:`raybus.control.archives`,
:mod:`raybus.control.destinations`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from aiohttp import web

from raybus.control.archives import (
    CancelReplay,
    CreateArchive,
    DeleteArchive,
    DescribeArchive,
    DescribeReplay,
    ListArchives,
    ListReplays,
    StartReplay,
    UpdateArchive,
)
from raybus.control.buses import (
    BusStatsCall,
    CreateBus,
    DeleteBus,
    DeleteRule,
    DescribeBus,
    DescribeRule,
    ListBuses,
    ListRules,
    PutRule,
    PutRules,
    PutTargets,
    RemoveTargets,
)
from raybus.control.destinations import (
    CreateApiDestination,
    CreateConnection,
    DeauthorizeConnection,
    DeleteApiDestination,
    DeleteConnection,
    DescribeApiDestination,
    DescribeConnection,
    ListApiDestinations,
    ListConnections,
)
from raybus.core.buses import (
    MAX_ENTRIES,
    MAX_ENTRY_BYTES,
    ApiDestinationConfig,
    ArchiveConfig,
    BusConfig,
    ConnectionConfig,
    EventEntry,
    PutEventsResult,
    ReplayConfig,
    RetryPolicy,
    RuleConfig,
    TargetConfig,
    entry_size,
)
from raybus.core.errors import RaybusError
from raybus.engines.bus.ops import PutEvents
from raybus.gateway import schemas as S
from raybus.gateway.api import Context, body, clean, ok, query_limit
from raybus.gateway.boundary import Route
from raybus.gateway.codec import error_body
from raybus.gateway.lanes import Lanes
from raybus.gateway.schemas import COMPONENTS, closed, only, open_object, per_entry, ref
from raybus.rules import test_event_pattern

__all__ = ["BusApi", "BusService", "entries_from_wire", "routes"]

COMPONENTS["BusConfig"] = S.settings_schema(BusConfig)
COMPONENTS["RetryPolicy"] = S.settings_schema(RetryPolicy)
COMPONENTS["TargetConfig"] = S.settings_schema(TargetConfig)
COMPONENTS["RuleConfig"] = S.settings_schema(RuleConfig)
COMPONENTS["ArchiveConfig"] = S.settings_schema(ArchiveConfig)
COMPONENTS["ReplayConfig"] = S.settings_schema(ReplayConfig)
COMPONENTS["ConnectionConfig"] = S.settings_schema(ConnectionConfig)
COMPONENTS["ApiDestinationConfig"] = S.settings_schema(ApiDestinationConfig)
_PATTERN = {"anyOf": [S.STRING, {"type": "object"}]}
BUS_CREATE = S.settings_schema(BusConfig, exclude=("created_ms",))
RULE_PUT = S.settings_schema(
    RuleConfig,
    exclude=("name", "bus", "created_ms"),
    required=(),
    extra={"event_pattern": S.nullable(_PATTERN), "force": S.BOOLEAN},
)
RULES_PUT = closed(
    {"rules": {"type": "array", "minItems": 1, "maxItems": 100_000, "items": {"type": "object"}},
     "force": S.BOOLEAN},
    ["rules"],
)  # fmt: skip
TARGETS_PUT = closed(
    {"targets": {"type": "array", "maxItems": 5, "items": {"type": "object"}},
     "force": S.BOOLEAN},
    ["targets"],
)  # fmt: skip
TARGETS_REMOVE = closed(
    {"ids": {"type": "array", "items": S.STRING, "minItems": 1, "maxItems": 100},
     "force": S.BOOLEAN},
    ["ids"],
)  # fmt: skip
COMPONENTS["EventEntry"] = closed(
    {
        "source": S.STRING,
        "detail_type": S.STRING,
        "detail": {"anyOf": [S.STRING, {"type": "object"}]},
        "resources": {"type": "array", "items": S.STRING},
        "time_ms": S.INTEGER,
    },
    ["source", "detail_type", "detail"],
)
PUT_EVENTS = closed({"entries": per_entry(ref("EventEntry"), MAX_ENTRIES)}, ["entries"])
PUT_EVENTS_ANSWER = open_object(
    {
        "results": {
            "type": "array",
            "items": {"anyOf": [open_object({"event_id": S.STRING}, ["event_id"]), S.ERROR]},
        }
    },
    ["results"],
)
TEST_PATTERN = closed({"pattern": _PATTERN, "event": {"anyOf": [S.STRING, {"type": "object"}]}},
                      ["pattern", "event"])  # fmt: skip
ARCHIVE_CREATE = S.settings_schema(
    ArchiveConfig, exclude=("created_ms",), extra={"event_pattern": S.nullable(_PATTERN)}
)
ARCHIVE_CHANGES = only(
    S.settings_schema(ArchiveConfig, extra={"event_pattern": S.nullable(_PATTERN)}),
    ("event_pattern", "retention_days", "description"),
)
REPLAY_START = S.settings_schema(ReplayConfig, exclude=("state", "started_ms", "bus"))
CONNECTION_CREATE = S.settings_schema(ConnectionConfig, exclude=("created_ms", "deauthorized"))
DESTINATION_CREATE = S.settings_schema(ApiDestinationConfig, exclude=("created_ms",))


def _entry_from_wire(wire: object) -> EventEntry | RaybusError:
    """One native PutEvents entry (``detail`` a JSON object or its text), or its error."""
    if not isinstance(wire, Mapping):
        return RaybusError("MalformedRequest", "An event entry is a map.")
    unknown = sorted(set(wire) - set(COMPONENTS["EventEntry"]["properties"]))
    if unknown:
        return RaybusError(
            "InvalidParameterValue", f"Unknown event entry field(s): {', '.join(unknown)}.",
            parameter=unknown[0],
        )  # fmt: skip
    detail = wire.get("detail")
    if isinstance(detail, Mapping):
        detail = json.dumps(detail, ensure_ascii=False)
    resources = wire.get("resources") or ()
    time_ms = wire.get("time_ms")
    if not isinstance(resources, (list, tuple)) or (
        time_ms is not None and (isinstance(time_ms, bool) or not isinstance(time_ms, int))
    ):
        return RaybusError("InvalidParameterValue", "resources is a list; time_ms an integer.")
    entry = EventEntry(
        source=wire.get("source"),
        detail_type=wire.get("detail_type"),
        detail=detail,
        resources=tuple(resources),
        time_ms=time_ms,
    )
    if entry_size(entry) > MAX_ENTRY_BYTES:
        return RaybusError(
            "MessageTooLong", f"An event entry is at most {MAX_ENTRY_BYTES} bytes.",
            limit=MAX_ENTRY_BYTES,
        )  # fmt: skip
    return entry


def entries_from_wire(data: Mapping[str, Any]) -> list[EventEntry | RaybusError]:
    wires = data.get("entries")
    if not isinstance(wires, list) or not wires:
        raise RaybusError("EmptyBatchRequest", "entries is a non-empty list.")
    if len(wires) > MAX_ENTRIES:
        raise RaybusError(
            "TooManyEntriesInBatchRequest", f"At most {MAX_ENTRIES} entries per request.",
            limit=MAX_ENTRIES,
        )  # fmt: skip
    return [_entry_from_wire(wire) for wire in wires]


class BusService:
    def __init__(self, lanes: Lanes) -> None:
        self.lanes = lanes

    async def put_events(
        self, bus: str, entries: Sequence[EventEntry]
    ) -> list[PutEventsResult | RaybusError]:
        return await self.lanes.split("bus", bus, entries, PutEvents)


class BusApi:
    def __init__(self, context: Context) -> None:
        self.context = context
        self.control = context.control
        assert context.buses is not None
        self.buses = context.buses

    # -- buses ----------------------------------------------------------------------------------
    async def create_bus(self, request: web.Request) -> web.Response:
        config, created = await self.control.run(CreateBus(body(request)))
        await self.context.changed()
        return ok(request, {"bus": config, "created": created})

    async def list_buses(self, request: web.Request) -> web.Response:
        prefix = request.query.get("prefix") or None
        buses = await self.control.run(ListBuses(prefix, query_limit(request.query)))
        return ok(request, {"buses": [b["name"] for b in buses]})

    async def get_bus(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        config = await self.control.run(DescribeBus(name))
        rules = await self.control.run(ListRules(name))
        return ok(request, {"bus": config, "rules": rules})

    async def delete_bus(self, request: web.Request) -> web.Response:
        await self.control.run(DeleteBus(request.match_info["name"]))
        await self.context.changed()
        return ok(request, {})

    async def bus_stats(self, request: web.Request) -> web.Response:
        return ok(request, await self.control.run(BusStatsCall(request.match_info["name"])))

    async def put_events(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        entries = entries_from_wire(body(request))
        slots: list[PutEventsResult | RaybusError | None] = [
            e if isinstance(e, RaybusError) else None for e in entries
        ]
        valid = [(i, e) for i, e in enumerate(entries) if isinstance(e, EventEntry)]
        if valid:
            answers = await self.buses.put_events(name, [e for _, e in valid])
            for (index, _), answer in zip(valid, answers, strict=True):
                slots[index] = answer
        return ok(
            request,
            {
                "results": [
                    {"event_id": r.event_id}
                    if isinstance(r, PutEventsResult)
                    else error_body(clean(r or RaybusError("InternalError", "no result")))
                    for r in slots
                ]
            },
        )

    # -- rules and targets ------------------------------------------------------------------------
    async def put_rule(self, request: web.Request) -> web.Response:
        data = dict(body(request))
        force = bool(data.pop("force", False))
        data["name"] = request.match_info["rule"]
        call = PutRule(request.match_info["name"], data, force)
        rule = await self.control.run(call)
        await self.context.changed()
        return ok(request, {"rule": rule})

    async def put_rules(self, request: web.Request) -> web.Response:
        data = body(request)
        call = PutRules(request.match_info["name"], list(data["rules"]),
                        bool(data.get("force", False)))  # fmt: skip
        rules = await self.control.run(call)
        await self.context.changed()
        return ok(request, {"rules": rules})

    async def list_rules(self, request: web.Request) -> web.Response:
        prefix = request.query.get("prefix") or None
        rules = await self.control.run(ListRules(request.match_info["name"], prefix))
        return ok(request, {"rules": rules})

    async def get_rule(self, request: web.Request) -> web.Response:
        rule = await self.control.run(
            DescribeRule(request.match_info["name"], request.match_info["rule"])
        )
        return ok(request, {"rule": rule})

    async def delete_rule(self, request: web.Request) -> web.Response:
        force = request.query.get("force", "false").lower() == "true"
        await self.control.run(
            DeleteRule(request.match_info["name"], request.match_info["rule"], force)
        )
        await self.context.changed()
        return ok(request, {})

    async def put_targets(self, request: web.Request) -> web.Response:
        data = body(request)
        call = PutTargets(
            request.match_info["name"],
            request.match_info["rule"],
            list(data["targets"]),
            bool(data.get("force", False)),
        )
        failures = await self.control.run(call)
        await self.context.changed()
        return ok(
            request,
            {
                "failed": [
                    {"id": f.target_id, "code": f.code, "message": f.message} for f in failures
                ]
            },
        )

    async def remove_targets(self, request: web.Request) -> web.Response:
        data = body(request)
        call = RemoveTargets(
            request.match_info["name"],
            request.match_info["rule"],
            list(data["ids"]),
            bool(data.get("force", False)),
        )
        await self.control.run(call)
        await self.context.changed()
        return ok(request, {"failed": []})

    async def test_event_pattern(self, request: web.Request) -> web.Response:
        data = body(request)
        return ok(request, {"result": test_event_pattern(data["pattern"], data["event"])})

    # -- archives and replays ---------------------------------------------------------------------
    async def create_archive(self, request: web.Request) -> web.Response:
        archive = await self.control.run(CreateArchive(body(request)))
        await self.context.changed()
        return ok(request, {"archive": archive})

    async def list_archives(self, request: web.Request) -> web.Response:
        prefix = request.query.get("prefix") or None
        bus = request.query.get("bus") or None
        return ok(request, {"archives": await self.control.run(ListArchives(prefix, bus))})

    async def get_archive(self, request: web.Request) -> web.Response:
        archive = await self.control.run(DescribeArchive(request.match_info["name"]))
        return ok(request, {"archive": archive})

    async def update_archive(self, request: web.Request) -> web.Response:
        call = UpdateArchive(request.match_info["name"], dict(body(request)))
        archive = await self.control.run(call)
        await self.context.changed()
        return ok(request, {"archive": archive})

    async def delete_archive(self, request: web.Request) -> web.Response:
        await self.control.run(DeleteArchive(request.match_info["name"]))
        await self.context.changed()
        return ok(request, {})

    async def start_replay(self, request: web.Request) -> web.Response:
        replay = await self.control.run(StartReplay(dict(body(request))))
        await self.context.changed()
        return ok(request, {"replay": replay})

    async def list_replays(self, request: web.Request) -> web.Response:
        prefix = request.query.get("prefix") or None
        archive = request.query.get("archive") or None
        return ok(request, {"replays": await self.control.run(ListReplays(prefix, archive))})

    async def get_replay(self, request: web.Request) -> web.Response:
        replay = await self.control.run(DescribeReplay(request.match_info["name"]))
        return ok(request, {"replay": replay})

    async def cancel_replay(self, request: web.Request) -> web.Response:
        replay = await self.control.run(CancelReplay(request.match_info["name"]))
        await self.context.changed()
        return ok(request, {"replay": replay})

    # -- connections and API destinations ---------------------------------------------------------
    async def create_connection(self, request: web.Request) -> web.Response:
        connection = await self.control.run(CreateConnection(body(request)))
        await self.context.changed()
        return ok(request, {"connection": connection})

    async def list_connections(self, request: web.Request) -> web.Response:
        prefix = request.query.get("prefix") or None
        return ok(request, {"connections": await self.control.run(ListConnections(prefix))})

    async def get_connection(self, request: web.Request) -> web.Response:
        connection = await self.control.run(DescribeConnection(request.match_info["name"]))
        return ok(request, {"connection": connection})

    async def deauthorize_connection(self, request: web.Request) -> web.Response:
        connection = await self.control.run(DeauthorizeConnection(request.match_info["name"]))
        await self.context.changed()
        return ok(request, {"connection": connection})

    async def delete_connection(self, request: web.Request) -> web.Response:
        await self.control.run(DeleteConnection(request.match_info["name"]))
        await self.context.changed()
        return ok(request, {})

    async def create_destination(self, request: web.Request) -> web.Response:
        destination = await self.control.run(CreateApiDestination(body(request)))
        await self.context.changed()
        return ok(request, {"api_destination": destination})

    async def list_destinations(self, request: web.Request) -> web.Response:
        prefix = request.query.get("prefix") or None
        found = await self.control.run(ListApiDestinations(prefix))
        return ok(request, {"api_destinations": found})

    async def get_destination(self, request: web.Request) -> web.Response:
        found = await self.control.run(DescribeApiDestination(request.match_info["name"]))
        return ok(request, {"api_destination": found})

    async def delete_destination(self, request: web.Request) -> web.Response:
        await self.control.run(DeleteApiDestination(request.match_info["name"]))
        await self.context.changed()
        return ok(request, {})


def routes(context: Context) -> list[Route]:
    if context.buses is None:
        return []
    api = BusApi(context)
    b = "/v1/buses/{name}"
    r = b + "/rules/{rule}"
    names = {"prefix": S.STRING, "limit": {"type": "integer", "minimum": 1}}
    prefix = {"prefix": S.STRING}
    bus = S.open_object({"bus": ref("BusConfig"), "created": S.BOOLEAN}, ["bus"])
    rules = {"type": "array", "items": ref("RuleConfig")}
    rule = S.open_object({"rule": ref("RuleConfig")}, ["rule"])
    failed = S.open_object({"failed": {"type": "array", "items": {"type": "object"}}}, ["failed"])
    archive = S.open_object({"archive": {"type": "object"}}, ["archive"])
    replay = S.open_object({"replay": {"type": "object"}}, ["replay"])
    connection = S.open_object({"connection": {"type": "object"}}, ["connection"])
    destination = S.open_object({"api_destination": {"type": "object"}}, ["api_destination"])
    return [
        Route("POST", "/v1/buses", "create_bus", api.create_bus,
              "Create an event bus (idempotent for equal settings).", "buses",
              body=BUS_CREATE, answer=bus),
        Route("GET", "/v1/buses", "list_buses", api.list_buses, "List event bus names.",
              "buses", query=names, answer=S.open_object({"buses": S.NAMES}, ["buses"])),
        Route("GET", b, "get_bus", api.get_bus, "An event bus's settings and rules.", "buses",
              answer=S.open_object({"bus": ref("BusConfig"), "rules": rules}, ["bus", "rules"])),
        Route("DELETE", b, "delete_bus", api.delete_bus,
              "Delete a custom event bus, its rules and archives.", "buses"),
        Route("GET", b + "/stats", "bus_stats", api.bus_stats,
              "An event bus's counts per target, archive and replay.", "buses",
              answer={"type": "object"}),
        Route("POST", b + "/events", "put_events", api.put_events,
              "Put events (EventBridge's limits: 10 entries, 256 KiB each).", "events",
              body=PUT_EVENTS, answer=PUT_EVENTS_ANSWER),
        Route("PUT", r, "put_rule", api.put_rule,
              "Create or update a rule (an update keeps what it does not name).", "rules",
              body=RULE_PUT, answer=rule),
        Route("PUT", b + "/rules", "put_rules", api.put_rules,
              "Create or update many rules at once (targets included): one change.", "rules",
              body=RULES_PUT, answer=S.open_object({"rules": rules}, ["rules"])),
        Route("GET", b + "/rules", "list_rules", api.list_rules, "A bus's rules.", "rules",
              query=prefix, answer=S.open_object({"rules": rules}, ["rules"])),
        Route("GET", r, "get_rule", api.get_rule, "A rule and its targets.", "rules",
              answer=rule),
        Route("DELETE", r, "delete_rule", api.delete_rule,
              "Delete a rule without targets.", "rules", query={"force": S.STRING}),
        Route("POST", r + "/targets", "put_targets", api.put_targets,
              "Add or replace targets of a rule (five at most).", "rules",
              body=TARGETS_PUT, answer=failed),
        Route("POST", r + "/targets/remove", "remove_targets", api.remove_targets,
              "Remove targets of a rule.", "rules", body=TARGETS_REMOVE, answer=failed),
        Route("POST", "/v1/test-event-pattern", "test_event_pattern", api.test_event_pattern,
              "Whether a pattern matches an event (EventBridge's TestEventPattern).", "rules",
              body=TEST_PATTERN, answer=S.open_object({"result": S.BOOLEAN}, ["result"])),
        Route("POST", "/v1/archives", "create_archive", api.create_archive,
              "Archive a bus's events (those matching a pattern).", "archives",
              body=ARCHIVE_CREATE, answer=archive),
        Route("GET", "/v1/archives", "list_archives", api.list_archives, "Archives.",
              "archives", query={"prefix": S.STRING, "bus": S.STRING},
              answer=S.open_object({"archives": {"type": "array"}}, ["archives"])),
        Route("GET", "/v1/archives/{name}", "get_archive", api.get_archive,
              "An archive with its event count and size.", "archives", answer=archive),
        Route("PATCH", "/v1/archives/{name}", "update_archive", api.update_archive,
              "Change an archive's pattern, retention or description.", "archives",
              body=ARCHIVE_CHANGES, answer=archive),
        Route("DELETE", "/v1/archives/{name}", "delete_archive", api.delete_archive,
              "Delete an archive and what it kept.", "archives"),
        Route("POST", "/v1/replays", "start_replay", api.start_replay,
              "Replay a window of an archive onto its bus.", "replays", body=REPLAY_START,
              answer=replay),
        Route("GET", "/v1/replays", "list_replays", api.list_replays, "Replays.", "replays",
              query={"prefix": S.STRING, "archive": S.STRING},
              answer=S.open_object({"replays": {"type": "array"}}, ["replays"])),
        Route("GET", "/v1/replays/{name}", "get_replay", api.get_replay,
              "A replay and its progress.", "replays", answer=replay),
        Route("POST", "/v1/replays/{name}/cancel", "cancel_replay", api.cancel_replay,
              "Cancel a running replay.", "replays", answer=replay),
        Route("POST", "/v1/connections", "create_connection", api.create_connection,
              "Create a connection (how an API destination authorizes itself).",
              "connections", body=CONNECTION_CREATE, answer=connection),
        Route("GET", "/v1/connections", "list_connections", api.list_connections,
              "Connections (never their secrets).", "connections", query=prefix,
              answer=S.open_object({"connections": {"type": "array"}}, ["connections"])),
        Route("GET", "/v1/connections/{name}", "get_connection", api.get_connection,
              "A connection (never its secrets).", "connections", answer=connection),
        Route("POST", "/v1/connections/{name}/deauthorize", "deauthorize_connection",
              api.deauthorize_connection, "Forget a connection's secrets.", "connections",
              answer=connection),
        Route("DELETE", "/v1/connections/{name}", "delete_connection", api.delete_connection,
              "Delete a connection no API destination uses.", "connections"),
        Route("POST", "/v1/api-destinations", "create_api_destination",
              api.create_destination, "Create an API destination (an HTTP endpoint).",
              "api destinations", body=DESTINATION_CREATE, answer=destination),
        Route("GET", "/v1/api-destinations", "list_api_destinations", api.list_destinations,
              "API destinations.", "api destinations", query=prefix,
              answer=S.open_object({"api_destinations": {"type": "array"}},
                                   ["api_destinations"])),
        Route("GET", "/v1/api-destinations/{name}", "get_api_destination",
              api.get_destination, "An API destination.", "api destinations",
              answer=destination),
        Route("DELETE", "/v1/api-destinations/{name}", "delete_api_destination",
              api.delete_destination, "Delete an API destination.", "api destinations"),
    ]  # fmt: skip
