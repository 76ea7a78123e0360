"""SQS messages ↔ raybus's: send entries, received messages, their attributes and MD5s.

Message attributes keep SQS's shape (``{"DataType", "StringValue" | "BinaryValue"}``) on the
wire and raybus's ``(data_type, value)`` inside; the MD5 of a body or of attributes is SQS's
algorithm (:mod:`raybus.core.attributes`), computed over what the answer carries, so SDKs that
verify them (Java, Go, .NET) accept it. ``AWSTraceHeader`` — the one message system attribute a
sender may set — and the sender's identity travel in the message's system fields.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from raybus.core.attributes import Attribute, md5_of_attributes, md5_of_body, validate_sqs_text
from raybus.engines import ReceivedMessage, SendEntry, SendResult
from raybus.gateway.aws.protocols import AwsError
from raybus.gateway.aws.service import AwsSettings

__all__ = [
    "SYSTEM_ATTRIBUTES",
    "entry_from",
    "message_to",
    "send_result_to",
    "system_md5",
]

SYSTEM_ATTRIBUTES = (
    "SenderId",
    "SentTimestamp",
    "ApproximateReceiveCount",
    "ApproximateFirstReceiveTimestamp",
    "SequenceNumber",
    "MessageDeduplicationId",
    "MessageGroupId",
    "AWSTraceHeader",
    "DeadLetterQueueSourceArn",
)
TRACE_HEADER = "AWSTraceHeader"


def _invalid(message: str) -> AwsError:
    return AwsError("InvalidParameterValue", message, query_code="InvalidParameterValue")


def attributes_from(raw: Mapping[str, Any] | None, what: str = "Message") -> dict[str, Attribute]:
    """SQS's ``MessageAttributes`` → raybus attributes (validated later by the engine)."""
    out: dict[str, Attribute] = {}
    for name, value in (raw or {}).items():
        data_type = value.get("DataType")
        if not data_type:
            raise _invalid(f"{what} attribute '{name}' must contain a DataType.")
        if value.get("StringListValues") or value.get("BinaryListValues"):
            raise _invalid(
                f"{what} attribute '{name}': list values are reserved by SQS and not supported."
            )
        if data_type.startswith("Binary"):
            binary = value.get("BinaryValue")
            if not isinstance(binary, bytes) or not binary:
                raise _invalid(
                    f"{what} attribute '{name}' must contain a non-empty value of type 'Binary'."
                )
            out[name] = Attribute(data_type, binary)
        else:
            text = value.get("StringValue")
            if not isinstance(text, str) or not text:
                base = data_type.split(".", 1)[0]
                raise _invalid(
                    f"{what} attribute '{name}' must contain a non-empty value of type '{base}'."
                )
            out[name] = Attribute(data_type, text)
    return out


def attributes_to(attributes: Mapping[str, Attribute]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for name, (data_type, value) in attributes.items():
        if isinstance(value, bytes):
            out[name] = {"DataType": data_type, "BinaryValue": value}
        else:
            out[name] = {"DataType": data_type, "StringValue": value}
    return out


def trace_header(raw: Mapping[str, Any] | None) -> str | None:
    """The ``AWSTraceHeader`` of ``MessageSystemAttributes`` (the only one SQS accepts)."""
    if not raw:
        return None
    unknown = sorted(set(raw) - {TRACE_HEADER})
    if unknown:
        raise _invalid(f"Message system attribute {unknown[0]} cannot be set; only AWSTraceHeader.")
    value = raw[TRACE_HEADER]
    text = value.get("StringValue")
    if value.get("DataType") != "String" or not isinstance(text, str) or not text:
        raise _invalid("AWSTraceHeader is a non-empty value of type 'String'.")
    return text


def system_md5(trace: str | None) -> str | None:
    if trace is None:
        return None
    return md5_of_attributes({TRACE_HEADER: Attribute("String", trace)})


def entry_from(params: Mapping[str, Any], sender: str) -> SendEntry:
    """One ``SendMessage`` (or batch entry) as a raybus send entry; a body holding a
    character SQS refuses raises ``InvalidMessageContents``."""
    validate_sqs_text(params["MessageBody"], what="The message body")
    trace = trace_header(params.get("MessageSystemAttributes"))
    system: dict[str, Any] = {"sender_id": sender}
    if trace is not None:
        system["trace_header"] = trace
    return SendEntry(
        body=params["MessageBody"],
        attributes=attributes_from(params.get("MessageAttributes")) or None,
        delay_s=params.get("DelaySeconds"),
        group_id=params.get("MessageGroupId"),
        dedup_id=params.get("MessageDeduplicationId"),
        system=system,
    )


def send_result_to(result: SendResult, trace: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {"MessageId": result.message_id, "MD5OfMessageBody": result.md5_of_body}
    if result.md5_of_attributes:
        out["MD5OfMessageAttributes"] = result.md5_of_attributes
    md5 = system_md5(trace)
    if md5 is not None:
        out["MD5OfMessageSystemAttributes"] = md5
    if result.sequence_number is not None:
        out["SequenceNumber"] = result.sequence_number
    return out


def wanted_attributes(
    names: Iterable[str], attributes: Mapping[str, Attribute]
) -> dict[str, Attribute]:
    """The message attributes ``MessageAttributeNames`` asks for: ``All`` or ``.*`` for every
    one, ``prefix.*`` for those under a prefix, else exact names."""
    picked: dict[str, Attribute] = {}
    patterns = list(names)
    if any(p in ("All", ".*") for p in patterns):
        return dict(attributes)
    for name, attribute in attributes.items():
        for pattern in patterns:
            if pattern == name or (pattern.endswith(".*") and name.startswith(pattern[:-1])):
                picked[name] = attribute
                break
    return picked


def _system_values(message: ReceivedMessage, settings: AwsSettings) -> dict[str, str]:
    system = message.system
    values = {
        "SenderId": str(system.get("sender_id") or settings.account_id),
        "SentTimestamp": str(message.sent_ms),
        "ApproximateReceiveCount": str(message.receive_count),
        "ApproximateFirstReceiveTimestamp": str(message.first_receive_ms),
    }
    if message.sequence_number is not None:
        values["SequenceNumber"] = message.sequence_number
    if message.dedup_id is not None:
        values["MessageDeduplicationId"] = message.dedup_id
    if message.group_id is not None:
        values["MessageGroupId"] = message.group_id
    if system.get("trace_header"):
        values[TRACE_HEADER] = str(system["trace_header"])
    if system.get("dead_letter_source"):
        values["DeadLetterQueueSourceArn"] = settings.arn("sqs", str(system["dead_letter_source"]))
    return values


def message_to(
    message: ReceivedMessage,
    settings: AwsSettings,
    system_names: Iterable[str],
    attribute_names: Iterable[str],
) -> dict[str, Any]:
    """A received message as SQS answers it. A body that is not UTF-8 (sent as bytes through
    the native API) is answered with replacement characters and the MD5 of what is answered."""
    raw = message.body
    try:
        body = raw.decode("utf-8")
        md5 = message.md5_of_body
    except UnicodeDecodeError:
        body = raw.decode("utf-8", errors="replace")
        md5 = md5_of_body(body.encode("utf-8"))
    out: dict[str, Any] = {
        "MessageId": message.message_id,
        "ReceiptHandle": message.receipt,
        "MD5OfBody": md5,
        "Body": body,
    }
    names = set(system_names)
    if names:
        values = _system_values(message, settings)
        every = "All" in names
        picked = {k: v for k, v in values.items() if every or k in names}
        if picked:
            out["Attributes"] = picked
    chosen = wanted_attributes(attribute_names, message.attributes)
    if chosen:
        out["MessageAttributes"] = attributes_to(chosen)
        out["MD5OfMessageAttributes"] = md5_of_attributes(chosen)
    return out
