"""Topics end to end: fan-out to queues, the SNS envelope and raw delivery, filter policies,
FIFO topics into FIFO queues, and HTTP endpoints retried on their delivery policy (advanced on
the virtual clock) and then dead-lettered."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from raybus.sdk import Client, errors
from tests.integration.endpoints import Endpoint
from tests.integration.test_semantics import wait_for


def drain(client: Client, queue_name: str, expected: int, timeout_s: float = 15.0) -> list[Any]:
    """Receive (and delete) until ``expected`` messages arrived; fails after ``timeout_s``."""
    queue = client.queue(queue_name)
    got: list[Any] = []

    def more() -> bool:
        batch = queue.receive(max_messages=10, wait_s=1)
        if batch:
            queue.delete_batch(batch)
            got.extend(batch)
        return len(got) >= expected

    wait_for(more, timeout_s)
    return got


def test_one_publish_reaches_every_subscribed_queue_in_the_sns_envelope(
    client: Client, name: str
) -> None:
    topic = client.create_topic(name)
    queues = [client.create_queue(f"{name}-q{i}") for i in range(3)]
    for queue in queues:
        topic.subscribe(queue)
    published = topic.publish("hello", subject="greeting", attributes={"kind": ("String", "demo")})
    for queue in queues:
        (message,) = drain(client, queue.name, 1)
        envelope = json.loads(message.text)
        assert envelope["Type"] == "Notification"
        assert envelope["MessageId"] == published.message_id
        assert envelope["Message"] == "hello"
        assert envelope["Subject"] == "greeting"
        assert envelope["TopicArn"].endswith(":" + name)
        assert envelope["MessageAttributes"]["kind"] == {"Type": "String", "Value": "demo"}


def test_raw_delivery_passes_body_and_attributes_through(client: Client, name: str) -> None:
    topic = client.create_topic(name)
    queue = client.create_queue(name + "-raw")
    topic.subscribe(queue, raw=True)
    topic.publish_batch(
        [{"body": f"m{i}", "attributes": {"n": ("Number", str(i))}} for i in range(10)]
    )
    got = drain(client, queue.name, 10)
    assert sorted(m.text for m in got) == [f"m{i}" for i in range(10)]
    assert {m.attributes["n"] for m in got} == {str(i) for i in range(10)}


def test_filter_policies_route_messages_to_the_right_subscribers(client: Client, name: str) -> None:
    topic = client.create_topic(name)
    red = client.create_queue(name + "-red")
    big = client.create_queue(name + "-big")
    everything = client.create_queue(name + "-all")
    topic.subscribe(red, raw=True, filter_policy={"color": ["red"]})
    topic.subscribe(
        big,
        raw=True,
        filter_policy={"size": [{"numeric": [">", 10]}]},
        filter_policy_scope="MessageBody",
    )
    topic.subscribe(everything, raw=True)
    topic.publish('{"size": 50}', attributes={"color": ("String", "red")})
    topic.publish('{"size": 5}', attributes={"color": ("String", "blue")})
    topic.publish('{"size": 20}', attributes={"color": ("String", "green")})
    assert sorted(m.text for m in drain(client, everything.name, 3)) == sorted(
        ['{"size": 50}', '{"size": 5}', '{"size": 20}']
    )
    assert [m.text for m in drain(client, red.name, 1)] == ['{"size": 50}']
    assert sorted(m.text for m in drain(client, big.name, 2)) == ['{"size": 20}', '{"size": 50}']
    stats = topic.stats()
    assert stats["published"] == 3
    filtered = sorted(s["filtered"] for s in stats["subscriptions"].values())
    assert filtered == [0, 1, 2]
    # nothing more arrives for the filtered subscribers
    assert client.queue(red.name).receive(max_messages=10, wait_s=0) == []


def test_fifo_topic_delivers_each_group_in_order_and_deduplicates(
    client: Client, name: str
) -> None:
    topic = client.create_topic(name + ".fifo", fifo=True)
    queue = client.create_queue(name + "-q.fifo")
    topic.subscribe(queue, raw=True)
    for seq in range(20):
        topic.publish(f"a{seq}", group_id="a", dedup_id=f"a{seq}")
        topic.publish(f"b{seq}", group_id="b", dedup_id=f"b{seq}")
    again = topic.publish("a0-again", group_id="a", dedup_id="a0")  # inside the 5-minute window
    assert again.duplicate is True
    got = drain(client, queue.name, 40)
    assert [m.text for m in got if m.group_id == "a"] == [f"a{i}" for i in range(20)]
    assert [m.text for m in got if m.group_id == "b"] == [f"b{i}" for i in range(20)]
    client.advance_clock(301)
    topic.publish("a0-later", group_id="a", dedup_id="a0")  # the window has passed
    assert [m.text for m in drain(client, queue.name, 1)] == ["a0-later"]


def test_subscription_rules_are_checked(client: Client, name: str) -> None:
    topic = client.create_topic(name)
    fifo_queue = client.create_queue(name + "-q.fifo")
    with pytest.raises(errors.InvalidParameter):
        topic.subscribe(fifo_queue)  # a standard topic cannot feed a FIFO queue
    with pytest.raises(errors.QueueDoesNotExist):
        topic.subscribe(client.queue(name + "-missing"))
    with pytest.raises(errors.InvalidParameter):
        topic.subscribe(client.create_queue(name + "-q"), filter_policy={"a": "not-a-list"})
    with pytest.raises(errors.ResourceNotFound):
        client.topic(name + "-missing").publish("x")


# -- HTTP endpoints ---------------------------------------------------------------------------


@pytest.fixture
def endpoint() -> Iterator[Endpoint]:
    with Endpoint() as server:
        yield server


def test_http_endpoint_gets_the_envelope_with_sns_headers(
    client: Client, name: str, endpoint: Endpoint
) -> None:
    topic = client.create_topic(name)
    topic.subscribe(endpoint.url)
    published = topic.publish("ping")
    wait_for(lambda: len(endpoint.calls) == 1)
    headers, body = endpoint.calls[0]
    assert headers["x-amz-sns-message-type"] == "Notification"
    assert headers["x-amz-sns-message-id"] == published.message_id
    assert json.loads(body)["Message"] == "ping"


def test_failing_http_endpoint_is_retried_on_its_schedule_then_dead_lettered(
    client: Client, name: str, endpoint: Endpoint
) -> None:
    endpoint.status = 500
    dlq = client.create_queue(name + "-dlq")
    topic = client.create_topic(name)
    topic.subscribe(endpoint.url, dead_letter_queue=dlq)
    topic.publish("doomed")
    wait_for(lambda: len(endpoint.calls) == 1)  # the first attempt, at once
    # SNS's default HTTP policy: three retries, 20 s apart
    for attempt in (2, 3, 4):
        client.advance_clock(19)
        assert len(endpoint.calls) == attempt - 1  # not due yet
        client.advance_clock(1)
        wait_for(lambda attempt=attempt: len(endpoint.calls) == attempt)  # type: ignore[misc]
    (dead,) = drain(client, dlq.name, 1)
    assert json.loads(dead.text)["Message"] == "doomed"
    client.advance_clock(60)
    assert len(endpoint.calls) == 4  # exhausted: no fifth attempt
    stats = topic.stats()["subscriptions"]
    (sub,) = stats.values()
    assert sub["dead_lettered"] == 1
    assert sub["failed"] == 4


def test_custom_delivery_policy_sets_the_retry_count(
    client: Client, name: str, endpoint: Endpoint
) -> None:
    endpoint.status = 503
    topic = client.create_topic(name)
    topic.subscribe(
        endpoint.url,
        delivery_policy={
            "healthyRetryPolicy": {
                "numRetries": 1,
                "minDelayTarget": 5,
                "maxDelayTarget": 5,
                "numNoDelayRetries": 0,
                "numMinDelayRetries": 0,
                "numMaxDelayRetries": 0,
                "backoffFunction": "linear",
            }
        },
    )
    topic.publish("once more")
    wait_for(lambda: len(endpoint.calls) == 1)
    client.advance_clock(5)
    wait_for(lambda: len(endpoint.calls) == 2)
    endpoint.status = 200
    client.advance_clock(60)
    assert len(endpoint.calls) == 2  # exhausted without a DLQ: discarded
    (sub,) = topic.stats()["subscriptions"].values()
    assert sub["discarded"] == 1
