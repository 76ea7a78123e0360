"""Function invocations per second through raybus's Invoker, for a trivial handler.

    .venv/bin/python -m benchmarks.bench_functions                    # ~30 s on 2 cores
    .venv/bin/python -m benchmarks.bench_functions --seconds 2 --concurrency 8 32

For each runtime (``task``: one Ray task per invocation; ``actor``: a warm pool of
FunctionWorker actors, pool size = the concurrency unless ``--pool``) it measures sequential
invocations and ``--concurrency`` concurrent ones, each for ``--seconds`` after warm-up bursts
(until every worker process has started and loaded the code: cold starts are not measured).
The handler returns its event; it is shipped as code (cloudpickle), as the SDK does. Default
128 MB functions, i.e. Lambda's CPU share of 0.072 CPU per invocation.

``--raw`` adds the decision behind FunctionWorker's shape: one synchronous actor
(max_concurrency=1) against one async actor, called directly, without the Invoker.

Measured on a 2-core machine shared with other jobs (load 2-10, so ranges over several runs;
invocations/s):

    task,  sequential                       95-250
    task,  32 concurrent, 128 MB (0.072 CPU) 53-145   ~27 worker processes on 2 cores
    task,  32 concurrent, 885 MB (0.5 CPU)   ~410     4 at a time
    actor, sequential, pool 1-4              300-660
    actor, 32 concurrent, pool 32            63-260   32 processes on 2 cores
    actor, 32 concurrent, pool 2 / 4         ~500 / 870-1,000
    raw sync actor   (seq / 32 concurrent)   740-875 / 1,860-2,430
    raw async actor  (seq / 32 concurrent)   550-710 / 930-1,700

A task invocation costs a streaming-generator task (the "started" marker): about 25% below a
plain task. On a small machine, size pools (and CPU shares) to the cores: Lambda's 128 MB
share puts dozens of Python processes on two cores.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import time
from collections.abc import Awaitable, Callable
from typing import Any

import ray

from raybus.core.code import code_sha256, serialize_handler
from raybus.core.functions import FunctionConfig
from raybus.functions.runtime import Invoker

WARM_UP_S = 60.0


def handler(event: Any, context: Any) -> Any:
    return event


async def rate(call: Callable[[], Awaitable[Any]], seconds: float, concurrency: int) -> float:
    done = 0
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            await call()
            done += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return done / (time.perf_counter() - started)


async def warm_up(call: Callable[[], Awaitable[Any]], concurrency: int) -> None:
    """Bursts of calls until a burst is no faster than the one before (every worker process
    started, every handler loaded), at most WARM_UP_S."""
    deadline = time.perf_counter() + WARM_UP_S
    best = float("inf")
    while time.perf_counter() < deadline:
        started = time.perf_counter()
        await asyncio.gather(*(call() for _ in range(max(8, 2 * concurrency))))
        took = time.perf_counter() - started
        if took >= best * 0.9:
            return
        best = min(best, took)


async def bench_invoker(
    runtime: str, concurrency: int, seconds: float, memory_mb: int, pool: int | None
) -> float:
    code = serialize_handler(handler)
    config = FunctionConfig(
        name=f"bench-{runtime}-{concurrency}",
        code_sha256=code_sha256(code),
        runtime=runtime,  # type: ignore[arg-type]
        pool_size=pool or concurrency,
        memory_mb=memory_mb,
        timeout_s=30,
    )
    invoker = Invoker()
    try:

        async def call() -> None:
            result = await invoker.invoke(config, code, {"n": 1})
            assert result.ok, result.payload

        await warm_up(call, concurrency)
        return await rate(call, seconds, concurrency)
    finally:
        invoker.close()


class SyncWorker:
    def invoke(self, event: Any) -> Any:
        return handler(event, None)


class AsyncWorker:
    async def invoke(self, event: Any) -> Any:
        return handler(event, None)


async def bench_raw(kind: str, concurrency: int, seconds: float) -> float:
    cls = SyncWorker if kind == "sync" else AsyncWorker
    options: dict[str, Any] = {"num_cpus": 0.07}
    if kind == "sync":
        options["max_concurrency"] = 1
    actor = ray.remote(cls).options(**options).remote()
    try:
        await actor.__ray_ready__.remote()

        async def call() -> None:
            await actor.invoke.remote({"n": 1})

        await warm_up(call, concurrency)
        return await rate(call, seconds, concurrency)
    finally:
        ray.kill(actor)


async def main_async(args: argparse.Namespace) -> None:
    print(f"{'runtime':<12}{'concurrent':>12}{'actors':>8}{'invocations/s':>16}")
    for runtime in args.runtimes:
        for concurrency in (1, *args.concurrency):
            pool = args.pool or concurrency
            per_s = await bench_invoker(
                runtime, concurrency, args.seconds, args.memory_mb, args.pool
            )
            actors = str(pool) if runtime == "actor" else "-"
            print(f"{runtime:<12}{concurrency:>12}{actors:>8}{per_s:>16,.0f}", flush=True)
    if args.raw:
        print(f"\n{'raw actor':<12}{'concurrent':>12}{'calls/s':>16}")
        for kind in ("sync", "async"):
            for concurrency in (1, *args.concurrency):
                per_s = await bench_raw(kind, concurrency, args.seconds)
                print(f"{kind:<12}{concurrency:>12}{per_s:>16,.0f}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="per measurement")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[32])
    parser.add_argument("--runtimes", nargs="+", default=["task", "actor"])
    parser.add_argument("--memory-mb", type=int, default=128)
    parser.add_argument("--pool", type=int, help="actor pool size (default: the concurrency)")
    parser.add_argument("--raw", action="store_true", help="also sync vs async actors, direct")
    args = parser.parse_args()
    ray.init(
        address="local",
        include_dashboard=False,
        log_to_driver=False,
        configure_logging=False,
        _node_ip_address="127.0.0.1",
    )
    print(f"raybus functions on Ray {ray.__version__}, Python {platform.python_version()}, "
          f"{os.cpu_count()} CPUs")  # fmt: skip
    try:
        asyncio.run(main_async(args))
    finally:
        ray.shutdown()


if __name__ == "__main__":
    main()
