"""SNS's notification JSON ("envelope"), Lambda's SNS event and SNS's HTTP headers.

The envelope is what a non-raw queue or HTTP/S subscription receives as the message body
(docs.aws.amazon.com/sns/latest/dg/http-notification-json.html), keys in AWS's order::

    {"Type": "Notification", "MessageId", "SequenceNumber" (FIFO topics), "TopicArn",
     "Subject" (only when the publish had one), "Message", "Timestamp",
     "SignatureVersion", "Signature", "SigningCertURL", "UnsubscribeURL",
     "MessageAttributes" (only when the message has some): {name: {"Type", "Value"}}}

``Timestamp`` is the publish time in ISO 8601 UTC with milliseconds and ``Z``. Binary
attribute values are base64. A FIFO message's group id is not part of the JSON: it travels as
the receiving FIFO queue message's ``MessageGroupId``.

Lambda's SNS event (docs.aws.amazon.com/lambda/latest/dg/with-sns.html) wraps the same fields
under ``Records[].Sns`` with AWS's differences: ``SigningCertUrl`` / ``UnsubscribeUrl``
spelling, ``Subject`` always present (``null`` when absent) and ``MessageAttributes`` always
present.

Signatures: raybus holds no AWS signing key, so ``Signature`` is the base64 SHA-1 digest of
SNS's canonical string-to-sign — deterministic, but not an RSA signature: a receiver that
verifies SNS signatures must disable verification against raybus (as with other local AWS
stand-ins). ``SigningCertURL`` has AWS's form; ``UnsubscribeURL`` uses ``endpoint``.
Pure.
"""

from __future__ import annotations

import base64
import hashlib
import time
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from raybus.core.arns import SNS_ENDPOINT, subscription_arn, topic_arn
from raybus.core.attributes import Attribute

__all__ = [
    "SIGNATURE_VERSION",
    "TopicMessage",
    "http_headers",
    "iso_timestamp",
    "sns_envelope",
    "sns_event",
    "sns_message_attributes",
]

SIGNATURE_VERSION = "1"
SIGNING_CERT_URL = f"{SNS_ENDPOINT}/SimpleNotificationService-raybus.pem"
CONTENT_TYPE = "text/plain; charset=UTF-8"
USER_AGENT = "Amazon Simple Notification Service Agent"


class TopicMessage(Protocol):
    """What a topic publishes: any object with these attributes (the topic engine's message
    record satisfies it)."""

    @property
    def message_id(self) -> str: ...
    @property
    def body(self) -> bytes: ...
    @property
    def attributes(self) -> Mapping[str, Attribute]: ...
    @property
    def subject(self) -> str | None: ...
    @property
    def group_id(self) -> str | None: ...
    @property
    def dedup_id(self) -> str | None: ...
    @property
    def sequence_number(self) -> str | None: ...
    @property
    def published_ms(self) -> int: ...


def iso_timestamp(ms: int) -> str:
    """Epoch milliseconds as ``2024-05-01T12:00:00.123Z`` (UTC, millisecond precision)."""
    seconds, millis = divmod(int(ms), 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{millis:03d}Z"


def sns_message_attributes(attributes: Mapping[str, Attribute]) -> dict[str, dict[str, str]]:
    out = {}
    for name, (data_type, value) in attributes.items():
        text = base64.b64encode(value).decode("ascii") if isinstance(value, bytes) else value
        out[name] = {"Type": data_type, "Value": text}
    return out


def _signature(fields: Mapping[str, Any]) -> str:
    canonical = "".join(
        f"{key}\n{fields[key]}\n"
        for key in ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type")
        if fields.get(key) is not None
    )
    digest = hashlib.sha1(canonical.encode("utf-8"), usedforsecurity=False).digest()
    return base64.b64encode(digest).decode("ascii")


def sns_envelope(
    topic: str,
    message: TopicMessage,
    *,
    subscription_id: str | None = None,
    endpoint: str = SNS_ENDPOINT,
) -> dict[str, Any]:
    """The notification JSON object for ``message`` published to ``topic``. The
    ``UnsubscribeURL`` names the subscription when ``subscription_id`` is given."""
    envelope: dict[str, Any] = {"Type": "Notification", "MessageId": message.message_id}
    if message.sequence_number is not None:
        envelope["SequenceNumber"] = message.sequence_number
    envelope["TopicArn"] = topic_arn(topic)
    if message.subject is not None:
        envelope["Subject"] = message.subject
    envelope["Message"] = message.body.decode("utf-8", errors="replace")
    envelope["Timestamp"] = iso_timestamp(message.published_ms)
    envelope["SignatureVersion"] = SIGNATURE_VERSION
    envelope["Signature"] = _signature(envelope)
    envelope["SigningCertURL"] = SIGNING_CERT_URL
    target = (
        subscription_arn(topic, subscription_id)
        if subscription_id is not None
        else topic_arn(topic)
    )
    envelope["UnsubscribeURL"] = (
        f"{endpoint.rstrip('/')}/?Action=Unsubscribe&SubscriptionArn={target}"
    )
    if message.attributes:
        envelope["MessageAttributes"] = sns_message_attributes(message.attributes)
    return envelope


def _lambda_sns(envelope: Mapping[str, Any]) -> dict[str, Any]:
    sns: dict[str, Any] = {}
    for key, value in envelope.items():
        if key == "SigningCertURL":
            key = "SigningCertUrl"
        elif key == "UnsubscribeURL":
            key = "UnsubscribeUrl"
        sns[key] = value
    sns.setdefault("Subject", None)
    sns.setdefault("MessageAttributes", {})
    return sns


def sns_event(
    topic: str,
    subscription_id: str,
    envelopes: Sequence[Mapping[str, Any] | TopicMessage],
) -> dict[str, Any]:
    """Lambda's SNS event: one record per envelope (a dict from :func:`sns_envelope`, or a
    topic message, enveloped here). AWS delivers one message per invocation; raybus accepts
    several for callers that batch."""
    arn = subscription_arn(topic, subscription_id)
    records = []
    for item in envelopes:
        envelope = (
            item
            if isinstance(item, Mapping)
            else sns_envelope(topic, item, subscription_id=subscription_id)
        )
        records.append(
            {
                "EventVersion": "1.0",
                "EventSubscriptionArn": arn,
                "EventSource": "aws:sns",
                "Sns": _lambda_sns(envelope),
            }
        )
    return {"Records": records}


def http_headers(
    topic: str,
    subscription_id: str,
    message_id: str,
    *,
    content_type: str = CONTENT_TYPE,
    raw: bool = False,
) -> dict[str, str]:
    """The headers of SNS's HTTP/S notification POST (``x-amz-sns-rawdelivery: true`` for raw
    message delivery)."""
    headers = {
        "x-amz-sns-message-type": "Notification",
        "x-amz-sns-message-id": message_id,
        "x-amz-sns-topic-arn": topic_arn(topic),
        "x-amz-sns-subscription-arn": subscription_arn(topic, subscription_id),
        "Content-Type": content_type,
        "User-Agent": USER_AGENT,
    }
    if raw:
        headers["x-amz-sns-rawdelivery"] = "true"
    return headers
