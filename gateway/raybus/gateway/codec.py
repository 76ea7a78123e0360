"""Wire encoding of the native API (docs/http-api.md): msgpack or JSON bodies, both directions.

Pure functions, no I/O. Request parsing checks the *shape* (a map, lists where lists belong,
no unknown keys, batch limits); per-message rules (sizes, attribute types, FIFO ids) stay in
the engine so that every entry of a batch gets its own error. A client can never set the
transfer-only fields of :class:`SendEntry` (``message_id``, ``sent_ms``, ``system``): unknown
keys are refused.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from typing import Any

import msgpack

from raybus.core.errors import RaybusError
from raybus.engines import ReceivedMessage, SendEntry, SendResult
from raybus.gateway.text import check_text

__all__ = [
    "JSON",
    "MAX_BATCH",
    "MAX_BATCH_BYTES",
    "MAX_HTTP_BODY",
    "MSGPACK",
    "Codec",
    "check_keys",
    "entries_from_wire",
    "entry_from_wire",
    "error_body",
    "media_type",
    "message_to_wire",
    "result_to_wire",
    "utf8_len",
]

MSGPACK = "application/msgpack"
JSON = "application/json"
MAX_HTTP_BODY = 4 << 20
MAX_BATCH = 1000
MAX_BATCH_BYTES = 1 << 20
_ENTRY_KEYS = frozenset({"body", "body_base64", "attributes", "delay_s", "group_id", "dedup_id"})
_JSON_TYPES = ("application/json", "text/json")
_MSGPACK_TYPES = ("application/msgpack", "application/x-msgpack", "application/vnd.msgpack")
# A lone surrogate in JSON comes from an escape \uD800-\uDFFF or from the raw bytes ED A0-BF
# (Python's json decodes bytes with "surrogatepass"). Paired surrogates match too: then the
# decoded value is walked, which finds nothing wrong.
_MAYBE_SURROGATE = re.compile(rb"\\u[dD][89abcdefABCDEF]|\xed[\xa0-\xbf]")


def media_type(content_type: str | None) -> bool | None:
    """Whether a body of ``content_type`` is JSON (True) or msgpack (False); None if it is
    neither (the gateway answers 415). A missing content type means JSON."""
    if not content_type:
        return True
    kind = content_type.split(";", 1)[0].strip().lower()
    if kind in _JSON_TYPES or kind.endswith("+json"):
        return True
    if kind in _MSGPACK_TYPES:
        return False
    return None


class Codec:
    """msgpack or JSON, chosen per request."""

    __slots__ = ("json",)

    def __init__(self, *, json: bool) -> None:
        self.json = json

    @classmethod
    def for_request(cls, content_type: str | None, accept: str | None) -> Codec:
        """The body's encoding if it has a supported one, else what ``Accept`` asks for."""
        kind = media_type(content_type) if content_type else None
        if kind is not None:
            return cls(json=kind)
        return cls(json=not (accept and "msgpack" in accept))

    @property
    def content_type(self) -> str:
        return JSON if self.json else MSGPACK

    def decode(self, raw: bytes) -> dict[str, Any]:
        """The request body as a map (an empty body is an empty map), every string in it
        valid Unicode (:func:`raybus.gateway.text.check_text`). (Python's JSON reads ``NaN``
        and ``Infinity``, as msgpack carries them: the fields that take numbers refuse them.)
        Cost: a regular-expression scan of the raw JSON decides
        whether the decoded value needs walking at all; msgpack is decoded strictly and
        decoded again only to name the field of a string that is not UTF-8."""
        if not raw:
            return {}
        try:
            data = json.loads(raw) if self.json else msgpack.unpackb(raw, raw=False)
        except UnicodeDecodeError:
            where = None if self.json else _bad_msgpack_text(raw)
            if where is not None:
                raise RaybusError(
                    "MalformedRequest",
                    f"{where} is a msgpack string that is not UTF-8.",
                    parameter=where,
                ) from None
            kind = "UTF-8 JSON" if self.json else "msgpack"
            raise RaybusError("MalformedRequest", f"The body is not valid {kind}.") from None
        except (
            ValueError,
            RecursionError,  # nested past the parser's depth
            msgpack.ExtraData,
            msgpack.FormatError,
            msgpack.StackError,
        ) as exc:
            kind = "JSON" if self.json else "msgpack"
            raise RaybusError("MalformedRequest", f"The body is not valid {kind}.") from exc
        if not isinstance(data, dict):
            raise RaybusError("MalformedRequest", "The body must be a map.")
        if self.json and _MAYBE_SURROGATE.search(raw):
            check_text(data)
        return data

    def encode(self, payload: Mapping[str, Any]) -> bytes:
        if self.json:
            return json.dumps(payload, separators=(",", ":")).encode()
        packed: bytes = msgpack.packb(payload, use_bin_type=True)
        return packed


def _bad_msgpack_text(raw: bytes) -> str | None:
    """The field whose msgpack string is not UTF-8 (decoded with ``surrogateescape`` its
    bytes become lone surrogates, which :func:`check_text` finds), or None."""
    try:
        data = msgpack.unpackb(raw, raw=False, unicode_errors="surrogateescape")
        check_text(data if isinstance(data, dict) else {"body": data})
    except RaybusError as error:
        return str(error.details.get("parameter", "body"))
    except Exception:
        return None
    return None


def error_body(error: RaybusError) -> dict[str, Any]:
    return {"error": error.to_wire()}


def _b64(value: object, parameter: str) -> bytes:
    if not isinstance(value, str):
        raise RaybusError(
            "InvalidParameterValue", f"{parameter} must be base64 text.", parameter=parameter
        )
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise RaybusError(
            "InvalidParameterValue", f"{parameter} is not valid base64.", parameter=parameter
        ) from exc


def _attributes_from_json(attributes: object) -> object:
    """JSON carries Binary attribute values as base64 text; everything else passes through
    (the engine validates it)."""
    if not isinstance(attributes, dict):
        return attributes
    out: dict[str, object] = {}
    for name, item in attributes.items():
        if (
            isinstance(item, list)
            and len(item) == 2
            and isinstance(item[0], str)
            and item[0].split(".", 1)[0] == "Binary"
        ):
            item = [item[0], _b64(item[1], f"attributes.{name}")]
        out[name] = item
    return out


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
        body: Any = _b64(data["body_base64"], "body_base64")
    elif "body" in data:
        body = data["body"]
        if body is None:
            raise RaybusError("MissingParameter", "A message needs a body.", parameter="body")
    else:
        raise RaybusError("MissingParameter", "A message needs a body.", parameter="body")
    attributes = data.get("attributes")
    if json:
        attributes = _attributes_from_json(attributes)
    return SendEntry(
        body=body,
        attributes=attributes,
        delay_s=data.get("delay_s"),
        group_id=data.get("group_id"),
        dedup_id=data.get("dedup_id"),
    )


def utf8_len(value: object) -> int:
    """Bytes of a str (as UTF-8) or bytes value; 0 for anything else."""
    if isinstance(value, str):
        return len(value.encode("utf-8", "surrogatepass"))
    if isinstance(value, (bytes, bytearray)):
        return len(value)
    return 0


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


def check_keys(data: Mapping[str, Any], allowed: frozenset[str]) -> None:
    """Refuse unknown request fields (a typo must not silently fall back to a default)."""
    unknown = sorted(map(str, set(data) - allowed))
    if unknown:
        raise RaybusError(
            "InvalidParameterValue",
            f"Unknown field(s): {', '.join(unknown)}.",
            parameter=unknown[0],
        )


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
