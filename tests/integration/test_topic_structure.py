"""MessageStructure=json end to end: one publish gives a queue subscription its "sqs" message
and a function subscription its "lambda" message (else "default"); a bad structure is refused
with a stable code, and nothing of it is published."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from raybus.sdk import Client, errors
from tests.integration.test_topics import drain

MESSAGES = {"default": "for anyone", "sqs": "for queues", "lambda": "for functions"}


def test_each_subscription_gets_its_protocols_message(client: Client, name: str) -> None:
    topic = client.create_topic(name)
    raw = client.create_queue(name + "-raw")
    wrapped = client.create_queue(name + "-wrapped")
    answers = client.create_queue(name + "-answers")

    def handler(event: Any, context: Any) -> Any:
        (record,) = event["Records"]
        return record["Sns"]["Message"]

    function = client.create_function(name, handler, on_success=answers)
    topic.subscribe(raw, raw=True)
    topic.subscribe(wrapped)
    topic.subscribe(function)
    topic.publish(MESSAGES, structure="json")
    topic.publish_batch([{"body": json.dumps({"default": "only default"}), "structure": "json"}])

    assert sorted(m.text for m in drain(client, raw.name, 2)) == ["for queues", "only default"]
    envelopes = [json.loads(m.text) for m in drain(client, wrapped.name, 2)]
    assert sorted(e["Message"] for e in envelopes) == ["for queues", "only default"]
    results = [json.loads(m.text)["responsePayload"] for m in drain(client, answers.name, 2)]
    assert sorted(results) == ["for functions", "only default"]


BAD = [
    ("not JSON", "{oops", "InvalidParameter", "JSON message body failed to parse"),
    ("no default", json.dumps({"sqs": "x"}), "InvalidParameter", "No default entry"),
    ("a default that is no string", '{"default": 1}', "InvalidParameter", "No default entry"),
]


@pytest.mark.parametrize(("body", "code", "text"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_a_bad_structure_is_refused_and_nothing_is_published(
    client: Client, name: str, url: str, body: str, code: str, text: str
) -> None:
    topic = client.create_topic(name)
    queue = client.create_queue(name + "-q")
    topic.subscribe(queue, raw=True)
    with pytest.raises(errors.RaybusError) as refused:
        topic.publish(body, structure="json")
    assert refused.value.code == code and text in str(refused.value)
    entries = [
        {"id": "bad", "body": body, "structure": "json"},
        {"id": "good", "body": json.dumps({"default": "fine"}), "structure": "json"},
    ]
    reply = httpx.post(f"{url}/v1/topics/{name}/publish", json={"entries": entries})
    bad, good = reply.json()["results"]
    assert (bad["id"], bad["error"]["code"]) == ("bad", code)
    assert good["id"] == "good" and "message_id" in good
    assert [m.text for m in drain(client, queue.name, 1)] == ["fine"]
    assert topic.stats()["published"] == 1
    assert client.queue(queue.name).receive(max_messages=10, wait_s=0) == []


def test_only_json_is_a_structure(client: Client, name: str, url: str) -> None:
    client.create_topic(name)
    reply = httpx.post(f"{url}/v1/topics/{name}/publish", json={"body": "{}", "structure": "xml"})
    assert (reply.status_code, reply.json()["error"]["code"]) == (400, "InvalidParameterValue")
    assert client.topic(name).stats()["published"] == 0
