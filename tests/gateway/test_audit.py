"""API-call events (pure parts): what is hidden, how native routes name their AWS calls, which
calls are emitted for which rules, and the CloudTrail record's shape."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pytest

from raybus.core.buses import RuleConfig
from raybus.gateway.audit import (
    ALL_MANAGEMENT,
    API_CALL,
    HIDDEN,
    NATIVE,
    Auditor,
    aws_call,
    native_call,
    redact,
)


def test_bodies_code_and_secrets_are_hidden_at_any_depth() -> None:
    params = {
        "QueueUrl": "http://x/1/q",
        "MessageBody": "secret",
        "Entries": [{"Id": "1", "MessageBody": "also secret"}],
        "Code": {"ZipFile": b"PK"},
        "AuthParameters": {"ApiKeyAuthParameters": {"ApiKeyValue": "k"}},
        "Environment": {"Variables": {"PASSWORD": "p"}},
    }
    out = redact(params)
    assert out == {
        "QueueUrl": "http://x/1/q",
        "MessageBody": HIDDEN,
        "Entries": [{"Id": "1", "MessageBody": HIDDEN}],
        "Code": HIDDEN,
        "AuthParameters": HIDDEN,
        "Environment": HIDDEN,
    }
    assert "secret" not in json.dumps(out)


def test_every_native_management_route_names_an_aws_call() -> None:
    call = native_call(
        "delete_queue",
        "DELETE",
        caller="anonymous",
        source_ip="127.0.0.1",
        user_agent="ua",
        request_id="r",
        parameters={"name": "q"},
        response={},
    )
    assert call is not None
    assert (call.service, call.name, call.read_only, call.data) == ("sqs", "DeleteQueue", False,
                                                                    False)  # fmt: skip
    assert native_call("advance_clock", "POST", caller="", source_ip="", user_agent="",
                       request_id="", parameters={}, response={}) is None  # fmt: skip
    assert all(name[0].isupper() for _, name, _ in NATIVE.values())


@pytest.mark.parametrize(
    ("service", "name", "read_only", "data"),
    [
        ("sqs", "DeleteQueue", False, False),
        ("sqs", "GetQueueUrl", True, False),
        ("sqs", "SendMessageBatch", False, True),
        ("events", "PutEvents", False, True),
        ("events", "TestEventPattern", True, False),
        ("lambda", "ListFunctions", True, False),
    ],
)
def test_aws_calls_are_classified_as_cloudtrail_does(
    service: str, name: str, read_only: bool, data: bool
) -> None:
    call = aws_call(service, name, caller="AK", source_ip="", user_agent="", request_id="",
                    parameters={}, response={})  # fmt: skip
    assert (call.read_only, call.data) == (read_only, data)


@dataclass
class _Route:
    attached: tuple[Any, ...] = ()


@dataclass
class _Table:
    rules: tuple[Any, ...] = ()
    aws_account_id: str = "000000000000"
    aws_region: str = "us-east-1"

    def route(self, kind: str, key: str) -> _Route:
        return _Route(self.rules)


@dataclass
class _Router:
    table: _Table = field(default_factory=_Table)


def _rule(state: str) -> RuleConfig:
    return RuleConfig("r", event_pattern='{"source": ["aws.sqs"]}', state=state)  # type: ignore[arg-type]


def _call(name: str) -> Any:
    return aws_call(
        "sqs",
        name,
        caller="AK",
        source_ip="10.0.0.1",
        user_agent="boto3",
        request_id="req",
        parameters={"QueueName": "q"},
        response={"QueueUrl": "u"},
    )


def test_which_calls_are_emitted_depends_on_the_default_bus_rules() -> None:
    """(A routing table is replaced whole when anything changes, never edited.)"""
    router = _Router()
    auditor = Auditor(router, None, data_events=frozenset({"sqs"}))  # type: ignore[arg-type]
    write, read, data = _call("CreateQueue"), _call("GetQueueUrl"), _call("SendMessage")
    assert [auditor.wanted(c) for c in (write, read, data)] == [False, False, False]
    router.table = _Table(rules=(_rule("DISABLED"),))
    assert auditor.wanted(write) is False  # no enabled rule could see it
    router.table = _Table(rules=(_rule("ENABLED"),))
    assert [auditor.wanted(c) for c in (write, read, data)] == [True, False, True]
    router.table = _Table(rules=(_rule(ALL_MANAGEMENT),))
    assert [auditor.wanted(c) for c in (write, read, data)] == [True, True, True]
    auditor.data_events = frozenset()
    assert auditor.wanted(data) is False


def test_native_routes_are_judged_before_they_are_described() -> None:
    """The middleware asks before it decodes an answer: a data-plane route is wanted only with
    data events on for its service, a GET only for the all-management rule state, and routes
    that are no AWS call never."""
    router = _Router(_Table(rules=(_rule("ENABLED"),)))
    auditor = Auditor(router, None)  # type: ignore[arg-type]
    assert auditor.wants_native("create_queue", "POST") is True
    assert auditor.wants_native("receive", "POST") is False  # data plane, data events off
    assert auditor.wants_native("list_queues", "GET") is False  # read-only
    assert auditor.wants_native("advance_clock", "POST") is False  # not an AWS call
    auditor.data_events = frozenset({"sqs"})
    assert auditor.wants_native("receive", "POST") is True
    router.table = _Table(rules=(_rule(ALL_MANAGEMENT),))
    assert auditor.wants_native("list_queues", "GET") is True
    router.table = _Table()
    assert auditor.wants_native("create_queue", "POST") is False  # no rule could see it


def test_the_event_is_cloudtrails_record() -> None:
    auditor = Auditor(_Router(), None, clock=lambda: 0)  # type: ignore[arg-type]
    entry = auditor.event(_call("CreateQueue"), 1_796_000_000_000)
    assert (entry.source, entry.detail_type, entry.internal) == ("aws.sqs", API_CALL, True)
    detail = json.loads(entry.detail or "")
    assert detail["eventSource"] == "sqs.amazonaws.com"
    assert detail["eventName"] == "CreateQueue"
    assert detail["eventTime"] == "2026-11-30T00:53:20Z"
    assert detail["requestParameters"] == {"QueueName": "q"}
    assert detail["responseElements"] == {"QueueUrl": "u"}
    assert detail["userIdentity"]["accessKeyId"] == "AK"
    assert (detail["sourceIPAddress"], detail["userAgent"], detail["requestID"]) == (
        "10.0.0.1",
        "boto3",
        "req",
    )
    assert (detail["readOnly"], detail["managementEvent"], detail["eventType"]) == (
        False,
        True,
        "AwsApiCall",
    )


def test_data_events_travel_from_the_cluster_spec_to_the_gateway() -> None:
    from raybus.control import ClusterSpec
    from raybus.gateway.actor import ServeSpec

    serve = ServeSpec(**ClusterSpec(data_events=("sqs", "events")).serve_options())
    assert serve.data_events == ("sqs", "events")
    assert ServeSpec().data_events == ()
