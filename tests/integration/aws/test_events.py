"""EventBridge over its JSON protocol with unmodified boto3: buses, rules and targets, PutEvents
with per-entry errors, routing to a FIFO queue, a topic and another bus with input shaping,
retries across one virtual-clock advance into a dead-letter queue, scheduled rules, and
EventBridge's errors."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError

from raybus.sdk import Client
from tests.integration.aws.conftest import ACCOUNT, REGION
from tests.integration.aws.test_lambda_functions import create, function_arn
from tests.integration.aws.test_sns import drain, error_code
from tests.integration.conftest import AWS_ACCESS_KEY
from tests.integration.endpoints import Endpoint
from tests.integration.test_metrics import families, value
from tests.integration.test_semantics import wait_for


@pytest.fixture
def events(aws: Callable[[str], Any]) -> Any:
    return aws("events")


def arn(service: str, resource: str) -> str:
    return f"arn:aws:{service}:{REGION}:{ACCOUNT}:{resource}"


def queue(sqs: Any, name: str, **attributes: str) -> tuple[str, str]:
    url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    return url, arn("sqs", name)


def entry(bus: str, source: str = "shop", detail: Any = None, **fields: Any) -> dict[str, Any]:
    return {
        "EventBusName": bus,
        "Source": source,
        "DetailType": "order placed",
        "Detail": json.dumps({"total": 12} if detail is None else detail),
        **fields,
    }


def test_a_bus_and_its_rules_are_created_described_listed_and_deleted(
    events: Any, name: str
) -> None:
    bus_arn = events.create_event_bus(Name=name, Description="orders")["EventBusArn"]
    assert bus_arn == arn("events", f"event-bus/{name}")
    with pytest.raises(ClientError) as raised:
        events.create_event_bus(Name=name)
    assert error_code(raised) == "ResourceAlreadyExistsException"
    described = events.describe_event_bus(Name=bus_arn)
    assert (described["Name"], described["Description"]) == (name, "orders")
    names = [b["Name"] for b in events.list_event_buses()["EventBuses"]]
    assert "default" in names and name in names

    pattern = json.dumps({"source": ["shop"]})
    rule_arn = events.put_rule(Name="r1", EventBusName=name, EventPattern=pattern)["RuleArn"]
    assert rule_arn == arn("events", f"rule/{name}/r1")
    rule = events.describe_rule(Name="r1", EventBusName=name)
    assert (rule["EventPattern"], rule["State"], rule["EventBusName"]) == (pattern, "ENABLED", name)
    events.disable_rule(Name="r1", EventBusName=name)
    assert events.describe_rule(Name="r1", EventBusName=name)["State"] == "DISABLED"
    assert [r["Name"] for r in events.list_rules(EventBusName=name)["Rules"]] == ["r1"]

    with pytest.raises(ClientError) as raised:
        events.put_rule(Name="bad", EventBusName=name, EventPattern='{"source": "shop"}')
    assert error_code(raised) == "InvalidEventPatternException"
    with pytest.raises(ClientError) as raised:
        events.put_rule(Name="tick", EventBusName=name, ScheduleExpression="rate(5 minutes)")
    assert error_code(raised) == "ValidationException"  # schedules live on the default bus
    with pytest.raises(ClientError) as raised:
        events.describe_rule(Name="nope", EventBusName=name)
    assert error_code(raised) == "ResourceNotFoundException"

    events.put_targets(
        Rule="r1", EventBusName=name, Targets=[{"Id": "q", "Arn": arn("sqs", "somewhere")}]
    )
    with pytest.raises(ClientError) as raised:
        events.delete_rule(Name="r1", EventBusName=name)
    assert error_code(raised) == "ValidationException"  # it has targets
    events.remove_targets(Rule="r1", EventBusName=name, Ids=["q"])
    events.delete_rule(Name="r1", EventBusName=name)
    assert events.list_rules(EventBusName=name)["Rules"] == []
    events.delete_event_bus(Name=name)
    with pytest.raises(ClientError) as raised:
        events.describe_event_bus(Name=name)
    assert error_code(raised) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as raised:
        events.delete_event_bus(Name="default")
    assert error_code(raised) == "ValidationException"


def test_put_events_answers_per_entry(events: Any, name: str) -> None:
    events.create_event_bus(Name=name)
    answer = events.put_events(
        Entries=[
            entry(name),
            entry(name, detail=None) | {"Detail": "[1]"},
            entry(name, source="aws.s3"),
            {"EventBusName": name, "Source": "shop", "Detail": "{}"},
            entry(f"{name}-missing"),
        ]
    )
    codes = [e.get("ErrorCode") for e in answer["Entries"]]
    assert codes == [
        None,
        "MalformedDetail",
        "NotAuthorizedForSourceException",
        "InvalidArgument",
        "ResourceNotFoundException",
    ]
    assert answer["FailedEntryCount"] == 4
    assert len(answer["Entries"][0]["EventId"]) == 36
    with pytest.raises(ClientError) as raised:
        events.put_events(Entries=[entry(name, detail={"x": "y" * 262_144})])
    assert error_code(raised) == "ValidationException"


def test_a_rule_routes_matching_events_to_a_fifo_queue_a_topic_and_another_bus(
    events: Any, aws: Callable[[str], Any], name: str
) -> None:
    sqs, sns = aws("sqs"), aws("sns")
    fifo_url, fifo_arn = queue(sqs, f"{name}.fifo", FifoQueue="true")
    topic_url, topic_queue_arn = queue(sqs, f"{name}-topic")
    bus_url, bus_queue_arn = queue(sqs, f"{name}-bus")
    topic_arn = sns.create_topic(Name=name)["TopicArn"]
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=topic_queue_arn,
                  Attributes={"RawMessageDelivery": "true"})  # fmt: skip
    events.create_event_bus(Name=name)
    events.create_event_bus(Name=f"{name}-next")
    pattern = {"source": ["shop"], "detail": {"total": [{"numeric": [">", 10]}]}}
    events.put_rule(Name="big", EventBusName=name, EventPattern=json.dumps(pattern))
    events.put_rule(Name="all", EventBusName=f"{name}-next",
                    EventPattern=json.dumps({"source": ["shop"]}))  # fmt: skip
    events.put_targets(
        Rule="all",
        EventBusName=f"{name}-next",
        Targets=[{"Id": "q", "Arn": bus_queue_arn}],
    )
    failed = events.put_targets(
        Rule="big",
        EventBusName=name,
        Targets=[
            {
                "Id": "fifo",
                "Arn": fifo_arn,
                "SqsParameters": {"MessageGroupId": "orders"},
                "InputTransformer": {
                    "InputPathsMap": {"total": "$.detail.total", "source": "$.source"},
                    "InputTemplate": '{"sum": <total>, "from": "<source>", "rule": '
                    '"<aws.events.rule-name>"}',
                },
            },
            {"Id": "topic", "Arn": topic_arn, "InputPath": "$.detail"},
            {"Id": "bus", "Arn": arn("events", f"event-bus/{name}-next")},
            {"Id": "nowhere", "Arn": arn("kinesis", "stream/x")},
            {"Id": "fifo-without-group", "Arn": fifo_arn},
            {"Id": "itself", "Arn": arn("events", f"event-bus/{name}")},  # would loop
        ],
    )
    assert [f["TargetId"] for f in failed["FailedEntries"]] == [
        "nowhere",
        "fifo-without-group",
        "itself",
    ]
    listed = events.list_targets_by_rule(Rule="big", EventBusName=name)["Targets"]
    assert sorted(t["Id"] for t in listed) == ["bus", "fifo", "topic"]
    assert events.list_rule_names_by_target(TargetArn=fifo_arn, EventBusName=name)["RuleNames"] == [
        "big"
    ]

    when = datetime(2026, 12, 3, 8, 0, 0, tzinfo=UTC)
    answer = events.put_events(
        Entries=[
            entry(name, detail={"total": 50}, Time=when, Resources=["arn:aws:shop:order/1"]),
            entry(name, detail={"total": 5}),  # too small: no rule
            entry(name, source="warehouse", detail={"total": 99}),  # other source: no rule
        ]
    )
    assert answer["FailedEntryCount"] == 0
    event_id = answer["Entries"][0]["EventId"]

    (shaped,) = drain(sqs, fifo_url, 1)
    assert json.loads(shaped["Body"]) == {"sum": 50, "from": "shop", "rule": "big"}
    (published,) = drain(sqs, topic_url, 1)
    assert json.loads(published["Body"]) == {"total": 50}
    (forwarded,) = drain(sqs, bus_url, 1)
    event = json.loads(forwarded["Body"])
    assert {k: event[k] for k in ("source", "detail-type", "detail", "time", "resources")} == {
        "source": "shop",
        "detail-type": "order placed",
        "detail": {"total": 50},
        "time": "2026-12-03T08:00:00Z",
        "resources": ["arn:aws:shop:order/1"],
    }
    assert event["account"] == ACCOUNT and event["region"] == REGION
    # non-matching events went nowhere
    for url in (fifo_url, topic_url, bus_url):
        assert sqs.receive_message(QueueUrl=url, WaitTimeSeconds=0).get("Messages", []) == []
    assert event_id  # the put answered an id for the matched event


def test_a_failing_target_is_retried_across_one_advance_then_dead_lettered(
    events: Any, aws: Callable[[str], Any], client: Client, name: str
) -> None:
    sqs = aws("sqs")
    dlq_url, dlq_arn = queue(sqs, f"{name}-dlq")
    events.create_event_bus(Name=name)
    events.put_rule(Name="r", EventBusName=name, EventPattern=json.dumps({"source": ["shop"]}))
    missing = arn("sqs", f"{name}-missing")
    events.put_targets(
        Rule="r",
        EventBusName=name,
        Targets=[{"Id": "gone", "Arn": missing, "DeadLetterConfig": {"Arn": dlq_arn}}],
    )
    event_id = events.put_events(Entries=[entry(name)])["Entries"][0]["EventId"]
    client.advance_clock(86_400)  # the whole default policy: 185 attempts or 24 hours
    (dead,) = drain_all(sqs, dlq_url, 1)
    assert json.loads(dead["Body"])["id"] == event_id
    attributes = {k: v["StringValue"] for k, v in dead["MessageAttributes"].items()}
    assert attributes["RULE_ARN"] == arn("events", f"rule/{name}/r")
    assert attributes["TARGET_ARN"] == missing
    assert attributes["ERROR_CODE"] == "RESOURCE_NOT_FOUND"
    assert f"{name}-missing" in attributes["ERROR_MESSAGE"]
    assert attributes["EXHAUSTED_RETRY_CONDITION"] in {
        "MaximumEventAgeExhausted",
        "MaximumRetryAttemptsExhausted",
    }
    assert int(attributes["RETRY_ATTEMPTS"]) > 10  # retried on the policy, not given up at once
    answer = sqs.receive_message(QueueUrl=dlq_url, WaitTimeSeconds=0)
    assert answer.get("Messages", []) == []  # exactly one copy


def drain_all(sqs: Any, url: str, expected: int) -> list[dict[str, Any]]:
    """Like ``drain``, with every message attribute."""
    got: list[dict[str, Any]] = []

    def more() -> bool:
        answer = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1, MessageAttributeNames=["All"]
        )
        for message in answer.get("Messages", []):
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            got.append(message)
        return len(got) >= expected

    wait_for(more, 20)
    return got


def test_a_scheduled_rule_fires_on_the_cluster_clock(
    events: Any, aws: Callable[[str], Any], client: Client, name: str
) -> None:
    sqs = aws("sqs")
    url, queue_arn = queue(sqs, name)
    rule_arn = events.put_rule(Name=name, ScheduleExpression="rate(1 minute)")["RuleArn"]
    events.put_targets(Rule=name, Targets=[{"Id": "q", "Arn": queue_arn}])
    try:
        client.advance_clock(180)  # the rule fires 1, 2 and 3 minutes after its creation
        fired = drain(sqs, url, 3)
    finally:
        events.remove_targets(Rule=name, Ids=["q"])
        events.delete_rule(Name=name)
    bodies = [json.loads(m["Body"]) for m in fired]
    assert len(bodies) == 3
    for body in bodies:
        assert (body["source"], body["detail-type"], body["detail"]) == (
            "aws.events",
            "Scheduled Event",
            {},
        )
        assert body["resources"] == [rule_arn]
    times = sorted(datetime.strptime(b["time"], "%Y-%m-%dT%H:%M:%SZ") for b in bodies)
    assert [(b - a).total_seconds() for a, b in itertools.pairwise(times)] == [60, 60]
    with pytest.raises(ClientError) as raised:
        events.put_rule(Name=f"{name}-bad", ScheduleExpression="cron(0 12 * * * *)")
    assert error_code(raised) == "ValidationException"  # neither day field is '?'


def test_deleting_a_queue_raises_an_alert_through_a_rule_and_a_topic(
    events: Any, aws: Callable[[str], Any], client: Client, name: str
) -> None:
    """The seed's API-interception scenario: a queue deleted (through SQS's API, and through
    the native API) becomes an API-call event on the default bus; a rule on its eventName
    sends it to a topic; the alert reaches the queue subscribed to the topic."""
    sqs, sns = aws("sqs"), aws("sns")
    alerts_url, alerts_arn = queue(sqs, f"{name}-alerts")
    topic = sns.create_topic(Name=f"{name}-alerts")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=alerts_arn,
                  Attributes={"RawMessageDelivery": "true"})  # fmt: skip
    victim_url, _ = queue(sqs, f"{name}-victim")
    client.create_queue(f"{name}-native")
    rules = {
        "by-sqs": {"requestParameters": {"QueueUrl": [{"suffix": f"/{name}-victim"}]}},
        "by-native": {"requestParameters": {"name": [f"{name}-native"]}},
    }
    for suffix, parameters in rules.items():
        pattern = {
            "source": ["aws.sqs"],
            "detail-type": ["AWS API Call via CloudTrail"],
            "detail": {
                "eventSource": ["sqs.amazonaws.com"],
                "eventName": ["DeleteQueue"],
                **parameters,
            },
        }
        events.put_rule(Name=f"{name}-{suffix}", EventPattern=json.dumps(pattern))
        events.put_targets(Rule=f"{name}-{suffix}", Targets=[{"Id": "alert", "Arn": topic}])
    try:
        sqs.delete_queue(QueueUrl=victim_url)
        client.queue(f"{name}-native").delete()
        alerts = [json.loads(m["Body"]) for m in drain(sqs, alerts_url, 2)]
    finally:
        for suffix in rules:
            events.remove_targets(Rule=f"{name}-{suffix}", Ids=["alert"])
            events.delete_rule(Name=f"{name}-{suffix}")
    by_caller = {a["detail"]["userIdentity"]["accessKeyId"]: a for a in alerts}
    aws_alert = by_caller[AWS_ACCESS_KEY]
    assert aws_alert["source"] == "aws.sqs"
    assert aws_alert["detail-type"] == "AWS API Call via CloudTrail"
    detail = aws_alert["detail"]
    assert (detail["eventName"], detail["readOnly"], detail["managementEvent"]) == (
        "DeleteQueue",
        False,
        True,
    )
    assert detail["requestParameters"]["QueueUrl"].endswith(f"/{name}-victim")
    assert detail["sourceIPAddress"] == "127.0.0.1" and detail["requestID"]
    native = by_caller["anonymous"]["detail"]
    assert (native["eventName"], native["requestParameters"]["name"]) == (
        "DeleteQueue",
        f"{name}-native",
    )


def test_api_call_events_leave_bodies_out_and_reads_need_the_rule_state_for_them(
    events: Any, aws: Callable[[str], Any], name: str
) -> None:
    sqs = aws("sqs")
    seen_url, seen_arn = queue(sqs, f"{name}-seen")
    pattern = {
        "source": ["aws.sqs"],
        "detail": {"requestParameters": {"QueueName": [{"prefix": f"{name}-x"}]}},
    }
    events.put_rule(Name=name, EventPattern=json.dumps(pattern))
    events.put_targets(Rule=name, Targets=[{"Id": "q", "Arn": seen_arn}])
    try:
        sqs.create_queue(QueueName=f"{name}-x1", Attributes={"Policy": "{}"})
        sqs.get_queue_url(QueueName=f"{name}-x1")  # read-only: the rule is only ENABLED
        (created,) = [json.loads(m["Body"]) for m in drain(sqs, seen_url, 1)]
        assert created["detail"]["eventName"] == "CreateQueue"
        events.put_rule(Name=name, EventPattern=json.dumps(pattern),
                        State="ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS")  # fmt: skip
        sqs.get_queue_url(QueueName=f"{name}-x1")
        (read,) = [json.loads(m["Body"]) for m in drain(sqs, seen_url, 1)]
        assert (read["detail"]["eventName"], read["detail"]["readOnly"]) == ("GetQueueUrl", True)
        # data-plane calls are not management events: off by default
        url = sqs.get_queue_url(QueueName=f"{name}-x1")["QueueUrl"]
        drain(sqs, seen_url, 1)
        sqs.send_message(QueueUrl=url, MessageBody="secret body")
    finally:
        events.remove_targets(Rule=name, Ids=["q"])
        events.delete_rule(Name=name)
    leftovers = sqs.receive_message(QueueUrl=seen_url, WaitTimeSeconds=1).get("Messages", [])
    assert all("secret body" not in m["Body"] for m in leftovers)
    assert all(json.loads(m["Body"])["detail"]["eventName"] != "SendMessage" for m in leftovers)


def test_an_archive_captures_events_and_a_replay_delivers_a_window_again(
    events: Any, aws: Callable[[str], Any], client: Client, name: str
) -> None:
    sqs = aws("sqs")
    url, queue_arn = queue(sqs, name)
    events.create_event_bus(Name=name)
    bus_arn = arn("events", f"event-bus/{name}")
    archive_arn = events.create_archive(
        ArchiveName=name,
        EventSourceArn=bus_arn,
        EventPattern=json.dumps({"source": ["shop"]}),
        RetentionDays=1,
    )["ArchiveArn"]
    assert archive_arn == arn("events", f"archive/{name}")
    managed = events.describe_rule(Name=f"Events-Archive-{name}", EventBusName=name)
    assert managed["ManagedBy"] == "events.amazonaws.com"
    with pytest.raises(ClientError) as raised:
        events.delete_rule(Name=f"Events-Archive-{name}", EventBusName=name)
    assert error_code(raised) == "ManagedRuleException"
    rule_arn = events.put_rule(
        Name="orders", EventBusName=name, EventPattern=json.dumps({"source": ["shop"]})
    )["RuleArn"]
    events.put_targets(Rule="orders", EventBusName=name, Targets=[{"Id": "q", "Arn": queue_arn}])

    def put(n: int) -> None:
        events.put_events(Entries=[entry(name, detail={"n": n})])

    put(1)
    after_first = client.advance_clock(60)
    put(2)
    put(3)
    events.put_events(Entries=[entry(name, source="other")])  # not archived: another source
    after_third = client.advance_clock(60)
    put(4)
    start = datetime.fromtimestamp((after_first - 30_000) / 1000, UTC)
    end = datetime.fromtimestamp((after_third - 30_000) / 1000, UTC)
    live = sorted(json.loads(m["Body"])["detail"]["n"] for m in drain(sqs, url, 4))
    assert live == [1, 2, 3, 4]

    described = events.describe_archive(ArchiveName=name)
    assert (described["EventCount"], described["RetentionDays"]) == (4, 1)
    assert described["SizeBytes"] > 4 * 100
    assert [a["ArchiveName"] for a in events.list_archives(EventSourceArn=bus_arn)["Archives"]] == [
        name
    ]

    events.start_replay(
        ReplayName=name,
        EventSourceArn=archive_arn,
        EventStartTime=start,  # after event 1
        EventEndTime=end,  # before event 4
        Destination={"Arn": bus_arn, "FilterArns": [rule_arn]},
    )
    replayed = [json.loads(m["Body"]) for m in drain(sqs, url, 2)]
    assert sorted(e["detail"]["n"] for e in replayed) == [2, 3]
    assert all(e["replay-name"] == name for e in replayed)

    def completed() -> bool:
        return bool(events.describe_replay(ReplayName=name)["State"] == "COMPLETED")

    wait_for(completed, 20)
    replay = events.describe_replay(ReplayName=name)
    assert replay["Destination"] == {"Arn": bus_arn, "FilterArns": [rule_arn]}
    assert "ReplayEndTime" in replay and "EventLastReplayedTime" in replay
    # replayed events are not archived again
    assert events.describe_archive(ArchiveName=name)["EventCount"] == 4
    with pytest.raises(ClientError) as raised:
        events.cancel_replay(ReplayName=name)
    assert error_code(raised) == "ValidationException"  # already completed

    client.advance_clock(86_400 + 300)  # past the retention: the archive lets them go
    wait_for(lambda: events.describe_archive(ArchiveName=name)["EventCount"] == 0, 20)
    events.delete_archive(ArchiveName=name)
    with pytest.raises(ClientError) as raised:
        events.describe_archive(ArchiveName=name)
    assert error_code(raised) == "ResourceNotFoundException"
    names = [r["Name"] for r in events.list_rules(EventBusName=name)["Rules"]]
    assert names == ["orders"]  # the managed rule went with the archive


def test_an_api_destination_gets_events_with_its_connections_auth_and_a_4xx_goes_to_the_dlq(
    events: Any, aws: Callable[[str], Any], name: str
) -> None:
    sqs = aws("sqs")
    dlq_url, dlq_arn = queue(sqs, f"{name}-dlq")
    with Endpoint() as endpoint:
        connection_arn = events.create_connection(
            Name=name,
            AuthorizationType="API_KEY",
            AuthParameters={
                "ApiKeyAuthParameters": {"ApiKeyName": "x-api-key", "ApiKeyValue": "s3cret"},
                "InvocationHttpParameters": {
                    "HeaderParameters": [{"Key": "x-team", "Value": "ops", "IsValueSecret": False}]
                },
            },
        )["ConnectionArn"]
        described = events.describe_connection(Name=name)
        assert described["ConnectionState"] == "AUTHORIZED"
        assert "s3cret" not in json.dumps(described, default=str)
        destination_arn = events.create_api_destination(
            Name=name,
            ConnectionArn=connection_arn,
            InvocationEndpoint=endpoint.url + "/*",
            HttpMethod="POST",
            InvocationRateLimitPerSecond=50,
        )["ApiDestinationArn"]
        events.create_event_bus(Name=name)
        events.put_rule(Name="r", EventBusName=name, EventPattern=json.dumps({"source": ["shop"]}))
        failed = events.put_targets(
            Rule="r",
            EventBusName=name,
            Targets=[
                {
                    "Id": "hook",
                    "Arn": destination_arn,
                    "InputPath": "$.detail",
                    "HttpParameters": {
                        "PathParameterValues": ["orders"],
                        "QueryStringParameters": {"v": "1"},
                    },
                    "DeadLetterConfig": {"Arn": dlq_arn},
                }
            ],
        )
        assert failed["FailedEntryCount"] == 0
        events.put_events(Entries=[entry(name, detail={"total": 7})])
        wait_for(lambda: len(endpoint.calls) >= 1, 20)
        headers, text = endpoint.calls[0]
        assert json.loads(text) == {"total": 7}
        assert headers["x-api-key"] == "s3cret" and headers["x-team"] == "ops"
        assert endpoint.paths[0] == "/hook/orders?v=1"

        endpoint.status = 400  # not retried: straight to the dead-letter queue
        events.put_events(Entries=[entry(name, detail={"total": 8})])
        (dead,) = drain_all(sqs, dlq_url, 1)
        assert json.loads(dead["Body"])["detail"] == {"total": 8}
        assert dead["MessageAttributes"]["RETRY_ATTEMPTS"]["StringValue"] == "0"
        assert len(endpoint.calls) == 2

        events.deauthorize_connection(Name=name)
        assert events.describe_connection(Name=name)["ConnectionState"] == "DEAUTHORIZED"
        with pytest.raises(ClientError) as raised:
            events.delete_connection(Name=name)  # the destination uses it
        assert error_code(raised) == "ValidationException"
        events.remove_targets(Rule="r", EventBusName=name, Ids=["hook"])
        events.delete_api_destination(Name=name)
        events.delete_connection(Name=name)
        assert events.list_connections(NamePrefix=name)["Connections"] == []


def test_a_rule_invokes_a_function_with_an_input_transformer(
    events: Any, aws: Callable[[str], Any], name: str
) -> None:
    sqs, lam = aws("sqs"), aws("lambda")
    done_url, done_arn = queue(sqs, f"{name}-done")
    create(lam, name)  # echoes its event: {"echo": event}
    lam.put_function_event_invoke_config(
        FunctionName=name, DestinationConfig={"OnSuccess": {"Destination": done_arn}}
    )
    events.create_event_bus(Name=name)
    events.put_rule(Name="r", EventBusName=name, EventPattern=json.dumps({"source": ["shop"]}))
    events.put_targets(
        Rule="r",
        EventBusName=name,
        Targets=[
            {
                "Id": "fn",
                "Arn": function_arn(name),
                "InputTransformer": {
                    "InputPathsMap": {"total": "$.detail.total", "id": "$.id"},
                    "InputTemplate": '{"order": {"total": <total>, "event": "<id>"}, '
                    '"rule": <aws.events.rule-arn>}',
                },
            }
        ],
    )
    event_id = events.put_events(Entries=[entry(name, detail={"total": 99})])["Entries"][0][
        "EventId"
    ]
    (message,) = drain(sqs, done_url, 1)
    record = json.loads(message["Body"])
    assert record["requestPayload"] == {
        "order": {"total": 99, "event": event_id},
        "rule": arn("events", f"rule/{name}/r"),
    }
    assert record["responsePayload"] == {"echo": record["requestPayload"]}


def test_bus_rule_and_target_metrics_carry_eventbridges_names(
    events: Any, aws: Callable[[str], Any], name: str, url: str
) -> None:
    sqs = aws("sqs")
    queue_url, queue_arn = queue(sqs, name)
    events.create_event_bus(Name=name)
    events.put_rule(Name="r", EventBusName=name, EventPattern=json.dumps({"source": ["shop"]}))
    events.put_targets(
        Rule="r",
        EventBusName=name,
        Targets=[
            {"Id": "q", "Arn": queue_arn},
            {"Id": "gone", "Arn": arn("sqs", f"{name}-missing")},
        ],
    )
    events.put_events(Entries=[entry(name) for _ in range(3)] + [entry(name, source="x")])
    drain(sqs, queue_url, 3)

    def failed_once() -> bool:
        seen = families(url)
        failed = "raybus_target_failed_invocations_total"
        labels = {"resource": name, "rule": "r", "endpoint": f"queue:{name}-missing"}
        try:
            return value(seen, failed, **labels) >= 1
        except AssertionError:
            return False

    wait_for(failed_once, 20)
    seen = families(url)
    assert value(seen, "raybus_bus_events_total", resource=name) == 4
    assert value(seen, "raybus_bus_matched_events_total", resource=name) == 3
    assert value(seen, "raybus_rule_triggered_rules_total", resource=name, rule="r") == 3
    ok = {"resource": name, "rule": "r", "endpoint": f"queue:{name}"}
    assert value(seen, "raybus_target_invocations_total", **ok) == 3
    assert value(seen, "raybus_target_delivered_events_total", **ok) == 3
    assert value(seen, "raybus_target_backlog_events", **ok) == 0
    latency = "raybus_bus_ingestion_to_invocation_start_latency_seconds_count"
    assert value(seen, latency, resource=name) == 6  # first attempts of both targets
