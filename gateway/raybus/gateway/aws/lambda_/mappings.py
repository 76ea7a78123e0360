"""Lambda's event-source mappings over raybus's mappings (docs/functions.md,
"Event-source mappings"): SQS queues polled in batches.

Members: ``BatchSize`` → ``batch_size``, ``MaximumBatchingWindowInSeconds`` →
``batching_window_s``, ``ScalingConfig.MaximumConcurrency`` → ``max_concurrency``,
``FunctionResponseTypes: ["ReportBatchItemFailures"]`` → ``report_batch_item_failures``,
``FilterCriteria`` → ``filter_criteria`` (Lambda's ``{"Filters": [{"Pattern"}]}``),
``Enabled`` → ``enabled``. The settings of stream and broker sources (starting positions,
retries, bisecting, Kafka, MQ, ...) are refused for a queue, as Lambda refuses them. A topic is
not an event source on Lambda: a function subscribes to it through SNS (``Protocol:
lambda``); mappings from topics made with the native API are listed with the topic's ARN.

States follow Lambda: an action answers ``Creating``, ``Updating`` or ``Deleting``; reads
answer ``Enabled`` or ``Disabled`` (raybus applies a change before answering, so the next read
sees it). Create is not idempotent: a second mapping of the same queue and function is
``ResourceConflictException``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from raybus.control.mappings import (
    CreateMapping,
    DeleteMapping,
    ListMappings,
    UpdateMapping,
)
from raybus.control.tags import DescribeResource, TagResource
from raybus.core.errors import RaybusError
from raybus.core.mappings import MappingConfig
from raybus.gateway.aws.lambda_.functions import existing, page
from raybus.gateway.aws.lambda_.names import (
    arn_of_target,
    as_datetime,
    function_arn,
    function_name,
    invalid,
    target_of_arn,
)
from raybus.gateway.aws.protocols import AwsError
from raybus.gateway.aws.service import Call

__all__ = ["OPERATIONS"]

DEFAULT_MAX_ITEMS = 100
_NOT_FOR_QUEUES = (
    "StartingPosition",
    "StartingPositionTimestamp",
    "ParallelizationFactor",
    "DestinationConfig",
    "MaximumRecordAgeInSeconds",
    "BisectBatchOnFunctionError",
    "MaximumRetryAttempts",
    "TumblingWindowInSeconds",
    "Topics",
    "Queues",
    "SourceAccessConfigurations",
    "SelfManagedEventSource",
    "AmazonManagedKafkaEventSourceConfig",
    "SelfManagedKafkaEventSourceConfig",
    "DocumentDBEventSourceConfig",
    "ProvisionedPollerConfig",
)


def _missing() -> AwsError:
    return AwsError(
        "ResourceNotFoundException", "The resource you requested does not exist.", status=404
    )


def _filters(value: Any) -> list[dict[str, str]]:
    return [{"Pattern": p if isinstance(p, str) else json.dumps(p)} for p in value]


def _mapping(
    call: Call, config: MappingConfig, modified_ms: int, state: str | None = None
) -> dict[str, Any]:
    """Lambda's ``EventSourceMappingConfiguration``."""
    out: dict[str, Any] = {
        "UUID": config.id,
        "BatchSize": config.batch_size,
        "MaximumBatchingWindowInSeconds": config.batching_window_s,
        "EventSourceArn": arn_of_target(call, config.source),
        "FunctionArn": function_arn(call, config.function),
        "LastModified": as_datetime(modified_ms),
        "State": state or ("Enabled" if config.enabled else "Disabled"),
        "StateTransitionReason": "USER_INITIATED",
        "FunctionResponseTypes": ["ReportBatchItemFailures"]
        if config.report_batch_item_failures
        else [],
        "EventSourceMappingArn": call.arn("lambda", f"event-source-mapping:{config.id}"),
    }
    if config.max_concurrency is not None:
        out["ScalingConfig"] = {"MaximumConcurrency": config.max_concurrency}
    if config.filter_criteria:
        out["FilterCriteria"] = {"Filters": _filters(config.filter_criteria)}
    return out


async def _read(call: Call, uuid: str) -> tuple[MappingConfig, int]:
    try:
        described = await call.gateway.control.run(DescribeResource("mapping", uuid))
    except RaybusError as error:
        if error.code == "ResourceNotFound":
            raise _missing() from None
        raise
    return MappingConfig.from_dict(described["config"]), int(described["modified_ms"])


def _settings(params: Mapping[str, Any]) -> dict[str, Any]:
    """The native settings the members given in ``params`` name."""
    for member in _NOT_FOR_QUEUES:
        if params.get(member) not in (None, [], {}):
            raise invalid(f"Unsupported {member} parameter for given event source mapping type.")
    members = {
        "BatchSize": "batch_size",
        "MaximumBatchingWindowInSeconds": "batching_window_s",
        "Enabled": "enabled",
    }
    settings = {native: params[aws] for aws, native in members.items() if aws in params}
    if "ScalingConfig" in params:
        settings["max_concurrency"] = (params["ScalingConfig"] or {}).get("MaximumConcurrency")
    if "FunctionResponseTypes" in params:
        types = list(params["FunctionResponseTypes"] or [])
        settings["report_batch_item_failures"] = "ReportBatchItemFailures" in types
    if "FilterCriteria" in params:
        filters = (params["FilterCriteria"] or {}).get("Filters") or []
        settings["filter_criteria"] = {"Filters": [dict(f) for f in filters]}
    return settings


async def create_event_source_mapping(call: Call, params: dict[str, Any]) -> Mapping[str, Any]:
    arn = params.get("EventSourceArn")
    if not arn:
        raise invalid("EventSourceArn is required: raybus maps SQS queues.")
    if arn.split(":")[2:3] == ["sns"]:
        raise invalid(
            "A topic is not an event source: subscribe the function to it through SNS "
            "(Protocol lambda)."
        )
    source = target_of_arn(call, arn, "EventSourceArn", ("sqs",))
    name = function_name(call, params)
    await existing(call, name)
    settings = {"source": source, "function": name, **_settings(params)}
    try:
        answer, created = await call.gateway.control.run(CreateMapping(settings))
    except RaybusError as error:
        if error.code != "ResourceConflict":
            raise
        created, answer = False, {"id": error.details.get("resource", "")}
    if not created:
        raise AwsError(
            "ResourceConflictException",
            f'An event source mapping with SQS arn (" {arn} ") and function (" {name} ") already '
            f"exists. Please update or delete the existing mapping with UUID {answer['id']}",
            status=409,
        )
    config = MappingConfig.from_dict(answer)
    tags = params.get("Tags")
    if tags:
        await call.gateway.control.run(TagResource("mapping", config.id, dict(tags)))
    await call.gateway.changed()
    _, modified_ms = await _read(call, config.id)
    return _mapping(call, config, modified_ms, "Creating")


async def get_event_source_mapping(call: Call, params: dict[str, Any]) -> Mapping[str, Any]:
    config, modified_ms = await _read(call, params["UUID"])
    return _mapping(call, config, modified_ms)


async def update_event_source_mapping(call: Call, params: dict[str, Any]) -> Mapping[str, Any]:
    uuid = params["UUID"]
    await _read(call, uuid)
    changes = _settings(params)
    if params.get("FunctionName"):
        changes["function"] = function_name(call, params)
        await existing(call, changes["function"])
    answer = await call.gateway.control.run(UpdateMapping(uuid, changes))
    await call.gateway.changed()
    _, modified_ms = await _read(call, uuid)
    return _mapping(call, MappingConfig.from_dict(answer), modified_ms, "Updating")


async def delete_event_source_mapping(call: Call, params: dict[str, Any]) -> Mapping[str, Any]:
    config, modified_ms = await _read(call, params["UUID"])
    try:
        await call.gateway.control.run(DeleteMapping(config.id))
    except RaybusError as error:
        if error.code == "ResourceNotFound":
            raise _missing() from None
        raise
    await call.gateway.changed()
    return _mapping(call, config, modified_ms, "Deleting")


async def list_event_source_mappings(call: Call, params: dict[str, Any]) -> Mapping[str, Any]:
    function = function_name(call, params) if params.get("FunctionName") else None
    arn = params.get("EventSourceArn")
    source = target_of_arn(call, arn, "EventSourceArn", ("sqs", "sns")) if arn else None
    listed = await call.gateway.control.run(ListMappings(function, source))
    chunk, marker = page(listed, {"MaxItems": DEFAULT_MAX_ITEMS, **params}, key=lambda m: m["id"])
    mappings = []
    for item in chunk:
        try:
            config, modified_ms = await _read(call, item["id"])
        except AwsError:  # deleted since the listing
            continue
        mappings.append(_mapping(call, config, modified_ms))
    out: dict[str, Any] = {"EventSourceMappings": mappings}
    if marker:
        out["NextMarker"] = marker
    return out


OPERATIONS = {
    "CreateEventSourceMapping": create_event_source_mapping,
    "GetEventSourceMapping": get_event_source_mapping,
    "UpdateEventSourceMapping": update_event_source_mapping,
    "DeleteEventSourceMapping": delete_event_source_mapping,
    "ListEventSourceMappings": list_event_source_mappings,
}
