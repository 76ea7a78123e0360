"""Event buses through the native API and the SDK (sync and async): buses, rules, targets with
input shaping, PutEvents with per-entry errors, TestEventPattern, archives and replays, and
the request boundary's answers to bad input."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys

import httpx
import pytest

from raybus.sdk import AsyncClient, Client, errors
from tests.integration.test_semantics import wait_for


def test_a_rule_routes_shaped_events_to_a_queue(client: Client, name: str) -> None:
    queue = client.create_queue(name)
    bus = client.create_bus(name, description="orders")
    assert client.create_bus(name, description="orders").name == name  # idempotent
    assert name in client.list_buses() and "default" in client.list_buses()
    rule = bus.put_rule("big", event_pattern={"detail": {"total": [{"numeric": [">", 10]}]}})
    assert json.loads(rule["event_pattern"]) == {"detail": {"total": [{"numeric": [">", 10]}]}}
    refused = bus.put_targets(
        "big",
        [
            {"id": "q", "kind": "queue", "name": name,
             "input_paths_map": {"t": "$.detail.total"}, "input_template": '{"total": <t>}'},
            {"id": "bad", "kind": "queue", "name": name, "input": "{not json"},
        ],
    )  # fmt: skip
    assert [f["id"] for f in refused] == ["bad"]
    assert refused[0]["code"] == "ValidationException"
    results = bus.put_events(
        [
            {"source": "shop", "detail_type": "order", "detail": {"total": 50}},
            {"source": "shop", "detail_type": "order", "detail": {"total": 5}},
            {"source": "shop", "detail_type": "order", "detail": "[1]"},
            {"source": "aws.shop", "detail_type": "order", "detail": {}},
        ]
    )
    assert isinstance(results[0], str) and isinstance(results[1], str)
    assert isinstance(results[2], errors.MalformedDetail)
    assert isinstance(results[3], errors.NotAuthorizedForSourceException)
    (message,) = queue.receive(max_messages=10, wait_s=10)
    assert json.loads(message.text) == {"total": 50}
    assert [r["name"] for r in bus.rules()] == ["big"]
    with pytest.raises(errors.ValidationException):
        bus.delete_rule("big")  # it has targets
    bus.remove_targets("big", ["q"])
    bus.delete_rule("big")
    assert bus.rules() == []
    with pytest.raises(errors.InvalidEventPatternException):
        bus.put_rule("bad", event_pattern='{"source": "shop"}')
    client.delete_bus(bus)
    with pytest.raises(errors.ResourceNotFound):
        client.bus(name)


def test_test_event_pattern_and_its_validation(client: Client) -> None:
    event = {"id": "1", "source": "shop", "detail-type": "order", "account": "1", "time": "t",
             "region": "r", "resources": [], "detail": {"total": 3}}  # fmt: skip
    assert client.test_event_pattern({"source": ["shop"]}, event) is True
    assert client.test_event_pattern({"source": ["other"]}, event) is False
    with pytest.raises(errors.ValidationException):
        client.test_event_pattern({"source": ["shop"]}, {"source": "shop"})


def test_an_archive_and_a_replay_through_the_sdk(client: Client, name: str) -> None:
    queue = client.create_queue(name)
    bus = client.create_bus(name)
    archive = client.create_archive(name, bus, event_pattern={"source": ["shop"]})
    assert archive["retention_days"] == 0
    bus.put_rule("all", event_pattern={"source": ["shop"]})
    bus.put_targets("all", [{"id": "q", "kind": "queue", "name": name}])
    start = client.now_ms()
    bus.put_event("shop", "order", {"n": 1})
    bus.put_event("shop", "order", {"n": 2})
    end = client.advance_clock(1)
    assert len(queue.receive(max_messages=10, wait_s=10)) >= 1
    wait_for(lambda: client.archive(name)["events"] == 2)
    for message in queue.receive(max_messages=10, wait_s=1):
        message.delete()
    client.start_replay(name, name, start, end, rules=["all"])
    wait_for(lambda: client.replay(name)["state"] == "COMPLETED")
    replayed: list[dict[str, object]] = []

    def both() -> bool:
        for message in queue.receive(max_messages=10, wait_s=1):
            event = json.loads(message.text)
            if event.get("replay-name") == name:
                replayed.append(event)
            message.delete()
        return len(replayed) >= 2

    wait_for(both)
    assert sorted(e["detail"]["n"] for e in replayed) == [1, 2]  # type: ignore[index]


def test_the_async_client_puts_events(client: Client, url: str, name: str) -> None:
    queue = client.create_queue(name)

    async def scenario() -> str:
        async with AsyncClient(url) as aclient:
            bus = await aclient.create_bus(name)
            await bus.put_rule("all", event_pattern={"source": ["app"]})
            await bus.put_targets("all", [{"id": "q", "kind": "queue", "name": name}])
            return await bus.put_event("app", "ping", {"x": 1})

    event_id = asyncio.run(scenario())
    (message,) = queue.receive(max_messages=1, wait_s=10)
    assert json.loads(message.text)["id"] == event_id


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"entries": []}, "EmptyBatchRequest"),
        ({"entries": [{"source": "a", "detail_type": "b", "detail": {}}] * 11},
         "TooManyEntriesInBatchRequest"),
        ({"entries": [{"source": "a"}], "extra": 1}, "InvalidParameterValue"),
        ({}, "EmptyBatchRequest"),
    ],
)  # fmt: skip
def test_bad_put_events_requests_are_refused_whole(
    client: Client, url: str, name: str, body: dict[str, object], code: str
) -> None:
    client.create_bus(name)
    answer = httpx.post(f"{url}/v1/buses/{name}/events", json=body)
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == code
    assert client.bus(name).config["name"] == name


def test_entries_failing_alone_leave_the_others(client: Client, url: str, name: str) -> None:
    client.create_bus(name)
    big = {"source": "a", "detail_type": "b", "detail": {"x": "y" * 262_144}}
    odd = {"source": "a", "detail_type": "b", "detail": {}, "colour": "red"}
    good = {"source": "a", "detail_type": "b", "detail": {}}
    answer = httpx.post(f"{url}/v1/buses/{name}/events", json={"entries": [big, odd, good, 7]})
    assert answer.status_code == 200
    codes = [r.get("error", {}).get("code") for r in answer.json()["results"]]
    assert codes == ["MessageTooLong", "InvalidParameterValue", None, "MalformedRequest"]
    text = "\ud800"  # a lone surrogate: refused naming the field, nothing stored
    raw = '{"entries": [{"source": "' + text.encode("utf-8", "surrogatepass").decode("latin-1")
    broken = httpx.post(
        f"{url}/v1/buses/{name}/events",
        content=raw.encode("latin-1") + b'", "detail_type": "b", "detail": {}}]}',
        headers={"Content-Type": "application/json"},
    )
    assert broken.status_code == 400


def _cli(url: str, *argv: str) -> tuple[int, str, str]:
    done = subprocess.run(
        [sys.executable, "-m", "raybus.cli", "bus", *argv, "--url", url],
        capture_output=True,
        text=True,
        timeout=120,
    )
    return done.returncode, done.stdout, done.stderr


def test_the_bus_cli_creates_routes_and_puts(client: Client, url: str, name: str) -> None:
    queue = client.create_queue(name)
    assert _cli(url, "create", name)[0] == 0
    code, out, err = _cli(url, "put-rule", name, "r", "--pattern", '{"source": ["cli"]}')
    assert code == 0, err
    assert json.loads(out)["name"] == "r"
    code, out, err = _cli(url, "put-target", name, "r", "--id", "q", "--queue", name,
                          "--input-path", "$.detail")  # fmt: skip
    assert code == 0 and json.loads(out) == {"failed": []}, err
    code, out, err = _cli(url, "put-event", name, "--source", "cli", "--detail-type", "t",
                          "--detail", '{"n": 7}')  # fmt: skip
    assert code == 0, err
    assert len(json.loads(out)["event_id"]) == 36
    (message,) = queue.receive(max_messages=1, wait_s=10)
    assert json.loads(message.text) == {"n": 7}
    code, out, _ = _cli(url, "get", name)
    assert [r["name"] for r in json.loads(out)["rules"]] == ["r"]
    assert json.loads(_cli(url, "stats", name)[1])["events"] == 1
    code, out, _ = _cli(url, "test-pattern", '{"source": ["cli"]}',
                        '{"id": "1", "source": "cli", "detail-type": "t", "account": "1", '
                        '"time": "t", "region": "r", "resources": [], "detail": {}}')  # fmt: skip
    assert code == 0 and json.loads(out) == {"result": True}
    code, _, err = _cli(url, "delete-rule", name, "r")
    assert code == 2 and err.startswith("error: ValidationException:")  # it has targets
    assert _cli(url, "remove-target", name, "r", "--id", "q")[0] == 0
    assert _cli(url, "delete-rule", name, "r")[0] == 0
    assert _cli(url, "delete", name)[0] == 0
    assert name not in _cli(url, "list")[1].split()
