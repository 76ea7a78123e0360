"""SNS over its query protocol with unmodified boto3: topics and attributes, fan-out to SQS
queues with a filter policy, raw delivery, publish batches with per-entry failures, FIFO topics
into FIFO queues, HTTP subscriptions confirmed as SNS confirms them, and SNS's errors."""

from __future__ import annotations

import asyncio
import json
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.integration.aws.conftest import ACCOUNT, REGION
from tests.integration.endpoints import Endpoint
from tests.integration.test_semantics import wait_for


@pytest.fixture
def sns(aws: Callable[[str], Any]) -> Any:
    return aws("sns")


def topic_arn(name: str) -> str:
    return f"arn:aws:sns:{REGION}:{ACCOUNT}:{name}"


def queue_arn(name: str) -> str:
    return f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}"


def error_code(raised: pytest.ExceptionInfo[ClientError]) -> str:
    return str(raised.value.response["Error"]["Code"])


def drain(sqs: Any, queue_url: str, expected: int) -> list[dict[str, Any]]:
    """Receive and delete until ``expected`` messages came (bounded by ``wait_for``)."""
    got: list[dict[str, Any]] = []

    def more() -> bool:
        answer = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        for message in answer.get("Messages", []):
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
            got.append(message)
        return len(got) >= expected

    wait_for(more, 20)
    return got


# -- topics -----------------------------------------------------------------------------------
def test_a_topic_is_created_described_tagged_listed_and_deleted(sns: Any, name: str) -> None:
    arn = sns.create_topic(
        Name=name, Attributes={"DisplayName": "alerts"}, Tags=[{"Key": "team", "Value": "ops"}]
    )["TopicArn"]
    assert arn == topic_arn(name)
    assert sns.create_topic(Name=name, Attributes={"DisplayName": "alerts"})["TopicArn"] == arn
    attributes = sns.get_topic_attributes(TopicArn=arn)["Attributes"]
    assert attributes["TopicArn"] == arn
    assert attributes["DisplayName"] == "alerts"
    assert attributes["Owner"] == ACCOUNT
    assert attributes["SubscriptionsConfirmed"] == "0"
    assert json.loads(attributes["Policy"])["Statement"]
    sns.set_topic_attributes(TopicArn=arn, AttributeName="DisplayName", AttributeValue="pager")
    assert sns.get_topic_attributes(TopicArn=arn)["Attributes"]["DisplayName"] == "pager"
    assert sns.list_tags_for_resource(ResourceArn=arn)["Tags"] == [{"Key": "team", "Value": "ops"}]
    sns.untag_resource(ResourceArn=arn, TagKeys=["team"])
    assert sns.list_tags_for_resource(ResourceArn=arn)["Tags"] == []
    listed = [t["TopicArn"] for t in sns.get_paginator("list_topics").paginate().build_full_result()
              ["Topics"]]  # fmt: skip
    assert arn in listed
    sns.delete_topic(TopicArn=arn)
    with pytest.raises(ClientError) as raised:
        sns.get_topic_attributes(TopicArn=arn)
    assert error_code(raised) == "NotFound"
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_bad_topic_requests_get_sns_errors_and_change_nothing(sns: Any, name: str) -> None:
    with pytest.raises(ClientError) as raised:
        sns.get_topic_attributes(TopicArn="not-an-arn")
    assert error_code(raised) == "InvalidParameter"
    with pytest.raises(ClientError) as raised:
        sns.create_topic(Name="bad name!")
    assert error_code(raised) == "InvalidParameter"
    with pytest.raises(ClientError) as raised:
        sns.create_topic(Name=name, Attributes={"NoSuchAttribute": "1"})
    assert error_code(raised) == "InvalidParameter"
    arns = [t["TopicArn"] for t in sns.list_topics()["Topics"]]
    assert topic_arn(name) not in arns
    with pytest.raises(ClientError) as raised:
        sns.publish(TopicArn=topic_arn(name), Message="to nowhere")
    assert error_code(raised) == "NotFound"


# -- fan-out to queues ----------------------------------------------------------------------------
def test_fan_out_to_queues_honours_the_filter_policy_and_raw_delivery(
    sns: Any, sqs: Any, name: str
) -> None:
    arn = sns.create_topic(Name=name)["TopicArn"]
    urls = {k: sqs.create_queue(QueueName=f"{name}-{k}")["QueueUrl"] for k in ("all", "red", "raw")}
    sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=queue_arn(f"{name}-all"))
    red = sns.subscribe(
        TopicArn=arn,
        Protocol="sqs",
        Endpoint=queue_arn(f"{name}-red"),
        Attributes={"FilterPolicy": json.dumps({"colour": ["red"]})},
        ReturnSubscriptionArn=True,
    )["SubscriptionArn"]
    sns.subscribe(
        TopicArn=arn,
        Protocol="sqs",
        Endpoint=queue_arn(f"{name}-raw"),
        Attributes={"RawMessageDelivery": "true"},
    )
    filter_policy = sns.get_subscription_attributes(SubscriptionArn=red)["Attributes"]
    assert json.loads(filter_policy["FilterPolicy"]) == {"colour": ["red"]}
    for colour in ("red", "blue"):
        sns.publish(
            TopicArn=arn,
            Message=f"a {colour} one",
            Subject="colours",
            MessageAttributes={"colour": {"DataType": "String", "StringValue": colour}},
        )
    everything = drain(sqs, urls["all"], 2)
    envelopes = sorted((json.loads(m["Body"]) for m in everything), key=lambda e: e["Message"])
    assert [e["Message"] for e in envelopes] == ["a blue one", "a red one"]
    assert all(e["Type"] == "Notification" and e["TopicArn"] == arn for e in envelopes)
    assert envelopes[0]["Subject"] == "colours"
    assert envelopes[1]["MessageAttributes"]["colour"] == {"Type": "String", "Value": "red"}
    (only_red,) = drain(sqs, urls["red"], 1)
    assert json.loads(only_red["Body"])["Message"] == "a red one"
    raw = drain(sqs, urls["raw"], 2)
    assert sorted(m["Body"] for m in raw) == ["a blue one", "a red one"]
    subscriptions = sns.list_subscriptions_by_topic(TopicArn=arn)["Subscriptions"]
    assert sorted(s["Endpoint"] for s in subscriptions) == sorted(
        queue_arn(f"{name}-{k}") for k in ("all", "red", "raw")
    )
    assert {s["Protocol"] for s in subscriptions} == {"sqs"}
    sns.unsubscribe(SubscriptionArn=red)
    assert len(sns.list_subscriptions_by_topic(TopicArn=arn)["Subscriptions"]) == 2


def test_publish_batch_answers_each_entry(sns: Any, sqs: Any, name: str) -> None:
    arn = sns.create_topic(Name=name)["TopicArn"]
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    sns.subscribe(
        TopicArn=arn,
        Protocol="sqs",
        Endpoint=queue_arn(name),
        Attributes={"RawMessageDelivery": "true"},
    )
    answer = sns.publish_batch(
        TopicArn=arn,
        PublishBatchRequestEntries=[
            {"Id": "one", "Message": "first"},
            {"Id": "bad", "Message": "x", "MessageAttributes": {"n": {"DataType": "Number",
                                                                      "StringValue": "ten"}}},
            {"Id": "two", "Message": "second"},
        ],
    )  # fmt: skip
    assert sorted(s["Id"] for s in answer["Successful"]) == ["one", "two"]
    assert all(s["MessageId"] for s in answer["Successful"])
    (failed,) = answer["Failed"]
    assert failed["Id"] == "bad" and failed["SenderFault"] is True
    assert sorted(m["Body"] for m in drain(sqs, url, 2)) == ["first", "second"]
    with pytest.raises(ClientError) as raised:
        sns.publish_batch(
            TopicArn=arn,
            PublishBatchRequestEntries=[{"Id": "same", "Message": "a"},
                                        {"Id": "same", "Message": "b"}],
        )  # fmt: skip
    assert error_code(raised) == "BatchEntryIdsNotDistinct"


def test_a_fifo_topic_delivers_each_group_in_order_into_a_fifo_queue(
    sns: Any, sqs: Any, name: str
) -> None:
    arn = sns.create_topic(
        Name=name + ".fifo",
        Attributes={"FifoTopic": "true", "ContentBasedDeduplication": "true"},
    )["TopicArn"]
    url = sqs.create_queue(QueueName=name + ".fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    sns.subscribe(
        TopicArn=arn,
        Protocol="sqs",
        Endpoint=queue_arn(name + ".fifo"),
        Attributes={"RawMessageDelivery": "true"},
    )
    with pytest.raises(ClientError) as raised:
        sns.publish(TopicArn=arn, Message="no group")
    assert error_code(raised) == "InvalidParameter"
    first = sns.publish(TopicArn=arn, Message="m0", MessageGroupId="g")
    assert first["SequenceNumber"]
    for i in range(1, 5):
        sns.publish(TopicArn=arn, Message=f"m{i}", MessageGroupId="g")
    sns.publish(TopicArn=arn, Message="m0", MessageGroupId="g")  # a duplicate by content
    got = drain(sqs, url, 5)
    assert [m["Body"] for m in got] == [f"m{i}" for i in range(5)]
    assert sqs.receive_message(QueueUrl=url).get("Messages", []) == []


# -- HTTP endpoints, confirmed ------------------------------------------------------------------
async def confirm(headers: dict[str, str], text: str) -> int:
    """Answer as an SNS endpoint does: a confirmation request is confirmed by fetching its
    ``SubscribeURL`` (unsigned, like a browser or curl)."""
    body = json.loads(text)
    if body["Type"] == "SubscriptionConfirmation":
        url = body["SubscribeURL"]
        await asyncio.to_thread(lambda: urllib.request.urlopen(url, timeout=10).read())
    return 200


@pytest.fixture
def confirming() -> Iterator[Endpoint]:
    with Endpoint(confirm) as server:
        yield server


@pytest.fixture
def silent() -> Iterator[Endpoint]:
    with Endpoint() as server:
        yield server


def test_an_http_endpoint_confirms_through_the_subscribe_url_then_gets_notifications(
    sns: Any, name: str, confirming: Endpoint
) -> None:
    arn = sns.create_topic(Name=name)["TopicArn"]
    answer = sns.subscribe(TopicArn=arn, Protocol="http", Endpoint=confirming.url)
    assert answer["SubscriptionArn"] == "pending confirmation"

    def confirmed() -> bool:
        subscriptions = sns.list_subscriptions_by_topic(TopicArn=arn)["Subscriptions"]
        return [s["SubscriptionArn"] for s in subscriptions] != ["PendingConfirmation"]

    wait_for(confirmed, 20)
    (request,) = confirming.messages("SubscriptionConfirmation")
    assert request["TopicArn"] == arn and len(request["Token"]) == 128
    published = sns.publish(TopicArn=arn, Message="hello", Subject="greeting")
    wait_for(lambda: len(confirming.messages("Notification")) == 1, 20)
    (notification,) = confirming.messages("Notification")
    assert notification["MessageId"] == published["MessageId"]
    assert notification["Message"] == "hello" and notification["Subject"] == "greeting"


def test_an_unconfirmed_http_subscription_gets_nothing_until_confirmed_by_token(
    sns: Any, sqs: Any, name: str, silent: Endpoint
) -> None:
    arn = sns.create_topic(Name=name)["TopicArn"]
    # a queue subscription published through proves delivery ran while the endpoint waited
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=queue_arn(name),
                  Attributes={"RawMessageDelivery": "true"})  # fmt: skip
    sns.subscribe(TopicArn=arn, Protocol="http", Endpoint=silent.url)
    wait_for(lambda: len(silent.messages("SubscriptionConfirmation")) == 1, 20)
    attributes = sns.get_topic_attributes(TopicArn=arn)["Attributes"]
    assert attributes["SubscriptionsPending"] == "1"
    sns.publish(TopicArn=arn, Message="before")
    assert [m["Body"] for m in drain(sqs, url, 1)] == ["before"]
    assert silent.messages("Notification") == []
    with pytest.raises(ClientError) as raised:
        sns.confirm_subscription(TopicArn=arn, Token="0" * 128)
    assert error_code(raised) == "InvalidParameter"
    (request,) = silent.messages("SubscriptionConfirmation")
    confirmed = sns.confirm_subscription(TopicArn=arn, Token=request["Token"])
    assert confirmed["SubscriptionArn"].startswith(arn + ":")
    sns.publish(TopicArn=arn, Message="after")
    wait_for(lambda: len(silent.messages("Notification")) == 1, 20)
    assert silent.messages("Notification")[0]["Message"] == "after"


def test_message_structure_json_gives_each_protocol_its_own_message(
    sns: Any, sqs: Any, name: str, silent: Endpoint
) -> None:
    arn = sns.create_topic(Name=name)["TopicArn"]
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=queue_arn(name))
    sns.subscribe(TopicArn=arn, Protocol="http", Endpoint=silent.url)
    wait_for(lambda: len(silent.messages("SubscriptionConfirmation")) == 1, 20)
    (request,) = silent.messages("SubscriptionConfirmation")
    sns.confirm_subscription(TopicArn=arn, Token=request["Token"])
    message = json.dumps({"default": "for everyone", "sqs": "for queues", "email": "ignored"})
    sns.publish(TopicArn=arn, Message=message, MessageStructure="json")
    (queued,) = drain(sqs, url, 1)
    assert json.loads(queued["Body"])["Message"] == "for queues"
    wait_for(lambda: len(silent.messages("Notification")) == 1, 20)
    assert silent.messages("Notification")[0]["Message"] == "for everyone"
    for bad, words in (
        ("not json", "JSON message body failed to parse"),
        (json.dumps({"sqs": "no default"}), "No default entry in JSON message body"),
    ):
        with pytest.raises(ClientError) as raised:
            sns.publish(TopicArn=arn, Message=bad, MessageStructure="json")
        assert error_code(raised) == "InvalidParameter"
        assert words in raised.value.response["Error"]["Message"]
    assert sqs.receive_message(QueueUrl=url).get("Messages", []) == []  # nothing published
