"""Lambda's event-source mappings and SNS subscriptions through unmodified boto3: a zipped
handler fed by an SQS mapping dead-letters a poison message through the queue's redrive
policy; SNS invokes a subscribed function asynchronously, with Lambda's retries and an
on-failure destination; the mapping actions, their members and their errors."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest

from raybus.sdk import Client
from tests.integration.aws.conftest import ACCOUNT, REGION
from tests.integration.aws.test_lambda_functions import create, function_arn, status
from tests.integration.test_semantics import wait_for

FORWARDS = """
import os
import boto3

sqs = boto3.client("sqs")

def handler(event, context):
    for record in event["Records"]:
        if record["body"] == "poison":
            raise ValueError("cannot digest " + record["messageId"])
        sqs.send_message(QueueUrl=os.environ["OUT"], MessageBody=record["body"])
"""
RECORDS_SNS = """
import os
import boto3

sqs = boto3.client("sqs")

def handler(event, context):
    message = event["Records"][0]["Sns"]["Message"]
    sqs.send_message(QueueUrl=os.environ["ATTEMPTS"], MessageBody=message)
    if message == "fail":
        raise RuntimeError("cannot process " + message)
    return "done"
"""


@pytest.fixture
def lam(aws: Any) -> Any:
    return aws("lambda")


@pytest.fixture
def sns(aws: Any) -> Any:
    return aws("sns")


@pytest.fixture
def fn(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "-", name)[:60]


def queue_arn(name: str) -> str:
    return f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}"


def bodies(sqs: Any, url: str, expected: int) -> list[str]:
    """Receive and delete until ``expected`` messages arrived (bounded)."""
    got: list[str] = []

    def more() -> bool:
        for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get(
            "Messages", []
        ):
            got.append(message["Body"])
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        return len(got) >= expected

    wait_for(more, 30)
    return got


def until(step: Callable[[], bool], client: Client, seconds: float, rounds: int = 10) -> None:
    """Advance the test clock by ``seconds`` until ``step()`` holds (bounded)."""
    for _ in range(rounds):
        if step():
            return
        client.advance_clock(seconds)
    raise AssertionError(f"not done after {rounds} advances of {seconds} s")


def test_a_zipped_handler_fed_by_sqs_dead_letters_a_poison_message(
    lam: Any, sqs: Any, client: Client, fn: str
) -> None:
    dlq = sqs.create_queue(QueueName=fn + "-dlq")["QueueUrl"]
    out = sqs.create_queue(QueueName=fn + "-out")["QueueUrl"]
    redrive = {"deadLetterTargetArn": queue_arn(fn + "-dlq"), "maxReceiveCount": "2"}
    source = sqs.create_queue(
        QueueName=fn + "-src",
        Attributes={"VisibilityTimeout": "30", "RedrivePolicy": json.dumps(redrive)},
    )["QueueUrl"]
    create(lam, fn, FORWARDS, Environment={"Variables": {"OUT": out}})
    mapping = lam.create_event_source_mapping(
        EventSourceArn=queue_arn(fn + "-src"), FunctionName=fn, BatchSize=1
    )
    for body in ("first", "poison", "second"):
        sqs.send_message(QueueUrl=source, MessageBody=body)
    assert sorted(bodies(sqs, out, 2)) == ["first", "second"]
    dead: list[dict[str, Any]] = []

    def dead_lettered() -> bool:
        dead.extend(sqs.receive_message(QueueUrl=dlq, AttributeNames=["All"]).get("Messages", []))
        return bool(dead)

    until(dead_lettered, client, 31)  # each failure returns after the visibility timeout
    (message,) = dead
    assert message["Body"] == "poison"
    assert message["Attributes"].get("DeadLetterQueueSourceArn") == queue_arn(fn + "-src")
    assert lam.get_event_source_mapping(UUID=mapping["UUID"])["State"] == "Enabled"
    lam.delete_event_source_mapping(UUID=mapping["UUID"])


def test_sns_invokes_a_subscribed_function_with_retries_then_its_on_failure_destination(
    lam: Any, sns: Any, sqs: Any, client: Client, fn: str
) -> None:
    attempts = sqs.create_queue(QueueName=fn + "-attempts")["QueueUrl"]
    failures = sqs.create_queue(QueueName=fn + "-failures")["QueueUrl"]
    create(lam, fn, RECORDS_SNS, Environment={"Variables": {"ATTEMPTS": attempts}})
    topic = sns.create_topic(Name=fn)["TopicArn"]
    lam.add_permission(  # what tools do first on AWS: stored, not enforced
        FunctionName=fn,
        StatementId="sns",
        Action="lambda:InvokeFunction",
        Principal="sns.amazonaws.com",
        SourceArn=topic,
    )
    sns.subscribe(TopicArn=topic, Protocol="lambda", Endpoint=function_arn(fn))
    lam.put_function_event_invoke_config(
        FunctionName=fn,
        MaximumRetryAttempts=1,
        DestinationConfig={"OnFailure": {"Destination": queue_arn(fn + "-failures")}},
    )
    sns.publish(TopicArn=topic, Message="fine")
    assert bodies(sqs, attempts, 1) == ["fine"]
    sns.publish(TopicArn=topic, Message="fail")
    assert bodies(sqs, attempts, 1) == ["fail"]
    client.advance_clock(60)  # Lambda retries an asynchronous invocation after a minute
    assert bodies(sqs, attempts, 1) == ["fail"]
    (record,) = [json.loads(body) for body in bodies(sqs, failures, 1)]
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 2
    assert record["requestContext"]["functionArn"] == function_arn(fn) + ":$LATEST"
    assert record["requestPayload"]["Records"][0]["Sns"]["Message"] == "fail"
    assert record["requestPayload"]["Records"][0]["Sns"]["TopicArn"] == topic
    assert record["responseContext"]["functionError"] == "Unhandled"
    assert record["responsePayload"]["errorType"] == "RuntimeError"


def test_a_mapping_answers_lambdas_members_through_its_life(lam: Any, sqs: Any, fn: str) -> None:
    sqs.create_queue(QueueName=fn + "-src")
    create(lam, fn)
    created = lam.create_event_source_mapping(
        EventSourceArn=queue_arn(fn + "-src"),
        FunctionName=fn,
        BatchSize=50,
        MaximumBatchingWindowInSeconds=2,
        ScalingConfig={"MaximumConcurrency": 4},
        FunctionResponseTypes=["ReportBatchItemFailures"],
        FilterCriteria={"Filters": [{"Pattern": '{"body": {"kind": ["order"]}}'}]},
    )
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 202
    uuid = created["UUID"]
    assert created["State"] == "Creating"
    assert created["EventSourceArn"] == queue_arn(fn + "-src")
    assert created["FunctionArn"] == function_arn(fn)
    assert (created["BatchSize"], created["MaximumBatchingWindowInSeconds"]) == (50, 2)
    assert created["ScalingConfig"] == {"MaximumConcurrency": 4}
    assert created["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert created["FilterCriteria"] == {"Filters": [{"Pattern": '{"body": {"kind": ["order"]}}'}]}
    assert created["EventSourceMappingArn"] == (
        f"arn:aws:lambda:{REGION}:{ACCOUNT}:event-source-mapping:{uuid}"
    )
    got = lam.get_event_source_mapping(UUID=uuid)
    assert got["State"] == "Enabled" and got["StateTransitionReason"] == "USER_INITIATED"
    updated = lam.update_event_source_mapping(UUID=uuid, BatchSize=5, Enabled=False)
    assert (updated["State"], updated["BatchSize"]) == ("Updating", 5)
    assert lam.get_event_source_mapping(UUID=uuid)["State"] == "Disabled"
    by_function = lam.list_event_source_mappings(FunctionName=fn)["EventSourceMappings"]
    by_source = lam.list_event_source_mappings(EventSourceArn=queue_arn(fn + "-src"))
    assert [m["UUID"] for m in by_function] == [uuid]
    assert [m["UUID"] for m in by_source["EventSourceMappings"]] == [uuid]
    deleted = lam.delete_event_source_mapping(UUID=uuid)
    assert deleted["State"] == "Deleting"
    with pytest.raises(lam.exceptions.ResourceNotFoundException) as raised:
        lam.get_event_source_mapping(UUID=uuid)
    assert status(raised.value) == 404
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.delete_event_source_mapping(UUID=uuid)


def test_a_mapping_can_feed_another_function(lam: Any, sqs: Any, fn: str) -> None:
    sqs.create_queue(QueueName=fn + "-src")
    create(lam, fn)
    create(lam, fn + "-b")
    uuid = lam.create_event_source_mapping(EventSourceArn=queue_arn(fn + "-src"), FunctionName=fn)[
        "UUID"
    ]
    lam.update_event_source_mapping(UUID=uuid, FunctionName=fn + "-b")
    assert lam.get_event_source_mapping(UUID=uuid)["FunctionArn"] == function_arn(fn + "-b")
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.update_event_source_mapping(UUID=uuid, FunctionName=fn + "-missing")
    lam.delete_event_source_mapping(UUID=uuid)


def test_a_second_mapping_of_the_same_queue_and_function_is_a_conflict(
    lam: Any, sqs: Any, fn: str
) -> None:
    sqs.create_queue(QueueName=fn + "-src")
    create(lam, fn)
    first = lam.create_event_source_mapping(EventSourceArn=queue_arn(fn + "-src"), FunctionName=fn)
    for batch in (10, 20):  # the same settings, or others: Lambda's create is not idempotent
        with pytest.raises(lam.exceptions.ResourceConflictException) as raised:
            lam.create_event_source_mapping(
                EventSourceArn=queue_arn(fn + "-src"),
                FunctionName=fn,
                BatchSize=batch,
                MaximumBatchingWindowInSeconds=1,
            )
        assert first["UUID"] in raised.value.response["Error"]["Message"]
    assert len(lam.list_event_source_mappings(FunctionName=fn)["EventSourceMappings"]) == 1
    lam.delete_event_source_mapping(UUID=first["UUID"])


@pytest.mark.parametrize(
    ("settings", "error", "message"),
    [
        ({"FunctionName": "no-such-function"}, "ResourceNotFoundException", "Function not found"),
        ({"EventSourceArn": queue_arn("no-such-queue")}, "InvalidParameterValueException",
         "does not exist"),
        ({"EventSourceArn": f"arn:aws:sns:{REGION}:{ACCOUNT}:topic"},
         "InvalidParameterValueException", "Protocol lambda"),
        ({"EventSourceArn": f"arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/s"},
         "InvalidParameterValueException", "sqs"),
        ({"StartingPosition": "LATEST"}, "InvalidParameterValueException",
         "Unsupported StartingPosition parameter"),
        ({"BatchSize": 11}, "InvalidParameterValueException", "batching_window_s"),
        ({"FilterCriteria": {"Filters": [{"Pattern": '{"body": 7}'}]}},
         "InvalidParameterValueException", "filter"),
    ],
    ids=["missing function", "missing queue", "topic", "stream", "stream setting",
         "batch without window", "bad filter"],
)  # fmt: skip
def test_an_invalid_mapping_is_refused_and_creates_nothing(
    lam: Any, sqs: Any, fn: str, settings: dict[str, Any], error: str, message: str
) -> None:
    sqs.create_queue(QueueName=fn + "-src")
    create(lam, fn)
    request = {"EventSourceArn": queue_arn(fn + "-src"), "FunctionName": fn, **settings}
    with pytest.raises(getattr(lam.exceptions, error)) as raised:
        lam.create_event_source_mapping(**request)
    assert message.lower() in raised.value.response["Error"]["Message"].lower()
    assert lam.list_event_source_mappings(FunctionName=fn)["EventSourceMappings"] == []


def test_a_fifo_queue_takes_batches_of_ten_at_most(lam: Any, sqs: Any, fn: str) -> None:
    sqs.create_queue(QueueName=fn + ".fifo", Attributes={"FifoQueue": "true"})
    create(lam, fn)
    with pytest.raises(lam.exceptions.InvalidParameterValueException):
        lam.create_event_source_mapping(
            EventSourceArn=queue_arn(fn + ".fifo"),
            FunctionName=fn,
            BatchSize=20,
            MaximumBatchingWindowInSeconds=1,
        )
    mapping = lam.create_event_source_mapping(
        EventSourceArn=queue_arn(fn + ".fifo"), FunctionName=fn, BatchSize=10
    )
    lam.delete_event_source_mapping(UUID=mapping["UUID"])


def test_mappings_page_with_max_items_and_marker(lam: Any, sqs: Any, fn: str) -> None:
    create(lam, fn)
    uuids = set()
    for index in range(3):
        sqs.create_queue(QueueName=f"{fn}-{index}")
        uuids.add(
            lam.create_event_source_mapping(
                EventSourceArn=queue_arn(f"{fn}-{index}"), FunctionName=fn
            )["UUID"]
        )
    first = lam.list_event_source_mappings(FunctionName=fn, MaxItems=2)
    rest = lam.list_event_source_mappings(FunctionName=fn, Marker=first["NextMarker"])
    assert len(first["EventSourceMappings"]) == 2 and "NextMarker" not in rest
    seen = [m["UUID"] for m in first["EventSourceMappings"] + rest["EventSourceMappings"]]
    assert sorted(seen) == sorted(uuids)
    for uuid in uuids:
        lam.delete_event_source_mapping(UUID=uuid)
