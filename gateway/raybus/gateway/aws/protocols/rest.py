"""What the rest protocols (rest-json, rest-xml) share: members that live outside the body.

An input member sits where the model's ``location`` puts it, as botocore's BaseRestSerializer
writes it: ``uri`` (a label of the ``requestUri`` template, percent-decoded), ``querystring``
(lists as repeated keys, a map takes the keys no other member or literal claims), ``header``
(lists comma-separated, items with a comma or a quote in double quotes; ``jsonvalue`` strings
as base64 JSON; timestamps RFC 822 unless the member names its format) and ``headers`` (a map
of every header under a prefix, ``x-amz-meta-``). Outputs go back the same way, plus
``statusCode``.

:func:`read_located` fills params from a request, raising :class:`BadParameter` (a
:class:`~.values.BadValue` naming the parameter and its raw text) for a value that does not fit;
:func:`place_located` writes an output's located members into response headers, raising
``TypeError``/``ValueError`` for a value the model does not describe or that a header cannot
carry (CR, LF, a code point past U+00FF).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import unquote

from raybus.gateway.aws.protocols.jsonshape import scalar_out
from raybus.gateway.aws.protocols.routes import X_ID
from raybus.gateway.aws.protocols.values import BadValue, bad_text, scalar_from_text
from raybus.gateway.aws.protocols.wire import WireRequest

__all__ = [
    "BadParameter",
    "header_text",
    "place_located",
    "read_located",
    "split_header_list",
]

_NOT_HEADER = re.compile("[^\t\x20-\x7e\x80-\xff]")
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+\Z")


class BadParameter(BadValue):
    """A located value that does not fit its member: ``name`` is its wire name (header, query
    key, label), ``value`` its raw text."""

    def __init__(self, reason: str, name: str, value: str) -> None:
        super().__init__(reason, name)
        self.name = name
        self.value = value


def split_header_list(text: str) -> list[str]:
    """A comma-separated header list; items in double quotes may hold commas and ``\\"``."""
    items: list[str] = []
    i, n = 0, len(text)
    while i <= n:
        while i < n and text[i] in " \t":
            i += 1
        if i < n and text[i] == '"':
            i += 1
            chars: list[str] = []
            while i < n and text[i] != '"':
                if text[i] == "\\" and i + 1 < n:
                    i += 1
                chars.append(text[i])
                i += 1
            items.append("".join(chars))
            comma = text.find(",", i)
            i = n if comma < 0 else comma
        else:
            comma = text.find(",", i)
            end = n if comma < 0 else comma
            items.append(text[i:end].strip())
            i = end
        i += 1
    return items


def _header_list_item(text: str) -> str:
    return '"' + text.replace('"', '\\"') + '"' if '"' in text or "," in text else text


def _text(shape: Any, text: str, timestamp_format: str, wire: str) -> Any:
    try:
        return scalar_from_text(shape, shape.type_name, text, timestamp_format)
    except BadValue as error:
        raise BadParameter(error.reason, wire, text) from None


def _header(member: Any, text: str, wire: str) -> Any:
    if member.type_name == "list":
        return [_text(member.member, item, "rfc822", wire) for item in split_header_list(text)]
    if member.type_name == "string" and member.serialization.get("jsonvalue"):
        try:
            return json.loads(base64.b64decode(text, validate=True).decode("utf-8"))
        except (binascii.Error, ValueError, UnicodeDecodeError):
            raise BadParameter("base64-encoded JSON", wire, text) from None
    return _text(member, text, "rfc822", wire)


class _Plan:
    """Where an input shape's located members live, by wire name (compiled once per shape:
    a request is read by walking its own few headers and query pairs, not every member)."""

    __slots__ = ("headers", "prefixes", "query", "query_map", "shape", "uri")

    def __init__(self, shape: Any) -> None:
        self.shape = shape  # holds the id the cache is keyed by
        self.uri: list[tuple[str, str, Any]] = []
        self.query: dict[str, tuple[str, Any]] = {}
        self.query_map: tuple[str, Any] | None = None
        self.headers: dict[str, tuple[str, str, Any]] = {}  # lower-cased wire name -> member
        self.prefixes: list[tuple[str, str]] = []  # (lower-cased prefix, member name)
        for name, member in shape.members.items():
            location = member.serialization.get("location")
            wire = str(member.serialization.get("name", name))
            if location == "uri":
                self.uri.append((name, wire, member))
            elif location == "querystring":
                if member.type_name == "map":
                    self.query_map = (name, member)
                else:
                    self.query[wire] = (name, member)
            elif location == "header":
                self.headers[wire.lower()] = (name, wire, member)
            elif location == "headers":
                self.prefixes.append((wire.lower(), name))


_PLANS: dict[int, _Plan] = {}


def _plan(shape: Any) -> _Plan:
    found = _PLANS.get(id(shape))
    if found is None:
        found = _PLANS[id(shape)] = _Plan(shape)
    return found


def read_located(
    shape: Any,
    labels: Mapping[str, str],
    request: WireRequest,
    params: dict[str, Any],
    *,
    claimed: Iterable[str] = (),
    lower_prefixed: bool = False,
) -> None:
    """Fill ``params`` with the members of input ``shape`` that live in the URI (``labels``:
    the raw label values), the query string and the headers of ``request``.

    ``claimed``: query keys a query-string map must not take (the template's literal parts;
    ``x-id`` never goes to one either). ``lower_prefixed``: the keys of a ``headers`` (prefix)
    map are lower-cased, as S3 stores its ``x-amz-meta-*`` names; otherwise they keep the case
    they arrived in. A header that arrives several times has its values joined by ``,`` (as
    HTTP allows); a query key that does, the last value (a list member takes them all)."""
    plan = _plan(shape)
    for name, wire, member in plan.uri:
        raw = labels.get(wire)
        if raw is not None:
            try:
                text = unquote(raw, errors="strict")
            except UnicodeDecodeError:
                raise BadParameter("a URI label in UTF-8", wire, raw) from None
            params[name] = _text(member, text, "iso8601", wire)
    if request.query:
        _read_query(plan, request.query, params, claimed)
    found: dict[str, list[str]] = {}
    prefixed: dict[str, dict[str, str]] = {}
    for key, value in request.headers.items():
        lowered = key.lower()
        if lowered in plan.headers:
            found.setdefault(lowered, []).append(value)
        for prefix, name in plan.prefixes:
            if lowered.startswith(prefix) and len(lowered) > len(prefix):
                rest = lowered[len(prefix) :] if lower_prefixed else key[len(prefix) :]
                into = prefixed.setdefault(name, {})
                into[rest] = f"{into[rest]},{value}" if rest in into else value
    for lowered, values in found.items():
        name, wire, member = plan.headers[lowered]
        params[name] = _header(member, values[0] if len(values) == 1 else ",".join(values), wire)
    params.update(prefixed)


def _read_query(
    plan: _Plan,
    query: Iterable[tuple[str, str]],
    params: dict[str, Any],
    claimed: Iterable[str],
) -> None:
    pairs = list(query)
    for key, value in pairs:
        if bad_text(key) or bad_text(value):
            raise BadParameter("a query string in UTF-8", "", "")
    lists: dict[str, list[Any]] = {}
    for key, value in pairs:
        entry = plan.query.get(key)
        if entry is None:
            continue
        name, member = entry
        if member.type_name == "list":
            lists.setdefault(name, []).append(_text(member.member, value, "iso8601", key))
        else:
            params[name] = _text(member, value, "iso8601", key)
    params.update(lists)
    if plan.query_map is None:
        return
    taken = {X_ID, *claimed, *plan.query}
    name, member = plan.query_map
    rest_pairs: dict[str, Any] = {}
    for key, value in pairs:
        if key in taken:
            continue
        if member.value.type_name == "list":
            rest_pairs.setdefault(key, []).append(value)
        else:
            rest_pairs[key] = value
    if rest_pairs:
        params[name] = rest_pairs


def header_text(member: Any, value: Any) -> str:
    """``value`` as the text of header member ``member``; ``ValueError`` for text a header
    cannot carry."""
    kind = member.type_name
    if kind == "list":
        text = ",".join(_header_list_item(header_text(member.member, item)) for item in value)
    elif kind == "string" and member.serialization.get("jsonvalue"):
        data = json.dumps(value, separators=(",", ":")).encode("utf-8")
        text = base64.b64encode(data).decode("ascii")
    else:
        out = scalar_out(member, kind, value, "rfc822")
        text = ("true" if out else "false") if kind == "boolean" else str(out)
    bad = _NOT_HEADER.search(text)
    if bad is not None:
        raise ValueError(f"U+{ord(bad.group()):04X} cannot be sent in a header")
    return text


def place_located(
    members: Mapping[str, Any],
    values: Mapping[str, Any],
    headers: dict[str, str],
    status: int,
) -> int:
    """Write the located members of ``values`` into ``headers``; the status, which a
    ``statusCode`` member replaces."""
    for name, member in members.items():
        item = values.get(name)
        location = member.serialization.get("location")
        if item is None or location is None:
            continue
        wire = member.serialization.get("name", name)
        if location == "statusCode":
            status = int(item)
        elif location == "header":
            headers[wire] = header_text(member, item)
        elif location == "headers":
            if not isinstance(item, Mapping):
                raise TypeError(f"{member.name} must be a mapping, not {type(item).__name__}")
            for key, value in item.items():
                text = str(value)
                if not _TOKEN.match(str(key)) or _NOT_HEADER.search(text):
                    raise ValueError(f"{wire}{key!r} cannot be sent as a header")
                headers[wire + str(key)] = text
    return status
