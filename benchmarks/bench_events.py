"""PutEvents throughput and end-to-end latency to a queue target with N rules on the bus,
raybus side by side with LocalStack and moto, all spoken to in EventBridge's and SQS's own wire
protocols by one client.

    .venv/bin/python -m benchmarks.bench_events --rules 10 1000 10000 --runs 3
    .venv/bin/python -m benchmarks.bench_events --peer raybus --peer localstack --rules 1000

Per target and rule count: a bus with N rules — one matches the benchmark's events and sends
them to a queue, the other N-1 test the same fields with other values (so matching has N
patterns to weigh, and one delivery per event) — then

- **throughput**: ``--writers`` concurrent clients put batches of 10 events (PutEvents, AWS
  JSON 1.1) for ``--seconds``; events acknowledged per second (the deliveries to the queue run
  at the same time, on the same server);
- **latency**: one event at a time, from the PutEvents request to the event's arrival through
  a long-polling ReceiveMessage on the target queue; p50 and p99 of ``--samples`` events.

The client is aiohttp with keep-alive connections and unsigned SigV4 headers (raybus runs
without ``--aws-credentials``, so it accepts them, as the peers do). raybus's rules are set up
through its native bulk route (``PUT /v1/buses/{name}/rules``: one catalog change) and the
peers' with one PutRule each — setup is not measured. Runs of the targets are interleaved;
the table gives medians.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from collections.abc import Sequence
from typing import Any

from benchmarks.peers.base import ServerProcess, TargetUnavailable, free_port, tree_cpu_seconds
from benchmarks.peers.sqs import LOCALSTACK_PYTHON, _http_ready, spawn_localstack

REGION = "us-east-1"
ACCOUNT = "000000000000"
QUEUE = "bench-events"
BUS = "bench"


def _auth(service: str) -> dict[str, str]:
    return {
        "Authorization": (
            f"AWS4-HMAC-SHA256 Credential=test/20260101/{REGION}/{service}/aws4_request, "
            "SignedHeaders=host;x-amz-date, Signature=0"
        ),
        "X-Amz-Date": "20260101T000000Z",
    }


class AwsClient:
    """EventBridge (JSON 1.1) and SQS (JSON 1.0) calls over one aiohttp session."""

    def __init__(self, endpoint: str, connections: int = 64) -> None:
        self.endpoint = endpoint.rstrip("/") + "/"
        self.connections = connections
        self.session: Any = None

    async def open(self) -> None:
        import aiohttp

        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=self.connections),
            timeout=aiohttp.ClientTimeout(total=300),
        )

    async def close(self) -> None:
        if self.session is not None:
            await self.session.close()

    async def call(self, service: str, action: str, payload: dict[str, Any]) -> dict[str, Any]:
        target, version = (
            (f"AWSEvents.{action}", "1.1")
            if service == "events"
            else (f"AmazonSQS.{action}", "1.0")
        )
        headers = {
            "X-Amz-Target": target,
            "Content-Type": f"application/x-amz-json-{version}",
            **_auth(service),
        }
        async with self.session.post(
            self.endpoint, data=json.dumps(payload), headers=headers
        ) as answer:
            text = await answer.text()
            if answer.status != 200:
                raise RuntimeError(f"{service} {action}: HTTP {answer.status}: {text[:300]}")
        result: dict[str, Any] = json.loads(text) if text else {}
        return result


class Peer:
    name = "?"

    def __init__(self) -> None:
        self.server: ServerProcess | None = None
        self.endpoint = ""
        self.client: AwsClient | None = None

    def spawn(self) -> str:
        raise NotImplementedError

    async def start(self) -> None:
        self.endpoint = await asyncio.to_thread(self.spawn)
        self.client = AwsClient(self.endpoint)
        await self.client.open()

    async def stop(self) -> None:
        if self.client is not None:
            await self.client.close()
        if self.server is not None:
            await asyncio.to_thread(self.server.stop, 60.0)

    def cpu_seconds(self) -> float:
        return tree_cpu_seconds(self.server.pids()) if self.server is not None else 0.0

    async def put_rules(self, rules: list[dict[str, Any]], queue_arn: str) -> None:
        """One PutRule (and PutTargets for the matching one) per rule."""
        assert self.client is not None
        for rule in rules:
            await self.client.call("events", "PutRule", {
                "Name": rule["name"], "EventBusName": BUS,
                "EventPattern": json.dumps(rule["pattern"]),
            })  # fmt: skip
            if rule.get("target"):
                await self.client.call("events", "PutTargets", {
                    "Rule": rule["name"], "EventBusName": BUS,
                    "Targets": [{"Id": "q", "Arn": queue_arn}],
                })  # fmt: skip


class RaybusPeer(Peer):
    name = "raybus"

    def __init__(self, up_args: Sequence[str] = ()) -> None:
        super().__init__()
        self.up_args = list(up_args)

    def spawn(self) -> str:
        from benchmarks.peers.raybus_gateway import RaybusTarget

        native = RaybusTarget(up_args=self.up_args)
        url = native._spawn()
        self.server = native.server
        return url

    async def put_rules(self, rules: list[dict[str, Any]], queue_arn: str) -> None:
        import aiohttp

        wire = []
        for rule in rules:
            item: dict[str, Any] = {"name": rule["name"], "event_pattern": rule["pattern"]}
            if rule.get("target"):
                item["targets"] = [{"id": "q", "kind": "queue", "name": QUEUE}]
            wire.append(item)
        async with aiohttp.ClientSession() as session:
            for start in range(0, len(wire), 5_000):
                async with session.put(
                    f"{self.endpoint}/v1/buses/{BUS}/rules",
                    json={"rules": wire[start : start + 5_000]},
                ) as answer:
                    if answer.status != 200:
                        raise RuntimeError(f"PUT rules: {answer.status} {await answer.text()}")


class LocalStackPeer(Peer):
    name = "localstack"

    def spawn(self) -> str:
        self.server = ServerProcess("localstack")
        endpoint = spawn_localstack(self.server, LOCALSTACK_PYTHON, "events,sqs")
        self.server.wait_until(
            lambda: _http_ready(endpoint + "/_localstack/health"), 180, "health answer"
        )
        return endpoint


class MotoPeer(Peer):
    name = "moto"

    def spawn(self) -> str:
        from pathlib import Path

        binary = Path(sys.executable).with_name("moto_server")
        if not binary.exists():
            raise TargetUnavailable("moto: moto_server not installed")
        port = free_port()
        self.server = ServerProcess("moto")
        self.server.spawn([str(binary), "-H", "127.0.0.1", "-p", str(port)])
        endpoint = f"http://127.0.0.1:{port}"
        self.server.wait_until(lambda: _http_ready(endpoint + "/moto-api/"), 60, "HTTP answer")
        return endpoint


PEERS = {"raybus": RaybusPeer, "localstack": LocalStackPeer, "moto": MotoPeer}


def rule_set(count: int) -> list[dict[str, Any]]:
    """``count`` rules: the first matches the benchmark's events, the others test the same
    fields (source, detail type, a customer and an amount range) with other values."""
    rules = [{"name": "match", "target": True, "pattern": {
        "source": ["bench.shop"], "detail-type": ["order placed"],
        "detail": {"customer": ["c-0"], "total": [{"numeric": [">", 0]}]},
    }}]  # fmt: skip
    for i in range(1, count):
        rules.append({"name": f"other-{i}", "pattern": {
            "source": ["bench.shop" if i % 2 else f"bench.other-{i}"],
            "detail-type": ["order placed"],
            "detail": {"customer": [f"c-{i}"], "total": [{"numeric": [">", i % 100]}]},
        }})  # fmt: skip
    return rules


def _entries(n: int, seq: int) -> list[dict[str, Any]]:
    detail = {"customer": "c-0", "total": 42, "items": ["a", "b"], "seq": seq}
    return [
        {"EventBusName": BUS, "Source": "bench.shop", "DetailType": "order placed",
         "Detail": json.dumps(detail)}
        for _ in range(n)
    ]  # fmt: skip


async def setup(peer: Peer, rules: int) -> str:
    assert peer.client is not None
    c = peer.client
    answer = await c.call("sqs", "CreateQueue", {"QueueName": QUEUE,
                          "Attributes": {"VisibilityTimeout": "600"}})  # fmt: skip
    url = str(answer["QueueUrl"])
    with_bus = await c.call("events", "ListEventBuses", {"NamePrefix": BUS})
    if not any(b["Name"] == BUS for b in with_bus.get("EventBuses", [])):
        await c.call("events", "CreateEventBus", {"Name": BUS})
    started = time.perf_counter()
    await peer.put_rules(rule_set(rules), f"arn:aws:sqs:{REGION}:{ACCOUNT}:{QUEUE}")
    print(f"  {peer.name}: {rules} rules set up in {time.perf_counter() - started:.1f} s",
          file=sys.stderr)  # fmt: skip
    return url


async def drain(peer: Peer, url: str, timeout_s: float = 120.0) -> int:
    """Receive and delete until the queue is empty (long polls of 1 s)."""
    assert peer.client is not None
    got = 0
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        answer = await peer.client.call("sqs", "ReceiveMessage", {
            "QueueUrl": url, "MaxNumberOfMessages": 10, "WaitTimeSeconds": 1})  # fmt: skip
        messages = answer.get("Messages", [])
        if not messages:
            return got
        got += len(messages)
        await peer.client.call(
            "sqs",
            "DeleteMessageBatch",
            {
                "QueueUrl": url,
                "Entries": [
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                    for i, m in enumerate(messages)
                ],
            },
        )
    return got


async def throughput(peer: Peer, writers: int, seconds: float) -> tuple[float, float]:
    """Events acknowledged per second, and server CPU seconds per 1,000 events."""
    assert peer.client is not None
    c = peer.client
    done = 0
    stop = time.perf_counter() + seconds

    async def writer(index: int) -> None:
        nonlocal done
        seq = 0
        while time.perf_counter() < stop:
            answer = await c.call("events", "PutEvents", {"Entries": _entries(10, seq)})
            seq += 1
            if answer.get("FailedEntryCount"):
                raise RuntimeError(f"PutEvents failed: {answer['Entries'][:2]}")
            done += len(answer["Entries"])

    cpu = peer.cpu_seconds()
    started = time.perf_counter()
    await asyncio.gather(*(writer(i) for i in range(writers)))
    elapsed = time.perf_counter() - started
    spent = peer.cpu_seconds() - cpu
    return done / elapsed, spent * 1e6 / max(done, 1)


async def latency(peer: Peer, url: str, samples: int) -> tuple[float, float]:
    """p50 and p99 (ms) from PutEvents to the event's arrival in the target queue."""
    assert peer.client is not None
    c = peer.client
    seen: list[float] = []
    for i in range(samples):
        started = time.perf_counter()
        await c.call("events", "PutEvents", {"Entries": _entries(1, 10_000_000 + i)})
        while True:
            answer = await c.call("sqs", "ReceiveMessage", {
                "QueueUrl": url, "MaxNumberOfMessages": 1, "WaitTimeSeconds": 5})  # fmt: skip
            messages = answer.get("Messages", [])
            if messages:
                break
            if time.perf_counter() - started > 30:
                raise RuntimeError("an event did not arrive within 30 s")
        seen.append((time.perf_counter() - started) * 1000)
        await c.call("sqs", "DeleteMessage", {"QueueUrl": url,
                     "ReceiptHandle": messages[0]["ReceiptHandle"]})  # fmt: skip
    seen.sort()
    return statistics.median(seen), seen[min(len(seen) - 1, int(len(seen) * 0.99))]


async def run(args: argparse.Namespace) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for rules in args.rules:
        per_peer: dict[str, list[dict[str, float]]] = {name: [] for name in args.peer}
        peers: dict[str, Peer] = {}
        urls: dict[str, str] = {}
        for name in args.peer:
            peer = PEERS[name]() if name != "raybus" else RaybusPeer(args.up_arg)
            try:
                await peer.start()
                urls[name] = await setup(peer, rules)
                await drain(peer, urls[name])
                peers[name] = peer
            except TargetUnavailable as error:
                print(f"  {name}: unavailable: {error}", file=sys.stderr)
                await peer.stop()
        try:
            for run_index in range(args.runs):
                for name, peer in peers.items():
                    rate, cpu = await throughput(peer, args.writers, args.seconds)
                    await drain(peer, urls[name])
                    p50, p99 = await latency(peer, urls[name], args.samples)
                    per_peer[name].append({"rate": rate, "cpu_ms_per_1k": cpu, "p50": p50,
                                           "p99": p99})  # fmt: skip
                    print(f"  rules={rules} run {run_index + 1} {name}: {rate:,.0f} events/s, "
                          f"{cpu:.0f} ms CPU/1k, p50 {p50:.1f} ms, p99 {p99:.1f} ms",
                          file=sys.stderr)  # fmt: skip
        finally:
            for peer in peers.values():
                await peer.stop()
        results[str(rules)] = {
            name: {key: statistics.median(r[key] for r in runs) for key in runs[0]}
            for name, runs in per_peer.items()
            if runs
        }
    return results


def table(results: dict[str, Any]) -> str:
    lines = ["| rules | target | events/s | server ms CPU / 1k events | p50 ms | p99 ms |",
             "|---:|---|---:|---:|---:|---:|"]  # fmt: skip
    for rules, peers in results.items():
        for name, r in peers.items():
            lines.append(f"| {int(rules):,} | {name} | {r['rate']:,.0f} | {r['cpu_ms_per_1k']:.0f}"
                         f" | {r['p50']:.1f} | {r['p99']:.1f} |")  # fmt: skip
        if "raybus" in peers:
            for name, r in peers.items():
                if name != "raybus" and r["rate"]:
                    ratio = peers["raybus"]["rate"] / r["rate"]
                    lines.append(f"| {int(rules):,} | raybus / {name} | {ratio:.1f}× | | | |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--peer", action="append", choices=sorted(PEERS),
                        help="targets (default: raybus, localstack, moto)")  # fmt: skip
    parser.add_argument("--rules", type=int, nargs="+", default=[10, 1000, 10000])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--writers", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--samples", type=int, default=50)
    parser.add_argument("--up-arg", action="append", default=[], help="extra raybus up argument")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args(argv)
    args.peer = args.peer or ["raybus", "localstack", "moto"]
    results = asyncio.run(run(args))
    print(json.dumps(results, indent=2) if args.json else table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
