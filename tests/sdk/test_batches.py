"""Batches: results in input order, per-entry failures in their slots, transparent splitting."""

from __future__ import annotations

import itertools
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from raybus.sdk import GatewayConnectionError, SendResult, errors
from raybus.sdk._batch import chunks
from raybus.sdk.queues.ops import MAX_BATCH_BYTES, MAX_BATCH_ENTRIES
from tests.sdk.conftest import Api, ait
from tests.sdk.fakes import answer, error_answer

MiB = 1_048_576


def send_batch(entries: list[Any], queue_name: str = "orders") -> Any:
    async def scenario(client: Any) -> Any:
        queue = await ait(client.queue(queue_name))
        return await ait(queue.send_batch(entries))

    return scenario


def test_a_batch_takes_bodies_and_entry_mappings_and_answers_in_order(api: Api) -> None:
    api.gateway.add_queue("orders")
    entries = [
        b"raw",
        "text",
        {"body": "with options", "attributes": {"n": 1}, "delay_s": 5},
    ]

    results = api.run(send_batch(entries))
    (request,) = api.gateway.calls("/messages")
    assert request.body == {
        "entries": [
            {"body": b"raw"},
            {"body": b"text"},
            {"body": b"with options", "attributes": {"n": ["Number", "1"]}, "delay_s": 5},
        ]
    }
    assert all(isinstance(r, SendResult) for r in results)
    assert api.gateway.bodies("orders") == [b"raw", b"text", b"with options"]
    assert [r.message_id for r in results] == ["m1", "m2", "m3"]


def test_a_failed_entry_holds_its_typed_error_and_the_others_succeed(api: Api) -> None:
    api.gateway.add_queue("orders")

    results = api.run(send_batch([b"a", b"reject", b"c"]))
    assert isinstance(results[0], SendResult) and isinstance(results[2], SendResult)
    assert isinstance(results[1], errors.InvalidMessageContents)
    assert results[1].message == "rejected by the fake"


@pytest.mark.parametrize(
    ("bad", "error"),
    [
        ({"body": b"x", "group": "typo"}, errors.InvalidParameterValue),
        ({"attributes": {}}, errors.InvalidParameterValue),
        (42, errors.InvalidParameterValue),
        ({"body": b"x", "attributes": {"flag": True}}, errors.InvalidParameterValue),
        (b"x" * (MiB + 1), errors.MessageTooLong),
    ],
    ids=["unknown-key", "no-body", "not-a-body", "bool-attribute", "over-1-MiB"],
)
def test_an_entry_refused_by_the_sdk_fills_its_slot_and_is_not_sent(
    api: Api, bad: Any, error: type[errors.RaybusError]
) -> None:
    api.gateway.add_queue("orders")

    results = api.run(send_batch([b"first", bad, b"last"]))
    assert isinstance(results[1], error)
    assert [type(r) for r in (results[0], results[2])] == [SendResult, SendResult]
    (request,) = api.gateway.calls("/messages")
    assert [e["body"] for e in request.body["entries"]] == [b"first", b"last"]


def test_an_empty_batch_sends_nothing(api: Api) -> None:
    api.gateway.add_queue("orders")

    assert api.run(send_batch([])) == []
    assert api.gateway.calls("/messages") == []


def test_more_than_1000_entries_are_split_and_answered_in_order(api: Api) -> None:
    api.gateway.add_queue("orders")
    bodies = [str(n).encode() for n in range(2_345)]

    results = api.run(send_batch(bodies))
    sizes = [len(r.body["entries"]) for r in api.gateway.calls("/messages")]
    assert sizes == [1_000, 1_000, 345]
    assert api.gateway.bodies("orders") == bodies
    assert [r.message_id for r in results] == [f"m{n}" for n in range(1, 2_346)]


def test_more_than_1_mib_is_split_by_size_counting_attributes(api: Api) -> None:
    api.gateway.add_queue("orders")
    body = b"x" * (300 * 1024)
    entries = [{"body": body, "attributes": {"name": "v" * 1000}} for _ in range(7)]

    results = api.run(send_batch(entries))
    requests = api.gateway.calls("/messages")
    assert [len(r.body["entries"]) for r in requests] == [3, 3, 1]
    for request in requests:
        total = sum(len(e["body"]) + 4 + 6 + 1000 for e in request.body["entries"])
        assert total <= MiB
    assert len(results) == 7 and all(isinstance(r, SendResult) for r in results)


def test_a_message_of_exactly_1_mib_is_sent_alone(api: Api) -> None:
    api.gateway.add_queue("orders")

    api.run(send_batch([b"a", b"x" * MiB, b"b"]))
    sizes = [len(r.body["entries"]) for r in api.gateway.calls("/messages")]
    assert sizes == [1, 1, 1]


def test_a_request_level_failure_of_the_first_request_raises_without_partial_results(
    api: Api,
) -> None:
    api.gateway.add_queue("orders")

    async def scenario(client: Any) -> Any:
        queue = await ait(client.queue("orders"))
        api.gateway.script(error_answer("QueueDoesNotExist"))
        return await ait(queue.send_batch([b"a", b"b"]))

    with pytest.raises(errors.QueueDoesNotExist) as raised:
        api.run(scenario)
    assert raised.value.partial_results is None


@pytest.mark.parametrize(
    "failure",
    [error_answer("QueueDoesNotExist"), httpx.ConnectError("down")],
    ids=["error-answer", "connection"],
)
def test_a_later_request_failing_raises_with_the_results_already_obtained(
    api: Api, failure: Any
) -> None:
    api.gateway.add_queue("orders")
    bodies = [b"x"] * 1_500

    async def scenario(client: Any) -> Any:
        queue = await ait(client.queue("orders"))
        first = answer({"results": [{"message_id": f"id{n}"} for n in range(1_000)]})
        api.gateway.script(first, failure)
        return await ait(queue.send_batch(bodies))

    with pytest.raises((errors.QueueDoesNotExist, GatewayConnectionError)) as raised:
        api.run(scenario, max_retries=0)
    partial = raised.value.partial_results
    assert partial is not None and len(partial) == 1_000
    assert partial[999].message_id == "id999"


def test_an_answer_with_the_wrong_number_of_results_is_internal_error(api: Api) -> None:
    api.gateway.add_queue("orders")

    async def scenario(client: Any) -> Any:
        queue = await ait(client.queue("orders"))
        api.gateway.script(answer({"results": [{"message_id": "only one"}]}))
        return await ait(queue.send_batch([b"a", b"b"]))

    with pytest.raises(errors.InternalError, match="1 results for 2"):
        api.run(scenario)


def test_delete_batch_takes_messages_or_receipts_and_reports_each(api: Api) -> None:
    api.gateway.add_queue("orders")
    api.gateway.put("orders", b"a", b"b")

    async def scenario(client: Any) -> Any:
        queue = await ait(client.queue("orders"))
        first, second = await ait(queue.receive(2))
        return await ait(queue.delete_batch([first, second.receipt, "other:m9:1"]))

    results = api.run(scenario)
    assert results[:2] == [None, None]
    assert isinstance(results[2], errors.ReceiptHandleIsInvalid)
    (request,) = api.gateway.calls("/delete")
    assert request.body == {"receipts": ["orders:m1:1", "orders:m2:1", "other:m9:1"]}
    assert api.gateway.bodies("orders") == []


def test_delete_batch_splits_past_1000_receipts(api: Api) -> None:
    api.gateway.add_queue("orders")

    async def scenario(client: Any) -> Any:
        queue = await ait(client.queue("orders"))
        return await ait(queue.delete_batch([f"orders:m{n}:1" for n in range(1_001)]))

    results = api.run(scenario)
    assert results == [None] * 1_001
    assert [len(r.body["receipts"]) for r in api.gateway.calls("/delete")] == [1_000, 1]


def test_change_visibility_batch_sends_pairs_and_reports_each(api: Api) -> None:
    api.gateway.add_queue("orders")
    api.gateway.put("orders", b"a", b"b")

    async def scenario(client: Any) -> Any:
        queue = await ait(client.queue("orders"))
        first, second = await ait(queue.receive(2))
        await ait(first.delete())
        return await ait(queue.change_visibility_batch([(first, 0), (second.receipt, 0)]))

    results = api.run(scenario)
    assert isinstance(results[0], errors.MessageNotInflight) and results[1] is None
    (request,) = api.gateway.calls("/visibility")[-1:]
    assert request.body == {
        "changes": [
            {"receipt": "orders:m1:1", "visibility_timeout_s": 0},
            {"receipt": "orders:m2:1", "visibility_timeout_s": 0},
        ]
    }
    assert api.gateway.bodies("orders", visible=True) == [b"b"]


@given(st.lists(st.integers(min_value=0, max_value=MAX_BATCH_BYTES + 10), max_size=60))
def test_chunks_are_consecutive_cover_everything_and_respect_both_limits(sizes: list[int]) -> None:
    groups = chunks(sizes, 7, MAX_BATCH_BYTES)
    assert [i for group in groups for i in group] == list(range(len(sizes)))
    for group in groups:
        assert 1 <= len(group) <= 7
        assert len(group) == 1 or sum(sizes[i] for i in group) <= MAX_BATCH_BYTES
    # Greedy: no group could have taken the first item of the next one.
    for group, following in itertools.pairwise(groups):
        nxt = following[0]
        assert len(group) == 7 or sum(sizes[i] for i in group) + sizes[nxt] > MAX_BATCH_BYTES


def test_the_limits_are_the_documented_ones() -> None:
    assert (1_000, MiB) == (MAX_BATCH_ENTRIES, MAX_BATCH_BYTES)
