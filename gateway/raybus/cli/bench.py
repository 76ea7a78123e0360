"""``raybus bench``: the repository's benchmarks from the command line.

    raybus bench queue                          # raybus alone (starts its own `raybus up`)
    raybus bench queue --peer nats --peer moto  # side by side, with raybus/peer ratios
    raybus bench queue --url http://127.0.0.1:8000 --phases latency

``raybus bench queue ARGS`` is ``python -m benchmarks.bench_queue ARGS``: same flags, same
output (``raybus bench queue --help``).

The benchmarks are not part of the installed package: they live in the top-level
``benchmarks/`` folder of a source checkout. The verb looks for that folder in
``$RAYBUS_REPO``, then in the checkout this ``raybus`` is installed from (an editable
install, ``pip install -e .``, which is how ``make`` installs it), then in the current
directory, and loads it by path (``sys.path`` is left alone). From a wheel install without
a checkout, the verb says so and exits with 2.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import os
import shlex
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

__all__ = ["find_repo", "load_benchmark", "register"]

EXIT_NO_BENCHMARKS = 2


def find_repo() -> Path | None:
    """The source checkout holding ``benchmarks/bench_queue.py``, or ``None``."""
    candidates = []
    if os.environ.get("RAYBUS_REPO"):
        candidates.append(Path(os.environ["RAYBUS_REPO"]))
    candidates.append(Path(__file__).resolve().parents[3])  # gateway/raybus/cli/bench.py
    candidates.append(Path.cwd())
    for root in candidates:
        if (root / "benchmarks" / "bench_queue.py").is_file():
            return root.resolve()
    return None


def load_benchmark(name: str, root: Path) -> ModuleType:
    """Import ``benchmarks.<name>`` from ``root`` by path."""
    package_dir = root / "benchmarks"
    loaded = sys.modules.get("benchmarks")
    if loaded is None or Path(getattr(loaded, "__file__", "") or "").parent != package_dir:
        spec = importlib.util.spec_from_file_location(
            "benchmarks",
            package_dir / "__init__.py",
            submodule_search_locations=[str(package_dir)],
        )
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot load {package_dir}")
        package = importlib.util.module_from_spec(spec)
        sys.modules["benchmarks"] = package
        spec.loader.exec_module(package)
    return importlib.import_module(f"benchmarks.{name}")


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "bench",
        help="run a benchmark (queue: raybus side by side with SQS/NATS/RabbitMQ peers)",
        description="Run one of the repository's benchmarks.",
    )
    kinds = parser.add_subparsers(dest="benchmark", metavar="BENCHMARK", required=True)
    queue = kinds.add_parser(
        "queue",
        help="queue throughput, latency, depth and memory, optionally against peers",
        description=(
            "Send and receive+delete 1 KiB messages one per request and in batches, e2e latency "
            "at light load, a depth sweep and memory; --peer runs the same workload against "
            "moto, LocalStack, NATS JetStream or RabbitMQ and prints raybus/peer ratios. "
            "Same as `python -m benchmarks.bench_queue`."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    root = find_repo()
    if root is None:
        queue.add_argument("rest", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
        queue.set_defaults(func=_no_benchmarks)
        return
    module = load_benchmark("bench_queue", root)
    module.add_arguments(queue)
    queue.set_defaults(func=_runner(module))


def _runner(module: ModuleType) -> Any:
    def run(args: argparse.Namespace) -> int:
        args.command = shlex.join(["raybus", *sys.argv[1:]])
        code: int = module.run(args)
        return code

    return run


def _no_benchmarks(args: argparse.Namespace) -> int:
    print(
        "error: the benchmarks live in a source checkout of raybus (benchmarks/); "
        "run from one, install it editable (pip install -e .), or set RAYBUS_REPO",
        file=sys.stderr,
    )
    return EXIT_NO_BENCHMARKS
