"""Functions end to end: synchronous and asynchronous invocation with Lambda's retry and
destination semantics, and event-source mappings from queues (poison messages, partial batch
failures, FIFO order, filter criteria) and topics. Handlers are closures shipped from this
file by the SDK; they leave evidence in real files under a temporary directory."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from raybus.sdk import Client, errors
from tests.integration.test_semantics import wait_for
from tests.integration.test_topics import drain


def _note(directory: str, name: str, text: str = "") -> None:
    """Record one event as a file (atomic create: a repeat with the same name is visible)."""
    path = os.path.join(directory, name)
    with open(path, "a") as out:
        out.write(text + "\n")


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def test_invoke_returns_the_result_or_raises_the_function_error(client: Client, name: str) -> None:
    def handler(event: Any, context: Any) -> Any:
        if event.get("fail"):
            raise ValueError("asked to fail")
        return {"echo": event, "function": context.function_name}

    client.create_function(name, handler)
    assert client.invoke(name, {"x": 1}) == {"echo": {"x": 1}, "function": name}
    with pytest.raises(errors.FunctionError) as caught:
        client.invoke(name, {"fail": True})
    assert caught.value.error_type == "ValueError"
    assert "asked to fail" in caught.value.error_message
    with pytest.raises(errors.ResourceNotFound):
        client.invoke(name + "-missing", {})


def test_a_slow_handler_times_out(client: Client, name: str) -> None:
    def handler(event: Any, context: Any) -> Any:
        import time

        time.sleep(30)

    client.create_function(name, handler, timeout_s=1)
    with pytest.raises(errors.FunctionError) as caught:
        client.invoke(name, {})
    assert "timed out" in caught.value.error_message.lower()


def test_async_invoke_retries_twice_then_goes_to_on_failure_and_the_dlq(
    client: Client, name: str, tmp_path: Path
) -> None:
    attempts = str(tmp_path / "attempts")

    def handler(event: Any, context: Any) -> Any:
        _note(os.path.dirname(attempts), "attempts", context.aws_request_id)
        raise RuntimeError("always fails")

    failures = client.create_queue(name + "-failures")
    dlq = client.create_queue(name + "-dlq")
    client.create_function(name, handler, on_failure=failures, dead_letter_queue=dlq, max_retries=2)
    request_id = client.invoke_async(name, {"order": 7})
    path = tmp_path / "attempts"
    wait_for(lambda: len(_lines(path)) == 1)
    client.advance_clock(59)
    assert len(_lines(path)) == 1  # Lambda waits a minute before the second attempt
    client.advance_clock(1)
    wait_for(lambda: len(_lines(path)) == 2)
    client.advance_clock(120)  # and two minutes before the third
    wait_for(lambda: len(_lines(path)) == 3)
    (record,) = drain(client, failures.name, 1)
    body = json.loads(record.text)
    assert body["requestContext"]["condition"] == "RetriesExhausted"
    assert body["requestContext"]["approximateInvokeCount"] == 3
    assert body["requestContext"]["requestId"] == request_id
    assert body["requestPayload"] == {"order": 7}
    assert body["responsePayload"]["errorType"] == "RuntimeError"
    (dead,) = drain(client, dlq.name, 1)
    assert json.loads(dead.text) == {"order": 7}
    client.advance_clock(600)
    assert len(_lines(path)) == 3  # no fourth attempt
    assert set(_lines(path)) == {request_id}


def test_async_invoke_that_succeeds_on_the_second_try_reaches_on_success_once(
    client: Client, name: str, tmp_path: Path
) -> None:
    marker = str(tmp_path / "tried")

    def handler(event: Any, context: Any) -> Any:
        if not os.path.exists(marker):
            open(marker, "w").close()
            raise RuntimeError("first try fails")
        return {"done": event["n"]}

    successes = client.create_queue(name + "-ok")
    client.create_function(name, handler, on_success=successes)
    client.invoke_async(name, {"n": 1})
    wait_for(lambda: os.path.exists(marker))
    client.advance_clock(60)
    (record,) = drain(client, successes.name, 1)
    body = json.loads(record.text)
    assert body["requestContext"]["condition"] == "Success"
    assert body["requestContext"]["approximateInvokeCount"] == 2
    assert body["responsePayload"] == {"done": 1}
    client.advance_clock(600)
    assert client.queue(successes.name).receive(max_messages=10, wait_s=0) == []


def test_topic_to_function_delivers_the_sns_event_asynchronously(
    client: Client, name: str, tmp_path: Path
) -> None:
    directory = str(tmp_path)

    def handler(event: Any, context: Any) -> Any:
        (record,) = event["Records"]
        _note(directory, "got", record["Sns"]["Message"])

    client.create_function(name, handler)
    topic = client.create_topic(name)
    client.create_event_source_mapping(topic, name)
    for i in range(5):
        topic.publish(f"m{i}")
    wait_for(lambda: len(_lines(tmp_path / "got")) == 5)
    assert sorted(_lines(tmp_path / "got")) == [f"m{i}" for i in range(5)]


# -- queue -> function mappings ----------------------------------------------------------------


def test_queue_mapping_sends_a_poison_message_to_the_dlq_after_max_receive_count(
    client: Client, name: str, tmp_path: Path
) -> None:
    directory = str(tmp_path)

    def handler(event: Any, context: Any) -> Any:
        failures = []
        for record in event["Records"]:
            if record["body"] == "poison":
                _note(directory, "poison")
                failures.append({"itemIdentifier": record["messageId"]})
            else:
                _note(directory, "done", record["body"])
        return {"batchItemFailures": failures}

    dlq = client.create_queue(name + "-dlq")
    queue = client.create_queue(
        name,
        visibility_timeout_s=30,
        dead_letter_queue=dlq,
        max_receive_count=3,
    )
    client.create_function(name, handler)
    mapping = client.create_event_source_mapping(
        queue, name, batch_size=10, report_batch_item_failures=True
    )
    queue.send_batch([{"body": "poison"}] + [{"body": f"ok{i}"} for i in range(5)])
    wait_for(lambda: len(_lines(tmp_path / "done")) == 5)
    for receives in (1, 2, 3):
        wait_for(lambda receives=receives: len(_lines(tmp_path / "poison")) == receives)  # type: ignore[misc]
        client.advance_clock(30)  # the visibility timeout passes
    (dead,) = drain(client, dlq.name, 1)
    assert dead.text == "poison"
    assert len(_lines(tmp_path / "poison")) == 3
    assert sorted(_lines(tmp_path / "done")) == [f"ok{i}" for i in range(5)]
    assert mapping.stats()["backlog"] == 0


def test_fifo_mapping_serves_the_group_again_once_the_poison_message_left(
    client: Client, name: str, tmp_path: Path
) -> None:
    directory = str(tmp_path)

    def handler(event: Any, context: Any) -> Any:
        for record in event["Records"]:
            if record["body"] == "poison":
                _note(directory, "poison")
                raise RuntimeError("poison")
            _note(directory, "order", record["body"])

    dlq = client.create_queue(name + "-dlq.fifo")
    queue = client.create_queue(
        name + ".fifo",
        visibility_timeout_s=30,
        dead_letter_queue=dlq,
        max_receive_count=2,
    )
    client.create_function(name, handler)
    client.create_event_source_mapping(queue, name, batch_size=1)
    bodies = ["a1", "poison", "a2", "a3"]
    queue.send_batch(
        [{"body": b, "group_id": "a", "dedup_id": str(i)} for i, b in enumerate(bodies)]
        + [{"body": "b1", "group_id": "b", "dedup_id": "b1"}]
    )
    order = tmp_path / "order"
    wait_for(lambda: {"a1", "b1"} <= set(_lines(order)))
    poison = tmp_path / "poison"
    wait_for(lambda: len(_lines(poison)) == 1)
    assert "a2" not in _lines(order)  # blocked behind the poison message
    client.advance_clock(30)  # the second receive of the poison message fails too
    wait_for(lambda: len(_lines(poison)) == 2)
    assert "a2" not in _lines(order)
    client.advance_clock(30)  # the third receive moves it to the DLQ
    wait_for(lambda: [x for x in _lines(order) if x.startswith("a")] == ["a1", "a2", "a3"])
    (dead,) = drain(client, dlq.name, 1)
    assert dead.text == "poison"


def test_filter_criteria_drop_messages_before_the_function(
    client: Client, name: str, tmp_path: Path
) -> None:
    directory = str(tmp_path)

    def handler(event: Any, context: Any) -> Any:
        for record in event["Records"]:
            _note(directory, "seen", record["body"])

    queue = client.create_queue(name)
    client.create_function(name, handler)
    client.create_event_source_mapping(queue, name, filter_criteria=[{"body": {"kind": ["keep"]}}])
    queue.send_batch(
        [{"body": json.dumps({"kind": k, "i": i})} for i, k in enumerate(["keep", "drop"] * 3)]
    )
    wait_for(lambda: len(_lines(tmp_path / "seen")) == 3)
    wait_for(lambda: client.queue(queue.name).stats()["visible"] == 0)
    stats = client.queue(queue.name).stats()
    assert stats["in_flight"] == 0
    assert all(json.loads(x)["kind"] == "keep" for x in _lines(tmp_path / "seen"))


def test_a_disabled_mapping_leaves_messages_waiting(
    client: Client, name: str, tmp_path: Path
) -> None:
    directory = str(tmp_path)

    def handler(event: Any, context: Any) -> Any:
        for record in event["Records"]:
            _note(directory, "seen", record["body"])

    queue = client.create_queue(name)
    client.create_function(name, handler)
    mapping = client.create_event_source_mapping(queue, name, enabled=False)
    queue.send("waiting")
    assert mapping.stats()["backlog"] == 1
    mapping.enable()
    wait_for(lambda: _lines(tmp_path / "seen") == ["waiting"])
    wait_for(lambda: mapping.stats()["backlog"] == 0)
