"""Topic partitions (:mod:`raybus.partitions.topic`): a publish is durable before it is
acknowledged, then every subscription's delivery loop delivers it through the dispatcher; a
failing endpoint is retried on the clock (SNS's delivery policy) and then dead-lettered. A
structured publish gives each protocol its message; a FIFO topic holds back only the message
group whose message waits for a retry."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from raybus.core import ManualClock, QueueConfig, RaybusError
from raybus.core.topics import PublishEntry, PublishResult, SubscriptionConfig, TopicConfig
from raybus.engines import QueuePartition, SendEntry, SendResult, TopicPartition
from raybus.engines.queue.ops import Receive
from raybus.engines.topic.ops import Publish, TopicStats
from raybus.partitions import TOPICS, Durable, Environment, PartitionShell, open_queue
from raybus.partitions import topic as topic_partition
from raybus.partitions.topic import TopicBehaviour
from raybus.storage import MemoryLog
from tests.partitions.fakes import FakeDispatcher, until

Shell = PartitionShell[TopicPartition]
T0 = 1_700_000_000_000
RETRY_MS = 20_000  # SNS's default for HTTP/S endpoints: 3 retries, 20 s apart


def queue(name: str, tag: int) -> Durable[QueuePartition]:
    return open_queue(QueueConfig.create(name), MemoryLog(), tag=tag)


def subscription(sub_id: str, protocol: str, endpoint: str, **settings: Any) -> SubscriptionConfig:
    return SubscriptionConfig.from_dict(
        {"id": sub_id, "topic": "t", "protocol": protocol, "endpoint": endpoint, **settings}
    )


async def topic_shell(path: Path, env: Environment) -> Shell:
    return await PartitionShell.open(
        TOPICS,
        TopicConfig.from_dict({"name": "t"}),
        str(path),
        tag=21,
        partition=0,
        epoch=1,
        env=env,
    )


async def sub_stats(shell: Shell, sub_id: str) -> dict[str, int]:
    stats: dict[str, Any] = await shell.apply(TopicStats())
    counters: dict[str, int] = stats["subscriptions"][sub_id]
    return counters


def counter(shell: Shell, sub_id: str, name: str) -> int:
    return int(shell.engine.stats(shell.clock.now_ms())["subscriptions"][sub_id][name])


def test_each_publish_reaches_both_subscriptions_and_their_cursors_survive_a_reopen(
    tmp_path: Path,
) -> None:
    clock = ManualClock(start_ms=T0)
    queues = {"a": queue("a", 1), "b": queue("b", 2)}
    dispatcher = FakeDispatcher(clock, queues)
    env = Environment(clock=clock, dispatcher=dispatcher, virtual_clock=True)
    subs = [subscription("raw", "queue", "a", raw=True), subscription("wrapped", "queue", "b")]

    async def scenario() -> list[PublishResult]:
        shell = await topic_shell(tmp_path, env)
        await shell.attach(subs)
        (results,) = await shell.execute([Publish([PublishEntry("hello"), PublishEntry("world")])])
        await until(
            lambda: all(counter(shell, sub.id, "delivered") == 2 for sub in subs),
            "both subscriptions to settle both messages",
        )
        await shell.close()
        again = await topic_shell(tmp_path, env)  # the cursors were committed
        await again.attach(subs)
        for sub in subs:
            assert (await sub_stats(again, sub.id))["backlog"] == 0
        await again.close()
        return list(results)

    results = asyncio.run(scenario())
    assert all(isinstance(r, PublishResult) for r in results)
    assert [e.body for e in dispatcher.sent_to("a")] == [b"hello", b"world"]
    received = queues["a"].run(Receive(10), clock.now_ms())
    assert sorted(m.body for m in received) == [b"hello", b"world"]
    envelopes = [json.loads(m.body) for m in queues["b"].run(Receive(10), clock.now_ms())]
    assert sorted(e["Message"] for e in envelopes) == ["hello", "world"]
    assert all(e["Type"] == "Notification" for e in envelopes)
    assert {e["MessageId"] for e in envelopes} == {r.message_id for r in results}
    assert len(dispatcher.sends) == 2  # one batch per subscription


def test_raw_queue_subscriptions_share_one_digest_of_each_body(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Three raw queue subscriptions: the topic hashes each body once and hands the digest to
    every queue (an internal, trusted field); each queue answers and stores the body's true
    MD5, and a wrapped subscription's envelope gets its own (none is handed over)."""
    clock = ManualClock(start_ms=T0)
    queues = {name: queue(name, tag) for tag, name in enumerate(("a", "b", "c", "w"), start=1)}
    dispatcher = FakeDispatcher(clock, queues)
    env = Environment(clock=clock, dispatcher=dispatcher, virtual_clock=True)
    subs = [subscription(n, "queue", n, raw=True) for n in ("a", "b", "c")]
    subs.append(subscription("w", "queue", "w"))
    computed: list[bytes] = []
    original = topic_partition.md5_of_body

    def counting(body: bytes) -> str:
        computed.append(body)
        return original(body)

    async def scenario() -> None:
        shell = await topic_shell(tmp_path, env)
        await shell.attach(subs)
        await shell.execute([Publish([PublishEntry("one"), PublishEntry("two")])])
        await until(
            lambda: all(counter(shell, sub.id, "delivered") == 2 for sub in subs),
            "every subscription to settle both messages",
        )
        await shell.close()

    monkeypatch.setattr(topic_partition, "md5_of_body", counting)
    asyncio.run(scenario())
    assert sorted(computed) == [b"one", b"two"]  # once per message, not once per queue
    for name in ("a", "b", "c"):
        assert {e.md5_of_body for e in dispatcher.sent_to(name)} == {
            hashlib.md5(b"one").hexdigest(),
            hashlib.md5(b"two").hexdigest(),
        }
        received = queues[name].run(Receive(10), clock.now_ms())
        assert all(m.md5_of_body == hashlib.md5(m.body).hexdigest() for m in received)
        assert len(received) == 2
    assert all(e.md5_of_body is None for e in dispatcher.sent_to("w"))
    (wrapped, _) = queues["w"].run(Receive(10), clock.now_ms())
    assert wrapped.md5_of_body == hashlib.md5(wrapped.body).hexdigest()


def test_a_failing_endpoint_is_retried_on_the_clock_then_dead_lettered(tmp_path: Path) -> None:
    clock = ManualClock(start_ms=T0)
    dlq = queue("dlq", 3)
    dispatcher = FakeDispatcher(clock, {"dlq": dlq})
    dispatcher.status = 500
    env = Environment(clock=clock, dispatcher=dispatcher, virtual_clock=True)
    sub = subscription("hook", "https", "https://example.com/hook", dead_letter_queue="dlq")

    async def scenario() -> None:
        shell = await topic_shell(tmp_path, env)
        await shell.attach([sub])
        await shell.execute([Publish([PublishEntry("ping")])])

        def failed(times: int) -> Callable[[], bool]:
            return lambda: counter(shell, sub.id, "failed") == times

        for attempt in range(1, 4):
            await until(failed(attempt), f"attempt {attempt} to fail")
            assert shell.engine.next_due_ms(sub.id) == T0 + attempt * RETRY_MS
            for _ in range(10):
                await asyncio.sleep(0)
            assert len(dispatcher.posts) == attempt  # no retry before it is due
            clock.advance(RETRY_MS // 1000)
            shell.wake()  # what a host does when the virtual clock moves
        await until(lambda: counter(shell, sub.id, "dead_lettered") == 1, "the dead letter")
        stats = await sub_stats(shell, sub.id)
        assert (stats["failed"], stats["delivered"], stats["backlog"]) == (4, 0, 0)
        await shell.close()

    asyncio.run(scenario())
    assert [(url, at) for url, _, _, at in dispatcher.posts] == [
        ("https://example.com/hook", T0 + i * RETRY_MS) for i in range(4)
    ]
    (dead,) = dlq.run(Receive(10), clock.now_ms())
    envelope = json.loads(dead.body)
    assert (envelope["Type"], envelope["Message"]) == ("Notification", "ping")


def test_an_endpoint_that_recovers_gets_the_message_on_a_retry(tmp_path: Path) -> None:
    clock = ManualClock(start_ms=T0)
    dispatcher = FakeDispatcher(clock)
    dispatcher.status = 503
    env = Environment(clock=clock, dispatcher=dispatcher, virtual_clock=True)
    sub = subscription("hook", "http", "http://example.com/hook", raw=True)

    async def scenario() -> None:
        shell = await topic_shell(tmp_path, env)
        await shell.attach([sub])
        await shell.execute([Publish([PublishEntry("ping")])])
        await until(lambda: counter(shell, sub.id, "failed") == 1, "the first attempt")
        dispatcher.status = 204
        clock.advance(RETRY_MS // 1000)
        shell.wake()
        await until(lambda: counter(shell, sub.id, "delivered") == 1, "the retry")
        await shell.close()

    asyncio.run(scenario())
    assert [(body, at) for _, body, _, at in dispatcher.posts] == [
        (b"ping", T0),
        (b"ping", T0 + RETRY_MS),
    ]


# -- MessageStructure=json --------------------------------------------------------------------


def test_each_subscription_gets_its_protocols_message_and_its_dead_letter_too(
    tmp_path: Path,
) -> None:
    clock = ManualClock(start_ms=T0)
    queues = {"raw": queue("raw", 4), "wrapped": queue("wrapped", 5), "dlq": queue("dlq", 6)}
    dispatcher = FakeDispatcher(clock, queues)
    dispatcher.status = 500
    env = Environment(clock=clock, dispatcher=dispatcher, virtual_clock=True)
    hook_policy = {
        "healthyRetryPolicy": {
            "numRetries": 0,
            "minDelayTarget": 1,
            "maxDelayTarget": 1,
            "numNoDelayRetries": 0,
            "numMinDelayRetries": 0,
            "numMaxDelayRetries": 0,
            "backoffFunction": "linear",
        }
    }
    subs = [
        subscription("raw", "queue", "raw", raw=True),
        subscription("wrapped", "queue", "wrapped"),
        subscription(
            "hook",
            "https",
            "https://example.com/hook",
            raw=True,
            dead_letter_queue="dlq",
            delivery_policy=hook_policy,
        ),
    ]
    body = json.dumps({"default": "plain", "sqs": "for queues", "https": "for the hook"})

    async def scenario() -> None:
        shell = await topic_shell(tmp_path, env)
        await shell.attach(subs)
        await shell.execute([Publish([PublishEntry(body, structure="json")])])
        await until(
            lambda: (
                counter(shell, "raw", "delivered") == 1
                and counter(shell, "wrapped", "delivered") == 1
                and counter(shell, "hook", "dead_lettered") == 1
            ),
            "both queues and the hook's dead letter",
        )
        await shell.close()

    asyncio.run(scenario())
    now = clock.now_ms()
    assert [m.body for m in queues["raw"].run(Receive(10), now)] == [b"for queues"]
    (wrapped,) = queues["wrapped"].run(Receive(10), now)
    assert json.loads(wrapped.body)["Message"] == "for queues"
    assert [body for _, body, _, _ in dispatcher.posts] == [b"for the hook"]
    assert [m.body for m in queues["dlq"].run(Receive(10), now)] == [b"for the hook"]


def test_a_message_body_filter_reads_the_subscriptions_own_message(tmp_path: Path) -> None:
    clock = ManualClock(start_ms=T0)
    queues = {"picky": queue("picky", 7)}
    dispatcher = FakeDispatcher(clock, queues)
    env = Environment(clock=clock, dispatcher=dispatcher, virtual_clock=True)
    sub = subscription(
        "picky",
        "queue",
        "picky",
        raw=True,
        filter_policy={"kind": ["order"]},
        filter_policy_scope="MessageBody",
    )
    for_queues = json.dumps({"kind": "order"})
    entries = [
        PublishEntry(json.dumps({"default": "{}", "sqs": for_queues}), structure="json"),
        PublishEntry(json.dumps({"default": for_queues, "http": "{}"}), structure="json"),
        PublishEntry(json.dumps({"default": for_queues, "sqs": "{}"}), structure="json"),
    ]

    async def scenario() -> None:
        shell = await topic_shell(tmp_path, env)
        await shell.attach([sub])
        await shell.execute([Publish(entries)])
        await until(
            lambda: counter(shell, "picky", "delivered") + counter(shell, "picky", "filtered") == 3,
            "the three messages to be settled",
        )
        assert counter(shell, "picky", "filtered") == 1
        await shell.close()

    asyncio.run(scenario())
    received = queues["picky"].run(Receive(10), clock.now_ms())
    assert sorted(m.body for m in received) == [for_queues.encode()] * 2


# -- FIFO topics: one message group held, the others flowing ----------------------------------


class GroupRefusingDispatcher(FakeDispatcher):
    """Refuses every entry of the message groups in ``refused`` (a per-entry error, as a queue
    answers an entry it cannot take); sends the others to their queue. ``offered`` records
    every entry, refused or not, in order."""

    def __init__(self, clock: ManualClock, queues: dict[str, Durable[QueuePartition]]) -> None:
        super().__init__(clock, queues)
        self.refused: set[str] = set()
        self.offered: list[SendEntry] = []

    async def send(self, queue: str, entries: list[SendEntry]) -> list[SendResult | RaybusError]:
        self.offered.extend(entries)
        passed = [e for e in entries if e.group_id not in self.refused]
        results = iter(await super().send(queue, passed) if passed else [])
        refusal = RaybusError("InvalidParameterValue", "refused by the test")
        return [refusal if e.group_id in self.refused else next(results) for e in entries]


def fifo_queue(name: str, tag: int) -> Durable[QueuePartition]:
    return open_queue(QueueConfig.create(name, fifo=True), MemoryLog(), tag=tag)


def test_a_fifo_subscription_holds_back_only_the_failing_group(tmp_path: Path) -> None:
    clock = ManualClock(start_ms=T0)
    target = fifo_queue("ordered.fifo", 8)
    dispatcher = GroupRefusingDispatcher(clock, {"ordered.fifo": target})
    dispatcher.refused = {"a"}
    env = Environment(clock=clock, dispatcher=dispatcher, virtual_clock=True)
    sub = subscription("f", "queue", "ordered.fifo", raw=True)

    def entry(body: str) -> PublishEntry:
        return PublishEntry(body, group_id=body[0], dedup_id=body)

    async def scenario() -> TopicBehaviour:
        shell = await PartitionShell.open(
            TOPICS,
            TopicConfig.from_dict({"name": "t.fifo"}),
            str(tmp_path),
            tag=22,
            partition=0,
            epoch=1,
            env=env,
        )
        await shell.attach([sub])
        behaviour: TopicBehaviour = shell.behaviour
        await shell.execute([Publish([entry("a1"), entry("b1")])])
        # SNS's managed policy for queues: the first try and three immediate retries, then 1 s
        await until(lambda: counter(shell, "f", "failed") == 4, "a1's immediate retries")
        await shell.execute([Publish([entry("a2"), entry("b2"), entry("c1")])])
        await until(lambda: counter(shell, "f", "delivered") == 3, "b1, b2 and c1")
        await until(lambda: not behaviour.due(clock.now_ms()), "the loop to have nothing due")
        assert behaviour.next_due_ms(clock.now_ms()) == T0 + 1_000  # a1's next retry
        assert counter(shell, "f", "backlog") == 2  # a1 retrying, a2 held back behind it
        dispatcher.refused = set()
        clock.advance(1)
        shell.wake()  # what a host does when the virtual clock moves
        await until(lambda: counter(shell, "f", "delivered") == 5, "a1, then a2")
        assert behaviour.next_due_ms(clock.now_ms()) is None
        await shell.close()
        return behaviour

    asyncio.run(scenario())
    offered = [e.body for e in dispatcher.offered if e.group_id == "a"]
    assert offered == [b"a1"] * 5 + [b"a2"]  # a2 was never offered before a1 went through
    received = target.run(Receive(10), clock.now_ms())
    assert [m.body for m in received if m.group_id == "b"] == [b"b1", b"b2"]
    assert [m.body for m in received if m.group_id == "a"] == [b"a1", b"a2"]
