"""The AWS front benchmark runs every case through the real codecs (a tiny run)."""

from __future__ import annotations

import pytest

from benchmarks import bench_aws_front


def test_every_case_runs_and_prints_a_row(capsys: pytest.CaptureFixture[str]) -> None:
    assert bench_aws_front.main(["--runs", "1", "--requests", "3"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split("  ")[0].strip() for line in lines[1:]] == [
        case.name for case in bench_aws_front.cases()
    ]
    for line in lines[1:]:
        assert float(line.split()[-6]) > 0  # µs per request
