"""The control-plane benchmark runs end to end at a tiny size and prints one row per size."""

from __future__ import annotations

import pytest

from benchmarks import bench_control


def test_each_size_prints_a_row_of_positive_figures(capsys: pytest.CaptureFixture[str]) -> None:
    assert bench_control.main(["--queues", "10", "20", "--runs", "1"]) == 0
    header, *rows = capsys.readouterr().out.splitlines()
    assert header.split()[:2] == ["queues", "hosts"]
    assert [row.split()[:2] for row in rows] == [["10", "1"], ["20", "1"]]


def test_the_measure_counts_the_moves_onto_the_added_hosts() -> None:
    row = bench_control.measure(queues=8, partitions=2, hosts=2, runs=1)
    # 16 partitions, and 2 of the queue created while timing, on 2 hosts; then 4 hosts:
    # 9 + 9 become 5 + 5 + 4 + 4, so each of the first two gives 4
    assert row["moves"] == 8
    assert row["catalog_mb"] > 0 and row["save_ms"] > 0 and row["unpickle_ms"] > 0
