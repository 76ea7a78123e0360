"""A partition host added to a cluster, and partitions moved onto it online (``raybus hosts
rebalance``): real ``raybus up`` processes on one data directory, the real CLI, load running
through the move. The invariant of the crash tests holds across it: every acknowledged send is
received afterwards, and a message whose delete was acknowledged never comes back."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

from raybus.sdk import Client
from tests.integration.test_crash import (
    LOAD_CLIENT,
    Ledger,
    RaybusProcess,
    drain,
    run_load,
)
from tests.integration.test_semantics import wait_for

HOST_0, HOST_1 = "raybus-host-0", "raybus-host-1"


def hosts_cli(url: str, *argv: str) -> tuple[int, list[dict[str, object]]]:
    done = subprocess.run(
        [sys.executable, "-m", "raybus.cli", "hosts", *argv, "--url", url],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert not done.stderr, done.stderr
    return done.returncode, [json.loads(line) for line in done.stdout.splitlines()]


def partitions_per_host(client: Client) -> dict[str, int]:
    return {str(h["name"]): int(h["partitions"]) for h in client.health()["hosts"]}


def test_an_added_host_takes_new_partitions_and_rebalancing_moves_old_ones_under_load(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    first = RaybusProcess(data, hosts=1)
    try:
        with Client(first.url) as client:
            queue = client.create_queue("orders", partitions=6, visibility_timeout_s=60)
            earlier = [f"early-{i}" for i in range(60)]
            for start in range(0, len(earlier), 10):
                queue.send_batch(earlier[start : start + 10])
            # the queue's six and the default event bus's one
            assert partitions_per_host(client) == {HOST_0: 7}
    finally:
        first.stop()

    second = RaybusProcess(data, hosts=2)  # the same data directory, one host more
    ledger, stop = Ledger(), threading.Event()
    threads: list[threading.Thread] = []
    try:
        with Client(second.url, **LOAD_CLIENT) as client:
            assert partitions_per_host(client) == {HOST_0: 7, HOST_1: 0}
            client.create_queue("later", partitions=2)  # new partitions: the new host
            assert partitions_per_host(client) == {HOST_0: 7, HOST_1: 2}

            code, planned = hosts_cli(second.url, "rebalance", "--dry-run")
            assert code == 0
            *dry_moves, summary = planned
            assert len(dry_moves) == 2 and summary == {
                "hosts": {HOST_0: 7, HOST_1: 2},
                "repaired": 0,
            }
            assert partitions_per_host(client) == {HOST_0: 7, HOST_1: 2}  # a dry run moves none

            threads = run_load(second.url, "orders", ledger, stop)
            wait_for(lambda: len(ledger.sent) >= 200, timeout_s=60)
            code, lines = hosts_cli(second.url, "rebalance")
            *moves, summary = lines
            assert code == 0, lines
            assert [(m["kind"], m["key"], m["source"], m["target"]) for m in moves] == [
                ("queue", "orders", HOST_0, HOST_1)
            ] * 2
            assert all(int(str(m["epoch"])) >= 2 for m in moves)  # fenced: a new epoch each
            assert summary == {"hosts": {HOST_0: 5, HOST_1: 4}, "repaired": 0}
            moved_at = len(ledger.sent)
            wait_for(lambda: len(ledger.sent) >= moved_at + 200, timeout_s=60)  # load goes on
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
        assert not any(t.is_alive() for t in threads)

        with Client(second.url, **LOAD_CLIENT) as client:
            assert partitions_per_host(client) == {HOST_0: 5, HOST_1: 4}  # the hosts serve them
            route_hosts = {h["name"] for h in client.health()["hosts"] if int(h["partitions"]) > 0}
            assert route_hosts == {HOST_0, HOST_1}
            client.advance_clock(61)  # in-flight messages whose delete never came back return
            drained = drain(client, "orders")
            ledger.sent.update(earlier)  # acknowledged before the host was added
            ledger.check_after_drain(drained)
            code, again = hosts_cli(second.url, "rebalance")
            assert code == 0 and again == [{"hosts": {HOST_0: 5, HOST_1: 4}, "repaired": 0}]
    finally:
        stop.set()
        second.stop()

    third = RaybusProcess(data, hosts=1)  # fewer than the catalog holds: its hosts all start
    try:
        with Client(third.url, **LOAD_CLIENT) as client:
            assert partitions_per_host(client) == {HOST_0: 5, HOST_1: 4}
            queue = client.queue("orders")
            queue.send_batch([f"after-{i}" for i in range(30)])  # every partition, both hosts
            client.advance_clock(61)
            assert sorted(drain(client, "orders")) == sorted(f"after-{i}" for i in range(30))
    finally:
        third.stop()
