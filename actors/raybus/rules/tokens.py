"""JSON pull tokens for pattern text, with Jackson's error messages.

AWS validates event patterns and filter policies with event-ruler, which reads them with a
Jackson streaming parser: errors surface in document order, duplicate keys are seen twice, and
whatever follows the first JSON value is never read. :class:`TextTokens` reproduces that reading
(and the first line of Jackson's messages for malformed JSON) so validation can mirror the
event-ruler compiler token by token. :class:`ObjectTokens` yields the same tokens for an
already-parsed Python value.

Contract: ``next()`` returns the next :class:`Token` or ``None`` at the end of input; malformed
text raises :class:`JsonSyntaxError` with Jackson's message at the token where Jackson fails.
Cost is O(length of the text actually read).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from typing import NamedTuple

__all__ = [
    "DEPTH_MESSAGE",
    "END_ARRAY",
    "END_OBJECT",
    "FALSE",
    "FIELD_NAME",
    "FLOAT",
    "INT",
    "MAX_DEPTH",
    "NULL",
    "START_ARRAY",
    "START_OBJECT",
    "STRING",
    "TRUE",
    "JsonSyntaxError",
    "ObjectTokens",
    "TextTokens",
    "Token",
    "Tokens",
]

START_OBJECT = 1
END_OBJECT = 2
START_ARRAY = 3
END_ARRAY = 4
FIELD_NAME = 5
STRING = 6
INT = 7
FLOAT = 8
TRUE = 9
FALSE = 10
NULL = 11

_VALID_TOKENS = "(JSON String, Number, Array, Object or token 'null', 'true' or 'false')"
_WS = " \t\r\n"
_MAX_TOKEN = 256
_MAX_SOURCE = 500
MAX_DEPTH = 1000  # Jackson's StreamReadConstraints default
DEPTH_MESSAGE = (
    f"Document nesting depth ({MAX_DEPTH + 1}) exceeds the maximum allowed ({MAX_DEPTH}, from "
    "`StreamReadConstraints.getMaxNestingDepth()`)"
)
_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}


class JsonSyntaxError(ValueError):
    """Malformed JSON; the message is the first line of Jackson's message."""


class Token(NamedTuple):
    kind: int
    text: str  # Jackson's getText(): "{", "]", the field name, the string, the number literal


class Tokens:
    """A source of tokens (text or Python objects)."""

    def next(self) -> Token | None:
        raise NotImplementedError


def _char_desc(ch: str) -> str:
    code = ord(ch)
    if code < 32 or 127 <= code <= 159:
        return f"(CTRL-CHAR, code {code})"
    if code > 255:
        return f"'{ch}' (code {code} / 0x{code:x})"
    return f"'{ch}' (code {code})"


def _ident_part(ch: str) -> bool:
    return ch.isalnum() or ch in "_$"


class TextTokens(Tokens):
    """Jackson-compatible tokens over JSON text (root value and what is inside it)."""

    def __init__(self, text: str) -> None:
        self._s = text
        self._i = 0
        # Stack of containers: ("{" | "[", start offset). _expect is what the next token may be.
        self._stack: list[tuple[str, int]] = []
        self._state = "value"  # value | first_in_array | key | first_key | after_key | after_value
        self._done = False

    # -- helpers ----------------------------------------------------------------------------
    def _location(self, offset: int) -> str:
        line = self._s.count("\n", 0, offset) + 1
        column = offset - (self._s.rfind("\n", 0, offset) + 1) + 1
        text = self._s
        if len(text) > _MAX_SOURCE:  # as Jackson prints long sources
            text = f'{text[:_MAX_SOURCE]}"[truncated {len(text) - _MAX_SOURCE} chars]'
        else:
            text += '"'
        return f'[Source: (String)"{text}; line: {line}, column: {column}]'

    def _skip_ws(self) -> str | None:
        s, i = self._s, self._i
        n = len(s)
        while i < n:
            ch = s[i]
            if ch in _WS:
                i += 1
                continue
            self._i = i
            if ch == "/":
                raise JsonSyntaxError(
                    "Unexpected character ('/' (code 47)): maybe a (non-standard) comment? (not "
                    "recognized as one since Feature 'ALLOW_COMMENTS' not enabled for parser)"
                )
            if ord(ch) < 32:
                raise JsonSyntaxError(
                    f"Illegal character ({_char_desc(ch)}): only regular white space "
                    "(\\r, \\n, \\t) is allowed between tokens"
                )
            return ch
        self._i = n
        return None

    def _eof(self, what: str) -> JsonSyntaxError:
        if not self._stack:
            return JsonSyntaxError(f"Unexpected end-of-input{what}")
        kind, start = self._stack[-1]
        name = "Object" if kind == "{" else "Array"
        return JsonSyntaxError(
            f"Unexpected end-of-input: expected close marker for {name} "
            f"(start marker at {self._location(start)})"
        )

    def _invalid_token(self, start: int) -> JsonSyntaxError:
        s, i = self._s, start
        n = len(s)
        while i < n and _ident_part(s[i]) and i - start < _MAX_TOKEN:
            i += 1
        word = s[start:i] if i > start else s[start : start + 1]
        if i - start >= _MAX_TOKEN:
            word += "..."
        return JsonSyntaxError(f"Unrecognized token '{word}': was expecting {_VALID_TOKENS}")

    def _string(self) -> str:
        # self._i is at the opening quote.
        s = self._s
        n = len(s)
        i = self._i + 1
        parts: list[str] = []
        surrogates = False
        while True:
            j = i
            while j < n and s[j] != '"' and s[j] != "\\" and ord(s[j]) >= 32:
                j += 1
            parts.append(s[i:j])
            if j >= n:
                self._i = n
                raise JsonSyntaxError(
                    "Unexpected end-of-input: was expecting closing quote for a string value"
                )
            ch = s[j]
            if ch == '"':
                self._i = j + 1
                text = "".join(parts) if len(parts) > 1 else parts[0]
                if surrogates:
                    # Escaped UTF-16 pairs form one character, as in a Java string.
                    text = text.encode("utf-16-le", "surrogatepass").decode(
                        "utf-16-le", "surrogatepass"
                    )
                return text
            if ch != "\\":
                raise JsonSyntaxError(
                    f"Illegal unquoted character ({_char_desc(ch)}): has to be escaped using "
                    "backslash to be included in string value"
                )
            if j + 1 >= n:
                raise JsonSyntaxError(
                    "Unexpected end-of-input: was expecting closing quote for a string value"
                )
            esc = s[j + 1]
            if esc in _ESCAPES:
                parts.append(_ESCAPES[esc])
                i = j + 2
            elif esc == "u":
                digits = s[j + 2 : j + 6]
                for d in digits:
                    if d not in "0123456789abcdefABCDEF":
                        raise JsonSyntaxError(
                            f"Unexpected character ({_char_desc(d)}): expected a hex-digit for "
                            "character escape sequence"
                        )
                if len(digits) < 4:
                    raise JsonSyntaxError("Unexpected end-of-input in character escape sequence")
                code = int(digits, 16)
                surrogates = surrogates or 0xD800 <= code <= 0xDFFF
                parts.append(chr(code))
                i = j + 6
            else:
                raise JsonSyntaxError(f"Unrecognized character escape {_char_desc(esc)}")

    def _number(self) -> Token:
        s, i = self._s, self._i
        n = len(s)
        start = i
        if s[i] == "-":
            i += 1
            if i >= n or not s[i].isdigit() or not s[i].isascii():
                ch = s[i] if i < n else None
                if ch is None:
                    raise JsonSyntaxError("Unexpected end-of-input in a Number value")
                raise JsonSyntaxError(
                    f"Unexpected character ({_char_desc(ch)}) in numeric value: expected digit "
                    "(0-9) to follow minus sign, for valid numeric value"
                )
        if s[i] == "0" and i + 1 < n and "0" <= s[i + 1] <= "9":
            raise JsonSyntaxError("Invalid numeric value: Leading zeroes not allowed")
        while i < n and "0" <= s[i] <= "9":
            i += 1
        kind = INT
        if i < n and s[i] == ".":
            i += 1
            kind = FLOAT
            if i >= n or not "0" <= s[i] <= "9":
                ch = s[i] if i < n else None
                if ch is None:
                    raise JsonSyntaxError("Unexpected end-of-input in a Number value")
                raise JsonSyntaxError(
                    f"Unexpected character ({_char_desc(ch)}) in numeric value: Decimal point "
                    "not followed by a digit"
                )
            while i < n and "0" <= s[i] <= "9":
                i += 1
        if i < n and s[i] in "eE":
            i += 1
            kind = FLOAT
            if i < n and s[i] in "+-":
                i += 1
            if i >= n or not "0" <= s[i] <= "9":
                ch = s[i] if i < n else None
                if ch is None:
                    raise JsonSyntaxError("Unexpected end-of-input in a Number value")
                raise JsonSyntaxError(
                    f"Unexpected character ({_char_desc(ch)}) in numeric value: Exponent "
                    "indicator not followed by a digit"
                )
            while i < n and "0" <= s[i] <= "9":
                i += 1
        self._i = i
        return Token(kind, s[start:i])

    def _literal(self, word: str, kind: int) -> Token:
        s, i = self._s, self._i
        end = i + len(word)
        if s[i:end] != word or (end < len(s) and _ident_part(s[end])):
            raise self._invalid_token(i)
        self._i = end
        return Token(kind, word)

    def _value(self) -> Token:
        ch = self._skip_ws()
        if ch is None:
            raise self._eof(": expected a value" if not self._stack else "")
        if ch == '"':
            return Token(STRING, self._string())
        if ch in "{[" and len(self._stack) >= MAX_DEPTH:
            raise JsonSyntaxError(DEPTH_MESSAGE)
        if ch == "{":
            self._stack.append(("{", self._i))
            self._i += 1
            self._state = "first_key"
            return Token(START_OBJECT, "{")
        if ch == "[":
            self._stack.append(("[", self._i))
            self._i += 1
            self._state = "first_in_array"
            return Token(START_ARRAY, "[")
        if ch == "-" or "0" <= ch <= "9":
            return self._number()
        if ch == "t":
            return self._literal("true", TRUE)
        if ch == "f":
            return self._literal("false", FALSE)
        if ch == "n":
            return self._literal("null", NULL)
        for word in ("NaN", "Infinity"):
            if self._s.startswith(word, self._i):
                raise JsonSyntaxError(
                    f"Non-standard token '{word}': enable "
                    "`JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS` to allow"
                )
        if ch in "]}":
            raise JsonSyntaxError(f"Unexpected character ({_char_desc(ch)}): expected a value")
        if ch.isalpha() or ch in "_$":
            raise self._invalid_token(self._i)
        raise JsonSyntaxError(
            f"Unexpected character ({_char_desc(ch)}): expected a valid value {_VALID_TOKENS}"
        )

    def _close(self, ch: str) -> Token:
        kind, start = self._stack[-1]
        expected = "}" if kind == "{" else "]"
        if ch != expected:
            name = "Object" if kind == "{" else "Array"
            raise JsonSyntaxError(
                f"Unexpected close marker '{ch}': expected '{expected}' (for {name} starting at "
                f"{self._location(start)})"
            )
        self._stack.pop()
        self._i += 1
        self._state = "after_value"
        if not self._stack:
            self._done = True
        return Token(END_OBJECT if ch == "}" else END_ARRAY, ch)

    def _after_value_token(self, tok: Token) -> Token:
        if tok.kind not in (START_OBJECT, START_ARRAY):
            self._state = "after_value"
            if not self._stack:
                self._done = True
        return tok

    # -- the pull API -----------------------------------------------------------------------
    def next(self) -> Token | None:
        if self._done:
            return None
        state = self._state
        if state == "value":
            if not self._stack and self._skip_ws() is None:
                self._done = True
                return None
            return self._after_value_token(self._value())
        if state == "first_in_array":
            ch = self._skip_ws()
            if ch == "]":
                return self._close("]")
            return self._after_value_token(self._value())
        if state in ("first_key", "key"):
            ch = self._skip_ws()
            if ch is None:
                raise self._eof("")
            if ch == "}" and state == "first_key":
                return self._close("}")
            if ch != '"':
                raise JsonSyntaxError(
                    f"Unexpected character ({_char_desc(ch)}): was expecting double-quote to "
                    "start field name"
                )
            name = self._string()
            ch = self._skip_ws()
            if ch is None:
                raise self._eof("")
            if ch != ":":
                raise JsonSyntaxError(
                    f"Unexpected character ({_char_desc(ch)}): was expecting a colon to "
                    "separate field name and value"
                )
            self._i += 1
            self._state = "after_key"
            return Token(FIELD_NAME, name)
        if state == "after_key":
            return self._after_value_token(self._value())
        # after_value: inside a container, expect a comma or the closing marker.
        ch = self._skip_ws()
        if ch is None:
            raise self._eof("")
        kind = self._stack[-1][0]
        if ch in "]}":
            return self._close(ch)
        if ch != ",":
            entries = "Object entries" if kind == "{" else "Array entries"
            raise JsonSyntaxError(
                f"Unexpected character ({_char_desc(ch)}): was expecting comma to separate "
                f"{entries}"
            )
        self._i += 1
        if kind == "{":
            self._state = "key"
            return self.next()
        return self._after_value_token(self._value())


class ObjectTokens(Tokens):
    """The same tokens for a parsed Python value (dict, list, tuple, str, int, float, ...)."""

    def __init__(self, value: object) -> None:
        self._it = self._walk(value)

    def next(self) -> Token | None:
        return next(self._it, None)

    def _walk(self, value: object) -> Iterator[Token]:
        if isinstance(value, Mapping):
            yield Token(START_OBJECT, "{")
            for key, item in value.items():
                if not isinstance(key, str):
                    raise JsonSyntaxError(
                        "Unexpected character: was expecting double-quote to start field name"
                    )
                yield Token(FIELD_NAME, key)
                yield from self._walk(item)
            yield Token(END_OBJECT, "}")
        elif isinstance(value, (list, tuple)):
            yield Token(START_ARRAY, "[")
            for item in value:
                yield from self._walk(item)
            yield Token(END_ARRAY, "]")
        elif isinstance(value, str):
            yield Token(STRING, value)
        elif value is True:
            yield Token(TRUE, "true")
        elif value is False:
            yield Token(FALSE, "false")
        elif value is None:
            yield Token(NULL, "null")
        elif isinstance(value, int):
            yield Token(INT, str(int(value)))
        elif isinstance(value, float):
            if not math.isfinite(value):
                word = "NaN" if math.isnan(value) else "Infinity"
                raise JsonSyntaxError(
                    f"Non-standard token '{word}': enable "
                    "`JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS` to allow"
                )
            yield Token(FLOAT, repr(value))
        else:
            raise JsonSyntaxError(
                f"Unexpected value of type {type(value).__name__}: {_VALID_TOKENS}"
            )
