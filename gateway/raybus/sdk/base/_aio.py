"""The generic half of every client: one transport, the retry loop, batch plans, lifecycle.

Each kind adds its client methods by subclassing :class:`AsyncClientBase` (``queues``,
``topics``, ``functions``, ``mappings``), and ``raybus.sdk.client`` puts them together; handles
run their operations through the client that made them, with :meth:`AsyncClientBase._run`.
Nothing here knows a kind.

``_aio.py`` is the source of both flavours; ``_sync.py`` beside it is generated from it.
"""

from __future__ import annotations

import asyncio
from types import TracebackType
from typing import TypeVar

import httpx

from raybus.sdk._batch import BatchPlan
from raybus.sdk._retry import AsyncSleep, Backoff, next_delay_s
from raybus.sdk._transport import DEFAULT_URL, USER_AGENT, AsyncTransport, open_async_transport
from raybus.sdk._wire import Op, decode_answer, headers, retry_after_s
from raybus.sdk.errors import GatewayConnectionError, RaybusError

__all__ = ["AsyncClientBase"]

T = TypeVar("T")
B = TypeVar("B", bound="AsyncClientBase")


class AsyncClientBase:
    """A connection pool to one gateway that runs operations: msgpack over HTTP, retrying
    what is retriable (the arguments are documented on the client)."""

    def __init__(
        self,
        url: str = DEFAULT_URL,
        token: str | None = None,
        *,
        timeout_s: float = 30.0,
        max_retries: int = 5,
        backoff: Backoff | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: AsyncSleep = asyncio.sleep,
    ) -> None:
        if max_retries < 0:
            raise ValueError("max_retries is non-negative")
        self.url = url
        self.max_retries = max_retries
        self.backoff = backoff if backoff is not None else Backoff()
        self._timeout_s = timeout_s
        self._sleep = sleep
        self._transport: AsyncTransport = open_async_transport(
            url, headers(token, USER_AGENT), transport, timeout_s
        )

    # -- lifecycle --------------------------------------------------------------------------------
    async def aclose(self) -> None:
        await self._transport.aclose()

    async def __aenter__(self: B) -> B:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.url!r})"

    # -- the one I/O path -----------------------------------------------------------------------
    async def _run(self, op: Op[T]) -> T:
        """Send ``op``'s call, retrying what is retriable, and return its parsed answer; raise
        the typed error of the last attempt otherwise."""
        call = op.call
        content = call.content()
        timeout = self._timeout_s + call.extra_timeout_s
        retry = 0
        while True:
            try:
                answer = await self._transport.request(
                    call.method, call.path, content, call.params, timeout
                )
            except GatewayConnectionError as error:
                delay = next_delay_s(self.backoff, self.max_retries, retry, error)
                if delay is None:
                    raise
            else:
                try:
                    payload = decode_answer(
                        answer.status, answer.content_type, answer.content, call.ok_statuses
                    )
                except RaybusError as exc:
                    if answer.is_success:
                        raise
                    after = retry_after_s(answer.retry_after, exc)
                    delay = next_delay_s(self.backoff, self.max_retries, retry, exc, after)
                    if delay is None:
                        raise
                else:
                    return op.parse(payload)
            await self._sleep(delay)
            retry += 1

    async def _run_batch(self, plan: BatchPlan[T]) -> list[T | RaybusError]:
        """Run a batch plan's requests in order; a failing request raises (with the
        ``partial_results`` of the entries answered before it)."""
        for positions, op in plan.requests:
            try:
                plan.record(positions, await self._run(op))
            except (RaybusError, ConnectionError) as exc:
                plan.interrupted(exc)
                raise
        return plan.results()
