"""Topics in the partition layer: durable fan-out, one delivery loop per subscription.

Publishing is a typed operation (:class:`~raybus.engines.topic.ops.Publish`), applied in one
turn and acknowledged after the commit that covers it; the delivery loops wake after it.

Fan-out: each subscription has its own loop (a background task of the shell), so a slow or
failing endpoint never delays another subscription. A loop takes a batch of deliveries from the
engine (due retries first, then new messages past its cursor that pass its filter policy),
delivers it and settles the outcomes in the engine, then commits: the cursor moves only after
the endpoint acknowledged (a queue's commit, a function's durable event queue, an HTTP 2xx) —
the transfer protocol (:func:`~raybus.partitions.transfer.transfer`). A crash in between
delivers the batch again: repeats are possible, losses are not. Failed deliveries are retried
on the subscription's delivery policy (:mod:`raybus.core.retry`, on the injected clock); once
it is exhausted the message goes to the subscription's dead-letter queue, or is discarded if
it has none (as SNS does). A dead-letter queue that is down keeps the message here.

A ``MessageStructure=json`` publish carries a message per SNS protocol: each subscription
gets its protocol's (``SNS_PROTOCOLS``: queue → ``sqs``, function → ``lambda``, ``http``,
``https``), else the default one — as the raw body, the envelope's ``Message``, the dead
letter, and what a ``MessageBody`` filter policy reads.

Endpoints (through the dispatcher):
- ``queue``: one batched send per delivery batch. Raw delivery passes body and attributes;
  otherwise the body is SNS's JSON envelope. FIFO queues get the publish's message group and
  deduplication id, so a repeat after a crash falls into the queue's own 5-minute window.
- ``function``: the Lambda SNS event, one message per event, to the function's durable
  asynchronous-invocation queue (SNS invokes Lambda asynchronously).
- ``http``/``https``: one POST per message, at most ``HTTP_PARALLEL`` at a time, SNS's headers;
  only a 2xx answer counts as delivered.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from raybus.core.attributes import md5_of_body
from raybus.core.errors import RaybusError
from raybus.core.retry import policy_for
from raybus.core.routing import async_queue_name
from raybus.core.topics import SNS_PROTOCOLS, SubscriptionConfig, TopicConfig
from raybus.engines import SendEntry
from raybus.engines.ops import Turn
from raybus.engines.topic.engine import Delivery, Exhausted, Message, Subscriber, TopicPartition
from raybus.functions.envelope import http_headers, sns_envelope, sns_event
from raybus.partitions.shell import Environment, PartitionShell
from raybus.partitions.transfer import transfer
from raybus.rules import compile_filter_policy
from raybus.storage import PartitionLog

__all__ = ["TOPICS", "TopicBehaviour", "TopicPartitions"]

log = logging.getLogger(__name__)

DELIVERY_BATCH = 500
HTTP_PARALLEL = 16
ERROR_PAUSE_S = 1.0

TopicShell = PartitionShell[TopicPartition]


RAW_DIGESTS = 4096  # raw bodies' digests a topic partition keeps for its other subscriptions


class _Refused(Exception):
    """An endpoint's answer that is not an acknowledgement (an HTTP status other than 2xx)."""


class TopicBehaviour:
    def __init__(self, shell: TopicShell, env: Environment) -> None:
        self.shell = shell
        self.dispatcher = env.dispatcher
        self.subscriptions: dict[str, SubscriptionConfig] = {}
        self._loops: dict[str, asyncio.Task[None]] = {}
        self._raw_digests: dict[str, str] = {}  # message id -> MD5 of its body as queues get it

    @property
    def engine(self) -> TopicPartition:
        return self.shell.engine

    @property
    def name(self) -> str:
        return str(self.engine.config.name)

    def configured(self, config: Any) -> None:
        pass

    def committed(self, turn: Turn) -> None:
        pass

    def due(self, now_ms: int) -> bool:
        engine = self.engine
        return any(engine.has_work(now_ms, sub_id) for sub_id in self._loops)

    def next_due_ms(self, now_ms: int) -> int | None:
        engine = self.engine
        due = [at for sub_id in self._loops if (at := engine.next_due_ms(sub_id)) is not None]
        return min(due) if due else None

    # -- subscriptions --------------------------------------------------------------------------
    async def attach(self, attached: Sequence[Any]) -> None:
        """Install the topic's subscriptions (from the catalog): start loops for new ones, stop
        removed ones. Durable (the engine logs new cursors) before it returns."""
        subs = [s if isinstance(s, SubscriptionConfig) else SubscriptionConfig.from_dict(s)
                for s in attached]  # fmt: skip
        self.subscriptions = {sub.id: sub for sub in subs}
        shell = self.shell
        self.engine.set_subscriptions(shell.clock.now_ms(), [self._subscriber(s) for s in subs])
        await shell.commit()
        for sub_id in list(self._loops):
            if sub_id not in self.subscriptions:
                self._loops.pop(sub_id).cancel()
        for sub_id in self.subscriptions:
            if sub_id not in self._loops and not shell.closed:
                self._loops[sub_id] = shell.spawn(self._run(sub_id))

    def _subscriber(self, sub: SubscriptionConfig) -> Subscriber:
        matches = None
        if sub.filter_policy is not None:
            policy = compile_filter_policy(sub.filter_policy, sub.filter_policy_scope)
            protocol = SNS_PROTOCOLS[sub.protocol]

            def matches(message: Message) -> bool:
                seen = message.for_protocol(protocol)
                return policy.matches(seen.body, seen.attributes)

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
        shell = self.shell
        while not shell.closed and sub_id in self.subscriptions:
            try:
                if not await self._step(sub_id):
                    await self._idle(sub_id)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("delivery loop of %s/%s failed; retrying", self.name, sub_id)
                await shell.changed(ERROR_PAUSE_S)

    async def _step(self, sub_id: str) -> bool:
        shell = self.shell
        sub = self.subscriptions.get(sub_id)
        if sub is None:
            return False
        batch = self.engine.take(shell.clock.now_ms(), sub_id, DELIVERY_BATCH)
        if not batch:
            return False
        exhausted: list[Exhausted] = []

        async def settle(moved: list[Delivery], failed: list[Delivery]) -> None:
            if shell.closed or sub_id not in self.subscriptions:
                return  # in-flight state is in memory: recovery hands the batch out again
            delivered = {d.seq for d in moved}
            outcomes = [(d.seq, d.seq in delivered) for d in batch]  # the batch's order
            exhausted.extend(self.engine.settle(shell.clock.now_ms(), sub_id, outcomes))
            await shell.commit()

        await transfer(batch, lambda items: self._deliver(sub, items), settle,
                       what=f"delivery {self.name}/{sub.id}")  # fmt: skip
        if exhausted and sub.dead_letter_queue is not None:
            await self._dead_letter(sub, exhausted)
        return True

    async def _idle(self, sub_id: str) -> None:
        """Wait for a publish, a subscription change, a clock move or (real clock) the next
        retry's due time."""
        shell = self.shell
        event = shell.waiting()
        if self.engine.has_work(shell.clock.now_ms(), sub_id):
            return
        timeout: float | None = None
        if not shell.virtual_clock:
            due = self.engine.next_due_ms(sub_id)
            if due is not None:
                timeout = max(0.0, (due - shell.clock.now_ms()) / 1000) + 0.001
        await shell.park(event, timeout)

    async def _deliver(
        self, sub: SubscriptionConfig, batch: Sequence[Delivery]
    ) -> Sequence[object]:
        """One result per delivery: anything but an exception is an acknowledgement."""
        try:
            if sub.protocol == "queue":
                return await self._to_queue(sub, batch)
            if sub.protocol == "function":
                return await self.dispatcher.send(
                    async_queue_name(sub.endpoint), [self._sns_event(sub, d) for d in batch]
                )
            return await self._to_http(sub, batch)
        except RaybusError:  # the endpoint is missing or down: retry on the policy
            raise
        except Exception as error:  # settle as failed: an unsettled FIFO batch blocks the loop
            log.exception("delivery %s/%s failed unexpectedly", self.name, sub.id)
            return [error] * len(batch)

    @staticmethod
    def _seen_by(sub: SubscriptionConfig, message: Message) -> Message:
        """The message as ``sub`` receives it (its protocol's body if it is structured)."""
        return message.for_protocol(SNS_PROTOCOLS[sub.protocol])

    def _envelope(self, sub: SubscriptionConfig, message: Message) -> str:
        """SNS's JSON envelope of a message already :meth:`_seen_by` ``sub``."""
        return json.dumps(sns_envelope(self.name, message, subscription_id=sub.id))

    def _sns_event(self, sub: SubscriptionConfig, delivery: Delivery) -> SendEntry:
        message = self._seen_by(sub, delivery.message)
        envelope = sns_envelope(self.name, message, subscription_id=sub.id)
        return SendEntry(body=json.dumps(sns_event(self.name, sub.id, [envelope])))

    def _raw_digest(self, message: Message) -> str:
        """The MD5 of a message's body as queue subscriptions receive it raw: computed once for
        every raw queue subscription it reaches (each receiving queue would hash the same
        bytes again). Keyed by message id (a queue subscription always sees the ``sqs``
        protocol's body); forgotten in bulk past ``RAW_DIGESTS`` messages."""
        digests = self._raw_digests
        digest = digests.get(message.message_id)
        if digest is None:
            if len(digests) >= RAW_DIGESTS:
                digests.clear()
            digest = digests[message.message_id] = md5_of_body(message.body)
        return digest

    async def _to_queue(
        self, sub: SubscriptionConfig, batch: Sequence[Delivery]
    ) -> Sequence[object]:
        fifo = await self.dispatcher.is_fifo(sub.endpoint)
        raw = sub.raw
        entries = []
        for delivery in batch:
            message = self._seen_by(sub, delivery.message)
            entries.append(
                SendEntry(
                    body=message.body if raw else self._envelope(sub, message),
                    attributes=message.attributes if raw and message.attributes else None,
                    group_id=message.group_id if fifo else None,
                    dedup_id=(message.dedup_id or message.message_id) if fifo else None,
                    md5_of_body=self._raw_digest(message) if raw else None,
                )
            )
        return await self.dispatcher.send(sub.endpoint, entries)

    async def _to_http(
        self, sub: SubscriptionConfig, batch: Sequence[Delivery]
    ) -> Sequence[object]:
        gate = asyncio.Semaphore(HTTP_PARALLEL)

        async def post(delivery: Delivery) -> object:
            message = self._seen_by(sub, delivery.message)
            body = message.body if sub.raw else self._envelope(sub, message).encode()
            headers = http_headers(self.name, sub.id, message.message_id)
            async with gate:
                try:
                    status = await self.dispatcher.post(sub.endpoint, body, headers)
                except (OSError, TimeoutError, RaybusError) as error:
                    log.debug("POST %s failed: %r", sub.endpoint, error)
                    return error
            return True if 200 <= status < 300 else _Refused(f"HTTP {status}")

        return list(await asyncio.gather(*(post(d) for d in batch)))

    async def _dead_letter(self, sub: SubscriptionConfig, exhausted: Sequence[Exhausted]) -> None:
        """Exhausted messages to the subscription's DLQ (SNS keeps the envelope form, or the
        raw body for raw subscriptions); removed here only once the DLQ acknowledged them."""
        dlq = sub.dead_letter_queue
        assert dlq is not None
        shell = self.shell

        async def send(items: Sequence[Exhausted]) -> Sequence[object]:
            entries = []
            for item in items:
                message = self._seen_by(sub, item.message)
                entries.append(
                    SendEntry(
                        body=message.body if sub.raw else self._envelope(sub, message),
                        attributes=message.attributes if sub.raw and message.attributes else None,
                    )
                )
            return await self.dispatcher.send(dlq, entries)

        async def settle(moved: list[Exhausted], failed: list[Exhausted]) -> None:
            now = shell.clock.now_ms()
            if moved:
                self.engine.settle_exhausted(now, sub.id, [i.seq for i in moved], True)
            if failed:
                self.engine.settle_exhausted(now, sub.id, [i.seq for i in failed], False)
            await shell.commit()

        await transfer(exhausted, send, settle, what=f"dead-letter queue {dlq}")

    async def close(self) -> None:
        for task in self._loops.values():
            task.cancel()
        for task in self._loops.values():
            with contextlib.suppress(BaseException):
                await task
        self._loops.clear()


@dataclass(frozen=True, slots=True)
class TopicPartitions:
    name: str = "topic"

    def engine(
        self, config: Any, log: PartitionLog, *, tag: int, partition: int, epoch: int
    ) -> TopicPartition:
        if not isinstance(config, TopicConfig):
            config = TopicConfig.from_dict(config)
        return TopicPartition(config, log, tag=tag, partition=partition, epoch=epoch)

    def behaviour(self, shell: TopicShell, env: Environment) -> TopicBehaviour:
        return TopicBehaviour(shell, env)


TOPICS = TopicPartitions()
