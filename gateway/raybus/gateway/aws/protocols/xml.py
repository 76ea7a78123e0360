"""XML bodies per shape: written as botocore's XML parsers read them (query and rest-xml
answers), and read safely (rest-xml requests).

Writing: structures are elements named by member (or ``locationName``); lists hold
``<member>`` (or the list member's ``locationName``) elements, or repeat directly in the parent
when flattened; maps hold ``<entry><key/><value/></entry>`` (custom key/value names; flattened:
the entries repeat under the member's own name). A member marked ``xmlAttribute`` is an
attribute of its structure's element (``xsi:type``), and a shape's prefixed ``xmlNamespace``
is declared on its element (``xmlns:xsi="..."``). Text is escaped, ``\\r`` as ``&#xD;`` so that
it survives XML's line-end normalisation. A code point XML 1.0 cannot carry (most C0 controls,
lone surrogates, U+FFFE/U+FFFF) raises ``ValueError``: SQS refuses such message bodies for this
reason. Timestamps are ISO 8601 with milliseconds (``millis=True``: always exactly three
digits, as S3 writes them; otherwise microseconds when they are not whole milliseconds).

Reading: :func:`parse_xml` builds a small tree of :class:`Element` with expat, refusing any
document type declaration (so no entity can be declared, let alone expanded) and nesting deeper
than ``max_depth``; namespace prefixes are dropped from element names and ``xmlns``
declarations from attributes, so that a reader matches local names only.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import timezone
from typing import Any
from xml.parsers import expat

from raybus.gateway.aws.protocols.jsonshape import scalar_out
from raybus.gateway.aws.protocols.values import to_datetime

__all__ = [
    "Element",
    "XmlError",
    "escape",
    "escape_attribute",
    "open_tag",
    "parse_xml",
    "scalar_text",
    "write_members",
    "write_value",
]

_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_SPECIAL = re.compile("[&<>\r]|[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def escape(text: str, *, lenient: bool = False) -> str:
    """``text`` as XML character data (``lenient``: unwritable code points become U+FFFD)."""
    if _SPECIAL.search(text) is None:
        return text
    bad = _NOT_XML.search(text)
    if bad is not None:
        if not lenient:
            raise ValueError(f"U+{ord(bad.group()):04X} cannot be written in XML")
        text = _NOT_XML.sub("\ufffd", text)
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#xD;")
    )


def escape_attribute(text: str, *, lenient: bool = False) -> str:
    """``text`` as a double-quoted attribute value (white space kept as character references,
    which attribute-value normalisation leaves alone)."""
    return (
        escape(text, lenient=lenient)
        .replace('"', "&quot;")
        .replace("\n", "&#xA;")
        .replace("\t", "&#x9;")
    )


def _millis(value: Any) -> str:
    when = to_datetime(value).astimezone(timezone.utc).replace(tzinfo=None)
    return when.isoformat(timespec="milliseconds") + "Z"


def scalar_text(shape: Any, value: Any, *, millis: bool = False) -> str:
    """A scalar as XML text (before escaping)."""
    kind = shape.type_name
    timestamp_format = shape.serialization.get("timestampFormat", "iso8601")
    if millis and kind == "timestamp" and timestamp_format == "iso8601":
        return _millis(value)
    out = scalar_out(shape, kind, value, "iso8601")
    if kind == "boolean":
        return "true" if out else "false"
    if kind in ("float", "double") and isinstance(out, float):
        return repr(out)
    return str(out)


def _namespace_declaration(shape: Any) -> str:
    namespace = shape.serialization.get("xmlNamespace")
    if isinstance(namespace, Mapping) and namespace.get("prefix"):
        uri = escape_attribute(str(namespace.get("uri", "")))
        return f' xmlns:{namespace["prefix"]}="{uri}"'
    return ""


def open_tag(shape: Any, tag: str, value: Any, *, extra: str = "", millis: bool = False) -> str:
    """The start tag of ``value`` (a structure's xmlAttribute members and its shape's prefixed
    namespace as attributes; ``extra`` is added verbatim, e.g. `` xmlns="..."``)."""
    attributes = [extra, _namespace_declaration(shape)]
    if shape.type_name == "structure" and isinstance(value, Mapping):
        for name, member in shape.members.items():
            if not member.serialization.get("xmlAttribute"):
                continue
            item = value.get(name)
            if item is None:
                continue
            wire = member.serialization.get("name", name)
            text = escape_attribute(scalar_text(member, item, millis=millis))
            attributes.append(f' {wire}="{text}"')
    return f"<{tag}{''.join(attributes)}>"


def write_members(shape: Any, value: Any, out: list[str], *, millis: bool = False) -> None:
    """The members of structure ``value`` as child elements, in the model's order (its
    xmlAttribute members belong to its start tag: :func:`open_tag`)."""
    _writer(shape, millis).members(value, out)


def write_value(shape: Any, tag: str, value: Any, out: list[str], *, millis: bool = False) -> None:
    """``<tag>value</tag>`` for any shape (containers in their non-flattened form)."""
    _writer(shape, millis).element(tag, value, out)


# Every answer passes through here, so each shape is compiled once, on first use, into an
# element writer (and, for a structure, a members writer) that knows its members, kinds and
# names; kept for the life of the process, keyed by the shape's id (the entry holds the shape,
# so that the id is not reused). A recursive shape finds its own entry before it is complete.

ElementWriter = Callable[[str, Any, list[str]], None]  # (tag, value, out)
MembersWriter = Callable[[Any, list[str]], None]  # (structure value, out)


class _Writer:
    __slots__ = ("element", "members", "shape")

    def __init__(self, shape: Any) -> None:
        self.shape = shape
        self.element: ElementWriter = _unbuilt
        self.members: MembersWriter = _unbuilt


def _unbuilt(*_: Any) -> None:
    raise RuntimeError("a writer used before it was built")


_WRITERS: dict[tuple[int, bool], _Writer] = {}


def _writer(shape: Any, millis: bool) -> _Writer:
    key = (id(shape), millis)
    found = _WRITERS.get(key)
    if found is None:
        found = _WRITERS[key] = _Writer(shape)
        _build(found, shape, millis)
    return found


def _build(writer: _Writer, shape: Any, millis: bool) -> None:
    kind = shape.type_name
    if kind == "structure":
        _build_structure(writer, shape, millis)
    elif kind == "list":
        writer.element = _list_element(shape, millis)
    elif kind == "map":
        writer.element = _map_element(shape, millis)
    else:
        writer.element = _scalar_element(shape, millis)


def _build_structure(writer: _Writer, shape: Any, millis: bool) -> None:
    members = shape.members
    names = frozenset(members)
    # (name, how, tag, writer): how is "plain", "list" (flattened) or "map" (flattened)
    plan: list[tuple[str, str, str, _Writer]] = []
    attributes = False
    for name, member in members.items():
        serialization = member.serialization
        if serialization.get("xmlAttribute"):
            attributes = True
            continue
        tag = serialization.get("name", name)
        if serialization.get("flattened") and member.type_name == "list":
            item = member.member
            plan.append((name, "list", item.serialization.get("name", tag), _writer(item, millis)))
        elif serialization.get("flattened") and member.type_name == "map":
            plan.append((name, "map", tag, _writer(member, millis)))
        else:
            plan.append((name, "plain", tag, _writer(member, millis)))
    declaration = _namespace_declaration(shape)
    shape_name = shape.name

    def write_members(value: Any, out: list[str]) -> None:
        if not isinstance(value, Mapping):
            raise TypeError(f"{shape_name} must be a mapping, not {type(value).__name__}")
        for name in value:
            if name not in names:
                raise ValueError(f"{name!r} is not a member of {shape_name}")
        for name, how, tag, member in plan:
            item = value.get(name)
            if item is None:
                continue
            if how == "plain":
                member.element(tag, item, out)
            elif how == "list":
                element = member.element
                for entry in _sequence(member.shape, item):
                    element(tag, entry, out)
            else:
                for key, entry in _mapping(member.shape, item).items():
                    out.append(f"<{tag}>")
                    _write_entry(member.shape, key, entry, out, millis)
                    out.append(f"</{tag}>")

    def element(tag: str, value: Any, out: list[str]) -> None:
        if attributes:
            out.append(open_tag(shape, tag, value, millis=millis))
        else:
            out.append(f"<{tag}{declaration}>")
        write_members(value, out)
        out.append(f"</{tag}>")

    writer.members = write_members
    writer.element = element


def _list_element(shape: Any, millis: bool) -> ElementWriter:
    item = _writer(shape.member, millis)
    item_tag = shape.member.serialization.get("name", "member")
    declaration = _namespace_declaration(shape)

    def element(tag: str, value: Any, out: list[str]) -> None:
        out.append(f"<{tag}{declaration}>")
        write = item.element
        for entry in _sequence(shape, value):
            write(item_tag, entry, out)
        out.append(f"</{tag}>")

    return element


def _map_element(shape: Any, millis: bool) -> ElementWriter:
    declaration = _namespace_declaration(shape)

    def element(tag: str, value: Any, out: list[str]) -> None:
        out.append(f"<{tag}{declaration}>")
        for key, entry in _mapping(shape, value).items():
            out.append("<entry>")
            _write_entry(shape, key, entry, out, millis)
            out.append("</entry>")
        out.append(f"</{tag}>")

    return element


def _scalar_element(shape: Any, millis: bool) -> ElementWriter:
    kind = shape.type_name
    name = shape.name
    if kind in ("string", "character"):

        def text(tag: str, value: Any, out: list[str]) -> None:
            if not isinstance(value, str):
                raise TypeError(f"{name} must be a str, not {type(value).__name__}")
            out.append(f"<{tag}>{escape(value)}</{tag}>")

        return text
    if kind in ("integer", "long", "short", "byte"):

        def number(tag: str, value: Any, out: list[str]) -> None:
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"{name} must be an int, not {type(value).__name__}")
            out.append(f"<{tag}>{value}</{tag}>")

        return number

    def other(tag: str, value: Any, out: list[str]) -> None:
        out.append(f"<{tag}>{escape(scalar_text(shape, value, millis=millis))}</{tag}>")

    return other


def _write_entry(shape: Any, key: Any, value: Any, out: list[str], millis: bool) -> None:
    _writer(shape.key, millis).element(shape.key.serialization.get("name", "key"), key, out)
    value_tag = shape.value.serialization.get("name", "value")
    _writer(shape.value, millis).element(value_tag, value, out)


def _sequence(shape: Any, value: Any) -> list[Any] | tuple[Any, ...]:
    if not isinstance(value, list | tuple):
        raise TypeError(f"{shape.name} must be a list, not {type(value).__name__}")
    return value


def _mapping(shape: Any, value: Any) -> Mapping[Any, Any]:
    if not isinstance(value, Mapping):
        raise TypeError(f"{shape.name} must be a mapping, not {type(value).__name__}")
    return value


# -- reading ---------------------------------------------------------------------------------


class XmlError(ValueError):
    """A document that is not well-formed XML, declares a document type, or nests too deep."""


class Element:
    """One element of a parsed document: its local ``name`` (prefix dropped), its
    ``attributes`` by their raw names (``xsi:type``; ``xmlns`` declarations dropped), its
    child elements, and the character data directly inside it, exactly as written (CDATA
    included, entities resolved)."""

    __slots__ = ("_parts", "attributes", "children", "name")

    def __init__(self, name: str, attributes: dict[str, str]) -> None:
        self.name = name
        self.attributes = attributes
        self.children: list[Element] = []
        self._parts: list[str] = []

    @property
    def text(self) -> str:
        return "".join(self._parts)

    def attribute(self, name: str) -> str | None:
        """The attribute ``name`` (``xsi:type``), else one of the same local name (``type``
        under any prefix)."""
        found = self.attributes.get(name)
        if found is not None:
            return found
        local = name.rpartition(":")[2]
        for key, value in self.attributes.items():
            if key.rpartition(":")[2] == local:
                return value
        return None

    def __repr__(self) -> str:
        return f"Element({self.name!r}, {len(self.children)} children)"


def _local(name: str) -> str:
    return name.rpartition(":")[2]


def parse_xml(body: bytes, *, max_depth: int = 64) -> Element:
    """The root element of ``body``; :class:`XmlError` if it is not well-formed XML (expat's
    reasons: bad UTF-8, unknown encoding, mismatched tags, undefined entities, ...), has a
    document type declaration, or nests deeper than ``max_depth``."""
    parser = expat.ParserCreate()
    parser.buffer_text = True
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    stack: list[Element] = []
    roots: list[Element] = []

    def start(name: str, attributes: dict[str, str]) -> None:
        if len(stack) >= max_depth:
            raise XmlError(f"elements nested deeper than {max_depth}")
        kept = {
            key: value
            for key, value in attributes.items()
            if key != "xmlns" and not key.startswith("xmlns:")
        }
        element = Element(_local(name), kept)
        if stack:
            stack[-1].children.append(element)
        else:
            roots.append(element)
        stack.append(element)

    def end(name: str) -> None:
        stack.pop()

    def text(data: str) -> None:
        if stack:
            stack[-1]._parts.append(data)

    def doctype(*_: Any) -> None:
        raise XmlError("a document type declaration")

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = text
    parser.StartDoctypeDeclHandler = doctype
    parser.EntityDeclHandler = doctype
    try:
        parser.Parse(body, True)
    except expat.ExpatError as error:
        raise XmlError(str(error)) from None
    except RecursionError:
        raise XmlError("elements nested too deep") from None
    if len(roots) != 1:
        raise XmlError("no root element")
    return roots[0]
