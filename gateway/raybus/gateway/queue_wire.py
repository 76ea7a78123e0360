"""The queue's wire forms (docs/http-api.md): send entries in, send results and received
messages out.

Pure functions, no I/O. Request parsing checks the *shape* (a map, lists where lists belong,
no unknown keys, batch limits); per-message rules (sizes, attribute types, FIFO ids) stay in
the engine so that every entry of a batch gets its own error. A client can never set the
transfer-only fields of :class:`SendEntry` (``message_id``, ``sent_ms``, ``system``): unknown
keys are refused, entry by entry.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

from raybus.core.errors import RaybusError
from raybus.core.queues import QueueConfig, RedriveAllowPolicy, RedrivePolicy
from raybus.engines import ReceivedMessage, SendEntry, SendResult
from raybus.gateway.boundary import UNKNOWN_FIELD_CODE
from raybus.gateway.codec import attributes_from_json, b64_field, check_keys, utf8_len
from raybus.gateway.schemas import (
    ATTRIBUTES,
    BASE64,
    BOOLEAN,
    COMPONENTS,
    ERROR,
    INTEGER,
    STRING,
    closed,
    component,
    nullable,
    open_object,
    per_entry,
    ref,
    settings_schema,
    without_required,
)

__all__ = [
    "MAX_BATCH",
    "MAX_BATCH_BYTES",
    "entries_from_wire",
    "entry_from_wire",
    "message_to_wire",
    "result_to_wire",
]

MAX_BATCH = 1000
MAX_BATCH_BYTES = 1 << 20
_ENTRY_KEYS = frozenset({"body", "body_base64", "attributes", "delay_s", "group_id", "dedup_id"})


def _utf8(body: str) -> bytes:
    try:
        return body.encode("utf-8")
    except UnicodeEncodeError:  # the boundary refuses such text first; never a 500 here
        raise RaybusError(
            "InvalidParameterValue", "body is not valid Unicode text.", parameter="body"
        ) from None


def entry_from_wire(data: object, *, json: bool) -> SendEntry:
    """A send entry from the wire; a text body becomes its UTF-8 bytes here, once (the engine
    stores bytes, and the batch limit and the metrics count them)."""
    if type(data) is dict and len(data) == 1:  # the common case: {"body": ...} and nothing else
        only = data.get("body")
        if type(only) is str:
            return SendEntry(body=_utf8(only))
        if type(only) is bytes:
            return SendEntry(body=only)
    if not isinstance(data, dict):
        raise RaybusError("InvalidParameterValue", "A message entry must be a map.")
    if not _ENTRY_KEYS.issuperset(data):
        unknown = set(data) - _ENTRY_KEYS
        raise RaybusError(
            "InvalidParameterValue",
            f"Unknown message field(s): {', '.join(sorted(map(str, unknown)))}.",
            parameter=str(sorted(map(str, unknown))[0]),
        )
    if "body_base64" in data:
        if "body" in data:
            raise RaybusError(
                "InvalidParameterValue", "Give body or body_base64, not both.", parameter="body"
            )
        body: Any = b64_field(data["body_base64"], "body_base64")
    elif "body" in data:
        body = data["body"]
        if body is None:
            raise RaybusError("MissingParameter", "A message needs a body.", parameter="body")
    else:
        raise RaybusError("MissingParameter", "A message needs a body.", parameter="body")
    attributes = data.get("attributes")
    if json:
        attributes = attributes_from_json(attributes)
    return SendEntry(
        body=_utf8(body) if isinstance(body, str) else body,
        attributes=attributes,
        delay_s=data.get("delay_s"),
        group_id=data.get("group_id"),
        dedup_id=data.get("dedup_id"),
    )


def _size(entry: SendEntry) -> int:
    """Bytes the entry counts toward the batch limit: body plus attribute names, data types and
    values, in UTF-8 (as :func:`raybus.core.attributes_size` counts them)."""
    body = entry.body
    size = len(body) if type(body) is bytes else utf8_len(body)
    if isinstance(entry.attributes, dict):
        for name, item in entry.attributes.items():
            size += utf8_len(name)
            if isinstance(item, (list, tuple)):
                size += sum(utf8_len(part) for part in item)
    return size


def entries_from_wire(
    data: Mapping[str, Any], *, json: bool
) -> tuple[list[SendEntry | RaybusError], bool]:
    """The entries of a send request and whether it was a batch. A malformed entry becomes its
    error in place; limits that apply to the whole request raise."""
    if "entries" not in data:
        return [entry_from_wire(dict(data), json=json)], False
    check_keys(data, frozenset({"entries"}))
    raw = data["entries"]
    if not isinstance(raw, list):
        raise RaybusError("InvalidParameterValue", "entries must be a list.", parameter="entries")
    if not raw:
        raise RaybusError("EmptyBatchRequest", "The batch has no entries.")
    if len(raw) > MAX_BATCH:
        raise RaybusError(
            "TooManyEntriesInBatchRequest",
            f"A batch holds at most {MAX_BATCH} entries, not {len(raw)}.",
            limit=MAX_BATCH,
        )
    entries: list[SendEntry | RaybusError] = []
    total = 0
    for item in raw:
        try:
            entry = entry_from_wire(item, json=json)
        except RaybusError as error:
            entries.append(error)
            continue
        total += _size(entry)
        entries.append(entry)
    if total > MAX_BATCH_BYTES:
        raise RaybusError(
            "BatchRequestTooLong",
            f"The batch's messages total {total} bytes; the limit is {MAX_BATCH_BYTES}.",
            size=total,
            limit=MAX_BATCH_BYTES,
        )
    return entries, True


def result_to_wire(result: SendResult) -> dict[str, Any]:
    """A send's result; like a received message (:func:`message_to_wire`) it leaves out
    ``md5_of_attributes`` for a message without attributes and ``sequence_number`` off FIFO."""
    out: dict[str, Any] = {"message_id": result.message_id, "md5_of_body": result.md5_of_body}
    if result.md5_of_attributes:
        out["md5_of_attributes"] = result.md5_of_attributes
    if result.sequence_number is not None:
        out["sequence_number"] = result.sequence_number
    return out


def message_to_wire(message: ReceivedMessage, *, json: bool) -> dict[str, Any]:
    """A received message as the native API answers it. Fields that do not apply are left out,
    as SQS leaves them out: ``attributes`` and ``md5_of_attributes`` without attributes,
    ``group_id``, ``dedup_id`` and ``sequence_number`` on a standard queue (a receive of 1,000
    messages builds, packs and — in the client — unpacks five fewer fields per message)."""
    out: dict[str, Any] = {
        "message_id": message.message_id,
        "receipt": message.receipt,
        "md5_of_body": message.md5_of_body,
        "sent_ms": message.sent_ms,
        "receive_count": message.receive_count,
        "first_receive_ms": message.first_receive_ms,
    }
    if message.attributes:
        attributes: dict[str, list[Any]] = {}
        for name, (data_type, value) in message.attributes.items():
            if json and isinstance(value, bytes):
                value = base64.b64encode(value).decode()
            attributes[name] = [data_type, value]
        out["attributes"] = attributes
        out["md5_of_attributes"] = message.md5_of_attributes
    if message.group_id is not None:
        out["group_id"] = message.group_id
    if message.dedup_id is not None:
        out["dedup_id"] = message.dedup_id
    if message.sequence_number is not None:
        out["sequence_number"] = message.sequence_number
    if json:
        try:
            out["body"] = message.body.decode("utf-8")
        except UnicodeDecodeError:
            out["body_base64"] = base64.b64encode(message.body).decode()
    else:
        out["body"] = message.body
    return out


# -- the queue's schemas (read by the OpenAPI document and the boundary) ---------------------------
for _policy in (RedrivePolicy, RedriveAllowPolicy):
    _name = component(_policy)
    COMPONENTS[_name] = {**COMPONENTS[_name], UNKNOWN_FIELD_CODE: "InvalidRedrivePolicy"}
QUEUE_CONFIG = {**settings_schema(QueueConfig), UNKNOWN_FIELD_CODE: "InvalidAttributeName"}
QUEUE_CONFIG["properties"]["redrive_allow_policy"] = {  # null: the default (allowAll)
    **nullable(ref("RedriveAllowPolicy")),
    "default": {"permission": "allowAll", "source_queues": []},
}
COMPONENTS["QueueConfig"] = QUEUE_CONFIG
QUEUE_CHANGES = without_required(QUEUE_CONFIG)
QUEUE_ANSWER = open_object({"queue": ref("QueueConfig"), "created": BOOLEAN}, ["queue"])

COMPONENTS["SendEntry"] = closed(
    {
        "body": STRING,
        "body_base64": BASE64,
        "attributes": ATTRIBUTES,
        "delay_s": {"type": "integer", "minimum": 0, "maximum": 900},
        "group_id": STRING,
        "dedup_id": STRING,
    },
    description="One message: body (or body_base64) is required.",
)
SEND = {
    "anyOf": [
        ref("SendEntry"),
        closed(
            {"entries": per_entry(ref("SendEntry"), 1000)},
            ["entries"],
        ),
    ]
}  # fmt: skip
COMPONENTS["SendResult"] = open_object(
    {
        "message_id": STRING,
        "md5_of_body": STRING,
        "md5_of_attributes": nullable(STRING),
        "sequence_number": STRING,
    },
    ["message_id", "md5_of_body"],
)
BATCH_RESULTS = open_object(
    {"results": {"type": "array", "items": {"anyOf": [ref("SendResult"), ERROR]}}}, ["results"]
)
SEND_ANSWER = {"anyOf": [ref("SendResult"), BATCH_RESULTS]}
RECEIVE = closed(
    {
        "max_messages": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 1},
        "wait_s": nullable({"type": "integer", "minimum": 0, "maximum": 20}),
        "visibility_timeout_s": nullable({"type": "integer", "minimum": 0, "maximum": 43_200}),
    }
)
COMPONENTS["Message"] = open_object(
    {
        "message_id": STRING,
        "receipt": STRING,
        "body": STRING,
        "body_base64": BASE64,
        "md5_of_body": STRING,
        "md5_of_attributes": nullable(STRING),
        "attributes": {"type": "object"},
        "sent_ms": INTEGER,
        "receive_count": INTEGER,
        "first_receive_ms": nullable(INTEGER),
        "group_id": nullable(STRING),
        "dedup_id": nullable(STRING),
        "sequence_number": nullable(STRING),
    },
    ["message_id", "receipt", "md5_of_body", "receive_count"],
)
RECEIVE_ANSWER = open_object({"messages": {"type": "array", "items": ref("Message")}}, ["messages"])
RECEIPTS = per_entry(STRING, 1000)
DELETE = {"anyOf": [closed({"receipt": STRING}, ["receipt"]),
                    closed({"receipts": RECEIPTS}, ["receipts"])]}  # fmt: skip
_CHANGE = closed(
    {
        "receipt": {"description": "A receipt (a string); any other value fails alone."},
        "visibility_timeout_s": {
            "description": "0–43,200 seconds; any other value fails alone.",
            "examples": [0, 60],
        },
    },
    ["receipt", "visibility_timeout_s"],
)
VISIBILITY = {
    "anyOf": [
        _CHANGE,
        closed(
            {"changes": {"type": "array", "items": _CHANGE, "minItems": 1, "maxItems": 1000}},
            ["changes"],
        ),
    ]
}
SETTLE_ANSWER = {
    "anyOf": [
        {"type": "object", "maxProperties": 0},
        open_object(
            {"results": {"type": "array", "items": {"anyOf": [{"type": "null"}, ERROR]}}},
            ["results"],
        ),
    ]
}
MOVE_TASK_START = closed(
    {
        "source": STRING,
        "destination": nullable(STRING),
        "max_messages_per_s": nullable({"type": "integer", "minimum": 1, "maximum": 500}),
    },
    ["source"],
)
COMPONENTS["MoveTask"] = open_object(
    {
        "handle": STRING,
        "source": STRING,
        "destination": nullable(STRING),
        "status": {"enum": ["RUNNING", "COMPLETED", "CANCELLING", "CANCELLED", "FAILED"]},
        "started_ms": INTEGER,
        "moved": INTEGER,
        "to_move": INTEGER,
        "max_messages_per_s": nullable(INTEGER),
        "failure_reason": nullable(STRING),
    },
    ["handle", "source", "status"],
)
