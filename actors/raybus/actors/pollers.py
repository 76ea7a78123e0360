"""Pollers: the loops that turn queue messages into function invocations.

Both kinds run in the partition host that owns the queue partition they poll, so receiving and
deleting are typed operations on a local :class:`~raybus.partitions.PartitionShell` (no Ray
call); the invocation is a Ray task or actor call through the host's
:class:`~raybus.functions.runtime.Invoker`. :class:`Pollers` keeps a host's pollers in step with
the routing table (the functions and mappings in it, and the queue partitions on the host).

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

Destinations use the one transfer protocol (:func:`~raybus.partitions.transfer`): the
destination commits first, the event is deleted after. Every loop survives every error (it
pauses a second and goes on) and stops when cancelled.

Test clock: each worker is a unit of the host's :class:`~raybus.partitions.activity.Activity`,
idle only while its long poll is parked on an empty queue; a mapping collecting a batch
(``batching_window_s``, real seconds) stays busy until it has invoked it, so a clock advance
waits for the window instead of moving time under a half-collected batch.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from raybus.actors.dispatch import FunctionRuntime, RouterDispatcher
from raybus.core.clock import Clock
from raybus.core.errors import RaybusError
from raybus.core.functions import FunctionConfig
from raybus.core.mappings import MappingConfig
from raybus.core.retry import lambda_async_delay_ms
from raybus.core.routing import RoutingTable, async_queue_name
from raybus.engines import QueuePartition, ReceivedMessage
from raybus.engines.queue.ops import ChangeVisibility, Delete
from raybus.functions.batch_response import failed_items
from raybus.functions.destinations import dlq_attributes, invocation_record
from raybus.functions.events import sqs_event
from raybus.functions.runtime import Invoker
from raybus.functions.sandbox import InvocationResult
from raybus.partitions import LongPoll, PartitionShell, transfer
from raybus.partitions.activity import Activity
from raybus.rules import CompiledPattern, compile_pattern

__all__ = ["AsyncPoller", "MappingPoller", "PollerCounters", "Pollers", "workers_per_partition"]

log = logging.getLogger(__name__)

LONG_POLL_S = 20.0
ERROR_PAUSE_S = 1.0
DEFAULT_MAPPING_CONCURRENCY = 5  # Lambda starts an SQS mapping with five concurrent batches
ASYNC_WORKERS = 8

CodeFor = Callable[[FunctionConfig], Awaitable[bytes | None]]
FunctionFor = Callable[[str], FunctionConfig | None]
QueueShell = PartitionShell[QueuePartition]
PollerKey = tuple[str, str, int]  # ("mapping", id, partition) or ("async", function, partition)


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
    def __init__(self, live: QueueShell, invoker: Invoker, code_for: CodeFor) -> None:
        self.live = live
        self.invoker = invoker
        self.code_for = code_for
        self.counters = PollerCounters()
        self._tasks: list[asyncio.Task[None]] = []

    def start(self, workers: int) -> None:
        activity: Activity | None = self.live.activity  # the host's, under the test clock
        for _ in range(workers):
            work = self._worker()
            self._tasks.append(
                asyncio.ensure_future(work)
                if activity is None
                else activity.task(work, f"{self.live.describe()}: {type(self).__name__}")
            )

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
        results = await self.live.apply(Delete([m.receipt for m in messages]))
        self.counters.deleted += sum(1 for r in results if r is None)


class MappingPoller(_Poller):
    def __init__(
        self,
        mapping: MappingConfig,
        queue: str,
        live: QueueShell,
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
        first = await self.live.perform(
            LongPoll(min(size, 10 if self.live.engine.config.fifo else 1000), None, LONG_POLL_S)
        )
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
            try:
                more = await self.live.perform(  # busy: the batch is held
                    LongPoll(min(size - len(batch), 1000), None, remaining, idle=False)
                )
            except RaybusError:
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
        live: QueueShell,
        invoker: Invoker,
        code_for: CodeFor,
        function_for: FunctionFor,
        dispatcher: RouterDispatcher,
        clock: Clock,
    ) -> None:
        super().__init__(live, invoker, code_for)
        self.function = function
        self.function_for = function_for
        self.dispatcher = dispatcher
        self.clock = clock

    async def _once(self) -> None:
        received = await self.live.perform(LongPoll(1, None, LONG_POLL_S))
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
        await self.live.execute([ChangeVisibility([(message.receipt, delay_s)])])

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
        """Deliver to a destination (the transfer protocol: the destination commits first);
        if it is down, the event is retried after a minute. Whether it was delivered."""

        async def send(items: Sequence[ReceivedMessage]) -> Sequence[object]:
            await self.dispatcher.deliver(target, body, attributes)
            return [True]

        async def settle(moved: list[ReceivedMessage], failed: list[ReceivedMessage]) -> None:
            if failed:
                await self.live.execute([ChangeVisibility([(message.receipt, 60)])])

        moved, _ = await transfer([message], send, settle, what=f"destination {target}")
        return bool(moved)


class Pollers:
    """A host's pollers, kept in step with the routing table: an :class:`AsyncPoller` per local
    partition of each function's event queue, a :class:`MappingPoller` per local partition of
    each enabled mapping's source queue. Reconciling is serialised and never fails as a whole:
    one poller that cannot start is logged and skipped."""

    def __init__(
        self,
        host: str,
        shells: dict[tuple[str, str, int], PartitionShell[Any]],
        functions: FunctionRuntime,
        dispatcher: RouterDispatcher,
    ) -> None:
        self.host = host
        self.shells = shells
        self.functions = functions
        self.dispatcher = dispatcher
        self.running: dict[PollerKey, MappingPoller | AsyncPoller] = {}
        self.table = RoutingTable()
        self._lock = asyncio.Lock()

    def _function(self, name: str) -> FunctionConfig | None:
        route = self.table.route("function", name)
        config: FunctionConfig | None = None if route is None else route.config
        return config

    def _local(self, table: RoutingTable, queue: str) -> list[int]:
        route = table.route("queue", queue)
        if route is None:
            return []
        return [i for i, p in enumerate(route.partitions) if p.host == self.host]

    async def reconcile(self, table: RoutingTable) -> None:
        """Start, resize, update and stop pollers to match ``table``."""
        self.table = table
        functions = table.routes("function")
        if not functions and not self.running:
            return
        async with self._lock:
            wanted: dict[PollerKey, tuple[str, MappingConfig | None]] = {}
            for function in functions:
                queue = async_queue_name(function)
                for index in self._local(table, queue):
                    wanted[("async", function, index)] = (queue, None)
            for route in table.routes("mapping").values():
                mapping: MappingConfig = route.config
                target = mapping.target
                if (
                    not mapping.enabled
                    or target.kind != "queue"
                    or mapping.function not in functions
                ):
                    continue
                for index in self._local(table, target.name):
                    wanted[("mapping", mapping.id, index)] = (target.name, mapping)
            for key in [key for key in self.running if key not in wanted]:
                await self.running.pop(key).stop()
            for key, (queue, source) in wanted.items():
                live = self.shells.get(("queue", queue, key[2]))
                if live is None:
                    continue
                try:
                    self._place(table, key, live, queue, source)
                except Exception:  # one bad poller must not stop the others or the watch
                    log.exception("starting poller %s failed", key)

    def _place(
        self,
        table: RoutingTable,
        key: PollerKey,
        live: PartitionShell[Any],
        queue: str,
        mapping: MappingConfig | None,
    ) -> None:
        """Create, resize or update the poller for ``key`` (no await: atomic on the loop)."""
        poller = self.running.get(key)
        functions = self.functions
        if mapping is None:
            config: FunctionConfig = table.routes("function")[key[1]].config
            workers = min(8, config.concurrency) if config.concurrency is not None else 8
            if poller is None:
                poller = AsyncPoller(
                    key[1],
                    live,
                    functions.invoker(),
                    functions.code_for,
                    self._function,
                    self.dispatcher,
                    live.clock,
                )
                self.running[key] = poller
            poller.resize(workers)
            return
        route = table.route("queue", queue)
        count = len(route.partitions) if route is not None else 1
        if poller is None:
            poller = MappingPoller(
                mapping, queue, live, functions.invoker(), functions.code_for, self._function
            )
            self.running[key] = poller
        assert isinstance(poller, MappingPoller)
        poller.update(mapping)
        poller.resize(workers_per_partition(mapping.max_concurrency, count))

    async def forget(self, shell: PartitionShell[Any]) -> None:
        """Stop the pollers of a partition that is closing."""
        for key in [k for k, p in self.running.items() if p.live is shell]:
            await self.running.pop(key).stop()

    def counters(self) -> dict[str, dict[str, int]]:
        """Each mapping's poller counts, summed over this host's partitions."""
        out: dict[str, dict[str, int]] = {}
        for (kind, ident, _), poller in self.running.items():
            if kind == "mapping":
                total = out.setdefault(ident, {})
                for name, value in poller.counters.as_dict().items():
                    total[name] = total.get(name, 0) + value
        return out

    async def stop(self) -> None:
        for poller in list(self.running.values()):
            await poller.stop()
        self.running.clear()
