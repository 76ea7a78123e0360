"""AWS Lambda's SQS event: the JSON a function receives from a queue event-source mapping.

Shape (docs.aws.amazon.com/lambda/latest/dg/with-sqs.html, "Example standard queue message
event" and "Example FIFO queue message event")::

    {"Records": [{
        "messageId", "receiptHandle", "body",            # body as text
        "attributes": {"ApproximateReceiveCount", "SentTimestamp", "SenderId",
                       "ApproximateFirstReceiveTimestamp",
                       # FIFO queues only:
                       "SequenceNumber", "MessageGroupId", "MessageDeduplicationId",
                       # dead-lettered messages only:
                       "DeadLetterQueueSourceArn"},
        "messageAttributes": {name: {"stringValue" | "binaryValue" (base64),
                                     "stringListValues": [], "binaryListValues": [],
                                     "dataType"}},
        "md5OfBody", "md5OfMessageAttributes",           # the latter only with attributes
        "eventSource": "aws:sqs", "eventSourceARN", "awsRegion"}]}

All attribute values are strings, as in AWS (timestamps in epoch milliseconds). Bodies are
bytes in raybus; they decode as UTF-8 with invalid bytes replaced (SQS bodies are text).
Pure.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from typing import Any

from raybus.core.arns import account_id, queue_arn, region
from raybus.core.attributes import Attribute
from raybus.engines.queue.messages import ReceivedMessage

__all__ = ["sqs_event", "sqs_message_attributes", "sqs_record"]


def sqs_message_attributes(attributes: Mapping[str, Attribute]) -> dict[str, dict[str, Any]]:
    """SQS message attributes in the Lambda event's camelCase form."""
    out: dict[str, dict[str, Any]] = {}
    for name, (data_type, value) in attributes.items():
        entry: dict[str, Any] = {}
        if isinstance(value, bytes):
            entry["binaryValue"] = base64.b64encode(value).decode("ascii")
        else:
            entry["stringValue"] = value
        entry["stringListValues"] = []
        entry["binaryListValues"] = []
        entry["dataType"] = data_type
        out[name] = entry
    return out


def sqs_record(queue: str, message: ReceivedMessage) -> dict[str, Any]:
    attributes: dict[str, str] = {
        "ApproximateReceiveCount": str(message.receive_count),
        "SentTimestamp": str(message.sent_ms),
        # who sent it (the AWS access key that signed the send), else the account id
        "SenderId": str(message.system.get("sender_id") or account_id()),
        "ApproximateFirstReceiveTimestamp": str(message.first_receive_ms),
    }
    if message.sequence_number is not None:
        attributes["SequenceNumber"] = message.sequence_number
    if message.group_id is not None:
        attributes["MessageGroupId"] = message.group_id
    if message.dedup_id is not None:
        attributes["MessageDeduplicationId"] = message.dedup_id
    source = message.system.get("dead_letter_source")
    if isinstance(source, str) and source:
        attributes["DeadLetterQueueSourceArn"] = queue_arn(source)
    record: dict[str, Any] = {
        "messageId": message.message_id,
        "receiptHandle": message.receipt,
        "body": message.body.decode("utf-8", errors="replace"),
        "attributes": attributes,
        "messageAttributes": sqs_message_attributes(message.attributes),
        "md5OfBody": message.md5_of_body,
    }
    if message.attributes:
        record["md5OfMessageAttributes"] = message.md5_of_attributes
    record["eventSource"] = "aws:sqs"
    record["eventSourceARN"] = queue_arn(queue)
    record["awsRegion"] = region()
    return record


def sqs_event(queue: str, messages: Sequence[ReceivedMessage]) -> dict[str, Any]:
    """The event for one batch of ``messages`` received from ``queue``, in receive order."""
    return {"Records": [sqs_record(queue, message) for message in messages]}
