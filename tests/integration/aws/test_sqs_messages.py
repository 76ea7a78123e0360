"""SQS's message actions through unmodified boto3: send, receive, delete, visibility and their
batches; message and system attributes; FIFO; the MD5s, checked against an independent
implementation of AWS's documented algorithm."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from botocore.exceptions import ClientError

from raybus.sdk import Client


def independent_md5_of_attributes(attributes: dict[str, dict[str, Any]]) -> str:
    """AWS's documented algorithm for MD5OfMessageAttributes, written from the SQS developer
    guide rather than shared with raybus: sort by name; for each attribute append
    length-prefixed (4-byte big-endian) name, data type, then a transport byte (1 string,
    2 binary) and the length-prefixed value; MD5 of the whole."""
    buffer = bytearray()

    def prefixed(data: bytes) -> None:
        buffer.extend(len(data).to_bytes(4, "big"))
        buffer.extend(data)

    for key in sorted(attributes):
        value = attributes[key]
        prefixed(key.encode())
        prefixed(value["DataType"].encode())
        if "BinaryValue" in value:
            buffer.append(2)
            prefixed(value["BinaryValue"])
        else:
            buffer.append(1)
            prefixed(value["StringValue"].encode())
    return hashlib.md5(bytes(buffer)).hexdigest()


ATTRIBUTES = {
    "colour": {"DataType": "String", "StringValue": "blue ✓"},
    "count": {"DataType": "Number", "StringValue": "42.5"},
    "blob": {"DataType": "Binary", "BinaryValue": b"\x00\xff\x10"},
    "custom": {"DataType": "Number.int", "StringValue": "7"},
}


def test_a_message_round_trips_with_attributes_and_exact_md5s(sqs: Any, name: str) -> None:
    queue = sqs.create_queue(QueueName=name)["QueueUrl"]
    body = "héllo, 世界 🌍"
    sent = sqs.send_message(QueueUrl=queue, MessageBody=body, MessageAttributes=ATTRIBUTES)
    assert sent["MD5OfMessageBody"] == hashlib.md5(body.encode()).hexdigest()
    assert sent["MD5OfMessageAttributes"] == independent_md5_of_attributes(ATTRIBUTES)
    (message,) = sqs.receive_message(
        QueueUrl=queue, MessageAttributeNames=["All"], MessageSystemAttributeNames=["All"]
    )["Messages"]
    assert message["MessageId"] == sent["MessageId"]
    assert message["Body"] == body
    assert message["MD5OfBody"] == sent["MD5OfMessageBody"]
    assert message["MessageAttributes"] == ATTRIBUTES
    assert message["MD5OfMessageAttributes"] == independent_md5_of_attributes(ATTRIBUTES)
    system = message["Attributes"]
    assert system["ApproximateReceiveCount"] == "1"
    assert system["SenderId"] == "AKIDEXAMPLE"
    assert int(system["SentTimestamp"]) <= int(system["ApproximateFirstReceiveTimestamp"])
    sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
    assert sqs.receive_message(QueueUrl=queue).get("Messages", []) == []


def test_receive_answers_only_the_attributes_asked_for(sqs: Any, name: str) -> None:
    queue = sqs.create_queue(QueueName=name)["QueueUrl"]
    attributes = {
        "app.a": {"DataType": "String", "StringValue": "1"},
        "app.b": {"DataType": "String", "StringValue": "2"},
        "other": {"DataType": "String", "StringValue": "3"},
    }
    sqs.send_message(QueueUrl=queue, MessageBody="x", MessageAttributes=attributes)
    (message,) = sqs.receive_message(
        QueueUrl=queue, MessageAttributeNames=["app.*"], AttributeNames=["SentTimestamp"],
        VisibilityTimeout=0,
    )["Messages"]  # fmt: skip
    wanted = {k: v for k, v in attributes.items() if k.startswith("app.")}
    assert message["MessageAttributes"] == wanted
    assert message["MD5OfMessageAttributes"] == independent_md5_of_attributes(wanted)
    assert list(message["Attributes"]) == ["SentTimestamp"]
    (bare,) = sqs.receive_message(QueueUrl=queue)["Messages"]
    assert "MessageAttributes" not in bare and "Attributes" not in bare


def test_the_trace_header_is_a_system_attribute_with_its_own_md5(sqs: Any, name: str) -> None:
    queue = sqs.create_queue(QueueName=name)["QueueUrl"]
    trace = "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1"
    sent = sqs.send_message(
        QueueUrl=queue, MessageBody="x",
        MessageSystemAttributes={"AWSTraceHeader": {"DataType": "String", "StringValue": trace}},
    )  # fmt: skip
    expected = independent_md5_of_attributes(
        {"AWSTraceHeader": {"DataType": "String", "StringValue": trace}}
    )
    assert sent["MD5OfMessageSystemAttributes"] == expected
    (message,) = sqs.receive_message(QueueUrl=queue, AttributeNames=["AWSTraceHeader"])["Messages"]
    assert message["Attributes"] == {"AWSTraceHeader": trace}


def test_a_batch_answers_each_entry_and_fails_only_the_bad_ones(sqs: Any, name: str) -> None:
    queue = sqs.create_queue(QueueName=name)["QueueUrl"]
    answer = sqs.send_message_batch(
        QueueUrl=queue,
        Entries=[
            {"Id": "ok1", "MessageBody": "one"},
            {"Id": "bad", "MessageBody": "bad \x01 char"},
            {"Id": "ok2", "MessageBody": "two", "DelaySeconds": 0},
        ],
    )
    assert sorted(e["Id"] for e in answer["Successful"]) == ["ok1", "ok2"]
    (failed,) = answer["Failed"]
    assert failed["Id"] == "bad" and failed["SenderFault"] is True
    assert failed["Code"] == "InvalidMessageContents"
    got = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
    assert sorted(m["Body"] for m in got) == ["one", "two"]
    deleted = sqs.delete_message_batch(
        QueueUrl=queue,
        Entries=[{"Id": f"d{i}", "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(got)]
        + [{"Id": "junk", "ReceiptHandle": "not-a-receipt"}],
    )
    assert sorted(e["Id"] for e in deleted["Successful"]) == ["d0", "d1"]
    assert [(f["Id"], f["Code"]) for f in deleted["Failed"]] == [("junk", "ReceiptHandleIsInvalid")]


@pytest.mark.parametrize(
    ("entries", "expected"),
    [
        ([], "AWS.SimpleQueueService.EmptyBatchRequest"),
        ([{"Id": f"e{i}", "MessageBody": "x"} for i in range(11)],
         "AWS.SimpleQueueService.TooManyEntriesInBatchRequest"),
        ([{"Id": "same", "MessageBody": "x"}, {"Id": "same", "MessageBody": "y"}],
         "AWS.SimpleQueueService.BatchEntryIdsNotDistinct"),
        ([{"Id": "bad id!", "MessageBody": "x"}], "AWS.SimpleQueueService.InvalidBatchEntryId"),
        ([{"Id": f"e{i}", "MessageBody": "x" * 262_144} for i in range(5)],
         "AWS.SimpleQueueService.BatchRequestTooLong"),
    ],
)  # fmt: skip
def test_a_malformed_batch_is_refused_whole(
    sqs: Any, name: str, entries: list[dict[str, Any]], expected: str
) -> None:
    queue = sqs.create_queue(QueueName=name, Attributes={"MaximumMessageSize": "1048576"})[
        "QueueUrl"
    ]
    with pytest.raises(ClientError) as raised:
        sqs.send_message_batch(QueueUrl=queue, Entries=entries)
    assert raised.value.response["Error"]["Code"] == expected
    assert sqs.receive_message(QueueUrl=queue).get("Messages", []) == []


def test_a_message_over_the_queue_limit_is_invalid_parameter_value(sqs: Any, name: str) -> None:
    queue = sqs.create_queue(QueueName=name, Attributes={"MaximumMessageSize": "1024"})["QueueUrl"]
    with pytest.raises(ClientError) as raised:
        sqs.send_message(QueueUrl=queue, MessageBody="x" * 1025)
    assert raised.value.response["Error"]["Code"] == "InvalidParameterValue"
    sqs.send_message(QueueUrl=queue, MessageBody="x" * 1024)


def test_visibility_changes_hide_and_release_messages(sqs: Any, client: Client, name: str) -> None:
    queue = sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "30"})["QueueUrl"]
    sqs.send_message(QueueUrl=queue, MessageBody="m")
    (message,) = sqs.receive_message(QueueUrl=queue)["Messages"]
    sqs.change_message_visibility(
        QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
    )
    (again,) = sqs.receive_message(QueueUrl=queue)["Messages"]
    assert again["MessageId"] == message["MessageId"]
    answer = sqs.change_message_visibility_batch(
        QueueUrl=queue,
        Entries=[
            {"Id": "a", "ReceiptHandle": again["ReceiptHandle"], "VisibilityTimeout": 600},
            {"Id": "b", "ReceiptHandle": "garbage", "VisibilityTimeout": 1},
        ],
    )
    assert [e["Id"] for e in answer["Successful"]] == ["a"]
    assert [f["Code"] for f in answer["Failed"]] == ["ReceiptHandleIsInvalid"]
    client.advance_clock(599)
    assert sqs.receive_message(QueueUrl=queue).get("Messages", []) == []
    client.advance_clock(2)
    (third,) = sqs.receive_message(QueueUrl=queue, AttributeNames=["All"])["Messages"]
    assert third["Attributes"]["ApproximateReceiveCount"] == "3"


def test_a_bad_receipt_raises_receipt_handle_is_invalid(sqs: Any, name: str) -> None:
    queue = sqs.create_queue(QueueName=name)["QueueUrl"]
    with pytest.raises(sqs.exceptions.ReceiptHandleIsInvalid):
        sqs.delete_message(QueueUrl=queue, ReceiptHandle="nope")


def test_delay_seconds_hide_a_message_until_its_time(sqs: Any, client: Client, name: str) -> None:
    queue = sqs.create_queue(QueueName=name)["QueueUrl"]
    sqs.send_message(QueueUrl=queue, MessageBody="later", DelaySeconds=60)
    attrs = sqs.get_queue_attributes(
        QueueUrl=queue, AttributeNames=["ApproximateNumberOfMessagesDelayed"]
    )["Attributes"]
    assert attrs == {"ApproximateNumberOfMessagesDelayed": "1"}
    assert sqs.receive_message(QueueUrl=queue).get("Messages", []) == []
    client.advance_clock(61)
    assert [m["Body"] for m in sqs.receive_message(QueueUrl=queue)["Messages"]] == ["later"]


def test_fifo_keeps_group_order_deduplicates_and_numbers_messages(sqs: Any, name: str) -> None:
    queue = sqs.create_queue(QueueName=name + ".fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    with pytest.raises(ClientError) as raised:
        sqs.send_message(QueueUrl=queue, MessageBody="x", MessageGroupId="g")
    assert raised.value.response["Error"]["Code"] == "InvalidParameterValue"  # no dedup id
    first = sqs.send_message(
        QueueUrl=queue, MessageBody="1", MessageGroupId="g", MessageDeduplicationId="d1"
    )
    duplicate = sqs.send_message(
        QueueUrl=queue, MessageBody="1 again", MessageGroupId="g", MessageDeduplicationId="d1"
    )
    assert duplicate["MessageId"] == first["MessageId"]
    second = sqs.send_message(
        QueueUrl=queue, MessageBody="2", MessageGroupId="g", MessageDeduplicationId="d2"
    )
    assert int(second["SequenceNumber"]) > int(first["SequenceNumber"])
    got = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, AttributeNames=["All"])[
        "Messages"
    ]
    assert [m["Body"] for m in got] == ["1", "2"]
    assert got[0]["Attributes"]["MessageGroupId"] == "g"
    assert got[0]["Attributes"]["MessageDeduplicationId"] == "d1"
    assert got[0]["Attributes"]["SequenceNumber"] == first["SequenceNumber"]
    with pytest.raises(ClientError) as raised:
        sqs.send_message(
            QueueUrl=queue, MessageBody="x", MessageGroupId="g", MessageDeduplicationId="d3",
            DelaySeconds=5,
        )  # fmt: skip
    assert raised.value.response["Error"]["Code"] == "InvalidParameterValue"


def test_a_long_poll_returns_as_soon_as_a_message_arrives(sqs: Any, aws: Any, name: str) -> None:
    import threading

    queue = sqs.create_queue(QueueName=name)["QueueUrl"]
    got: list[Any] = []
    poll = threading.Thread(
        target=lambda: got.append(sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=20))
    )
    poll.start()
    aws("sqs").send_message(QueueUrl=queue, MessageBody="wake")
    poll.join(timeout=25)
    assert not poll.is_alive()
    assert [m["Body"] for m in got[0]["Messages"]] == ["wake"]


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"MaxNumberOfMessages": 11}, "InvalidParameterValue"),
        ({"MaxNumberOfMessages": 0}, "InvalidParameterValue"),
        ({"WaitTimeSeconds": 21}, "InvalidParameterValue"),
        ({"AttributeNames": ["Colour"]}, "InvalidAttributeName"),
    ],
)
def test_receive_refuses_out_of_range_arguments(
    sqs: Any, name: str, kwargs: dict[str, Any], expected: str
) -> None:
    queue = sqs.create_queue(QueueName=name)["QueueUrl"]
    with pytest.raises(ClientError) as raised:
        sqs.receive_message(QueueUrl=queue, **kwargs)
    assert raised.value.response["Error"]["Code"] == expected


def test_native_and_aws_clients_see_the_same_queue(sqs: Any, client: Client, name: str) -> None:
    queue_url = sqs.create_queue(QueueName=name)["QueueUrl"]
    client.queue(name).send("from the SDK", attributes={"k": "v"})
    (message,) = sqs.receive_message(QueueUrl=queue_url, MessageAttributeNames=["All"])["Messages"]
    assert message["Body"] == "from the SDK"
    assert message["MessageAttributes"] == {"k": {"DataType": "String", "StringValue": "v"}}
