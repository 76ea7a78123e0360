"""A property-based fuzzer of the native API against the live session cluster (default tier).

Every operation of the gateway's own OpenAPI document gets its own hypothesis run: path
parameters (often a queue and topic that exist, so requests get past the 404), query
parameters, and bodies shaped by the operation's schema most of the time — with any value in a
field's place now and then, extra fields, msgpack instead of JSON, or bytes that parse as
nothing. The text strategy *includes* lone surrogates and every other code point, and a third
of the strings are built to hold one (hypothesis's default text strategy excludes them, which
is how an earlier fuzzer missed the controller crash).

Properties: no answer is a 5xx; every answer arrives (a bounded client timeout); a success
answer matches the operation's documented schema; and at the end the controller is the same
process and the cluster is healthy. ``RAYBUS_FUZZ_EXAMPLES`` sets the requests per operation
(default 12, about 500 requests in all; the run prints the status counts).
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

EXAMPLES = int(os.environ.get("RAYBUS_FUZZ_EXAMPLES", "12"))
SKIP = {"advance_clock"}  # the session's shared virtual clock: tested on its own
FIXED = {"wait_s": st.sampled_from([0, 1, -1, "1", None, 21])}  # long polls stay short

# Text: printable ASCII (most requests reach validation), any code point, and lone surrogates.
SURROGATES = st.characters(codec=None, categories=["Cs"])
CHARS = st.one_of(
    st.sampled_from(string.ascii_letters + string.digits + "-_.:"),
    st.characters(codec=None, exclude_categories=[]),
    SURROGATES,
)
_ANY_TEXT = st.text(CHARS, max_size=24)
TEXT = st.one_of(
    st.text(st.sampled_from(string.ascii_letters + string.digits + "-_"), min_size=1, max_size=12),
    _ANY_TEXT,
    st.tuples(_ANY_TEXT, SURROGATES, _ANY_TEXT).map("".join),  # holds a lone surrogate
)
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


def from_schema(
    schema: dict[str, Any], components: dict[str, Any], depth: int = 0
) -> st.SearchStrategy[Any]:
    """Values shaped by ``schema`` most of the time (so requests get past the first check and
    reach the code behind it), with surrogate-bearing text in every string, boundary
    integers, and now and then any value at all in a field's place."""
    ref = schema.get("$ref")
    if ref:
        schema = components[ref.rsplit("/", 1)[-1]]
    anything = VALUES if depth < 3 else SCALARS
    if "anyOf" in schema:
        return st.one_of([from_schema(option, components, depth) for option in schema["anyOf"]])
    if "enum" in schema:
        return st.one_of(st.sampled_from(schema["enum"]), st.sampled_from(schema["enum"]), TEXT)
    kind = schema.get("type")
    if kind == "string":
        return st.one_of(TEXT, TEXT, TEXT, anything)
    if kind == "integer":
        low, high = schema.get("minimum", -(2**31)), schema.get("maximum", 2**31)
        edges = st.sampled_from([low - 1, low, high, high + 1])
        return st.one_of(edges, st.integers(low, high), anything)
    if kind == "boolean":
        return st.one_of(st.booleans(), st.booleans(), anything)
    if kind == "array" and depth < 3:
        items = from_schema(schema.get("items", {}), components, depth + 1)
        return st.one_of(st.lists(items, max_size=4), st.lists(items, max_size=4), anything)
    properties = schema.get("properties")
    if properties and depth < 3:
        fields = {name: from_schema(sub, components, depth + 1) for name, sub in properties.items()}
        shaped = st.lists(st.sampled_from(sorted(fields)), min_size=1, unique=True).flatmap(
            lambda names: st.fixed_dictionaries({name: fields[name] for name in names})
        )
        extra = st.dictionaries(TEXT, anything, max_size=2)
        return st.one_of(shaped, shaped, shaped, st.tuples(shaped, extra).map(
            lambda pair: {**pair[1], **pair[0]}))  # fmt: skip
    return anything


@st.composite
def bodies(
    draw: st.DrawFn, schema: dict[str, Any], components: dict[str, Any]
) -> tuple[bytes, str]:
    """A request body and its content type: mostly shaped by the body's schema, sometimes
    msgpack, sometimes bytes that parse as nothing."""
    shape = draw(st.sampled_from(["json", "json", "json", "msgpack", "garbage"]))
    if shape == "garbage":
        return draw(st.binary(max_size=64)), "application/json"
    data = draw(from_schema(schema, components)) if schema else draw(VALUES)
    if not isinstance(data, dict):
        data = {"value": data}
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


STATUSES: Counter[int] = Counter()


def _offline_document() -> dict[str, Any]:
    """What /openapi.json serves, read at collection time from the app with fake backends
    (the document depends only on the routes, not on the cluster)."""
    import asyncio

    from aiohttp.test_utils import TestClient, TestServer

    from raybus.gateway import GatewayMetrics, build_app
    from tests.gateway.test_resources_api import (
        FakeAdmin,
        FakeFunctions,
        FakeService,
        FakeTopics,
    )

    app = build_app(
        FakeService(),  # type: ignore[arg-type]
        FakeAdmin(),
        GatewayMetrics(),
        token=None,
        topics=FakeTopics(),
        functions=FakeFunctions(),
    )

    async def fetch() -> dict[str, Any]:
        async with TestClient(TestServer(app)) as client:
            answer: dict[str, Any] = await (await client.get("/openapi.json")).json()
            return answer

    return asyncio.run(fetch())


OFFLINE = _offline_document()


def _operations() -> list[Any]:
    return sorted(
        (method.upper(), path, operation["operationId"])
        for path, item in OFFLINE["paths"].items()
        for method, operation in item.items()
        if operation["operationId"] not in SKIP
    )


@pytest.fixture(scope="module")
def known(http: httpx.Client) -> str:
    """A queue and a topic of this name exist, so fuzzed paths often reach real resources."""
    name = f"fz{uuid.uuid4().hex[:6]}"
    http.post("/v1/queues", json={"name": name})
    http.post("/v1/topics", json={"name": name})
    return name


@pytest.fixture(scope="module")
def controller_pid(http: httpx.Client) -> int:
    return int(http.get("/healthz").json()["controller_pid"])


@pytest.mark.parametrize(("method", "path", "operation_id"), _operations())
def test_no_request_gets_a_5xx_or_hangs_or_breaks_a_documented_answer(
    http: httpx.Client,
    document: dict[str, Any],
    known: str,
    controller_pid: int,
    method: str,
    path: str,
    operation_id: str,
) -> None:
    components = document["components"]["schemas"]
    operation = document["paths"][path][method.lower()]
    assert operation["operationId"] == operation_id
    registry = {"components": {"schemas": components}}
    body_schema = (
        operation.get("requestBody", {})
        .get("content", {})
        .get("application/json", {})
        .get("schema", {})
    )

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(data=st.data())
    def one_request(data: st.DataObject) -> None:
        target = path
        for name in [p["name"] for p in operation.get("parameters", ()) if p["in"] == "path"]:
            value = data.draw(st.one_of(st.just(known), st.just(known), TEXT))
            encoded = quote(value.encode("utf-8", "surrogatepass"), safe="")
            target = target.replace("{" + name + "}", encoded or "x")
        query = {
            p["name"]: data.draw(TEXT)
            for p in operation.get("parameters", ())
            if p["in"] == "query" and data.draw(st.booleans())
        }
        if data.draw(st.integers(0, 9)) == 0:
            query[data.draw(TEXT) or "extra"] = "1"
        content, content_type = b"", None
        if body_schema or data.draw(st.integers(0, 4)) == 0:
            content, content_type = data.draw(bodies(body_schema, components))
        headers = {"Content-Type": content_type} if content_type else {}
        params = {k.encode("utf-8", "surrogatepass"): v.encode("utf-8", "surrogatepass")
                  for k, v in query.items()}  # fmt: skip
        response = http.request(method, target, content=content, headers=headers, params=params)
        STATUSES[response.status_code] += 1
        assert response.status_code < 500, (method, target, content[:300], response.text)
        if 200 <= response.status_code < 300 and operation_id != "metrics":
            documented = operation["responses"][str(response.status_code)]
            schema = documented["content"]["application/json"]["schema"]
            jsonschema.validate(
                response.json(), {**schema, **registry}, cls=jsonschema.Draft202012Validator
            )

    one_request()


# -- systematic: a lone surrogate in each documented string field, one field at a time --------


def _resolve(schema: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    return components[ref.rsplit("/", 1)[-1]] if ref else schema


def _example(schema: dict[str, Any], components: dict[str, Any], known: str) -> Any:
    """A small value of ``schema``'s shape: required fields only, names that exist."""
    schema = _resolve(schema, components)
    if "anyOf" in schema:
        return _example(schema["anyOf"][0], components, known)
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        return {
            name: _example(schema["properties"][name], components, known)
            for name in schema.get("required", ())
        }
    if kind == "array":
        return [_example(schema.get("items", {}), components, known)]
    if kind == "integer":
        return schema.get("minimum", 1)
    if kind == "boolean":
        return False
    if kind == "number":
        return 1
    return known


def _text_fields(
    schema: dict[str, Any], components: dict[str, Any], where: tuple[Any, ...] = ()
) -> list[tuple[Any, ...]]:
    """Paths to every place in a body that may hold text (at most four levels deep)."""
    schema = _resolve(schema, components)
    if len(where) > 4:
        return []
    found: list[tuple[Any, ...]] = []
    options = schema.get("anyOf")
    if options:
        for option in options:
            found += [p for p in _text_fields(option, components, where) if p not in found]
        return found
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        for name, sub in schema.get("properties", {}).items():
            found += _text_fields(sub, components, (*where, name))
        return found
    if kind == "array":
        return _text_fields(schema.get("items", {}), components, (*where, 0))
    if kind in (None, "string") or "enum" in schema:
        return [where]
    return []


def _with(value: Any, path: tuple[Any, ...], leaf: Any) -> Any:
    if not path:
        return leaf
    head, rest = path[0], path[1:]
    if isinstance(head, int):
        items = list(value) if isinstance(value, list) and value else [{}]
        items[0] = _with(items[0], rest, leaf)
        return items
    out = dict(value) if isinstance(value, dict) else {}
    out[head] = _with(out.get(head, {}), rest, leaf)
    return out


def _body_schema(operation: dict[str, Any]) -> dict[str, Any] | None:
    schema: dict[str, Any] | None = (
        operation.get("requestBody", {})
        .get("content", {})
        .get("application/json", {})
        .get("schema")
    )
    return schema


def _text_cases() -> list[Any]:
    components = OFFLINE["components"]["schemas"]
    cases = []
    for path, item in OFFLINE["paths"].items():
        for method, operation in item.items():
            op = operation["operationId"]
            if op in SKIP:
                continue
            for parameter in operation.get("parameters", ()):
                where = ("@" + parameter["in"], parameter["name"])
                label = f"{op}-{parameter['in']}-{parameter['name']}"
                cases.append(pytest.param(method.upper(), path, where, id=label))
            schema = _body_schema(operation)
            for field in _text_fields(schema, components) if schema else ():
                label = ".".join(str(part) for part in field)
                cases.append(pytest.param(method.upper(), path, field, id=f"{op}-{label}"))
    return cases


LONE = "x\ud800y"


@pytest.mark.parametrize(("method", "path", "field"), _text_cases())
def test_a_lone_surrogate_in_any_documented_field_is_a_clean_client_error(
    http: httpx.Client, known: str, controller_pid: int, method: str, path: str, field: Any
) -> None:
    """One field at a time holds a lone surrogate; everything else is a small valid-looking
    request (names that exist), so the request reaches as deep as it can."""
    components = OFFLINE["components"]["schemas"]
    operation = OFFLINE["paths"][path][method.lower()]
    params: dict[bytes, bytes] = {}
    target = path
    for parameter in operation.get("parameters", ()):
        if parameter["in"] == "path":
            value = LONE if field == ("@path", parameter["name"]) else known
            target = target.replace(
                "{" + parameter["name"] + "}",
                quote(value.encode("utf-8", "surrogatepass"), safe=""),
            )
        elif field == ("@query", parameter["name"]):
            params[parameter["name"].encode()] = LONE.encode("utf-8", "surrogatepass")
    schema = _body_schema(operation)
    content = b""
    if schema is not None:
        body = _example(schema, components, known)
        if not str(field[0]).startswith("@"):
            body = _with(body, field, LONE)
        content = json.dumps(body).encode("ascii")
    response = http.request(
        method, target, content=content, params=params,
        headers={"Content-Type": "application/json"} if content else {},
    )  # fmt: skip
    STATUSES[response.status_code] += 1
    assert response.status_code < 500, (method, target, content[:300], response.text)
    if not str(field[0]).startswith("@"):
        assert response.status_code == 400, response.text  # refused at decoding, whatever else
    health = http.get("/healthz")
    assert health.json()["controller_pid"] == controller_pid, "the controller restarted"


def test_after_the_fuzzing_the_controller_is_the_same_process_and_healthy(
    http: httpx.Client, controller_pid: int
) -> None:
    print(f"fuzzed {sum(STATUSES.values())} requests: {dict(sorted(STATUSES.items()))}")
    assert STATUSES and all(status < 500 for status in STATUSES)
    health = http.get("/healthz")
    assert health.status_code == 200, health.text
    assert health.json()["controller_pid"] == controller_pid
