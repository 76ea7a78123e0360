"""The SQS event a function receives has Lambda's shape, field for field."""

from __future__ import annotations

import base64
from typing import Any

from raybus.core.attributes import Attribute, md5_of_attributes, md5_of_body
from raybus.engines.queue.messages import ReceivedMessage
from raybus.functions import sqs_event, sqs_record


def message(body: bytes = b"Test message.", **fields: Any) -> ReceivedMessage:
    attributes = fields.pop("attributes", {})
    defaults: dict[str, Any] = {
        "message_id": "059f36b4-87a3-44ab-83d2-661975830a7d",
        "receipt": "receipt-1",
        "body": body,
        "md5_of_body": md5_of_body(body),
        "attributes": attributes,
        "md5_of_attributes": md5_of_attributes(attributes),
        "sent_ms": 1545082649183,
        "receive_count": 1,
        "first_receive_ms": 1545082649185,
    }
    return ReceivedMessage(**{**defaults, **fields})


def test_a_standard_queue_record_matches_lambdas_example() -> None:
    record = sqs_record("my-queue", message())
    assert record == {
        "messageId": "059f36b4-87a3-44ab-83d2-661975830a7d",
        "receiptHandle": "receipt-1",
        "body": "Test message.",
        "attributes": {
            "ApproximateReceiveCount": "1",
            "SentTimestamp": "1545082649183",
            "SenderId": "000000000000",
            "ApproximateFirstReceiveTimestamp": "1545082649185",
        },
        "messageAttributes": {},
        "md5OfBody": "e4e68fb7bd0e697a0ae8f1bb342846b3",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:000000000000:my-queue",
        "awsRegion": "us-east-1",
    }
    assert list(record) == [
        "messageId", "receiptHandle", "body", "attributes", "messageAttributes", "md5OfBody",
        "eventSource", "eventSourceARN", "awsRegion",
    ]  # fmt: skip


def test_a_fifo_record_carries_sequence_group_and_dedup_ids() -> None:
    record = sqs_record(
        "jobs.fifo",
        message(sequence_number="18849496460467696128", group_id="g1", dedup_id="d1"),
    )
    assert record["attributes"] == {
        "ApproximateReceiveCount": "1",
        "SentTimestamp": "1545082649183",
        "SenderId": "000000000000",
        "ApproximateFirstReceiveTimestamp": "1545082649185",
        "SequenceNumber": "18849496460467696128",
        "MessageGroupId": "g1",
        "MessageDeduplicationId": "d1",
    }


def test_message_attributes_use_lambdas_camel_case_with_binary_in_base64() -> None:
    attributes = {
        "kind": Attribute("String", "order"),
        "count": Attribute("Number.int", "3"),
        "blob": Attribute("Binary", b"\x00\xff"),
    }
    record = sqs_record("q", message(attributes=attributes))
    assert record["messageAttributes"] == {
        "kind": {
            "stringValue": "order",
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": "String",
        },
        "count": {
            "stringValue": "3",
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": "Number.int",
        },
        "blob": {
            "binaryValue": base64.b64encode(b"\x00\xff").decode(),
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": "Binary",
        },
    }
    assert record["md5OfMessageAttributes"] == md5_of_attributes(attributes)


def test_md5_of_message_attributes_appears_only_with_attributes() -> None:
    assert "md5OfMessageAttributes" not in sqs_record("q", message())


def test_bodies_decode_as_utf8_with_invalid_bytes_replaced() -> None:
    assert sqs_record("q", message("héllo".encode()))["body"] == "héllo"
    assert sqs_record("q", message(b"ok\xff"))["body"] == "ok\ufffd"


def test_a_dead_lettered_message_names_its_source_queue() -> None:
    record = sqs_record("dlq", message(system={"dead_letter_source": "orders"}))
    assert (
        record["attributes"]["DeadLetterQueueSourceArn"]
        == "arn:aws:sqs:us-east-1:000000000000:orders"
    )


def test_receive_counts_are_strings() -> None:
    assert sqs_record("q", message(receive_count=4))["attributes"]["ApproximateReceiveCount"] == "4"


def test_an_event_holds_one_record_per_message_in_order() -> None:
    batch = [message(message_id=f"m{i}", receipt=f"r{i}") for i in range(3)]
    event = sqs_event("q", batch)
    assert [r["messageId"] for r in event["Records"]] == ["m0", "m1", "m2"]
    assert sqs_event("q", []) == {"Records": []}
