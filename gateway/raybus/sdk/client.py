"""The synchronous client: :class:`Client`, :class:`Queue`, :class:`Message`, :class:`Consumer`.

:class:`~raybus.sdk.AsyncClient` has the same surface with coroutines; both run the pure
operations of ``raybus.sdk._ops`` and differ only in I/O.

Delivery is SQS's: at-least-once. A received message stays invisible for its visibility timeout
and comes back unless deleted in time; a send retried after a lost answer may enqueue twice on a
standard queue. Batch results are in input order. FIFO order is per message group, assigned by
the queue, not by call order.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping
from types import TracebackType
from typing import Any, ClassVar, TypeVar

import httpx

from raybus.sdk import _ops
from raybus.sdk._consume import ConsumeState, log_entry_failures
from raybus.sdk._retry import Backoff, connection_error, next_delay_s
from raybus.sdk._wire import Op, decode_answer, headers, retry_after_s
from raybus.sdk.errors import RaybusError
from raybus.sdk.models import BaseMessage, Health, MoveTask, ProcessStats, QueueStats, SendResult
from raybus.sdk.resources import Resources

__all__ = ["DEFAULT_URL", "USER_AGENT", "Client", "Consumer", "Message", "Queue"]

T = TypeVar("T")
logger = logging.getLogger("raybus.sdk")

DEFAULT_URL = "http://127.0.0.1:8000"
USER_AGENT = "raybus-sdk/0.1"
# Keep every connection a busy client opens: httpx keeps only 20 idle ones by default, so 32
# concurrent requests closed and reopened a dozen connections per round (measured: 7x slower).
POOL_LIMITS = httpx.Limits(max_connections=256, max_keepalive_connections=256)


class Client(Resources):
    """A connection pool to one gateway, speaking msgpack, retrying what is retriable.

    Queues are below; topics, subscriptions, functions and event-source mappings come from
    :class:`~raybus.sdk.resources.Resources`.

    ``max_retries`` bounds the retries per request (see :mod:`raybus.sdk._retry` for the
    policy); ``backoff`` and ``sleep`` are injectable for tests; ``transport`` replaces the
    network (e.g. ``httpx.MockTransport``). ``timeout_s`` applies to connect, write and read;
    a long poll adds its wait. Thread-safe as ``httpx.Client`` is; close it (or use ``with``)
    to release its connections.
    """

    def __init__(
        self,
        url: str = DEFAULT_URL,
        token: str | None = None,
        *,
        timeout_s: float = 30.0,
        max_retries: int = 5,
        backoff: Backoff | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], object] = time.sleep,
    ) -> None:
        if max_retries < 0:
            raise ValueError("max_retries is non-negative")
        self.url = url
        self.max_retries = max_retries
        self.backoff = backoff if backoff is not None else Backoff()
        self._timeout_s = timeout_s
        self._sleep = sleep
        self._http = httpx.Client(
            base_url=url,
            headers=headers(token, USER_AGENT),
            timeout=timeout_s,
            transport=transport,
            limits=POOL_LIMITS,
        )

    # -- lifecycle --------------------------------------------------------------------------------
    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Client({self.url!r})"

    # -- the one I/O path -----------------------------------------------------------------------
    def _run(self, op: Op[T]) -> T:
        call = op.call
        content = call.content()
        timeout = self._timeout_s + call.extra_timeout_s
        retry = 0
        while True:
            try:
                response = self._http.request(
                    call.method, call.path, content=content, params=call.params, timeout=timeout
                )
            except httpx.TransportError as exc:
                error = connection_error(exc, self.url)
                if error is None:
                    raise
                delay = next_delay_s(self.backoff, self.max_retries, retry, error)
                if delay is None:
                    raise error from exc
            else:
                try:
                    payload = decode_answer(
                        response.status_code,
                        response.headers.get("content-type", ""),
                        response.content,
                        call.ok_statuses,
                    )
                except RaybusError as exc:
                    if response.is_success:
                        raise
                    after = retry_after_s(response.headers.get("retry-after"), exc)
                    delay = next_delay_s(self.backoff, self.max_retries, retry, exc, after)
                    if delay is None:
                        raise
                else:
                    return op.parse(payload)
            self._sleep(delay)
            retry += 1

    def _run_batch(self, plan: _ops.BatchPlan[T]) -> list[T | RaybusError]:
        for positions, op in plan.requests:
            try:
                plan.record(positions, self._run(op))
            except (RaybusError, ConnectionError) as exc:
                plan.interrupted(exc)
                raise
        return plan.results()

    # -- queues ---------------------------------------------------------------------------------
    def create_queue(
        self,
        name: str,
        *,
        fifo: bool | None = None,
        visibility_timeout_s: int = 30,
        delay_s: int = 0,
        retention_s: int = 345_600,
        max_message_bytes: int = 262_144,
        receive_wait_s: int = 0,
        dead_letter_queue: str | Queue | None = None,
        max_receive_count: int | None = None,
        content_based_dedup: bool = False,
        dedup_scope: str = "queue",
        throughput_limit: str = "perQueue",
        redrive_allow_policy: Mapping[str, Any] | None = None,
        partitions: int | None = None,
    ) -> Queue:
        """Create a queue, or return the existing one when its settings are the same.

        ``fifo=None`` means "a FIFO queue iff the name ends in ``.fifo``". A dead-letter queue is
        ``dead_letter_queue`` and ``max_receive_count`` together (one alone raises
        :class:`~raybus.sdk.errors.InvalidRedrivePolicy`). ``partitions=None`` lets the cluster
        choose. Raises ``QueueAlreadyExists`` when the queue exists with other settings.
        """
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
        settings = self._run(_ops.create_queue(body))
        return Queue(self, settings)

    def queue(self, name: str) -> Queue:
        """The queue named ``name`` with its current settings; raises ``QueueDoesNotExist``."""
        settings = self._run(_ops.get_queue(name))
        return Queue(self, settings)

    def list_queues(self, prefix: str | None = None, *, limit: int | None = None) -> list[str]:
        """Queue names, sorted; at most ``limit`` (the gateway's default is 1,000)."""
        return self._run(_ops.list_queues(prefix, limit))

    def delete_queue(self, queue: str | Queue) -> None:
        """Delete the queue and its messages; the name can be reused at once."""
        self._run(_ops.delete_queue(_ops.name_of(queue)))

    # -- move tasks -----------------------------------------------------------------------------
    def start_move_task(
        self,
        source: str | Queue,
        destination: str | Queue | None = None,
        max_messages_per_s: int | None = None,
    ) -> MoveTask:
        """Redrive a dead-letter queue: to ``destination``, or without one back to each
        message's source queue. Raises ``MoveTaskConflict`` if one already runs for ``source``."""
        target = None if destination is None else _ops.name_of(destination)
        return self._run(_ops.start_move_task(_ops.name_of(source), target, max_messages_per_s))

    def list_move_tasks(self, source: str | Queue) -> list[MoveTask]:
        """The move tasks of a dead-letter queue, most recent first."""
        return self._run(_ops.list_move_tasks(_ops.name_of(source)))

    def cancel_move_task(self, handle: str) -> MoveTask:
        return self._run(_ops.cancel_move_task(handle))

    # -- clock and health ---------------------------------------------------------------------
    def now_ms(self) -> int:
        """The cluster's clock in milliseconds since the epoch (virtual under --test-clock)."""
        return self._run(_ops.clock())

    def advance_clock(self, seconds: float) -> int:
        """Move a test clock forward and return the new ``now_ms``; raises
        ``UnsupportedOperation`` unless the cluster runs with ``--test-clock``."""
        return self._run(_ops.advance_clock(seconds))

    def health(self) -> Health:
        """``/healthz``; returns (does not raise) when the cluster reports ``degraded``."""
        return self._run(_ops.health())


class Queue:
    """A handle on one queue: ``name`` and ``settings`` (as the gateway last reported them)."""

    resource_kind: ClassVar[str] = "queue"

    def __init__(self, client: Client, settings: Mapping[str, Any]) -> None:
        self._client = client
        self.settings: dict[str, Any] = dict(settings)
        self.name: str = str(self.settings.get("name"))

    def __repr__(self) -> str:
        return f"Queue({self.name!r})"

    @property
    def client(self) -> Client:
        return self._client

    @property
    def fifo(self) -> bool:
        return bool(self.settings.get("fifo", self.name.endswith(".fifo")))

    def update(self, **changes: Any) -> dict[str, Any]:
        """Change settings (wire names; ``dead_letter_queue`` with ``max_receive_count`` set the
        redrive policy, ``redrive_policy=None`` removes it) and return the new settings."""
        op = _ops.update_queue(self.name, _ops.settings_changes(changes))
        self.settings = self._client._run(op)
        return self.settings

    def stats(self) -> QueueStats:
        return self._client._run(_ops.queue_stats(self.name))

    def purge(self) -> None:
        """Delete every message; once per 60 s per queue (else ``PurgeQueueInProgress``)."""
        self._client._run(_ops.purge_queue(self.name))

    # -- send ---------------------------------------------------------------------------------
    def send(
        self,
        body: bytes | str,
        *,
        attributes: Mapping[str, object] | None = None,
        delay_s: int | None = None,
        group_id: str | None = None,
        dedup_id: str | None = None,
    ) -> SendResult:
        """Send one message; returns once it is durable. Raises the message's error."""
        entry, _ = _ops.send_entry(
            body, attributes=attributes, delay_s=delay_s, group_id=group_id, dedup_id=dedup_id
        )
        return self._client._run(_ops.send(self.name, entry))

    def send_batch(
        self, entries: Iterable[bytes | str | Mapping[str, Any]]
    ) -> list[SendResult | RaybusError]:
        """Send many messages; one result per entry, in order.

        An entry is a body or a mapping with ``body`` and the keywords of :meth:`send`. A
        failed entry's slot holds its typed error instead of a :class:`SendResult` (nothing
        raises for it); a request-level failure raises (with ``partial_results`` when the call
        had been split and earlier requests succeeded). Lists over 1,000 entries or 1 MiB are
        split into several requests transparently.
        """
        return self._client._run_batch(_ops.plan_send_batch(self.name, entries))

    # -- receive --------------------------------------------------------------------------------
    def receive(
        self,
        max_messages: int = 1,
        *,
        wait_s: int | None = None,
        visibility_timeout_s: int | None = None,
    ) -> list[Message]:
        """Up to ``max_messages`` (1–1,000) messages, now in flight. ``wait_s`` > 0 long-polls
        (returns as soon as any message is visible); ``None`` uses the queue's
        ``receive_wait_s``. ``visibility_timeout_s=None`` uses the queue's."""
        op = _ops.receive(self.name, max_messages, wait_s, visibility_timeout_s)
        raw = self._client._run(op)
        return [Message(queue_name=self.name, _queue=self, **_ops.message_fields(m)) for m in raw]

    def delete_message(self, message: str | Message) -> None:
        """Delete by message or receipt. A superseded receipt or a gone message succeeds."""
        self._client._run(_ops.delete_message(self.name, _ops.receipt_of(message)))

    def delete_batch(self, messages: Iterable[str | Message]) -> list[RaybusError | None]:
        """Delete many; ``None`` per success or the entry's error, in order (split past
        1,000)."""
        receipts = [_ops.receipt_of(m) for m in messages]
        return self._client._run_batch(_ops.plan_delete_batch(self.name, receipts))

    def change_visibility(self, message: str | Message, visibility_timeout_s: int) -> None:
        """Make an in-flight message visible again after ``visibility_timeout_s`` (0 = now)."""
        receipt = _ops.receipt_of(message)
        self._client._run(_ops.change_visibility(self.name, receipt, visibility_timeout_s))

    def change_visibility_batch(
        self, changes: Iterable[tuple[str | Message, int]]
    ) -> list[RaybusError | None]:
        pairs = [(_ops.receipt_of(m), seconds) for m, seconds in changes]
        return self._client._run_batch(_ops.plan_visibility_batch(self.name, pairs))

    # -- consumers ------------------------------------------------------------------------------
    def consume(
        self,
        max_messages: int = 10,
        *,
        wait_s: int | None = 20,
        visibility_timeout_s: int | None = None,
        limit: int | None = None,
        stop_when_empty: bool = False,
    ) -> Consumer:
        """Iterate over messages; the loop body is the handler. See :class:`Consumer`."""
        state: ConsumeState[Message] = ConsumeState(max_messages=max_messages, limit=limit)
        return Consumer(self, state, wait_s, visibility_timeout_s, stop_when_empty)

    def process(
        self,
        handler: Callable[[Message], object],
        *,
        max_messages: int = 10,
        wait_s: int | None = 20,
        visibility_timeout_s: int | None = None,
        limit: int | None = None,
        stop_when_empty: bool = False,
        on_error: Callable[[Message, Exception], object] | None = None,
    ) -> ProcessStats:
        """Call ``handler`` on each message until stopped (``limit`` messages, or an empty
        receive with ``stop_when_empty``). A message is deleted when its handler returns; when
        the handler raises an ``Exception`` the message stays in flight and reappears after its
        visibility timeout (dead-lettered past ``max_receive_count``), ``on_error`` is called
        (default: log it) and processing goes on."""
        handled = failed = 0
        with self.consume(
            max_messages,
            wait_s=wait_s,
            visibility_timeout_s=visibility_timeout_s,
            limit=limit,
            stop_when_empty=stop_when_empty,
        ) as consumer:
            for message in consumer:
                try:
                    handler(message)
                except Exception as exc:
                    consumer._state.abandon_current()
                    failed += 1
                    if on_error is None:
                        logger.exception("handler failed on message %s", message.message_id)
                    else:
                        on_error(message, exc)
                else:
                    handled += 1
        return ProcessStats(handled=handled, failed=failed)


class Message(BaseMessage[Queue]):
    """A received message (see :class:`~raybus.sdk.models.BaseMessage` for its fields)."""

    __slots__ = ()

    def delete(self) -> None:
        self._queue.delete_message(self)

    def change_visibility(self, visibility_timeout_s: int) -> None:
        self._queue.change_visibility(self, visibility_timeout_s)


class Consumer(Iterator[Message]):
    """Messages of a queue, one at a time, deleted once handled.

    Contract: asking for the next message (or ending the loop) marks the previous one handled;
    handled messages are deleted in batches, before each receive and on close. When the loop
    body raises or breaks, the current message is not deleted (it reappears after its visibility
    timeout) and messages received but not yet handed out are released (visibility 0) on close.
    The loop ends after ``limit`` messages, or at the first empty receive with
    ``stop_when_empty``; otherwise it long-polls forever. Use ``with queue.consume() as c:`` to
    close deterministically; a plain ``for`` loop closes it when the iterator is dropped.
    Prefetched messages share one visibility timeout: keep ``max_messages`` times the handling
    time below it. A failed cleanup (delete, release) raises at the normal end of the loop and
    is logged after an early close, so that it never hides why the loop stopped. Delivery is
    at-least-once.
    """

    def __init__(
        self,
        queue: Queue,
        state: ConsumeState[Message],
        wait_s: int | None,
        visibility_timeout_s: int | None,
        stop_when_empty: bool,
    ) -> None:
        self._state = state
        self._messages = _consume(queue, state, wait_s, visibility_timeout_s, stop_when_empty)

    def __iter__(self) -> Consumer:
        return self

    def __next__(self) -> Message:
        return next(self._messages)

    def close(self) -> None:
        """Stop: delete what was handled, release what was prefetched; idempotent."""
        self._messages.close()

    def __enter__(self) -> Consumer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _consume(
    queue: Queue,
    state: ConsumeState[Message],
    wait_s: int | None,
    visibility_timeout_s: int | None,
    stop_when_empty: bool,
) -> Generator[Message, None, None]:
    # A module-level generator: it must not reference its Consumer, so that dropping the
    # Consumer (a plain ``for`` loop that breaks) closes the generator at once.
    try:
        while not state.finished:
            message = state.hand_out()
            if message is None:
                _delete_handled(queue, state)
                received = queue.receive(
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
            _clean_up(queue, state)
        except Exception:
            logger.warning("consumer cleanup failed", exc_info=True)
        raise
    _clean_up(queue, state)


def _clean_up(queue: Queue, state: ConsumeState[Message]) -> None:
    try:
        _delete_handled(queue, state)
    finally:
        unhanded = state.take_unhanded()
        if unhanded:
            results = queue.change_visibility_batch((m, 0) for m in unhanded)
            log_entry_failures("release", results)


def _delete_handled(queue: Queue, state: ConsumeState[Message]) -> None:
    receipts = state.take_handled()
    if receipts:
        log_entry_failures("delete", queue.delete_batch(receipts))
