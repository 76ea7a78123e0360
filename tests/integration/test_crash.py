"""Crash tests with real SIGKILLs: a partition host under load, and the whole embedded cluster.

The invariant both check: every acknowledged send is received afterwards (or was deleted with
an acknowledged delete before the crash); a message whose delete was acknowledged never comes
back. Repeats are allowed only of messages whose delete was not acknowledged. Senders never
retry a batch (a send committed just before the kill whose answer was lost would, retried, be a
second copy — at-least-once delivery, as SQS's standard queues have it — and one copy could
come back after the other's acknowledged delete), so every body exists at most once.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from raybus.sdk import Client, errors
from tests.integration.test_semantics import wait_for

LOAD_CLIENT = {"max_retries": 20, "timeout_s": 30.0}
SENDER_CLIENT = {"max_retries": 0, "timeout_s": 30.0}  # each batch is sent once: no copies


class Ledger:
    """What the clients were told: acknowledged sends and deletes, and deletes sent whose answer
    never came (the crash may have come before or after they were applied: such a message may
    be gone or may come back, and both are correct)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.sent: set[str] = set()
        self.deleted: set[str] = set()
        self.delete_unknown: set[str] = set()
        self.failures = 0

    def check_after_drain(self, drained: list[str]) -> None:
        lost = self.sent - self.deleted - self.delete_unknown - set(drained)
        assert not lost, f"{len(lost)} acknowledged messages lost, e.g. {sorted(lost)[:5]}"
        resurrected = self.deleted & set(drained)
        assert not resurrected, f"deleted messages came back: {sorted(resurrected)[:5]}"


def drain(client: Client, queue_name: str) -> list[str]:
    queue = client.queue(queue_name)
    bodies: list[str] = []
    for _ in range(10_000):  # bounded
        got = queue.receive(max_messages=100)
        if not got:
            if queue.stats()["visible"] == 0:
                return bodies
            continue
        bodies += [m.text for m in got]
        queue.delete_batch(got)
    raise AssertionError("drain did not finish")


def run_load(
    url: str, queue_name: str, ledger: Ledger, stop: threading.Event
) -> list[threading.Thread]:
    def sender() -> None:
        with Client(url, **SENDER_CLIENT) as client:
            queue = client.queue(queue_name)
            for batch in range(100_000):
                if stop.is_set():
                    return
                bodies = [f"m-{batch}-{i}" for i in range(10)]
                try:
                    results = queue.send_batch(bodies)
                except (errors.RaybusError, ConnectionError):
                    ledger.failures += 1  # the batch may or may not be in: it is never resent
                    stop.wait(0.05)  # no retries in the client: pace the next batch instead
                    continue
                with ledger.lock:
                    ledger.sent.update(
                        b
                        for b, r in zip(bodies, results, strict=True)
                        if not isinstance(r, Exception)
                    )

    def consumer() -> None:
        with Client(url, **LOAD_CLIENT) as client:
            queue = client.queue(queue_name)
            while not stop.is_set():
                try:
                    got = queue.receive(max_messages=10)
                except (errors.RaybusError, ConnectionError):
                    ledger.failures += 1
                    continue
                try:
                    results = queue.delete_batch(got) if got else []
                except (errors.RaybusError, ConnectionError):
                    ledger.failures += 1
                    with ledger.lock:
                        ledger.delete_unknown.update(m.text for m in got)
                    continue
                with ledger.lock:
                    ledger.deleted.update(
                        m.text for m, r in zip(got, results, strict=True) if r is None
                    )

    threads = [threading.Thread(target=sender), threading.Thread(target=consumer)]
    for thread in threads:
        thread.start()
    return threads


def wait_restarted(client: Client, victim: dict[str, Any]) -> None:
    """Wait until the killed host ``victim`` (its ``health()`` entry from before the kill) is
    up again in a new incarnation (host 0 serves the gateway: health fails until then)."""

    def restarted() -> bool:
        try:
            hosts = {h["name"]: h for h in client.health()["hosts"]}
        except (errors.RaybusError, ConnectionError):
            return False
        now = hosts[victim["name"]]
        return bool(now.get("up")) and now.get("incarnation") != victim["incarnation"]

    wait_for(restarted, timeout_s=60)


@pytest.mark.parametrize(
    "host", ["raybus-host-0", "raybus-host-1"], ids=["host-serving-the-gateway", "other-host"]
)
def test_a_killed_partition_host_restarts_and_loses_no_acknowledged_message(
    client: Client, name: str, url: str, host: str
) -> None:
    queue = client.create_queue(name, visibility_timeout_s=60)
    before = {h["name"]: h for h in client.health()["hosts"]}
    victim = before[host]
    ledger, stop = Ledger(), threading.Event()
    threads = run_load(url, queue.name, ledger, stop)
    try:
        wait_for(lambda: len(ledger.sent) >= 300 and len(ledger.deleted) >= 50, timeout_s=60)
        os.kill(victim["pid"], signal.SIGKILL)
        acked_at_kill = len(ledger.sent)

        wait_restarted(client, victim)
        wait_for(lambda: len(ledger.sent) >= acked_at_kill + 300, timeout_s=60)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
    assert not any(t.is_alive() for t in threads)
    client.advance_clock(61)  # in-flight messages whose delete never came back return
    ledger.check_after_drain(drain(client, queue.name))


# -- the whole embedded cluster --------------------------------------------------------------------


class RaybusProcess:
    """`raybus up` in its own session; ``kill()`` SIGKILLs its whole process tree at once."""

    def __init__(self, data_dir: Path, *, hosts: int = 2) -> None:
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "raybus.cli",
                "up",
                "--data-dir",
                str(data_dir),
                "--port",
                "0",
                "--test-clock",
                "--partition-hosts",
                str(hosts),
                "--quiet",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self.url = self._read_url()

    def _read_url(self) -> str:
        assert self.proc.stdout is not None
        seen = []
        for line in self.proc.stdout:  # ends when the process exits
            seen.append(line)
            found = re.search(r"raybus is up at (http://\S+)", line)
            if found:
                threading.Thread(target=self.proc.stdout.read, daemon=True).start()
                return found.group(1)
        raise AssertionError("raybus up did not start:\n" + "".join(seen[-30:]))

    def tree(self) -> list[psutil.Process]:
        root = psutil.Process(self.proc.pid)
        return [root, *root.children(recursive=True)]

    def kill(self) -> None:
        victims = self.tree()
        for process in victims:
            with contextlib.suppress(psutil.NoSuchProcess):
                process.send_signal(signal.SIGKILL)
        psutil.wait_procs(victims, timeout=30)
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def raybus_process(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path / "data"


def test_the_whole_cluster_killed_and_started_again_keeps_every_acknowledged_message(
    raybus_process: Path,
) -> None:
    first = RaybusProcess(raybus_process)
    ledger, stop = Ledger(), threading.Event()
    try:
        with Client(first.url) as client:
            client.create_queue("orders", visibility_timeout_s=60)
            fifo = client.create_queue("orders.fifo", dedup_scope="messageGroup")
            fifo_sent = [
                fifo.send(f"f{i}", group_id=f"g{i % 3}", dedup_id=f"d{i}").message_id
                for i in range(12)
            ]
        threads = run_load(first.url, "orders", ledger, stop)
        wait_for(lambda: len(ledger.sent) >= 300 and len(ledger.deleted) >= 50, timeout_s=60)
        first.kill()  # mid-load: senders and consumers see failures from here on
        stop.set()
        for thread in threads:
            thread.join(timeout=120)
    finally:
        stop.set()
        first.stop()
    second = RaybusProcess(raybus_process)
    try:
        with Client(second.url) as client:
            assert sorted(client.list_queues()) == ["orders", "orders.fifo"]
            client.advance_clock(61)
            ledger.check_after_drain(drain(client, "orders"))
            fifo = client.queue("orders.fifo")
            got = []
            for _ in range(100):
                batch = fifo.receive(max_messages=10)
                if not batch and len(got) == len(fifo_sent):
                    break
                got += batch
                fifo.delete_batch(batch)
            assert sorted(m.message_id for m in got) == sorted(fifo_sent)
            again = fifo.send("f0", group_id="g0", dedup_id="d0")  # the dedup window survived
            assert again.message_id == fifo_sent[0]
    finally:
        second.stop()


def test_a_killed_controller_restarts_with_its_catalog_and_routing(
    client: Client, name: str
) -> None:
    queue = client.create_queue(name)
    queue.send("before")
    health = client.health()
    os.kill(health["controller_pid"], signal.SIGKILL)

    def back() -> bool:
        try:
            return client.health()["controller_pid"] != health["controller_pid"]
        except (errors.RaybusError, ConnectionError):
            return False

    wait_for(back, timeout_s=60)
    assert name in client.list_queues()
    assert client.queue(name).settings["partitions"] == queue.settings["partitions"]
    client.create_queue(name + "-after")  # the restarted controller places new queues
    queue.send("after")
    bodies = sorted(m.text for m in queue.receive(max_messages=10))
    assert bodies == ["after", "before"]
