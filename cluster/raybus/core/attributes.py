"""Message attributes and message-content rules, exactly as SQS defines them.

An attribute is ``(data_type, value)``: ``data_type`` is ``String``, ``Number`` or ``Binary``,
optionally followed by a custom label (``Number.float``, ``Binary.gif``); ``value`` is ``str``
for String/Number and ``bytes`` for Binary.

MD5 digests follow the SQS algorithm byte for byte, so SDKs that verify ``MD5OfMessageBody`` and
``MD5OfMessageAttributes`` accept raybus's answers: for each attribute in name order, the
4-byte big-endian length and UTF-8 bytes of the name, then of the data type, then one transport
byte (1 = string value, 2 = binary value), then the length and bytes of the value.
"""

from __future__ import annotations

import hashlib
import re
import struct
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import NamedTuple

from raybus.core.errors import RaybusError

__all__ = [
    "MAX_ATTRIBUTES",
    "Attribute",
    "Attributes",
    "attributes_size",
    "md5_of_attributes",
    "md5_of_body",
    "validate_attributes",
    "validate_sqs_text",
]

MAX_ATTRIBUTES = 10
MAX_ATTRIBUTE_NAME_CHARS = 256
MAX_DATA_TYPE_CHARS = 256
_NAME = re.compile(r"[A-Za-z0-9_.-]+")
_BASE_TYPES = ("String", "Number", "Binary")
# Characters SQS accepts in message text (XML 1.0 character ranges).
_INVALID_TEXT = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_ASCII_CONTROLS = bytes(c for c in range(0x20) if c not in (0x09, 0x0A, 0x0D))


class Attribute(NamedTuple):
    data_type: str
    value: str | bytes


Attributes = Mapping[str, Attribute]


def md5_of_body(body: bytes) -> str:
    return hashlib.md5(body, usedforsecurity=False).hexdigest()


def md5_of_attributes(attributes: Attributes) -> str:
    """SQS's ``MD5OfMessageAttributes`` (empty string when there are none, as SQS omits it)."""
    if not attributes:
        return ""
    digest = hashlib.md5(usedforsecurity=False)
    for name in sorted(attributes):
        data_type, value = attributes[name]
        for text in (name, data_type):
            raw = text.encode("utf-8")
            digest.update(struct.pack(">I", len(raw)) + raw)
        if isinstance(value, bytes):
            digest.update(b"\x02" + struct.pack(">I", len(value)) + value)
        else:
            raw = value.encode("utf-8")
            digest.update(b"\x01" + struct.pack(">I", len(raw)) + raw)
    return digest.hexdigest()


def attributes_size(attributes: Attributes) -> int:
    """Bytes the attributes count toward the message size limit: name + type + value."""
    total = 0
    for name, (data_type, value) in attributes.items():
        total += len(name.encode("utf-8")) + len(data_type.encode("utf-8"))
        total += len(value) if isinstance(value, bytes) else len(value.encode("utf-8"))
    return total


def validate_sqs_text(text: str, *, what: str) -> None:
    """Raise InvalidMessageContents if ``text`` holds a character SQS rejects. ASCII text (the
    common case; ``isascii`` is a flag check) can only hold a C0 control, found by deleting
    them from its bytes — several times faster than the regular expression's scan."""
    if text.isascii():
        raw = text.encode("ascii")
        if len(raw.translate(None, _ASCII_CONTROLS)) == len(raw):
            return
    bad = _INVALID_TEXT.search(text)
    if bad is not None:
        raise RaybusError(
            "InvalidMessageContents",
            f"{what} contains the invalid character U+{ord(bad.group()):04X}.",
            field=what,
        )


def _invalid_name(name: str, reason: str) -> RaybusError:
    return RaybusError(
        "InvalidAttributeName", f"Message attribute name '{name}' {reason}.", attribute=name
    )


def _validate_name(name: object) -> str:
    if not isinstance(name, str) or not name:
        raise RaybusError("InvalidAttributeName", "A message attribute name is a non-empty string.")
    if len(name) > MAX_ATTRIBUTE_NAME_CHARS:
        raise _invalid_name(name[:40], f"is longer than {MAX_ATTRIBUTE_NAME_CHARS} characters")
    if not _NAME.fullmatch(name):
        raise _invalid_name(name, "may contain only A-Z, a-z, 0-9, underscore, hyphen and period")
    if name.startswith(".") or name.endswith(".") or ".." in name:
        raise _invalid_name(name, "must not start or end with a period or hold two in a row")
    lowered = name.lower()
    if lowered.startswith("aws.") or lowered.startswith("amazon."):
        raise _invalid_name(name, "uses a reserved prefix (AWS. or Amazon.)")
    return name


def _validate_number(name: str, value: str) -> None:
    try:
        number = Decimal(value.strip())
    except InvalidOperation:
        number = None
    if number is None or not number.is_finite():
        raise RaybusError(
            "InvalidParameterValue",
            f"Message attribute '{name}' of type Number has a non-numeric value.",
            attribute=name,
        )
    # Precision ignores leading and trailing zeros (SQS trims them). No normalize(): it rounds
    # to the context's 28 digits.
    digits = "".join(map(str, number.as_tuple().digits)).strip("0")
    if len(digits) > 38:
        raise RaybusError(
            "InvalidParameterValue",
            f"Message attribute '{name}' has more than 38 digits of precision.",
            attribute=name,
        )
    if number != 0 and not (Decimal("-1e128") <= number <= Decimal("1e126")):
        raise RaybusError(
            "InvalidParameterValue",
            f"Message attribute '{name}' is outside -10^128 to 10^126.",
            attribute=name,
        )


def validate_attributes(attributes: object) -> dict[str, Attribute]:
    """Check message attributes against SQS's rules and return them normalised.

    Accepts a mapping of name to :class:`Attribute` or to a 2-sequence ``(data_type, value)``.
    Raises with codes InvalidAttributeName, InvalidParameterValue or InvalidMessageContents.
    """
    if attributes is None:
        return {}
    if not isinstance(attributes, Mapping):
        raise RaybusError("InvalidParameterValue", "Message attributes must be a map.")
    if len(attributes) > MAX_ATTRIBUTES:
        raise RaybusError(
            "InvalidParameterValue",
            f"A message can have at most {MAX_ATTRIBUTES} attributes, not {len(attributes)}.",
            limit=MAX_ATTRIBUTES,
        )
    normalised: dict[str, Attribute] = {}
    for name, item in attributes.items():
        _validate_name(name)
        if not isinstance(item, (tuple, list)) or len(item) != 2:
            raise RaybusError(
                "InvalidParameterValue",
                f"Message attribute '{name}' must be (data_type, value).",
                attribute=name,
            )
        data_type, value = item
        if not isinstance(data_type, str) or not data_type:
            raise RaybusError(
                "InvalidParameterValue",
                f"Message attribute '{name}' needs a data type.",
                attribute=name,
            )
        if len(data_type) > MAX_DATA_TYPE_CHARS:
            raise RaybusError(
                "InvalidParameterValue",
                f"Message attribute '{name}' has a data type over 256 characters.",
                attribute=name,
            )
        base = data_type.split(".", 1)[0]
        if base not in _BASE_TYPES:
            raise RaybusError(
                "InvalidParameterValue",
                f"Message attribute '{name}' has data type '{data_type}'; the type must be "
                "String, Number or Binary, optionally with a custom label.",
                attribute=name,
            )
        if base == "Binary":
            if not isinstance(value, (bytes, bytearray)):
                raise RaybusError(
                    "InvalidParameterValue",
                    f"Message attribute '{name}' of type Binary needs bytes.",
                    attribute=name,
                )
            value = bytes(value)
        else:
            if not isinstance(value, str):
                raise RaybusError(
                    "InvalidParameterValue",
                    f"Message attribute '{name}' of type {base} needs a string.",
                    attribute=name,
                )
            if base == "Number":
                _validate_number(name, value)
            else:
                validate_sqs_text(value, what=f"message attribute '{name}'")
        if not value:
            raise RaybusError(
                "InvalidParameterValue",
                f"Message attribute '{name}' must have a non-empty value.",
                attribute=name,
            )
        normalised[name] = Attribute(data_type, value)
    return normalised
