"""The wire: one HTTP call as data, msgpack in and out, answers turned into payloads or errors.

Pure functions shared by every kind's operations and by both clients; nothing here does I/O.
An operation is an :class:`Op`: the :class:`Call` to make and how to read its answer.
"""

from __future__ import annotations

import decimal
import functools
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar
from urllib.parse import quote

import msgpack

from raybus.core.attributes import Attribute
from raybus.sdk.errors import (
    InternalError,
    InvalidParameterValue,
    RaybusError,
    error_for_status,
    error_from_wire,
)

__all__ = [
    "MSGPACK",
    "Call",
    "Op",
    "answer_list",
    "answer_map",
    "body_bytes",
    "decode_answer",
    "encode_attributes",
    "headers",
    "names_query",
    "nothing",
    "parse_attributes",
    "path",
    "retry_after_s",
    "without_none",
]

T_co = TypeVar("T_co", covariant=True)

MSGPACK = "application/msgpack"


@dataclass(slots=True)
class Call:
    """One HTTP request of the native API, before encoding (treat it as read-only: not frozen
    because a frozen dataclass's ``__init__`` costs three times as much, once per request).

    ``extra_timeout_s`` lengthens the read timeout (a long poll holds the answer for up to its
    wait); ``ok_statuses`` lists non-2xx statuses whose body is an answer, not an error
    (``/healthz`` answers 503 with its usual shape while degraded).
    """

    method: str
    path: str
    body: Mapping[str, Any] | None = None
    params: Mapping[str, str] | None = None
    extra_timeout_s: float = 0.0
    ok_statuses: tuple[int, ...] = ()

    def content(self) -> bytes | None:
        return None if self.body is None else pack(self.body)


@dataclass(slots=True)
class Op(Generic[T_co]):
    """A call and how to read its answer (the result type is covariant: an ``Op[dict]`` is
    an ``Op[Mapping]``; read-only like :class:`Call`)."""

    call: Call
    parse: Callable[[dict[str, Any]], T_co] = field(repr=False)


@functools.lru_cache(maxsize=1024)
def path(*segments: str) -> str:
    """``/v1/<segment>/...`` with every segment percent-encoded (remembered: a client names the
    same few resources in every request, and quoting cost 2 µs a request)."""
    return "/v1/" + "/".join(quote(segment, safe="") for segment in segments)


def names_query(prefix: str | None, limit: int | None) -> dict[str, str] | None:
    """The query of a list call (``prefix``, ``limit``); ``None`` when neither is given."""
    params = {}
    if prefix:
        params["prefix"] = prefix
    if limit is not None:
        params["limit"] = str(limit)
    return params or None


def without_none(settings: Mapping[str, Any]) -> dict[str, Any]:
    """``settings`` without its ``None`` values (left to the server's default)."""
    return {key: value for key, value in settings.items() if value is not None}


def headers(token: str | None, user_agent: str) -> dict[str, str]:
    base = {"Content-Type": MSGPACK, "Accept": MSGPACK, "User-Agent": user_agent}
    if token:
        base["Authorization"] = f"Bearer {token}"
    return base


def pack(payload: Mapping[str, Any]) -> bytes:
    packed: bytes = msgpack.packb(payload, use_bin_type=True)
    return packed


def _unpack(content: bytes, content_type: str) -> object:
    if "json" in content_type:
        return json.loads(content)
    if content_type.startswith("text/"):
        raise ValueError(f"a {content_type} body is not an API answer")
    return msgpack.unpackb(content, raw=False, strict_map_key=False)


def decode_answer(
    status: int, content_type: str, content: bytes, ok_statuses: tuple[int, ...] = ()
) -> dict[str, Any]:
    """The answer's payload (a map), or raise the typed error it carries.

    A success whose body is not a map, and a failure without a raybus error body, become
    :class:`~raybus.sdk.errors.InternalError` / the error the status implies.
    """
    try:
        payload = _unpack(content, content_type.lower()) if content else {}
    except (ValueError, msgpack.ExtraData, msgpack.FormatError, msgpack.StackError) as exc:
        if 200 <= status < 300:
            raise InternalError(
                f"The gateway answered {status} with an unreadable body.", http_status=status
            ) from exc
        raise error_for_status(status, content.decode("utf-8", "replace")) from exc
    ok = 200 <= status < 300 or status in ok_statuses
    if ok and isinstance(payload, dict) and "error" not in payload:
        return payload
    if isinstance(payload, dict) and isinstance(payload.get("error"), Mapping):
        raise error_from_wire(payload["error"], http_status=status)
    if 200 <= status < 300:
        raise InternalError(f"The gateway answered {status} with {payload!r:.200}.")
    raise error_for_status(status, str(payload))


def retry_after_s(header: str | None, error: RaybusError) -> float | None:
    """Seconds the server asked us to wait: the ``Retry-After`` header (whole seconds), else
    ``details["retry_after_s"]``; ``None`` when neither is a non-negative number."""
    for candidate in (header, error.details.get("retry_after_s")):
        if candidate is None or isinstance(candidate, bool):
            continue
        try:
            seconds = float(candidate)
        except (TypeError, ValueError):
            continue
        if seconds >= 0 and seconds == seconds:  # not NaN
            return seconds
    return None


# -- reading answers ---------------------------------------------------------------------------


def answer_map(answer: Mapping[str, Any], key: str) -> dict[str, Any]:
    """``answer[key]``, which must be a map (else :class:`InternalError`)."""
    value = answer.get(key)
    if not isinstance(value, dict):
        raise InternalError(f"The gateway's answer lacks the map {key!r}.")
    return value


def answer_list(answer: Mapping[str, Any], key: str) -> list[Any]:
    """``answer[key]``, which must be a list (else :class:`InternalError`)."""
    value = answer.get(key)
    if not isinstance(value, list):
        raise InternalError(f"The gateway's answer lacks the list {key!r}.")
    return value


def nothing(_: object) -> None:
    """The reading of an answer that carries nothing the caller needs."""
    return None


# -- bodies and attributes --------------------------------------------------------------------


def body_bytes(body: object) -> bytes:
    """A message body as bytes: bytes-like as is, ``str`` as UTF-8."""
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode("utf-8")
    if isinstance(body, (bytearray, memoryview)):
        return bytes(body)
    raise InvalidParameterValue(
        f"A message body is bytes or str, not {type(body).__name__}.", parameter="body"
    )


def _attribute(name: str, value: object) -> Attribute:
    if isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], str):
        data_type, raw = value
        if isinstance(raw, (bytearray, memoryview)):
            raw = bytes(raw)
        if not isinstance(raw, (str, bytes)):
            raise InvalidParameterValue(
                f"Message attribute '{name}' has a {type(raw).__name__} value; "
                "an explicit (data_type, value) takes str or bytes.",
                attribute=name,
            )
        return Attribute(data_type, raw)
    if isinstance(value, str):
        return Attribute("String", value)
    if isinstance(value, bool):
        raise InvalidParameterValue(
            f"Message attribute '{name}' is a bool; SQS has no boolean type "
            '(send "true"/"false" or 1/0).',
            attribute=name,
        )
    if isinstance(value, (int, float, decimal.Decimal)):
        return Attribute("Number", str(value))
    if isinstance(value, (bytes, bytearray, memoryview)):
        return Attribute("Binary", bytes(value))
    raise InvalidParameterValue(
        f"Message attribute '{name}' has a {type(value).__name__} value; use str, int, float, "
        "Decimal, bytes or an explicit (data_type, value).",
        attribute=name,
    )


def encode_attributes(attributes: Mapping[str, object] | None) -> dict[str, Attribute]:
    """Infer each attribute's data type: ``str`` → String, ``int``/``float``/``Decimal`` (not
    ``bool``) → Number, bytes-like → Binary; a ``(data_type, value)`` pair is taken as is.
    The values are not range-checked here; the gateway applies SQS's rules."""
    if not attributes:
        return {}
    if not isinstance(attributes, Mapping):
        raise InvalidParameterValue("Message attributes are a mapping of name to value.")
    return {str(name): _attribute(str(name), value) for name, value in attributes.items()}


def parse_attributes(raw: object) -> dict[str, Attribute]:
    """Wire attributes ``{name: [data_type, value]}`` as :class:`Attribute` pairs."""
    if not isinstance(raw, Mapping):
        return {}
    parsed: dict[str, Attribute] = {}
    for name, item in raw.items():
        if isinstance(item, (list, tuple)) and len(item) == 2:
            parsed[str(name)] = Attribute(str(item[0]), item[1])
    return parsed
