"""Typed errors: one class per catalog code, rebuilt from every kind of failing answer."""

from __future__ import annotations

import pickle
from typing import Any

import httpx
import pytest

from raybus.core import CATALOG, RaybusError
from raybus.sdk import GatewayConnectionError, errors
from tests.sdk.conftest import Api, ait
from tests.sdk.fakes import answer, error_answer

CODES = sorted(CATALOG)


@pytest.mark.parametrize("code", CODES)
def test_every_catalog_code_has_an_exported_class_with_the_catalog_facts(code: str) -> None:
    cls = getattr(errors, code)
    assert code in errors.__all__
    assert issubclass(cls, RaybusError) and cls.__name__ == code
    error = cls("message", parameter="p")
    spec = CATALOG[code]
    assert (error.code, error.http_status, error.retriable) == (
        code,
        spec.http_status,
        spec.retriable,
    )
    assert (error.message, error.details) == ("message", {"parameter": "p"})
    assert cls.__doc__ == spec.meaning


@pytest.mark.parametrize("code", CODES)
def test_every_error_answer_raises_its_typed_class_with_its_details(api: Api, code: str) -> None:
    api.gateway.script(*[error_answer(code, "it failed", parameter="name", limit=3)] * 6)

    async def scenario(client: Any) -> None:
        await ait(client.list_queues())

    with pytest.raises(getattr(errors, code)) as raised:
        api.run(scenario)
    assert raised.value.message == "it failed"
    assert raised.value.details == {"parameter": "name", "limit": 3}


def test_details_named_like_constructor_arguments_survive() -> None:
    error = errors.error_from_wire(
        {"code": "MissingParameter", "message": "m", "details": {"code": 1, "message": 2}}
    )
    assert isinstance(error, errors.MissingParameter)
    assert error.details == {"code": 1, "message": 2}


def test_an_unknown_code_becomes_internal_error_keeping_the_original_code() -> None:
    error = errors.error_from_wire(
        {"code": "FutureCode", "message": "m", "details": {"x": 1}}, http_status=418
    )
    assert isinstance(error, errors.InternalError)
    assert error.details == {"x": 1, "original_code": "FutureCode", "http_status": 418}
    assert "FutureCode" in error.message


@pytest.mark.parametrize("payload", [None, "text", 3, {"message": "no code"}])
def test_a_malformed_error_payload_becomes_internal_error(payload: object) -> None:
    assert isinstance(errors.error_from_wire(payload), errors.InternalError)


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (400, errors.MalformedRequest),
        (401, errors.Unauthorized),
        (404, errors.NotFound),
        (413, errors.RequestTooLarge),
        (429, errors.Throttled),
        (502, errors.InternalError),
        (503, errors.PartitionUnavailable),
        (418, errors.InternalError),
    ],
)
def test_a_failure_without_a_raybus_error_body_maps_its_http_status(
    api: Api, status: int, expected: type[RaybusError]
) -> None:
    page = httpx.Response(
        status, text="<html>bad gateway</html>", headers={"content-type": "text/html"}
    )
    api.gateway.script(*[page] * 6)

    async def scenario(client: Any) -> None:
        await ait(client.list_queues())

    with pytest.raises(expected) as raised:
        api.run(scenario)
    assert raised.value.details["http_status"] == status
    assert "bad gateway" in raised.value.message


def test_a_failure_whose_body_is_a_map_without_error_maps_its_status(api: Api) -> None:
    api.gateway.script(answer({"detail": "nope"}, 404))

    async def scenario(client: Any) -> None:
        await ait(client.list_queues())

    with pytest.raises(errors.NotFound):
        api.run(scenario)


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        (
            httpx.Response(200, content=b"\xc1", headers={"content-type": "application/msgpack"}),
            errors.InternalError,
        ),
        (answer([1, 2, 3]), errors.InternalError),
        (answer({"unexpected": True}), errors.InternalError),
        (answer({"error": {"code": "Throttled", "message": "m"}}), errors.Throttled),
    ],
    ids=["unreadable", "not-a-map", "missing-key", "error-body-with-200"],
)
def test_a_success_status_with_a_bad_answer_raises_without_retrying(
    api: Api, response: httpx.Response, expected: type[RaybusError]
) -> None:
    api.gateway.script(response)

    async def scenario(client: Any) -> None:
        await ait(client.list_queues())

    with pytest.raises(expected):
        api.run(scenario)
    assert len(api.gateway.requests) == 1


def test_a_connection_failure_raises_gateway_connection_error_from_the_httpx_error(
    api: Api,
) -> None:
    api.gateway.script(*[httpx.ConnectError("refused")] * 3)

    async def scenario(client: Any) -> None:
        await ait(client.list_queues())

    with pytest.raises(GatewayConnectionError) as raised:
        api.run(scenario, max_retries=2)
    assert isinstance(raised.value, ConnectionError)
    assert isinstance(raised.value.__cause__, httpx.ConnectError)
    assert raised.value.timeout is False
    assert "http://gateway.test:8000" in str(raised.value)
    assert len(api.gateway.requests) == 3


def test_a_timeout_is_a_gateway_connection_error_flagged_as_timeout(api: Api) -> None:
    api.gateway.script(httpx.ReadTimeout("slow"))

    async def scenario(client: Any) -> None:
        await ait(client.list_queues())

    with pytest.raises(GatewayConnectionError) as raised:
        api.run(scenario, max_retries=0)
    assert raised.value.timeout is True
    assert isinstance(raised.value.__cause__, httpx.ReadTimeout)


def test_a_request_httpx_cannot_send_propagates_unretried(api: Api) -> None:
    api.gateway.script(httpx.UnsupportedProtocol("ftp://"))

    async def scenario(client: Any) -> None:
        await ait(client.list_queues())

    with pytest.raises(httpx.UnsupportedProtocol):
        api.run(scenario)
    assert len(api.gateway.requests) == 1


@pytest.mark.parametrize("code", ["QueueDoesNotExist", "Throttled", "InternalError"])
def test_typed_errors_survive_pickling(code: str) -> None:
    error = errors.error_class(code)("m", limit=3)
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error)
    assert (copy.code, copy.message, copy.details) == (code, "m", {"limit": 3})


def test_error_class_of_an_unknown_code_is_internal_error() -> None:
    assert errors.error_class("NoSuchCode") is errors.InternalError


def test_a_subclass_for_a_code_outside_the_catalog_is_refused() -> None:
    with pytest.raises(ValueError, match="not in the error catalog"):

        class Bogus(errors.CatalogError, code="Bogus"):
            pass
