"""API-call events: every management call, from either API, as an event on the default bus.

EventBridge receives "AWS API Call via CloudTrail" events for the calls made to AWS's
services; raybus emits the same event for every management call it serves — through AWS's
protocols or its native API — so a rule on the default bus can react to "someone deleted a
queue". The event is EventBridge's: source ``aws.<service>``, detail type ``AWS API Call via
CloudTrail``, and CloudTrail's record as the detail (``eventSource``, ``eventName``,
``eventTime``, ``requestParameters``, ``responseElements``, ``userIdentity``,
``sourceIPAddress``, ``userAgent``, ``requestID``, ``eventID``, ``readOnly``, ``eventType``,
``managementEvent``, ``eventCategory``).

- **What is emitted.** Write management calls always (while the default bus has an enabled
  rule: an event no rule could see is not put at all). Read-only ones (Get, List, Describe,
  and the native API's GETs) only while some rule of the default bus is in state
  ``ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS`` — EventBridge's rule for them — so reads
  cost nothing otherwise. Data-plane calls (send, receive, publish, put events, invoke) only
  for the services named in ``data_events`` (off by default, as CloudTrail's data events).
- **What is left out.** Message bodies, event details, function code, environment variables
  and credentials in the parameters or the answer are replaced by CloudTrail's
  ``HIDDEN_DUE_TO_SECURITY_REASONS``; parameters are cut to ``MAX_RECORD_CHARS``.
- **Never slows or fails the call much.** The event is put after the call succeeded and before
  it is answered, so it is durable once the call is acknowledged; a put that fails (or takes
  longer than ``PUT_TIMEOUT_S``) is logged and counted, and the call is answered anyway.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from raybus.actors import Router
from raybus.core.buses import (
    ALL_MANAGEMENT_EVENTS,
    API_CALL_DETAIL_TYPE,
    DEFAULT_BUS,
    EventEntry,
)
from raybus.core.clock import SystemClock
from raybus.core.errors import RaybusError
from raybus.engines.bus.ops import PutEvents

__all__ = [
    "API_CALL",
    "HIDDEN",
    "AuditCall",
    "Auditor",
    "aws_call",
    "native_call",
    "redact",
]

log = logging.getLogger(__name__)

API_CALL = API_CALL_DETAIL_TYPE
HIDDEN = "HIDDEN_DUE_TO_SECURITY_REASONS"
PUT_TIMEOUT_S = 2.0
MAX_RECORD_CHARS = 16_384
ALL_MANAGEMENT = ALL_MANAGEMENT_EVENTS
# parameter and answer members never copied into an event (compared lower-cased)
_SECRET = frozenset(
    {
        "messagebody",
        "message",
        "body",
        "bodies",
        "detail",
        "payload",
        "zipfile",
        "code",
        "code_base64",
        "environment",
        "variables",
        "authparameters",
        "password",
        "secret",
        "clientsecret",
        "apikeyvalue",
        "token",
        "authorization",
    }
)
_READ_PREFIXES = ("Get", "List", "Describe", "Test")
_DATA = {
    "sqs": frozenset(
        {
            "SendMessage",
            "SendMessageBatch",
            "ReceiveMessage",
            "DeleteMessage",
            "DeleteMessageBatch",
            "ChangeMessageVisibility",
            "ChangeMessageVisibilityBatch",
        }
    ),
    "sns": frozenset({"Publish", "PublishBatch"}),
    "lambda": frozenset({"Invoke", "InvokeAsync", "InvokeWithResponseStream"}),
    "events": frozenset({"PutEvents"}),
}
# the native API's operations as the AWS calls they are: (service, eventName, data plane)
NATIVE: dict[str, tuple[str, str, bool]] = {
    "create_queue": ("sqs", "CreateQueue", False),
    "list_queues": ("sqs", "ListQueues", False),
    "get_queue": ("sqs", "GetQueueAttributes", False),
    "update_queue": ("sqs", "SetQueueAttributes", False),
    "delete_queue": ("sqs", "DeleteQueue", False),
    "stats": ("sqs", "GetQueueAttributes", False),
    "purge": ("sqs", "PurgeQueue", False),
    "send": ("sqs", "SendMessage", True),
    "receive": ("sqs", "ReceiveMessage", True),
    "delete": ("sqs", "DeleteMessage", True),
    "change_visibility": ("sqs", "ChangeMessageVisibility", True),
    "start_move_task": ("sqs", "StartMessageMoveTask", False),
    "list_move_tasks": ("sqs", "ListMessageMoveTasks", False),
    "cancel_move_task": ("sqs", "CancelMessageMoveTask", False),
    "create_topic": ("sns", "CreateTopic", False),
    "list_topics": ("sns", "ListTopics", False),
    "get_topic": ("sns", "GetTopicAttributes", False),
    "delete_topic": ("sns", "DeleteTopic", False),
    "topic_stats": ("sns", "GetTopicAttributes", False),
    "publish": ("sns", "Publish", True),
    "subscribe": ("sns", "Subscribe", False),
    "list_subscriptions": ("sns", "ListSubscriptionsByTopic", False),
    "get_subscription": ("sns", "GetSubscriptionAttributes", False),
    "update_subscription": ("sns", "SetSubscriptionAttributes", False),
    "unsubscribe": ("sns", "Unsubscribe", False),
    "create_function": ("lambda", "CreateFunction", False),
    "list_functions": ("lambda", "ListFunctions", False),
    "get_function": ("lambda", "GetFunction", False),
    "update_function": ("lambda", "UpdateFunctionConfiguration", False),
    "delete_function": ("lambda", "DeleteFunction", False),
    "invoke": ("lambda", "Invoke", True),
    "invoke_async": ("lambda", "Invoke", True),
    "create_mapping": ("lambda", "CreateEventSourceMapping", False),
    "list_mappings": ("lambda", "ListEventSourceMappings", False),
    "get_mapping": ("lambda", "GetEventSourceMapping", False),
    "update_mapping": ("lambda", "UpdateEventSourceMapping", False),
    "delete_mapping": ("lambda", "DeleteEventSourceMapping", False),
    "mapping_stats": ("lambda", "GetEventSourceMapping", False),
    "create_bus": ("events", "CreateEventBus", False),
    "list_buses": ("events", "ListEventBuses", False),
    "get_bus": ("events", "DescribeEventBus", False),
    "delete_bus": ("events", "DeleteEventBus", False),
    "bus_stats": ("events", "DescribeEventBus", False),
    "put_events": ("events", "PutEvents", True),
    "put_rule": ("events", "PutRule", False),
    "put_rules": ("events", "PutRule", False),
    "list_rules": ("events", "ListRules", False),
    "get_rule": ("events", "DescribeRule", False),
    "delete_rule": ("events", "DeleteRule", False),
    "put_targets": ("events", "PutTargets", False),
    "remove_targets": ("events", "RemoveTargets", False),
    "test_event_pattern": ("events", "TestEventPattern", False),
    "create_archive": ("events", "CreateArchive", False),
    "list_archives": ("events", "ListArchives", False),
    "get_archive": ("events", "DescribeArchive", False),
    "update_archive": ("events", "UpdateArchive", False),
    "delete_archive": ("events", "DeleteArchive", False),
    "start_replay": ("events", "StartReplay", False),
    "list_replays": ("events", "ListReplays", False),
    "get_replay": ("events", "DescribeReplay", False),
    "cancel_replay": ("events", "CancelReplay", False),
    "create_connection": ("events", "CreateConnection", False),
    "list_connections": ("events", "ListConnections", False),
    "get_connection": ("events", "DescribeConnection", False),
    "deauthorize_connection": ("events", "DeauthorizeConnection", False),
    "delete_connection": ("events", "DeleteConnection", False),
    "create_api_destination": ("events", "CreateApiDestination", False),
    "list_api_destinations": ("events", "ListApiDestinations", False),
    "get_api_destination": ("events", "DescribeApiDestination", False),
    "delete_api_destination": ("events", "DeleteApiDestination", False),
}


def redact(value: Any, depth: int = 0) -> Any:
    """``value`` with every secret member hidden (see the module docstring)."""
    if depth > 20:
        return HIDDEN
    if isinstance(value, Mapping):
        return {
            str(k): HIDDEN if str(k).lower() in _SECRET else redact(v, depth + 1)
            for k, v in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [redact(v, depth + 1) for v in value]
    if isinstance(value, (bytes, bytearray)):
        return HIDDEN
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def _bounded(value: Any) -> Any:
    """A record member cut to ``MAX_RECORD_CHARS`` of JSON (CloudTrail truncates too)."""
    text = json.dumps(value, default=str)
    if len(text) <= MAX_RECORD_CHARS:
        return value
    return {"truncated": True, "size": len(text)}


@dataclass(frozen=True, slots=True)
class AuditCall:
    """One served call, as the audit trail records it."""

    service: str  # botocore's name: sqs, sns, lambda, events, ...
    name: str  # the AWS action (DeleteQueue)
    read_only: bool
    data: bool
    caller: str  # the SigV4 access key id, or the native token's name
    source_ip: str
    user_agent: str
    request_id: str
    parameters: Any
    response: Any


def aws_call(
    service: str,
    name: str,
    *,
    caller: str,
    source_ip: str,
    user_agent: str,
    request_id: str,
    parameters: Any,
    response: Any,
) -> AuditCall:
    return AuditCall(
        service=service,
        name=name,
        read_only=name.startswith(_READ_PREFIXES),
        data=name in _DATA.get(service, ()),
        caller=caller,
        source_ip=source_ip,
        user_agent=user_agent,
        request_id=request_id,
        parameters=parameters,
        response=response,
    )


def native_call(
    operation: str,
    method: str,
    *,
    caller: str,
    source_ip: str,
    user_agent: str,
    request_id: str,
    parameters: Any,
    response: Any,
) -> AuditCall | None:
    """The call a native route is, or None for routes that are no AWS call (the clock,
    health, metrics, host operations)."""
    known = NATIVE.get(operation)
    if known is None:
        return None
    service, name, data = known
    return AuditCall(
        service=service,
        name=name,
        read_only=method == "GET",
        data=data,
        caller=caller,
        source_ip=source_ip,
        user_agent=user_agent,
        request_id=request_id,
        parameters=parameters,
        response=response,
    )


class Auditor:
    """Puts API-call events on the default bus through the gateway's router."""

    def __init__(
        self,
        router: Router,
        put: Any,
        *,
        clock: Callable[[], int] | None = None,
        data_events: frozenset[str] = frozenset(),
    ) -> None:
        self.router = router
        self._put = put  # (kind, bus, entries, op) -> results: the gateway's lanes.split
        self._clock = clock or SystemClock().now_ms
        self.data_events = data_events
        self._states_cache: tuple[object, frozenset[object]] | None = None
        self.emitted = 0
        self.failed = 0

    def wanted(self, call: AuditCall) -> bool:
        """Whether ``call``'s event could reach anything: never while the default bus has no
        enabled rule (an event no rule sees is unobservable, so skipping it loses nothing)."""
        return self._wants(call.service, call.read_only, call.data)

    def wants_native(self, operation: str, method: str) -> bool:
        """Whether the native route ``operation`` called with ``method`` would be recorded —
        asked before the call is described, which costs a decode of its answer (a received
        batch of a thousand messages): data-plane routes are almost never recorded."""
        known = NATIVE.get(operation)
        return known is not None and self._wants(known[0], method == "GET", known[2])

    def _wants(self, service: str, read_only: bool, data: bool) -> bool:
        if data and service not in self.data_events:
            return False
        states = self._states()
        if read_only and not data:
            return ALL_MANAGEMENT in states
        return bool(states - {"DISABLED"})

    def _states(self) -> frozenset[object]:
        """The states of the default bus's rules, read once per routing table (a bus may hold
        thousands of rules; every management call asks)."""
        table = self.router.table
        cached = self._states_cache
        if cached is None or cached[0] is not table:
            route = table.route("bus", DEFAULT_BUS)
            states = (
                frozenset(getattr(r, "state", None) for r in route.attached)
                if route
                else frozenset()
            )
            cached = (table, states)
            self._states_cache = cached
        return cached[1]

    def event(self, call: AuditCall, now_ms: int) -> EventEntry:
        table = self.router.table
        when = datetime.fromtimestamp(now_ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        detail = {
            "eventVersion": "1.08",
            "userIdentity": {
                "type": "IAMUser" if call.caller != "anonymous" else "AWSAccount",
                "accountId": table.aws_account_id,
                "accessKeyId": call.caller,
                "principalId": call.caller,
                "arn": f"arn:aws:iam::{table.aws_account_id}:user/{call.caller}",
            },
            "eventTime": when,
            "eventSource": f"{call.service}.amazonaws.com",
            "eventName": call.name,
            "awsRegion": table.aws_region,
            "sourceIPAddress": call.source_ip,
            "userAgent": call.user_agent,
            "requestParameters": _bounded(redact(call.parameters)),
            "responseElements": None if call.read_only else _bounded(redact(call.response)),
            "requestID": call.request_id,
            "eventID": str(uuid.uuid4()),
            "readOnly": call.read_only,
            "eventType": "AwsApiCall",
            "managementEvent": not call.data,
            "recipientAccountId": table.aws_account_id,
            "eventCategory": "Data" if call.data else "Management",
        }
        return EventEntry(
            source=f"aws.{call.service}",
            detail_type=API_CALL,
            detail=json.dumps(detail, default=str),
            time_ms=now_ms,
            internal=True,
        )

    async def record(self, call: AuditCall | None) -> None:
        """Put ``call``'s event if it is wanted; never raises."""
        if call is None or not self.wanted(call):
            return
        try:
            now_ms = self._clock()
            entry = self.event(call, now_ms)
            (result,) = await asyncio.wait_for(
                self._put("bus", DEFAULT_BUS, [entry], PutEvents), PUT_TIMEOUT_S
            )
            if isinstance(result, RaybusError):
                raise result
            self.emitted += 1
        except Exception as error:  # the call it describes succeeded: answer it anyway
            self.failed += 1
            log.warning("API-call event for %s %s not emitted: %r", call.service, call.name, error)
