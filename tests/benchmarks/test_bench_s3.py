"""The S3 benchmark's own code paths, fast: bodies, the disk measure, the RSS sampler, the
profile summary, the report's ratios and disk fraction, and one tiny run of every case against
moto's S3 served from a thread of this process (no raybus, no LocalStack: the real run is
``python -m benchmarks.bench_s3``)."""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from benchmarks.bench_s3 import (
    BUCKET,
    AttachedServer,
    body_for,
    disk_write_mb_s,
    format_report,
    get_phase,
    make_client,
    measure_memory,
    parser,
    summarize,
    summarize_profile,
)

from benchmarks import bench_s3

MIB = 1 << 20


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    """moto's S3 on a free loopback port, in a thread of this process."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        yield f"http://{host}:{port}"
    finally:
        server.stop()


# -- pure parts ------------------------------------------------------------------------------------


def test_bodies_have_their_size_differ_per_key_and_are_reproducible() -> None:
    a, b = body_for("k/1", 1024), body_for("k/2", 1024)
    assert len(a) == len(b) == 1024
    assert a != b and a[32:] == b[32:]  # the key's digest first, the shared bytes after
    assert body_for("k/1", 1024) == a
    assert len(body_for("k", 10)) == 10
    assert len(set(body_for("k", MIB)[i : i + 4096] for i in range(32, MIB - 4096, 4096))) > 200


def test_the_disk_measure_writes_the_size_and_removes_its_file(tmp_path: Path) -> None:
    speed = disk_write_mb_s(str(tmp_path), 3 * MIB + 5, chunk=MIB)
    assert speed > 0
    assert list(tmp_path.iterdir()) == []


def test_the_memory_measure_sees_this_process_grow(tmp_path: Path) -> None:
    server = AttachedServer("http://127.0.0.1:1")
    server._root = os.getpid()
    held: list[bytes] = []

    def grow() -> None:
        held.append(b"x" * (80 * MIB))  # written, so resident
        time.sleep(0.1)

    report = measure_memory(server, "grow", grow, 80 * MIB, idle_s=0.05)
    assert report.increase >= 60 * MIB
    assert report.processes[0]["pid"] == os.getpid()
    assert report.processes[0]["peak"] - report.processes[0]["idle"] >= 60 * MIB
    assert report.mb_s > 0
    held.clear()


def test_the_profile_summary_ranks_work_and_counts_waits_apart(tmp_path: Path) -> None:
    raw = tmp_path / "p.txt"
    raw.write_text(
        "thread (1): loop;run (a.py:1);md5 (payload.py:712) 60\n"
        "thread (1): loop;run (a.py:1);read (streams.py:9) 20\n"
        "thread (2): pool;_worker (concurrent/futures/thread.py:81) 500\n"
        "thread (1): loop;EpollSelector.select (selectors.py:468) 300\n"
    )
    summary = summarize_profile([str(raw)], top=5, possible=100)
    assert (summary["samples"], summary["idle_samples"]) == (80, 800)
    assert summary["self"] == [(60.0, "md5 (payload.py:712)"), (20.0, "read (streams.py:9)")]
    assert (80.0, "run (a.py:1)") in summary["inclusive"]
    assert summary["threads"] == [(80.0, "thread (1): loop")]


def _cell(rate: float) -> dict[str, float]:
    return {"rate": rate, "server_cpu": 0.001, "client_cpu": 0.002, "count": 1.0,
            "seconds": 1.0, "retries": 0.0, "host_cpu": 0.0005}  # fmt: skip


def test_the_report_gives_medians_ratios_and_the_disk_fraction() -> None:
    runs = {
        "raybus": {"small_put": [_cell(300), _cell(100), _cell(200)],
                   "large_put": [_cell(400), _cell(500), _cell(300)]},
        "moto": {"small_put": [_cell(50), _cell(100), _cell(150)], "large_put": []},
    }  # fmt: skip
    report: dict[str, Any] = {
        "date": "today",
        "command": "python -m benchmarks.bench_s3",
        "servers": ["raybus", "moto"],
        "cases": [
            {"key": "small_put", "label": "1 KiB PutObject", "per_object": True},
            {"key": "large_put", "label": "64 MiB PutObject", "per_object": False},
        ],
        "runs": runs,
        "medians": summarize(runs),
        "disk": {"large": [800.0, 1000.0, 600.0], "object": [900.0], "large_mib": 1024,
                 "object_mib": 64, "filesystem": "/dev/x ext4 at /", "directory": "/tmp"},
        "hash_mb_s": {"md5": 500.0, "sha256": 1000.0, "crc32": 2000.0},
        "memory": {"raybus": [{"transfer": "upload_file", "mb_s": 50.0, "idle_total": 10**9,
                               "peak_total": 10**9 + 6 * 10**7, "increase": 6 * 10**7,
                               "gateway_idle": 2 * 10**8, "gateway_peak": 2.6 * 10**8,
                               "processes": [{"label": "ray::GatewayHost", "pid": 1,
                                              "gateway": True, "idle": 2 * 10**8,
                                              "peak": 2.6 * 10**8}]}]},
        "profiles": {},
        "unavailable": {"localstack": "localstack: no health answer after 240 s:\nlog"},
        "versions": {"raybus": "raybus 0.1", "moto": "moto 5"},
        "client": {"processes": 2, "threads": 8, "boto3": "1", "transfer_manager": "classic"},
        "machine": {"load_before": (1.0, 1.0, 1.0), "load_after": (2.0, 2.0, 2.0)},
    }  # fmt: skip
    assert report["medians"]["raybus"]["small_put"]["rate"] == 200
    assert "large_put" not in report["medians"]["moto"]
    text = format_report(report)
    rows = {line.split(" | ")[0]: line for line in text.splitlines() if line.startswith("| ")}
    assert rows["| 1 KiB PutObject"].endswith("| 200 (100–300) | 100 (50–150) | 2.00× |")
    assert rows["| 64 MiB PutObject"].endswith("| 400 (300–500) | — | — |")
    assert "**800 MB/s**" in text
    assert "400 MB/s = **50 %** of it (per run: 50 %, 50 %, 50 %" in text
    assert "| 1,000 → 1,060 MB (+60) | ray::GatewayHost 200 → 260 MB (+60) |" in text
    assert "LocalStack unavailable: localstack: no health answer after 240 s" in text


def test_the_command_line_takes_servers_and_sizes_as_lists() -> None:
    args = parser().parse_args(["--only", "raybus,moto", "--only", "localstack", "--sizes", "1k"])
    assert args.only == [["raybus", "moto"], ["localstack"]]
    assert args.sizes == ["1k"]
    with pytest.raises(SystemExit):
        parser().parse_args(["--only", "minio"])


# -- against moto ----------------------------------------------------------------------------------


def test_a_body_read_back_wrong_is_counted(moto_url: str) -> None:
    client = make_client(moto_url)
    client.create_bucket(Bucket=BUCKET)
    client.put_object(Bucket=BUCKET, Key="good", Body=body_for("good", 2048))
    client.put_object(Bucket=BUCKET, Key="bad", Body=body_for("other", 2048))
    result = get_phase(moto_url, ["good", "bad"], 2048, 2, 0.0)
    assert (result["objects"], result["bytes"]) == (2, 4096)
    assert (result["wrong_count"], result["wrong"]) == (1, ["bad"])


def test_a_tiny_run_measures_every_case_and_the_memory(
    moto_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "report.json"
    argv = [
        "--attach", moto_url, "--runs", "1", "--seconds", "0.1", "--client-processes", "0",
        "--client-threads", "2", "--large-mib", "1", "--large-objects", "1", "--disk-mib", "2",
        "--disk-dir", str(tmp_path), "--memory-mib", "8", "--idle-s", "0.05", "--json", str(out),
    ]  # fmt: skip
    assert bench_s3.main(argv) == 0
    report = json.loads(out.read_text())
    assert report["servers"] == ["attached"]
    medians = report["medians"]["attached"]
    assert set(medians) == {case.key for case in bench_s3.cases(1)}
    for key, cell in medians.items():
        assert cell["rate"] > 0 and cell["count"] >= 1, key
    # every object put was read back whole, and deleted afterwards
    assert medians["small_get"]["count"] == medians["small_put"]["count"]
    left = make_client(moto_url).list_objects_v2(Bucket=BUCKET).get("Contents", [])
    assert not [o["Key"] for o in left if o["Key"].startswith(("run0/", "memory/"))]
    assert report["disk"]["large"][0] > 0 and report["disk"]["object"][0] > 0
    transfers = report["memory"]["attached"]
    assert [t["transfer"] for t in transfers] == ["upload_file", "download_file"]
    assert all(t["peak_total"] > 0 and t["processes"] for t in transfers)
    assert all(t["gateway_peak"] > 0 and t["gateway_peak"] <= t["peak_total"] for t in transfers)
    table = capsys.readouterr().out
    for case in bench_s3.cases(1):
        assert f"| {case.label} |" in table
    assert list(tmp_path.iterdir()) == [out]


def test_servers_are_named_and_unknown_ones_refused() -> None:
    args = argparse.Namespace(up_arg=[], localstack_python="")
    assert [bench_s3.make_server(n, args).name for n in bench_s3.SERVERS] == list(bench_s3.SERVERS)
    with pytest.raises(ValueError):
        bench_s3.make_server("minio", args)
