"""SNS's notification JSON, Lambda's SNS event and SNS's HTTP headers have AWS's shapes."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field

import pytest

from raybus.core.attributes import Attribute
from raybus.functions import http_headers, iso_timestamp, sns_envelope, sns_event


@dataclass(frozen=True)
class Published:
    message_id: str = "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324"
    body: bytes = b"Hello"
    attributes: dict[str, Attribute] = field(default_factory=dict)
    subject: str | None = None
    group_id: str | None = None
    dedup_id: str | None = None
    sequence_number: str | None = None
    published_ms: int = 1_335_466_329_123  # 2012-04-26T18:52:09.123Z


@pytest.mark.parametrize(
    ("ms", "text"),
    [
        (0, "1970-01-01T00:00:00.000Z"),
        (1_335_466_329_123, "2012-04-26T18:52:09.123Z"),
        (1_700_000_000_007, "2023-11-14T22:13:20.007Z"),
    ],
)
def test_timestamps_are_iso_8601_utc_with_milliseconds(ms: int, text: str) -> None:
    assert iso_timestamp(ms) == text


def test_an_envelope_without_subject_or_attributes_omits_them() -> None:
    envelope = sns_envelope("alerts", Published(), subscription_id="sub-1")
    assert list(envelope) == [
        "Type", "MessageId", "TopicArn", "Message", "Timestamp", "SignatureVersion",
        "Signature", "SigningCertURL", "UnsubscribeURL",
    ]  # fmt: skip
    assert envelope["Type"] == "Notification"
    assert envelope["MessageId"] == "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324"
    assert envelope["TopicArn"] == "arn:aws:sns:us-east-1:000000000000:alerts"
    assert envelope["Message"] == "Hello"
    assert envelope["Timestamp"] == "2012-04-26T18:52:09.123Z"
    assert envelope["SignatureVersion"] == "1"
    assert base64.b64decode(envelope["Signature"])  # a base64 digest, deterministic
    assert envelope["UnsubscribeURL"] == (
        "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe"
        "&SubscriptionArn=arn:aws:sns:us-east-1:000000000000:alerts:sub-1"
    )
    assert envelope == sns_envelope("alerts", Published(), subscription_id="sub-1")
    json.dumps(envelope)  # a JSON document


def test_subject_and_attributes_appear_when_published() -> None:
    attributes = {"kind": Attribute("String", "a"), "raw": Attribute("Binary", b"\x01\x02")}
    envelope = sns_envelope("t", Published(subject="Greetings", attributes=attributes))
    assert envelope["Subject"] == "Greetings"
    assert list(envelope).index("Subject") == list(envelope).index("TopicArn") + 1
    assert envelope["MessageAttributes"] == {
        "kind": {"Type": "String", "Value": "a"},
        "raw": {"Type": "Binary", "Value": base64.b64encode(b"\x01\x02").decode()},
    }


def test_the_subject_is_part_of_the_signature() -> None:
    plain = sns_envelope("t", Published())
    with_subject = sns_envelope("t", Published(subject="s"))
    assert plain["Signature"] != with_subject["Signature"]


def test_a_fifo_envelope_carries_the_sequence_number_but_not_the_group() -> None:
    envelope = sns_envelope(
        "t.fifo", Published(group_id="g", dedup_id="d", sequence_number="10000000000000027000")
    )
    assert envelope["SequenceNumber"] == "10000000000000027000"
    assert list(envelope).index("SequenceNumber") == 2
    assert "MessageGroupId" not in envelope and "MessageDeduplicationId" not in envelope


def test_the_unsubscribe_url_uses_the_given_endpoint() -> None:
    envelope = sns_envelope(
        "t", Published(), subscription_id="s", endpoint="http://127.0.0.1:8000/"
    )
    assert envelope["UnsubscribeURL"].startswith("http://127.0.0.1:8000/?Action=Unsubscribe&")


def test_message_bodies_decode_as_utf8_with_invalid_bytes_replaced() -> None:
    assert sns_envelope("t", Published(body=b"caf\xc3\xa9\xff"))["Message"] == "café\ufffd"


def test_lambdas_sns_event_wraps_envelopes_with_lambdas_spelling() -> None:
    event = sns_event("alerts", "sub-1", [Published()])
    [record] = event["Records"]
    assert record["EventVersion"] == "1.0"
    assert record["EventSource"] == "aws:sns"
    assert record["EventSubscriptionArn"] == "arn:aws:sns:us-east-1:000000000000:alerts:sub-1"
    sns = record["Sns"]
    assert sns["Subject"] is None and sns["MessageAttributes"] == {}
    assert "SigningCertUrl" in sns and "UnsubscribeUrl" in sns
    assert "SigningCertURL" not in sns and "UnsubscribeURL" not in sns
    assert sns["UnsubscribeUrl"].endswith(":alerts:sub-1")


def test_lambdas_sns_event_accepts_prebuilt_envelopes() -> None:
    envelope = sns_envelope("t", Published(subject="s"), subscription_id="x")
    [record] = sns_event("t", "x", [envelope])["Records"]
    assert record["Sns"]["Subject"] == "s"
    assert record["Sns"]["Message"] == envelope["Message"]


def test_http_headers_name_the_message_topic_and_subscription() -> None:
    headers = http_headers("alerts", "sub-1", "m-1")
    assert headers == {
        "x-amz-sns-message-type": "Notification",
        "x-amz-sns-message-id": "m-1",
        "x-amz-sns-topic-arn": "arn:aws:sns:us-east-1:000000000000:alerts",
        "x-amz-sns-subscription-arn": "arn:aws:sns:us-east-1:000000000000:alerts:sub-1",
        "Content-Type": "text/plain; charset=UTF-8",
        "User-Agent": "Amazon Simple Notification Service Agent",
    }
    raw = http_headers("a", "s", "m", content_type="application/json", raw=True)
    assert raw["x-amz-sns-rawdelivery"] == "true"
    assert raw["Content-Type"] == "application/json"
