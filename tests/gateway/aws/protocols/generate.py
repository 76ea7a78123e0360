"""A small deterministic generator of params from a botocore shape: every member it can set,
values within the model's constraints, text in several scripts and with XML/URL/JSON
metacharacters, nested lists and maps.

Where a value goes decides what it may hold: a header carries ASCII without edge spaces and
timestamps in whole seconds (RFC 822); an XML answer carries only code points XML 1.0 allows;
a header-prefix map's keys are header-name tokens. With ``xml=True`` (params botocore writes as
an XML request body) body text holds no carriage return: botocore writes it raw, and XML's
line-end normalisation makes it a line feed for every reader, S3 included.
"""

from __future__ import annotations

import random
import zlib
from datetime import datetime, timedelta, timezone
from typing import Any

TEXTS = (
    "plain",
    "héllo wörld",
    "日本語のテキスト",
    "emoji 😀 and 𝄞",
    "a&b<c>d\"e'f",
    "line\r\nbreak\ttab",
    "+%20=?&#/;:,",
    " edge spaces ",
    "Ωμέγα – ñandú",
)
HEADER_TEXTS = ("plain", "with,comma", 'say "hi"', "a-b_c.d~e", "x y", "eyJrIjoidiJ9")
NAME_TEXTS = ("alpha", "beta-2", "gamma_3", "delta")
BLOB = b"\x00\x01raw\xfe\xff bytes \xc3\xa9"
PAYLOAD_BLOB = '{"ok": true, "text": "é"}'.encode()
DOCUMENT = {"k": [1, "two", True, {"x": 1.5}], "e": {}}
BASE_TIME = datetime(2024, 2, 29, 12, 34, 56, 789000, tzinfo=timezone.utc)


class Generator:
    """Params for one operation; the same seed gives the same params."""

    def __init__(self, seed: str, *, xml: bool = False, max_depth: int = 5) -> None:
        self.rng = random.Random(zlib.crc32(seed.encode()))
        self.xml = xml
        self.max_depth = max_depth

    def params(self, shape: Any, *, output: bool = False) -> dict[str, Any]:
        if shape is None:
            return {}
        value: dict[str, Any] = self.structure(shape, depth=0, top=True, output=output)
        return value

    # -- containers --------------------------------------------------------------------------

    def structure(self, shape: Any, *, depth: int, top: bool = False, output: bool = False) -> Any:
        if shape.is_document_type:
            return DOCUMENT
        members = shape.members
        names = list(members)
        if shape.is_tagged_union:
            names = [self.rng.choice(names)]
        elif depth > self.max_depth:
            names = [n for n in names if n in shape.required_members]
        out: dict[str, Any] = {}
        for name in names:
            member = members[name]
            if member.serialization.get("eventstream") or member.serialization.get("eventpayload"):
                continue
            location = member.serialization.get("location") if top else None
            if location == "statusCode":
                out[name] = 200
                continue
            out[name] = self.value(member, depth=depth + 1, where=location or "body")
        if top and not output:
            payload = shape.serialization.get("payload")
            if payload and members[payload].type_name == "blob" and payload in out:
                out[payload] = PAYLOAD_BLOB
        if top and output:
            payload = shape.serialization.get("payload")
            if payload and members[payload].type_name in ("blob", "string") and payload in out:
                out[payload] = PAYLOAD_BLOB if members[payload].type_name == "blob" else "ok é"
                for name, member in members.items():  # a body's length is its length
                    if member.serialization.get("name", "").lower() == "content-length":
                        out[name] = len(PAYLOAD_BLOB)
        return out

    def value(self, shape: Any, *, depth: int, where: str) -> Any:
        kind = shape.type_name
        if kind == "structure":
            return self.structure(shape, depth=depth)
        if kind == "list":
            count = self._count(shape, 2)
            return [self.value(shape.member, depth=depth + 1, where=where) for _ in range(count)]
        if kind == "map":
            if where == "headers":
                return {f"meta-{i}": f"v{i}" for i in range(self._count(shape, 2))}
            keys = self._keys(shape.key, self._count(shape, 2), where)
            return {key: self.value(shape.value, depth=depth + 1, where=where) for key in keys}
        return self.scalar(shape, where)

    def _count(self, shape: Any, wanted: int) -> int:
        low = shape.metadata.get("min", 0)
        high = shape.metadata.get("max", wanted)
        return max(1, min(max(wanted, low), high))

    def _keys(self, shape: Any, count: int, where: str) -> list[Any]:
        enum = shape.metadata.get("enum")
        if enum:
            return list(enum[: max(1, count)])
        keys: list[Any] = []
        while len(keys) < count:
            key = self.scalar(shape, "name")
            if key in keys:
                key = f"{key}{len(keys)}" if isinstance(key, str) else key
            if key in keys:
                break
            keys.append(key)
        return keys

    # -- scalars -----------------------------------------------------------------------------

    def scalar(self, shape: Any, where: str) -> Any:
        kind = shape.type_name
        meta = shape.metadata
        if kind == "string":
            if meta.get("enum"):
                return self.rng.choice(meta["enum"])
            if shape.serialization.get("jsonvalue"):
                return {"a": [1, "b"]}
            if shape.serialization.get("hostLabel"):  # a label of the host name
                return self.rng.choice(("alpha", "beta-2", "delta"))
            return self.text(meta.get("min", 0), meta.get("max"), where)
        if kind in ("integer", "long"):
            low = meta.get("min", 0)
            high = meta.get("max", low + (2**40 if kind == "long" else 1000))
            return self.rng.choice([low, high, self.rng.randint(low, high)])
        if kind in ("float", "double"):
            low, high = meta.get("min", -1e9), meta.get("max", 1e9)
            fits = [x for x in (1.5, -0.25, 1e-3, 12345.678) if low <= x <= high]
            return self.rng.choice(fits) if fits else float(low)
        if kind == "boolean":
            return self.rng.choice([True, False])
        if kind == "blob":
            low, high = meta.get("min", 1), meta.get("max", len(BLOB))
            data = (BLOB * (1 + low // len(BLOB)))[: max(low, min(len(BLOB), high))]
            return data
        if kind == "timestamp":
            when = BASE_TIME + timedelta(
                days=self.rng.randint(0, 900), milliseconds=self.rng.randint(0, 999)
            )
            whole = shape.serialization.get("timestampFormat") == "rfc822"
            return when.replace(microsecond=0) if whole or where in ("header", "headers") else when
        raise AssertionError(f"no generator for {kind}")

    def text(self, low: int, high: int | None, where: str) -> str:
        if where in ("header", "headers"):
            pool = HEADER_TEXTS
        elif where == "name":
            pool = NAME_TEXTS
        else:
            pool = TEXTS
        text = self.rng.choice(pool)
        if self.xml and where == "body":
            text = text.replace("\r", "")
        if where in ("header", "headers", "uri"):
            text = text.strip().replace(" ", "_")
        low = max(low, 1)
        while len(text) < low:
            text += "-" + text
        if high is not None and len(text) > high:
            text = text[:high]
        return text
