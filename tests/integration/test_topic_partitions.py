"""Topics are partitioned like queues: a standard topic over every host, a FIFO topic by message
group when it deduplicates per group, topic-wide deduplication on one partition — publishes
coalesced per partition, every subscription fed from every partition, stats summed."""

from __future__ import annotations

import json

import ray

from raybus.actors import CONTROLLER_NAME, NAMESPACE
from raybus.sdk import Client, errors
from tests.integration.test_topics import drain


def _placements(topic: str) -> list[str]:
    controller = ray.get_actor(CONTROLLER_NAME, namespace=NAMESPACE)
    table = ray.get(controller.routing.remote())
    return [p.host for p in table.route("topic", topic).partitions]


def test_a_standard_topic_spreads_over_the_hosts_and_every_publish_reaches_the_queue(
    client: Client, name: str
) -> None:
    topic = client.create_topic(name)
    assert topic.config["partitions"] == 2  # one per host (the session cluster has two)
    assert sorted(_placements(name)) == ["raybus-host-0", "raybus-host-1"]
    queue = client.create_queue(name + "-q")
    topic.subscribe(queue, raw=True)
    sent = {f"m{i}" for i in range(40)}
    for i in range(0, 40, 10):  # batches rotate over the partitions
        topic.publish_batch([{"body": f"m{j}"} for j in range(i, i + 10)])
    assert {m.text for m in drain(client, queue.name, 40)} == sent
    stats = topic.stats()
    assert stats["published"] == 40  # summed over both partitions
    assert client.create_topic(name).config == topic.config  # idempotent, partitions chosen


def test_a_fifo_topic_deduplicating_per_group_is_partitioned_by_group_in_order(
    client: Client, name: str
) -> None:
    topic = client.create_topic(
        f"{name}.fifo", dedup_scope="messageGroup", partitions=2, content_based_dedup=True
    )
    assert len(_placements(topic.name)) == 2
    queue = client.create_queue(f"{name}-q.fifo")
    topic.subscribe(queue, raw=True)
    for i in range(5):
        topic.publish_batch(
            [{"body": f"{group}-{i}", "group_id": group} for group in ("a", "b", "c", "d")]
        )
    again = topic.publish("a-0", group_id="a")  # the group's 5-minute window
    assert again.duplicate
    got = drain(client, queue.name, 20)
    for group in "abcd":
        bodies = [m.text for m in got if m.text.startswith(group)]
        assert bodies == [f"{group}-{i}" for i in range(5)], bodies  # each group in order


def test_a_fifo_topic_deduplicating_topic_wide_has_one_partition(client: Client, name: str) -> None:
    topic = client.create_topic(f"{name}.fifo", content_based_dedup=True)
    assert topic.config["partitions"] == 1
    assert topic.config["dedup_scope"] == "topic"
    try:
        client.create_topic(f"{name}-x.fifo", partitions=2)
    except errors.UnsupportedOperation as error:
        assert error.details["parameter"] == "partitions"
    else:
        raise AssertionError("a topic-wide FIFO topic took two partitions")
    queue = client.create_queue(f"{name}-q.fifo")
    topic.subscribe(queue)
    topic.publish("once", group_id="g1")
    assert topic.publish("once", group_id="g2").duplicate  # topic-wide, across groups
    (message,) = drain(client, queue.name, 1)
    assert json.loads(message.text)["Message"] == "once"
