"""The async client's own HTTP/1.1 connections (``raybus.sdk._http1``) against real servers on
loopback: an aiohttp server for the answers a gateway gives, a bare asyncio server for the
ones it should never give."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import msgpack
import pytest
from aiohttp import web

from raybus.sdk import AsyncClient
from raybus.sdk._http1 import Http1Pool
from raybus.sdk._transport import AiohttpTransport, open_async_transport
from raybus.sdk.errors import GatewayConnectionError

HEADERS = {"Content-Type": "application/msgpack", "User-Agent": "raybus-sdk/test"}


class Server:
    """An aiohttp server recording what it was sent and over which connections."""

    def __init__(self) -> None:
        self.seen: list[dict[str, Any]] = []
        self.peers: set[tuple[str, int]] = set()
        self.disconnects = 0
        self.url = ""
        self.never = asyncio.Event()

    async def echo(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        self.peers.add(request.transport.get_extra_info("peername"))  # type: ignore[union-attr]
        self.seen.append(
            {
                "method": request.method,
                "path": request.path,
                "raw_path": request.raw_path,
                "query": dict(request.query),
                "headers": dict(request.headers),
                "body": body,
            }
        )
        mode = request.query.get("mode", "")
        if mode == "close":
            return web.Response(body=b"bye", headers={"Connection": "close"})
        if mode == "chunked":
            answer = web.StreamResponse(headers={"Content-Type": "application/msgpack"})
            answer.enable_chunked_encoding()
            await answer.prepare(request)
            for piece in (b"\x93", b"\x01", b"\x02\x03"):
                await answer.write(piece)
            await answer.write_eof()
            return answer
        if mode == "big":
            return web.Response(body=b"x" * (4 << 20), content_type="application/octet-stream")
        if mode == "hang":
            try:
                await self.never.wait()
            finally:
                self.disconnects += 1
        if mode == "abort":
            assert request.transport is not None
            request.transport.abort()
            await self.never.wait()
        return web.Response(
            status=int(request.query.get("status", "200")),
            body=msgpack.packb({"got": len(body)}),
            headers={"Content-Type": "application/msgpack", "Retry-After": "3"},
        )


@asynccontextmanager
async def serving(**settings: Any) -> AsyncIterator[Server]:
    server = Server()
    app = web.Application(client_max_size=8 << 20)
    app.router.add_route("*", "/{tail:.*}", server.echo)
    runner = web.AppRunner(app, handler_cancellation=True, **settings)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    server.url = f"http://127.0.0.1:{port}"
    try:
        yield server
    finally:
        server.never.set()
        await runner.cleanup()


def run(scenario: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(scenario())


async def until(condition: Callable[[], bool]) -> None:
    for _ in range(500):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not reached in 5 s")


def test_a_request_carries_method_path_query_headers_and_body() -> None:
    async def scenario() -> None:
        async with serving() as server:
            pool = Http1Pool(server.url, {**HEADERS, "Authorization": "Bearer t"})
            status, content_type, retry_after, body = await pool.request(
                "POST", "/v1/queues/a%2Fb/messages", b"\x81\xa1k\x01", {"limit": 5, "x": None}, 5
            )
            assert (status, content_type, retry_after) == (200, "application/msgpack", "3")
            assert msgpack.unpackb(body) == {"got": 4}
            seen = server.seen[0]
            assert seen["method"] == "POST"
            assert seen["raw_path"] == "/v1/queues/a%2Fb/messages?limit=5"  # sent as quoted
            assert seen["query"] == {"limit": "5"}
            assert seen["body"] == b"\x81\xa1k\x01"
            assert seen["headers"]["Authorization"] == "Bearer t"
            assert seen["headers"]["User-Agent"] == "raybus-sdk/test"
            assert seen["headers"]["Host"] == server.url.removeprefix("http://")
            await pool.request("GET", "/v1/health", None, None, 5)
            assert server.seen[1]["method"] == "GET" and server.seen[1]["body"] == b""
            assert "Content-Length" not in server.seen[1]["headers"]
            await pool.request("POST", "/v1/empty", None, None, 5)
            assert server.seen[2]["headers"]["Content-Length"] == "0"
            pool.close()

    run(scenario)


def test_any_status_is_an_answer() -> None:
    async def scenario() -> None:
        async with serving() as server:
            pool = Http1Pool(server.url, HEADERS)
            status, _, _, body = await pool.request("POST", "/x", b"", {"status": 503}, 5)
            assert status == 503 and msgpack.unpackb(body) == {"got": 0}
            pool.close()

    run(scenario)


def test_connections_are_kept_alive_and_reused() -> None:
    async def scenario() -> None:
        async with serving() as server:
            pool = Http1Pool(server.url, HEADERS)
            for _ in range(20):
                await pool.request("POST", "/x", b"a", None, 5)
            assert len(server.peers) == 1
            # eight at once need eight connections, and later rounds reuse them
            for _ in range(5):
                await asyncio.gather(*(pool.request("POST", "/x", b"a", None, 5) for _ in range(8)))
            assert len(server.peers) == 8
            pool.close()

    run(scenario)


def test_a_connection_the_gateway_closes_is_not_reused() -> None:
    async def scenario() -> None:
        async with serving() as server:
            pool = Http1Pool(server.url, HEADERS)
            status, _, _, body = await pool.request("POST", "/x", b"", {"mode": "close"}, 5)
            assert (status, body) == (200, b"bye")
            await pool.request("POST", "/x", b"", None, 5)
            assert len(server.peers) == 2
            pool.close()

    run(scenario)


def test_an_idle_connection_the_gateway_dropped_is_replaced() -> None:
    async def scenario() -> None:
        async with serving(keepalive_timeout=0.05) as server:
            pool = Http1Pool(server.url, HEADERS)
            await pool.request("POST", "/x", b"", None, 5)
            (idle,) = pool._idle
            await until(lambda: idle.closed)
            status, _, _, _ = await pool.request("POST", "/x", b"", None, 5)
            assert status == 200 and len(server.peers) == 2
            pool.close()

    run(scenario)


def test_chunked_and_large_answers_arrive_whole() -> None:
    async def scenario() -> None:
        async with serving() as server:
            pool = Http1Pool(server.url, HEADERS)
            _, content_type, _, body = await pool.request("GET", "/x", None, {"mode": "chunked"}, 5)
            assert content_type == "application/msgpack" and msgpack.unpackb(body) == [1, 2, 3]
            _, _, _, body = await pool.request("GET", "/x", None, {"mode": "big"}, 5)
            assert body == b"x" * (4 << 20)
            payload = bytes(range(256)) * (8 << 10)  # 2 MiB
            _, _, _, body = await pool.request("PUT", "/x", payload, None, 5)
            assert (
                msgpack.unpackb(body) == {"got": len(payload)}
                and server.seen[-1]["body"] == payload
            )
            assert len(server.peers) == 1  # all on one kept-alive connection
            pool.close()

    run(scenario)


def test_a_slow_answer_times_out_and_its_connection_is_closed() -> None:
    async def scenario() -> None:
        async with serving() as server:
            pool = Http1Pool(server.url, HEADERS)
            with pytest.raises(GatewayConnectionError) as raised:
                await pool.request("POST", "/x", b"", {"mode": "hang"}, 0.2)
            assert raised.value.timeout is True
            await until(lambda: server.disconnects == 1)  # the handler saw the connection go
            assert pool._idle == []
            status, _, _, _ = await pool.request("POST", "/x", b"", None, 5)
            assert status == 200 and len(server.peers) == 2
            pool.close()

    run(scenario)


def test_a_cancelled_call_closes_its_connection() -> None:
    async def scenario() -> None:
        async with serving() as server:
            pool = Http1Pool(server.url, HEADERS)
            call = asyncio.create_task(pool.request("POST", "/x", b"", {"mode": "hang"}, 30))
            await until(lambda: len(server.seen) == 1)
            call.cancel()
            with pytest.raises(asyncio.CancelledError):
                await call
            await until(lambda: server.disconnects == 1)
            assert pool._idle == []
            status, _, _, _ = await pool.request("POST", "/x", b"", None, 5)
            assert status == 200
            pool.close()

    run(scenario)


def test_a_connection_dropped_before_the_answer_is_a_connection_error() -> None:
    async def scenario() -> None:
        async with serving() as server:
            pool = Http1Pool(server.url, HEADERS)
            with pytest.raises(GatewayConnectionError) as raised:
                await pool.request("POST", "/x", b"", {"mode": "abort"}, 5)
            assert raised.value.timeout is False
            assert (await pool.request("POST", "/x", b"", None, 5))[0] == 200
            pool.close()

    run(scenario)


def test_an_unreachable_gateway_is_a_connection_error() -> None:
    async def scenario() -> None:
        async with serving() as server:
            url = server.url
        pool = Http1Pool(url, HEADERS)  # the server is gone: its port refuses
        with pytest.raises(GatewayConnectionError) as raised:
            await pool.request("POST", "/x", b"", None, 5)
        assert raised.value.timeout is False and url in str(raised.value)

    run(scenario)


@pytest.mark.parametrize(
    "reply",
    [
        b"NOT HTTP AT ALL\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",  # then the connection ends
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\nConnection: upgrade\r\n\r\n",
    ],
    ids=["garbage", "truncated", "upgrade"],
)
def test_an_answer_that_is_not_http_is_a_connection_error(reply: bytes) -> None:
    async def scenario() -> None:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(reply)
            await writer.drain()
            writer.close()

        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        pool = Http1Pool(f"http://127.0.0.1:{port}", HEADERS)
        with pytest.raises(GatewayConnectionError):
            await pool.request("GET", "/x", None, None, 5)
        assert pool._idle == []
        server.close()
        await server.wait_closed()

    run(scenario)


def test_header_injection_and_other_schemes_are_refused() -> None:
    with pytest.raises(ValueError, match="line break"):
        Http1Pool("http://127.0.0.1:1", {"Authorization": "Bearer a\r\nX-Evil: 1"})
    with pytest.raises(ValueError, match="http://"):
        Http1Pool("https://127.0.0.1:1", HEADERS)
    assert not Http1Pool.supports("https://gateway.example")
    assert Http1Pool.supports("http://127.0.0.1:8000")
    # https gateways keep aiohttp for everything
    transport = open_async_transport("https://127.0.0.1:1", HEADERS, None, 5)
    assert isinstance(transport, AiohttpTransport) and transport._pool is None


def test_the_async_client_talks_through_its_own_connections() -> None:
    async def scenario() -> None:
        async with serving() as server:
            async with AsyncClient(server.url, token="tok") as client:
                transport = client._transport
                assert isinstance(transport, AiohttpTransport) and transport._pool is not None
                assert await client.health() == {"got": 0}  # the echo's answer, decoded
                assert server.seen[-1]["method"] == "GET"
                assert server.seen[-1]["path"] == "/healthz"
                assert server.seen[-1]["headers"]["Authorization"] == "Bearer tok"
                assert len(transport._pool._idle) == 1
            assert transport._pool._idle == []  # closed with the client

    run(scenario)


def test_an_interim_answer_is_skipped_for_the_final_one() -> None:
    async def scenario() -> None:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            writer.write(b"HTTP/1.1 202 Accepted\r\nContent-Type: text/plain\r\n")
            writer.write(b"Content-Length: 2\r\n\r\nok")
            await writer.drain()
            await reader.read()  # until the client closes its end

        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        pool = Http1Pool(f"http://127.0.0.1:{port}", HEADERS)
        assert await pool.request("GET", "/x", None, None, 5) == (202, "text/plain", None, b"ok")
        assert len(pool._idle) == 1
        pool.close()
        server.close()
        await server.wait_closed()

    run(scenario)
