"""Three Ray nodes on one machine (``ray.cluster_utils.Cluster``), one shared data directory,
raybus attached: every node's partition host serves the gateway, and a node lost under load
loses no acknowledged message (``tests/integration/multinode_scenario.py``)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def test_every_node_serves_and_a_node_lost_under_load_loses_no_acknowledged_message(
    tmp_path: Path,
) -> None:
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
    assert all(count > 0 for count in report["served"].values())  # every node's host served
    assert report["served_after"][report["victim"]] > 0  # and serves again after the move
    assert report["drained"] + report["deleted"] >= report["sent"]
