"""JSON bodies per shape, shared by the json and rest-json codecs.

:func:`load_json` reads a body (strict UTF-8, standard JSON, no lone surrogates);
:func:`from_json` turns the decoded value into botocore-style params (members by name, blobs as
``bytes``, timestamps as aware ``datetime``), raising :class:`~.values.BadValue` at the first
value that does not fit; :func:`to_json` does the reverse for outputs, raising ``TypeError`` or
``ValueError`` when a service hands over something its model does not describe.

Members that are absent or ``null`` are left out; members the model does not know are ignored
(as AWS's services do); a ``null`` inside a list or map is refused.

Every request and answer passes through here, so the walk is not interpreted per value: each
shape is compiled once, on first use, into a reader and a writer (closures that know their
members, kinds and names), kept for the life of the process — the models never change.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, NoReturn

import orjson

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
    refused) or nests too deep.

    orjson reads every well-formed body (several times faster than :mod:`json`); a body it
    refuses — or one with a lone surrogate escape, which it refuses and the shape readers name
    by path — is read again by :mod:`json`, whose refusals (byte offsets, line and column) are
    the ones clients see, so both readers give the same answers."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        pass
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


Reader = Callable[[Any, str], Any]  # (JSON value, path) -> params value
Writer = Callable[[Any], Any]  # output value -> JSON value


class _Compiled:
    """One shape's compiled reader or writer. ``run`` is set once built; holding the shape
    keeps its ``id`` (the cache key) from being reused, and a recursive shape refers to its
    own entry before ``run`` is set."""

    __slots__ = ("run", "shape")

    def __init__(self, shape: Any) -> None:
        self.shape = shape
        self.run: Any = None


_READERS: dict[tuple[int, bool], _Compiled] = {}
_WRITERS: dict[tuple[int, bool], _Compiled] = {}


def _compiled(
    cache: dict[tuple[int, bool], _Compiled],
    build: Callable[[Any, bool], Any],
    shape: Any,
    body_only: bool,
) -> _Compiled:
    key = (id(shape), body_only)
    found = cache.get(key)
    if found is None:
        found = cache[key] = _Compiled(shape)
        found.run = build(shape, body_only)
    return found


def from_json(shape: Any, value: Any, path: str = "", *, body_only: bool = False) -> Any:
    """botocore-style params for ``value`` under ``shape`` (``body_only``: a rest-json input
    structure, whose members placed in the URI or headers are not read from the body)."""
    return _compiled(_READERS, _build_reader, shape, body_only).run(value, path)


def _reader(shape: Any) -> _Compiled:
    return _compiled(_READERS, _build_reader, shape, False)


def _build_reader(shape: Any, body_only: bool) -> Reader:
    kind = shape.type_name
    if kind == "structure":
        if shape.is_document_type:
            return _not_null(check_document)
        return _structure_reader(shape, body_only)
    if kind == "list":
        return _list_reader(_reader(shape.member))
    if kind == "map":
        return _map_reader(_reader(shape.key), _reader(shape.value))
    return _scalar_reader(shape, kind)


def _refuse(value: Any, expected: str, path: str) -> NoReturn:
    """A container reader's refusal: null is named as such, anything else by what was due."""
    raise BadValue("a value, not null" if value is None else expected, path)


def _not_null(read: Reader) -> Reader:
    def checked(value: Any, path: str) -> Any:
        if value is None:
            raise BadValue("a value, not null", path)
        return read(value, path)

    return checked


def _structure_reader(shape: Any, body_only: bool) -> Reader:
    members = [
        (name, member.serialization.get("name", name), _reader(member))
        for name, member in shape.members.items()
        if not (body_only and "location" in member.serialization)
    ]

    def read(value: Any, path: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            _refuse(value, "an object", path)
        out: dict[str, Any] = {}
        for name, key, member in members:
            item = value.get(key)
            if item is not None:
                out[name] = member.run(item, f"{path}.{key}" if path else key)
        return out

    return read


def _list_reader(member: _Compiled) -> Reader:
    def read(value: Any, path: str) -> list[Any]:
        if not isinstance(value, list):
            _refuse(value, "an array", path)
        run = member.run
        return [run(item, f"{path}[{i}]") for i, item in enumerate(value)]

    return read


def _map_reader(key_reader: _Compiled, value_reader: _Compiled) -> Reader:
    def read(value: Any, path: str) -> dict[Any, Any]:
        if not isinstance(value, dict):
            _refuse(value, "an object", path)
        out: dict[Any, Any] = {}
        for key, item in value.items():
            where = join(path, key)
            out[key_reader.run(key, where)] = value_reader.run(item, where)
        return out

    return read


def _scalar_reader(shape: Any, kind: str) -> Reader:
    if kind in ("string", "character"):

        def read_text(value: Any, path: str) -> Any:
            if type(value) is str and value.isascii():  # the common case, checked at once
                return value
            if value is None:
                raise BadValue("a value, not null", path)
            if not isinstance(value, str):
                raise BadValue("a string", path)
            if bad_text(value):
                raise BadValue("text without lone surrogates", path)
            return value

        return read_text

    def read(value: Any, path: str) -> Any:
        if value is None:
            raise BadValue("a value, not null", path)
        try:
            return _scalar_in(shape, kind, value)
        except BadValue as error:
            raise error.at(path) from None

    return read


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
    return _compiled(_WRITERS, _build_writer, shape, body_only).run(value)


def _writer(shape: Any) -> _Compiled:
    return _compiled(_WRITERS, _build_writer, shape, False)


def _build_writer(shape: Any, body_only: bool) -> Writer:
    kind = shape.type_name
    if kind == "structure":
        if shape.is_document_type:
            return lambda value: value
        return _structure_writer(shape, body_only)
    if kind == "list":
        member = _writer(shape.member)

        def write_list(value: Any) -> list[Any]:
            if not isinstance(value, list | tuple):
                raise TypeError(f"{shape.name} must be a list, not {type(value).__name__}")
            run = member.run
            return [run(item) for item in value]

        return write_list
    if kind == "map":
        item_writer = _writer(shape.value)

        def write_map(value: Any) -> dict[str, Any]:
            if not isinstance(value, Mapping):
                raise TypeError(f"{shape.name} must be a mapping, not {type(value).__name__}")
            run = item_writer.run
            return {str(key): run(item) for key, item in value.items()}

        return write_map
    if kind in ("string", "character"):

        def write_text(value: Any) -> Any:
            if not isinstance(value, str):
                raise TypeError(f"{shape.name} must be a str, not {type(value).__name__}")
            return value

        return write_text
    return lambda value: scalar_out(shape, kind, value, "unixtimestamp")


def _structure_writer(shape: Any, body_only: bool) -> Writer:
    # name -> (wire name, writer), or None for a member a body does not carry
    members: dict[str, tuple[str, _Compiled] | None] = {
        name: None
        if body_only and "location" in member.serialization
        else (member.serialization.get("name", name), _writer(member))
        for name, member in shape.members.items()
    }

    def write(value: Any) -> dict[str, Any]:
        if type(value) is not dict and not isinstance(value, Mapping):
            raise TypeError(f"{shape.name} must be a mapping, not {type(value).__name__}")
        out: dict[str, Any] = {}
        for name, item in value.items():
            if item is None:
                continue
            if name not in members:
                raise ValueError(f"{name!r} is not a member of {shape.name}")
            member = members[name]
            if member is not None:
                out[member[0]] = member[1].run(item)
        return out

    return write


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
