"""The request boundary (raybus.gateway.boundary, codec, text): pure checks, and the server's
timeouts on a real loopback socket against fake backends (no Ray)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import msgpack
import pytest
from aiohttp import web

from raybus.core.errors import RaybusError
from raybus.gateway import GatewayMetrics, build_app
from raybus.gateway.boundary import PER_ENTRY, UNKNOWN_FIELD_CODE, Limits, check_fields
from raybus.gateway.codec import Codec, media_type
from raybus.gateway.queue_wire import SEND
from raybus.gateway.schemas import COMPONENTS, closed, ref
from raybus.gateway.text import check_text, field_path
from tests.gateway.test_resources_api import FakeAdmin, FakeService

# -- text -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "where"),
    [
        ({"body": "\ud800"}, "body"),
        ({"entries": [{"body": "ok"}, {"body": "x\udfff"}]}, "entries[1].body"),
        ({"attributes": {"a": ["String.\ud800", "v"]}}, "attributes.a[0]"),
        ({"deep": [[[[{"k": "\udc80"}]]]]}, "deep[0][0][0][0].k"),
    ],
)
def test_a_lone_surrogate_is_refused_naming_its_field(value: Any, where: str) -> None:
    with pytest.raises(RaybusError) as caught:
        check_text(value)
    assert caught.value.code == "InvalidParameterValue"
    assert caught.value.details["parameter"] == where
    assert where in caught.value.message


def test_a_field_name_with_a_lone_surrogate_is_refused() -> None:
    with pytest.raises(RaybusError) as caught:
        check_text({"attributes": {"\ud800": ["String", "v"]}})
    assert caught.value.details["parameter"] == "attributes"


def test_valid_text_passes_including_astral_characters_and_deep_nesting() -> None:
    check_text({"body": "caf\u00e9 \U0001f600 \u4e2d", "n": 1, "x": None, "b": b"\xff"})
    deep: Any = "leaf"
    for _ in range(50_000):
        deep = [deep]
    check_text({"deep": deep})  # iterative: no RecursionError


def test_field_paths_read_like_code() -> None:
    assert field_path(("entries", 3, "body")) == "entries[3].body"
    assert field_path(()) == "body"


# -- decoding ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "where"),
    [
        (b'{"body": "\\ud800"}', "body"),
        (b'{"body": "\\uDBFF tail"}', "body"),  # upper-case escape
        (b'{"entries": [{"body": "\xed\xa0\x80"}]}', "entries[0].body"),  # raw surrogate bytes
        (b'{"a": {"b": "\\udc00\\ud800"}}', "a.b"),  # a pair in the wrong order
    ],
)
def test_json_lone_surrogates_are_refused_at_decoding(raw: bytes, where: str) -> None:
    with pytest.raises(RaybusError) as caught:
        Codec(json=True).decode(raw)
    assert (caught.value.code, caught.value.details["parameter"]) == (
        "InvalidParameterValue",
        where,
    )


def test_json_surrogate_pairs_are_text() -> None:
    assert Codec(json=True).decode(b'{"body": "\\ud83d\\ude00"}') == {"body": "\U0001f600"}
    assert Codec(json=True).decode(b'{"body": "a\\\\ud800"}') == {"body": "a\\ud800"}


def test_msgpack_text_that_is_not_utf8_is_malformed_and_named() -> None:
    raw = msgpack.packb({"entries": [{"body": "ok"}]})
    bad = raw.replace(b"\xa2ok", b"\xa2\xff\xfe")
    with pytest.raises(RaybusError) as caught:
        Codec(json=False).decode(bad)
    assert caught.value.code == "MalformedRequest"
    assert caught.value.details["parameter"] == "entries[0].body"


@pytest.mark.parametrize(
    ("content_type", "json_body"),
    [
        (None, True),
        ("application/json", True),
        ("Application/JSON; charset=utf-8", True),
        ("application/problem+json", True),
        ("text/json", True),
        ("application/msgpack", False),
        ("application/x-msgpack", False),
        ("application/vnd.msgpack", False),
        ("text/plain", None),
        ("application/xml", None),
        ("application/x-www-form-urlencoded", None),
        ("application/msgpack-ish", None),
    ],
)
def test_only_json_and_msgpack_bodies_are_understood(
    content_type: str | None, json_body: bool | None
) -> None:
    assert media_type(content_type) is json_body


# -- fields -----------------------------------------------------------------------------------


def test_unknown_fields_are_refused_at_any_depth_the_schema_reaches() -> None:
    schema = closed({"policy": closed({"a": {"type": "integer"}}), "items": {
        "type": "array", "items": closed({"x": {}})}})  # fmt: skip
    check_fields({"policy": {"a": 1}, "items": [{"x": 1}]}, schema, {})
    with pytest.raises(RaybusError) as caught:
        check_fields({"policy": {"a": 1, "b": 2}}, schema, {})
    assert caught.value.details["parameter"] == "policy.b"
    with pytest.raises(RaybusError) as caught:
        check_fields({"items": [{"x": 1}, {"y": 1}]}, schema, {})
    assert caught.value.details["parameter"] == "items[1].y"


def test_of_several_shapes_the_one_that_fits_is_checked() -> None:
    check_fields({"body": "x", "delay_s": 1}, SEND, COMPONENTS)
    check_fields({"entries": [{"body": "x"}]}, SEND, COMPONENTS)
    with pytest.raises(RaybusError) as caught:
        check_fields({"entries": [], "body": "x"}, SEND, COMPONENTS)
    assert caught.value.code == "InvalidParameterValue"


def test_batch_entries_are_left_to_fail_one_by_one() -> None:
    schema = closed({"entries": {"type": "array", "items": ref("SendEntry"), PER_ENTRY: True}})
    check_fields({"entries": [{"body": "x", "message_id": "forged"}]}, schema, COMPONENTS)


def test_a_schema_may_name_the_code_of_an_unknown_field() -> None:
    schema = {**closed({"a": {}}), UNKNOWN_FIELD_CODE: "InvalidAttributeName"}
    with pytest.raises(RaybusError) as caught:
        check_fields({"b": 1}, schema, {})
    assert caught.value.code == "InvalidAttributeName"


# -- timeouts on a real socket ----------------------------------------------------------------


async def _serve(limits: Limits) -> tuple[web.AppRunner, int]:
    app = build_app(
        FakeService(),  # type: ignore[arg-type]
        FakeAdmin(),
        GatewayMetrics(),
        token=None,
        limits=limits,
    )
    runner = web.AppRunner(app, access_log=None, keepalive_timeout=limits.idle_timeout_s)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    server: Any = site._server
    return runner, int(server.sockets[0].getsockname()[1])


async def _exchange(port: int, data: bytes, bound_s: float) -> bytes:
    """Send ``data``; the server's answer (head and body), or b"" if it closed without one.
    Bounded: a server that neither answers nor closes fails the test."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(data)
    await writer.drain()
    try:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), bound_s)
        length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
        return head + await asyncio.wait_for(reader.readexactly(length), bound_s)
    except asyncio.IncompleteReadError as closed:
        return closed.partial
    finally:
        writer.close()
        await writer.wait_closed()


def test_a_slow_request_head_is_cut_off_at_the_idle_timeout() -> None:
    async def scenario() -> bytes:
        runner, port = await _serve(Limits(idle_timeout_s=0.5))
        try:
            return await _exchange(port, b"GET /v1/clock HTTP/1.1\r\nHost: x\r\nX-Slow", 10.0)
        finally:
            await runner.cleanup()

    assert asyncio.run(scenario()) == b""  # closed without an answer


def test_a_body_that_stops_arriving_gets_408_and_a_closed_connection() -> None:
    async def scenario() -> bytes:
        runner, port = await _serve(Limits(body_timeout_s=0.5))
        try:
            head = (
                b"POST /v1/clock/advance HTTP/1.1\r\nHost: x\r\n"
                b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n"
            )
            return await _exchange(port, head + b'{"seconds', 10.0)
        finally:
            await runner.cleanup()

    answer = asyncio.run(scenario())
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408"), answer
    assert b"Connection: close" in head  # the rest of the body may still come: not reused
    assert json.loads(body)["error"]["code"] == "RequestTimeout"


def test_an_unsupported_content_type_is_415_before_any_handler_runs() -> None:
    admin = FakeAdmin()

    async def scenario() -> bytes:
        app = build_app(FakeService(), admin, GatewayMetrics(), token=None)  # type: ignore[arg-type]
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        server: Any = site._server
        port = int(server.sockets[0].getsockname()[1])
        body = b'{"name": "orders"}'
        try:
            return await _exchange(
                port,
                b"POST /v1/queues HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n"
                + f"Content-Length: {len(body)}\r\n\r\n".encode()
                + body,
                10.0,
            )
        finally:
            await runner.cleanup()

    answer = asyncio.run(scenario())
    assert answer.startswith(b"HTTP/1.1 415"), answer
    assert admin.calls == []
