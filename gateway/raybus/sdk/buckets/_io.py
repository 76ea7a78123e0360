"""The I/O of object bodies, which the generic transports (:mod:`raybus.sdk._transport`) do not
do: an upload whose body is a stream, a download read as a stream, and headers of their own.

Like the transports, this is written once per flavour — :class:`AsyncObjectIO`,
:class:`AsyncUpload` and :class:`AsyncObjectStream` for the asynchronous client, and their
twins without ``Async`` for the synchronous one, which the generated ``_sync.py`` names — over
the connection pool of the client's transport (aiohttp's session, or the httpx client), so
that object requests share its connections, headers and token. Contracts:

- **Uploads** (:class:`AsyncUpload`): ``bytes`` (or ``str``, sent as UTF-8) go as they are and
  may be sent again; a binary file is read in chunks as it is sent (its size, when it can
  seek, is the ``Content-Length``; it is rewound for a retry); any other iterable of bytes
  (and, in the asynchronous client, an async iterable) is sent chunked, once. Nothing is read
  whole.
- **Downloads** (:meth:`AsyncObjectIO.open`): the answer's head arrives, its body stays on the
  connection until the caller reads it (``read``, ``chunks`` or ``save``) or closes it.
- Timeouts bound connecting and each read, never a whole transfer (5 GiB take their time).
- A failure to reach the gateway raises :class:`~raybus.sdk.errors.GatewayConnectionError`,
  as the transports do; an answer of any status is returned.
"""

from __future__ import annotations

import asyncio
import io
import os
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator, Mapping
from typing import IO, Any, TypeAlias

import aiohttp
import httpx

from raybus.sdk._retry import connection_error, unreachable
from raybus.sdk._transport import (
    AiohttpTransport,
    Answer,
    AsyncHttpxTransport,
    AsyncTransport,
    HttpxTransport,
    Transport,
)
from raybus.sdk.errors import GatewayConnectionError, InvalidParameterValue, UnsupportedOperation

__all__ = [
    "CHUNK_BYTES",
    "AsyncData",
    "AsyncObjectIO",
    "AsyncObjectStream",
    "AsyncUpload",
    "Data",
    "ObjectIO",
    "ObjectStream",
    "Upload",
]

CHUNK_BYTES = 1 << 20

# What an upload takes: bytes, text, a binary file, or an iterable of chunks.
Data: TypeAlias = "bytes | bytearray | memoryview | str | IO[bytes] | Iterable[bytes]"
AsyncData: TypeAlias = (
    "bytes | bytearray | memoryview | str | IO[bytes] | Iterable[bytes] | AsyncIterable[bytes]"
)


def _binary_file(data: object) -> bool:
    if isinstance(data, io.TextIOBase):
        raise InvalidParameterValue(
            "Open the file in binary mode ('rb'): an object's body is bytes.", parameter="data"
        )
    return callable(getattr(data, "read", None))


def _remaining(file: Any) -> tuple[int | None, int | None]:
    """``(position, bytes left)`` of a file that can seek, else ``(None, None)``."""
    try:
        if not file.seekable():
            return None, None
        position = file.tell()
        end = file.seek(0, os.SEEK_END)
        file.seek(position)
        return position, end - position
    except (AttributeError, OSError, ValueError):
        return None, None


def _chunk(value: object) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    raise InvalidParameterValue(
        f"An object body's chunks are bytes, not {type(value).__name__}.", parameter="data"
    )


class _UploadBase:
    """What both flavours' uploads share: the kind of body, its size and whether it can be
    sent again."""

    def __init__(self, data: object, chunk_size: int) -> None:
        if chunk_size < 1:
            raise InvalidParameterValue("chunk_size is at least 1.", parameter="chunk_size")
        self.chunk_size = chunk_size
        self.data: bytes | None = None
        self.file: Any = None
        self.chunks: Any = None
        self.size: int | None = None
        self._start: int | None = None
        self._sent = False
        if isinstance(data, str):
            self.data = data.encode("utf-8")
        elif isinstance(data, (bytes, bytearray, memoryview)):
            self.data = bytes(data)
        elif _binary_file(data):
            self.file = data
            self._start, self.size = _remaining(data)
        elif isinstance(data, (Iterable, AsyncIterable)):
            self.chunks = data
        else:
            raise InvalidParameterValue(
                "An object body is bytes, str, a binary file or an iterable of bytes, not "
                f"{type(data).__name__}.",
                parameter="data",
            )
        if self.data is not None:
            self.size = len(self.data)

    @property
    def replayable(self) -> bool:
        """Whether the body can be sent again (a retry): bytes, or a file that can seek."""
        return self.data is not None or self._start is not None

    def _begin(self) -> None:
        if self._sent and not self.replayable:
            raise InvalidParameterValue("This body was sent already.", parameter="data")
        self._sent = True
        if self.file is not None and self._start is not None:
            self.file.seek(self._start)


class Upload(_UploadBase):
    """An upload's body for the synchronous client."""

    def __init__(self, data: Data, chunk_size: int = CHUNK_BYTES) -> None:
        if isinstance(data, AsyncIterable):
            raise InvalidParameterValue(
                "The synchronous client takes iterables of bytes, not async ones.",
                parameter="data",
            )
        super().__init__(data, chunk_size)

    def content(self) -> bytes | Iterator[bytes]:
        """The body to send now (a file is rewound to where it was first)."""
        self._begin()
        if self.data is not None:
            return self.data
        if self.file is not None:
            return self._read_file()
        return (_chunk(c) for c in self.chunks)

    def _read_file(self) -> Iterator[bytes]:
        while chunk := self.file.read(self.chunk_size):
            yield _chunk(chunk)


class AsyncUpload(_UploadBase):
    """An upload's body for the asynchronous client (a file is read on a worker thread)."""

    def __init__(self, data: AsyncData, chunk_size: int = CHUNK_BYTES) -> None:
        super().__init__(data, chunk_size)

    def content(self) -> bytes | AsyncIterator[bytes]:
        """The body to send now (a file is rewound to where it was first)."""
        self._begin()
        if self.data is not None:
            return self.data
        if self.file is not None:
            return self._read_file()
        return self._iterate()

    async def _read_file(self) -> AsyncIterator[bytes]:
        while chunk := await asyncio.to_thread(self.file.read, self.chunk_size):
            yield _chunk(chunk)

    async def _iterate(self) -> AsyncIterator[bytes]:
        if isinstance(self.chunks, AsyncIterable):
            async for chunk in self.chunks:
                yield _chunk(chunk)
        else:
            for chunk in self.chunks:
                yield _chunk(chunk)


def _part_path(path: str | os.PathLike[str]) -> str:
    return f"{os.fspath(path)}.part"


class ObjectStream:
    """An answer whose body is still on the connection (synchronous)."""

    def __init__(self, response: httpx.Response) -> None:
        self._response = response
        self.status = response.status_code
        self.headers: Mapping[str, str] = response.headers
        self.content_type = response.headers.get("content-type", "")

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def read(self) -> bytes:
        return b"".join(self.chunks(CHUNK_BYTES))

    def chunks(self, chunk_size: int, *, close: bool = False) -> Iterator[bytes]:
        """The body's bytes as they arrive (as stored: no content decoding); with ``close``,
        the answer is closed once they are read or the iterator is closed."""
        try:
            yield from self._response.iter_raw(chunk_size)
        except httpx.TransportError as exc:
            raise _connection_error(exc, str(self._response.url)) from exc
        finally:
            if close:
                self.close()

    def save(self, path: str | os.PathLike[str], chunk_size: int) -> int:
        """Write the body to ``path`` (through ``<path>.part``, renamed once whole); its size."""
        part = _part_path(path)
        size = 0
        try:
            with open(part, "wb") as file:
                for chunk in self.chunks(chunk_size):
                    file.write(chunk)
                    size += len(chunk)
            os.replace(part, path)
        except BaseException:
            if os.path.exists(part):
                os.unlink(part)
            raise
        return size

    def close(self) -> None:
        self._response.close()


class AsyncObjectStream:
    """An answer whose body is still on the connection (asynchronous: aiohttp or httpx)."""

    def __init__(self, response: aiohttp.ClientResponse | httpx.Response) -> None:
        self._response = response
        if isinstance(response, httpx.Response):
            self.status = response.status_code
            self.headers: Mapping[str, str] = response.headers
        else:
            self.status = response.status
            self.headers = response.headers
        self.content_type = self.headers.get("content-type", "")

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    async def read(self) -> bytes:
        return b"".join([chunk async for chunk in self.chunks(CHUNK_BYTES)])

    async def chunks(self, chunk_size: int, *, close: bool = False) -> AsyncIterator[bytes]:
        """The body's bytes as they arrive (as stored: no content decoding); with ``close``,
        the answer is closed once they are read or the iterator is closed."""
        response = self._response
        try:
            if isinstance(response, httpx.Response):
                async for chunk in response.aiter_raw(chunk_size):
                    yield chunk
            else:
                async for chunk in response.content.iter_chunked(chunk_size):
                    yield chunk
        except httpx.TransportError as exc:
            raise _connection_error(exc, str(response.url)) from exc
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            raise _aiohttp_failure(str(response.url), exc) from exc
        finally:
            if close:
                await self.aclose()

    async def save(self, path: str | os.PathLike[str], chunk_size: int) -> int:
        """Write the body to ``path`` (through ``<path>.part``, renamed once whole; the file
        is written on a worker thread); its size."""
        part = _part_path(path)
        size = 0
        file = await asyncio.to_thread(open, part, "wb")
        try:
            try:
                async for chunk in self.chunks(chunk_size):
                    await asyncio.to_thread(file.write, chunk)
                    size += len(chunk)
            finally:
                await asyncio.to_thread(file.close)
            await asyncio.to_thread(os.replace, part, path)
        except BaseException:
            if os.path.exists(part):
                os.unlink(part)
            raise
        return size

    async def aclose(self) -> None:
        response = self._response
        if isinstance(response, httpx.Response):
            await response.aclose()
        else:
            response.release()


def _connection_error(exc: httpx.TransportError, url: str) -> Exception:
    return connection_error(exc, url) or exc


def _aiohttp_failure(url: str, exc: BaseException) -> GatewayConnectionError:
    return unreachable(url, exc, timeout=isinstance(exc, asyncio.TimeoutError))


def _unsupported(transport: object) -> UnsupportedOperation:
    return UnsupportedOperation(
        f"Object bodies need the client's own HTTP transport, not a {type(transport).__name__}."
    )


def _timeout(timeout_s: float) -> httpx.Timeout:
    return httpx.Timeout(timeout_s)  # connect, and each read or write: never a whole transfer


class ObjectIO:
    """Object requests over a synchronous client's httpx pool."""

    def __init__(self, transport: Transport) -> None:
        if not isinstance(transport, HttpxTransport):
            raise _unsupported(transport)
        self._http: httpx.Client = transport._http  # the client's pool, headers and token
        self._url = transport._url

    def send(
        self,
        method: str,
        path: str,
        headers: Mapping[str, str],
        body: bytes | Iterator[bytes] | None,
        timeout_s: float,
    ) -> Answer:
        """One request with ``body``; its whole answer."""
        try:
            response = self._http.request(
                method, path, content=body, headers=headers, timeout=_timeout(timeout_s)
            )
        except httpx.TransportError as exc:
            raise _connection_error(exc, self._url) from exc
        return Answer(
            response.status_code,
            response.headers.get("content-type", ""),
            response.headers.get("retry-after"),
            response.content,
        )

    def open(
        self,
        method: str,
        path: str,
        params: Mapping[str, str] | None,
        headers: Mapping[str, str],
        timeout_s: float,
    ) -> ObjectStream:
        """A request whose answer's body is left on the connection (close the stream)."""
        request = self._http.build_request(
            method, path, params=params, headers=headers, timeout=_timeout(timeout_s)
        )
        try:
            return ObjectStream(self._http.send(request, stream=True))
        except httpx.TransportError as exc:
            raise _connection_error(exc, self._url) from exc


class AsyncObjectIO:
    """Object requests over an asynchronous client's aiohttp session (or httpx client, when
    a transport was injected)."""

    def __init__(self, transport: AsyncTransport) -> None:
        if not isinstance(transport, (AiohttpTransport, AsyncHttpxTransport)):
            raise _unsupported(transport)
        self._transport = transport

    def _session(self, transport: AiohttpTransport) -> aiohttp.ClientSession:
        """The transport's session, made as the transport makes it when it has none yet (the
        transport closes it)."""
        if transport._session is None:
            transport._session = aiohttp.ClientSession(
                headers=transport._headers,
                connector=aiohttp.TCPConnector(limit=0, force_close=False),
                auto_decompress=False,
            )
        return transport._session

    @staticmethod
    def _aiohttp_timeout(timeout_s: float) -> aiohttp.ClientTimeout:
        # connect and each read; the answer's read timer starts once the body is sent
        return aiohttp.ClientTimeout(total=None, sock_connect=timeout_s, sock_read=timeout_s)

    async def send(
        self,
        method: str,
        path: str,
        headers: Mapping[str, str],
        body: bytes | AsyncIterator[bytes] | None,
        timeout_s: float,
    ) -> Answer:
        """One request with ``body``; its whole answer."""
        transport = self._transport
        if isinstance(transport, AsyncHttpxTransport):
            try:
                response = await transport._http.request(
                    method, path, content=body, headers=headers, timeout=_timeout(timeout_s)
                )
            except httpx.TransportError as exc:
                raise _connection_error(exc, transport._url) from exc
            return Answer(
                response.status_code,
                response.headers.get("content-type", ""),
                response.headers.get("retry-after"),
                response.content,
            )
        try:
            async with self._session(transport).request(
                method,
                transport._url + path,
                data=body,
                headers=dict(headers),
                timeout=self._aiohttp_timeout(timeout_s),
            ) as answer:
                return Answer(
                    answer.status,
                    answer.headers.get("content-type", ""),
                    answer.headers.get("retry-after"),
                    await answer.read(),
                )
        except aiohttp.InvalidURL:
            raise
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            raise _aiohttp_failure(transport._url, exc) from exc

    async def open(
        self,
        method: str,
        path: str,
        params: Mapping[str, str] | None,
        headers: Mapping[str, str],
        timeout_s: float,
    ) -> AsyncObjectStream:
        """A request whose answer's body is left on the connection (close the stream)."""
        transport = self._transport
        if isinstance(transport, AsyncHttpxTransport):
            request = transport._http.build_request(
                method, path, params=params, headers=headers, timeout=_timeout(timeout_s)
            )
            try:
                return AsyncObjectStream(await transport._http.send(request, stream=True))
            except httpx.TransportError as exc:
                raise _connection_error(exc, transport._url) from exc
        try:
            response = await self._session(transport).request(
                method,
                transport._url + path,
                params=dict(params) if params else None,
                headers=dict(headers),
                timeout=self._aiohttp_timeout(timeout_s),
            )
        except aiohttp.InvalidURL:
            raise
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            raise _aiohttp_failure(transport._url, exc) from exc
        return AsyncObjectStream(response)
