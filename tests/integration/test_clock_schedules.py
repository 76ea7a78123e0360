"""One test-clock advance plays every schedule it covers, in time order, before it answers.

Each test starts a chain of timers whose later links only exist once the earlier ones ran (a
retry is scheduled when the previous attempt failed), then moves the clock ONCE past the whole
chain and checks, without waiting, that every link ran at its due time and the chain's end
(a dead-letter queue, a finished move task) was reached: ``advance_clock`` answers only after
the work it released.

The endpoints note the cluster's clock (``GET /v1/clock``, the time of the step being played)
when they are hit, so the tests see *when* each attempt ran on the virtual clock.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientSession

from raybus.sdk import Client
from tests.integration.endpoints import Endpoint
from tests.integration.test_semantics import wait_for


def clock_ms(url: str) -> int:
    """The cluster's clock, read as any process can: ``GET /v1/clock``."""
    with urllib.request.urlopen(f"{url}/v1/clock", timeout=30) as answer:
        return int(json.load(answer)["now_ms"])


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


@pytest.fixture
def failing_endpoint(url: str) -> Iterator[FailingEndpoint]:
    with FailingEndpoint(url) as server:
        yield server


class FailingEndpoint(Endpoint):
    """An endpoint that answers every POST with 500 and notes the cluster's clock at each."""

    def __init__(self, cluster_url: str) -> None:
        super().__init__(self._fail)
        self.cluster_url = cluster_url
        self.hits: list[int] = []  # the cluster's now_ms at each POST

    async def _fail(self, headers: dict[str, str], text: str) -> int:
        async with (
            ClientSession() as session,
            session.get(f"{self.cluster_url}/v1/clock") as answer,
        ):
            self.hits.append(int((await answer.json())["now_ms"]))
        return 500


def test_one_advance_carries_an_async_invoke_through_both_retries_to_its_dlq(
    client: Client, url: str, name: str, tmp_path: Path
) -> None:
    attempts = tmp_path / "attempts"

    def handler(event: Any, context: Any) -> Any:
        with open(attempts, "a") as out:
            out.write(f"{context.aws_request_id} {clock_ms(url)}\n")
        raise RuntimeError("always fails")

    failures = client.create_queue(name + "-failures")
    dlq = client.create_queue(name + "-dlq")
    client.create_function(name, handler, on_failure=failures, dead_letter_queue=dlq, max_retries=2)
    request_id = client.invoke_async(name, {"order": 7})
    invoked = clock_ms(url)
    client.advance_clock(400)  # the first attempt now, retries 1 and 1 + 2 minutes later

    assert dlq.stats()["visible"] == 1  # already there: the advance waited for the work
    assert failures.stats()["visible"] == 1
    noted = [line.split() for line in _lines(attempts)]
    assert [ident for ident, _ in noted] == [request_id] * 3
    assert [int(at) - invoked for _, at in noted] == [0, 60_000, 180_000]
    (record,) = failures.receive(max_messages=10, wait_s=1)
    context = json.loads(record.text)["requestContext"]
    assert context["condition"] == "RetriesExhausted"
    assert context["approximateInvokeCount"] == 3
    (dead,) = dlq.receive(max_messages=10, wait_s=1)
    assert json.loads(dead.text) == {"order": 7}


def test_one_advance_carries_an_http_delivery_through_its_whole_policy_to_the_dlq(
    client: Client, name: str, failing_endpoint: FailingEndpoint
) -> None:
    policy = {  # 5 retries: one at once, one after 10 s, backing off 10 s then 20 s, then 40 s
        "healthyRetryPolicy": {
            "numRetries": 5,
            "numNoDelayRetries": 1,
            "numMinDelayRetries": 1,
            "numMaxDelayRetries": 1,
            "minDelayTarget": 10,
            "maxDelayTarget": 40,
            "backoffFunction": "exponential",
        }
    }
    dlq = client.create_queue(name + "-dlq")
    topic = client.create_topic(name)
    topic.subscribe(failing_endpoint.url, dead_letter_queue=dlq, delivery_policy=policy)
    topic.publish("doomed")
    wait_for(lambda: len(failing_endpoint.hits) == 2)  # the first attempt and the no-delay retry
    client.advance_clock(120)

    assert dlq.stats()["visible"] == 1
    first = failing_endpoint.hits[0]
    assert [at - first for at in failing_endpoint.hits] == [0, 0, 10_000, 20_000, 40_000, 80_000]
    (sub,) = topic.stats()["subscriptions"].values()
    assert (sub["failed"], sub["dead_lettered"]) == (6, 1)
    (dead,) = dlq.receive(max_messages=10, wait_s=1)
    assert json.loads(dead.text)["Message"] == "doomed"
    client.advance_clock(600)
    assert len(failing_endpoint.hits) == 6  # exhausted: no seventh attempt


def test_one_advance_crosses_a_delay_and_visibility_timeouts_to_the_queues_dlq(
    client: Client, url: str, name: str, tmp_path: Path
) -> None:
    receives = tmp_path / "receives"

    def handler(event: Any, context: Any) -> Any:
        with open(receives, "a") as out:
            out.write(f"{clock_ms(url)}\n")
        raise RuntimeError("poison")

    dlq = client.create_queue(name + "-dlq")
    queue = client.create_queue(
        name, visibility_timeout_s=30, dead_letter_queue=dlq, max_receive_count=2
    )
    client.create_function(name + "-f", handler)
    client.create_event_source_mapping(queue, name + "-f", batch_size=1)
    queue.send("poison", delay_s=15)
    sent = clock_ms(url)
    client.advance_clock(100)  # visible at 15 s, again at 45 s; the third receive moves it

    assert dlq.stats()["visible"] == 1
    assert [int(at) - sent for at in _lines(receives)] == [15_000, 45_000]
    stats = queue.stats()
    assert stats["visible"] + stats["in_flight"] + stats["delayed"] == 0
    (dead,) = dlq.receive(max_messages=10, wait_s=1)
    assert dead.text == "poison"


def test_one_advance_lets_a_rate_limited_move_task_finish(client: Client, name: str) -> None:
    dlq = client.create_queue(name + "-dlq")
    destination = client.create_queue(name + "-dest")
    dlq.send_batch(["a", "b", "c"])
    task = client.start_move_task(dlq.name, destination.name, max_messages_per_s=1)
    client.advance_clock(5)  # one message a (virtual) second: moves at 0, 1 and 2 s

    assert destination.stats()["visible"] == 3
    (latest, *_) = client.list_move_tasks(dlq.name)
    assert (latest["handle"], latest["status"], latest["moved"]) == (task["handle"], "COMPLETED", 3)
