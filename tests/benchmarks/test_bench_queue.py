"""The queue benchmark's pure parts, and its workload runner against an in-memory target."""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import subprocess
from collections import deque
from collections.abc import Sequence
from typing import Any

import pytest
from benchmarks.bench_queue import (
    add_arguments,
    format_table,
    ratio,
    report_rows,
    select_targets,
    summarize,
)
from benchmarks.peers.base import Message, Receiver, Target, tree_memory, tree_pids
from benchmarks.peers.workload import (
    Bench,
    bench_target,
    make_bodies,
    median,
    percentile,
    tag_body,
    tag_of,
)


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(["--receive-wait-s", "0.01", *argv])
    args.command = "test"
    return args


# --- workload ----------------------------------------------------------------------------------


def test_bodies_have_the_exact_size_are_printable_and_distinct() -> None:
    bodies = make_bodies(50, 1024, seed=1)
    assert len(bodies) == 50
    assert {len(b) for b in bodies} == {1024}
    assert all(b.decode("ascii").isprintable() for b in bodies)
    assert len(set(bodies)) == 50


def test_bodies_are_reproducible_from_the_seed() -> None:
    assert make_bodies(3, 64, seed=7) == make_bodies(3, 64, seed=7)
    assert make_bodies(3, 64, seed=7) != make_bodies(3, 64, seed=8)


def test_bodies_too_small_for_a_tag_are_refused() -> None:
    with pytest.raises(ValueError):
        make_bodies(1, 8)


@pytest.mark.parametrize("seq", [0, 1, 42, 10**15])
def test_a_tagged_body_keeps_its_length_and_gives_its_sequence_back(seq: int) -> None:
    body = make_bodies(1, 1024)[0]
    tagged = tag_body(seq, body)
    assert len(tagged) == len(body)
    assert tagged[16:] == body[16:]
    assert tag_of(tagged) == seq


# --- statistics --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "expected"), [([3.0], 3.0), ([3.0, 1.0, 2.0], 2.0), ([4.0, 1.0, 3.0, 2.0], 2.5)]
)
def test_median_of_odd_and_even_counts(values: list[float], expected: float) -> None:
    assert median(values) == expected


def test_median_of_nothing_is_nan() -> None:
    assert math.isnan(median([]))


@pytest.mark.parametrize(
    ("q", "expected"), [(0, 1.0), (50, 2.5), (100, 4.0), (99, 3.97), (25, 1.75)]
)
def test_percentiles_interpolate_linearly_between_ranks_like_numpy(
    q: float, expected: float
) -> None:
    assert percentile([4.0, 2.0, 1.0, 3.0], q) == pytest.approx(expected)


def test_percentile_of_one_value_is_that_value() -> None:
    assert percentile([5.0], 99) == 5.0


def test_percentile_of_nothing_is_nan_and_q_must_be_a_percentage() -> None:
    assert math.isnan(percentile([], 50))
    with pytest.raises(ValueError):
        percentile([1.0], 101)


@pytest.mark.parametrize(
    ("ours", "theirs", "expected"),
    [
        (10.0, 5.0, 2.0),
        (1.0, 4.0, 0.25),
        (None, 1.0, None),
        (1.0, None, None),
        (1.0, 0.0, None),
        (float("nan"), 1.0, None),
    ],
)
def test_ratio_is_ours_over_theirs_when_both_exist(
    ours: float | None, theirs: float | None, expected: float | None
) -> None:
    assert ratio(ours, theirs) == expected


# --- report ------------------------------------------------------------------------------------


def test_rows_cover_every_phase_and_memory_only_for_non_empty_depths() -> None:
    keys = [row.key for row in report_rows([1, 10], [10_000, 0], 10)]
    assert keys == [
        "send_1",
        "send_10",
        "recv_1",
        "recv_10",
        "latency_p50",
        "latency_p99",
        "depth_0",
        "depth_10000",
        "mem_idle",
        "mem_10000",
    ]


def test_the_table_shows_raybus_over_peer_ratios_and_skips_rows_nobody_measured() -> None:
    rows = report_rows([10, 1000], [0], 10)
    medians = {
        "raybus": {"send_10": 20_000.0, "latency_p50": 1.0},
        "moto": {"send_10": 5_000.0, "latency_p50": 4.0},
        "nats": {"send_10": 40_000.0},
    }
    table = format_table(rows, medians, ["raybus", "moto", "nats"])
    lines = table.splitlines()
    assert lines[0].split() == ["unit", "raybus", "moto", "nats", "raybus/moto", "raybus/nats"]
    send = next(line for line in lines if line.startswith("send ×10 "))
    assert send.split()[-5:] == ["20,000", "5,000", "40,000", "4.00×", "0.50×"]
    latency = next(line for line in lines if line.startswith("e2e latency p50"))
    assert latency.split()[-5:] == ["1.00", "4.00", "—", "0.25×", "—"]
    assert "send ×1,000" not in table  # nobody measured it


def test_the_table_has_no_ratio_columns_without_raybus() -> None:
    table = format_table(report_rows([10], [], 10), {"nats": {"send_10": 1.0}}, ["nats"])
    assert "raybus/" not in table


def test_summaries_are_medians_over_runs() -> None:
    results: dict[str, list[Any]] = {
        "send_10": [
            {"messages": 100, "seconds": 1.0},
            {"messages": 300, "seconds": 1.0},
            {"messages": 200, "seconds": 1.0},
        ],
        "latency": [
            {"extra": {"p50_ms": 1.0, "p99_ms": 3.0}},
            {"extra": {"p50_ms": 2.0, "p99_ms": 9.0}},
            {"extra": {"p50_ms": 5.0, "p99_ms": 4.0}},
        ],
        "mem_idle": [{"rss": 3, "pss": 2_000_000, "uss": 1, "processes": 1}],
        "prefill_1000": [{"messages": 1000, "seconds": 1.0}],
    }
    assert summarize(results) == {
        "send_10": 200.0,
        "latency_p50": 2.0,
        "latency_p99": 4.0,
        "mem_idle": 2.0,
    }


@pytest.mark.parametrize(
    ("only", "peers", "expected"),
    [
        ([], [], ["raybus"]),
        ([], ["nats", "moto", "nats"], ["raybus", "nats", "moto"]),
        (["nats"], ["moto"], ["nats"]),
    ],
)
def test_targets_are_raybus_and_the_peers_unless_only_is_given(
    only: list[str], peers: list[str], expected: list[str]
) -> None:
    assert select_targets(only, peers) == expected


# --- the runner, against an in-memory target --------------------------------------------------


class MemoryTarget(Target):
    """A queue in a deque: enough to check what the runner sends, receives and deletes."""

    name = "memory"
    max_batch = 10

    def __init__(self, send_s: float = 0.0) -> None:
        self.send_s = send_s
        self.queues: dict[str, deque[bytes]] = {}
        self.in_flight: dict[str, set[int]] = {}
        self.requests: list[int] = []
        self.deleted = 0
        self.left_at_delete: dict[str, int] = {}
        self.wake = asyncio.Event()

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def create_queue(self, name: str) -> None:
        self.queues[name] = deque()

    async def delete_queue(self, name: str) -> None:
        self.left_at_delete[name] = len(self.queues.pop(name))

    async def send(self, queue: str, bodies: Sequence[bytes]) -> None:
        assert len(bodies) <= self.max_batch
        self.requests.append(len(bodies))
        self.queues[queue].extend(bodies)
        self.wake.set()
        await asyncio.sleep(self.send_s)

    async def receiver(self, queue: str, max_messages: int) -> Receiver:
        target = self

        class _Receiver(Receiver):
            async def receive(self, wait_s: float) -> list[Message]:
                q = target.queues[queue]
                if not q:
                    target.wake.clear()
                    try:
                        await asyncio.wait_for(target.wake.wait(), wait_s)
                    except asyncio.TimeoutError:
                        return []
                got = [q.popleft() for _ in range(min(max_messages, len(q)))]
                return [Message(b, None) for b in got]

            async def delete(self, messages: Sequence[Message]) -> None:
                target.deleted += len(messages)

        return _Receiver()


def test_a_throughput_phase_sends_in_batches_then_receives_and_deletes_everything() -> None:
    target = MemoryTarget()
    bench = Bench(target, parse("--concurrency", "4"), make_bodies(7, 32))

    async def scenario() -> tuple[int, int]:
        queue = await bench.fresh_queue("t")
        sent = await bench.send(queue, 95, 10, 30.0, "send")
        got = await bench.receive(queue, sent.messages, 10, 30.0, "receive")
        return sent.messages, got.messages

    assert asyncio.run(scenario()) == (95, 95)
    assert sorted(target.requests) == [5] + [10] * 9
    assert target.deleted == 95


def test_the_latency_phase_matches_each_sample_to_its_message() -> None:
    target = MemoryTarget()
    bench = Bench(target, parse(), make_bodies(3, 64))
    measured = asyncio.run(bench.latency(samples=30, gap_s=0))
    assert measured.messages == 30
    assert 0 < measured.extra["p50_ms"] <= measured.extra["p99_ms"]
    assert target.queues == {}  # its queue was deleted


def test_every_phase_runs_and_the_depth_sweep_keeps_the_depth() -> None:
    target = MemoryTarget()
    args = parse(
        "--runs",
        "2",
        "--batches",
        "1",
        "10",
        "1000",
        "--seconds",
        "5",
        "--max-messages",
        "40",
        "--latency-samples",
        "5",
        "--depths",
        "0",
        "50",
        "--depth-messages",
        "20",
        "--concurrency",
        "3",
    )
    results = asyncio.run(bench_target(Bench(target, args, make_bodies(5, 32)), args))
    assert len(results["send_10"]) == len(results["recv_10"]) == 2
    assert "send_1000" not in results  # above the target's max_batch
    assert results["prefill_50"][0]["seconds"] >= 0
    assert "depth_stopped" not in results
    # each run tops up to 50 + 20 and times >= 20 receives (concurrent receivers may overshoot)
    assert all(r["messages"] >= 20 for r in results["depth_50"])
    left = next(n for name, n in target.left_at_delete.items() if "-depth-" in name)
    assert left == 50 + 20 - results["depth_50"][-1]["extra"]["received"]
    assert target.queues == {}


# --- process trees -----------------------------------------------------------------------------


def test_the_memory_of_a_tree_includes_its_children() -> None:
    child = subprocess.Popen(["sleep", "5"])
    try:
        assert child.pid in tree_pids([os.getpid()])
        alone, both = tree_memory([child.pid]), tree_memory([os.getpid()])
        assert alone is not None and both is not None
        assert both.processes >= 2 and both.pss > alone.pss > 0
        assert both.uss <= both.pss <= both.rss
    finally:
        child.kill()
        child.wait()


def test_a_target_too_slow_to_fill_the_queue_stops_the_sweep_at_the_depth_it_reached() -> None:
    target = MemoryTarget(send_s=0.01)  # 10 messages per 10 ms and worker
    args = parse(
        "--phases",
        "depth",
        "--runs",
        "1",
        "--depths",
        "0",
        "20",
        "100000",
        "--depth-messages",
        "10",
        "--depth-budget-s",
        "0.3",
        "--big-concurrency",
        "1",
    )
    results = asyncio.run(bench_target(Bench(target, args, make_bodies(5, 32)), args))
    assert "depth_20" in results and "depth_100000" not in results
    stopped = results["depth_stopped"][0]
    assert 20 <= stopped["depth"] < 100_000
    assert summarize(results).keys() == {"depth_0", "depth_20"}  # no process: no memory


def test_the_bare_client_column_is_not_a_peer_to_compare_against() -> None:
    medians = {"raybus": {"send_10": 2.0}, "raybus-raw": {"send_10": 4.0}, "nats": {"send_10": 1.0}}
    header = format_table(report_rows([10], [], 10), medians, list(medians)).splitlines()[0]
    assert header.split() == ["unit", "raybus", "raybus-raw", "nats", "raybus/nats"]
