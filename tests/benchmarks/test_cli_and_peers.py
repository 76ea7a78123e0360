"""``raybus bench queue`` finds the benchmark; one real peer (NATS) end to end when installed."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from raybus.cli import bench
from raybus.cli.main import build_parser

REPO = Path(__file__).resolve().parents[2]


def test_the_verb_finds_this_checkout_and_loads_the_benchmark_by_path() -> None:
    assert bench.find_repo() == REPO
    module = bench.load_benchmark("bench_queue", REPO)
    assert Path(module.__file__ or "").resolve() == REPO / "benchmarks" / "bench_queue.py"


def test_the_verb_takes_the_benchmark_flags() -> None:
    args = build_parser(["bench"]).parse_args(
        ["bench", "queue", "--peer", "nats", "--runs", "1", "--depths", "0", "1000"]
    )
    assert (args.peer, args.runs, args.depths) == (["nats"], 1, [0, 1000])
    assert callable(args.func)


def test_batches_above_the_gateway_limit_are_refused_before_anything_starts(
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = build_parser(["bench"]).parse_args(["bench", "queue", "--batches", "2000"])
    assert args.func(args) == 2
    assert "1-1000" in capsys.readouterr().err


@pytest.mark.skipif(shutil.which("nats-server") is None, reason="nats-server is not installed")
def test_a_nats_latency_run_reports_percentiles_and_leaves_no_server(
    capsys: pytest.CaptureFixture[str],
) -> None:
    import psutil

    args = build_parser(["bench"]).parse_args(
        [
            "bench",
            "queue",
            "--only",
            "nats",
            "--phases",
            "latency",
            "--runs",
            "1",
            "--latency-samples",
            "20",
            "--no-progress",
            "--json",
            "-",
        ]
    )
    assert args.func(args) == 0
    report = json.loads(capsys.readouterr().out)
    medians = report["targets"]["nats"]["medians"]
    assert 0 < medians["latency_p50"] <= medians["latency_p99"]
    assert medians["mem_idle"] > 0
    assert not [
        p
        for p in psutil.process_iter(["name"])
        if p.info["name"] == "nats-server" and "raybus-bench" in " ".join(p.cmdline())
    ]
