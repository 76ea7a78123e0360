"""A lean HTTP/1.1 client for the async client's API calls: keep-alive connections to one
``http://`` gateway, each request written in one piece and its answer parsed by ``httptools``
(llhttp, the parser behind uvicorn).

Why not aiohttp for these: an API call is one small request with its whole body at hand and
one whole answer, and aiohttp's generality (cookies, redirects, payload registry, tracing,
per-request timeout objects, multidict headers) is paid on every call: a 10-message receive
and its delete cost the client 422 µs of CPU through aiohttp against 180 µs here, the SDK's
own work included (``bench_sdk_client``; ``benchmarks/README.md``, "The SDK's own HTTP/1.1
client") — on cores a client often shares with the cluster it talks to. aiohttp stays for what
this does not do: ``https://`` gateways and the buckets' streamed uploads and downloads.

Contract (the transport's, ``_transport.py``): :meth:`Http1Pool.request` returns the whole
answer of any status, or raises :class:`~raybus.sdk.errors.GatewayConnectionError` when the
gateway could not be reached, closed the connection before answering, sent something that is
not HTTP, or did not answer within ``timeout_s`` (connect, write and read together). A
connection is reused only after an answer was read whole and the gateway keeps it alive; one
that failed, timed out or was abandoned by a cancelled caller is closed, so a late answer can
never be read as another request's.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode, urlsplit

import httptools

from raybus.sdk._retry import unreachable

__all__ = ["Http1Pool"]

#: Idle connections kept per pool; more concurrent calls open more and close the surplus.
MAX_IDLE = 256


class _Connection(asyncio.Protocol):
    """One keep-alive connection: at most one request in flight, its answer parsed as it
    arrives."""

    __slots__ = (
        "_body",
        "_content_type",
        "_parser",
        "_retry_after",
        "_status",
        "_waiter",
        "closed",
        "reusable",
        "transport",
    )

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.reusable = False
        self._waiter: asyncio.Future[tuple[int, str, str | None, bytes]] | None = None
        self._parser = httptools.HttpResponseParser(self)
        self._body: list[bytes] = []
        self._status = 0
        self._content_type = ""
        self._retry_after: str | None = None

    # -- asyncio.Protocol -------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        if self._waiter is None:  # nothing asked: the gateway is not speaking HTTP to us
            self.close()
            return
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._fail(ConnectionError("the gateway switched protocols"))
        except httptools.HttpParserError as exc:
            self._fail(ConnectionError(f"the gateway's answer is not HTTP/1.1: {exc}"))

    def eof_received(self) -> bool:
        # a gateway's answer has a length or chunks: one cut short by the end is not an answer
        self._fail(ConnectionError("the gateway closed the connection before answering whole"))
        return False  # close the transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.reusable = False
        self._fail(exc or ConnectionError("the gateway closed the connection"))

    # -- httptools callbacks --------------------------------------------------------------------
    def on_header(self, name: bytes, value: bytes) -> None:
        lowered = name.lower()
        if lowered == b"content-type":
            self._content_type = value.decode("latin-1")
        elif lowered == b"retry-after":
            self._retry_after = value.decode("latin-1")

    def on_headers_complete(self) -> None:
        self._status = self._parser.get_status_code()

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        if 100 <= self._status < 200:
            if self._status == 101:  # nothing here asks to switch protocols
                self._fail(ConnectionError("the gateway switched protocols"))
            else:  # an interim answer (100 Continue): the final one follows
                self._body = []
            return
        waiter = self._waiter
        self._waiter = None
        self.reusable = self._parser.should_keep_alive() and not self.closed
        content = self._body[0] if len(self._body) == 1 else b"".join(self._body)
        if waiter is not None and not waiter.done():
            waiter.set_result((self._status, self._content_type, self._retry_after, content))

    # -- the pool's side ------------------------------------------------------------------------
    def send(self, request: bytes) -> asyncio.Future[tuple[int, str, str | None, bytes]]:
        assert self.transport is not None
        waiter = asyncio.get_running_loop().create_future()
        self._waiter = waiter
        self.reusable = False
        self._body = []
        self._status = 0
        self._content_type = ""
        self._retry_after = None
        self.transport.write(request)
        return waiter

    def _fail(self, exc: BaseException) -> None:
        waiter = self._waiter
        self._waiter = None
        self.close()
        if waiter is not None and not waiter.done():
            waiter.set_exception(exc)

    def close(self) -> None:
        self.reusable = False
        if not self.closed:
            self.closed = True
            if self.transport is not None:
                self.transport.close()


class Http1Pool:
    """Keep-alive HTTP/1.1 connections to one ``http://host:port`` and the headers every request
    carries. Use from one event loop."""

    def __init__(self, url: str, headers: Mapping[str, str]) -> None:
        parts = urlsplit(url)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"Http1Pool speaks plain http:// to a host, not {url!r}")
        self._url = url.rstrip("/")
        self._host = parts.hostname
        self._port = parts.port or 80
        self._prefix = parts.path.rstrip("/")
        for name, value in headers.items():
            if any(c in f"{name}{value}" for c in "\r\n\0"):
                raise ValueError(f"header {name!r} holds a line break or a NUL")
        netloc = parts.netloc.rpartition("@")[2]
        lines = [f"Host: {netloc}"]
        lines += [f"{name}: {value}" for name, value in headers.items() if name.lower() != "host"]
        self._head = ("\r\n".join(lines) + "\r\n").encode("latin-1")
        self._idle: list[_Connection] = []

    @staticmethod
    def supports(url: str) -> bool:
        parts = urlsplit(url)
        return parts.scheme == "http" and bool(parts.hostname) and not parts.query

    async def request(
        self,
        method: str,
        path: str,
        content: bytes | None,
        params: Mapping[str, Any] | None,
        timeout_s: float,
    ) -> tuple[int, str, str | None, bytes]:
        """``(status, content type, Retry-After, body)`` of the answer (see the module's
        contract)."""
        target = self._prefix + path
        if params:
            query = {k: str(v) for k, v in params.items() if v is not None}
            if query:
                target = f"{target}?{urlencode(query)}"
        request = b"%s %s HTTP/1.1\r\n%s" % (
            method.encode("ascii"),
            target.encode("ascii"),
            self._head,
        )
        if content is not None or method in ("POST", "PUT", "PATCH"):
            body = content or b""
            request += b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
        else:
            request += b"\r\n"
        connection: _Connection | None = None
        try:
            async with asyncio.timeout(timeout_s):
                connection = await self._connection()
                answer = await connection.send(request)
        except TimeoutError as exc:
            raise unreachable(self._url, exc, timeout=True) from exc
        except OSError as exc:  # ConnectionError is one
            raise unreachable(self._url, exc, timeout=False) from exc
        finally:
            if connection is not None:
                if connection.reusable and len(self._idle) < MAX_IDLE:
                    self._idle.append(connection)
                else:  # failed, cancelled, timed out, or the gateway does not keep it
                    connection.close()
        return answer

    async def _connection(self) -> _Connection:
        idle = self._idle
        while idle:
            connection = idle.pop()
            if not connection.closed:
                return connection
        loop = asyncio.get_running_loop()
        _, connection = await loop.create_connection(_Connection, self._host, self._port)
        return connection

    def close(self) -> None:
        """Close every idle connection (a later request opens a new one, as aiohttp's session
        would be made anew)."""
        for connection in self._idle:
            connection.close()
        self._idle.clear()
