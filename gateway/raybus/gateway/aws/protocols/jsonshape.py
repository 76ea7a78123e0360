"""JSON bodies per shape, shared by the json and rest-json codecs.

:func:`load_json` reads a body (strict UTF-8, standard JSON, no lone surrogates);
:func:`from_json` turns the decoded value into botocore-style params (members by name, blobs as
``bytes``, timestamps as aware ``datetime``), raising :class:`~.values.BadValue` at the first
value that does not fit; :func:`to_json` does the reverse for outputs, raising ``TypeError`` or
``ValueError`` when a service hands over something its model does not describe.

Members that are absent or ``null`` are left out; members the model does not know are ignored
(as AWS's services do); a ``null`` inside a list or map is refused.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from raybus.gateway.aws.protocols.values import (
    BadValue,
    b64decode,
    b64encode,
    bad_text,
    check_int,
    float_from_text,
    float_out,
    parse_timestamp,
    timestamp_out,
)

__all__ = ["check_document", "from_json", "join", "load_json", "scalar_out", "to_json"]


def join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def load_json(body: bytes) -> Any:
    """The JSON value of ``body``; ``BadValue`` if it is not UTF-8 JSON (NaN and Infinity
    refused) or nests too deep."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise BadValue(f"UTF-8 text (byte {error.start} is not)") from error
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except RecursionError as error:
        raise BadValue("JSON nested less deeply") from error
    except ValueError as error:  # JSONDecodeError, and the constants above
        raise BadValue(f"JSON ({error})") from error


def check_document(value: Any, path: str) -> Any:
    """A document member's value as it is, once checked to be JSON without lone surrogates
    (iteratively: any depth)."""
    stack: list[tuple[Any, str]] = [(value, path)]
    while stack:
        item, where = stack.pop()
        if isinstance(item, str):
            if bad_text(item):
                raise BadValue("text without lone surrogates", where)
        elif isinstance(item, dict):
            for key, child in item.items():
                if not isinstance(key, str) or bad_text(key):
                    raise BadValue("text without lone surrogates", where)
                stack.append((child, join(where, key)))
        elif isinstance(item, list):
            stack.extend((child, f"{where}[{i}]") for i, child in enumerate(item))
        elif item is not None and not isinstance(item, bool | int | float):
            raise BadValue("a JSON value", where)
    return value


def _structure_in(shape: Any, value: Any, path: str, body_only: bool) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise BadValue("an object", path)
    out: dict[str, Any] = {}
    for name, member in shape.members.items():
        if body_only and "location" in member.serialization:
            continue
        key = member.serialization.get("name", name)
        item = value.get(key)
        if item is not None:
            out[name] = from_json(member, item, join(path, key))
    return out


def from_json(shape: Any, value: Any, path: str = "", *, body_only: bool = False) -> Any:
    """botocore-style params for ``value`` under ``shape`` (``body_only``: a rest-json input
    structure, whose members placed in the URI or headers are not read from the body)."""
    kind = shape.type_name
    if value is None:
        raise BadValue("a value, not null", path)
    if kind == "structure":
        if shape.is_document_type:
            return check_document(value, path)
        return _structure_in(shape, value, path, body_only)
    if kind == "list":
        if not isinstance(value, list):
            raise BadValue("an array", path)
        member = shape.member
        return [from_json(member, item, f"{path}[{i}]") for i, item in enumerate(value)]
    if kind == "map":
        if not isinstance(value, dict):
            raise BadValue("an object", path)
        out: dict[Any, Any] = {}
        for key, item in value.items():
            where = join(path, key)
            out[from_json(shape.key, key, where)] = from_json(shape.value, item, where)
        return out
    try:
        return _scalar_in(shape, kind, value)
    except BadValue as error:
        raise error.at(path) from None


def _scalar_in(shape: Any, kind: str, value: Any) -> Any:
    if kind in ("string", "character"):
        if not isinstance(value, str):
            raise BadValue("a string")
        if bad_text(value):
            raise BadValue("text without lone surrogates")
        return value
    if kind in ("integer", "long", "short", "byte"):
        if isinstance(value, bool) or not isinstance(value, int):
            raise BadValue(f"an {kind}")
        return check_int(value, kind)
    if kind in ("float", "double"):
        if isinstance(value, str):
            if value in ("NaN", "Infinity", "-Infinity"):
                return float_from_text(value)
            raise BadValue("a number")
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise BadValue("a number")
        return float(value)
    if kind == "boolean":
        if not isinstance(value, bool):
            raise BadValue("a boolean")
        return value
    if kind == "blob":
        if not isinstance(value, str):
            raise BadValue("base64-encoded bytes")
        return b64decode(value)
    if kind == "timestamp":
        return parse_timestamp(value, shape.serialization.get("timestampFormat", "unixtimestamp"))
    raise BadValue(f"a value of a type this codec knows ({kind})")


def to_json(shape: Any, value: Any, *, body_only: bool = False) -> Any:
    """The JSON value of a service's output ``value`` under ``shape``."""
    kind = shape.type_name
    if kind == "structure":
        if shape.is_document_type:
            return value
        if not isinstance(value, Mapping):
            raise TypeError(f"{shape.name} must be a mapping, not {type(value).__name__}")
        members = shape.members
        out: dict[str, Any] = {}
        for name, item in value.items():
            if item is None:
                continue
            member = members.get(name)
            if member is None:
                raise ValueError(f"{name!r} is not a member of {shape.name}")
            if body_only and "location" in member.serialization:
                continue
            out[member.serialization.get("name", name)] = to_json(member, item)
        return out
    if kind == "list":
        if not isinstance(value, list | tuple):
            raise TypeError(f"{shape.name} must be a list, not {type(value).__name__}")
        return [to_json(shape.member, item) for item in value]
    if kind == "map":
        if not isinstance(value, Mapping):
            raise TypeError(f"{shape.name} must be a mapping, not {type(value).__name__}")
        return {str(key): to_json(shape.value, item) for key, item in value.items()}
    return scalar_out(shape, kind, value, "unixtimestamp")


def scalar_out(shape: Any, kind: str, value: Any, timestamp_format: str) -> Any:
    """A scalar for JSON (or, through ``str``, for a header or XML text)."""
    if kind in ("string", "character"):
        if not isinstance(value, str):
            raise TypeError(f"{shape.name} must be a str, not {type(value).__name__}")
        return value
    if kind in ("integer", "long", "short", "byte"):
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"{shape.name} must be an int, not {type(value).__name__}")
        return value
    if kind in ("float", "double"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise TypeError(f"{shape.name} must be a number, not {type(value).__name__}")
        return float_out(value)
    if kind == "boolean":
        if not isinstance(value, bool):
            raise TypeError(f"{shape.name} must be a bool, not {type(value).__name__}")
        return value
    if kind == "blob":
        return b64encode(value)
    if kind == "timestamp":
        return timestamp_out(value, shape.serialization.get("timestampFormat", timestamp_format))
    raise TypeError(f"{shape.name} has a type this codec cannot write ({kind})")
