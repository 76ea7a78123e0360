"""Topics and subscriptions in the SDK: the requests docs/http-api.md specifies, the handles,
publish batches split at SNS's limits, and subscription targets given every way the SDK takes."""

from __future__ import annotations

from typing import Any

import pytest

from raybus.sdk import PublishResult, Topic, errors
from raybus.sdk.topics.ops import MAX_PUBLISH_BYTES
from tests.sdk.conftest import Api, ait
from tests.sdk.fakes import answer, error_answer


def test_create_topic_infers_fifo_from_the_name_and_returns_a_handle(api: Api) -> None:
    async def scenario(client: Any) -> Any:
        plain = await ait(client.create_topic("alerts"))
        fifo = await ait(client.create_topic("jobs.fifo", content_based_dedup=True))
        return plain, fifo

    plain, fifo = api.run(scenario)
    first, second = api.gateway.requests
    assert (first.method, first.path) == ("POST", "/v1/topics")
    assert first.body == {"name": "alerts", "fifo": False, "content_based_dedup": False}
    assert second.body == {"name": "jobs.fifo", "fifo": True, "content_based_dedup": True}
    assert (plain.name, plain.fifo, fifo.fifo) == ("alerts", False, True)
    assert plain.config["name"] == "alerts" and "Topic" in repr(plain)
    assert plain.arn == "arn:aws:sns:us-east-1:000000000000:alerts"


def test_topic_lookup_list_and_delete(api: Api) -> None:
    for name in ("b", "a", "c"):
        api.gateway.resources.add_topic(name)

    async def scenario(client: Any) -> Any:
        topic = await ait(client.topic("a"))
        names = await ait(client.list_topics("", limit=2))
        await ait(client.delete_topic(topic))
        await ait(client.delete_topic("b"))
        return topic, names

    topic, names = api.run(scenario)
    assert (topic.name, names) == ("a", ["a", "b"])
    assert api.gateway.requests[1].params == {"limit": "2"}
    assert list(api.gateway.resources.topics) == ["c"]


def test_a_missing_topic_raises_resource_not_found(api: Api) -> None:
    async def scenario(client: Any) -> Any:
        return await ait(client.topic("nope"))

    with pytest.raises(errors.ResourceNotFound):
        api.run(scenario)


def topic_call(name: str, method: str, *args: Any, **kwargs: Any) -> Any:
    async def scenario(client: Any) -> Any:
        topic = await ait(client.topic(name))
        return await ait(getattr(topic, method)(*args, **kwargs))

    return scenario


def test_publish_sends_the_message_with_typed_attributes_and_returns_its_id(api: Api) -> None:
    api.gateway.resources.add_topic("alerts")
    result = api.run(
        topic_call("alerts", "publish", "hello", attributes={"n": 3, "kind": "x"}, subject="hi")
    )
    request = api.gateway.requests[-1]
    assert (request.method, request.path) == ("POST", "/v1/topics/alerts/publish")
    assert request.body == {
        "body": b"hello",
        "attributes": {"n": ["Number", "3"], "kind": ["String", "x"]},
        "subject": "hi",
    }
    assert result == PublishResult(message_id="m1")


def test_a_fifo_publish_returns_its_sequence_number_and_whether_it_was_a_duplicate(
    api: Api,
) -> None:
    api.gateway.resources.add_topic("jobs.fifo")
    result = api.run(topic_call("jobs.fifo", "publish", b"x", group_id="g", dedup_id="seen"))
    assert api.gateway.requests[-1].body == {"body": b"x", "group_id": "g", "dedup_id": "seen"}
    assert result.sequence_number == "0" * 19 + "1" and result.duplicate is True


def test_a_failed_publish_raises_its_typed_error(api: Api) -> None:
    api.gateway.resources.add_topic("alerts")
    with pytest.raises(errors.MessageTooLong):
        api.run(topic_call("alerts", "publish", "reject"))


def test_publish_batch_sends_requests_of_ten_and_answers_in_order(api: Api) -> None:
    api.gateway.resources.add_topic("alerts")
    entries: list[Any] = [f"m{i}" for i in range(23)]
    entries[4] = {"body": "with options", "subject": "s", "attributes": {"k": b"\x01"}}
    entries[7] = "reject"
    results = api.run(topic_call("alerts", "publish_batch", entries))
    batches = [r.body["entries"] for r in api.gateway.calls("/publish")]
    assert [len(b) for b in batches] == [10, 10, 3]
    assert batches[0][4] == {
        "body": b"with options",
        "subject": "s",
        "attributes": {"k": ["Binary", b"\x01"]},
    }
    assert len(results) == 23
    assert isinstance(results[7], errors.MessageTooLong)
    assert all(isinstance(r, PublishResult) for i, r in enumerate(results) if i != 7)


def test_publish_batch_splits_at_256_kib_per_request(api: Api) -> None:
    api.gateway.resources.add_topic("alerts")
    big = "x" * (MAX_PUBLISH_BYTES // 2)
    results = api.run(topic_call("alerts", "publish_batch", [big, big, big, "small"]))
    sizes = [len(r.body["entries"]) for r in api.gateway.calls("/publish")]
    assert sizes == [2, 2] and len(results) == 4


@pytest.mark.parametrize(
    ("entry", "error"),
    [
        ({"subject": "no body"}, errors.InvalidParameterValue),
        ({"body": "x", "delay_s": 3}, errors.InvalidParameterValue),
        ({"body": "x", "attributes": {"flag": True}}, errors.InvalidParameterValue),
        (3.5, errors.InvalidParameterValue),
        ("x" * (MAX_PUBLISH_BYTES + 1), errors.MessageTooLong),
    ],
    ids=["no-body", "delay", "bool-attribute", "not-a-body", "too-long"],
)
def test_entries_the_sdk_can_refuse_get_their_error_in_place_and_are_not_sent(
    api: Api, entry: Any, error: type[Exception]
) -> None:
    api.gateway.resources.add_topic("alerts")
    results = api.run(topic_call("alerts", "publish_batch", ["a", entry, "c"]))
    assert isinstance(results[1], error)
    assert [e["body"] for e in api.gateway.calls("/publish")[0].body["entries"]] == [b"a", b"c"]


def test_a_request_failure_after_a_split_carries_the_partial_results(api: Api) -> None:
    api.gateway.resources.add_topic("alerts")

    async def scenario(client: Any) -> Any:
        topic = await ait(client.topic("alerts"))
        first = answer({"results": [{"message_id": f"m{i}"} for i in range(10)]})
        api.gateway.script(first, error_answer("ResourceNotFound"))
        return await ait(topic.publish_batch([str(i) for i in range(15)]))

    with pytest.raises(errors.ResourceNotFound) as raised:
        api.run(scenario)
    partial = raised.value.partial_results
    assert partial is not None
    assert [r.message_id for r in partial] == [f"m{i}" for i in range(10)]


SUBSCRIPTION_TARGETS = [
    ("queue:orders", ("queue", "orders")),
    ("function:resize", ("function", "resize")),
    ("resize", ("function", "resize")),
    ("http://hooks.test/x", ("http", "http://hooks.test/x")),
    ("HTTPS://hooks.test/x", ("https", "HTTPS://hooks.test/x")),
]


@pytest.mark.parametrize(("target", "expected"), SUBSCRIPTION_TARGETS)
def test_subscribe_reads_the_target_as_a_protocol_and_an_endpoint(
    api: Api, target: str, expected: tuple[str, str]
) -> None:
    api.gateway.resources.add_topic("alerts")
    sub = api.run(topic_call("alerts", "subscribe", target))
    request = api.gateway.requests[-1]
    assert (request.method, request.path) == ("POST", "/v1/topics/alerts/subscriptions")
    assert request.body == {
        "protocol": expected[0],
        "endpoint": expected[1],
        "raw": False,
        "filter_policy_scope": "MessageAttributes",
    }
    assert (sub.protocol, sub.endpoint, sub.topic) == (*expected, "alerts")


def test_subscribe_takes_queue_and_function_handles_and_every_option(api: Api) -> None:
    api.gateway.add_queue("orders")
    api.gateway.add_queue("orders-dlq")
    api.gateway.resources.add_topic("alerts")
    api.gateway.resources.add_function("resize")

    async def scenario(client: Any) -> Any:
        topic = await ait(client.topic("alerts"))
        queue = await ait(client.queue("orders"))
        dlq = await ait(client.queue("orders-dlq"))
        function = await ait(client.function("resize"))
        first = await ait(
            topic.subscribe(
                queue,
                raw=True,
                filter_policy={"kind": ["a"]},
                filter_policy_scope="MessageBody",
                dead_letter_queue=dlq,
            )
        )
        second = await ait(topic.subscribe(function, dead_letter_queue="queue:orders-dlq"))
        third = await ait(topic.subscribe("https://h.test", delivery_policy={"x": 1}))
        return first, second, third

    first, second, third = api.run(scenario)
    bodies = [r.body for r in api.gateway.calls("/subscriptions")]
    assert bodies[0] == {
        "protocol": "queue",
        "endpoint": "orders",
        "raw": True,
        "filter_policy": {"kind": ["a"]},
        "filter_policy_scope": "MessageBody",
        "dead_letter_queue": "queue:orders-dlq",
    }
    assert (bodies[1]["protocol"], bodies[1]["dead_letter_queue"]) == (
        "function",
        "queue:orders-dlq",
    )
    assert bodies[2]["delivery_policy"] == {"x": 1}
    assert type(first).__name__.endswith("Subscription")
    assert len({first.id, second.id, third.id}) == 3


@pytest.mark.parametrize(
    "target", ["topic:other", "queue:", "", "ftp://x", 3, None], ids=lambda t: repr(t)
)
def test_a_target_that_cannot_subscribe_is_refused_before_any_request(
    api: Api, target: Any
) -> None:
    api.gateway.resources.add_topic("alerts")
    with pytest.raises(errors.InvalidParameterValue):
        api.run(topic_call("alerts", "subscribe", target))
    assert api.gateway.calls("/subscriptions") == []


def test_a_topic_handle_is_neither_a_subscription_target_nor_a_dead_letter_queue(
    api: Api,
) -> None:
    api.gateway.resources.add_topic("alerts")

    async def scenario(client: Any) -> Any:
        topic = await ait(client.topic("alerts"))
        for target, dead_letter_queue in ((topic, None), ("queue:q", topic)):
            with pytest.raises(errors.InvalidParameterValue):
                await ait(topic.subscribe(target, dead_letter_queue=dead_letter_queue))

    api.run(scenario)
    assert api.gateway.calls("/subscriptions") == []


def test_subscriptions_stats_and_delete_of_a_topic(api: Api) -> None:
    api.gateway.resources.add_topic("alerts")

    async def scenario(client: Any) -> Any:
        topic = await ait(client.topic("alerts"))
        await ait(topic.subscribe("queue:a"))
        await ait(topic.subscribe("queue:b"))
        subs = await ait(topic.subscriptions())
        stats = await ait(topic.stats())
        await ait(topic.delete())
        return subs, stats

    subs, stats = api.run(scenario)
    assert [s.endpoint for s in subs] == ["a", "b"]
    assert stats["published"] == 0 and set(stats["subscriptions"]) == {s.id for s in subs}
    assert api.gateway.requests[-1].method == "DELETE"
    assert api.gateway.resources.topics == {}


def test_a_subscription_handle_updates_enables_disables_and_deletes(api: Api) -> None:
    api.gateway.resources.add_topic("alerts")
    api.gateway.add_queue("dlq")

    async def scenario(client: Any) -> Any:
        topic = await ait(client.topic("alerts"))
        created = await ait(topic.subscribe("queue:orders"))
        sub = await ait(client.subscription(created.id))
        dlq = await ait(client.queue("dlq"))
        config = await ait(sub.update(filter_policy=None, dead_letter_queue=dlq))
        await ait(sub.disable())
        disabled = sub.config["enabled"]
        await ait(sub.enable())
        await ait(sub.delete())
        return sub, config, disabled

    sub, config, disabled = api.run(scenario)
    patches = [r for r in api.gateway.requests if r.method == "PATCH"]
    assert all(r.path == f"/v1/subscriptions/{sub.id}" for r in patches)
    assert [r.body for r in patches] == [
        {"filter_policy": None, "dead_letter_queue": "queue:dlq"},
        {"enabled": False},
        {"enabled": True},
    ]
    assert config["dead_letter_queue"] == "queue:dlq"
    assert (disabled, sub.config["enabled"]) == (False, True)
    assert api.gateway.requests[-1].method == "DELETE"
    assert api.gateway.resources.subscriptions == {}
    assert "queue:orders" in repr(sub)
    assert sub.arn == f"arn:aws:sns:us-east-1:000000000000:alerts:{sub.id}"


def test_handles_name_their_kind_for_targets() -> None:
    assert Topic.resource_kind == "topic"
