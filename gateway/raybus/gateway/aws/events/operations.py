"""EventBridge's actions over raybus's buses (docs/aws-events.md): event buses, rules, targets,
PutEvents, TestEventPattern and tags.

A bus is named by its name or its ARN (``arn:aws:events:<region>:<account>:event-bus/<name>``)
wherever EventBridge accepts either. Targets are given by ARN: an SQS queue, an SNS topic, a
Lambda function or another event bus of this endpoint; any other ARN is refused for that target
(a ``FailedEntries`` entry), since raybus could not deliver to it.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

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
    CreateBus,
    DeleteBus,
    DeleteRule,
    DescribeBus,
    DescribeRule,
    ListBuses,
    ListRules,
    PutRule,
    PutTargets,
    RemoveTargets,
    RulesByTarget,
    SetRuleState,
    TargetFailure,
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
    UpdateApiDestination,
    UpdateConnection,
)
from raybus.control.tags import ListTags, TagResource, UntagResource
from raybus.core.buses import (
    DEFAULT_BUS,
    MAX_ENTRY_BYTES,
    EventEntry,
    PutEventsResult,
    RuleConfig,
    TargetConfig,
    entry_size,
    rule_key,
)
from raybus.core.errors import RaybusError
from raybus.gateway.aws.protocols import AwsError
from raybus.gateway.aws.service import Call
from raybus.rules import test_event_pattern

__all__ = ["OPERATIONS"]

_BUS = "bus"
_RULE = "rule"
PAGE = 100
_LISTED_BUS_MEMBERS = frozenset({"Name", "Arn", "Description", "Policy", "CreationTime"})


def _validation(message: str) -> AwsError:
    return AwsError("ValidationException", message)


def _not_found(message: str) -> AwsError:
    return AwsError("ResourceNotFoundException", message)


# -- names and ARNs -------------------------------------------------------------------------------
def _bus_name(call: Call, value: object) -> str:
    """A bus's name from its name or ARN (None or empty: the default bus)."""
    if value is None or value == "":
        return DEFAULT_BUS
    if not isinstance(value, str):
        raise _validation("EventBusName must be a string.")
    if value.startswith("arn:"):
        parts = value.split(":", 5)
        if (
            len(parts) != 6
            or parts[2] != "events"
            or parts[3:5] != [call.settings.region, call.settings.account_id]
            or not parts[5].startswith("event-bus/")
        ):
            raise _validation(f"Parameter {value} is not valid. Reason: not an event bus ARN.")
        return parts[5][len("event-bus/") :]
    return value


def _bus_arn(call: Call, name: str) -> str:
    return call.arn("events", f"event-bus/{name}")


def _rule_arn(call: Call, bus: str, name: str) -> str:
    return call.arn("events", f"rule/{name}" if bus == DEFAULT_BUS else f"rule/{bus}/{name}")


def _resource_of_arn(call: Call, arn: object) -> tuple[str, str]:
    """(kind, key) of a bus or rule ARN (tags)."""
    parts = arn.split(":", 5) if isinstance(arn, str) else []
    if (
        len(parts) != 6
        or parts[2] != "events"
        or parts[3:5]
        != [
            call.settings.region,
            call.settings.account_id,
        ]
    ):
        raise _validation(f"Parameter ResourceARN is not valid: {arn!r}")
    resource = parts[5]
    if resource.startswith("event-bus/"):
        return _BUS, resource[len("event-bus/") :]
    if resource.startswith("rule/"):
        path = resource[len("rule/") :]
        bus, _, rule = path.rpartition("/")
        return _RULE, rule_key(bus or DEFAULT_BUS, rule)
    raise _validation(f"Parameter ResourceARN is not valid: {arn!r}")


def _native_target(call: Call, arn: str) -> tuple[str, str]:
    """(kind, name) of a target ARN, or ValidationException for one raybus cannot reach."""
    parts = arn.split(":") if isinstance(arn, str) else []
    if (
        len(parts) >= 6
        and parts[0] == "arn"
        and parts[3:5]
        == [
            call.settings.region,
            call.settings.account_id,
        ]
    ):
        service = parts[2]
        if service == "sqs" and len(parts) == 6:
            return "queue", parts[5]
        if service == "sns" and len(parts) == 6:
            return "topic", parts[5]
        if service == "lambda" and len(parts) in (7, 8) and parts[5] == "function":
            return "function", parts[6]
        if service == "events" and len(parts) == 6 and parts[5].startswith("event-bus/"):
            return "bus", parts[5][len("event-bus/") :]
        if service == "events" and len(parts) == 6 and parts[5].startswith("api-destination/"):
            return "api_destination", parts[5][len("api-destination/") :].split("/", 1)[0]
    raise _validation(
        f"Target ARN {arn} is not supported: raybus delivers to SQS queues, SNS topics, Lambda "
        "functions, event buses and API destinations of this endpoint."
    )


def _target_arn(call: Call, target: TargetConfig) -> str:
    if target.kind == "queue":
        return call.arn("sqs", target.name)
    if target.kind == "topic":
        return call.arn("sns", target.name)
    if target.kind == "function":
        return call.arn("lambda", f"function:{target.name}")
    if target.kind == "api_destination":
        return _destination_arn(call, target.name)
    return _bus_arn(call, target.name)


def _queue_of(call: Call, arn: object, what: str) -> str:
    kind, name = _native_target(call, str(arn))
    if kind != "queue":
        raise _validation(f"{what} must be an SQS queue ARN.")
    return name


# -- buses ----------------------------------------------------------------------------------------
def _bus_out(call: Call, config: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"Name": config["name"], "Arn": _bus_arn(call, config["name"])}
    if config.get("description") is not None:
        out["Description"] = config["description"]
    if config.get("kms_key_identifier") is not None:
        out["KmsKeyIdentifier"] = config["kms_key_identifier"]
    if config.get("dead_letter_queue") is not None:
        out["DeadLetterConfig"] = {"Arn": call.arn("sqs", config["dead_letter_queue"])}
    if config.get("policy") is not None:
        out["Policy"] = config["policy"]
    if config.get("created_ms"):
        out["CreationTime"] = datetime.fromtimestamp(config["created_ms"] / 1000, UTC)
        out["LastModifiedTime"] = out["CreationTime"]
    return out


def _bus_settings(call: Call, params: Mapping[str, Any]) -> dict[str, Any]:
    settings: dict[str, Any] = {}
    if "Description" in params:
        settings["description"] = params["Description"]
    if "KmsKeyIdentifier" in params:
        settings["kms_key_identifier"] = params["KmsKeyIdentifier"]
    dead_letter = params.get("DeadLetterConfig")
    if dead_letter and dead_letter.get("Arn"):
        settings["dead_letter_queue"] = _queue_of(call, dead_letter["Arn"], "DeadLetterConfig")
    return settings


async def create_event_bus(call: Call, params: dict[str, Any]) -> Mapping[str, Any]:
    name = params["Name"]
    if params.get("EventSourceName"):
        raise _validation("Partner event sources are not supported by raybus.")
    control = call.gateway.control
    config, created = await control.run(CreateBus({"name": name, **_bus_settings(call, params)}))
    if not created:
        raise AwsError("ResourceAlreadyExistsException", f"Event bus {name} already exists.")
    tags = params.get("Tags")
    if tags:
        await control.run(TagResource(_BUS, name, {t["Key"]: t["Value"] for t in tags}))
    await call.gateway.changed()
    described = _bus_out(call, config)
    out = {"EventBusArn": described["Arn"]}
    for key in ("Description", "KmsKeyIdentifier", "DeadLetterConfig"):
        if key in described:
            out[key] = described[key]
    return out


async def describe_event_bus(call: Call, params: dict[str, Any]) -> Mapping[str, Any]:
    name = _bus_name(call, params.get("Name"))
    return _bus_out(call, await call.gateway.control.run(DescribeBus(name)))


async def list_event_buses(call: Call, params: dict[str, Any]) -> Mapping[str, Any]:
    buses = await call.gateway.control.run(ListBuses(params.get("NamePrefix"), 1_000_000))
    return _paged(
        buses,
        params,
        "EventBuses",
        lambda b: {k: v for k, v in _bus_out(call, b).items() if k in _LISTED_BUS_MEMBERS},
    )


async def delete_event_bus(call: Call, params: dict[str, Any]) -> Mapping[str, Any]:
    name = _bus_name(call, params["Name"])
    try:
        await call.gateway.control.run(DeleteBus(name))
    except RaybusError as error:
        if error.code != "ResourceNotFound":  # EventBridge: deleting a missing bus succeeds
            raise
    await call.gateway.changed()
    return {}


# -- rules ----------------------------------------------------------------------------------------
def _rule_out(call: Call, rule: Mapping[str, Any], *, listed: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "Name": rule["name"],
        "Arn": _rule_arn(call, rule["bus"], rule["name"]),
        "State": rule["state"],
        "EventBusName": rule["bus"],
    }
    if not listed:  # DescribeRule says who made it; ListRules' Rule has no such member
        out["CreatedBy"] = call.settings.account_id
    for field, key in (
        ("event_pattern", "EventPattern"),
        ("schedule_expression", "ScheduleExpression"),
        ("description", "Description"),
        ("role_arn", "RoleArn"),
        ("managed_by", "ManagedBy"),
    ):
        if rule.get(field) is not None:
            out[key] = rule[field]
    return out


async def put_rule(call: Call, params: dict[str, Any]) -> Mapping[str, Any]:
    bus = _bus_name(call, params.get("EventBusName"))
    settings: dict[str, Any] = {"name": params["Name"]}
    for key, field in (
        ("EventPattern", "event_pattern"),
        ("ScheduleExpression", "schedule_expression"),
        ("State", "state"),
        ("Description", "description"),
        ("RoleArn", "role_arn"),
    ):
        if key in params:
            settings[field] = params[key]
    control = call.gateway.control
    rule = await control.run(PutRule(bus, settings))
    tags = params.get("Tags")
    if tags:
        key = rule_key(bus, rule["name"])
        await control.run(TagResource(_RULE, key, {t["Key"]: t["Value"] for t in tags}))
    return {"RuleArn": _rule_arn(call, bus, rule["name"])}


async def describe_rule(call: Call, params: dict[str, Any]) -> Mapping[str, Any]:
    bus = _bus_name(call, params.get("EventBusName"))
    rule = await _run(call, DescribeRule(bus, params["Name"]), _no_rule(params["Name"], bus))
    return _rule_out(call, rule)


async def list_rules(call: Call, params: dict[str, Any]) -> Mapping[str, Any]:
    bus = _bus_name(call, params.get("EventBusName"))
    rules = await call.gateway.control.run(ListRules(bus, params.get("NamePrefix")))
    return _paged(rules, params, "Rules", lambda r: _rule_out(call, r, listed=True))


async def delete_rule(call: Call, params: dict[str, Any]) -> Mapping[str, Any]:
    bus = _bus_name(call, params.get("EventBusName"))
    await call.gateway.control.run(DeleteRule(bus, params["Name"], bool(params.get("Force"))))
    return {}


async def _set_state(call: Call, params: dict[str, Any], enabled: bool) -> Mapping[str, Any]:
    bus = _bus_name(call, params.get("EventBusName"))
    await _run(call, SetRuleState(bus, params["Name"], enabled), _no_rule(params["Name"], bus))
    return {}


async def enable_rule(call: Call, params: dict[str, Any]) -> Mapping[str, Any]:
    return await _set_state(call, params, True)


async def disable_rule(call: Call, params: dict[str, Any]) -> Mapping[str, Any]:
    return await _set_state(call, params, False)


# -- targets --------------------------------------------------------------------------------------
def _target_settings(call: Call, target: Mapping[str, Any]) -> dict[str, Any]:
    kind, name = _native_target(call, target["Arn"])
    settings: dict[str, Any] = {"id": target["Id"], "kind": kind, "name": name}
    for key, field in (("Input", "input"), ("InputPath", "input_path"), ("RoleArn", "role_arn")):
        if key in target:
            settings[field] = target[key]
    transformer = target.get("InputTransformer")
    if transformer is not None:
        settings["input_paths_map"] = dict(transformer.get("InputPathsMap") or {})
        settings["input_template"] = transformer["InputTemplate"]
    http = target.get("HttpParameters")
    if http:
        if http.get("PathParameterValues"):
            settings["http_path"] = list(http["PathParameterValues"])
        if http.get("HeaderParameters"):
            settings["http_headers"] = dict(http["HeaderParameters"])
        if http.get("QueryStringParameters"):
            settings["http_query"] = dict(http["QueryStringParameters"])
    sqs = target.get("SqsParameters")
    if sqs and sqs.get("MessageGroupId") is not None:
        settings["message_group_id"] = sqs["MessageGroupId"]
    retry = target.get("RetryPolicy")
    if retry:
        policy: dict[str, Any] = {}
        if "MaximumRetryAttempts" in retry:
            policy["maximum_retry_attempts"] = retry["MaximumRetryAttempts"]
        if "MaximumEventAgeInSeconds" in retry:
            policy["maximum_event_age_s"] = retry["MaximumEventAgeInSeconds"]
        settings["retry_policy"] = policy
    dead_letter = target.get("DeadLetterConfig")
    if dead_letter and dead_letter.get("Arn"):
        settings["dead_letter_queue"] = _queue_of(call, dead_letter["Arn"], "DeadLetterConfig")
    return settings


def _target_out(call: Call, target: Mapping[str, Any]) -> dict[str, Any]:
    config = TargetConfig.from_dict(target)
    out: dict[str, Any] = {"Id": config.id, "Arn": _target_arn(call, config)}
    if config.input is not None:
        out["Input"] = config.input
    if config.input_path is not None:
        out["InputPath"] = config.input_path
    if config.input_template is not None:
        out["InputTransformer"] = {"InputTemplate": config.input_template}
        if config.input_paths_map:
            out["InputTransformer"]["InputPathsMap"] = dict(config.input_paths_map)
    if config.role_arn is not None:
        out["RoleArn"] = config.role_arn
    if config.message_group_id is not None:
        out["SqsParameters"] = {"MessageGroupId": config.message_group_id}
    http: dict[str, Any] = {}
    if config.http_path:
        http["PathParameterValues"] = list(config.http_path)
    if config.http_headers:
        http["HeaderParameters"] = dict(config.http_headers)
    if config.http_query:
        http["QueryStringParameters"] = dict(config.http_query)
    if http:
        out["HttpParameters"] = http
    out["RetryPolicy"] = {
        "MaximumRetryAttempts": config.retry_policy.maximum_retry_attempts,
        "MaximumEventAgeInSeconds": config.retry_policy.maximum_event_age_s,
    }
    if config.dead_letter_queue is not None:
        out["DeadLetterConfig"] = {"Arn": call.arn("sqs", config.dead_letter_queue)}
    return out


def _failed(failures: list[TargetFailure]) -> dict[str, Any]:
    return {
        "FailedEntryCount": len(failures),
        "FailedEntries": [
            {"TargetId": f.target_id, "ErrorCode": f.code, "ErrorMessage": f.message}
            for f in failures
        ],
    }


async def put_targets(call: Call, params: dict[str, Any]) -> Mapping[str, Any]:
    bus = _bus_name(call, params.get("EventBusName"))
    failures: list[TargetFailure] = []
    wanted: list[dict[str, Any]] = []
    for target in params["Targets"]:
        try:
            wanted.append(_target_settings(call, target))
        except AwsError as error:
            failures.append(TargetFailure(target["Id"], error.code, error.message))
    if wanted:
        put = PutTargets(bus, params["Rule"], wanted)
        failures.extend(await _run(call, put, _no_rule(params["Rule"], bus)))
    return _failed(failures)


async def remove_targets(call: Call, params: dict[str, Any]) -> Mapping[str, Any]:
    bus = _bus_name(call, params.get("EventBusName"))
    remove = RemoveTargets(bus, params["Rule"], list(params["Ids"]), bool(params.get("Force")))
    return _failed(await _run(call, remove, _no_rule(params["Rule"], bus)))


async def list_targets_by_rule(call: Call, params: dict[str, Any]) -> Mapping[str, Any]:
    bus = _bus_name(call, params.get("EventBusName"))
    found = await _run(call, DescribeRule(bus, params["Rule"]), _no_rule(params["Rule"], bus))
    rule = RuleConfig.from_dict(found)
    targets = [_target_out(call, t.to_dict()) for t in rule.targets]
    return _paged(targets, params, "Targets")


async def list_rule_names_by_target(call: Call, params: dict[str, Any]) -> Mapping[str, Any]:
    bus = _bus_name(call, params.get("EventBusName"))
    kind, name = _native_target(call, params["TargetArn"])
    names = await call.gateway.control.run(RulesByTarget(bus, kind, name))
    return _paged(names, params, "RuleNames")


# -- events ---------------------------------------------------------------------------------------
def _entry(params: Mapping[str, Any]) -> EventEntry:
    time = params.get("Time")
    return EventEntry(
        source=params.get("Source"),
        detail_type=params.get("DetailType"),
        detail=params.get("Detail"),
        resources=tuple(params.get("Resources") or ()),
        time_ms=int(time.timestamp() * 1000) if isinstance(time, datetime) else None,
        trace_header=params.get("TraceHeader"),
    )


async def put_events(call: Call, params: dict[str, Any]) -> Mapping[str, Any]:
    wire = params["Entries"]
    entries = [_entry(e) for e in wire]
    if any(entry_size(e) > MAX_ENTRY_BYTES for e in entries):
        raise _validation("Total size of the entries in the request is over the limit.")
    results: list[dict[str, Any]] = [{} for _ in entries]
    by_bus: dict[str, list[int]] = defaultdict(list)
    for index, params_entry in enumerate(wire):
        try:
            by_bus[_bus_name(call, params_entry.get("EventBusName"))].append(index)
        except AwsError as error:
            results[index] = {"ErrorCode": "InvalidArgument", "ErrorMessage": error.message}
    buses = call.gateway.buses
    if buses is None:
        raise AwsError("NotImplemented", "This gateway serves no event buses.", status=501)
    for bus, indexes in by_bus.items():
        try:
            answers = await buses.put_events(bus, [entries[i] for i in indexes])
        except RaybusError as error:
            if error.code != "ResourceNotFound":
                raise
            missing = {
                "ErrorCode": "ResourceNotFoundException",
                "ErrorMessage": f"Event bus {bus} does not exist.",
            }
            for index in indexes:
                results[index] = dict(missing)
            continue
        for index, answer in zip(indexes, answers, strict=True):
            if isinstance(answer, PutEventsResult):
                results[index] = {"EventId": answer.event_id}
            elif isinstance(answer, RaybusError):
                results[index] = {"ErrorCode": answer.code, "ErrorMessage": answer.message}
    failed = sum(1 for r in results if "ErrorCode" in r)
    return {"FailedEntryCount": failed, "Entries": results}


async def test_event_pattern_operation(call: Call, params: dict[str, Any]) -> Mapping[str, Any]:
    return {"Result": test_event_pattern(params["EventPattern"], params["Event"])}


# -- archives and replays -------------------------------------------------------------------------
def _ms_time(ms: int | None) -> datetime | None:
    return None if ms is None else datetime.fromtimestamp(ms / 1000, UTC)


def _archive_arn(call: Call, name: str) -> str:
    return call.arn("events", f"archive/{name}")


def _archive_of(call: Call, arn: object) -> str:
    parts = arn.split(":", 5) if isinstance(arn, str) else []
    if (
        len(parts) != 6
        or parts[2] != "events"
        or parts[3:5] != [call.settings.region, call.settings.account_id]
        or not parts[5].startswith("archive/")
    ):
        raise _validation(f"Parameter EventSourceArn is not valid: {arn!r}")
    return parts[5][len("archive/") :]


def _archive_out(call: Call, archive: Mapping[str, Any], *, listed: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "ArchiveName": archive["name"],
        "EventSourceArn": _bus_arn(call, archive["bus"]),
        "State": archive["state"],
        "RetentionDays": archive["retention_days"],
        "SizeBytes": archive.get("bytes", 0),
        "EventCount": archive.get("events", 0),
        "CreationTime": _ms_time(archive["created_ms"]),
    }
    if not listed:
        out["ArchiveArn"] = _archive_arn(call, archive["name"])
        for field, key in (
            ("description", "Description"),
            ("event_pattern", "EventPattern"),
            ("kms_key_identifier", "KmsKeyIdentifier"),
        ):
            if archive.get(field) is not None:
                out[key] = archive[field]
    return out


def _archive_settings(params: Mapping[str, Any]) -> dict[str, Any]:
    settings: dict[str, Any] = {}
    for key, field in (
        ("Description", "description"),
        ("EventPattern", "event_pattern"),
        ("RetentionDays", "retention_days"),
        ("KmsKeyIdentifier", "kms_key_identifier"),
    ):
        if key in params:
            settings[field] = params[key]
    return settings


async def create_archive(call: Call, params: dict[str, Any]) -> Mapping[str, Any]:
    bus = _bus_name(call, params["EventSourceArn"])
    settings = {"name": params["ArchiveName"], "bus": bus, **_archive_settings(params)}
    archive = await _run(call, CreateArchive(settings), f"Event bus {bus} does not exist.")
    await call.gateway.changed()
    return {
        "ArchiveArn": _archive_arn(call, archive["name"]),
        "State": "ENABLED",
        "CreationTime": _ms_time(archive["created_ms"]),
    }


async def describe_archive(call: Call, params: dict[str, Any]) -> Mapping[str, Any]:
    name = params["ArchiveName"]
    return _archive_out(
        call, await _run(call, DescribeArchive(name), f"Archive {name} does not exist.")
    )


async def list_archives(call: Call, params: dict[str, Any]) -> Mapping[str, Any]:
    bus = _bus_name(call, params["EventSourceArn"]) if params.get("EventSourceArn") else None
    archives = await call.gateway.control.run(ListArchives(params.get("NamePrefix"), bus))
    if params.get("State"):
        archives = [a for a in archives if a["state"] == params["State"]]
    return _paged(archives, params, "Archives", lambda a: _archive_out(call, a, listed=True))


async def update_archive(call: Call, params: dict[str, Any]) -> Mapping[str, Any]:
    name = params["ArchiveName"]
    changes = _archive_settings(params)
    changes.pop("kms_key_identifier", None)
    archive = await _run(call, UpdateArchive(name, changes), f"Archive {name} does not exist.")
    return {
        "ArchiveArn": _archive_arn(call, name),
        "State": "ENABLED",
        "CreationTime": _ms_time(archive["created_ms"]),
    }


async def delete_archive(call: Call, params: dict[str, Any]) -> Mapping[str, Any]:
    name = params["ArchiveName"]
    await _run(call, DeleteArchive(name), f"Archive {name} does not exist.")
    return {}


def _replay_out(call: Call, replay: Mapping[str, Any], *, listed: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "ReplayName": replay["name"],
        "EventSourceArn": _archive_arn(call, replay["archive"]),
        "State": replay["state"],
        "EventStartTime": _ms_time(replay["start_ms"]),
        "EventEndTime": _ms_time(replay["end_ms"]),
        "ReplayStartTime": _ms_time(replay["started_ms"]),
    }
    if replay.get("last_replayed_ms"):
        out["EventLastReplayedTime"] = _ms_time(replay["last_replayed_ms"])
    if replay.get("ended_ms"):
        out["ReplayEndTime"] = _ms_time(replay["ended_ms"])
    if not listed:
        out["ReplayArn"] = call.arn("events", f"replay/{replay['name']}")
        destination: dict[str, Any] = {"Arn": _bus_arn(call, replay["bus"])}
        if replay.get("rules") is not None:
            destination["FilterArns"] = [
                _rule_arn(call, replay["bus"], rule) for rule in replay["rules"]
            ]
        out["Destination"] = destination
        if replay.get("description") is not None:
            out["Description"] = replay["description"]
    return out


async def start_replay(call: Call, params: dict[str, Any]) -> Mapping[str, Any]:
    archive = _archive_of(call, params["EventSourceArn"])
    destination = params["Destination"]
    bus = _bus_name(call, destination["Arn"])
    rules = None
    if destination.get("FilterArns"):
        rules = []
        for arn in destination["FilterArns"]:
            kind, key = _resource_of_arn(call, arn)
            rule_bus, _, rule = key.rpartition("/")
            if kind != _RULE or rule_bus != bus:
                raise _validation(f"Parameter Destination.FilterArns is not valid: {arn}")
            rules.append(rule)
    settings: dict[str, Any] = {
        "name": params["ReplayName"],
        "archive": archive,
        "bus": bus,
        "start_ms": int(params["EventStartTime"].timestamp() * 1000),
        "end_ms": int(params["EventEndTime"].timestamp() * 1000),
        "rules": rules,
    }
    if "Description" in params:
        settings["description"] = params["Description"]
    replay = await _run(
        call, StartReplay(settings), f"Replay {params['ReplayName']} does not exist."
    )
    await call.gateway.changed()
    return {
        "ReplayArn": call.arn("events", f"replay/{replay['name']}"),
        "State": "STARTING",
        "ReplayStartTime": _ms_time(replay["started_ms"]),
    }


async def describe_replay(call: Call, params: dict[str, Any]) -> Mapping[str, Any]:
    name = params["ReplayName"]
    return _replay_out(
        call, await _run(call, DescribeReplay(name), f"Replay {name} does not exist.")
    )


async def list_replays(call: Call, params: dict[str, Any]) -> Mapping[str, Any]:
    archive = _archive_of(call, params["EventSourceArn"]) if params.get("EventSourceArn") else None
    replays = await call.gateway.control.run(ListReplays(params.get("NamePrefix"), archive))
    if params.get("State"):
        replays = [r for r in replays if r["state"] == params["State"]]
    return _paged(replays, params, "Replays", lambda r: _replay_out(call, r, listed=True))


async def cancel_replay(call: Call, params: dict[str, Any]) -> Mapping[str, Any]:
    name = params["ReplayName"]
    await _run(call, CancelReplay(name), f"Replay {name} does not exist.")
    return {"ReplayArn": call.arn("events", f"replay/{name}"), "State": "CANCELLING"}


# -- connections and API destinations -------------------------------------------------------------
def _named_arn(call: Call, arn: object, prefix: str, what: str) -> str:
    """The name in ``arn:aws:events:<region>:<account>:<prefix>/<name>[/<id>]``."""
    parts = arn.split(":", 5) if isinstance(arn, str) else []
    if (
        len(parts) != 6
        or parts[2] != "events"
        or parts[3:5] != [call.settings.region, call.settings.account_id]
        or not parts[5].startswith(prefix + "/")
    ):
        raise _validation(f"Parameter {what} is not valid: {arn!r}")
    return parts[5][len(prefix) + 1 :].split("/", 1)[0]


def _connection_arn(call: Call, name: str) -> str:
    return call.arn("events", f"connection/{name}")


def _destination_arn(call: Call, name: str) -> str:
    return call.arn("events", f"api-destination/{name}")


def _pairs(items: Any, key: str = "Key") -> dict[str, str]:
    return {str(p[key]): str(p["Value"]) for p in items or ()}


def _connection_settings(params: Mapping[str, Any]) -> dict[str, Any]:
    settings: dict[str, Any] = {}
    if "AuthorizationType" in params:
        settings["authorization_type"] = params["AuthorizationType"]
    if "Description" in params:
        settings["description"] = params["Description"]
    auth = params.get("AuthParameters") or {}
    basic = auth.get("BasicAuthParameters")
    if basic:
        settings["username"] = basic.get("Username")
        settings["password"] = basic.get("Password")
    key = auth.get("ApiKeyAuthParameters")
    if key:
        settings["api_key_name"] = key.get("ApiKeyName")
        settings["api_key_value"] = key.get("ApiKeyValue")
    if auth.get("OAuthParameters"):
        settings["authorization_type"] = "OAUTH_CLIENT_CREDENTIALS"
    http = auth.get("InvocationHttpParameters") or {}
    if "HeaderParameters" in http:
        settings["headers"] = _pairs(http["HeaderParameters"])
    if "QueryStringParameters" in http:
        settings["query"] = _pairs(http["QueryStringParameters"])
    if "BodyParameters" in http:
        settings["body"] = _pairs(http["BodyParameters"])
    return settings


def _connection_out(call: Call, connection: Mapping[str, Any], *, full: bool) -> dict[str, Any]:
    created = _ms_time(connection["created_ms"])
    out: dict[str, Any] = {
        "ConnectionArn": _connection_arn(call, connection["name"]),
        "ConnectionState": connection["state"],
        "CreationTime": created,
        "LastModifiedTime": created,
    }
    if full:
        out["Name"] = connection["name"]
        out["AuthorizationType"] = connection["authorization_type"]
        out["LastAuthorizedTime"] = created
        if connection.get("description") is not None:
            out["Description"] = connection["description"]
        auth: dict[str, Any] = {}
        if connection.get("username") is not None:
            auth["BasicAuthParameters"] = {"Username": connection["username"]}
        if connection.get("api_key_name") is not None:
            auth["ApiKeyAuthParameters"] = {"ApiKeyName": connection["api_key_name"]}
        http: dict[str, Any] = {}
        for field, key in (("headers", "HeaderParameters"), ("query", "QueryStringParameters"),
                           ("body", "BodyParameters")):  # fmt: skip
            if connection.get(field):
                http[key] = [
                    {"Key": k, "Value": v, "IsValueSecret": False}
                    for k, v in connection[field].items()
                ]
        if http:
            auth["InvocationHttpParameters"] = http
        if auth:
            out["AuthParameters"] = auth
    return out


async def _run(call: Call, control_call: Any, missing: str) -> Any:
    """Run a control call; a missing resource is ``ResourceNotFoundException`` with
    ``missing`` as its message, an existing one ``ResourceAlreadyExistsException``."""
    try:
        return await call.gateway.control.run(control_call)
    except RaybusError as error:
        if error.code == "ResourceNotFound":
            raise _not_found(missing) from None
        if error.code == "ResourceConflict":
            raise AwsError("ResourceAlreadyExistsException", error.message) from None
        raise


def _no_rule(rule: str, bus: str) -> str:
    return f"Rule {rule} does not exist on EventBus {bus}."


def _absent(what: str, name: str) -> str:
    return f"Failed to describe the {what}(s). {what} '{name}' does not exist."


async def create_connection(call: Call, params: dict[str, Any]) -> Mapping[str, Any]:
    settings = {"name": params["Name"], **_connection_settings(params)}
    connection = await _run(call, CreateConnection(settings), _absent("Connection", params["Name"]))
    return _connection_out(call, connection, full=False)


async def describe_connection(call: Call, params: dict[str, Any]) -> Mapping[str, Any]:
    name = params["Name"]
    return _connection_out(
        call, await _run(call, DescribeConnection(name), _absent("Connection", name)), full=True
    )


async def list_connections(call: Call, params: dict[str, Any]) -> Mapping[str, Any]:
    connections = await call.gateway.control.run(ListConnections(params.get("NamePrefix")))
    if params.get("ConnectionState"):
        connections = [c for c in connections if c["state"] == params["ConnectionState"]]
    return _paged(connections, params, "Connections", lambda c: _listed_connection(call, c))


def _listed_connection(call: Call, connection: Mapping[str, Any]) -> dict[str, Any]:
    out = _connection_out(call, connection, full=True)
    out.pop("AuthParameters", None)
    out.pop("Description", None)
    return out


async def update_connection(call: Call, params: dict[str, Any]) -> Mapping[str, Any]:
    name = params["Name"]
    changes = _connection_settings(params)
    connection = await _run(call, UpdateConnection(name, changes), _absent("Connection", name))
    out = _connection_out(call, connection, full=False)
    out["LastAuthorizedTime"] = out["CreationTime"]
    return out


async def deauthorize_connection(call: Call, params: dict[str, Any]) -> Mapping[str, Any]:
    name = params["Name"]
    connection = await _run(call, DeauthorizeConnection(name), _absent("Connection", name))
    out = _connection_out(call, connection, full=False)
    out["ConnectionState"] = "DEAUTHORIZING"
    return out


async def delete_connection(call: Call, params: dict[str, Any]) -> Mapping[str, Any]:
    name = params["Name"]
    connection = await _run(call, DescribeConnection(name), _absent("Connection", name))
    await _run(call, DeleteConnection(name), _absent("Connection", name))
    out = _connection_out(call, connection, full=False)
    out["ConnectionState"] = "DELETING"
    return out


def _destination_settings(call: Call, params: Mapping[str, Any]) -> dict[str, Any]:
    settings: dict[str, Any] = {}
    if "ConnectionArn" in params:
        settings["connection"] = _named_arn(call, params["ConnectionArn"], "connection",
                                            "ConnectionArn")  # fmt: skip
    for key, field in (
        ("InvocationEndpoint", "endpoint"),
        ("HttpMethod", "method"),
        ("InvocationRateLimitPerSecond", "rate_per_s"),
        ("Description", "description"),
    ):
        if key in params:
            settings[field] = params[key]
    return settings


def _destination_out(call: Call, destination: Mapping[str, Any], *, full: bool) -> dict[str, Any]:
    created = _ms_time(destination["created_ms"])
    out: dict[str, Any] = {
        "ApiDestinationArn": _destination_arn(call, destination["name"]),
        "ApiDestinationState": destination["state"],
        "CreationTime": created,
        "LastModifiedTime": created,
    }
    if full:
        out.update(
            {
                "Name": destination["name"],
                "ConnectionArn": _connection_arn(call, destination["connection"]),
                "InvocationEndpoint": destination["endpoint"],
                "HttpMethod": destination["method"],
                "InvocationRateLimitPerSecond": destination["rate_per_s"],
            }
        )
    return out


async def create_api_destination(call: Call, params: dict[str, Any]) -> Mapping[str, Any]:
    settings = {"name": params["Name"], **_destination_settings(call, params)}
    destination = await _run(
        call, CreateApiDestination(settings), _absent("Connection", settings.get("connection", ""))
    )
    return _destination_out(call, destination, full=False)


async def describe_api_destination(call: Call, params: dict[str, Any]) -> Mapping[str, Any]:
    name = params["Name"]
    destination = await _run(call, DescribeApiDestination(name), _absent("ApiDestination", name))
    out = _destination_out(call, destination, full=True)
    if destination.get("description") is not None:
        out["Description"] = destination["description"]
    return out


async def list_api_destinations(call: Call, params: dict[str, Any]) -> Mapping[str, Any]:
    connection = (
        _named_arn(call, params["ConnectionArn"], "connection", "ConnectionArn")
        if params.get("ConnectionArn")
        else None
    )
    destinations = await call.gateway.control.run(
        ListApiDestinations(params.get("NamePrefix"), connection)
    )
    return _paged(
        destinations, params, "ApiDestinations", lambda d: _destination_out(call, d, full=True)
    )


async def update_api_destination(call: Call, params: dict[str, Any]) -> Mapping[str, Any]:
    name = params["Name"]
    changes = _destination_settings(call, params)
    destination = await _run(
        call, UpdateApiDestination(name, changes), _absent("ApiDestination", name)
    )
    return _destination_out(call, destination, full=False)


async def delete_api_destination(call: Call, params: dict[str, Any]) -> Mapping[str, Any]:
    name = params["Name"]
    await _run(call, DeleteApiDestination(name), _absent("ApiDestination", name))
    return {}


# -- tags -----------------------------------------------------------------------------------------
async def tag_resource(call: Call, params: dict[str, Any]) -> Mapping[str, Any]:
    kind, key = _resource_of_arn(call, params["ResourceARN"])
    tags = {t["Key"]: t["Value"] for t in params["Tags"]}
    await call.gateway.control.run(TagResource(kind, key, tags))
    return {}


async def untag_resource(call: Call, params: dict[str, Any]) -> Mapping[str, Any]:
    kind, key = _resource_of_arn(call, params["ResourceARN"])
    await call.gateway.control.run(UntagResource(kind, key, list(params["TagKeys"])))
    return {}


async def list_tags_for_resource(call: Call, params: dict[str, Any]) -> Mapping[str, Any]:
    kind, key = _resource_of_arn(call, params["ResourceARN"])
    tags = await call.gateway.control.run(ListTags(kind, key))
    return {"Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}


# -- paging ---------------------------------------------------------------------------------------
def _paged(
    items: list[Any],
    params: Mapping[str, Any],
    key: str,
    out: Callable[[Any], Any] | None = None,
) -> dict[str, Any]:
    """``{key: the page (each item through ``out``), "NextToken"?}``."""
    page, token = _page(items, params)
    answer: dict[str, Any] = {key: page if out is None else [out(item) for item in page]}
    if token:
        answer["NextToken"] = token
    return answer


def _page(items: list[Any], params: Mapping[str, Any]) -> tuple[list[Any], str | None]:
    """EventBridge's Limit/NextToken paging (the token is the next index, opaque to clients)."""
    token = params.get("NextToken")
    try:
        start = int(json.loads(token)) if token else 0
    except (ValueError, TypeError):
        raise _validation("The NextToken is not valid.") from None
    if start < 0:
        raise _validation("The NextToken is not valid.")
    limit = params.get("Limit") or PAGE
    page = items[start : start + limit]
    more = start + limit < len(items)
    return page, json.dumps(start + limit) if more else None


OPERATIONS = {
    "CreateEventBus": create_event_bus,
    "DescribeEventBus": describe_event_bus,
    "ListEventBuses": list_event_buses,
    "DeleteEventBus": delete_event_bus,
    "PutRule": put_rule,
    "DescribeRule": describe_rule,
    "ListRules": list_rules,
    "DeleteRule": delete_rule,
    "EnableRule": enable_rule,
    "DisableRule": disable_rule,
    "PutTargets": put_targets,
    "RemoveTargets": remove_targets,
    "ListTargetsByRule": list_targets_by_rule,
    "ListRuleNamesByTarget": list_rule_names_by_target,
    "PutEvents": put_events,
    "TestEventPattern": test_event_pattern_operation,
    "TagResource": tag_resource,
    "UntagResource": untag_resource,
    "ListTagsForResource": list_tags_for_resource,
    "CreateArchive": create_archive,
    "DescribeArchive": describe_archive,
    "ListArchives": list_archives,
    "UpdateArchive": update_archive,
    "DeleteArchive": delete_archive,
    "StartReplay": start_replay,
    "DescribeReplay": describe_replay,
    "ListReplays": list_replays,
    "CancelReplay": cancel_replay,
    "CreateConnection": create_connection,
    "DescribeConnection": describe_connection,
    "ListConnections": list_connections,
    "UpdateConnection": update_connection,
    "DeauthorizeConnection": deauthorize_connection,
    "DeleteConnection": delete_connection,
    "CreateApiDestination": create_api_destination,
    "DescribeApiDestination": describe_api_destination,
    "ListApiDestinations": list_api_destinations,
    "UpdateApiDestination": update_api_destination,
    "DeleteApiDestination": delete_api_destination,
}
