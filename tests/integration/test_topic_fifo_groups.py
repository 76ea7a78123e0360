"""FIFO topics hold back only the message group whose message waits for a retry, as SNS: on a
real cluster, a FIFO queue refuses one group's message (too long for it), the other groups keep
arriving, the refused group's later message waits, and both arrive in order once the queue
takes the first one again (its retry, on the virtual clock)."""

from __future__ import annotations

from raybus.sdk import Client
from tests.integration.test_semantics import wait_for
from tests.integration.test_topics import drain

QUEUE_MAX_BYTES = 1_024  # SQS's smallest maximum message size


def test_a_group_waiting_for_a_retry_holds_back_only_itself(client: Client, name: str) -> None:
    topic = client.create_topic(name + ".fifo")
    queue = client.create_queue(name + "-q.fifo", max_message_bytes=QUEUE_MAX_BYTES)
    subscription = topic.subscribe(queue, raw=True)

    def counters() -> dict[str, int]:
        stats: dict[str, int] = topic.stats()["subscriptions"][subscription.id]
        return stats

    too_long = "a1:" + "x" * QUEUE_MAX_BYTES
    topic.publish(too_long, group_id="a", dedup_id="a1")
    # SNS's managed policy for queues: the first try and three immediate retries, then 1 s
    wait_for(lambda: counters()["failed"] == 4)
    for body in ("b1", "a2", "b2", "c1"):
        topic.publish(body, group_id=body[0], dedup_id=body)
    others = [m.text for m in drain(client, queue.name, 3)]
    assert sorted(others) == ["b1", "b2", "c1"] and others.index("b1") < others.index("b2")
    assert (counters()["retrying"], counters()["backlog"]) == (1, 2)  # a1 waits, a2 behind it
    assert client.queue(queue.name).receive(max_messages=10, wait_s=0) == []

    queue.update(max_message_bytes=262_144)
    client.advance_clock(1)  # a1's next retry is due: it goes through, then a2 follows
    held = drain(client, queue.name, 2)
    assert [(m.group_id, m.text) for m in held] == [("a", too_long), ("a", "a2")]
    assert counters()["backlog"] == 0 and counters()["delivered"] == 5
