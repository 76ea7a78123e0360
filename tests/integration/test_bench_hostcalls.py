"""``benchmarks.bench_hostcalls`` runs against the session's Ray instance and reports both
transports for each size (its figures are for benchmarks/README.md, not asserted here)."""

from __future__ import annotations

import pytest

from benchmarks import bench_hostcalls
from raybus.control import RunningCluster


def test_the_host_call_benchmark_reports_ray_and_the_channel(
    cluster: RunningCluster, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        bench_hostcalls.main(["--calls", "8", "--window", "4", "--ops", "1", "3", "--runs", "1"])
        == 0
    )
    rows = [line.split() for line in capsys.readouterr().out.splitlines()[1:]]
    assert [(row[0], row[1]) for row in rows] == [
        ("1", "ray"),
        ("1", "channel"),
        ("3", "ray"),
        ("3", "channel"),
    ]
    # CPU times tick in 10 ms steps (a few calls may show 0); a call always takes wall time
    assert all(float(value) >= 0 for row in rows for value in row[2:4])
    assert all(float(row[4]) > 0 for row in rows)
