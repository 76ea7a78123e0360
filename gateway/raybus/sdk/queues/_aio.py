"""Queues on the client: :class:`AsyncQueueMethods` (the client's queue methods),
:class:`AsyncQueue`, :class:`AsyncMessage` and :class:`AsyncConsumer`.

Delivery is SQS's: at-least-once. A received message stays invisible for its visibility timeout
and comes back unless deleted in time; a send retried after a lost answer may enqueue twice on a
standard queue. Batch results are in input order. FIFO order is per message group, assigned by
the queue, not by call order.

``_aio.py`` is the source of both flavours; ``_sync.py`` beside it is generated from it.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from types import TracebackType
from typing import Any, ClassVar

from raybus.core import arns
from raybus.sdk._consume import AsyncMessages, ConsumeState, asettle, log_entry_failures
from raybus.sdk._handles import Handle, name_of
from raybus.sdk.base._aio import AsyncClientBase
from raybus.sdk.errors import RaybusError
from raybus.sdk.models import BaseMessage, MoveTask, ProcessStats, QueueStats, SendResult
from raybus.sdk.queues import ops

__all__ = ["AsyncConsumer", "AsyncMessage", "AsyncQueue", "AsyncQueueMethods"]

logger = logging.getLogger("raybus.sdk")


class AsyncQueueMethods(AsyncClientBase):
    """The client's queue and dead-letter move-task methods."""

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
        """Create a queue, or return the existing one when its settings are the same.

        ``fifo=None`` means "a FIFO queue iff the name ends in ``.fifo``". A dead-letter queue is
        ``dead_letter_queue`` and ``max_receive_count`` together (one alone raises
        :class:`~raybus.sdk.errors.InvalidRedrivePolicy`). ``partitions=None`` lets the cluster
        choose. Raises ``QueueAlreadyExists`` when the queue exists with other settings.
        """
        body = ops.queue_settings(
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
                "redrive_policy": ops.redrive_policy(dead_letter_queue, max_receive_count),
                "redrive_allow_policy": redrive_allow_policy,
                "partitions": partitions,
            },
        )
        return AsyncQueue(self, await self._run(ops.create_queue(body)))

    async def queue(self, name: str) -> AsyncQueue:
        """The queue named ``name`` with its current settings; raises ``QueueDoesNotExist``."""
        return AsyncQueue(self, await self._run(ops.get_queue(name)))

    async def list_queues(
        self, prefix: str | None = None, *, limit: int | None = None
    ) -> list[str]:
        """Queue names, sorted; at most ``limit`` (the gateway's default is 1,000)."""
        return await self._run(ops.list_queues(prefix, limit))

    async def delete_queue(self, queue: str | AsyncQueue) -> None:
        """Delete the queue and its messages; the name can be reused at once."""
        await self._run(ops.delete_queue(name_of(queue)))

    async def start_move_task(
        self,
        source: str | AsyncQueue,
        destination: str | AsyncQueue | None = None,
        max_messages_per_s: int | None = None,
    ) -> MoveTask:
        """Redrive a dead-letter queue: to ``destination``, or without one back to each
        message's source queue. Raises ``MoveTaskConflict`` if one already runs for ``source``."""
        target = None if destination is None else name_of(destination)
        return await self._run(ops.start_move_task(name_of(source), target, max_messages_per_s))

    async def list_move_tasks(self, source: str | AsyncQueue) -> list[MoveTask]:
        """The move tasks of a dead-letter queue, most recent first."""
        return await self._run(ops.list_move_tasks(name_of(source)))

    async def cancel_move_task(self, handle: str) -> MoveTask:
        return await self._run(ops.cancel_move_task(handle))


class AsyncQueue(Handle[AsyncClientBase]):
    """A handle on one queue: ``name``, ``fifo``, ``arn`` and ``config`` (its settings as the
    gateway last reported them; ``settings`` is the same dict under its earlier name)."""

    resource_kind: ClassVar[str] = "queue"

    def __init__(self, client: AsyncClientBase, config: Mapping[str, Any]) -> None:
        super().__init__(client, config)
        self.name: str = str(self.config.get("name"))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"

    @property
    def settings(self) -> dict[str, Any]:
        """The queue's ``config`` (an alias kept from before every handle had ``config``)."""
        return self.config

    @settings.setter
    def settings(self, value: dict[str, Any]) -> None:
        self.config = value

    @property
    def fifo(self) -> bool:
        return bool(self.config.get("fifo", self.name.endswith(".fifo")))

    @property
    def arn(self) -> str:
        """The SQS-style ARN (``arn:aws:sqs:us-east-1:000000000000:<name>``)."""
        return arns.queue_arn(self.name)

    async def update(self, **changes: Any) -> dict[str, Any]:
        """Change settings (wire names; ``dead_letter_queue`` with ``max_receive_count`` set the
        redrive policy, ``redrive_policy=None`` removes it) and return the new config."""
        op = ops.update_queue(self.name, ops.settings_changes(changes))
        self.config = await self._client._run(op)
        return self.config

    async def stats(self) -> QueueStats:
        return await self._client._run(ops.queue_stats(self.name))

    async def purge(self) -> None:
        """Delete every message; once per 60 s per queue (else ``PurgeQueueInProgress``)."""
        await self._client._run(ops.purge_queue(self.name))

    async def delete(self) -> None:
        """Delete the queue and its messages (as ``client.delete_queue``)."""
        await self._client._run(ops.delete_queue(self.name))

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
        """Send one message; returns once it is durable. Raises the message's error."""
        entry, _ = ops.send_entry(
            body, attributes=attributes, delay_s=delay_s, group_id=group_id, dedup_id=dedup_id
        )
        return await self._client._run(ops.send(self.name, entry))

    async def send_batch(
        self, entries: Iterable[bytes | str | Mapping[str, Any]]
    ) -> list[SendResult | RaybusError]:
        """Send many messages; one result per entry, in order.

        An entry is a body or a mapping with ``body`` and the keywords of :meth:`send`. A
        failed entry's slot holds its typed error instead of a :class:`SendResult` (nothing
        raises for it); a request-level failure raises (with ``partial_results`` when the call
        had been split and earlier requests succeeded). Lists over 1,000 entries or 1 MiB are
        split into several requests transparently.
        """
        return await self._client._run_batch(ops.plan_send_batch(self.name, entries))

    # -- receive --------------------------------------------------------------------------------
    async def receive(
        self,
        max_messages: int = 1,
        *,
        wait_s: int | None = None,
        visibility_timeout_s: int | None = None,
    ) -> list[AsyncMessage]:
        """Up to ``max_messages`` (1–1,000) messages, now in flight. ``wait_s`` > 0 long-polls
        (returns as soon as any message is visible); ``None`` uses the queue's
        ``receive_wait_s``. ``visibility_timeout_s=None`` uses the queue's."""
        op = ops.receive(self.name, max_messages, wait_s, visibility_timeout_s)
        raw = await self._client._run(op)
        return ops.messages(AsyncMessage, self.name, self, raw)

    async def delete_message(self, message: str | AsyncMessage) -> None:
        """Delete by message or receipt. A superseded receipt or a gone message succeeds."""
        await self._client._run(ops.delete_message(self.name, ops.receipt_of(message)))

    async def delete_batch(
        self, messages: Iterable[str | AsyncMessage]
    ) -> list[RaybusError | None]:
        """Delete many; ``None`` per success or the entry's error, in order (split past
        1,000)."""
        receipts = ops.receipts_of(messages)
        return await self._client._run_batch(ops.plan_delete_batch(self.name, receipts))

    async def change_visibility(
        self, message: str | AsyncMessage, visibility_timeout_s: int
    ) -> None:
        """Make an in-flight message visible again after ``visibility_timeout_s`` (0 = now)."""
        receipt = ops.receipt_of(message)
        await self._client._run(ops.change_visibility(self.name, receipt, visibility_timeout_s))

    async def change_visibility_batch(
        self, changes: Iterable[tuple[str | AsyncMessage, int]]
    ) -> list[RaybusError | None]:
        pairs = [(ops.receipt_of(m), seconds) for m, seconds in changes]
        return await self._client._run_batch(ops.plan_visibility_batch(self.name, pairs))

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
        """Iterate over messages; the loop body is the handler. See :class:`AsyncConsumer`."""
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
        """Call ``handler`` on each message until stopped (``limit`` messages, or an empty
        receive with ``stop_when_empty``). A message is deleted when its handler returns; when
        the handler raises an ``Exception`` the message stays in flight and reappears after its
        visibility timeout (dead-lettered past ``max_receive_count``), ``on_error`` is called
        (default: log it) and processing goes on. On the asynchronous client ``handler`` and
        ``on_error`` may be coroutine functions (their results are awaited)."""
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
                    await asettle(handler(message))
                except Exception as exc:
                    consumer._state.abandon_current()
                    failed += 1
                    if on_error is None:
                        logger.exception("handler failed on message %s", message.message_id)
                    else:
                        await asettle(on_error(message, exc))
                else:
                    handled += 1
        return ProcessStats(handled=handled, failed=failed)


class AsyncMessage(BaseMessage[AsyncQueue]):
    """A received message (see :class:`~raybus.sdk.models.BaseMessage` for its fields)."""

    __slots__ = ()

    async def delete(self) -> None:
        await self._queue.delete_message(self)

    async def change_visibility(self, visibility_timeout_s: int) -> None:
        await self._queue.change_visibility(self, visibility_timeout_s)


class AsyncConsumer(AsyncIterator[AsyncMessage]):
    """Messages of a queue, one at a time, deleted once handled.

    Contract: asking for the next message (or ending the loop) marks the previous one handled;
    handled messages are deleted in batches, before each receive and on close. When the loop
    body raises or breaks, the current message is not deleted (it reappears after its visibility
    timeout) and messages received but not yet handed out are released (visibility 0) on close.
    The loop ends after ``limit`` messages, or at the first empty receive with
    ``stop_when_empty``; otherwise it long-polls forever. Use ``async with queue.consume() as
    messages:`` to close deterministically; a loop that breaks without it leaves the release to
    the garbage collector (CPython closes a synchronous consumer at once, an asynchronous one
    when the event loop finalises it). Prefetched messages share one visibility timeout: keep
    ``max_messages`` times the handling time below it. A failed cleanup (delete, release)
    raises at the normal end of the loop and is logged after an early close, so that it never
    hides why the loop stopped. Delivery is at-least-once.
    """

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
) -> AsyncMessages[AsyncMessage]:
    # A module-level generator: it must not reference its Consumer, so that dropping the
    # Consumer (a plain loop that breaks) closes the generator.
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
