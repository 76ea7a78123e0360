"""Text that raybus can store: valid Unicode, encodable as UTF-8.

JSON can spell a lone surrogate (``"\\ud800"``) and Python keeps it in a ``str``; so does
msgpack decoded with ``surrogateescape``. Such a string cannot be written to the log, the
catalog or an error message that crosses a process, so the gateway refuses it where a request
is decoded (:func:`check_text`), naming the field.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from raybus.core.errors import RaybusError

__all__ = ["check_text", "field_path"]


def field_path(parts: Sequence[str | int]) -> str:
    """``("entries", 3, "body")`` → ``entries[3].body``."""
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out or "body"


def _bad_text(text: str) -> int | None:
    """The index of the first code point of ``text`` UTF-8 cannot store, else None."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        return error.start
    return None


# A path as a linked list (parent, key): pushing a child costs O(1) at any depth.
_Path = tuple[Any, str | int] | None


def _unlink(node: _Path, root: Sequence[str | int]) -> list[str | int]:
    parts: list[str | int] = []
    while node is not None:
        node, key = node
        parts.append(key)
    return [*root, *reversed(parts)]


def check_text(value: object, root: Sequence[str | int] = ()) -> None:
    """Raise ``InvalidParameterValue`` naming the first string (key or value, at any depth)
    that holds a code point UTF-8 cannot store. Iterative and O(size) at any depth; ASCII
    strings (most of them) cost one ``isascii`` call."""
    stack: list[tuple[object, _Path]] = [(value, None)]
    while stack:
        item, node = stack.pop()
        if isinstance(item, str):
            at = None if item.isascii() else _bad_text(item)
            if at is not None:
                name = field_path(_unlink(node, root))
                raise RaybusError(
                    "InvalidParameterValue",
                    f"{name} is not valid Unicode text: it holds U+{ord(item[at]):04X} (a lone "
                    f"surrogate) at character {at}. Send text as UTF-8; send bytes as base64 "
                    "(body_base64), or as msgpack bin.",
                    parameter=name,
                )
        elif isinstance(item, dict):
            for key, child in item.items():
                if isinstance(key, str) and not key.isascii() and _bad_text(key) is not None:
                    name = field_path(_unlink(node, root))
                    raise RaybusError(
                        "InvalidParameterValue",
                        f"{name} has a field name that is not valid Unicode text.",
                        parameter=name,
                    )
                stack.append((child, (node, key if isinstance(key, (str, int)) else "?")))
        elif isinstance(item, (list, tuple)):
            stack.extend((child, (node, index)) for index, child in enumerate(item))
