"""Standard and FIFO semantics end to end: order per group under concurrent consumers, group
blocking, deduplication across delete, dead-lettering, move-back tasks, long-poll wake-up."""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Callable

import httpx

from raybus.sdk import Client, errors


def wait_for(condition: Callable[[], bool], timeout_s: float = 10.0) -> None:
    """Poll ``condition`` until it holds (bounded); fail with a clear message otherwise."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout_s} s")
        time.sleep(0.01)


def test_fifo_groups_are_delivered_in_order_to_concurrent_consumers(
    client: Client, name: str, url: str
) -> None:
    queue = client.create_queue(name + ".fifo", dedup_scope="messageGroup")
    assert queue.settings["partitions"] == 2
    groups, per_group = 6, 15
    for seq in range(per_group):  # interleaved groups, each in order
        queue.send_batch(
            [
                {"body": f"{g}:{seq}", "group_id": f"g{g}", "dedup_id": f"{g}-{seq}"}
                for g in range(groups)
            ]
        )
    seen: dict[str, list[int]] = defaultdict(list)
    lock = threading.Lock()
    total = groups * per_group

    def consume() -> None:
        with Client(url) as own:
            mine = own.queue(queue.name)
            while True:
                with lock:
                    if sum(map(len, seen.values())) >= total:
                        return
                got = mine.receive(max_messages=4)
                with lock:
                    for message in got:
                        group, seq = message.text.split(":")
                        seen[group].append(int(seq))
                mine.delete_batch(got)

    threads = [threading.Thread(target=consume) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    assert {g: seqs for g, seqs in seen.items()} == {
        str(g): list(range(per_group)) for g in range(groups)
    }


def test_a_fifo_group_is_blocked_while_its_head_is_in_flight(client: Client, name: str) -> None:
    queue = client.create_queue(name + ".fifo", content_based_dedup=True)
    queue.send_batch([{"body": "a1", "group_id": "a"}, {"body": "a2", "group_id": "a"}])
    queue.send("b1", group_id="b")
    first = queue.receive(max_messages=1)
    assert [m.text for m in first] == ["a1"]
    assert [m.text for m in queue.receive(max_messages=10)] == ["b1"]  # a2 waits behind a1
    assert queue.receive(max_messages=10) == []
    first[0].delete()
    assert [m.text for m in queue.receive(max_messages=10)] == ["a2"]


def test_fifo_deduplication_survives_delete_for_five_minutes(client: Client, name: str) -> None:
    queue = client.create_queue(name + ".fifo")
    original = queue.send("x", group_id="g", dedup_id="d1")
    (message,) = queue.receive()
    message.delete()
    repeat = queue.send("x", group_id="g", dedup_id="d1")
    assert repeat.message_id == original.message_id
    assert queue.receive() == []
    client.advance_clock(301)
    fresh = queue.send("x", group_id="g", dedup_id="d1")
    assert fresh.message_id != original.message_id
    assert [m.message_id for m in queue.receive()] == [fresh.message_id]


def test_messages_dead_letter_after_max_receives_and_move_back(client: Client, name: str) -> None:
    dlq = client.create_queue(name + "-dlq")
    source = client.create_queue(
        name, visibility_timeout_s=10, dead_letter_queue=dlq, max_receive_count=2
    )
    sent = source.send("poison")
    for _ in range(2):
        (message,) = source.receive()
        assert message.message_id == sent.message_id
        client.advance_clock(11)
    assert source.receive() == []  # the third receive moves it instead of returning it
    wait_for(lambda: dlq.stats()["visible"] == 1)
    wait_for(lambda: source.stats()["in_flight"] == 0 and source.stats()["visible"] == 0)
    (dead,) = dlq.receive(visibility_timeout_s=0)
    assert dead.message_id == sent.message_id and dead.text == "poison"

    task = client.start_move_task(dlq.name)
    assert task["source"] == dlq.name and task["to_move"] == 1

    def completed() -> bool:
        (latest, *_) = client.list_move_tasks(dlq.name)
        return latest["status"] == "COMPLETED"

    wait_for(completed)
    (back,) = source.receive()
    assert back.message_id == sent.message_id and back.text == "poison"
    assert dlq.stats()["visible"] == 0


def test_a_long_poll_wakes_within_milliseconds_of_a_send(
    client: Client, name: str, url: str
) -> None:
    queue = client.create_queue(name)
    assert queue.settings["partitions"] == 2
    received: list[tuple[float, list[str]]] = []

    def poll() -> None:
        with Client(url) as own:
            got = own.queue(queue.name).receive(max_messages=1, wait_s=20)
            received.append((time.perf_counter(), [m.text for m in got]))

    def parked() -> bool:
        text = httpx.get(url + "/metrics").text
        line = next(li for li in text.splitlines() if li.startswith("raybus_gateway_long_polls "))
        return float(line.split()[1]) >= 1

    poller = threading.Thread(target=poll)
    poller.start()
    wait_for(parked)
    queue.send("wake up")
    sent_at = time.perf_counter()
    poller.join(timeout=20)
    assert received and received[0][1] == ["wake up"]
    assert received[0][0] - sent_at < 0.5, f"woke after {received[0][0] - sent_at:.3f} s"


def test_a_rate_limited_move_task_to_a_named_destination_can_be_cancelled(
    client: Client, name: str
) -> None:
    dlq = client.create_queue(name + "-dlq")
    destination = client.create_queue(name + "-dest")
    dlq.send_batch(["a", "b", "c"])
    task = client.start_move_task(dlq.name, destination.name, max_messages_per_s=1)
    assert task["to_move"] == 3 and task["max_messages_per_s"] == 1
    wait_for(lambda: destination.stats()["visible"] == 1)  # one per (virtual) second
    try:
        client.start_move_task(dlq.name, destination.name)
        raise AssertionError("a second task for the same source was accepted")
    except errors.MoveTaskConflict:
        pass
    client.cancel_move_task(task["handle"])

    def cancelled() -> bool:
        (latest, *_) = client.list_move_tasks(dlq.name)
        return latest["status"] == "CANCELLED"

    wait_for(cancelled)
    client.advance_clock(10)  # time passes: a cancelled task moves nothing more
    assert destination.stats()["visible"] == 1 and dlq.stats()["visible"] == 2
    (latest, *_) = client.list_move_tasks(dlq.name)
    assert latest["moved"] == 1
