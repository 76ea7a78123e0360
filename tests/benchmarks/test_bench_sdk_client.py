"""The client-cost benchmark runs end to end at a tiny size: every client against the stand-in
gateway, one row per workload and batch, a positive figure in every cell."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks import bench_sdk_client


def test_each_client_and_workload_gets_a_positive_figure(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out = tmp_path / "clients.json"
    argv = ["--batches", "10", "100", "--messages", "400", "--runs", "1", "--json", str(out)]
    assert bench_sdk_client.main(argv) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].split() == ["sdk", "sdk-aiohttp", "bare"]
    rows = [line.rsplit(maxsplit=3) for line in lines[2:]]
    assert [row[0] for row in rows] == [
        "send ×10",
        "receive+delete ×10",
        "send ×100",
        "receive+delete ×100",
    ]
    assert all(float(cell) > 0 for row in rows for cell in row[1:])
    saved = json.loads(out.read_text())
    assert set(saved["results"]) == {"10", "100"}
    assert set(saved["results"]["10"]["send"]) == {"sdk", "sdk-aiohttp", "bare"}
