"""SQS in the query protocol, as clients older than botocore 1.34.90 speak it: boto3 itself,
given the SQS model botocore shipped before SQS moved to JSON (the copy vendored under
``raybus/gateway/aws/protocols/data``), so every request is a form ``POST`` with ``Action``
and every answer XML; and a form posted to the queue's URL, as older SDKs address a queue."""

from __future__ import annotations

import gzip
import hashlib
import urllib.parse
import urllib.request
from importlib import resources
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import boto3
import botocore.session
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from tests.integration.aws.conftest import REGION
from tests.integration.conftest import AWS_ACCESS_KEY, AWS_SECRET_KEY

MODEL = "sqs-query-2012-11-05.json.gz"


@pytest.fixture(scope="module")
def legacy_sqs(url: str, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A boto3 SQS client that speaks the query protocol (the pre-1.34.90 model)."""
    data = resources.files("raybus.gateway.aws.protocols").joinpath("data", MODEL).read_bytes()
    models = tmp_path_factory.mktemp("models")
    target = models / "sqs" / "2012-11-05"
    target.mkdir(parents=True)
    (target / "service-2.json").write_bytes(gzip.decompress(data))
    core = botocore.session.get_session()
    core.get_component("data_loader").search_paths.insert(0, str(models))
    session = boto3.session.Session(
        aws_access_key_id=AWS_ACCESS_KEY,
        aws_secret_access_key=AWS_SECRET_KEY,
        region_name=REGION,
        botocore_session=core,
    )
    client = session.client("sqs", endpoint_url=url)
    assert client.meta.service_model.protocol == "query"
    return client


def test_the_query_protocol_serves_a_queue_from_create_to_delete(
    legacy_sqs: Any, name: str
) -> None:
    queue = legacy_sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "45"})[
        "QueueUrl"
    ]
    assert queue.endswith("/000000000000/" + name)
    attributes = legacy_sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["All"])
    assert attributes["Attributes"]["VisibilityTimeout"] == "45"
    sent = legacy_sqs.send_message(
        QueueUrl=queue,
        MessageBody="über query",
        MessageAttributes={"n": {"DataType": "Number", "StringValue": "7"}},
    )
    assert sent["MD5OfMessageBody"] == hashlib.md5("über query".encode()).hexdigest()
    batch = legacy_sqs.send_message_batch(
        QueueUrl=queue,
        Entries=[{"Id": "a", "MessageBody": "one"}, {"Id": "b", "MessageBody": "bad \x02"}],
    )
    assert [e["Id"] for e in batch["Successful"]] == ["a"]
    assert [e["Code"] for e in batch["Failed"]] == ["InvalidMessageContents"]
    got: list[dict[str, Any]] = []
    for _ in range(10):  # bounded: the two messages sit in the queue's partitions
        got += legacy_sqs.receive_message(
            QueueUrl=queue, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
        ).get("Messages", [])
        if len(got) >= 2:
            break
    assert sorted(m["Body"] for m in got) == ["one", "über query"]
    (with_attribute,) = [m for m in got if m["Body"] == "über query"]
    assert with_attribute["MessageAttributes"]["n"]["StringValue"] == "7"
    deleted = legacy_sqs.delete_message_batch(
        QueueUrl=queue,
        Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(got)],
    )
    assert len(deleted["Successful"]) == 2
    legacy_sqs.delete_queue(QueueUrl=queue)


def test_query_errors_carry_sqs_query_codes(legacy_sqs: Any, name: str) -> None:
    with pytest.raises(ClientError) as raised:
        legacy_sqs.get_queue_url(QueueName=name + "-missing")
    error = raised.value.response["Error"]
    assert error["Code"] == "AWS.SimpleQueueService.NonExistentQueue"
    assert error["Type"] == "Sender"
    assert isinstance(raised.value, legacy_sqs.exceptions.QueueDoesNotExist)
    queue = legacy_sqs.create_queue(QueueName=name)["QueueUrl"]
    with pytest.raises(ClientError) as raised:
        legacy_sqs.delete_message(QueueUrl=queue, ReceiptHandle="not-a-receipt")
    assert raised.value.response["Error"]["Code"] == "ReceiptHandleIsInvalid"


def signed_form(url: str, form: dict[str, str]) -> urllib.request.Request:
    """A form POST signed with SigV4 for SQS, as an SDK of the query era builds it."""
    body = urllib.parse.urlencode(form)
    request = AWSRequest(
        method="POST",
        url=url,
        data=body,
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
    )
    SigV4Auth(Credentials(AWS_ACCESS_KEY, AWS_SECRET_KEY), "sqs", REGION).add_auth(request)
    prepared = request.prepare()
    return urllib.request.Request(
        prepared.url, data=body.encode(), headers=dict(prepared.headers), method="POST"
    )


def test_a_form_posted_to_the_queue_url_addresses_that_queue(
    sqs: Any, name: str, tmp_path: Path
) -> None:
    queue = sqs.create_queue(QueueName=name)["QueueUrl"]
    form = {"Action": "SendMessage", "Version": "2012-11-05", "MessageBody": "to the url"}
    with urllib.request.urlopen(signed_form(queue, form), timeout=10) as answer:
        assert answer.status == 200
        root = ElementTree.fromstring(answer.read())
    namespace = {"sqs": "http://queue.amazonaws.com/doc/2012-11-05/"}
    md5 = root.find("sqs:SendMessageResult/sqs:MD5OfMessageBody", namespace)
    assert md5 is not None and md5.text == hashlib.md5(b"to the url").hexdigest()
    (message,) = sqs.receive_message(QueueUrl=queue)["Messages"]
    assert message["Body"] == "to the url"
    assert message["MD5OfBody"] == md5.text
