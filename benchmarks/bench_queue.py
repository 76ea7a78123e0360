"""Queue throughput, latency, depth and memory: raybus's gateway side by side with peers.

    .venv/bin/python -m benchmarks.bench_queue                         # raybus alone (~3 min)
    .venv/bin/python -m benchmarks.bench_queue --peer nats --peer moto # plus peers, with ratios
    .venv/bin/python -m benchmarks.bench_queue --only rabbitmq --runs 1 --seconds 1
    .venv/bin/python -m benchmarks.bench_queue --depths 0 10000 100000 1000000   # full sweep
    raybus bench queue ...                                             # the same, from the CLI

Targets (see ``benchmarks/peers``): ``raybus`` (the SDK against ``--url``, or a ``raybus up``
it starts and stops itself), ``moto`` and ``localstack`` (SQS API), ``nats`` (JetStream) and
``rabbitmq`` (AMQP). Peers are started on loopback and stopped by the benchmark; one target
runs at a time, all from this one client process (asyncio).

Workload, 1 KiB bodies (``--body-bytes``, printable ASCII so that every protocol carries them
as is), for each target in turn:

1. send ×B / receive+delete ×B for each batch size B in ``--batches`` (1, 10, 1000): a fresh
   queue; send for ``--seconds`` (at most ``--max-messages``) with an in-flight window of
   ``--concurrency`` requests (``--big-concurrency`` for B >= 100); then receive (long poll
   1 s) and delete in batches of B with the same window until everything sent is gone or
   ``--seconds`` pass. A target whose protocol caps batches below B (SQS: 10) skips B.
2. end-to-end latency at light load: one message at a time; a consumer is parked in a long
   poll, the message is sent, the time from the send call to the receive returning it is one
   sample (``--latency-samples`` after 20 warm-up ones); p50 and p99.
3. depth sweep: one queue is filled to each depth in ``--depths`` in turn (at the target's
   largest batch); at each depth ``--depth-messages`` more are sent, then received and
   deleted in batches of ``--depth-batch`` (timed), so the depth stays put.
4. memory of the system's whole process tree (PSS from ``/proc/<pid>/smaps_rollup``; RSS and
   USS in ``--json``): idle with an empty queue, and at each depth of the sweep.

Every measurement is repeated ``--runs`` times; the table shows medians, ``--json`` every run
plus the CPU seconds the server tree and this client used per phase.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shlex
import signal
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .peers.workload import (
    Bench,
    Measurement,
    Results,
    bench_target,
    make_bodies,
    median,
    percentile,
    tag_body,
    tag_of,
)

__all__ = [
    "Bench",
    "Measurement",
    "add_arguments",
    "format_table",
    "main",
    "make_bodies",
    "median",
    "percentile",
    "ratio",
    "report_rows",
    "run",
    "select_targets",
    "summarize",
    "tag_body",
    "tag_of",
]

# --- report: rows, table, summaries ------------------------------------------------------------


def ratio(ours: float | None, theirs: float | None) -> float | None:
    if ours is None or theirs is None or theirs == 0 or ours != ours or theirs != theirs:
        return None
    return ours / theirs


def _fmt(value: float | None, unit: str) -> str:
    if value is None or value != value:
        return "—"
    if unit == "ms":
        return f"{value:.2f}"
    if unit == "MB":
        return f"{value:,.0f}"
    return f"{value:,.0f}"


@dataclass(frozen=True)
class Row:
    key: str
    label: str
    unit: str  # "msg/s" (higher is better), "ms", "MB" (lower is better)


def report_rows(batches: Sequence[int], depths: Sequence[int], depth_batch: int) -> list[Row]:
    rows = [Row(f"send_{b}", f"send ×{b:,}", "msg/s") for b in batches]
    rows += [Row(f"recv_{b}", f"receive+delete ×{b:,}", "msg/s") for b in batches]
    rows += [
        Row("latency_p50", "e2e latency p50", "ms"),
        Row("latency_p99", "e2e latency p99", "ms"),
    ]
    rows += [
        Row(f"depth_{d}", f"receive+delete ×{depth_batch:,} at depth {d:,}", "msg/s")
        for d in sorted(depths)
    ]
    rows += [Row("mem_idle", "memory (PSS), idle, empty queue", "MB")]
    rows += [Row(f"mem_{d}", f"memory (PSS), {d:,} queued", "MB") for d in sorted(depths) if d]
    return rows


def format_table(
    rows: Sequence[Row], medians: dict[str, dict[str, float]], targets: Sequence[str]
) -> str:
    """Plain-text table: one column per target, then ratios of each raybus target that ran
    (the native API ``raybus``, the SQS endpoint ``raybus-sqs``) over each peer."""
    peers = [t for t in targets if not t.startswith("raybus")]
    pairs = [(ours, peer) for ours in ("raybus", "raybus-sqs") if ours in targets for peer in peers]
    header = ["", "unit", *targets, *(f"{ours}/{peer}" for ours, peer in pairs)]
    lines = [header]
    for row in rows:
        values = [medians.get(t, {}).get(row.key) for t in targets]
        if all(v is None for v in values):
            continue
        line = [row.label, row.unit, *(_fmt(v, row.unit) for v in values)]
        for ours, peer in pairs:
            r = ratio(medians.get(ours, {}).get(row.key), medians.get(peer, {}).get(row.key))
            line.append("—" if r is None else f"{r:.2f}×")
        lines.append(line)
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    out = []
    for n, line in enumerate(lines):
        cells = [line[0].ljust(widths[0]), line[1].ljust(widths[1])]
        cells += [cell.rjust(widths[i + 2]) for i, cell in enumerate(line[2:])]
        out.append("  ".join(cells).rstrip())
        if n == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


# --- measuring ---------------------------------------------------------------------------------


def summarize(results: Results) -> dict[str, float]:
    """Median per row key (msg/s, ms or MB) over the runs of one target."""
    out: dict[str, float] = {}
    for key, runs in results.items():
        if key.startswith("mem_"):
            if runs and runs[0]:
                out[key] = runs[0]["pss"] / 1e6
        elif key == "latency":
            out["latency_p50"] = median(r["extra"]["p50_ms"] for r in runs)
            out["latency_p99"] = median(r["extra"]["p99_ms"] for r in runs)
        elif not key.startswith(("prefill_", "depth_stopped")):
            out[key] = median(r["messages"] / r["seconds"] for r in runs if r["seconds"] > 0)
    return out


def machine() -> dict[str, Any]:
    info: dict[str, Any] = {
        "cpus": len(os.sched_getaffinity(0))
        if hasattr(os, "sched_getaffinity")
        else os.cpu_count(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "date": time.strftime("%Y-%m-%d"),
        "loadavg_1m": round(os.getloadavg()[0], 2),
    }
    info["commit"] = _git_commit()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            models = [
                line.split(":", 1)[1].strip() for line in handle if line.startswith("model name")
            ]
        info["cpu"] = models[0] if models else platform.processor()
        with open("/proc/meminfo", encoding="utf-8") as handle:
            total_kb = int(handle.readline().split()[1])
        info["memory_gib"] = round(total_kb / 2**20, 1)
    except OSError:
        pass
    return info


def _git_commit() -> str:
    """The checkout's commit, ``+dirty`` when code (not docs) differs from it."""
    import subprocess

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    try:
        head = subprocess.run(
            ["git", "-C", root, "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", root, "status", "--porcelain", "--", "*.py"],
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "?"
    return head + ("+dirty" if dirty else "")


async def run_all(args: argparse.Namespace) -> dict[str, Any]:
    from .peers import TargetUnavailable, make_target
    from .peers.base import cpu_probe_ms

    bodies = make_bodies(args.pool, args.body_bytes, args.seed)
    report: dict[str, Any] = {
        "machine": machine(),
        "command": args.command,
        "settings": {k: v for k, v in vars(args).items() if k != "func"},
        "targets": {},
    }
    for name in args.targets:
        target = make_target(name, args)
        load_before = os.getloadavg()[0]
        probe_before = cpu_probe_ms()
        entry: dict[str, Any] = {"protocol": target.protocol, "durability": target.durability}
        report["targets"][name] = entry
        try:
            await target.start()
            entry["version"] = target.version()
            entry["results"] = await bench_target(Bench(target, args, bodies), args)
            entry["medians"] = summarize(entry["results"])
        except TargetUnavailable as exc:
            entry["error"] = str(exc)
            print(f"{name}: unavailable: {exc}", file=sys.stderr)
        except Exception as exc:  # one failing target must not cost the others' figures
            entry["error"] = f"{type(exc).__name__}: {exc}"
            print(f"{name}: failed: {entry['error']}", file=sys.stderr)
        finally:
            await target.stop()
            entry["loadavg_1m"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
            entry["cpu_probe_ms"] = [probe_before, cpu_probe_ms()]
    return report


def render(report: dict[str, Any], args: argparse.Namespace) -> str:
    m = report["machine"]
    lines = [
        f"machine: {m.get('cpus')} CPUs ({m.get('cpu', '?')}), {m.get('memory_gib', '?')} GiB, "
        f"Linux {m['kernel']}, Python {m['python']}, {m['date']}, raybus {m.get('commit', '?')}",
        f"command: {report['command']}",
        f"medians of {args.runs} runs; {args.body_bytes}-byte bodies; window {args.concurrency} "
        f"requests (batches >= 100: {args.big_concurrency}); {args.seconds:g} s per phase",
        "",
    ]
    ran = [n for n, e in report["targets"].items() if "medians" in e]
    medians = {n: report["targets"][n]["medians"] for n in ran}
    lines.append(
        format_table(report_rows(args.batches, args.depths, args.depth_batch), medians, ran)
    )
    lines.append("")
    for name, entry in report["targets"].items():
        stopped = entry.get("results", {}).get("depth_stopped")
        if stopped:
            lines.append(
                f"{name}: depth sweep stopped at {stopped[0]['depth']:,} messages "
                f"(--depth-budget-s {args.depth_budget_s:g} used up)"
            )
        if "error" in entry:
            lines.append(f"{name}: not run — {entry['error'].splitlines()[0]}")
        else:
            lines.append(
                f"{name}: {entry.get('version', '')}; {entry['protocol']}; {entry['durability']}; "
                f"load average {entry['loadavg_1m'][0]:.1f} → {entry['loadavg_1m'][1]:.1f}; "
                f"CPU probe {entry['cpu_probe_ms'][0]:g} → {entry['cpu_probe_ms'][1]:g} ms"
            )
    return "\n".join(lines)


# --- command line ------------------------------------------------------------------------------

PHASES = ("throughput", "latency", "depth")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from .peers import TARGETS

    add = parser.add_argument
    add(
        "--peer",
        action="append",
        default=[],
        choices=TARGETS[1:],
        help="also run this peer after raybus (repeatable)",
    )
    add(
        "--only",
        action="append",
        default=[],
        choices=TARGETS,
        help="run only these targets (repeatable), e.g. --only nats",
    )
    add("--url", default=None, help="attach to this raybus gateway instead of starting `raybus up`")
    add(
        "--up-arg",
        action="append",
        default=[],
        metavar="ARG",
        help="extra argument for the `raybus up` the benchmark starts (repeatable)",
    )
    add(
        "--raybus-pid",
        type=int,
        default=None,
        help="root pid of an attached raybus (memory/CPU); default: found from --url's port",
    )
    add("--partitions", type=int, default=None, help="partitions per raybus queue")
    add(
        "--localstack-python",
        default=None,
        help="python of the LocalStack venv (default .venv-localstack/bin/python)",
    )
    add("--phases", nargs="+", default=list(PHASES), choices=PHASES)
    add("--batches", type=int, nargs="+", default=[1, 10, 1000])
    add("--runs", type=int, default=3)
    add("--seconds", type=float, default=3.0, help="time cap of one send or receive phase")
    add("--max-messages", type=int, default=200_000, help="cap of one send phase")
    add("--concurrency", type=int, default=32, help="requests in flight for batches < 100")
    add("--big-concurrency", type=int, default=4, help="requests in flight for batches >= 100")
    add(
        "--receive-wait-s",
        type=float,
        default=1.0,
        help="long poll of the throughput phases' receives (ends a drained queue's phase)",
    )
    add("--latency-samples", type=int, default=500)
    add(
        "--latency-gap-ms",
        type=float,
        default=2.0,
        help="pause between a consumer parking its long poll and the next send",
    )
    add(
        "--depths",
        type=int,
        nargs="+",
        default=[0, 10_000],
        help="queue depths of the sweep (README: 0 10000 100000 1000000)",
    )
    add("--depth-batch", type=int, default=10)
    add(
        "--depth-budget-s",
        type=float,
        default=600.0,
        help="time for filling and topping up in the whole sweep of one target",
    )
    add("--depth-messages", type=int, default=20_000, help="messages timed at each depth")
    add("--body-bytes", type=int, default=1024)
    add("--pool", type=int, default=2000, help="distinct bodies cycled through")
    add("--seed", type=int, default=0)
    add(
        "--stall-s",
        type=float,
        default=60.0,
        help="give up on a target that does not answer a request in this time",
    )
    add("--json", default=None, metavar="PATH", help="also write every run as JSON (- = stdout)")
    add("--no-progress", action="store_true", help="no progress bars or notes on stderr")


def select_targets(only: Sequence[str], peers: Sequence[str]) -> list[str]:
    """``--only`` wins; otherwise raybus then each ``--peer`` (in order, once each)."""
    return list(dict.fromkeys(only or ["raybus", *peers]))


def _terminate(signum: int, frame: object) -> None:
    """SIGTERM/SIGINT: stop every server this run started, then leave at once. (Raising
    ``SystemExit`` into the event loop is not enough: asyncio turns it into cancellations
    during its cleanup, and a swallowed one lets the workload run on.)"""
    from .peers.base import stop_all

    print(f"\nsignal {signum}: stopping the servers started by this run", file=sys.stderr)
    stop_all()
    os._exit(128 + signum)


def run(args: argparse.Namespace) -> int:
    """Run the benchmark for parsed ``args`` (``add_arguments``); exit code 1 if a target failed."""
    if not getattr(args, "command", None):
        args.command = shlex.join(sys.argv)
    args.targets = select_targets(args.only, args.peer)
    if max(args.batches) > 1000 or min(args.batches) < 1:
        print("error: batches are 1-1000 messages", file=sys.stderr)
        return 2
    for signum in (signal.SIGTERM, signal.SIGINT):  # leave no server behind
        signal.signal(signum, _terminate)
    report = asyncio.run(run_all(args))
    text = render(report, args)
    if args.json == "-":
        print(json.dumps(report, indent=1))
    else:
        print(text)
        if args.json:
            with open(args.json, "w", encoding="utf-8") as handle:
                json.dump(report, handle, indent=1)
    return 1 if any("error" in e for e in report["targets"].values()) else 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="bench_queue",
        description=(__doc__ or "").split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_arguments(parser)
    given = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(given)
    args.command = shlex.join([".venv/bin/python", "-m", "benchmarks.bench_queue", *given])
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
