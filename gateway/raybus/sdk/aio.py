"""The asyncio client: :class:`AsyncClient`, :class:`AsyncQueue`, :class:`AsyncMessage`,
:class:`AsyncConsumer` — the surface of :mod:`raybus.sdk.client` with coroutines.

The contracts (retries, at-least-once delivery, batch order and splitting, consumer semantics)
are those documented on the synchronous classes.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Iterable, Mapping
from types import TracebackType
from typing import Any, ClassVar, TypeVar

import httpx

from raybus.sdk import _ops
from raybus.sdk._aio_http import AiohttpIO, AsyncIO, HttpxIO
from raybus.sdk._consume import ConsumeState, log_entry_failures
from raybus.sdk._retry import Backoff, connection_error, next_delay_s
from raybus.sdk._wire import Op, decode_answer, headers, retry_after_s
from raybus.sdk.aio_resources import AsyncResources
from raybus.sdk.client import DEFAULT_URL, USER_AGENT
from raybus.sdk.errors import GatewayConnectionError, RaybusError
from raybus.sdk.models import BaseMessage, Health, MoveTask, ProcessStats, QueueStats, SendResult

__all__ = ["AsyncClient", "AsyncConsumer", "AsyncMessage", "AsyncQueue"]

T = TypeVar("T")
logger = logging.getLogger("raybus.sdk")


class AsyncClient(AsyncResources):
    """The asyncio twin of :class:`~raybus.sdk.Client` (same arguments; ``sleep`` is a
    coroutine function, ``transport`` an ``httpx.AsyncBaseTransport``); topics, functions and
    mappings come from :class:`~raybus.sdk.aio_resources.AsyncResources`."""

    def __init__(
        self,
        url: str = DEFAULT_URL,
        token: str | None = None,
        *,
        timeout_s: float = 30.0,
        max_retries: int = 5,
        backoff: Backoff | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        if max_retries < 0:
            raise ValueError("max_retries is non-negative")
        self.url = url
        self.max_retries = max_retries
        self.backoff = backoff if backoff is not None else Backoff()
        self._timeout_s = timeout_s
        self._sleep = sleep
        sent_headers = headers(token, USER_AGENT)
        self._io: AsyncIO = (
            AiohttpIO(url, sent_headers)
            if transport is None
            else HttpxIO(url, sent_headers, transport)
        )

    # -- lifecycle --------------------------------------------------------------------------------
    async def aclose(self) -> None:
        await self._io.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"AsyncClient({self.url!r})"

    # -- the one I/O path -----------------------------------------------------------------------
    async def _run(self, op: Op[T]) -> T:
        call = op.call
        content = call.content()
        timeout = self._timeout_s + call.extra_timeout_s
        retry = 0
        while True:
            try:
                response = await self._io.request(
                    call.method, call.path, content, call.params, timeout
                )
            except httpx.TransportError as exc:  # the injected httpx transport
                error = connection_error(exc, self.url)
                if error is None:
                    raise
                delay = next_delay_s(self.backoff, self.max_retries, retry, error)
                if delay is None:
                    raise error from exc
            except GatewayConnectionError as error:  # the aiohttp path
                delay = next_delay_s(self.backoff, self.max_retries, retry, error)
                if delay is None:
                    raise
            else:
                try:
                    payload = decode_answer(
                        response.status,
                        response.content_type,
                        response.content,
                        call.ok_statuses,
                    )
                except RaybusError as exc:
                    if response.is_success:
                        raise
                    after = retry_after_s(response.retry_after, exc)
                    delay = next_delay_s(self.backoff, self.max_retries, retry, exc, after)
                    if delay is None:
                        raise
                else:
                    return op.parse(payload)
            await self._sleep(delay)
            retry += 1

    async def _run_batch(self, plan: _ops.BatchPlan[T]) -> list[T | RaybusError]:
        for positions, op in plan.requests:
            try:
                plan.record(positions, await self._run(op))
            except (RaybusError, ConnectionError) as exc:
                plan.interrupted(exc)
                raise
        return plan.results()

    # -- queues ---------------------------------------------------------------------------------
    async def create_queue(
        self,
        name: str,
        *,
        fifo: bool | None = None,
        visibility_timeout_s: int = 30,
        delay_s: int = 0,
        retention_s: int = 345_600,
        max_message_bytes: int = 262_144,
        receive_wait_s: int = 0,
        dead_letter_queue: str | AsyncQueue | None = None,
        max_receive_count: int | None = None,
        content_based_dedup: bool = False,
        dedup_scope: str = "queue",
        throughput_limit: str = "perQueue",
        redrive_allow_policy: Mapping[str, Any] | None = None,
        partitions: int | None = None,
    ) -> AsyncQueue:
        """See :meth:`raybus.sdk.Client.create_queue`."""
        body = _ops.queue_settings(
            name,
            fifo,
            {
                "visibility_timeout_s": visibility_timeout_s,
                "delay_s": delay_s,
                "retention_s": retention_s,
                "max_message_bytes": max_message_bytes,
                "receive_wait_s": receive_wait_s,
                "content_based_dedup": content_based_dedup,
                "dedup_scope": dedup_scope,
                "throughput_limit": throughput_limit,
                "redrive_policy": _ops.redrive_policy(dead_letter_queue, max_receive_count),
                "redrive_allow_policy": redrive_allow_policy,
                "partitions": partitions,
            },
        )
        settings = await self._run(_ops.create_queue(body))
        return AsyncQueue(self, settings)

    async def queue(self, name: str) -> AsyncQueue:
        settings = await self._run(_ops.get_queue(name))
        return AsyncQueue(self, settings)

    async def list_queues(
        self, prefix: str | None = None, *, limit: int | None = None
    ) -> list[str]:
        return await self._run(_ops.list_queues(prefix, limit))

    async def delete_queue(self, queue: str | AsyncQueue) -> None:
        await self._run(_ops.delete_queue(_ops.name_of(queue)))

    # -- move tasks -----------------------------------------------------------------------------
    async def start_move_task(
        self,
        source: str | AsyncQueue,
        destination: str | AsyncQueue | None = None,
        max_messages_per_s: int | None = None,
    ) -> MoveTask:
        target = None if destination is None else _ops.name_of(destination)
        return await self._run(
            _ops.start_move_task(_ops.name_of(source), target, max_messages_per_s)
        )

    async def list_move_tasks(self, source: str | AsyncQueue) -> list[MoveTask]:
        return await self._run(_ops.list_move_tasks(_ops.name_of(source)))

    async def cancel_move_task(self, handle: str) -> MoveTask:
        return await self._run(_ops.cancel_move_task(handle))

    # -- clock and health ---------------------------------------------------------------------
    async def now_ms(self) -> int:
        return await self._run(_ops.clock())

    async def advance_clock(self, seconds: float) -> int:
        return await self._run(_ops.advance_clock(seconds))

    async def health(self) -> Health:
        return await self._run(_ops.health())


class AsyncQueue:
    """See :class:`raybus.sdk.Queue`; every I/O method is a coroutine, ``consume`` returns an
    :class:`AsyncConsumer`."""

    resource_kind: ClassVar[str] = "queue"

    def __init__(self, client: AsyncClient, settings: Mapping[str, Any]) -> None:
        self._client = client
        self.settings: dict[str, Any] = dict(settings)
        self.name: str = str(self.settings.get("name"))

    def __repr__(self) -> str:
        return f"AsyncQueue({self.name!r})"

    @property
    def client(self) -> AsyncClient:
        return self._client

    @property
    def fifo(self) -> bool:
        return bool(self.settings.get("fifo", self.name.endswith(".fifo")))

    async def update(self, **changes: Any) -> dict[str, Any]:
        op = _ops.update_queue(self.name, _ops.settings_changes(changes))
        self.settings = await self._client._run(op)
        return self.settings

    async def stats(self) -> QueueStats:
        return await self._client._run(_ops.queue_stats(self.name))

    async def purge(self) -> None:
        await self._client._run(_ops.purge_queue(self.name))

    # -- send ---------------------------------------------------------------------------------
    async def send(
        self,
        body: bytes | str,
        *,
        attributes: Mapping[str, object] | None = None,
        delay_s: int | None = None,
        group_id: str | None = None,
        dedup_id: str | None = None,
    ) -> SendResult:
        entry, _ = _ops.send_entry(
            body, attributes=attributes, delay_s=delay_s, group_id=group_id, dedup_id=dedup_id
        )
        return await self._client._run(_ops.send(self.name, entry))

    async def send_batch(
        self, entries: Iterable[bytes | str | Mapping[str, Any]]
    ) -> list[SendResult | RaybusError]:
        return await self._client._run_batch(_ops.plan_send_batch(self.name, entries))

    # -- receive --------------------------------------------------------------------------------
    async def receive(
        self,
        max_messages: int = 1,
        *,
        wait_s: int | None = None,
        visibility_timeout_s: int | None = None,
    ) -> list[AsyncMessage]:
        op = _ops.receive(self.name, max_messages, wait_s, visibility_timeout_s)
        raw = await self._client._run(op)
        return [
            AsyncMessage(queue_name=self.name, _queue=self, **_ops.message_fields(m)) for m in raw
        ]

    async def delete_message(self, message: str | AsyncMessage) -> None:
        await self._client._run(_ops.delete_message(self.name, _ops.receipt_of(message)))

    async def delete_batch(
        self, messages: Iterable[str | AsyncMessage]
    ) -> list[RaybusError | None]:
        receipts = [_ops.receipt_of(m) for m in messages]
        return await self._client._run_batch(_ops.plan_delete_batch(self.name, receipts))

    async def change_visibility(
        self, message: str | AsyncMessage, visibility_timeout_s: int
    ) -> None:
        receipt = _ops.receipt_of(message)
        await self._client._run(_ops.change_visibility(self.name, receipt, visibility_timeout_s))

    async def change_visibility_batch(
        self, changes: Iterable[tuple[str | AsyncMessage, int]]
    ) -> list[RaybusError | None]:
        pairs = [(_ops.receipt_of(m), seconds) for m, seconds in changes]
        return await self._client._run_batch(_ops.plan_visibility_batch(self.name, pairs))

    # -- consumers ------------------------------------------------------------------------------
    def consume(
        self,
        max_messages: int = 10,
        *,
        wait_s: int | None = 20,
        visibility_timeout_s: int | None = None,
        limit: int | None = None,
        stop_when_empty: bool = False,
    ) -> AsyncConsumer:
        """``async for message in queue.consume(...)``; see :class:`raybus.sdk.Consumer`."""
        state: ConsumeState[AsyncMessage] = ConsumeState(max_messages=max_messages, limit=limit)
        return AsyncConsumer(self, state, wait_s, visibility_timeout_s, stop_when_empty)

    async def process(
        self,
        handler: Callable[[AsyncMessage], object],
        *,
        max_messages: int = 10,
        wait_s: int | None = 20,
        visibility_timeout_s: int | None = None,
        limit: int | None = None,
        stop_when_empty: bool = False,
        on_error: Callable[[AsyncMessage, Exception], object] | None = None,
    ) -> ProcessStats:
        """See :meth:`raybus.sdk.Queue.process`; ``handler`` and ``on_error`` may be plain or
        coroutine functions (an awaitable result is awaited)."""
        handled = failed = 0
        async with self.consume(
            max_messages,
            wait_s=wait_s,
            visibility_timeout_s=visibility_timeout_s,
            limit=limit,
            stop_when_empty=stop_when_empty,
        ) as consumer:
            async for message in consumer:
                try:
                    outcome = handler(message)
                    if inspect.isawaitable(outcome):
                        await outcome
                except Exception as exc:
                    consumer._state.abandon_current()
                    failed += 1
                    if on_error is None:
                        logger.exception("handler failed on message %s", message.message_id)
                    else:
                        reported = on_error(message, exc)
                        if inspect.isawaitable(reported):
                            await reported
                else:
                    handled += 1
        return ProcessStats(handled=handled, failed=failed)


class AsyncMessage(BaseMessage[AsyncQueue]):
    """A received message whose ``delete`` and ``change_visibility`` are coroutines."""

    __slots__ = ()

    async def delete(self) -> None:
        await self._queue.delete_message(self)

    async def change_visibility(self, visibility_timeout_s: int) -> None:
        await self._queue.change_visibility(self, visibility_timeout_s)


class AsyncConsumer(AsyncIterator[AsyncMessage]):
    """The asyncio :class:`raybus.sdk.Consumer` (same contract). An ``async for`` that breaks
    leaves the cleanup to the event loop's async-generator finaliser; use
    ``async with queue.consume() as consumer:`` to release prefetched messages at once."""

    def __init__(
        self,
        queue: AsyncQueue,
        state: ConsumeState[AsyncMessage],
        wait_s: int | None,
        visibility_timeout_s: int | None,
        stop_when_empty: bool,
    ) -> None:
        self._state = state
        self._messages = _consume(queue, state, wait_s, visibility_timeout_s, stop_when_empty)

    def __aiter__(self) -> AsyncConsumer:
        return self

    async def __anext__(self) -> AsyncMessage:
        return await self._messages.__anext__()

    async def aclose(self) -> None:
        """Stop: delete what was handled, release what was prefetched; idempotent."""
        await self._messages.aclose()

    async def __aenter__(self) -> AsyncConsumer:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


async def _consume(
    queue: AsyncQueue,
    state: ConsumeState[AsyncMessage],
    wait_s: int | None,
    visibility_timeout_s: int | None,
    stop_when_empty: bool,
) -> AsyncGenerator[AsyncMessage, None]:
    # A module-level generator: it must not reference its Consumer, so that dropping the
    # Consumer (a plain ``for`` loop that breaks) closes the generator at once.
    try:
        while not state.finished:
            message = state.hand_out()
            if message is None:
                await _delete_handled(queue, state)
                received = await queue.receive(
                    state.receive_size(),
                    wait_s=wait_s,
                    visibility_timeout_s=visibility_timeout_s,
                )
                if not received and stop_when_empty:
                    break
                state.add(received)
                continue
            yield message
            state.finish_current()
    except BaseException:
        # Closed early (break, an error in the loop body or in a receive): clean up, but let
        # nothing hide the reason we are closing.
        try:
            await _clean_up(queue, state)
        except Exception:
            logger.warning("consumer cleanup failed", exc_info=True)
        raise
    await _clean_up(queue, state)


async def _clean_up(queue: AsyncQueue, state: ConsumeState[AsyncMessage]) -> None:
    try:
        await _delete_handled(queue, state)
    finally:
        unhanded = state.take_unhanded()
        if unhanded:
            results = await queue.change_visibility_batch((m, 0) for m in unhanded)
            log_entry_failures("release", results)


async def _delete_handled(queue: AsyncQueue, state: ConsumeState[AsyncMessage]) -> None:
    receipts = state.take_handled()
    if receipts:
        log_entry_failures("delete", await queue.delete_batch(receipts))
