"""The I/O the two clients differ in: how a request reaches the gateway. Everything above this
module — retries, operations, handles — is written once (the synchronous surface is generated
from the asynchronous one); the transports are written once per flavour because they are what
differs.

Contract of every transport's ``request``: it returns the :class:`Answer` (any status), raises
:class:`~raybus.sdk.errors.GatewayConnectionError` (from the library's exception) when the
gateway could not be reached or did not answer in time — failures a retry may fix — and lets
the library's own exception propagate for what no retry can fix (an invalid URL).

Measured against one gateway (32 concurrent batch-10 sends in one process), httpx's
``AsyncClient`` managed about 3–5 k messages/s while aiohttp's ``ClientSession`` managed about
26 k: httpcore's asyncio path costs several hundred microseconds a request. So the async client
talks aiohttp unless a transport is injected (tests inject ``httpx.MockTransport``) — and for
its API calls to an ``http://`` gateway, its own HTTP/1.1 connections (``_http1.py``), at a
third of aiohttp's CPU per call; the sync client keeps httpx, whose sync path is fast.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import aiohttp
import httpx

from raybus.sdk._http1 import Http1Pool
from raybus.sdk._retry import connection_error, unreachable

__all__ = [
    "DEFAULT_URL",
    "POOL_LIMITS",
    "USER_AGENT",
    "AiohttpTransport",
    "Answer",
    "AsyncHttpxTransport",
    "AsyncTransport",
    "HttpxTransport",
    "Transport",
    "open_async_transport",
    "open_transport",
]

DEFAULT_URL = "http://127.0.0.1:8000"
USER_AGENT = "raybus-sdk/0.1"
# Keep every connection a busy client opens: httpx keeps only 20 idle ones by default, so 32
# concurrent requests closed and reopened a dozen connections per round (measured: 7x slower).
POOL_LIMITS = httpx.Limits(max_connections=256, max_keepalive_connections=256)


@dataclass(frozen=True, slots=True)
class Answer:
    """What the gateway answered, before decoding."""

    status: int
    content_type: str
    retry_after: str | None
    content: bytes

    @property
    def is_success(self) -> bool:
        return 200 <= self.status < 300


class Transport(Protocol):
    def request(
        self,
        method: str,
        path: str,
        content: bytes | None,
        params: Mapping[str, Any] | None,
        timeout_s: float,
    ) -> Answer: ...

    def close(self) -> None: ...


class AsyncTransport(Protocol):
    async def request(
        self,
        method: str,
        path: str,
        content: bytes | None,
        params: Mapping[str, Any] | None,
        timeout_s: float,
    ) -> Answer: ...

    async def aclose(self) -> None: ...


def _answer(response: httpx.Response) -> Answer:
    return Answer(
        response.status_code,
        response.headers.get("content-type", ""),
        response.headers.get("retry-after"),
        response.content,
    )


class HttpxTransport:
    """A synchronous ``httpx.Client`` (keep-alive pool); thread-safe as it is."""

    def __init__(self, url: str, http: httpx.Client) -> None:
        self._url = url
        self._http = http

    def request(
        self,
        method: str,
        path: str,
        content: bytes | None,
        params: Mapping[str, Any] | None,
        timeout_s: float,
    ) -> Answer:
        try:
            response = self._http.request(
                method, path, content=content, params=params, timeout=timeout_s
            )
        except httpx.TransportError as exc:
            error = connection_error(exc, self._url)
            if error is None:
                raise  # no retry can fix it (an invalid URL)
            raise error from exc
        return _answer(response)

    def close(self) -> None:
        self._http.close()


class AsyncHttpxTransport:
    """An ``httpx.AsyncClient`` (used when a transport such as ``httpx.MockTransport`` is
    injected)."""

    def __init__(self, url: str, http: httpx.AsyncClient) -> None:
        self._url = url
        self._http = http

    async def request(
        self,
        method: str,
        path: str,
        content: bytes | None,
        params: Mapping[str, Any] | None,
        timeout_s: float,
    ) -> Answer:
        try:
            response = await self._http.request(
                method, path, content=content, params=params, timeout=timeout_s
            )
        except httpx.TransportError as exc:
            error = connection_error(exc, self._url)
            if error is None:
                raise  # no retry can fix it (an invalid URL)
            raise error from exc
        return _answer(response)

    async def aclose(self) -> None:
        await self._http.aclose()


class AiohttpTransport:
    """The async client's transport: API calls to an ``http://`` gateway go over the SDK's own
    keep-alive HTTP/1.1 connections (:mod:`raybus.sdk._http1`: a third of aiohttp's CPU per
    call); ``https://`` and the buckets' streamed bodies go over one ``aiohttp.ClientSession``.
    Both are made on first use, so the client can be built outside a running loop."""

    def __init__(self, url: str, headers: Mapping[str, str]) -> None:
        self._url = url.rstrip("/")
        self._headers = dict(headers)
        self._session: aiohttp.ClientSession | None = None
        self._pool = Http1Pool(url, headers) if Http1Pool.supports(url) else None

    async def request(
        self,
        method: str,
        path: str,
        content: bytes | None,
        params: Mapping[str, Any] | None,
        timeout_s: float,
    ) -> Answer:
        if self._pool is not None:
            return Answer(*await self._pool.request(method, path, content, params, timeout_s))
        if self._session is None:
            self._session = aiohttp.ClientSession(
                headers=self._headers,
                connector=aiohttp.TCPConnector(limit=0, force_close=False),
                auto_decompress=False,
            )
        query = {k: str(v) for k, v in (params or {}).items() if v is not None}
        try:
            async with self._session.request(
                method,
                self._url + path,
                data=content,
                params=query or None,
                timeout=aiohttp.ClientTimeout(total=timeout_s),
            ) as response:
                body = await response.read()
                return Answer(
                    response.status,
                    response.headers.get("content-type", ""),
                    response.headers.get("retry-after"),
                    body,
                )
        except asyncio.TimeoutError as exc:
            raise unreachable(self._url, exc, timeout=True) from exc
        except aiohttp.InvalidURL:
            raise  # repeating cannot fix a bad URL
        except aiohttp.ClientError as exc:
            raise unreachable(self._url, exc, timeout=False) from exc

    async def aclose(self) -> None:
        if self._pool is not None:
            self._pool.close()
        if self._session is not None:
            await self._session.close()
            self._session = None


def open_transport(
    url: str, headers: Mapping[str, str], transport: httpx.BaseTransport | None, timeout_s: float
) -> Transport:
    """The synchronous client's transport: httpx, over ``transport`` when one is given."""
    http = httpx.Client(
        base_url=url,
        headers=dict(headers),
        timeout=timeout_s,
        transport=transport,
        limits=POOL_LIMITS,
    )
    return HttpxTransport(url, http)


def open_async_transport(
    url: str,
    headers: Mapping[str, str],
    transport: httpx.AsyncBaseTransport | None,
    timeout_s: float,
) -> AsyncTransport:
    """The asynchronous client's transport: aiohttp, or httpx over ``transport`` when one is
    given."""
    if transport is None:
        return AiohttpTransport(url, headers)
    http = httpx.AsyncClient(base_url=url, headers=dict(headers), transport=transport)
    return AsyncHttpxTransport(url, http)
