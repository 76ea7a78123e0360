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
from raybus.engines import ReceivedMessage, SendEntry, SendResult
from raybus.gateway.codec import attributes_from_json, b64_field, check_keys, utf8_len

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


def entry_from_wire(data: object, *, json: bool) -> SendEntry:
    if not isinstance(data, dict):
        raise RaybusError("InvalidParameterValue", "A message entry must be a map.")
    unknown = set(data) - _ENTRY_KEYS
    if unknown:
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
        body=body,
        attributes=attributes,
        delay_s=data.get("delay_s"),
        group_id=data.get("group_id"),
        dedup_id=data.get("dedup_id"),
    )


def _size(entry: SendEntry) -> int:
    """Bytes the entry counts toward the batch limit: body plus attribute names, data types and
    values, in UTF-8 (as :func:`raybus.core.attributes_size` counts them)."""
    size = utf8_len(entry.body)
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
    out: dict[str, Any] = {
        "message_id": result.message_id,
        "md5_of_body": result.md5_of_body,
        "md5_of_attributes": result.md5_of_attributes,
    }
    if result.sequence_number is not None:
        out["sequence_number"] = result.sequence_number
    return out


def message_to_wire(message: ReceivedMessage, *, json: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        "message_id": message.message_id,
        "receipt": message.receipt,
        "md5_of_body": message.md5_of_body,
        "md5_of_attributes": message.md5_of_attributes,
        "sent_ms": message.sent_ms,
        "receive_count": message.receive_count,
        "first_receive_ms": message.first_receive_ms,
        "group_id": message.group_id,
        "dedup_id": message.dedup_id,
        "sequence_number": message.sequence_number,
    }
    attributes: dict[str, list[Any]] = {}
    for name, (data_type, value) in message.attributes.items():
        if json and isinstance(value, bytes):
            value = base64.b64encode(value).decode()
        attributes[name] = [data_type, value]
    out["attributes"] = attributes
    if json:
        try:
            out["body"] = message.body.decode("utf-8")
        except UnicodeDecodeError:
            out["body_base64"] = base64.b64encode(message.body).decode()
    else:
        out["body"] = message.body
    return out
