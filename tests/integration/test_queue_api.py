"""Every SDK call against a real cluster over real HTTP."""

from __future__ import annotations

import asyncio

import pytest

from raybus.sdk import AsyncClient, Client, errors


def test_create_get_update_list_and_delete_a_queue(client: Client, name: str) -> None:
    queue = client.create_queue(name, visibility_timeout_s=45)
    assert queue.name == name and queue.settings["visibility_timeout_s"] == 45
    assert client.create_queue(name, visibility_timeout_s=45).name == name  # idempotent
    with pytest.raises(errors.QueueAlreadyExists):
        client.create_queue(name, visibility_timeout_s=46)
    assert client.queue(name).settings["visibility_timeout_s"] == 45
    assert queue.update(visibility_timeout_s=50)["visibility_timeout_s"] == 50
    assert name in client.list_queues(prefix=name[:3])
    client.delete_queue(name)
    assert name not in client.list_queues()
    with pytest.raises(errors.QueueDoesNotExist):
        client.queue(name)


def test_a_standard_queue_spreads_over_every_partition_host(client: Client, name: str) -> None:
    queue = client.create_queue(name)
    assert queue.settings["partitions"] == 2
    results = [queue.send_batch([f"m{i}-{j}" for j in range(5)]) for i in range(4)]
    assert all(not isinstance(r, Exception) for batch in results for r in batch)
    stats = queue.stats()
    assert stats["visible"] == 20 and stats["partitions"] == 2
    bodies = set()
    while len(bodies) < 20:
        got = queue.receive(max_messages=10)
        assert got, "a visible message was not found"
        bodies |= {m.text for m in got}
        assert queue.delete_batch(got) == [None] * len(got)
    assert bodies == {f"m{i}-{j}" for i in range(4) for j in range(5)}
    assert queue.stats()["visible"] == 0


def test_send_receive_attributes_visibility_and_delete(client: Client, name: str) -> None:
    queue = client.create_queue(name)
    sent = queue.send(b"\x00binary\xff", attributes={"kind": "order", "n": 3, "raw": b"\x01"})
    (message,) = queue.receive(max_messages=10, visibility_timeout_s=30)
    assert message.body == b"\x00binary\xff"
    assert message.message_id == sent.message_id
    assert message.attributes == {"kind": "order", "n": "3", "raw": b"\x01"}
    assert message.receive_count == 1
    assert queue.stats()["in_flight"] == 1
    message.change_visibility(0)
    (again,) = queue.receive()
    assert again.message_id == sent.message_id and again.receive_count == 2
    again.delete()
    assert queue.receive() == []


def test_a_received_message_returns_after_its_visibility_timeout(client: Client, name: str) -> None:
    queue = client.create_queue(name, visibility_timeout_s=30)
    queue.send("x")
    assert len(queue.receive()) == 1
    assert queue.receive() == []
    client.advance_clock(31)
    (back,) = queue.receive()
    assert back.receive_count == 2


def test_delay_and_purge(client: Client, name: str) -> None:
    queue = client.create_queue(name)
    queue.send("later", delay_s=60)
    assert queue.stats()["delayed"] == 1 and queue.receive() == []
    client.advance_clock(61)
    assert queue.stats()["visible"] == 1
    queue.send_batch(["a", "b"])
    queue.purge()
    assert queue.stats()["visible"] == 0
    with pytest.raises(errors.PurgeQueueInProgress):
        queue.purge()


def test_the_consumer_deletes_handled_messages_and_keeps_a_failed_one(
    client: Client, name: str
) -> None:
    queue = client.create_queue(name, visibility_timeout_s=30)
    queue.send_batch(["ok-1", "boom", "ok-2"])
    handled = []
    with pytest.raises(RuntimeError):
        for message in queue.consume(max_messages=1, wait_s=0, stop_when_empty=True):
            if message.text == "boom":
                raise RuntimeError("handler failed")
            handled.append(message.text)
    client.advance_clock(31)
    rest = [m.text for m in queue.consume(max_messages=10, wait_s=0, stop_when_empty=True)]
    assert "boom" in rest
    assert sorted(handled + rest) == ["boom", "ok-1", "ok-2"]
    assert queue.stats()["visible"] == 0 and queue.stats()["in_flight"] == 0


def test_the_async_client_has_the_same_surface(url: str, name: str) -> None:
    async def scenario() -> list[str]:
        async with AsyncClient(url) as client:
            queue = await client.create_queue(name)
            await queue.send_batch(["one", {"body": "two", "attributes": {"k": "v"}}])
            seen = []
            async for message in queue.consume(max_messages=10, wait_s=0, stop_when_empty=True):
                seen.append(message.text)
            assert (await queue.stats())["visible"] == 0
            await client.delete_queue(name)
            return sorted(seen)

    assert asyncio.run(scenario()) == ["one", "two"]


def test_health_and_clock(client: Client) -> None:
    health = client.health()
    assert health["status"] == "ok"
    assert all(host["up"] for host in health["hosts"])
    before = client.now_ms()
    assert client.advance_clock(5) == before + 5000
