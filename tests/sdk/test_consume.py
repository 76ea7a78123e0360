"""Consumers: the loop body is the handler; handled messages are deleted, the rest come back."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from raybus.sdk import AsyncConsumer, Consumer, GatewayConnectionError, ProcessStats, errors
from tests.sdk.conftest import Api, ait
from tests.sdk.fakes import answer, entry_error, error_answer

STOP = "stop"


class Boom(Exception):
    pass


async def drive(consumer: Consumer | AsyncConsumer, handle: Callable[[Any], Any]) -> list[bytes]:
    """Run the loop of either kind; ``handle`` may raise, or return STOP to break."""
    seen: list[bytes] = []
    if isinstance(consumer, AsyncConsumer):
        async with consumer:
            async for message in consumer:
                seen.append(message.body)
                if handle(message) == STOP:
                    break
    else:
        with consumer:
            for message in consumer:
                seen.append(message.body)
                if handle(message) == STOP:
                    break
    return seen


def consume(handle: Callable[[Any], Any] = lambda m: None, **options: Any) -> Any:
    async def scenario(client: Any) -> list[bytes]:
        queue = await ait(client.queue("orders"))
        return await drive(queue.consume(**options), handle)

    return scenario


def delete_batches(api: Api) -> list[list[str]]:
    return [r.body["receipts"] for r in api.gateway.calls("/delete")]


@pytest.fixture
def five(api: Api) -> Api:
    api.gateway.add_queue("orders")
    api.gateway.put("orders", b"1", b"2", b"3", b"4", b"5")
    return api


def test_handled_messages_are_deleted_in_batches_before_each_receive(five: Api) -> None:
    seen = five.run(consume(max_messages=2, wait_s=0, stop_when_empty=True))
    assert seen == [b"1", b"2", b"3", b"4", b"5"]
    assert delete_batches(five) == [
        ["orders:m1:1", "orders:m2:1"],
        ["orders:m3:1", "orders:m4:1"],
        ["orders:m5:1"],
    ]
    order = [r.path.rsplit("/", 1)[1] for r in five.gateway.requests[1:]]
    assert order == ["receive", "delete", "receive", "delete", "receive", "delete", "receive"]
    assert five.gateway.bodies("orders") == []


def test_the_message_whose_handler_raises_stays_in_flight_and_prefetched_ones_are_released(
    five: Api,
) -> None:
    def handle(message: Any) -> None:
        if message.body == b"2":
            raise Boom

    with pytest.raises(Boom):
        five.run(consume(handle, max_messages=4, wait_s=0))
    assert delete_batches(five) == [["orders:m1:1"]]
    (release,) = five.gateway.calls("/visibility")
    assert release.body["changes"] == [
        {"receipt": "orders:m3:1", "visibility_timeout_s": 0},
        {"receipt": "orders:m4:1", "visibility_timeout_s": 0},
    ]
    assert five.gateway.bodies("orders", visible=False) == [b"2"]
    assert five.gateway.bodies("orders", visible=True) == [b"3", b"4", b"5"]


def test_breaking_out_leaves_the_current_message_in_flight(five: Api) -> None:
    seen = five.run(consume(lambda m: STOP if m.body == b"2" else None, max_messages=3, wait_s=0))
    assert seen == [b"1", b"2"]
    assert delete_batches(five) == [["orders:m1:1"]]
    assert five.gateway.bodies("orders", visible=False) == [b"2"]
    assert five.gateway.bodies("orders", visible=True) == [b"3", b"4", b"5"]


def test_a_limit_ends_the_loop_and_never_receives_more_than_it_allows(five: Api) -> None:
    seen = five.run(consume(max_messages=2, wait_s=0, limit=3))
    assert seen == [b"1", b"2", b"3"]
    assert [r.body["max_messages"] for r in five.gateway.calls("/receive")] == [2, 1]
    assert five.gateway.calls("/visibility") == []
    assert five.gateway.bodies("orders") == [b"4", b"5"]


def test_the_last_message_before_the_limit_is_deleted_too(five: Api) -> None:
    five.run(consume(max_messages=10, wait_s=0, limit=1))
    assert delete_batches(five) == [["orders:m1:1"]]


def test_an_empty_receive_without_stop_when_empty_polls_again(api: Api) -> None:
    api.gateway.add_queue("orders")

    async def scenario(client: Any) -> list[bytes]:
        queue = await ait(client.queue("orders"))
        api.gateway.script(answer({"messages": []}))
        api.gateway.put("orders", b"late")
        return await drive(queue.consume(wait_s=20, limit=1), lambda m: None)

    assert api.run(scenario) == [b"late"]
    assert [r.body.get("wait_s") for r in api.gateway.calls("/receive")] == [20, 20]


def test_consume_passes_its_receive_options(five: Api) -> None:
    five.run(consume(max_messages=7, wait_s=3, visibility_timeout_s=90, limit=1))
    assert five.gateway.calls("/receive")[0].body == {
        "max_messages": 1,
        "wait_s": 3,
        "visibility_timeout_s": 90,
    }


def test_a_plain_for_loop_that_breaks_releases_prefetched_messages_at_once(
    sync_api: Api,
) -> None:
    api = sync_api
    api.gateway.add_queue("orders")
    api.gateway.put("orders", b"1", b"2", b"3")

    async def scenario(client: Any) -> None:
        queue = await ait(client.queue("orders"))
        for message in queue.consume(max_messages=3, wait_s=0):
            assert message.body == b"1"
            break
        assert api.gateway.bodies("orders", visible=True) == [b"2", b"3"]
        assert api.gateway.bodies("orders", visible=False) == [b"1"]

    api.run(scenario)


def test_closing_an_unstarted_consumer_sends_nothing(api: Api) -> None:
    api.gateway.add_queue("orders")

    async def scenario(client: Any) -> None:
        consumer = (await ait(client.queue("orders"))).consume()
        await ait(consumer.aclose() if api.is_async else consumer.close())

    api.run(scenario)
    assert [r.method for r in api.gateway.requests] == ["GET"]


def test_a_failed_cleanup_does_not_hide_the_loop_error(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    api.gateway.add_queue("orders")
    api.gateway.put("orders", b"1", b"2")

    def handle(message: Any) -> None:
        api.gateway.script(httpx.ConnectError("gateway gone"))
        raise Boom

    with caplog.at_level(logging.WARNING, "raybus.sdk"), pytest.raises(Boom):
        api.run(consume(handle, max_messages=2, wait_s=0), max_retries=0)
    assert "consumer cleanup failed" in caplog.text


def test_a_failing_receive_ends_the_loop_with_its_error_after_deleting_what_was_handled(
    api: Api,
) -> None:
    api.gateway.add_queue("orders")
    api.gateway.put("orders", b"1")

    def handle(message: Any) -> None:
        api.gateway.script(answer({"results": [None]}), error_answer("QueueDoesNotExist"))

    with pytest.raises(errors.QueueDoesNotExist):
        api.run(consume(handle, wait_s=0))
    assert delete_batches(api) == [["orders:m1:1"]]


def test_a_cleanup_failure_at_the_normal_end_of_the_loop_is_raised(api: Api) -> None:
    api.gateway.add_queue("orders")
    api.gateway.put("orders", b"1")

    def handle(message: Any) -> None:
        api.gateway.script(httpx.ConnectError("gateway gone"))

    with pytest.raises(GatewayConnectionError):
        api.run(consume(handle, wait_s=0, limit=1), max_retries=0)


def test_per_entry_delete_failures_are_logged_not_raised(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    api.gateway.add_queue("orders")
    api.gateway.put("orders", b"1")

    def handle(message: Any) -> None:
        api.gateway.script(answer({"results": [entry_error("ReceiptHandleIsInvalid")]}))

    with caplog.at_level(logging.WARNING, "raybus.sdk"):
        seen = api.run(consume(handle, wait_s=0, limit=1))
    assert seen == [b"1"]
    assert "could not delete a message: ReceiptHandleIsInvalid" in caplog.text


def test_max_messages_below_one_is_refused(api: Api) -> None:
    api.gateway.add_queue("orders")

    async def scenario(client: Any) -> None:
        (await ait(client.queue("orders"))).consume(max_messages=0)

    with pytest.raises(ValueError):
        api.run(scenario)


# -- process(handler) -------------------------------------------------------------------------


def test_process_deletes_what_succeeds_and_keeps_going_past_failures(five: Api) -> None:
    failures: list[tuple[bytes, str]] = []

    def handler(message: Any) -> None:
        if message.body in (b"2", b"4"):
            raise Boom(message.text)

    def on_error(message: Any, exc: Exception) -> None:
        failures.append((message.body, str(exc)))

    async def scenario(client: Any) -> ProcessStats:
        queue = await ait(client.queue("orders"))
        return await ait(
            queue.process(
                handler, max_messages=2, wait_s=0, stop_when_empty=True, on_error=on_error
            )
        )

    assert five.run(scenario) == ProcessStats(handled=3, failed=2)
    assert failures == [(b"2", "2"), (b"4", "4")]
    assert five.gateway.bodies("orders", visible=False) == [b"2", b"4"]
    assert five.gateway.bodies("orders", visible=True) == []


def test_process_logs_handler_failures_by_default(
    five: Api, caplog: pytest.LogCaptureFixture
) -> None:
    def handler(message: Any) -> None:
        raise Boom

    async def scenario(client: Any) -> ProcessStats:
        queue = await ait(client.queue("orders"))
        return await ait(queue.process(handler, wait_s=0, limit=1))

    with caplog.at_level(logging.ERROR, "raybus.sdk"):
        assert five.run(scenario) == ProcessStats(handled=0, failed=1)
    assert "handler failed on message m1" in caplog.text


def test_async_process_awaits_coroutine_handlers(async_api: Api) -> None:
    api = async_api
    api.gateway.add_queue("orders")
    api.gateway.put("orders", b"1", b"2")
    handled: list[bytes] = []

    async def handler(message: Any) -> None:
        handled.append(message.body)
        if message.body == b"2":
            raise Boom

    async def on_error(message: Any, exc: Exception) -> None:
        handled.append(b"error:" + message.body)

    async def scenario(client: Any) -> ProcessStats:
        queue = await client.queue("orders")
        return await queue.process(handler, wait_s=0, stop_when_empty=True, on_error=on_error)

    assert api.run(scenario) == ProcessStats(handled=1, failed=1)
    assert handled == [b"1", b"2", b"error:2"]
    assert api.gateway.bodies("orders") == [b"2"]
