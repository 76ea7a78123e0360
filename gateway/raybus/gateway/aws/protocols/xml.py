"""XML response bodies per shape, as botocore's QueryParser reads them.

Structures are elements named by member (or ``locationName``); lists hold ``<member>`` (or the
list member's ``locationName``) elements, or repeat directly in the parent when flattened; maps
hold ``<entry><key/><value/></entry>`` (custom key/value names; flattened: the entries repeat
under the member's own name). Text is escaped, ``\\r`` as ``&#xD;`` so that it survives XML's
line-end normalisation. A code point XML 1.0 cannot carry (most C0 controls, lone surrogates,
U+FFFE/U+FFFF) raises ``ValueError``: SQS refuses such message bodies for this reason.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from raybus.gateway.aws.protocols.jsonshape import scalar_out

__all__ = ["escape", "write_members", "write_value"]

_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def escape(text: str, *, lenient: bool = False) -> str:
    """``text`` as XML character data (``lenient``: unwritable code points become U+FFFD)."""
    bad = _NOT_XML.search(text)
    if bad is not None:
        if not lenient:
            raise ValueError(f"U+{ord(bad.group()):04X} cannot be written in XML")
        text = _NOT_XML.sub("\ufffd", text)
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#xD;")
    )


def _scalar_text(shape: Any, value: Any) -> str:
    kind = shape.type_name
    out = scalar_out(shape, kind, value, "iso8601")
    if kind == "boolean":
        return "true" if out else "false"
    if kind in ("float", "double") and isinstance(out, float):
        return repr(out)
    return str(out)


def write_members(shape: Any, value: Any, out: list[str]) -> None:
    """The members of structure ``value`` as child elements, in the model's order."""
    if not isinstance(value, Mapping):
        raise TypeError(f"{shape.name} must be a mapping, not {type(value).__name__}")
    members = shape.members
    unknown = [name for name in value if name not in members]
    if unknown:
        raise ValueError(f"{unknown[0]!r} is not a member of {shape.name}")
    for name, member in members.items():
        item = value.get(name)
        if item is None:
            continue
        tag = member.serialization.get("name", name)
        if member.serialization.get("flattened") and member.type_name == "list":
            item_shape = member.member
            item_tag = item_shape.serialization.get("name", tag)
            for element in _sequence(member, item):
                write_value(item_shape, item_tag, element, out)
        elif member.serialization.get("flattened") and member.type_name == "map":
            for key, element in _mapping(member, item).items():
                out.append(f"<{tag}>")
                _write_entry(member, key, element, out)
                out.append(f"</{tag}>")
        else:
            write_value(member, tag, item, out)


def write_value(shape: Any, tag: str, value: Any, out: list[str]) -> None:
    """``<tag>value</tag>`` for any shape (containers in their non-flattened form)."""
    kind = shape.type_name
    out.append(f"<{tag}>")
    if kind == "structure":
        write_members(shape, value, out)
    elif kind == "list":
        item_shape = shape.member
        item_tag = item_shape.serialization.get("name", "member")
        for element in _sequence(shape, value):
            write_value(item_shape, item_tag, element, out)
    elif kind == "map":
        for key, element in _mapping(shape, value).items():
            out.append("<entry>")
            _write_entry(shape, key, element, out)
            out.append("</entry>")
    else:
        out.append(escape(_scalar_text(shape, value)))
    out.append(f"</{tag}>")


def _write_entry(shape: Any, key: Any, value: Any, out: list[str]) -> None:
    write_value(shape.key, shape.key.serialization.get("name", "key"), key, out)
    write_value(shape.value, shape.value.serialization.get("name", "value"), value, out)


def _sequence(shape: Any, value: Any) -> list[Any] | tuple[Any, ...]:
    if not isinstance(value, list | tuple):
        raise TypeError(f"{shape.name} must be a list, not {type(value).__name__}")
    return value


def _mapping(shape: Any, value: Any) -> Mapping[Any, Any]:
    if not isinstance(value, Mapping):
        raise TypeError(f"{shape.name} must be a mapping, not {type(value).__name__}")
    return value
