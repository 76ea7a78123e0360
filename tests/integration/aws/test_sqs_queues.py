"""SQS's queue actions through unmodified boto3: create, URLs, listing, attributes, tags,
permissions, purge, delete — and the errors boto3 users catch."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.integration.aws.conftest import ACCOUNT, REGION


def arn(name: str) -> str:
    return f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}"


def code(error: ClientError) -> str:
    return str(error.response["Error"]["Code"])


def test_a_queue_has_aws_url_form_and_create_is_idempotent(sqs: Any, name: str, url: str) -> None:
    created = sqs.create_queue(QueueName=name)["QueueUrl"]
    assert created == f"{url}/{ACCOUNT}/{name}"
    assert sqs.create_queue(QueueName=name)["QueueUrl"] == created
    assert sqs.get_queue_url(QueueName=name)["QueueUrl"] == created
    assert sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=ACCOUNT)["QueueUrl"] == created


def test_create_with_other_attributes_is_queue_name_exists(sqs: Any, name: str) -> None:
    sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "40"})
    # the same name with the same attributes (or none) answers the queue
    sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "40"})
    sqs.create_queue(QueueName=name)
    with pytest.raises(sqs.exceptions.QueueNameExists) as raised:
        sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "41"})
    assert code(raised.value) == "QueueAlreadyExists"


def test_a_missing_queue_raises_queue_does_not_exist_with_sqs_code(sqs: Any, name: str) -> None:
    with pytest.raises(sqs.exceptions.QueueDoesNotExist) as raised:
        sqs.get_queue_url(QueueName=name + "-missing")
    assert code(raised.value) == "AWS.SimpleQueueService.NonExistentQueue"
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    missing = sqs.create_queue(QueueName=name)["QueueUrl"] + "-missing"
    for call in (
        lambda: sqs.send_message(QueueUrl=missing, MessageBody="x"),
        lambda: sqs.receive_message(QueueUrl=missing),
        lambda: sqs.get_queue_attributes(QueueUrl=missing, AttributeNames=["All"]),
        lambda: sqs.delete_queue(QueueUrl=missing),
    ):
        with pytest.raises(sqs.exceptions.QueueDoesNotExist):
            call()
    other_account = f"http://127.0.0.1:1/123456789012/{name}"
    with pytest.raises(sqs.exceptions.QueueDoesNotExist):
        sqs.send_message(QueueUrl=other_account, MessageBody="x")


def test_list_queues_filters_by_prefix_and_pages_with_max_results(sqs: Any, name: str) -> None:
    urls = [sqs.create_queue(QueueName=f"{name}-{i}")["QueueUrl"] for i in range(5)]
    assert sqs.list_queues(QueueNamePrefix=name)["QueueUrls"] == sorted(urls)
    pages: list[str] = []
    token: dict[str, str] = {}
    for _ in range(10):
        page = sqs.list_queues(QueueNamePrefix=name, MaxResults=2, **token)
        pages += page["QueueUrls"]
        if "NextToken" not in page:
            break
        token = {"NextToken": page["NextToken"]}
    assert pages == sorted(urls)
    assert "QueueUrls" not in sqs.list_queues(QueueNamePrefix=name + "-none")
    paginated = sqs.get_paginator("list_queues").paginate(
        QueueNamePrefix=name, PaginationConfig={"PageSize": 3}
    )
    assert [u for page in paginated for u in page.get("QueueUrls", [])] == sorted(urls)


def test_every_attribute_is_reported_and_settable_ones_change(sqs: Any, name: str) -> None:
    queue = sqs.create_queue(QueueName=name)["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["All"])["Attributes"]
    assert attributes["QueueArn"] == arn(name)
    assert attributes["VisibilityTimeout"] == "30"
    assert attributes["MaximumMessageSize"] == "262144"
    assert attributes["MessageRetentionPeriod"] == "345600"
    assert attributes["DelaySeconds"] == "0"
    assert attributes["ReceiveMessageWaitTimeSeconds"] == "0"
    assert attributes["ApproximateNumberOfMessages"] == "0"
    assert attributes["SqsManagedSseEnabled"] == "true"
    assert int(attributes["CreatedTimestamp"]) > 1_600_000_000
    assert "FifoQueue" not in attributes
    sqs.set_queue_attributes(
        QueueUrl=queue,
        Attributes={
            "VisibilityTimeout": "120",
            "MaximumMessageSize": "1048576",
            "Policy": json.dumps({"Version": "2012-10-17", "Statement": []}),
            "KmsMasterKeyId": "alias/aws/sqs",
        },
    )
    got = sqs.get_queue_attributes(
        QueueUrl=queue,
        AttributeNames=["VisibilityTimeout", "MaximumMessageSize", "Policy", "KmsMasterKeyId",
                        "SqsManagedSseEnabled", "KmsDataKeyReusePeriodSeconds"],
    )["Attributes"]  # fmt: skip
    assert got == {
        "VisibilityTimeout": "120",
        "MaximumMessageSize": "1048576",
        "Policy": json.dumps({"Version": "2012-10-17", "Statement": []}),
        "KmsMasterKeyId": "alias/aws/sqs",
        "SqsManagedSseEnabled": "false",
        "KmsDataKeyReusePeriodSeconds": "300",
    }


@pytest.mark.parametrize(
    ("attributes", "expected"),
    [
        ({"VisibilityTimeout": "43201"}, "InvalidAttributeValue"),
        ({"VisibilityTimeout": "soon"}, "InvalidAttributeValue"),
        ({"MaximumMessageSize": "1048577"}, "InvalidAttributeValue"),
        ({"MessageRetentionPeriod": "59"}, "InvalidAttributeValue"),
        ({"RedrivePolicy": "{not json"}, "InvalidAttributeValue"),
        ({"RedrivePolicy": json.dumps({"maxReceiveCount": 3})}, "InvalidAttributeValue"),
        ({"Colour": "blue"}, "InvalidAttributeName"),
        ({"QueueArn": "arn:aws:sqs:us-east-1:000000000000:x"}, "InvalidAttributeName"),
    ],
)
def test_bad_attributes_are_refused_and_change_nothing(
    sqs: Any, name: str, attributes: dict[str, str], expected: str
) -> None:
    queue = sqs.create_queue(QueueName=name)["QueueUrl"]
    before = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["All"])["Attributes"]
    with pytest.raises(ClientError) as raised:
        sqs.set_queue_attributes(QueueUrl=queue, Attributes=attributes)
    assert code(raised.value) == expected
    with pytest.raises(ClientError) as raised:
        sqs.create_queue(QueueName=name + "-new", Attributes=attributes)
    assert code(raised.value) == expected
    after = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["All"])["Attributes"]
    assert after == before
    with pytest.raises(sqs.exceptions.QueueDoesNotExist):
        sqs.get_queue_url(QueueName=name + "-new")


def test_fifo_queues_need_the_suffix_and_report_their_attributes(sqs: Any, name: str) -> None:
    with pytest.raises(ClientError) as raised:
        sqs.create_queue(QueueName=name, Attributes={"FifoQueue": "true"})
    assert code(raised.value) == "InvalidParameterValue"
    with pytest.raises(ClientError) as raised:
        sqs.create_queue(QueueName=name + ".fifo")
    assert code(raised.value) == "InvalidParameterValue"
    queue = sqs.create_queue(
        QueueName=name + ".fifo",
        Attributes={
            "FifoQueue": "true",
            "ContentBasedDeduplication": "true",
            "DeduplicationScope": "messageGroup",
            "FifoThroughputLimit": "perMessageGroupId",
        },
    )["QueueUrl"]
    got = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["All"])["Attributes"]
    assert got["FifoQueue"] == "true"
    assert got["ContentBasedDeduplication"] == "true"
    assert got["DeduplicationScope"] == "messageGroup"
    assert got["FifoThroughputLimit"] == "perMessageGroupId"
    with pytest.raises(ClientError) as raised:
        sqs.set_queue_attributes(QueueUrl=queue, Attributes={"FifoQueue": "false"})
    assert code(raised.value) == "InvalidAttributeName"


def test_redrive_policies_round_trip_as_json_with_arns(sqs: Any, name: str) -> None:
    dlq = sqs.create_queue(QueueName=name + "-dlq")["QueueUrl"]
    policy = {"deadLetterTargetArn": arn(name + "-dlq"), "maxReceiveCount": 4}
    queue = sqs.create_queue(QueueName=name, Attributes={"RedrivePolicy": json.dumps(policy)})[
        "QueueUrl"
    ]
    allow = {"redrivePermission": "byQueue", "sourceQueueArns": [arn(name)]}
    sqs.set_queue_attributes(QueueUrl=dlq, Attributes={"RedriveAllowPolicy": json.dumps(allow)})
    got = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["RedrivePolicy"])
    assert json.loads(got["Attributes"]["RedrivePolicy"]) == policy
    got = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["RedriveAllowPolicy"])
    assert json.loads(got["Attributes"]["RedriveAllowPolicy"]) == allow
    sources = sqs.list_dead_letter_source_queues(QueueUrl=dlq)["queueUrls"]
    assert sources == [queue]
    sqs.set_queue_attributes(QueueUrl=queue, Attributes={"RedrivePolicy": ""})
    assert sqs.list_dead_letter_source_queues(QueueUrl=dlq)["queueUrls"] == []


def test_tags_are_set_listed_and_removed(sqs: Any, name: str) -> None:
    queue = sqs.create_queue(QueueName=name, tags={"team": "ops"})["QueueUrl"]
    assert sqs.list_queue_tags(QueueUrl=queue)["Tags"] == {"team": "ops"}
    sqs.tag_queue(QueueUrl=queue, Tags={"env": "ci", "team": "dev"})
    assert sqs.list_queue_tags(QueueUrl=queue)["Tags"] == {"team": "dev", "env": "ci"}
    sqs.untag_queue(QueueUrl=queue, TagKeys=["team", "absent"])
    assert sqs.list_queue_tags(QueueUrl=queue)["Tags"] == {"env": "ci"}
    sqs.untag_queue(QueueUrl=queue, TagKeys=["env"])
    assert "Tags" not in sqs.list_queue_tags(QueueUrl=queue)
    with pytest.raises(ClientError) as raised:
        sqs.tag_queue(QueueUrl=queue, Tags={"aws:owner": "me"})
    assert code(raised.value) == "InvalidParameterValue"


def test_permissions_are_kept_in_the_queue_policy(sqs: Any, name: str) -> None:
    queue = sqs.create_queue(QueueName=name)["QueueUrl"]
    sqs.add_permission(
        QueueUrl=queue, Label="readers", AWSAccountIds=["111122223333"],
        Actions=["ReceiveMessage", "DeleteMessage"],
    )  # fmt: skip
    policy = json.loads(
        sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["Policy"])["Attributes"]["Policy"]
    )
    (statement,) = policy["Statement"]
    assert statement["Sid"] == "readers"
    assert statement["Action"] == ["SQS:ReceiveMessage", "SQS:DeleteMessage"]
    assert statement["Resource"] == arn(name)
    with pytest.raises(ClientError):
        sqs.add_permission(
            QueueUrl=queue, Label="readers", AWSAccountIds=["1"], Actions=["SendMessage"]
        )
    sqs.remove_permission(QueueUrl=queue, Label="readers")
    attributes = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["Policy"])
    assert "Policy" not in attributes.get("Attributes", {})


def test_purge_empties_the_queue_once_a_minute(sqs: Any, name: str) -> None:
    queue = sqs.create_queue(QueueName=name)["QueueUrl"]
    for i in range(3):
        sqs.send_message(QueueUrl=queue, MessageBody=f"m{i}")
    sqs.purge_queue(QueueUrl=queue)
    assert sqs.receive_message(QueueUrl=queue).get("Messages", []) == []
    with pytest.raises(sqs.exceptions.PurgeQueueInProgress) as raised:
        sqs.purge_queue(QueueUrl=queue)
    assert code(raised.value) == "AWS.SimpleQueueService.PurgeQueueInProgress"


def test_a_deleted_queue_is_gone(sqs: Any, name: str) -> None:
    queue = sqs.create_queue(QueueName=name)["QueueUrl"]
    sqs.delete_queue(QueueUrl=queue)
    with pytest.raises(sqs.exceptions.QueueDoesNotExist):
        sqs.get_queue_url(QueueName=name)
