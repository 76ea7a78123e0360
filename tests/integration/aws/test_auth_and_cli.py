"""Signatures as AWS checks them (the session's cluster was started with credentials), and the
``aws`` CLI pointed at raybus as a user points it: a smoke test of SQS and SNS."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.integration.aws.conftest import REGION
from tests.integration.conftest import AWS_ACCESS_KEY, AWS_SECRET_KEY


def client(url: str, service: str, key: str, secret: str, **config: Any) -> Any:
    return boto3.session.Session(
        aws_access_key_id=key, aws_secret_access_key=secret, region_name=REGION
    ).client(service, endpoint_url=url, config=Config(retries={"max_attempts": 1}, **config))


def error_of(call: Callable[[], Any]) -> tuple[str, int]:
    with pytest.raises(ClientError) as raised:
        call()
    response = raised.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


@pytest.mark.parametrize("service", ["sqs", "sns"])
def test_a_wrong_secret_an_unknown_key_and_no_signature_are_refused(url: str, service: str) -> None:
    def listing(c: Any) -> Callable[[], Any]:
        return c.list_queues if service == "sqs" else c.list_topics

    wrong = client(url, service, AWS_ACCESS_KEY, "not-the-secret")
    assert error_of(listing(wrong)) == ("SignatureDoesNotMatch", 403)
    unknown = client(url, service, "AKIDUNKNOWN", AWS_SECRET_KEY)
    assert error_of(listing(unknown)) == ("InvalidClientTokenId", 403)
    unsigned = client(url, service, "x", "y", signature_version=UNSIGNED)
    assert error_of(listing(unsigned)) == ("MissingAuthenticationToken", 403)


def test_a_refused_request_changes_nothing(url: str, sqs: Any, name: str) -> None:
    wrong = client(url, "sqs", AWS_ACCESS_KEY, "not-the-secret")
    assert error_of(lambda: wrong.create_queue(QueueName=name))[0] == "SignatureDoesNotMatch"
    assert "QueueUrls" not in sqs.list_queues(QueueNamePrefix=name)


def test_a_presigned_url_works_until_tampered_with(url: str) -> None:
    sns = client(url, "sns", AWS_ACCESS_KEY, AWS_SECRET_KEY)
    presigned = sns.generate_presigned_url("list_topics", ExpiresIn=300, HttpMethod="GET")
    with urllib.request.urlopen(presigned, timeout=10) as answer:
        assert answer.status == 200
        assert b"<ListTopicsResponse" in answer.read()
    tampered = presigned.replace("Action=ListTopics", "Action=ListSubscriptions")
    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(tampered, timeout=10)
    assert raised.value.code == 403
    assert b"SignatureDoesNotMatch" in raised.value.read()


def aws_cli(url: str, tmp_path: Path, *args: str) -> Any:
    """Run the ``aws`` CLI installed beside this Python, as a user would, and parse its JSON."""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "AWS_ACCESS_KEY_ID": AWS_ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": AWS_SECRET_KEY,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_CONFIG_FILE": str(tmp_path / "config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "credentials"),
    }
    aws = Path(sys.executable).with_name("aws")
    done = subprocess.run(
        [str(aws), "--endpoint-url", url, "--output", "json", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout) if done.stdout.strip() else None


def test_the_aws_cli_sends_and_receives_through_a_topic(
    url: str, name: str, tmp_path: Path
) -> None:
    queue_url = aws_cli(url, tmp_path, "sqs", "create-queue", "--queue-name", name)["QueueUrl"]
    arn = aws_cli(url, tmp_path, "sqs", "get-queue-attributes", "--queue-url", queue_url,
                  "--attribute-names", "QueueArn")["Attributes"]["QueueArn"]  # fmt: skip
    topic = aws_cli(url, tmp_path, "sns", "create-topic", "--name", name)["TopicArn"]
    aws_cli(url, tmp_path, "sns", "subscribe", "--topic-arn", topic, "--protocol", "sqs",
            "--notification-endpoint", arn, "--attributes", "RawMessageDelivery=true")  # fmt: skip
    aws_cli(url, tmp_path, "sns", "publish", "--topic-arn", topic, "--message", "from the cli")
    sent = aws_cli(url, tmp_path, "sqs", "send-message", "--queue-url", queue_url,
                   "--message-body", "direct")  # fmt: skip
    assert sent["MD5OfMessageBody"] == hashlib.md5(b"direct").hexdigest()
    bodies: list[str] = []
    for _ in range(20):  # bounded: each receive long-polls up to 1 s
        got = aws_cli(url, tmp_path, "sqs", "receive-message", "--queue-url", queue_url,
                      "--max-number-of-messages", "10", "--wait-time-seconds", "1")  # fmt: skip
        for message in (got or {}).get("Messages", []):
            bodies.append(message["Body"])
            aws_cli(url, tmp_path, "sqs", "delete-message", "--queue-url", queue_url,
                    "--receipt-handle", message["ReceiptHandle"])  # fmt: skip
        if len(bodies) >= 2:
            break
    assert sorted(bodies) == ["direct", "from the cli"]
    listed = aws_cli(url, tmp_path, "sqs", "list-queues", "--queue-name-prefix", name)
    assert listed["QueueUrls"] == [queue_url]
