"""The topic's wire forms (docs/http-api.md): publish entries in, publish results out.

Pure functions, no I/O, the same rules as :mod:`raybus.gateway.queue_wire`: the gateway checks
the *shape* of a request (a map, known fields, batch limits, types the wire fixes); the rules of
each message (body text, sizes, attribute types, subject, FIFO ids) stay in the topic engine, so
that every batch entry gets its own error and each rule has one home.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from raybus.core.errors import RaybusError
from raybus.core.topics import (
    MessageStructure,
    PublishEntry,
    PublishResult,
    SubscriptionConfig,
    TopicConfig,
)
from raybus.gateway.codec import attributes_from_json, b64_field, check_keys, utf8_len
from raybus.gateway.schemas import (
    ATTRIBUTES,
    BASE64,
    BOOLEAN,
    COMPONENTS,
    ERROR,
    STRING,
    closed,
    only,
    open_object,
    per_entry,
    ref,
    settings_schema,
)

__all__ = [
    "MAX_PUBLISH_BATCH",
    "MAX_PUBLISH_BATCH_BYTES",
    "publish_entries_from_wire",
    "publish_entry_from_wire",
    "publish_result_to_wire",
]

MAX_PUBLISH_BATCH = 10  # SNS PublishBatch
MAX_PUBLISH_BATCH_BYTES = 262_144  # SNS: the messages of one PublishBatch total ≤ 256 KiB
MAX_ENTRY_ID_CHARS = 80
_ENTRY_ID = re.compile(r"[A-Za-z0-9_-]{1,80}")
_PUBLISH_KEYS = frozenset(
    {"body", "body_base64", "attributes", "subject", "group_id", "dedup_id", "structure"}
)


def _invalid(parameter: str, message: str) -> RaybusError:
    return RaybusError("InvalidParameterValue", message, parameter=parameter)


# -- publish ----------------------------------------------------------------------------------


def _optional_text(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        raise _invalid(key, f"{key} must be a string.")
    return value


def _structure(data: Mapping[str, Any]) -> MessageStructure | None:
    value = data.get("structure")
    if value is not None and value != "json":
        raise _invalid("structure", 'structure is "json" (SNS\'s MessageStructure) or absent.')
    return value


def publish_entry_from_wire(data: object, *, json: bool) -> PublishEntry:
    """One message to publish: ``body`` (or ``body_base64``), ``attributes`` (Binary values in
    base64 when ``json``), ``subject``, ``group_id``, ``dedup_id``, ``structure`` (``"json"``:
    the body is SNS's JSON object of per-protocol messages, checked by the topic). Unknown
    fields are refused (there is no ``delay_s`` on a topic)."""
    if not isinstance(data, dict):
        raise _invalid("entries", "A message entry must be a map.")
    check_keys(data, _PUBLISH_KEYS)
    if "body_base64" in data:
        if "body" in data:
            raise _invalid("body", "Give body or body_base64, not both.")
        body: Any = b64_field(data["body_base64"], "body_base64")
    elif data.get("body") is not None:
        body = data["body"]
    else:
        raise RaybusError("MissingParameter", "A message needs a body.", parameter="body")
    attributes = data.get("attributes")
    if json:
        attributes = attributes_from_json(attributes)
    return PublishEntry(
        body=body,
        attributes=attributes,
        subject=_optional_text(data, "subject"),
        group_id=_optional_text(data, "group_id"),
        dedup_id=_optional_text(data, "dedup_id"),
        structure=_structure(data),
    )


def _size(entry: PublishEntry) -> int:
    """Bytes toward the batch limit: body plus attribute names, data types and values."""
    size = utf8_len(entry.body)
    if isinstance(entry.attributes, dict):
        for name, item in entry.attributes.items():
            size += utf8_len(name)
            if isinstance(item, (list, tuple)):
                size += sum(utf8_len(part) for part in item)
    return size


def _entry_id(item: object) -> str | None:
    if not isinstance(item, dict) or item.get("id") is None:
        return None
    value = item["id"]
    if not isinstance(value, str) or not _ENTRY_ID.fullmatch(value):
        raise RaybusError(
            "InvalidBatchEntryId",
            f"A batch entry id is 1–{MAX_ENTRY_ID_CHARS} alphanumerics, hyphens or underscores.",
            parameter="id",
        )
    return value


def publish_entries_from_wire(
    data: Mapping[str, Any], *, json: bool
) -> tuple[list[PublishEntry | RaybusError], list[str | None], bool]:
    """The entries of a publish request, their ids and whether it was a batch.

    A batch is ``{"entries": [...]}``: 1–10 entries (``EmptyBatchRequest``,
    ``TooManyEntriesInBatchRequest``), optional ``id`` s that are well formed
    (``InvalidBatchEntryId``) and distinct (``BatchEntryIdsNotDistinct``), messages totalling at
    most 262,144 UTF-8 bytes (``BatchRequestTooLong``) — these refuse the whole request. A
    malformed entry becomes its error in place; the others are published."""
    if "entries" not in data:
        return [publish_entry_from_wire(dict(data), json=json)], [None], False
    check_keys(data, frozenset({"entries"}))
    raw = data["entries"]
    if not isinstance(raw, list):
        raise _invalid("entries", "entries must be a list.")
    if not raw:
        raise RaybusError("EmptyBatchRequest", "The batch has no entries.")
    if len(raw) > MAX_PUBLISH_BATCH:
        raise RaybusError(
            "TooManyEntriesInBatchRequest",
            f"A publish batch holds at most {MAX_PUBLISH_BATCH} entries, not {len(raw)}.",
            limit=MAX_PUBLISH_BATCH,
        )
    ids = [_entry_id(item) for item in raw]
    named = [entry_id for entry_id in ids if entry_id is not None]
    if len(set(named)) != len(named):
        raise RaybusError("BatchEntryIdsNotDistinct", "Two batch entries share an id.")
    entries: list[PublishEntry | RaybusError] = []
    total = 0
    for item in raw:
        try:
            fields_ = (
                {k: v for k, v in item.items() if k != "id"} if isinstance(item, dict) else item
            )
            entry = publish_entry_from_wire(fields_, json=json)
        except RaybusError as error:
            entries.append(error)
            continue
        total += _size(entry)
        entries.append(entry)
    if total > MAX_PUBLISH_BATCH_BYTES:
        raise RaybusError(
            "BatchRequestTooLong",
            f"The batch's messages total {total} bytes; the limit is {MAX_PUBLISH_BATCH_BYTES}.",
            size=total,
            limit=MAX_PUBLISH_BATCH_BYTES,
        )
    return entries, ids, True


def publish_result_to_wire(result: PublishResult, entry_id: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"message_id": result.message_id}
    if entry_id is not None:
        out["id"] = entry_id
    if result.sequence_number is not None:
        out["sequence_number"] = result.sequence_number
    if result.duplicate:
        out["duplicate"] = True
    return out


# -- the topic's schemas (read by the OpenAPI document and the boundary) ---------------------------
COMPONENTS["TopicConfig"] = settings_schema(TopicConfig)
COMPONENTS["PublishEntry"] = closed(
    {
        "body": STRING,
        "body_base64": BASE64,
        "attributes": ATTRIBUTES,
        "subject": {"type": "string", "maxLength": 100},
        "group_id": STRING,
        "dedup_id": STRING,
        "structure": {"enum": ["json"]},
    }
)
_BATCH_ID = {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,80}$"}
PUBLISH = {
    "anyOf": [
        ref("PublishEntry"),
        closed(
            {
                "entries": per_entry(
                    closed({**COMPONENTS["PublishEntry"]["properties"], "id": _BATCH_ID}), 10
                )
            },
            ["entries"],
        ),
    ]
}
COMPONENTS["PublishResult"] = open_object(
    {"message_id": STRING, "id": STRING, "sequence_number": STRING, "duplicate": BOOLEAN},
    ["message_id"],
)
PUBLISH_ANSWER = {
    "anyOf": [
        ref("PublishResult"),
        open_object(
            {
                "results": {
                    "type": "array",
                    "items": {"anyOf": [ref("PublishResult"), ERROR]},
                }
            },
            ["results"],
        ),
    ]
}
COMPONENTS["SubscriptionConfig"] = settings_schema(SubscriptionConfig)
SUBSCRIBE = settings_schema(SubscriptionConfig, exclude=("id", "topic"))
SUBSCRIPTION_CHANGES = only(
    COMPONENTS["SubscriptionConfig"],
    ("raw", "filter_policy", "filter_policy_scope", "dead_letter_queue", "delivery_policy",
     "enabled"),
)  # fmt: skip
