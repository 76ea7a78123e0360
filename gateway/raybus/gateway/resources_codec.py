"""Wire encoding of the topic, function and event-source-mapping routes (docs/http-api.md).

Pure functions, no I/O, the same rules as :mod:`raybus.gateway.codec`: the gateway checks the
*shape* of a request (a map, known fields, batch limits, types the wire fixes); the rules of
each message (body text, sizes, attribute types, subject, FIFO ids) stay in the topic engine
and the rules of each setting in :mod:`raybus.core.resources` (applied by the controller), so
that every batch entry gets its own error and each rule has one home.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from raybus.core.errors import RaybusError
from raybus.core.resources import (
    PublishEntry,
    PublishResult,
)
from raybus.gateway.codec import _attributes_from_json, _b64, check_keys, utf8_len

__all__ = [
    "MAX_PUBLISH_BATCH",
    "MAX_PUBLISH_BATCH_BYTES",
    "check_json_value",
    "function_settings_from_wire",
    "publish_entries_from_wire",
    "publish_entry_from_wire",
    "publish_result_to_wire",
    "query_limit",
]

MAX_PUBLISH_BATCH = 10  # SNS PublishBatch
MAX_PUBLISH_BATCH_BYTES = 262_144  # SNS: the messages of one PublishBatch total ≤ 256 KiB
MAX_ENTRY_ID_CHARS = 80
MAX_LIST_LIMIT = 1000
_ENTRY_ID = re.compile(r"[A-Za-z0-9_-]{1,80}")
_PUBLISH_KEYS = frozenset({"body", "body_base64", "attributes", "subject", "group_id", "dedup_id"})


def _invalid(parameter: str, message: str) -> RaybusError:
    return RaybusError("InvalidParameterValue", message, parameter=parameter)


# -- publish ----------------------------------------------------------------------------------


def _optional_text(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        raise _invalid(key, f"{key} must be a string.")
    return value


def publish_entry_from_wire(data: object, *, json: bool) -> PublishEntry:
    """One message to publish: ``body`` (or ``body_base64``), ``attributes`` (Binary values in
    base64 when ``json``), ``subject``, ``group_id``, ``dedup_id``. Unknown fields are refused
    (there is no ``delay_s`` on a topic)."""
    if not isinstance(data, dict):
        raise _invalid("entries", "A message entry must be a map.")
    check_keys(data, _PUBLISH_KEYS)
    if "body_base64" in data:
        if "body" in data:
            raise _invalid("body", "Give body or body_base64, not both.")
        body: Any = _b64(data["body_base64"], "body_base64")
    elif data.get("body") is not None:
        body = data["body"]
    else:
        raise RaybusError("MissingParameter", "A message needs a body.", parameter="body")
    attributes = data.get("attributes")
    if json:
        attributes = _attributes_from_json(attributes)
    return PublishEntry(
        body=body,
        attributes=attributes,
        subject=_optional_text(data, "subject"),
        group_id=_optional_text(data, "group_id"),
        dedup_id=_optional_text(data, "dedup_id"),
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


# -- functions --------------------------------------------------------------------------------


def function_settings_from_wire(data: Mapping[str, Any], *, json: bool) -> dict[str, Any]:
    """Function settings with the uploaded code as ``"code": bytes``: msgpack carries it as
    ``code`` (bin), JSON as ``code_base64`` (the boundary has refused unknown fields)."""
    settings = dict(data)
    if "code_base64" in settings:
        if "code" in settings:
            raise _invalid("code", "Give code or code_base64, not both.")
        settings["code"] = _b64(settings.pop("code_base64"), "code_base64")
    elif "code" in settings:
        code = settings["code"]
        if isinstance(code, bytearray):
            code = settings["code"] = bytes(code)
        if not isinstance(code, bytes):
            hint = " (in JSON, send code_base64)" if json else ""
            raise _invalid("code", f"code is the serialised handler's bytes{hint}.")
    if "code" in settings and not settings["code"]:
        raise _invalid("code", "code is empty.")
    return settings


def check_json_value(value: object, parameter: str = "payload") -> None:
    """Refuse what JSON cannot carry (bytes, non-string keys, NaN, infinities): a function's
    event is a JSON value, as Lambda's is. Iterative, so deep nesting cannot overflow."""
    stack = [value]
    while stack:
        item = stack.pop()
        if item is None or isinstance(item, (str, bool, int)):
            continue
        if isinstance(item, float):
            if not math.isfinite(item):
                raise _invalid(parameter, f"{parameter} holds a number JSON cannot carry.")
        elif isinstance(item, dict):
            if not all(isinstance(key, str) for key in item):
                raise _invalid(parameter, f"{parameter} is JSON: map keys are strings.")
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        else:
            raise _invalid(
                parameter, f"{parameter} is a JSON value; it holds a {type(item).__name__}."
            )


def query_limit(query: Mapping[str, str], default: int = MAX_LIST_LIMIT) -> int:
    """``?limit=``: a positive integer (default 1,000)."""
    raw = query.get("limit")
    if raw is None:
        return default
    try:
        limit = int(raw)
    except ValueError as exc:
        raise _invalid("limit", "limit must be an integer.") from exc
    if limit < 1:
        raise _invalid("limit", "limit is at least 1.")
    return limit
