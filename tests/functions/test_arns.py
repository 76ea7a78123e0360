"""ARNs use the region and account local AWS stand-ins use, in AWS's formats."""

from __future__ import annotations

import pytest

from raybus.core.arns import (
    ACCOUNT_ID,
    REGION,
    Arn,
    function_arn,
    parse_arn,
    queue_arn,
    queue_url,
    subscription_arn,
    topic_arn,
)


def test_the_region_and_account_are_those_of_local_aws_stand_ins() -> None:
    assert (REGION, ACCOUNT_ID) == ("us-east-1", "000000000000")


@pytest.mark.parametrize(
    ("arn", "expected"),
    [
        (queue_arn("orders"), "arn:aws:sqs:us-east-1:000000000000:orders"),
        (queue_arn("jobs.fifo"), "arn:aws:sqs:us-east-1:000000000000:jobs.fifo"),
        (topic_arn("alerts"), "arn:aws:sns:us-east-1:000000000000:alerts"),
        (subscription_arn("alerts", "abc-1"), "arn:aws:sns:us-east-1:000000000000:alerts:abc-1"),
        (function_arn("resize"), "arn:aws:lambda:us-east-1:000000000000:function:resize"),
        (
            function_arn("resize", "$LATEST"),
            "arn:aws:lambda:us-east-1:000000000000:function:resize:$LATEST",
        ),
    ],
)
def test_each_arn_has_the_aws_format(arn: str, expected: str) -> None:
    assert arn == expected


def test_a_queue_url_names_the_account_and_queue() -> None:
    assert queue_url("orders") == "https://sqs.us-east-1.amazonaws.com/000000000000/orders"
    assert queue_url("q", "http://127.0.0.1:8000/") == "http://127.0.0.1:8000/000000000000/q"


def test_parsing_an_arn_keeps_colons_inside_the_resource() -> None:
    assert parse_arn(function_arn("f", "$LATEST")) == Arn(
        "aws", "lambda", "us-east-1", "000000000000", "function:f:$LATEST"
    )
    assert parse_arn(subscription_arn("t", "id")).resource == "t:id"


@pytest.mark.parametrize(
    "bad", ["", "orders", "arn:aws:sqs", "urn:aws:sqs:r:a:q", "arn:aws::r:a:q"]
)
def test_parsing_something_that_is_not_an_arn_fails(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_arn(bad)
