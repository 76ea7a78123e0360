"""A property-based fuzzer of the native API against the live session cluster (default tier).

Requests are drawn per operation of the gateway's own OpenAPI document: path parameters,
query parameters and bodies whose field names mostly come from the operation's schema and
whose values are any JSON (or msgpack) value. The text strategy *includes* lone surrogates and
other code points UTF-8 cannot store (hypothesis's default text strategy excludes them, which is
how an earlier fuzzer missed the controller crash), and bodies are sometimes not JSON at all.

Properties: no answer is a 5xx; every answer arrives (a bounded client timeout); a success
answer matches the operation's documented schema; afterwards the controller is the same
process and the cluster is healthy. ``RAYBUS_FUZZ_EXAMPLES`` sets the number of requests
(default 300; the run prints what it sent).
"""

from __future__ import annotations

import json
import os
import string
import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import jsonschema
import msgpack
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

EXAMPLES = int(os.environ.get("RAYBUS_FUZZ_EXAMPLES", "300"))
SKIP = {"advance_clock"}  # the session's shared virtual clock: tested on its own
FIXED = {"wait_s": st.sampled_from([0, 1, -1, "1", None, 21])}  # long polls stay short

# Text: printable ASCII (most requests reach validation), any code point, and lone surrogates.
SURROGATES = st.characters(codec=None, categories=["Cs"])
CHARS = st.one_of(
    st.sampled_from(string.ascii_letters + string.digits + "-_.:"),
    st.characters(codec=None, exclude_categories=[]),
    SURROGATES,
)
TEXT = st.text(CHARS, max_size=24)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**64),
    st.floats(allow_nan=True, allow_infinity=True),
    TEXT,
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(TEXT, inner, max_size=4)),
    max_leaves=12,
)


def _properties(schema: dict[str, Any], components: dict[str, Any]) -> list[str]:
    ref = schema.get("$ref")
    if ref:
        schema = components[ref.rsplit("/", 1)[-1]]
    names = list(schema.get("properties", {}))
    for option in schema.get("anyOf", ()):
        names += _properties(option, components)
    return names


@st.composite
def bodies(draw: st.DrawFn, fields: list[str]) -> tuple[bytes, str]:
    """A request body and its content type: mostly a map of known fields, sometimes extra
    fields, sometimes msgpack, sometimes bytes that parse as nothing."""
    shape = draw(st.sampled_from(["json", "json", "json", "msgpack", "garbage"]))
    if shape == "garbage":
        return draw(st.binary(max_size=64)), "application/json"
    keys = st.sampled_from(fields) if fields else TEXT
    data = draw(st.dictionaries(st.one_of(keys, keys, TEXT), VALUES, max_size=5))
    for name, strategy in FIXED.items():
        if name in data:
            data[name] = draw(strategy)
    if shape == "msgpack":
        try:
            return msgpack.packb(data, unicode_errors="surrogatepass"), "application/msgpack"
        except (ValueError, OverflowError, TypeError):
            return msgpack.packb({}), "application/msgpack"
    return json.dumps(data).encode("ascii"), "application/json"  # surrogates as \\ud800


@pytest.fixture(scope="module")
def http(url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=url, timeout=30) as client:
        yield client


@pytest.fixture(scope="module")
def document(http: httpx.Client) -> dict[str, Any]:
    answer: dict[str, Any] = http.get("/openapi.json").json()
    return answer


def test_no_request_gets_a_5xx_or_hangs_or_breaks_a_documented_answer(
    http: httpx.Client, document: dict[str, Any]
) -> None:
    components = document["components"]["schemas"]
    operations = [
        (method.upper(), path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if operation["operationId"] not in SKIP
    ]
    known = f"fz{uuid.uuid4().hex[:6]}"
    http.post("/v1/queues", json={"name": known})
    http.post("/v1/topics", json={"name": known})
    registry = {"components": {"schemas": components}}
    pid = http.get("/healthz").json()["controller_pid"]
    statuses: Counter[int] = Counter()

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(data=st.data())
    def one_request(data: st.DataObject) -> None:
        method, path, operation = data.draw(st.sampled_from(operations))
        for name in [p["name"] for p in operation.get("parameters", ()) if p["in"] == "path"]:
            value = data.draw(st.one_of(st.just(known), TEXT))
            encoded = quote(value.encode("utf-8", "surrogatepass"), safe="")
            path = path.replace("{" + name + "}", encoded or "x")
        query = {
            p["name"]: data.draw(TEXT)
            for p in operation.get("parameters", ())
            if p["in"] == "query" and data.draw(st.booleans())
        }
        if data.draw(st.integers(0, 9)) == 0:
            query[data.draw(TEXT) or "extra"] = "1"
        content, content_type = b"", None
        if "requestBody" in operation or data.draw(st.integers(0, 4)) == 0:
            body_schema = (
                operation.get("requestBody", {})
                .get("content", {})
                .get("application/json", {})
                .get("schema", {})
            )
            content, content_type = data.draw(bodies(_properties(body_schema, components)))
        headers = {"Content-Type": content_type} if content_type else {}
        params = {k.encode("utf-8", "surrogatepass"): v.encode("utf-8", "surrogatepass")
                  for k, v in query.items()}  # fmt: skip
        response = http.request(method, path, content=content, headers=headers, params=params)
        statuses[response.status_code] += 1
        assert response.status_code < 500, (method, path, content[:200], response.text)
        if 200 <= response.status_code < 300 and operation["operationId"] != "metrics":
            documented = operation["responses"][str(response.status_code)]
            schema = documented["content"]["application/json"]["schema"]
            jsonschema.validate(
                response.json(), {**schema, **registry}, cls=jsonschema.Draft202012Validator
            )

    one_request()
    print(f"fuzzed {sum(statuses.values())} requests: {dict(sorted(statuses.items()))}")
    assert all(status < 500 for status in statuses)
    health = http.get("/healthz")
    assert health.status_code == 200, health.text
    assert health.json()["controller_pid"] == pid
