"""One topic partition inside a partition host: engine + file log + group commit + one
delivery loop per subscription.

Publishing: a batch of publishes is applied in one engine turn and acknowledged after one
commit covering it (principle 4), then the delivery loops wake.

Fan-out: each subscription has its own asyncio task, so a slow or failing endpoint never
delays another subscription. A loop takes a batch of deliveries from the engine (due retries
first, then new messages past its cursor that pass its filter policy), delivers it, settles
the outcomes in the engine and commits: the cursor moves only after the endpoint acknowledged
(a queue's commit, a function's durable event queue, an HTTP 2xx). A crash in between delivers
the batch again — repeats are possible, losses are not. Failed deliveries are retried on the
subscription's delivery policy (:mod:`raybus.core.retry`, driven by the injected clock); when
it is exhausted the message goes to the subscription's dead-letter queue, or is discarded if
it has none (as SNS does). A dead-letter queue that is down keeps the message here.

Endpoints:
- ``queue``: one batched send per delivery batch through the router (local partitions are
  plain awaits). Raw delivery passes body and attributes; otherwise the body is SNS's JSON
  envelope. FIFO queues get the publish's message group and deduplication id, so a repeat after
  a crash falls into the queue's own 5-minute window.
- ``function``: the Lambda SNS event, one message per event, sent to the function's durable
  asynchronous-invocation queue (SNS invokes Lambda asynchronously).
- ``http``/``https``: one POST per message, at most ``HTTP_PARALLEL`` at a time, SNS's
  headers, a 15-second timeout; only a 2xx answer counts as delivered.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import aiohttp

from raybus.actors.live_partition import Op, OpResult, _Waker
from raybus.core.clock import Clock
from raybus.core.errors import RaybusError
from raybus.core.resources import SubscriptionConfig, TopicConfig
from raybus.core.retry import policy_for
from raybus.core.routing import async_queue_name
from raybus.engines import SendEntry, SendResult
from raybus.engines.topic import Delivery, Message, Subscriber, TopicPartition
from raybus.functions.envelope import http_headers, sns_envelope, sns_event
from raybus.host import CheckpointPolicy, checkpoint_engine, recover_engine
from raybus.rules import compile_filter_policy
from raybus.storage import FileLog, FsyncPolicy, GroupCommitter

__all__ = ["LiveTopic", "TopicDispatch"]

log = logging.getLogger(__name__)

DELIVERY_BATCH = 500
HTTP_PARALLEL = 16
HTTP_TIMEOUT_S = 15.0
ERROR_PAUSE_S = 1.0

SendFn = Callable[[str, list[SendEntry]], Awaitable[list[SendResult | RaybusError]]]
IsFifoFn = Callable[[str], Awaitable[bool]]


class TopicDispatch:
    """What delivery needs from the host: sending to queues by name, knowing whether a queue
    is FIFO, and one shared HTTP client session."""

    def __init__(self, send: SendFn, is_fifo: IsFifoFn) -> None:
        self.send = send
        self.is_fifo = is_fifo
        self._session: aiohttp.ClientSession | None = None

    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=HTTP_TIMEOUT_S)
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


class LiveTopic:
    def __init__(
        self,
        engine: TopicPartition,
        log_: FileLog,
        *,
        epoch: int,
        clock: Clock,
        dispatch: TopicDispatch,
        virtual_clock: bool = False,
        checkpoint: CheckpointPolicy | None = None,
    ) -> None:
        self.engine = engine
        self.log = log_
        self.epoch = epoch
        self.clock = clock
        self.dispatch = dispatch
        self.committer = GroupCommitter(log_)
        self.policy = checkpoint or CheckpointPolicy()
        self._baseline = log_.disk_bytes()
        self._virtual = virtual_clock
        self._waker = _Waker(asyncio.Event())
        self.subscriptions: dict[str, SubscriptionConfig] = {}
        self._loops: dict[str, asyncio.Task[None]] = {}
        self.closed = False

    @classmethod
    async def open(
        cls,
        config: TopicConfig,
        directory: str,
        *,
        tag: int,
        partition: int,
        epoch: int,
        clock: Clock,
        dispatch: TopicDispatch,
        fsync: FsyncPolicy = FsyncPolicy.ALWAYS,
        virtual_clock: bool = False,
    ) -> LiveTopic:
        """Recover from ``directory`` on a worker thread (a long log must not stall the host)."""

        def recover() -> tuple[TopicPartition, FileLog]:
            file_log = FileLog(directory, fsync=fsync, clock=clock)
            try:
                engine = TopicPartition(config, file_log, tag=tag, partition=partition, epoch=epoch)
                recover_engine(engine, file_log)
                return engine, file_log
            except BaseException:
                file_log.close()
                raise

        engine, file_log = await asyncio.get_running_loop().run_in_executor(None, recover)
        return cls(
            engine,
            file_log,
            epoch=epoch,
            clock=clock,
            dispatch=dispatch,
            virtual_clock=virtual_clock,
        )

    @property
    def name(self) -> str:
        return self.engine.config.name

    def wake(self) -> None:
        self._waker.notify()

    # -- publishing -----------------------------------------------------------------------------
    async def execute(self, ops: Sequence[Op]) -> list[OpResult]:
        """``("publish", entries)`` and ``("stats",)``, applied in one turn, one commit."""
        if self.closed:
            raise RaybusError("PartitionUnavailable", "The topic partition is closed.")
        now = self.clock.now_ms()
        results: list[OpResult] = []
        published = False
        for op in ops:
            try:
                if op[0] == "publish":
                    results.append(self.engine.publish(now, op[1]))
                    published = True
                elif op[0] == "stats":
                    results.append(self.stats(now))
                else:
                    results.append(RaybusError("InternalError", f"unknown topic op {op[0]!r}"))
            except RaybusError as error:
                results.append(error)
        await self.committer.commit()
        if published:
            self.wake()
        self._maybe_checkpoint()
        return results

    def stats(self, now_ms: int | None = None) -> dict[str, Any]:
        stats = self.engine.stats(self.clock.now_ms() if now_ms is None else now_ms)
        stats["epoch"] = self.epoch
        return stats

    # -- subscriptions --------------------------------------------------------------------------
    async def set_subscriptions(self, subs: Sequence[SubscriptionConfig]) -> None:
        """Install the topic's subscriptions (from the catalog): start loops for new ones, stop
        removed ones. Durable (the engine logs new cursors) before it returns."""
        self.subscriptions = {sub.id: sub for sub in subs}
        self.engine.set_subscriptions(self.clock.now_ms(), [self._subscriber(sub) for sub in subs])
        await self.committer.commit()
        for sub_id in list(self._loops):
            if sub_id not in self.subscriptions:
                self._loops.pop(sub_id).cancel()
        for sub_id in self.subscriptions:
            if sub_id not in self._loops and not self.closed:
                self._loops[sub_id] = asyncio.ensure_future(self._run(sub_id))
        self.wake()

    def _subscriber(self, sub: SubscriptionConfig) -> Subscriber:
        matches = None
        if sub.filter_policy is not None:
            policy = compile_filter_policy(sub.filter_policy, sub.filter_policy_scope)

            def matches(message: Message) -> bool:
                return policy.matches(message.body, message.attributes)

        return Subscriber(
            id=sub.id,
            fifo_order=self.engine.config.fifo,
            matches=matches,
            retry_delay_ms=policy_for(sub.protocol, sub.delivery_policy).delay_ms,
            has_dead_letter_queue=sub.dead_letter_queue is not None,
            enabled=sub.enabled,
        )

    # -- delivery loops -------------------------------------------------------------------------
    async def _run(self, sub_id: str) -> None:
        """Deliver to one subscription until it is removed or the topic closes. Never dies:
        an unexpected error pauses the loop for a second and it goes on."""
        while not self.closed and sub_id in self.subscriptions:
            try:
                if not await self._step(sub_id):
                    await self._idle(sub_id)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("delivery loop of %s/%s failed; retrying", self.name, sub_id)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._waker.event.wait(), ERROR_PAUSE_S)

    async def _step(self, sub_id: str) -> bool:
        sub = self.subscriptions.get(sub_id)
        if sub is None:
            return False
        batch = self.engine.take(self.clock.now_ms(), sub_id, DELIVERY_BATCH)
        if not batch:
            return False
        outcomes = await self._deliver(sub, batch)
        if self.closed or sub_id not in self.subscriptions:
            return False
        exhausted = self.engine.settle(self.clock.now_ms(), sub_id, outcomes)
        await self.committer.commit()
        if exhausted and sub.dead_letter_queue is not None:
            await self._dead_letter(sub, exhausted)
        self._maybe_checkpoint()
        return True

    async def _idle(self, sub_id: str) -> None:
        """Wait for a publish, a subscription change, a clock move or (real clock) the next
        retry's due time."""
        timeout: float | None = None
        if not self._virtual:
            due = self.engine.next_due_ms(sub_id)
            if due is not None:
                timeout = max(0.0, (due - self.clock.now_ms()) / 1000) + 0.001
        event = self._waker.event
        if self.engine.has_work(self.clock.now_ms(), sub_id):
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), timeout)

    async def _deliver(
        self, sub: SubscriptionConfig, batch: Sequence[Delivery]
    ) -> list[tuple[int, bool]]:
        try:
            if sub.protocol == "queue":
                return await self._to_queue(sub, batch)
            if sub.protocol == "function":
                return await self._to_function(sub, batch)
            return await self._to_http(sub, batch)
        except RaybusError as error:  # the endpoint is missing or down: retry on the policy
            log.debug("delivery %s/%s failed: %s", self.name, sub.id, error)
            return [(d.seq, False) for d in batch]
        except Exception:  # settle as failed: an unsettled FIFO batch would block the loop
            log.exception("delivery %s/%s failed unexpectedly", self.name, sub.id)
            return [(d.seq, False) for d in batch]

    def _envelope(self, sub: SubscriptionConfig, message: Message) -> str:
        return json.dumps(sns_envelope(self.name, message, subscription_id=sub.id))

    async def _to_queue(
        self, sub: SubscriptionConfig, batch: Sequence[Delivery]
    ) -> list[tuple[int, bool]]:
        fifo = await self.dispatch.is_fifo(sub.endpoint)
        entries = []
        for delivery in batch:
            message = delivery.message
            raw = sub.raw
            entries.append(
                SendEntry(
                    body=message.body if raw else self._envelope(sub, message),
                    attributes=message.attributes if raw and message.attributes else None,
                    group_id=message.group_id if fifo else None,
                    dedup_id=(message.dedup_id or message.message_id) if fifo else None,
                )
            )
        results = await self.dispatch.send(sub.endpoint, entries)
        return [
            (d.seq, not isinstance(r, RaybusError)) for d, r in zip(batch, results, strict=True)
        ]

    async def _to_function(
        self, sub: SubscriptionConfig, batch: Sequence[Delivery]
    ) -> list[tuple[int, bool]]:
        entries = [
            SendEntry(
                body=json.dumps(
                    sns_event(
                        self.name,
                        sub.id,
                        [sns_envelope(self.name, d.message, subscription_id=sub.id)],
                    )
                )
            )
            for d in batch
        ]
        results = await self.dispatch.send(async_queue_name(sub.endpoint), entries)
        return [
            (d.seq, not isinstance(r, RaybusError)) for d, r in zip(batch, results, strict=True)
        ]

    async def _to_http(
        self, sub: SubscriptionConfig, batch: Sequence[Delivery]
    ) -> list[tuple[int, bool]]:
        session = self.dispatch.session()
        gate = asyncio.Semaphore(HTTP_PARALLEL)

        async def post(delivery: Delivery) -> tuple[int, bool]:
            message = delivery.message
            body = message.body if sub.raw else self._envelope(sub, message).encode()
            async with gate:
                try:
                    async with session.post(
                        sub.endpoint,
                        data=body,
                        headers=http_headers(self.name, sub.id, message.message_id),
                    ) as response:
                        return delivery.seq, 200 <= response.status < 300
                except (aiohttp.ClientError, TimeoutError, OSError) as error:
                    log.debug("POST %s failed: %r", sub.endpoint, error)
                    return delivery.seq, False

        return list(await asyncio.gather(*(post(d) for d in batch)))

    async def _dead_letter(self, sub: SubscriptionConfig, exhausted: Sequence[Any]) -> None:
        """Exhausted messages to the subscription's DLQ (SNS keeps the envelope form, or the
        raw body for raw subscriptions); removed here only once the DLQ acknowledged them."""
        assert sub.dead_letter_queue is not None
        entries = [
            SendEntry(
                body=item.message.body if sub.raw else self._envelope(sub, item.message),
                attributes=item.message.attributes if sub.raw and item.message.attributes else None,
            )
            for item in exhausted
        ]
        try:
            results: Sequence[SendResult | RaybusError] = await self.dispatch.send(
                sub.dead_letter_queue, entries
            )
        except RaybusError as error:
            log.warning("dead-letter queue %s refused: %s", sub.dead_letter_queue, error)
            results = [error] * len(entries)
        moved = [
            i.seq for i, r in zip(exhausted, results, strict=True) if not isinstance(r, RaybusError)
        ]
        kept = [
            i.seq for i, r in zip(exhausted, results, strict=True) if isinstance(r, RaybusError)
        ]
        now = self.clock.now_ms()
        if moved:
            self.engine.settle_exhausted(now, sub.id, moved, True)
        if kept:
            self.engine.settle_exhausted(now, sub.id, kept, False)
        await self.committer.commit()

    # -- housekeeping ---------------------------------------------------------------------------
    def _maybe_checkpoint(self) -> None:
        if not self.policy.due(self.log.disk_bytes(), self._baseline):
            return
        try:
            checkpoint_engine(self.engine, self.log, self.policy.slack_ratio)
        except RaybusError:
            log.exception("topic checkpoint failed; the log keeps growing until the next try")
        self._baseline = self.log.disk_bytes()

    async def close(self) -> None:
        self.closed = True
        self.wake()
        for task in self._loops.values():
            task.cancel()
        for task in self._loops.values():
            with contextlib.suppress(BaseException):
                await task
        self._loops.clear()
        await self.committer.aclose()
        self.log.close()
