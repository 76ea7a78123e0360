"""The queue benchmark's workload: bodies, timed phases and the runner of one target.

``Bench`` drives one started ``Target`` (see ``base``) from one asyncio event loop:

- ``send``: ``total`` messages in requests of ``batch`` through an in-flight window of
  workers, until done or ``seconds`` pass.
- ``receive``: one receiver per window slot, receive (long poll) + delete in batches until
  ``total`` are deleted or ``seconds`` pass. The clock stops at the message that completes
  ``total``; workers then finish the request they are in, so nothing is left in flight.
- ``latency``: a consumer parks in a long poll; one message is sent; the time from the send
  call to the receive returning it is a sample.

Each phase also records the CPU seconds of the target's process tree and of this process.
Every request is bounded by ``--stall-s``: a target that stops answering fails with
``Stalled`` instead of hanging the run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import statistics
import sys
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from .base import Target, tree_cpu_seconds, tree_memory

__all__ = [
    "Bench",
    "Measurement",
    "Results",
    "Stalled",
    "bench_target",
    "depth_sweep",
    "make_bodies",
    "median",
    "percentile",
    "tag_body",
    "tag_of",
]

TAG_DIGITS = 16
BODY_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
LATENCY_WARMUP = 20


def make_bodies(count: int, size: int, seed: int = 0) -> list[bytes]:
    """``count`` distinct printable-ASCII bodies of exactly ``size`` bytes (reproducible)."""
    if size < TAG_DIGITS:
        raise ValueError(f"bodies are at least {TAG_DIGITS} bytes")
    rng = random.Random(seed)
    return [bytes(rng.choices(BODY_ALPHABET, k=size)) for _ in range(count)]


def tag_body(seq: int, body: bytes) -> bytes:
    """``body`` with its first bytes replaced by ``seq`` in decimal (same length)."""
    return b"%0*d" % (TAG_DIGITS, seq) + body[TAG_DIGITS:]


def tag_of(body: bytes) -> int:
    return int(body[:TAG_DIGITS])


def median(values: Iterable[float]) -> float:
    data = list(values)
    return statistics.median(data) if data else float("nan")


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100), linear between closest ranks (numpy's default)."""
    if not values:
        return float("nan")
    if not 0 <= q <= 100:
        raise ValueError("q is a percentage")
    data = sorted(values)
    position = (len(data) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(data) - 1)
    return data[low] + (data[high] - data[low]) * (position - low)


@dataclass
class Measurement:
    messages: int
    seconds: float
    server_cpu_s: float = 0.0
    client_cpu_s: float = 0.0
    extra: dict[str, float] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.messages / self.seconds if self.seconds > 0 else 0.0


class Stalled(RuntimeError):
    """The target stopped answering."""


class Bench:
    """Runs the workload against one started target."""

    def __init__(self, target: Target, args: argparse.Namespace, bodies: list[bytes]) -> None:
        self.t = target
        self.args = args
        self.bodies = bodies
        self._queue_seq = 0

    def _bar(self, total: int, desc: str) -> Any:
        from tqdm import tqdm

        return tqdm(
            total=total,
            desc=f"{self.t.name}: {desc}",
            unit="msg",
            unit_scale=True,
            leave=False,
            file=sys.stderr,
            disable=self.args.no_progress,
            dynamic_ncols=True,
        )

    def _note(self, text: str) -> None:
        if not self.args.no_progress:
            from tqdm import tqdm

            tqdm.write(f"  {self.t.name}: {text}", file=sys.stderr)

    async def fresh_queue(self, purpose: str) -> str:
        self._queue_seq += 1
        name = f"bench-{purpose}-{os.getpid()}-{self._queue_seq}"
        await self._guard(self.t.create_queue(name), "create_queue")
        return name

    async def drop_queue(self, name: str) -> None:
        await self._guard(self.t.delete_queue(name), "delete_queue")

    async def _guard(self, call: Awaitable[Any], what: str, extra_s: float = 0.0) -> Any:
        """``call``, or ``Stalled`` when the target has not answered in ``--stall-s``."""
        try:
            return await asyncio.wait_for(call, self.args.stall_s + extra_s)
        except asyncio.TimeoutError:
            raise Stalled(
                f"{self.t.name}: no answer to {what} in {self.args.stall_s:g} s"
            ) from None

    def _window(self, batch: int) -> int:
        return int(self.args.big_concurrency if batch >= 100 else self.args.concurrency)

    async def _timed(self, body: Callable[[], Awaitable[tuple[int, float | None]]]) -> Measurement:
        """Run ``body`` (returning the count and, optionally, when the clock stopped)."""
        pids = self.t.root_pids()
        cpu0, client0 = tree_cpu_seconds(pids), time.process_time()
        started = time.perf_counter()
        count, ended = await body()
        elapsed = (ended or time.perf_counter()) - started
        server = tree_cpu_seconds(pids) - cpu0
        return Measurement(count, elapsed, server, time.process_time() - client0)

    async def send(
        self, queue: str, total: int, batch: int, seconds: float, desc: str
    ) -> Measurement:
        """Send ``total`` messages (or as many as fit in ``seconds``) in requests of ``batch``."""
        bodies, pool = self.bodies, len(self.bodies)
        state = {"left": total, "sent": 0, "offset": 0}
        bar = self._bar(total, desc)

        async def worker(deadline: float) -> None:
            while state["left"] > 0 and time.perf_counter() < deadline:
                n = min(batch, state["left"])
                state["left"] -= n
                start = state["offset"] % pool
                state["offset"] += n
                chunk = bodies[start : start + n]
                if len(chunk) < n:  # wrap around the pool
                    chunk = [bodies[(start + i) % pool] for i in range(n)]
                await self._guard(self.t.send(queue, chunk), f"a send of {n}")
                state["sent"] += n
                bar.update(n)

        async def body() -> tuple[int, float | None]:
            deadline = time.perf_counter() + seconds
            await asyncio.gather(*(worker(deadline) for _ in range(self._window(batch))))
            return state["sent"], None

        try:
            return await self._timed(body)
        finally:
            bar.close()

    async def receive(
        self, queue: str, total: int, batch: int, seconds: float, desc: str
    ) -> Measurement:
        """Receive and delete ``total`` messages (or what ``seconds`` allow) in batches."""
        receivers = [await self.t.receiver(queue, batch) for _ in range(self._window(batch))]
        state: dict[str, Any] = {"got": 0, "ended": None}
        done = asyncio.Event()
        bar = self._bar(total, desc)

        async def worker(receiver: Any, deadline: float) -> None:
            while not done.is_set() and time.perf_counter() < deadline:
                wait_s = self.args.receive_wait_s
                messages = await self._guard(receiver.receive(wait_s=wait_s), "a receive", wait_s)
                if not messages:
                    continue
                await self._guard(receiver.delete(messages), f"a delete of {len(messages)}")
                state["got"] += len(messages)
                bar.update(len(messages))
                if state["got"] >= total and not done.is_set():
                    state["ended"] = time.perf_counter()
                    done.set()

        async def body() -> tuple[int, float | None]:
            deadline = time.perf_counter() + seconds
            workers = asyncio.gather(*(worker(r, deadline) for r in receivers))
            waiter = asyncio.ensure_future(done.wait())
            pending: list[asyncio.Future[Any]] = [waiter, workers]
            await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            count, ended = state["got"], state["ended"] or time.perf_counter()
            waiter.cancel()
            # The clock has stopped; workers finish the receive+delete they are in (cancelling
            # them would leave what they received in flight, invisible, and the depth wrong).
            try:
                await workers
            except BaseException:
                workers.cancel()
                raise
            state["total"] = state["got"]
            return count, ended

        try:
            measured = await self._timed(body)
            measured.extra["received"] = state.get("total", measured.messages)
            return measured
        finally:
            bar.close()
            for receiver in receivers:
                await receiver.close()

    async def latency(self, samples: int, gap_s: float) -> Measurement:
        queue = await self.fresh_queue("latency")
        receiver = await self.t.receiver(queue, 1)
        arrivals: dict[int, float] = {}
        arrived = asyncio.Event()
        parked = asyncio.Event()

        async def consume() -> None:
            while True:
                parked.set()
                messages = await receiver.receive(wait_s=5)
                now = time.perf_counter()
                parked.clear()
                for message in messages:
                    arrivals[tag_of(message.body)] = now
                arrived.set()
                await receiver.delete(messages)

        consumer = asyncio.ensure_future(consume())
        e2e: list[float] = []
        acks: list[float] = []
        bar = self._bar(samples, "e2e latency")
        try:
            for seq in range(LATENCY_WARMUP + samples):
                await asyncio.wait_for(parked.wait(), 30)
                await asyncio.sleep(gap_s)
                body = tag_body(seq, self.bodies[seq % len(self.bodies)])
                arrived.clear()
                t0 = time.perf_counter()
                await self._guard(self.t.send(queue, [body]), "a send")
                t1 = time.perf_counter()
                while seq not in arrivals:
                    await asyncio.wait_for(arrived.wait(), 30)
                    arrived.clear()
                if seq >= LATENCY_WARMUP:
                    e2e.append(arrivals.pop(seq) - t0)
                    acks.append(t1 - t0)
                    bar.update(1)
        finally:
            bar.close()
            consumer.cancel()
            await asyncio.gather(consumer, return_exceptions=True)
            await receiver.close()
            await self.drop_queue(queue)
        return Measurement(
            len(e2e),
            sum(e2e),
            extra={
                "p50_ms": percentile(e2e, 50) * 1e3,
                "p99_ms": percentile(e2e, 99) * 1e3,
                "send_ack_p50_ms": percentile(acks, 50) * 1e3,
            },
        )

    def memory(self) -> dict[str, int] | None:
        found = tree_memory(self.t.root_pids())
        return asdict(found) if found else None


Results = dict[str, list[Any]]


async def bench_target(bench: Bench, args: argparse.Namespace) -> Results:
    """Every phase for one target; each key holds one value per run."""
    t, results = bench.t, {}
    idle_queue = await bench.fresh_queue("idle")
    results["mem_idle"] = [bench.memory()]
    await bench.drop_queue(idle_queue)
    batches = [b for b in args.batches if b <= t.max_batch]
    skipped = [b for b in args.batches if b > t.max_batch]
    if skipped:
        bench._note(f"batches {skipped} skipped: its protocol caps a batch at {t.max_batch}")
    for run in range(args.runs):
        tag = f"run {run + 1}/{args.runs}"
        if "throughput" in args.phases:
            for batch in batches:
                queue = await bench.fresh_queue(f"b{batch}")
                sent = await bench.send(
                    queue, args.max_messages, batch, args.seconds, f"send ×{batch} {tag}"
                )
                got = await bench.receive(
                    queue, sent.messages, batch, args.seconds, f"receive ×{batch} {tag}"
                )
                await bench.drop_queue(queue)
                results.setdefault(f"send_{batch}", []).append(asdict(sent))
                results.setdefault(f"recv_{batch}", []).append(asdict(got))
                bench._note(
                    f"×{batch} {tag}: send {sent.rate:,.0f}/s, receive+delete {got.rate:,.0f}/s"
                )
        if "latency" in args.phases:
            lat = await bench.latency(args.latency_samples, args.latency_gap_ms / 1e3)
            results.setdefault("latency", []).append(asdict(lat))
            bench._note(
                f"latency {tag}: p50 {lat.extra['p50_ms']:.2f} ms, p99 {lat.extra['p99_ms']:.2f} ms"
            )
    if "depth" in args.phases:
        await depth_sweep(bench, args, results)
    return results


async def depth_sweep(bench: Bench, args: argparse.Namespace, results: Results) -> None:
    """Fill one queue to each depth in turn and time receive+delete there (see the module
    docstring of ``benchmarks.bench_queue``). Filling and topping up share a budget of
    ``--depth-budget-s``: a target too slow to reach a depth in it (moto, whose calls cost
    time linear in the depth) stops there, recorded as ``depth_stopped``."""
    t = bench.t
    batch = min(args.depth_batch, t.max_batch)
    queue = await bench.fresh_queue("depth")
    budget_end = time.perf_counter() + args.depth_budget_s
    depth = 0

    async def fill(count: int, desc: str) -> bool:
        nonlocal depth
        left_s = budget_end - time.perf_counter()
        sent = await bench.send(queue, count, t.max_batch, max(left_s, 0.0), desc)
        depth += sent.messages
        if sent.messages < count:
            results["depth_stopped"] = [{"depth": depth, "wanted": count, "budget_s": left_s}]
            bench._note(f"depth sweep stopped at {depth:,}: --depth-budget-s used up")
            return False
        return True

    try:
        for target_depth in sorted(args.depths):
            if target_depth > depth:
                started = time.perf_counter()
                if not await fill(target_depth - depth, f"prefill to {target_depth:,}"):
                    return
                results[f"prefill_{target_depth}"] = [{"seconds": time.perf_counter() - started}]
            if target_depth:
                results[f"mem_{target_depth}"] = [bench.memory()]
            for run in range(args.runs):
                tag = f"at {target_depth:,} run {run + 1}/{args.runs}"
                # top up to depth + the timed messages (concurrent receivers may take a few
                # more than asked, so the top-up also restores what they overshot)
                wanted = target_depth + args.depth_messages - depth
                if not await fill(wanted, f"top up {tag}"):
                    return
                got = await bench.receive(
                    queue, args.depth_messages, batch, args.seconds * 3, f"receive ×{batch} {tag}"
                )
                depth -= int(got.extra["received"])
                results.setdefault(f"depth_{target_depth}", []).append(asdict(got))
                bench._note(f"depth {tag}: receive+delete {got.rate:,.0f}/s")
    finally:
        with contextlib.suppress(Exception):
            await bench.drop_queue(queue)
