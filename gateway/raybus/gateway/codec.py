"""Wire encoding of the native API (docs/http-api.md): msgpack or JSON bodies, both directions.

Pure functions, no I/O, shared by every kind: the codec chosen per request, the error body,
base64 and attribute helpers, UTF-8 byte counts. Each kind's own wire forms live beside its
routes (:mod:`raybus.gateway.queue_wire`, :mod:`raybus.gateway.topic_wire`).
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
from raybus.gateway.text import check_text

__all__ = [
    "JSON",
    "MAX_HTTP_BODY",
    "MSGPACK",
    "Codec",
    "attributes_from_json",
    "b64_field",
    "check_keys",
    "error_body",
    "media_type",
    "utf8_len",
]

MSGPACK = "application/msgpack"
JSON = "application/json"
MAX_HTTP_BODY = 4 << 20
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


def b64_field(value: object, parameter: str) -> bytes:
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


def attributes_from_json(attributes: object) -> object:
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
            item = [item[0], b64_field(item[1], f"attributes.{name}")]
        out[name] = item
    return out


def utf8_len(value: object) -> int:
    """Bytes of a str (as UTF-8) or bytes value; 0 for anything else."""
    if isinstance(value, str):
        return len(value.encode("utf-8", "surrogatepass"))
    if isinstance(value, (bytes, bytearray)):
        return len(value)
    return 0


def check_keys(data: Mapping[str, Any], allowed: frozenset[str]) -> None:
    """Refuse unknown request fields (a typo must not silently fall back to a default)."""
    unknown = sorted(map(str, set(data) - allowed))
    if unknown:
        raise RaybusError(
            "InvalidParameterValue",
            f"Unknown field(s): {', '.join(unknown)}.",
            parameter=unknown[0],
        )
