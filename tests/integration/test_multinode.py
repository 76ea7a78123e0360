"""Three Ray nodes on one machine (``ray.cluster_utils.Cluster``), one shared data directory."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def test_partitions_spread_over_nodes_and_survive_losing_one(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "tests.integration.multinode_scenario", str(tmp_path / "data")],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-6000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert len(set(report["nodes_before"].values())) == 3
    assert report["nodes_after"][report["victim"]] != report["nodes_before"][report["victim"]]
    assert report["drained"] >= report["sent"] - report["deleted"]
