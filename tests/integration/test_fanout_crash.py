"""Durable fan-out under a real SIGKILL: one topic feeding three queues while the process that
hosts the topic is killed in the middle of a stream of publishes. After recovery every queue
holds every acknowledged publish (repeats allowed, losses not) — the promise an application
sending to three queues in turn cannot make."""

from __future__ import annotations

import os
import signal
import threading

import ray

from raybus.actors import CONTROLLER_NAME, NAMESPACE
from raybus.sdk import Client, errors
from tests.integration.test_crash import LOAD_CLIENT, wait_restarted
from tests.integration.test_semantics import wait_for


def _topic_host(topic: str) -> str:
    controller = ray.get_actor(CONTROLLER_NAME, namespace=NAMESPACE)
    table = ray.get(controller.routing.remote())
    host: str = table.route("topic", topic).partitions[0].host
    return host


def _drain_until(client: Client, queue_name: str, wanted: set[str]) -> set[str]:
    queue = client.queue(queue_name)
    seen: set[str] = set()

    def complete() -> bool:
        got = queue.receive(max_messages=100, wait_s=1)
        if got:
            seen.update(m.text for m in got)
            queue.delete_batch(got)
        elif not wanted <= seen:
            client.advance_clock(20)  # deliveries that failed during the restart are retried
        return wanted <= seen

    wait_for(complete, timeout_s=90)
    return seen


def test_fan_out_survives_a_sigkill_of_the_topic_host(client: Client, name: str, url: str) -> None:
    topic = client.create_topic(name)
    queues = [client.create_queue(f"{name}-q{i}") for i in range(3)]
    for queue in queues:
        topic.subscribe(queue, raw=True)
    victim_name = _topic_host(name)
    victim = {h["name"]: h for h in client.health()["hosts"]}[victim_name]

    acked: set[str] = set()
    lock = threading.Lock()
    stop = threading.Event()

    def publisher() -> None:
        with Client(url, **LOAD_CLIENT) as own:
            mine = own.topic(name)
            for batch in range(100_000):
                if stop.is_set():
                    return
                bodies = [f"p-{batch}-{i}" for i in range(10)]
                try:
                    results = mine.publish_batch([{"body": b} for b in bodies])
                except (errors.RaybusError, ConnectionError):
                    continue
                with lock:
                    acked.update(
                        b
                        for b, r in zip(bodies, results, strict=True)
                        if not isinstance(r, Exception)
                    )

    thread = threading.Thread(target=publisher)
    thread.start()
    try:
        wait_for(lambda: len(acked) >= 300, timeout_s=60)
        os.kill(victim["pid"], signal.SIGKILL)
        acked_at_kill = len(acked)

        wait_restarted(client, victim)
        wait_for(lambda: len(acked) >= acked_at_kill + 300, timeout_s=60)
    finally:
        stop.set()
        thread.join(timeout=60)
    assert not thread.is_alive()
    with lock:
        wanted = set(acked)
    for queue in queues:
        seen = _drain_until(client, queue.name, wanted)
        lost = wanted - seen
        assert not lost, f"{queue.name} lost {len(lost)} acknowledged publishes"
