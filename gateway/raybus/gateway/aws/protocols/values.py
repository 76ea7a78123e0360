"""Scalar values on the wire, shared by every protocol: text to Python and back.

Inbound conversions raise :class:`BadValue` (a reason, no protocol); each codec turns it into
its protocol's error code, naming the field. Outbound conversions take what services hand
over (``datetime`` or epoch seconds for timestamps, ``bytes`` or ``str`` for blobs).
"""

from __future__ import annotations

import base64
import binascii
import calendar
import math
import re
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any

__all__ = [
    "INT_RANGES",
    "BadValue",
    "b64decode",
    "b64encode",
    "bad_text",
    "check_int",
    "float_from_text",
    "float_out",
    "int_from_text",
    "parse_timestamp",
    "scalar_from_text",
    "timestamp_out",
    "to_datetime",
]

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
INT_RANGES = {"integer": (-(2**31), 2**31 - 1), "long": (-(2**63), 2**63 - 1)}
_INT = re.compile(r"[+-]?[0-9]+\Z")
_FLOAT = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?\Z")
_SPECIAL_FLOATS = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}
_ISO8601 = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt ]([0-9]{2}):([0-9]{2}):([0-9]{2})"
    r"(?:[.,]([0-9]{1,9}))?(Z|z|[+-][0-9]{2}:?[0-9]{2})?\Z"
)
_B64 = re.compile(r"[A-Za-z0-9+/]*={0,2}\Z")


class BadValue(ValueError):
    """A value that does not fit its shape; ``reason`` reads after "expected"/"must"."""

    def __init__(self, reason: str, path: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.path = path

    def at(self, path: str) -> BadValue:
        """The same problem, located (the innermost location wins)."""
        return self if self.path else BadValue(self.reason, path)


def bad_text(text: str) -> bool:
    """Whether ``text`` holds a code point UTF-8 cannot encode (a lone surrogate)."""
    if text.isascii():
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def int_from_text(text: str, type_name: str) -> int:
    if not _INT.match(text.strip()):
        raise BadValue(f"an {type_name}, not {text[:64]!r}")
    return check_int(int(text), type_name)


def check_int(value: int, type_name: str) -> int:
    low, high = INT_RANGES.get(type_name, INT_RANGES["long"])
    if not low <= value <= high:
        raise BadValue(f"an {type_name} between {low} and {high}")
    return value


def float_from_text(text: str) -> float:
    special = _SPECIAL_FLOATS.get(text.strip())
    if special is not None:
        return special
    if not _FLOAT.match(text.strip()):
        raise BadValue(f"a number, not {text[:64]!r}")
    return float(text)


def float_out(value: Any) -> float | str:
    """A float for JSON: NaN and the infinities as the strings botocore writes."""
    number = float(value)
    if math.isnan(number):
        return "NaN"
    if math.isinf(number):
        return "Infinity" if number > 0 else "-Infinity"
    return number


def b64decode(text: str) -> bytes:
    compact = "".join(text.split())
    if len(compact) % 4 or not _B64.match(compact):
        raise BadValue("base64-encoded bytes")
    try:
        return base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError) as error:
        raise BadValue("base64-encoded bytes") from error


def b64encode(value: Any) -> str:
    if isinstance(value, str):
        value = value.encode("utf-8")
    if not isinstance(value, bytes | bytearray | memoryview):
        raise TypeError(f"a blob must be bytes, not {type(value).__name__}")
    return base64.b64encode(bytes(value)).decode("ascii")


def _epoch(seconds: float | int | Decimal) -> datetime:
    # Through the shortest decimal form, so 1700000000.123 means .123000 exactly.
    exact = Decimal(repr(seconds)) if isinstance(seconds, float) else Decimal(seconds)
    if not exact.is_finite():
        raise BadValue("a finite number of seconds")
    micros = int((exact * 1_000_000).to_integral_value())
    try:
        return EPOCH + timedelta(microseconds=micros)
    except OverflowError as error:
        raise BadValue("a timestamp between the years 1 and 9999") from error


def _iso8601(text: str) -> datetime:
    match = _ISO8601.match(text.strip())
    if match is None:
        raise BadValue(f"an ISO 8601 timestamp, not {text[:64]!r}")
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    micros = int((fraction or "0")[:6].ljust(6, "0"))
    tz = timezone.utc
    if zone and zone not in ("Z", "z"):
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        tz = timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
    try:
        parsed = datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second), micros, tz
        )
    except ValueError as error:
        raise BadValue(f"an ISO 8601 timestamp, not {text[:64]!r}") from error
    return parsed.astimezone(timezone.utc)


def _rfc822(text: str) -> datetime:
    try:
        parsed = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError) as error:
        raise BadValue(f"an RFC 822 timestamp, not {text[:64]!r}") from error
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)


def parse_timestamp(value: Any, timestamp_format: str | None) -> datetime:
    """A timestamp from the wire in ``timestamp_format`` (iso8601, rfc822, unixtimestamp);
    the other forms are accepted too, as AWS's parsers do."""
    if isinstance(value, bool):
        raise BadValue("a timestamp")
    if isinstance(value, int | float):
        return _epoch(value)
    if not isinstance(value, str):
        raise BadValue("a timestamp")
    order = {
        "rfc822": (_rfc822, _iso8601),
        "unixtimestamp": (_epoch_text, _iso8601),
    }.get((timestamp_format or "iso8601").lower(), (_iso8601, _epoch_text, _rfc822))
    first_error: BadValue | None = None
    for parser in order:
        try:
            return parser(value)
        except BadValue as error:
            first_error = first_error or error
    assert first_error is not None
    raise first_error


def _epoch_text(text: str) -> datetime:
    if not _FLOAT.match(text.strip()):
        raise BadValue(f"epoch seconds, not {text[:64]!r}")
    return _epoch(Decimal(text.strip()))


def to_datetime(value: Any) -> datetime:
    """A service's timestamp (aware or naive-UTC ``datetime``, epoch seconds, ISO text)."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value
    if isinstance(value, int | float | str) and not isinstance(value, bool):
        return parse_timestamp(value, None)
    raise TypeError(f"a timestamp must be a datetime, not {type(value).__name__}")


def timestamp_out(value: Any, timestamp_format: str) -> str | int | float:
    """A timestamp for the wire: epoch seconds (an int when whole), ISO 8601 with
    milliseconds (microseconds when they are not whole milliseconds), or RFC 822 (seconds)."""
    when = to_datetime(value).astimezone(timezone.utc)
    style = timestamp_format.lower()
    if style == "unixtimestamp":
        seconds = calendar.timegm(when.timetuple())
        if not when.microsecond:
            return seconds
        return float(Decimal(seconds) + Decimal(when.microsecond) / 1_000_000)
    if style == "rfc822":
        return format_datetime(when.replace(microsecond=0), usegmt=True)
    fraction = when.microsecond
    digits = f"{fraction // 1000:03d}" if fraction % 1000 == 0 else f"{fraction:06d}"
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + digits + "Z"


def scalar_from_text(shape: Any, kind: str, text: str, timestamp_format: str) -> Any:
    """A scalar from its text form (a query parameter, a URI label, a header): integers in
    range, numbers (NaN and the infinities spelled out), ``true``/``false``, base64 blobs,
    timestamps (``timestamp_format`` unless the shape names its own)."""
    if kind in ("string", "character"):
        if bad_text(text):
            raise BadValue("text without lone surrogates")
        return text
    if kind in ("integer", "long", "short", "byte"):
        return int_from_text(text, kind)
    if kind in ("float", "double"):
        return float_from_text(text)
    if kind == "boolean":
        lowered = text.strip().lower()
        if lowered not in ("true", "false"):
            raise BadValue(f"true or false, not {text[:64]!r}")
        return lowered == "true"
    if kind == "blob":
        return b64decode(text)
    if kind == "timestamp":
        return parse_timestamp(text, shape.serialization.get("timestampFormat", timestamp_format))
    raise BadValue(f"a value of a type this codec knows ({kind})")
