"""What the control plane costs as a cluster grows: the catalog and routing table the
controller keeps, per resource count and host count (pure, in this process; no Ray).

Run: ``.venv/bin/python -m benchmarks.bench_control --queues 1000 10000`` (about 90 s). For each
size, queues of ``--partitions`` partitions are created on ``--hosts-per-1000`` hosts per
thousand queues, and the figures of one control change are timed, each the median of
``--runs`` runs:

- ``create``: ``Catalog.add`` of one more queue (placement reads every host's load);
- ``draft``: the copy of the catalog every change starts from (``CatalogKeeper.change``);
- ``save``: the atomic snapshot every change writes (write, fsync, rename, fsync the directory);
- ``table``: building the routing table the controller hands out;
- ``pickled`` / ``unpickle``: that table as Ray ships it to every host and gateway watching
  (``watch_routing``), and the time each of them spends reading it;
- ``rebalance plan``: ``Catalog.balance_moves`` after as many hosts again were added.

Nothing here is on the data path: a message never touches the controller. These are the costs
that bound how fast resources can be created and how many processes can follow the routing
table (docs/scaling.md).
"""

from __future__ import annotations

import argparse
import pickle
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from typing import Any

from raybus.control.catalog import Catalog, CatalogStore
from raybus.core.queues import QueueConfig

__all__ = ["main", "measure"]


def _median_ms(action: Callable[[], Any], runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return 1e3 * statistics.median(times)


def measure(queues: int, partitions: int, hosts: int, runs: int) -> dict[str, float]:
    catalog = Catalog()
    catalog.ensure_hosts([f"raybus-host-{i}" for i in range(hosts)])
    for index in range(queues):
        catalog.add("queue", QueueConfig.create(f"q{index}", partitions=partitions))
    extra = iter(range(10**9))
    create = _median_ms(
        lambda: catalog.add("queue", QueueConfig.create(f"x{next(extra)}", partitions=partitions)),
        runs,
    )
    directory = tempfile.mkdtemp(prefix="raybus-bench-control-")
    try:
        store = CatalogStore(directory)
        save = _median_ms(lambda: store.save(catalog), runs)
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    draft = _median_ms(catalog.copy, runs)
    table = _median_ms(catalog.table, runs)
    blob = pickle.dumps(catalog.table())
    unpickle = _median_ms(lambda: pickle.loads(blob), runs)
    grown = catalog.copy()
    grown.ensure_hosts([f"raybus-host-{i}" for i in range(2 * hosts)])
    plan = _median_ms(grown.balance_moves, 1)
    return {
        "queues": queues,
        "hosts": hosts,
        "catalog_mb": len(catalog.to_bytes()) / 1e6,
        "create_ms": create,
        "draft_ms": draft,
        "save_ms": save,
        "table_ms": table,
        "pickled_mb": len(blob) / 1e6,
        "unpickle_ms": unpickle,
        "moves": len(grown.balance_moves()),
        "plan_ms": plan,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench_control", description=__doc__.split("\n")[0])
    parser.add_argument("--queues", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--partitions", type=int, default=8)
    parser.add_argument("--hosts-per-1000", type=int, default=8)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    header = (
        f"{'queues':>7} {'hosts':>5} {'catalog MB':>10} {'create ms':>9} {'draft ms':>8} "
        f"{'save ms':>7} {'table ms':>8} {'pickled MB':>10} {'unpickle ms':>11} "
        f"{'moves':>6} {'plan ms':>7}"
    )
    print(header)
    for queues in args.queues:
        hosts = max(1, queues * args.hosts_per_1000 // 1000)
        row = measure(queues, args.partitions, hosts, args.runs)
        print(
            f"{queues:>7} {hosts:>5} {row['catalog_mb']:>10.1f} {row['create_ms']:>9.1f} "
            f"{row['draft_ms']:>8.1f} {row['save_ms']:>7.0f} {row['table_ms']:>8.0f} "
            f"{row['pickled_mb']:>10.1f} {row['unpickle_ms']:>11.0f} {row['moves']:>6} "
            f"{row['plan_ms']:>7.0f}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
