"""Pollers: the loops that turn queue messages into function invocations.

Both kinds run in the partition host that owns the queue partition they poll, so receiving and
deleting are plain awaits on a local :class:`LivePartition` (no Ray call); the invocation is a
Ray task or actor call through the host's :class:`~raybus.functions.runtime.Invoker`.

- :class:`MappingPoller` — an event-source mapping from a queue (Lambda's SQS poller):
  batches of up to ``batch_size`` (collected for up to ``batching_window_s``), messages that
  match none of the filter criteria are deleted unseen (as Lambda does), the rest go to the
  function as one SQS event. Success deletes the batch — or, with
  ``report_batch_item_failures``, every message the response does not name (a malformed
  response fails the whole batch). A failed batch is left alone: its messages come back after
  the visibility timeout and count toward the queue's redrive policy. FIFO order per group is
  the queue's: a group with a message in flight is not handed out again.
- :class:`AsyncPoller` — a function's asynchronous invocations, kept in its internal queue
  (Lambda's event queue). An event older than ``max_event_age_s`` (on the injected clock) is
  not run; a failure is retried after Lambda's delays (1 min, then 2 min) by changing the
  message's visibility, up to ``max_retries``; then the on-failure destination and the
  dead-letter queue get it; success goes to the on-success destination. The event leaves the
  queue only once those deliveries were acknowledged (a destination that is down makes the
  whole event retry: at-least-once).

Every loop survives every error (it pauses a second and goes on) and stops when cancelled.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from raybus.actors.dispatch import Dispatcher
from raybus.actors.live_partition import LivePartition
from raybus.core.clock import Clock
from raybus.core.errors import RaybusError
from raybus.core.resources import FunctionConfig, MappingConfig
from raybus.core.retry import lambda_async_delay_ms
from raybus.engines import ReceivedMessage
from raybus.functions.batch_response import failed_items
from raybus.functions.destinations import dlq_attributes, invocation_record
from raybus.functions.events import sqs_event
from raybus.functions.runtime import Invoker
from raybus.functions.sandbox import InvocationResult
from raybus.rules import CompiledPattern, compile_pattern

__all__ = ["AsyncPoller", "MappingPoller", "PollerCounters", "workers_per_partition"]

log = logging.getLogger(__name__)

LONG_POLL_S = 20.0
ERROR_PAUSE_S = 1.0
DEFAULT_MAPPING_CONCURRENCY = 5  # Lambda starts an SQS mapping with five concurrent batches
ASYNC_WORKERS = 8

CodeFor = Callable[[FunctionConfig], Awaitable[bytes | None]]
FunctionFor = Callable[[str], FunctionConfig | None]


def workers_per_partition(max_concurrency: int | None, partitions: int) -> int:
    total = max_concurrency or DEFAULT_MAPPING_CONCURRENCY
    return max(1, math.ceil(total / max(1, partitions)))


class PollerCounters:
    """Per-poller counts, read by the host's stats for /metrics."""

    __slots__ = ("batches", "deleted", "errors", "filtered", "invocations")

    def __init__(self) -> None:
        self.batches = self.invocations = self.errors = self.filtered = self.deleted = 0

    def as_dict(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in self.__slots__}


class _Poller:
    def __init__(self, live: LivePartition, invoker: Invoker, code_for: CodeFor) -> None:
        self.live = live
        self.invoker = invoker
        self.code_for = code_for
        self.counters = PollerCounters()
        self._tasks: list[asyncio.Task[None]] = []

    def start(self, workers: int) -> None:
        self._tasks.extend(asyncio.ensure_future(self._worker()) for _ in range(workers))

    def resize(self, workers: int) -> None:
        while len(self._tasks) > workers:
            self._tasks.pop().cancel()
        if len(self._tasks) < workers:
            self.start(workers - len(self._tasks))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(BaseException):
                await task
        self._tasks.clear()

    async def _worker(self) -> None:
        while not self.live.closed:
            try:
                await self._once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("poller step failed; retrying")
                await asyncio.sleep(ERROR_PAUSE_S)  # a pause after an error, not a wait

    async def _once(self) -> None:
        raise NotImplementedError

    async def _delete(self, messages: Sequence[ReceivedMessage]) -> None:
        if not messages:
            return
        (results,) = await self.live.execute([("delete", [m.receipt for m in messages])])
        if isinstance(results, RaybusError):
            raise results
        self.counters.deleted += sum(1 for r in results if r is None)


class MappingPoller(_Poller):
    def __init__(
        self,
        mapping: MappingConfig,
        queue: str,
        live: LivePartition,
        invoker: Invoker,
        code_for: CodeFor,
        function_for: FunctionFor,
    ) -> None:
        super().__init__(live, invoker, code_for)
        self.queue = queue
        self.function_for = function_for
        self.update(mapping)

    def update(self, mapping: MappingConfig) -> None:
        self.mapping = mapping
        self.filters: list[CompiledPattern] = [compile_pattern(p) for p in mapping.filter_criteria]

    async def _collect(self) -> list[ReceivedMessage]:
        size = self.mapping.batch_size
        first = await self.live.receive(
            min(size, 10 if self.live.config.fifo else 1000), None, LONG_POLL_S
        )
        if isinstance(first, RaybusError):
            raise first
        batch: list[ReceivedMessage] = list(first)
        window = self.mapping.batching_window_s
        if not batch or window <= 0 or len(batch) >= size:
            return batch
        loop = asyncio.get_running_loop()
        deadline = loop.time() + window
        while len(batch) < size:
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            more = await self.live.receive(min(size - len(batch), 1000), None, remaining)
            if isinstance(more, RaybusError):
                break
            batch.extend(more)
        return batch

    def _wanted(self, message: ReceivedMessage) -> bool:
        if not self.filters:
            return True
        record = sqs_event(self.queue, [message])["Records"][0]
        body = record.get("body")
        with contextlib.suppress(ValueError, TypeError):
            record = {**record, "body": json.loads(body)}  # Lambda matches JSON bodies as JSON
        return any(pattern.matches(record) for pattern in self.filters)

    async def _once(self) -> None:
        batch = await self._collect()
        if not batch:
            return
        function = self.function_for(self.mapping.function)
        if function is None:  # deleted meanwhile: leave the messages for the queue's redrive
            return
        wanted: list[ReceivedMessage] = []
        dropped: list[ReceivedMessage] = []
        for message in batch:
            (wanted if self._wanted(message) else dropped).append(message)
        self.counters.filtered += len(dropped)
        await self._delete(dropped)
        if not wanted:
            return
        self.counters.batches += 1
        self.counters.invocations += 1
        result = await self.invoker.invoke(
            function,
            await self.code_for(function),
            sqs_event(self.queue, wanted),
            wait_for_slot=True,
        )
        if not result.ok:
            self.counters.errors += 1
            return  # the batch returns after its visibility timeout
        if not self.mapping.report_batch_item_failures:
            await self._delete(wanted)
            return
        failed = failed_items(result.payload, [m.message_id for m in wanted])
        if failed is None:
            self.counters.errors += 1
            return  # a malformed response fails the whole batch
        await self._delete([m for m in wanted if m.message_id not in failed])


class AsyncPoller(_Poller):
    def __init__(
        self,
        function: str,
        live: LivePartition,
        invoker: Invoker,
        code_for: CodeFor,
        function_for: FunctionFor,
        dispatcher: Dispatcher,
        clock: Clock,
    ) -> None:
        super().__init__(live, invoker, code_for)
        self.function = function
        self.function_for = function_for
        self.dispatcher = dispatcher
        self.clock = clock

    async def _once(self) -> None:
        received = await self.live.receive(1, None, LONG_POLL_S)
        if isinstance(received, RaybusError):
            raise received
        for message in received:
            await self._handle(message)

    async def _handle(self, message: ReceivedMessage) -> None:
        config = self.function_for(self.function)
        if config is None:
            return
        try:
            payload = json.loads(message.body)
        except ValueError:
            payload = message.body.decode("utf-8", "replace")
        attempt = message.receive_count
        age_ms = self.clock.now_ms() - message.sent_ms
        if age_ms > config.max_event_age_s * 1000:
            await self._failed(config, message, payload, None, "EventAgeExceeded", attempt - 1)
            return
        self.counters.invocations += 1
        result = await self.invoker.invoke(
            config,
            await self.code_for(config),
            payload,
            request_id=message.message_id,
            wait_for_slot=True,
        )
        if result.ok:
            if config.on_success is not None:
                record = invocation_record(
                    config,
                    message.message_id,
                    payload,
                    result,
                    "Success",
                    attempt,
                    timestamp_ms=self.clock.now_ms(),
                )
                if not await self._send(config.on_success, json.dumps(record), message):
                    return
            await self._delete([message])
            return
        self.counters.errors += 1
        delay_ms = lambda_async_delay_ms(attempt, config.max_retries)
        if delay_ms is None:
            await self._failed(config, message, payload, result, "RetriesExhausted", attempt)
            return
        delay_s = math.ceil(delay_ms / 1000)
        await self.live.execute([("visibility", [(message.receipt, delay_s)])])

    async def _failed(
        self,
        config: FunctionConfig,
        message: ReceivedMessage,
        payload: Any,
        result: InvocationResult | None,
        condition: str,
        attempts: int,
    ) -> None:
        if config.on_failure is not None:
            record = invocation_record(
                config,
                message.message_id,
                payload,
                result,
                condition,
                attempts,
                timestamp_ms=self.clock.now_ms(),
            )
            if not await self._send(config.on_failure, json.dumps(record), message):
                return
        if config.dead_letter_queue is not None:
            attributes = dlq_attributes(message.message_id, result, condition)
            if not await self._send(
                config.dead_letter_queue, json.dumps(payload), message, attributes
            ):
                return
        await self._delete([message])

    async def _send(
        self, target: str, body: str, message: ReceivedMessage, attributes: Any = None
    ) -> bool:
        """Deliver to a destination; if it is down, retry the event after a minute."""
        try:
            await self.dispatcher.deliver(target, body, attributes)
            return True
        except RaybusError as error:
            log.warning("destination %s refused %s: %s", target, message.message_id, error)
            await self.live.execute([("visibility", [(message.receipt, 60)])])
            return False
