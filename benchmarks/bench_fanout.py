"""Topic fan-out into queues, and functions fed by a queue through an event-source mapping.

    .venv/bin/python -m benchmarks.bench_fanout                  # both parts, medians of 3 runs
    .venv/bin/python -m benchmarks.bench_fanout --quick          # a smoke run (1 run, tiny sizes)
    .venv/bin/python -m benchmarks.bench_fanout --parts fanout --fanouts 3 --json out.json

One ``raybus up --data-dir <tmp>`` is started as a subprocess (``raybus up`` defaults: fsync
per group commit, the real clock) and stopped with its whole process tree at the end, or
``--url`` attaches to a running gateway. Everything is driven from this process with the
async SDK (``raybus.sdk.AsyncClient``), 1 KiB printable bodies (``--body-bytes``).

1. **Fan-out** — for N in ``--fanouts`` (1, 3, 10): a fresh topic with N fresh standard
   queues subscribed (raw delivery). ``--publishers`` concurrent tasks publish batches of
   ``--publish-batch`` (≤ 10, SNS's limit) for ``--seconds`` (at most ``--max-messages``).
   "published/s" counts acknowledged messages over the publish phase. Then the queues'
   stats are polled every ``--poll-s`` until every queue holds every acknowledged message:
   "deliveries/s during" is what the first poll found (the queues as publishing stopped),
   over the publish phase; "drain" is when the last poll's answers arrived, after publishing
   stopped (resolution: one poll); **deliveries/s** = N × acknowledged / (first publish →
   every queue complete). A queue's count is its ``visible + in_flight + delayed`` (nobody
   consumes them).
2. **Functions** — for each runtime in ``--runtimes`` (task, actor) and each mapping in
   ``--fn-batches`` (``10`` and ``100:1``: batch size, batching window in seconds): a fresh
   queue filled with ``--fn-messages`` messages, a function whose handler does nothing
   (``noop`` below, shipped as a callable unless ``--handler`` names an import path), then
   the mapping is created and the clock runs until the queue is empty (``visible +
   in_flight + delayed == 0``). messages/s and invocations/s over that time (invocations
   from the mapping's stats when the gateway reports them, else ⌈messages / batch⌉ marked
   ``≈``: the queue is full, so every receive but the last fills a batch); "first" is
   when the first messages left the queue (the routing update, worker start-up and the first
   invocations), "messages/s after first" the rate from then on (the warm rate).

Every case runs ``--runs`` times on fresh resources; the tables show medians, ``--json`` every
run with the CPU seconds of the server tree and of this client, and the server tree's memory
(PSS) idle and after each fan-out case (the queues full).
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import math
import os
import shlex
import signal
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from .peers.base import tree_memory, tree_pids
from .peers.workload import make_bodies, median

__all__ = [
    "FanoutBench",
    "add_arguments",
    "case_table",
    "cpu_delta",
    "deliveries_per_s",
    "fn_case_key",
    "fn_result",
    "format_table",
    "main",
    "noop",
    "parse_args",
    "parse_fn_batch",
    "render",
    "run",
    "summarize",
]

QUICK = {"runs": 1, "seconds": 1.0, "fanouts": [1, 3], "fn_messages": 300, "drain_timeout_s": 60.0}
COUNT_KEYS = ("visible", "in_flight", "delayed")


def noop(event: Any, context: Any) -> None:
    """The benchmark's handler: does nothing, so the figures are the platform's cost."""
    return None


# --- pure parts --------------------------------------------------------------------------------


def deliveries_per_s(queues: int, acknowledged: int, seconds: float) -> float:
    """Messages that arrived in all the queues per second: ``queues × acknowledged / seconds``."""
    return queues * acknowledged / seconds if seconds > 0 else float("nan")


def parse_fn_batch(text: str) -> tuple[int, int]:
    """``"100:1"`` → (batch size 100, batching window 1 s); ``"10"`` → (10, 0)."""
    size, _, window = text.partition(":")
    batch, seconds = int(size), int(window or 0)
    if not 1 <= batch <= 10_000 or not 0 <= seconds <= 300:
        raise argparse.ArgumentTypeError(f"{text!r}: batch 1-10000, window 0-300 s")
    return batch, seconds


def fn_case_key(runtime: str, batch: int, window_s: int) -> str:
    return f"fn_{runtime}_b{batch}_w{window_s}"


def queue_count(stats: dict[str, Any]) -> int:
    """Messages a queue holds, whatever their state."""
    return sum(int(stats.get(key, 0)) for key in COUNT_KEYS)


# (header, field, decimals) of each table's columns; medians are taken of these fields
FANOUT_COLUMNS = [
    ("published/s", "published_per_s", 0),
    ("deliveries/s during", "deliveries_per_s_during", 0),
    ("deliveries/s", "deliveries_per_s", 0),
    ("drain s", "drain_s", 2),
    ("PSS MB", "pss_mb", 0),
]
FN_COLUMNS = [
    ("messages/s", "messages_per_s", 0),
    ("invocations/s", "invocations_per_s", 0),
    ("first s", "first_s", 2),
    ("messages/s after first", "warm_messages_per_s", 0),
]


def summarize(results: dict[str, list[dict[str, Any]]]) -> dict[str, dict[str, float]]:
    """Median of every figure of each case over its successful runs (cases with none left
    out); ``estimated`` is 1.0 when a run estimated its invocations."""
    out: dict[str, dict[str, float]] = {}
    for key, runs in results.items():
        done = [r for r in runs if "error" not in r]
        if done:
            columns = FANOUT_COLUMNS if key.startswith("fanout_") else FN_COLUMNS
            out[key] = {
                field: median(r[field] for r in done if field in r)
                for _, field, _ in columns
                if any(field in r for r in done)
            }
            out[key]["estimated"] = float(any(r.get("invocations_estimated") for r in done))
    return out


def fn_result(
    total: int,
    batch: int,
    started: float,
    first: tuple[float, int],
    ended: float,
    stats: dict[str, Any],
) -> dict[str, Any]:
    """The figures of one function run: ``total`` messages from ``started`` to ``ended``;
    ``first`` is (when the first ones had left the queue, how many had); invocations from the
    mapping's ``stats`` when it reports them, else estimated as ⌈total / batch⌉."""
    seconds, (first_at, first_done) = ended - started, first
    reported = stats.get("invocations")
    invocations = reported if isinstance(reported, int) else math.ceil(total / batch)
    warm_s = ended - first_at if first_done < total else 0.0  # all gone at once: no warm rate
    return {
        "messages": total,
        "seconds": seconds,
        "first_s": first_at - started,
        "messages_per_s": total / seconds if seconds > 0 else float("nan"),
        "warm_messages_per_s": (total - first_done) / warm_s if warm_s > 0 else float("nan"),
        "invocations": invocations,
        "invocations_estimated": not isinstance(reported, int),
        "invocations_per_s": invocations / seconds if seconds > 0 else float("nan"),
        "mapping_stats": dict(stats),
    }


def cpu_by_pid(roots: Sequence[int]) -> dict[int, float]:
    """User + system CPU seconds of every live process of the trees, by pid."""
    import psutil

    out: dict[int, float] = {}
    for pid in tree_pids(roots):
        try:
            times = psutil.Process(pid).cpu_times()
        except psutil.Error:
            continue
        out[pid] = times.user + times.system
    return out


def cpu_delta(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU used between two ``cpu_by_pid`` snapshots by the processes alive at the second one
    (new ones count whole; ones that exited in between are lost, so this may undercount —
    but never goes negative, as a plain sum over the tree does when Ray workers exit)."""
    return sum(max(0.0, cpu - before.get(pid, 0.0)) for pid, cpu in after.items())


def _num(value: float | None, digits: int = 0) -> str:
    if value is None or value != value:
        return "—"
    return f"{value:,.{digits}f}"


def format_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Left-aligned first column, right-aligned others, a dashed line under the header."""
    lines = [list(header), *(list(r) for r in rows)]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    out = []
    for n, line in enumerate(lines):
        cells = [
            line[0].ljust(widths[0]),
            *(c.rjust(w) for c, w in zip(line[1:], widths[1:], strict=True)),
        ]
        out.append("  ".join(cells).rstrip())
        if n == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


def case_table(
    columns: Sequence[tuple[str, str, int]],
    cases: Sequence[tuple[str, str]],
    medians: dict[str, dict[str, float]],
) -> str:
    """One row per (label, key) case that has medians; invocations marked ``≈`` if estimated."""
    rows = []
    for label, key in cases:
        if key in medians:
            m = medians[key]
            row = [label]
            for _, field, digits in columns:
                mark = "≈" if field == "invocations_per_s" and m.get("estimated") else ""
                row.append(mark + _num(m.get(field), digits))
            rows.append(row)
    return format_table(["", *(header for header, _, _ in columns)], rows)


# --- the workload ------------------------------------------------------------------------------


class Stalled(RuntimeError):
    """The gateway did not answer a request in ``--stall-s``, or a backlog did not drain."""


class FanoutBench:
    """Runs both parts against a started client (``raybus.sdk.AsyncClient`` or a fake with the
    same surface). ``pids`` gives the server's root processes (memory and CPU; may be empty)."""

    def __init__(
        self, client: Any, args: argparse.Namespace, pids: Callable[[], list[int]] = list
    ) -> None:
        self.client = client
        self.args = args
        self.pids = pids
        self.bodies = [b.decode("ascii") for b in make_bodies(200, args.body_bytes, args.seed)]
        self._seq = 0

    def _name(self, kind: str) -> str:
        self._seq += 1
        return f"bench-{kind}-{os.getpid()}-{self._seq}"

    def _bar(self, total: int | None, desc: str, unit: str = "msg") -> Any:
        from tqdm import tqdm

        return tqdm(
            total=total,
            desc=desc,
            unit=unit,
            unit_scale=True,
            leave=False,
            file=sys.stderr,
            disable=self.args.no_progress,
            dynamic_ncols=True,
        )

    async def _guard(self, call: Awaitable[Any], what: str) -> Any:
        try:
            return await asyncio.wait_for(call, self.args.stall_s)
        except asyncio.TimeoutError:
            raise Stalled(f"no answer to {what} in {self.args.stall_s:g} s") from None

    async def _counts(self, queues: Sequence[Any]) -> list[int]:
        stats = await asyncio.gather(*(self._guard(q.stats(), "queue stats") for q in queues))
        return [queue_count(s) for s in stats]

    def _cpu(self) -> tuple[dict[int, float], float]:
        return cpu_by_pid(self.pids()), time.process_time()

    def _cpu_used(self, before: tuple[dict[int, float], float]) -> dict[str, float]:
        return {
            "server_cpu_s": cpu_delta(before[0], cpu_by_pid(self.pids())),
            "client_cpu_s": time.process_time() - before[1],
        }

    def _pss_mb(self) -> float | None:
        memory = tree_memory(self.pids()) if self.pids() else None
        return memory.pss / 1e6 if memory else None

    # -- 1. fan-out -------------------------------------------------------------------------------
    async def fanout(self, n: int) -> dict[str, Any]:
        client = self.client
        topic = await self._guard(client.create_topic(self._name("topic")), "create_topic")
        queues: list[Any] = []
        try:
            for _ in range(n):
                queues.append(
                    await self._guard(
                        client.create_queue(self._name("fanout"), visibility_timeout_s=600),
                        "create_queue",
                    )
                )
                await self._guard(topic.subscribe(queues[-1], raw=True), "subscribe")
            return await self._fanout(topic, queues)
        finally:
            await self._guard(topic.delete(), "delete_topic")
            for queue in queues:
                await self._guard(client.delete_queue(queue), "delete_queue")

    async def _fanout(self, topic: Any, queues: list[Any]) -> dict[str, Any]:
        args, n = self.args, len(queues)
        state = {"left": args.max_messages, "acked": 0, "failed": 0, "offset": 0}
        published = self._bar(args.max_messages, f"fan-out ×{n}: published")
        delivered = self._bar(None, f"fan-out ×{n}: delivered", unit="dlv")
        first_error: list[str] = []

        async def publisher(deadline: float) -> None:
            pool = len(self.bodies)
            while state["left"] > 0 and time.perf_counter() < deadline:
                size = min(args.publish_batch, state["left"])
                state["left"] -= size
                start, state["offset"] = state["offset"], state["offset"] + size
                entries = [{"body": self.bodies[(start + i) % pool]} for i in range(size)]
                results = await self._guard(topic.publish_batch(entries), "publish_batch")
                failed = [r for r in results if isinstance(r, Exception)]
                if failed and not first_error:
                    first_error.append(repr(failed[0]))
                state["acked"] += size - len(failed)
                state["failed"] += len(failed)
                published.update(size - len(failed))

        async def monitor() -> None:
            while True:
                await asyncio.sleep(args.progress_s)
                total = sum(await self._counts(queues))
                delivered.update(total - delivered.n)

        cpu = self._cpu()
        started = time.perf_counter()
        watcher = asyncio.ensure_future(monitor())
        try:
            deadline = started + args.seconds
            await asyncio.gather(*(publisher(deadline) for _ in range(args.publishers)))
            stopped = time.perf_counter()
        finally:
            watcher.cancel()
            published.close()
        acked = state["acked"]
        polls: list[int] = []  # the first is what the queues held when publishing stopped
        try:
            drained, _ = await self._wait(
                lambda counts: sum(min(c, acked) for c in counts),
                n * acked,
                queues,
                delivered,
                f"{n} queues to hold the {acked:,} acknowledged messages",
                polls,
            )
        finally:
            delivered.close()
        at_stop = polls[0]
        used = self._cpu_used(cpu)
        total_s, publish_s = drained - started, stopped - started
        result: dict[str, Any] = {
            "queues": n,
            "acknowledged": acked,
            "failed": state["failed"],
            "publish_s": publish_s,
            "delivered_at_stop": at_stop,
            "drain_s": drained - stopped,
            "total_s": total_s,
            "published_per_s": acked / publish_s,
            "deliveries_per_s_during": at_stop / publish_s,
            "deliveries_per_s": deliveries_per_s(n, acked, total_s),
            **used,
            "final_counts": await self._counts(queues),
        }
        if first_error:
            result["first_error"] = first_error[0]
        pss = self._pss_mb()
        if pss is not None:
            result["pss_mb"] = pss
        return result

    async def _wait(
        self,
        progress: Callable[[list[int]], int],
        goal: int,
        queues: Sequence[Any],
        bar: Any | None,
        what: str,
        polls: list[int] | None = None,
    ) -> tuple[float, int]:
        """Poll the queues every ``--poll-s`` until ``progress(counts)`` reaches ``goal``;
        the time it first did (when that poll's answers were in), and the progress then.
        ``polls`` collects the progress of every poll. ``Stalled`` after ``--drain-timeout-s``."""
        deadline = time.perf_counter() + self.args.drain_timeout_s
        while True:
            done = progress(await self._counts(queues))
            now = time.perf_counter()  # the answer's arrival: every count is in by then
            if polls is not None:
                polls.append(done)
            if bar is not None:
                bar.update(done - bar.n)
            if done >= goal:
                return now, done
            if now > deadline:
                timeout = self.args.drain_timeout_s
                raise Stalled(f"waited {timeout:g} s for {what}: {done:,}/{goal:,}")
            await asyncio.sleep(self.args.poll_s)

    # -- 2. functions through a queue mapping -----------------------------------------------------
    async def functions(self, runtime: str, batch: int, window_s: int) -> dict[str, Any]:
        args, client = self.args, self.client
        queue = await self._guard(
            client.create_queue(self._name("fn-source"), visibility_timeout_s=60), "create_queue"
        )
        function = mapping = None
        try:
            fill_s = await self._fill(queue, args.fn_messages, f"fill for {runtime}")
            options: dict[str, Any] = {"runtime": runtime, "timeout_s": 30}
            if args.pool_size is not None and runtime == "actor":
                options["pool_size"] = args.pool_size
            function = await self._guard(
                client.create_function(self._name("fn"), args.handler or noop, **options),
                "create_function",
            )
            bar = self._bar(args.fn_messages, f"{runtime} ×{batch}/{window_s}s: handled")
            cpu = self._cpu()
            started = time.perf_counter()
            try:
                mapping = await self._guard(
                    client.create_event_source_mapping(
                        queue,
                        function,
                        batch_size=batch,
                        batching_window_s=window_s,
                        max_concurrency=args.max_concurrency,
                    ),
                    "create_event_source_mapping",
                )
                total: int = args.fn_messages

                def handled(counts: list[int]) -> int:
                    return total - counts[0]

                first = await self._wait(handled, 1, [queue], bar, "a first batch")
                ended, _ = await self._wait(handled, total, [queue], bar, f"{total:,} handled")
            finally:
                bar.close()
            used = self._cpu_used(cpu)
            stats = await self._guard(mapping.stats(), "mapping stats")
            return fn_result(total, batch, started, first, ended, stats) | {
                "runtime": runtime,
                "batch_size": batch,
                "batching_window_s": window_s,
                "fill_s": fill_s,
                **used,
            }
        finally:
            if mapping is not None:
                await self._guard(mapping.delete(), "delete mapping")
            if function is not None:
                await self._guard(client.delete_function(function), "delete_function")
            await self._guard(client.delete_queue(queue), "delete_queue")

    async def _fill(self, queue: Any, total: int, desc: str) -> float:
        """Send ``total`` messages in batches of up to 1,000, 4 requests in flight."""
        bar = self._bar(total, desc)
        left = [total]
        started = time.perf_counter()

        async def sender() -> None:
            while left[0] > 0:
                size = min(1000, left[0])
                left[0] -= size
                bodies = [self.bodies[i % len(self.bodies)] for i in range(size)]
                results = await self._guard(queue.send_batch(bodies), "send_batch")
                failed = [r for r in results if isinstance(r, Exception)]
                if failed:
                    raise RuntimeError(f"fill: {len(failed)} sends failed, first {failed[0]!r}")
                bar.update(size)

        try:
            await asyncio.gather(*(sender() for _ in range(4)))
        finally:
            bar.close()
        return time.perf_counter() - started

    # -- every case, every run --------------------------------------------------------------------
    async def run_all(self) -> dict[str, list[dict[str, Any]]]:
        args = self.args
        cases: list[tuple[str, Callable[[], Awaitable[dict[str, Any]]]]] = []
        if "fanout" in args.parts:
            cases += [(f"fanout_{n}", functools.partial(self.fanout, n)) for n in args.fanouts]
        if "functions" in args.parts:
            cases += [
                (fn_case_key(rt, b, w), functools.partial(self.functions, rt, b, w))
                for rt, b, w in function_cases(args)
            ]
        results: dict[str, list[dict[str, Any]]] = {key: [] for key, _ in cases}
        for run_index in range(args.runs):
            for key, case in cases:
                try:
                    results[key].append(await case())
                except Exception as exc:  # one failing case must not cost the others' figures
                    error = f"{type(exc).__name__}: {exc}"
                    results[key].append({"error": error})
                    self._note(f"{key} run {run_index + 1}: {error}")
        return results

    def _note(self, text: str) -> None:
        if not self.args.no_progress:
            from tqdm import tqdm

            tqdm.write(f"  {text}", file=sys.stderr)


def function_cases(args: argparse.Namespace) -> list[tuple[str, int, int]]:
    return [(rt, b, w) for rt in args.runtimes for b, w in args.fn_batches]


# --- report and command line -------------------------------------------------------------------


async def run_all(args: argparse.Namespace) -> dict[str, Any]:
    from .bench_queue import machine
    from .peers.base import cpu_probe_ms
    from .peers.raybus_gateway import RaybusTarget

    target = RaybusTarget(url=args.url, up_args=args.up_arg)
    report: dict[str, Any] = {
        "machine": machine(),
        "command": args.command,
        "settings": {k: v for k, v in vars(args).items() if k != "func"},
    }
    load_before = os.getloadavg()[0]
    probe_before = cpu_probe_ms()
    try:
        await target.start()
        report["version"] = target.version()
        bench = FanoutBench(target.client, args, target.root_pids)
        report["pss_idle_mb"] = bench._pss_mb()
        report["results"] = await bench.run_all()
        report["medians"] = summarize(report["results"])
    except Exception as exc:
        report["error"] = f"{type(exc).__name__}: {exc}"
    finally:
        await target.stop()
        report["loadavg_1m"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
        report["cpu_probe_ms"] = [probe_before, cpu_probe_ms()]
    return report


def render(report: dict[str, Any], args: argparse.Namespace) -> str:
    m = report["machine"]
    lines = [
        f"machine: {m.get('cpus')} CPUs ({m.get('cpu', '?')}), {m.get('memory_gib', '?')} GiB, "
        f"Linux {m['kernel']}, Python {m['python']}, {m['date']}, raybus {m.get('commit', '?')}",
        f"command: {report['command']}",
        f"medians of {args.runs} runs; {args.body_bytes}-byte bodies; load average "
        f"{report['loadavg_1m'][0]:.1f} → {report['loadavg_1m'][1]:.1f}; CPU probe "
        f"{report['cpu_probe_ms'][0]:g} → {report['cpu_probe_ms'][1]:g} ms",
    ]
    if "error" in report:
        return "\n".join([*lines, f"failed: {report['error']}"])
    medians = report["medians"]
    if "fanout" in args.parts:
        lines += [
            "",
            f"fan-out: {args.publishers} publishers × batches of {args.publish_batch}, "
            f"{args.seconds:g} s (≤ {args.max_messages:,} messages), raw delivery; "
            f"idle server {_num(report.get('pss_idle_mb'))} MB PSS",
            case_table(
                FANOUT_COLUMNS,
                [(f"topic → {n} queue{'s' * (n > 1)}", f"fanout_{n}") for n in args.fanouts],
                medians,
            ),
        ]
    if "functions" in args.parts:
        lines += [
            "",
            f"functions: {args.fn_messages:,} queued messages through a mapping "
            f"(max concurrency {args.max_concurrency or 'default'}), handler "
            f"{args.handler or 'noop (shipped callable)'}",
            case_table(
                FN_COLUMNS,
                [
                    (f"{rt}, batch {b}, window {w} s", fn_case_key(rt, b, w))
                    for rt, b, w in function_cases(args)
                ],
                medians,
            ),
        ]
    for key, runs in report["results"].items():
        errors = [r["error"] for r in runs if "error" in r]
        if errors:
            lines.append(f"{key}: {len(errors)}/{len(runs)} runs failed, first: {errors[0]}")
    return "\n".join(lines)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add("--quick", action="store_true", help="smoke run: " + json.dumps(QUICK))
    add("--parts", nargs="+", default=["fanout", "functions"], choices=["fanout", "functions"])
    add("--url", default=None, help="attach to this gateway instead of starting `raybus up`")
    add("--up-arg", action="append", default=[], metavar="ARG", help="extra `raybus up` argument")
    add("--runs", type=int, default=3)
    add("--fanouts", type=int, nargs="+", default=[1, 3, 10], help="queues per topic")
    add("--publishers", type=int, default=32, help="concurrent publish_batch requests")
    add("--publish-batch", type=int, default=10, choices=range(1, 11), metavar="1-10")
    add("--seconds", type=float, default=3.0, help="publish phase of one fan-out run")
    add("--max-messages", type=int, default=200_000, help="cap of one publish phase")
    add("--runtimes", nargs="+", default=["task", "actor"], choices=["task", "actor"])
    add(
        "--fn-batches",
        type=parse_fn_batch,
        nargs="+",
        default=[(10, 0), (100, 1)],
        metavar="BATCH[:WINDOW_S]",
        help="mapping batch sizes, optionally with a batching window (default: 10 100:1)",
    )
    add("--fn-messages", type=int, default=20_000, help="messages queued for a function case")
    add("--max-concurrency", type=int, default=None, help="mapping max_concurrency")
    add("--pool-size", type=int, default=None, help="warm actors of the actor runtime")
    add("--handler", default=None, help="handler import path instead of the shipped noop")
    add("--body-bytes", type=int, default=1024)
    add("--seed", type=int, default=0)
    add("--poll-s", type=float, default=0.05, help="stats polling while waiting for a drain")
    add("--progress-s", type=float, default=0.5, help="delivery polling while publishing")
    add("--drain-timeout-s", type=float, default=300.0)
    add("--stall-s", type=float, default=60.0, help="fail a request not answered in this time")
    add("--json", default=None, metavar="PATH", help="also write every run as JSON (- = stdout)")
    add("--no-progress", action="store_true", help="no progress bars or notes on stderr")


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """The command line; with ``--quick`` the ``QUICK`` sizes become the defaults, so flags
    given explicitly still win."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.quick:
        parser.set_defaults(**QUICK)
        args = parser.parse_args(argv)
        args.quick_applied = True
    return args


def apply_quick(args: argparse.Namespace, defaults: dict[str, Any]) -> None:
    """``--quick`` for arguments parsed elsewhere (``add_arguments`` on another parser): the
    ``QUICK`` sizes for every option still equal to its default."""
    if args.quick and not getattr(args, "quick_applied", False):
        for key, value in QUICK.items():
            if getattr(args, key) == defaults.get(key):
                setattr(args, key, value)
        args.quick_applied = True


def _terminate(signum: int, frame: object) -> None:
    from .peers.base import stop_all

    print(f"\nsignal {signum}: stopping the raybus started by this run", file=sys.stderr)
    stop_all()
    os._exit(128 + signum)


def run(args: argparse.Namespace) -> int:
    """Run for parsed ``args`` (``add_arguments``); exit code 1 if anything failed."""
    if not getattr(args, "command", None):
        args.command = shlex.join(sys.argv)
    defaults = vars(_parser().parse_args([]))
    apply_quick(args, defaults)
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, _terminate)
    report = asyncio.run(run_all(args))
    if args.json == "-":
        print(json.dumps(report, indent=1))
    else:
        print(render(report, args))
        if args.json:
            with open(args.json, "w", encoding="utf-8") as handle:
                json.dump(report, handle, indent=1)
    failed = "error" in report or any(
        "error" in r for runs in report.get("results", {}).values() for r in runs
    )
    return 1 if failed else 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bench_fanout",
        description=(__doc__ or "").split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_arguments(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    given = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(given)
    args.command = shlex.join([".venv/bin/python", "-m", "benchmarks.bench_fanout", *given])
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
