"""Schemathesis hooks for the native API (loaded with SCHEMATHESIS_HOOKS by test_schemathesis).

The OpenAPI document describes bodies in their JSON form; msgpack answers carry binary values
as ``bin``. The deserializer reads msgpack and writes bytes as base64 text, the JSON form, so
schemathesis validates msgpack answers against the same schemas.
"""

from __future__ import annotations

import base64
from typing import Any

import msgpack
import schemathesis


def _json_form(value: Any) -> Any:
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, dict):
        return {key: _json_form(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_json_form(item) for item in value]
    return value


@schemathesis.deserializer("application/msgpack")
def msgpack_answer(ctx: Any, response: Any) -> Any:
    return _json_form(msgpack.unpackb(response.content, raw=False))


def _packable(value: Any) -> Any:
    """msgpack has no integers beyond 64 bits: send those as floats, as a client must."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value if -(2**63) <= value < 2**64 else float(value)
    if isinstance(value, dict):
        return {key: _packable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_packable(item) for item in value]
    return value


@schemathesis.serializer("application/msgpack")
def msgpack_request(ctx: Any, value: Any) -> bytes:
    """Request bodies in msgpack too: the gateway must hold the same line in both codecs."""
    packed: bytes = msgpack.packb(_packable(value), use_bin_type=True)
    return packed
