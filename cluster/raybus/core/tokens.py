"""Opaque tokens handed to clients: receipt handles.

A receipt handle names one delivery of one message, so that a delete or visibility change goes
straight to the owning partition without a lookup:

``base64url( version:u8 | msgpack([partition, epoch, tag, seq, nonce]) | blake2b-4 )``

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

import base64
import binascii
import hashlib
from typing import NamedTuple

import msgpack

from raybus.core.errors import RaybusError

__all__ = ["Receipt", "decode_receipt", "encode_receipt"]

_VERSION = 1
_CHECK_BYTES = 4
MAX_RECEIPT_CHARS = 1024


class Receipt(NamedTuple):
    partition: int
    epoch: int
    tag: int
    seq: int
    nonce: int


def _check(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=_CHECK_BYTES).digest()


def encode_receipt(receipt: Receipt) -> str:
    body = bytes([_VERSION]) + msgpack.packb(list(receipt))
    return base64.urlsafe_b64encode(body + _check(body)).rstrip(b"=").decode("ascii")


def _invalid(handle: object) -> RaybusError:
    shown = handle[:64] if isinstance(handle, str) else type(handle).__name__
    return RaybusError("ReceiptHandleIsInvalid", f"The receipt handle '{shown}' is not valid.")


def decode_receipt(handle: object) -> Receipt:
    """Parse a receipt handle; any malformed input raises ReceiptHandleIsInvalid."""
    if not isinstance(handle, str) or not handle or len(handle) > MAX_RECEIPT_CHARS:
        raise _invalid(handle)
    try:
        raw = base64.urlsafe_b64decode(handle + "=" * (-len(handle) % 4))
    except (binascii.Error, ValueError) as exc:
        raise _invalid(handle) from exc
    body, check = raw[:-_CHECK_BYTES], raw[-_CHECK_BYTES:]
    if len(body) < 2 or body[0] != _VERSION or _check(body) != check:
        raise _invalid(handle)
    try:
        fields = msgpack.unpackb(body[1:])
    except (ValueError, msgpack.ExtraData, msgpack.FormatError, msgpack.StackError) as exc:
        raise _invalid(handle) from exc
    if (
        not isinstance(fields, list)
        or len(fields) != 5
        or not all(isinstance(f, int) and not isinstance(f, bool) and f >= 0 for f in fields)
    ):
        raise _invalid(handle)
    return Receipt(*fields)
