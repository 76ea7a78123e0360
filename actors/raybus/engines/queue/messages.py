"""Value types crossing the engine boundary, and the per-message validation SQS applies."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from raybus.core.attributes import (
    Attribute,
    attributes_size,
    md5_of_attributes,
    md5_of_body,
    validate_attributes,
)
from raybus.core.errors import RaybusError
from raybus.engines.ids import check_fifo_id

__all__ = [
    "MAX_DELAY_S",
    "MAX_VISIBILITY_TIMEOUT_S",
    "DeadLetter",
    "ReceivedMessage",
    "SendEntry",
    "SendResult",
]

MAX_DELAY_S = 900
MAX_VISIBILITY_TIMEOUT_S = 43_200

# The per-message values (SendResult, ReceivedMessage, ValidMessage) are made once per message
# sent or received, so they are plain slotted dataclasses rather than frozen ones: a frozen
# dataclass's __init__ sets each field through object.__setattr__, three times the cost (5.1 µs
# against 1.7 µs for ReceivedMessage). Nothing mutates them after construction.


@dataclass(slots=True)
class SendEntry:
    """One message to send. ``message_id`` / ``sent_ms`` / ``system`` are set only by transfers
    (dead-lettering, move tasks), which keep the original identity: a set ``message_id`` marks a
    transfer and skips the size limit and FIFO dedup check, so a gateway must never fill these
    fields from client input. ``md5_of_body`` is set only by an internal sender that computed
    it of this very (bytes) body — a topic handing one raw body to several queues hashes it
    once — and is trusted as the body's digest; a gateway must never fill it either."""

    body: bytes | str
    attributes: Any = None
    delay_s: int | None = None
    group_id: str | None = None
    dedup_id: str | None = None
    message_id: str | None = None
    sent_ms: int | None = None
    system: dict[str, Any] | None = None
    md5_of_body: str | None = None


@dataclass(slots=True)
class SendResult:
    message_id: str
    md5_of_body: str
    md5_of_attributes: str
    sequence_number: str | None = None
    duplicate: bool = False  # FIFO: the dedup window swallowed this send


@dataclass(slots=True)
class ReceivedMessage:
    message_id: str
    receipt: str
    body: bytes
    md5_of_body: str
    attributes: dict[str, Attribute]
    md5_of_attributes: str
    sent_ms: int
    receive_count: int
    first_receive_ms: int
    group_id: str | None = None
    dedup_id: str | None = None
    sequence_number: str | None = None
    system: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """An effect: deliver ``entry`` to queue ``target`` durably, then call the source's
    ``finish_transfer([seq])`` (or ``abort_transfer([seq])`` if delivery failed)."""

    seq: int
    target: str
    entry: SendEntry


@dataclass(slots=True)
class ValidMessage:
    """A send entry after validation: what goes into the SEND record."""

    body: bytes
    attributes: dict[str, Attribute]
    md5_of_body: str
    md5_of_attributes: str
    delay_s: int | None
    group_id: str | None
    dedup_id: str | None


def validate_entry(
    entry: SendEntry, *, fifo: bool, max_message_bytes: int, content_based_dedup: bool
) -> ValidMessage:
    """Apply SQS's per-message rules; raise the catalog error for the first one broken."""
    body = entry.body
    if isinstance(body, str):
        body = body.encode("utf-8")
    elif isinstance(body, (bytearray, memoryview)):
        body = bytes(body)
    elif not isinstance(body, bytes):
        raise RaybusError(
            "InvalidParameterValue", "A message body is bytes or a string.", parameter="body"
        )
    if not body:
        raise RaybusError("MissingParameter", "A message body must not be empty.", parameter="body")
    if entry.attributes is None:  # the common case, without three calls that find nothing
        attributes: dict[str, Attribute] = {}
        size = len(body)
    else:
        attributes = validate_attributes(entry.attributes)
        size = len(body) + attributes_size(attributes)
    transfer = entry.message_id is not None
    if size > max_message_bytes and not transfer:
        raise RaybusError(
            "MessageTooLong",
            f"The message is {size} bytes; the queue's maximum is {max_message_bytes} bytes.",
            size=size,
            limit=max_message_bytes,
        )
    delay = entry.delay_s
    if delay is not None:
        if fifo and not transfer:
            raise RaybusError(
                "InvalidParameterValue",
                "FIFO queues do not support a per-message delay; set the queue's delay instead.",
                parameter="delay_s",
            )
        if isinstance(delay, bool) or not isinstance(delay, int) or not 0 <= delay <= MAX_DELAY_S:
            raise RaybusError(
                "InvalidParameterValue",
                f"delay_s must be an integer from 0 to {MAX_DELAY_S}.",
                parameter="delay_s",
            )
    group_id = entry.group_id
    dedup_id = entry.dedup_id
    if group_id is not None:
        group_id = check_fifo_id(group_id, "group_id")
    if fifo:
        if group_id is None:
            raise RaybusError(
                "MissingParameter",
                "A FIFO queue needs a group_id on every message.",
                parameter="group_id",
            )
        if dedup_id is not None:
            dedup_id = check_fifo_id(dedup_id, "dedup_id")
        elif content_based_dedup:
            dedup_id = hashlib.sha256(body).hexdigest()
        else:
            raise RaybusError(
                "InvalidParameterValue",
                "The queue should either have content-based deduplication enabled or a "
                "dedup_id provided explicitly.",
                parameter="dedup_id",
            )
    elif dedup_id is not None:
        raise RaybusError(
            "InvalidParameterValue", "dedup_id is valid only for FIFO queues.", parameter="dedup_id"
        )
    return ValidMessage(
        body=body,
        attributes=attributes,
        md5_of_body=entry.md5_of_body or md5_of_body(body),
        md5_of_attributes=md5_of_attributes(attributes) if attributes else "",
        delay_s=delay,
        group_id=group_id,
        dedup_id=dedup_id,
    )
