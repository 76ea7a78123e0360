"""Text that must be UTF-8 where it enters the command: arguments, stdin and files.

POSIX hands a program bytes. Python decodes ``argv`` and the environment — and stdin under
the C/POSIX locale — with ``surrogateescape``, so a byte that is not UTF-8 (0xNN) arrives as
the lone surrogate U+DCNN and fails only later, deep in the SDK, when the text is encoded to be
sent. A JSON ``\\ud800`` escape yields a lone surrogate from pure ASCII input. These helpers
find such text before anything is sent, and say where it is.

Stdlib only: ``raybus rules`` uses them and stays free of heavy imports.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

__all__ = [
    "TextError",
    "Undecodable",
    "decode_utf8",
    "find_undecodable",
    "lone_surrogate",
    "non_utf8",
    "read_stdin",
    "stdin_lines",
]

_ESCAPED_BYTES = range(0xDC80, 0xDD00)  # surrogateescape maps byte 0xNN (>= 0x80) to U+DCNN


class TextError(Exception):
    """Input that cannot be read as UTF-8 text (the message says where)."""


@dataclass(frozen=True, slots=True)
class Undecodable:
    """The first byte of ``data`` that is not UTF-8: 1-based line (lines end at ``\\n``) and
    byte column within that line."""

    line: int
    column: int
    byte: int

    def __str__(self) -> str:
        return f"byte 0x{self.byte:02x} at line {self.line}, column {self.column}"


def find_undecodable(data: bytes) -> Undecodable | None:
    """Where ``data`` stops being UTF-8, or ``None`` if all of it is (one C-speed decode)."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        start = exc.start
        line_start = data.rfind(b"\n", 0, start) + 1
        return Undecodable(data.count(b"\n", 0, start) + 1, start - line_start + 1, data[start])
    return None


def decode_utf8(data: bytes, source: str) -> str:
    """``data`` as text; :class:`TextError` naming ``source`` and the place if it is not UTF-8."""
    bad = find_undecodable(data)
    if bad is not None:
        raise TextError(f"{source} is not valid UTF-8 ({bad})")
    return data.decode("utf-8")


def non_utf8(text: str, *, escapes: bool = True) -> str | None:
    """What keeps ``text`` from being encoded as UTF-8 — the first lone surrogate, shown as
    the byte it stands for when ``escapes`` (text decoded with ``surrogateescape``) — or
    ``None`` if nothing does."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        code = ord(text[exc.start])
        where = f"at character {exc.start + 1}"
        if escapes and code in _ESCAPED_BYTES:
            return f"byte 0x{code - 0xDC00:02x} {where}"
        return f"lone surrogate U+{code:04X} {where}"
    return None


def lone_surrogate(value: Any) -> str | None:
    """The first string (a key or a value) in a parsed JSON ``value`` that UTF-8 cannot encode
    (a lone ``\\ud800``-style escape), described by :func:`non_utf8`; ``None`` if there is none.
    Iterative, so nesting depth costs no stack."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            problem = non_utf8(item, escapes=False)
            if problem is not None:
                shown = item if len(item) <= 40 else item[:40] + "..."
                return f"{problem} of {shown!r}"
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return None


def read_stdin() -> bytes:
    """All of stdin as bytes, never decoded (a text stream without a buffer, as tests install,
    is encoded back the way Python decoded it)."""
    stream = sys.stdin
    if stream is None:  # started with stdin closed
        return b""
    try:
        buffer = getattr(stream, "buffer", None)
        if buffer is not None:
            data: bytes = buffer.read()
            return data
        return stream.read().encode("utf-8", "surrogateescape")
    except OSError as exc:
        raise TextError(f"cannot read stdin: {exc.strerror or exc}") from exc


def stdin_lines(data: bytes) -> Iterator[bytes]:
    """The non-empty lines of ``data``: a line ends at ``\\n``; trailing ``\\r``/``\\n`` are
    dropped, every other byte is kept as it is."""
    for line in io.BytesIO(data):
        stripped = line.rstrip(b"\r\n")
        if stripped:
            yield stripped
