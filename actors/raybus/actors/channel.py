"""Direct data calls between partition hosts: one TCP connection per pair, not a Ray call each.

A Ray actor call costs about 1 ms of CPU in the caller and 1.2 ms in the callee on this
machine (``benchmarks/README.md``, "Host-to-host calls"), for any argument size — more than a
whole ×10 HTTP request costs the gateway. Receipts and FIFO groups must reach their owner, and
with several hosts a request lands on the wrong one half the time or more, so the data path's
one cross-host call, :meth:`PartitionHost.execute`, goes over a channel instead: each host
listens on an ephemeral port of its node's address, and a router keeps one connection to each
peer it calls, many requests in flight on it (each frame carries its id; answers come back in
any order). Everything else — long polls (``perform``, cancelled with ``ray.cancel``),
attached settings, control — stays on Ray, as does the first call that learns a peer's address.

Frames: a 4-byte big-endian length, then a pickle of ``(request_id, payload)``: the request's
payload is ``(kind, key, partition, epoch, ops)``, the answer's ``(ok, result_or_error)``.
Pickle is what Ray uses for the same arguments; a peer must first send the listening host's
secret (a random token handed out only through Ray, :meth:`ChannelServer.address`), so only a
process that can already call the host through Ray can use its channel.

Failure: a connection that cannot be made or breaks fails its pending calls with
:class:`ChannelClosed` (a ``ConnectionError``), which the router turns into the retriable
``PartitionUnavailable`` and answers like a dead Ray actor: it forgets the peer, and the next
call asks Ray for its (possibly new) address. A call that was sent before the break may or may
not have run, exactly as with a Ray call to an actor that died. A call that was never sent
(``ChannelClosed.sent`` is false: the connection was already broken, typically by a peer that
died and was restarted by Ray) is sent once more on a new connection, as Ray itself sends a
call to the restarted actor: a host restart costs its callers no error.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import itertools
import logging
import pickle
import secrets
import struct
from collections.abc import Awaitable, Callable
from typing import Any

from raybus.core.errors import as_reply

__all__ = ["ChannelClient", "ChannelClosed", "ChannelServer"]

log = logging.getLogger(__name__)

_LENGTH = struct.Struct(">I")
TOKEN_BYTES = 16
MAX_FRAME_BYTES = 1 << 30  # a corrupt length must not make a reader allocate without bound
WRITE_BUFFER_LIMIT = 4 << 20  # wait for the socket to drain above this much unsent data

Execute = Callable[[str, str, int, int, list[Any]], Awaitable[list[Any]]]


class ChannelClosed(ConnectionError):
    """The channel to a peer could not be opened, or broke with calls in flight.

    ``sent`` says whether the failed call had been written to the connection: one that was
    not (the connection could not be made, or had already broken — a peer that died and
    restarted leaves its callers a dead connection) certainly did not run, and may be sent
    again on a new connection; one that was may or may not have run."""

    def __init__(self, message: str, *, sent: bool) -> None:
        super().__init__(message)
        self.sent = sent


def _frame(request_id: int, payload: Any) -> bytes:
    data = pickle.dumps((request_id, payload), protocol=pickle.HIGHEST_PROTOCOL)
    return _LENGTH.pack(len(data)) + data


async def _read_frame(reader: asyncio.StreamReader) -> tuple[int, Any] | None:
    """The next frame, or None at a clean end of the stream."""
    try:
        head = await reader.readexactly(_LENGTH.size)
    except asyncio.IncompleteReadError as end:
        if end.partial:
            raise
        return None
    (length,) = _LENGTH.unpack(head)
    if length > MAX_FRAME_BYTES:
        raise ValueError(f"a channel frame of {length} bytes")
    request_id, payload = pickle.loads(await reader.readexactly(length))
    return request_id, payload


class ChannelServer:
    """A host's listening side: runs ``execute`` for each request on the host's event loop."""

    def __init__(self, execute: Execute, where: str) -> None:
        self._execute = execute
        self._where = where
        self.token = secrets.token_bytes(TOKEN_BYTES)
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.StreamWriter] = set()
        self.host = ""
        self.port = 0

    async def start(self, host: str) -> None:
        self._server = await asyncio.start_server(self._serve, host, 0)
        self.host = host
        self.port = self._server.sockets[0].getsockname()[1]

    def address(self) -> tuple[str, int, bytes] | None:
        """What a peer needs to connect: ``(host, port, token)``; None before :meth:`start`."""
        return None if self._server is None else (self.host, self.port, self.token)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            for writer in list(self._connections):
                writer.close()
            await self._server.wait_closed()
            self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._connections.add(writer)
        tasks: set[asyncio.Task[None]] = set()
        try:
            token = await reader.readexactly(TOKEN_BYTES)
            if not hmac.compare_digest(token, self.token):
                log.warning("%s: a channel connection with a wrong token was closed", self._where)
                return
            while (frame := await _read_frame(reader)) is not None:
                request_id, (kind, key, partition, epoch, ops) = frame
                task = asyncio.ensure_future(
                    self._answer(writer, request_id, kind, key, partition, epoch, ops)
                )
                tasks.add(task)
                task.add_done_callback(tasks.discard)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass  # the peer went away; its pending calls fail on its side
        except Exception:
            log.exception("%s: a channel connection failed", self._where)
        finally:
            self._connections.discard(writer)
            writer.close()

    async def _answer(
        self,
        writer: asyncio.StreamWriter,
        request_id: int,
        kind: str,
        key: str,
        partition: int,
        epoch: int,
        ops: list[Any],
    ) -> None:
        try:
            answer: tuple[bool, Any] = (True, await self._execute(kind, key, partition, epoch, ops))
        except Exception as error:  # the caller gets it, as a Ray call would
            answer = (False, as_reply(error, self._where))
        if writer.is_closing():
            return
        try:
            frame = _frame(request_id, answer)
        except Exception as error:  # an unpicklable result: the caller must still hear back
            frame = _frame(request_id, (False, as_reply(error, self._where)))
        writer.write(frame)
        if writer.transport.get_write_buffer_size() > WRITE_BUFFER_LIMIT:
            with contextlib.suppress(ConnectionError):
                await writer.drain()


class ChannelClient:
    """A router's connection to one peer; :meth:`execute` may be called concurrently."""

    def __init__(self, host: str, port: int, token: bytes) -> None:
        self._address = (host, port)
        self._token = token
        self._ids = itertools.count()
        self._pending: dict[int, asyncio.Future[tuple[bool, Any]]] = {}
        self._writer: asyncio.StreamWriter | None = None
        self._connecting: asyncio.Future[None] | None = None
        self._reader_task: asyncio.Task[None] | None = None
        self.closed = False

    async def _connect(self) -> None:
        try:
            reader, writer = await asyncio.open_connection(*self._address)
        except OSError as error:
            self.closed = True
            raise ChannelClosed(f"cannot connect to {self._address}: {error}", sent=False) from None
        writer.write(self._token)
        self._writer = writer
        self._reader_task = asyncio.ensure_future(self._read(reader))

    async def execute(
        self, kind: str, key: str, partition: int, epoch: int, ops: list[Any]
    ) -> list[Any]:
        if self.closed:
            raise ChannelClosed(f"the channel to {self._address} is closed", sent=False)
        if self._writer is None:
            if self._connecting is None:
                self._connecting = asyncio.ensure_future(self._connect())
            await asyncio.shield(self._connecting)
        if self.closed:  # it broke while this call waited for the connection
            raise ChannelClosed(f"the channel to {self._address} is closed", sent=False)
        assert self._writer is not None
        request_id = next(self._ids)
        frame = _frame(request_id, (kind, key, partition, epoch, ops))
        future: asyncio.Future[tuple[bool, Any]] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        self._writer.write(frame)
        if self._writer.transport.get_write_buffer_size() > WRITE_BUFFER_LIMIT:
            with contextlib.suppress(ConnectionError):  # the reader fails the pending calls
                await self._writer.drain()
        try:
            ok, result = await future
        finally:
            self._pending.pop(request_id, None)
        if not ok:
            raise result
        answer: list[Any] = result
        return answer

    async def _read(self, reader: asyncio.StreamReader) -> None:
        error: BaseException | None = None
        try:
            while (frame := await _read_frame(reader)) is not None:
                request_id, answer = frame
                future = self._pending.get(request_id)
                if future is not None and not future.done():
                    future.set_result(answer)
        except Exception as failure:
            error = failure
        finally:
            self._fail(error)

    def _fail(self, error: BaseException | None) -> None:
        self.closed = True
        reason = f"the channel to {self._address} broke" + (f": {error}" if error else "")
        for future in self._pending.values():
            if not future.done():
                future.set_exception(ChannelClosed(reason, sent=True))
        self._pending.clear()
        if self._writer is not None:
            self._writer.close()

    def close(self) -> None:
        if self._reader_task is not None:
            self._reader_task.cancel()
        self._fail(None)
