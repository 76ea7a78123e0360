"""Reading a resource policy for one question: may S3 send to this destination?"""

from __future__ import annotations

import json
from typing import Any

import pytest

from raybus.core.policies import grants

QUEUE = "arn:aws:sqs:us-east-1:000000000000:jobs"
BUCKET = "arn:aws:s3:::photos"


def policy(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(**fields: Any) -> dict[str, Any]:
    return {
        "Effect": "Allow",
        "Principal": {"Service": "s3.amazonaws.com"},
        "Action": "sqs:SendMessage",
        "Resource": QUEUE,
        **fields,
    }


def s3_may_send(text: str | None) -> bool:
    return grants(
        text,
        service="s3.amazonaws.com",
        action="sqs:SendMessage",
        resource=QUEUE,
        source_arn=BUCKET,
        source_account="000000000000",
    )


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        (policy(allow()), True),
        (policy(allow(Principal="*")), True),
        (policy(allow(Principal={"AWS": "*"})), True),
        (policy(allow(Principal={"Service": ["sns.amazonaws.com", "s3.amazonaws.com"]})), True),
        (policy(allow(Principal={"Service": "sns.amazonaws.com"})), False),
        (policy(allow(Action="sqs:*")), True),
        (policy(allow(Action=["sqs:ReceiveMessage"])), False),
        (policy(allow(Action="SQS:sendmessage")), True),  # actions are case-insensitive
        (policy(allow(Resource="arn:aws:sqs:*:*:jo?s")), True),
        (policy(allow(Resource="arn:aws:sqs:us-east-1:000000000000:other")), False),
        (policy(allow(Condition={"ArnLike": {"aws:SourceArn": "arn:aws:s3:::photo*"}})), True),
        (policy(allow(Condition={"ArnEquals": {"aws:SourceArn": "arn:aws:s3:::else"}})), False),
        (policy(allow(Condition={"StringEquals": {"aws:SourceAccount": "000000000000"}})), True),
        (policy(allow(Condition={"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}})), False),
        (policy(allow(), {**allow(), "Effect": "Deny"}), False),  # an explicit deny wins
        (policy(allow(NotAction="sqs:DeleteMessage", Action=None)), True),
        (policy(), False),
        ("not json", False),
        (None, False),
    ],
)
def test_grants(document: str | None, expected: bool) -> None:
    assert s3_may_send(document) is expected


def test_a_single_statement_object_is_read_like_a_list() -> None:
    assert s3_may_send(json.dumps({"Statement": allow()}))
