"""What one call between two partition hosts costs: a Ray actor call against the hosts' direct
channel (:mod:`raybus.actors.channel`), side by side in one run.

Run: ``.venv/bin/python -m benchmarks.bench_hostcalls`` (about a minute; starts its own local
Ray instance). Two actors on this node stand in for two hosts: the caller makes ``--calls``
``execute`` calls, ``--window`` in flight at a time, each carrying ``--ops`` small operations
(a delete's receipt each), and the callee answers with one result per operation — the shape of
a batch of receipts or FIFO sends that must reach the partition's owner. Measured per call,
medians of ``--runs``: the CPU time of the caller's process and of the callee's (``os.times``,
all threads: Ray's own threads count), and the wall time (calls over elapsed time with the
window full).

``--fifo-seconds S`` adds the same comparison end to end, where it shows in a workload: a FIFO
queue's message group belongs to one partition, so with two hosts (``raybus up
--partition-hosts 2``, a FIFO queue of 2 partitions) about half of a send batch's groups live on
the host that did not receive the request. ``--window`` writers send batches of 10 messages
over 64 groups for S seconds through the SDK; reported: messages/s and the server's CPU per
message (the ``raybus up`` process tree). Run it once per revision to compare (the transport is
not a switch: run the revision before the channel with ``PYTHONPATH`` pointing at its tree).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import logging
import os
import statistics
import time
from collections.abc import Sequence
from typing import Any

import ray

__all__ = ["main", "measure"]


def _cpu_s() -> float:
    times = os.times()
    return times.user + times.system


@ray.remote
class _Callee:
    def __init__(self) -> None:
        from raybus.actors.channel import ChannelServer

        self.server = ChannelServer(self.execute, "callee")

    async def start(self) -> tuple[str, int, bytes] | None:
        await self.server.start("127.0.0.1")
        return self.server.address()

    async def execute(
        self, kind: str, key: str, partition: int, epoch: int, ops: list[Any]
    ) -> list[Any]:
        return [None] * len(ops)

    def cpu_s(self) -> float:
        return _cpu_s()


@ray.remote
class _Caller:
    def __init__(self, callee: Any, address: tuple[str, int, bytes]) -> None:
        from raybus.actors.channel import ChannelClient

        self.callee = callee
        self.channel = ChannelClient(*address)

    async def run(self, transport: str, calls: int, window: int, ops: int) -> tuple[float, float]:
        """(caller CPU s, wall s) for ``calls`` calls of ``ops`` operations each."""
        batch = [("delete", "r" * 48)] * ops

        def one() -> Any:
            if transport == "channel":
                return self.channel.execute("queue", "q", 0, 1, batch)
            return self.callee.execute.remote("queue", "q", 0, 1, batch)

        cpu, wall = _cpu_s(), time.perf_counter()
        for _ in range(calls // window):
            await asyncio.gather(*(one() for _ in range(window)))
        return _cpu_s() - cpu, time.perf_counter() - wall


def measure(
    caller: Any, callee: Any, transport: str, calls: int, window: int, ops: int
) -> dict[str, float]:
    before = ray.get(callee.cpu_s.remote())
    caller_cpu, wall = ray.get(caller.run.remote(transport, calls, window, ops))
    callee_cpu = ray.get(callee.cpu_s.remote()) - before
    done = calls // window * window
    return {
        "caller_us": caller_cpu / done * 1e6,
        "callee_us": callee_cpu / done * 1e6,
        "wall_us": wall / done * 1e6,
    }


async def _fifo_sends(seconds: float, window: int) -> dict[str, float]:
    from benchmarks.peers.base import tree_cpu_seconds
    from benchmarks.peers.raybus_gateway import RaybusTarget

    target = RaybusTarget(up_args=["--partition-hosts", "2"])
    await target.start()
    try:
        queue = await target.client.create_queue(  # high-throughput FIFO: one partition per host
            "hostcalls.fifo",
            partitions=2,
            dedup_scope="messageGroup",
            throughput_limit="perMessageGroupId",
        )
        sequence = itertools.count()

        def batch() -> list[dict[str, Any]]:
            return [
                {"body": b"x" * 1024, "group_id": f"g{n % 64}", "dedup_id": str(n)}
                for n in (next(sequence) for _ in range(10))
            ]

        await queue.send_batch(batch())  # opens every partition's path once
        sent = 0
        deadline = time.perf_counter() + seconds

        async def writer() -> None:
            nonlocal sent
            while time.perf_counter() < deadline:
                results = await queue.send_batch(batch())
                failed = [r for r in results if isinstance(r, Exception)]
                if failed:
                    raise RuntimeError(f"a FIFO send failed: {failed[0]!r}")
                sent += len(results)

        cpu, wall = tree_cpu_seconds(target.root_pids()), time.perf_counter()
        await asyncio.gather(*(writer() for _ in range(window)))
        elapsed = time.perf_counter() - wall
        server = tree_cpu_seconds(target.root_pids()) - cpu
        return {"msgs_per_s": sent / elapsed, "server_us_per_msg": server / sent * 1e6}
    finally:
        await target.stop()


def _calls(args: argparse.Namespace) -> None:
    started = not ray.is_initialized()
    if started:
        ray.init(num_cpus=2, include_dashboard=False, logging_level=logging.ERROR)
    try:
        callee = _Callee.remote()  # type: ignore[attr-defined]
        address = ray.get(callee.start.remote())
        caller = _Caller.remote(callee, address)  # type: ignore[attr-defined]
        for transport in ("ray", "channel"):  # warm both paths up
            measure(caller, callee, transport, args.window * 4, args.window, 1)
        print(
            f"{'ops/call':>8} {'transport':>9} {'caller µs':>10} {'callee µs':>10} {'wall µs':>8}"
        )
        for ops in args.ops:
            for transport in ("ray", "channel"):
                rows = [
                    measure(caller, callee, transport, args.calls, args.window, ops)
                    for _ in range(args.runs)
                ]
                med = {k: statistics.median(r[k] for r in rows) for k in rows[0]}
                print(
                    f"{ops:>8} {transport:>9} {med['caller_us']:>10.0f} "
                    f"{med['callee_us']:>10.0f} {med['wall_us']:>8.0f}"
                )
    finally:
        if started:
            ray.shutdown()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench_hostcalls", description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=3200)
    parser.add_argument("--window", type=int, default=16, help="calls in flight")
    parser.add_argument(
        "--ops", type=int, nargs="*", default=[10, 1000], help="ops per call (none: skip)"
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--fifo-seconds", type=float, default=0, help="also FIFO sends on 2 hosts (0: no)"
    )
    args = parser.parse_args(argv)
    if args.ops:
        _calls(args)
    if args.fifo_seconds > 0:
        rows = [asyncio.run(_fifo_sends(args.fifo_seconds, args.window)) for _ in range(args.runs)]
        runs = ", ".join(f"{row['msgs_per_s']:,.0f}" for row in rows)
        print(
            f"FIFO send ×10 on 2 hosts, 64 groups: "
            f"{statistics.median(r['msgs_per_s'] for r in rows):,.0f} msgs/s, "
            f"{statistics.median(r['server_us_per_msg'] for r in rows):.0f} µs of server CPU "
            f"per message (runs: {runs})"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
