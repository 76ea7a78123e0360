"""IP addresses and CIDR blocks as event-ruler reads them.

event-ruler accepts only strings shaped like ``d.d.d.d`` or made of hex digits and colons, turns
them into 4 or 16 bytes, and matches a CIDR ``ip/bits`` as the closed byte range from ``ip`` (as
written, not masked) to ``ip`` with the host bits set. IPv4-mapped IPv6 literals become IPv4.
A mask of 32 (IPv4) or 128 (IPv6) bits is rejected, as event-ruler rejects it.

An address is represented as ``(width, value)``: width 4 or 16 bytes, value the big-endian int;
an IPv4 address never equals or falls in an IPv6 block.
"""

from __future__ import annotations

import ipaddress
import re

__all__ = [
    "IpRange",
    "cidr_range",
    "ip_range_if_possible",
    "parse_ip",
]

IpRange = tuple[int, int, int]  # (width in bytes, lowest value, highest value), closed

_IPV4 = re.compile(r"[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+")
_IPV6 = re.compile(r"[0-9a-fA-F:]*:[0-9a-fA-F:]*")
_DIGITS = frozenset("0123456789")


class _Invalid(ValueError):
    pass


def _ip_shaped(text: str) -> bool:
    return _IPV4.fullmatch(text) is not None or _IPV6.fullmatch(text) is not None


def _parse_shaped(text: str) -> tuple[int, int]:
    """Parse an IP-shaped string; raises _Invalid when it is not an address literal."""
    if "." in text:
        parts = text.split(".")
        value = 0
        for part in parts:
            if len(part) > 1 and part[0] == "0":
                raise _Invalid(text)  # ambiguous (octal-looking) literal, as current JDKs refuse
            octet = int(part)
            if octet > 255:
                raise _Invalid(text)
            value = value << 8 | octet
        return 4, value
    try:
        address = ipaddress.IPv6Address(text)
    except ValueError as exc:
        raise _Invalid(text) from exc
    mapped = address.ipv4_mapped
    if mapped is not None:
        return 4, int(mapped)
    return 16, int(address)


def parse_ip(text: str) -> tuple[int, int] | None:
    """``(width, value)`` of an IP address literal, or None (event values: no match, no error)."""
    if not text:
        return None
    first = text[0]
    if first in _DIGITS and text.count(".") == 3:
        parts = text.split(".")
        value = 0
        for part in parts:
            if not part or not part.isascii() or not part.isdigit():
                return None
            if len(part) > 1 and part[0] == "0":
                return None
            octet = int(part)
            if octet > 255:
                return None
            value = value << 8 | octet
        return 4, value
    if ":" not in text or _IPV6.fullmatch(text) is None:
        return None
    try:
        return _parse_shaped(text)
    except _Invalid:
        return None


def _to_bytes_or_raise(ip: str) -> tuple[int, int]:
    if not _ip_shaped(ip):
        raise ValueError(f"Nonstandard IP address: {ip}")
    try:
        return _parse_shaped(ip)
    except (_Invalid, ValueError) as exc:
        raise ValueError(f"Invalid IP address: {ip}") from exc


def ip_range_if_possible(text: str) -> IpRange | None:
    """An exact-match string that is an IP literal matches that address in any spelling."""
    if not _ip_shaped(text):
        return None
    try:
        width, value = _parse_shaped(text)
    except _Invalid:
        return None
    return width, value, value


def _java_split_slash(text: str) -> list[str]:
    parts = text.split("/")
    while parts and parts[-1] == "" and len(parts) > 1:
        parts.pop()
    return parts


def _java_parse_int(text: str) -> int:
    body = text[1:] if text[:1] in "+-" else text
    if not body or not body.isascii() or not body.isdigit():
        raise ValueError(text)
    value = int(text)
    if not -(2**31) <= value < 2**31:
        raise ValueError(text)
    return value


def cidr_range(text: str) -> IpRange:
    """The range a ``cidr`` pattern matches; raises ValueError with event-ruler's message."""
    parts = _java_split_slash(text)
    if len(parts) != 2:
        raise ValueError("Malformed CIDR, one '/' required")
    try:
        bits = _java_parse_int(parts[1])
    except ValueError:
        raise ValueError("Malformed CIDR, mask bits must be an integer") from None
    if bits < 0:
        raise ValueError("Malformed CIDR, mask bits must not be negative")
    width, value = _to_bytes_or_raise(parts[0])
    if width == 4 and bits > 31:
        raise ValueError("IPv4 mask bits must be < 32")
    if width == 16 and bits > 127:
        raise ValueError("IPv6 mask bits must be < 128")
    host_bits = width * 8 - bits
    return width, value, value | ((1 << host_bits) - 1)
