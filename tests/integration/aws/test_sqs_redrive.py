"""Dead-letter queues and message move tasks through unmodified boto3."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from raybus.sdk import Client
from tests.integration.aws.conftest import ACCOUNT, REGION


def arn(name: str) -> str:
    return f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}"


def dead_lettered(sqs: Any, client: Client, name: str, count: int) -> tuple[str, str]:
    """A source queue whose ``count`` messages were received once and expired into its DLQ."""
    dlq = sqs.create_queue(QueueName=name + "-dlq")["QueueUrl"]
    policy = {"deadLetterTargetArn": arn(name + "-dlq"), "maxReceiveCount": 1}
    source = sqs.create_queue(
        QueueName=name,
        Attributes={"RedrivePolicy": json.dumps(policy), "VisibilityTimeout": "10"},
    )["QueueUrl"]
    for i in range(count):
        sqs.send_message(QueueUrl=source, MessageBody=f"poison {i}")
    received = 0
    for _ in range(count):
        received += len(sqs.receive_message(QueueUrl=source, MaxNumberOfMessages=10)
                        .get("Messages", []))  # fmt: skip
        if received >= count:
            break
    assert received == count
    client.advance_clock(11)
    # a receive moves the over-received messages it meets; the queue's partitions are met in
    # turn, so receive until every message has moved (bounded)
    for _ in range(50):
        assert (
            sqs.receive_message(QueueUrl=source, MaxNumberOfMessages=10).get("Messages", []) == []
        )
        moved = sqs.get_queue_attributes(
            QueueUrl=dlq, AttributeNames=["ApproximateNumberOfMessages"]
        )
        if int(moved["Attributes"]["ApproximateNumberOfMessages"]) == count:
            break
    else:
        raise AssertionError("the dead letters did not all move")
    return source, dlq


def test_an_exhausted_message_moves_to_the_dead_letter_queue_with_its_source(
    sqs: Any, client: Client, name: str
) -> None:
    _, dlq = dead_lettered(sqs, client, name, 1)
    (message,) = sqs.receive_message(QueueUrl=dlq, AttributeNames=["All"])["Messages"]
    assert message["Body"] == "poison 0"
    assert message["Attributes"]["DeadLetterQueueSourceArn"] == arn(name)


def test_a_move_task_redrives_the_dead_letters_and_is_listed(
    sqs: Any, client: Client, name: str
) -> None:
    source, _ = dead_lettered(sqs, client, name, 3)
    handle = sqs.start_message_move_task(SourceArn=arn(name + "-dlq"))["TaskHandle"]
    tasks: list[dict[str, Any]] = []
    for _ in range(200):  # bounded: the task moves 3 messages
        tasks = sqs.list_message_move_tasks(SourceArn=arn(name + "-dlq"), MaxResults=10)["Results"]
        if tasks and tasks[0]["Status"] == "COMPLETED":
            break
        client.advance_clock(1)
    (task,) = tasks
    assert task["TaskHandle"] == handle
    assert task["Status"] == "COMPLETED"
    assert task["SourceArn"] == arn(name + "-dlq")
    assert task["ApproximateNumberOfMessagesMoved"] == 3
    bodies = sorted(
        m["Body"] for m in sqs.receive_message(QueueUrl=source, MaxNumberOfMessages=10)["Messages"]
    )
    assert bodies == ["poison 0", "poison 1", "poison 2"]


def test_move_task_errors_are_aws_errors(sqs: Any, name: str) -> None:
    sqs.create_queue(QueueName=name)
    with pytest.raises(ClientError) as raised:
        sqs.cancel_message_move_task(TaskHandle="no-such-task")
    assert raised.value.response["Error"]["Code"] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as raised:
        sqs.start_message_move_task(SourceArn="arn:aws:sqs:eu-west-1:111122223333:elsewhere")
    assert raised.value.response["Error"]["Code"] == "InvalidParameterValue"
