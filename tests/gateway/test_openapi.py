"""The OpenAPI 3.1 document is true: it lists exactly the routes the server serves, its schemas
are valid JSON Schema 2020-12, and what it states about bodies is what the gateway and the
settings types enforce (closed objects, integer ranges). No Ray: fake backends in-process."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import jsonschema
import pytest
from aiohttp.test_utils import TestClient, TestServer

from raybus.core.errors import RaybusError
from raybus.core.functions import FunctionConfig
from raybus.core.mappings import MappingConfig
from raybus.core.queues import QueueConfig
from raybus.gateway import GatewayMetrics, build_app
from raybus.gateway.boundary import check_fields
from raybus.gateway.schemas import COMPONENTS
from tests.gateway.test_resources_api import FakeAdmin, FakeFunctions, FakeService, FakeTopics


def _app() -> Any:
    return build_app(
        FakeService(),  # type: ignore[arg-type]
        FakeAdmin(),
        GatewayMetrics(),
        token=None,
        topics=FakeTopics(),
        functions=FakeFunctions(),
    )


def _served_document() -> tuple[dict[str, Any], set[tuple[str, str]]]:
    app = _app()
    registered = {
        (route.method.lower(), route.resource.canonical)
        for route in app.router.routes()
        if route.resource is not None
    }

    async def fetch() -> dict[str, Any]:
        async with TestClient(TestServer(app)) as client:
            response = await client.get("/openapi.json")
            assert response.status == 200
            document: dict[str, Any] = await response.json()
            return document

    return asyncio.run(fetch()), registered


DOCUMENT, REGISTERED = _served_document()


def _operations() -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, item in DOCUMENT["paths"].items()
        for method, operation in item.items()
    ]


def test_the_document_lists_exactly_the_served_routes() -> None:
    documented = {(method, path) for method, path, _ in _operations()}
    assert documented == REGISTERED
    ids = [operation["operationId"] for _, _, operation in _operations()]
    assert len(ids) == len(set(ids))


def test_it_is_openapi_3_1_with_valid_json_schemas() -> None:
    assert DOCUMENT["openapi"].startswith("3.1")
    validator = jsonschema.Draft202012Validator
    for name, schema in DOCUMENT["components"]["schemas"].items():
        validator.check_schema(schema), name
    for method, path, operation in _operations():
        bodies = [operation.get("requestBody", {}).get("content", {})]
        bodies += [answer.get("content", {}) for answer in operation["responses"].values()]
        for content in bodies:
            for media in content.values():
                validator.check_schema(media["schema"]), (method, path)
        for parameter in operation.get("parameters", ()):
            validator.check_schema(parameter["schema"])
        assert "default" in operation["responses"], (method, path)  # the error answer


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    return COMPONENTS[ref.rsplit("/", 1)[-1]] if ref else schema


def _closed_objects(schema: dict[str, Any]) -> list[dict[str, Any]]:
    schema = _resolve(schema)
    found = [schema] if schema.get("additionalProperties") is False else []
    for option in schema.get("anyOf", ()):
        found += _closed_objects(option)
    return found


def _map_bodies() -> list[tuple[str, str, dict[str, Any]]]:
    """The operations whose request body is a JSON or msgpack map (not an object's bytes)."""
    return [
        op
        for op in _operations()
        if "application/json" in op[2].get("requestBody", {}).get("content", {})
    ]


def test_raw_bodies_and_answers_are_documented_as_bytes() -> None:
    binary = {"*/*": {"schema": {"type": "string", "format": "binary"}}}
    item = DOCUMENT["paths"]["/v1/buckets/{name}/objects/{key}"]
    assert item["put"]["requestBody"]["content"] == binary
    assert [p["name"] for p in item["put"]["parameters"]] == ["name", "key"]
    assert item["get"]["responses"]["200"]["content"] == binary
    assert item["get"]["responses"]["206"]["content"] == binary
    assert "content" not in item["head"]["responses"]["200"]
    assert [op for op in _operations() if "requestBody" in op[2]
            and op not in _map_bodies()] == [("put", "/v1/buckets/{name}/objects/{key}",
                                              item["put"])]  # fmt: skip


@pytest.mark.parametrize(
    ("method", "path", "operation"),
    _map_bodies(),
    ids=[op[2]["operationId"] for op in _map_bodies()],
)
def test_a_field_a_closed_body_does_not_list_is_refused(
    method: str, path: str, operation: dict[str, Any]
) -> None:
    schema = operation["requestBody"]["content"]["application/json"]["schema"]
    closed = _closed_objects(schema)
    assert closed, f"{operation['operationId']}: a request body is a closed object"
    for shape in closed:
        required = {name: _example(shape["properties"][name]) for name in shape.get("required", ())}
        with pytest.raises(RaybusError) as caught:
            check_fields({**required, "not_a_field": 1}, schema, COMPONENTS)
        assert caught.value.details["parameter"] == "not_a_field"


def _example(schema: dict[str, Any]) -> Any:
    schema = _resolve(schema)
    kind = schema.get("type")
    if kind == "array":
        return [_example(schema.get("items", {}))] if schema.get("minItems") else []
    if kind == "object":
        return {}
    if kind == "integer":
        return schema.get("minimum", 1)
    return "x"


SETTINGS = [
    (QueueConfig, {"name": "q"}),
    (FunctionConfig, {"name": "f", "handler": "pkg.mod:fn"}),
    (MappingConfig, {"id": "m", "source": "queue:q", "function": "f", "batching_window_s": 1}),
]


def _bounded() -> list[Any]:
    cases = []
    for cls, base in SETTINGS:
        for name, schema in COMPONENTS[cls.__name__]["properties"].items():
            target = schema["anyOf"][0] if "anyOf" in schema else schema
            if "minimum" in target and target.get("type") == "integer":
                cases.append(pytest.param(cls, base, name, target, id=f"{cls.__name__}.{name}"))
    return cases


@pytest.mark.parametrize(("cls", "base", "name", "schema"), _bounded())
def test_every_documented_integer_range_is_what_the_settings_type_enforces(
    cls: Any, base: dict[str, Any], name: str, schema: dict[str, Any]
) -> None:
    low, high = schema["minimum"], schema["maximum"]
    for value in (low, high):
        cls.from_dict({**base, name: value})
    for value in (low - 1, high + 1):
        with pytest.raises(RaybusError):
            cls.from_dict({**base, name: value})


def test_the_document_is_json_and_names_every_error_code() -> None:
    text = json.dumps(DOCUMENT)
    assert json.loads(text) == DOCUMENT
    codes = DOCUMENT["components"]["schemas"]["Error"]["properties"]["error"]["properties"]
    from raybus.core.errors import CATALOG

    assert set(codes["code"]["enum"]) == set(CATALOG)
