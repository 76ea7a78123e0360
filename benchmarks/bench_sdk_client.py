"""What a client process spends per message: the SDK's ``AsyncClient`` against the same client
on aiohttp and a bare aiohttp + msgpack client, side by side in one run.

Run: ``.venv/bin/python -m benchmarks.bench_sdk_client`` (about two minutes). The gateway is a
stand-in in a child process (aiohttp, answers prepared once: a receive gets ``--batch`` 1 KiB
messages shaped as the gateway sends them, a send or delete ``--batch`` results), so the figure
is the client's alone: CPU time of this process (``time.process_time``) over the messages, with
``--window`` calls in flight. The clients:

- ``sdk``: ``raybus.sdk.AsyncClient`` as users get it (API calls over its own HTTP/1.1
  connections, ``raybus/sdk/_http1.py``);
- ``sdk-aiohttp``: the same client with its API calls on its aiohttp session (as before the
  change; a diagnostic);
- ``bare``: ``aiohttp.ClientSession`` + ``msgpack``, what ``bench_queue``'s ``raybus-raw``
  does.

Workloads: ``send`` (``send_batch`` of ``--batch`` bodies) and ``receive+delete``
(``receive`` then ``delete_batch`` of what came). Clients alternate within each of ``--runs``
rounds; cells are medians.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import msgpack

__all__ = ["main", "measure"]

CLIENTS = ("sdk", "sdk-aiohttp", "bare")
WORKLOADS = ("send", "receive+delete")
_QUEUE = "bench"


def _serve(port_file: str, batch: int) -> None:
    """The stand-in gateway (runs in the child process)."""
    from aiohttp import web

    body = os.urandom(512).hex().encode()
    received = {
        "messages": [
            {
                "message_id": str(uuid.uuid4()),
                "receipt": f"{uuid.uuid4().hex}{uuid.uuid4().hex}{i}",
                "body": body,
                "md5_of_body": "0" * 32,
                "sent_ms": 1_764_800_000_000,
                "receive_count": 1,
                "first_receive_ms": 1_764_800_000_001,
            }
            for i in range(batch)
        ]
    }
    answers = {
        "receive": msgpack.packb(received, use_bin_type=True),
        "delete": msgpack.packb({"results": [None] * batch}, use_bin_type=True),
        "messages": msgpack.packb(
            {"results": [{"message_id": str(uuid.uuid4()), "md5_of_body": "0" * 32}] * batch},
            use_bin_type=True,
        ),
    }

    async def answer(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(
            body=answers[request.match_info["op"]], content_type="application/msgpack"
        )

    async def main() -> None:
        app = web.Application(client_max_size=16 << 20)
        app.router.add_post(f"/v1/queues/{_QUEUE}/{{op}}", answer)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        with open(port_file + ".tmp", "w") as out:
            out.write(str(port))
        os.replace(port_file + ".tmp", port_file)
        await asyncio.Event().wait()

    asyncio.run(main())


Workload = Callable[[], Awaitable[None]]


async def _sdk_workloads(
    url: str, batch: int, via_aiohttp: bool
) -> tuple[Any, dict[str, Workload]]:
    from raybus.sdk import AsyncClient
    from raybus.sdk.queues._aio import AsyncQueue

    client = AsyncClient(url)
    if via_aiohttp:
        client._transport._pool = None  # type: ignore[attr-defined]
    queue = AsyncQueue(client, {"name": _QUEUE, "fifo": False})
    bodies = [b"x" * 1024] * batch

    async def send() -> None:
        results = await queue.send_batch(bodies)
        assert len(results) == batch

    async def receive_delete() -> None:
        got = await queue.receive(max_messages=batch, wait_s=0)
        errors = [e for e in await queue.delete_batch(got) if e]
        assert not errors and len(got) == batch

    return client, {"send": send, "receive+delete": receive_delete}


async def _bare_workloads(url: str, batch: int) -> tuple[Any, dict[str, Workload]]:
    import aiohttp

    session = aiohttp.ClientSession(url, connector=aiohttp.TCPConnector(limit=0))
    headers = {"content-type": "application/msgpack", "accept": "application/msgpack"}
    bodies = [b"x" * 1024] * batch

    async def call(op: str, payload: dict[str, Any]) -> Any:
        data = msgpack.packb(payload, use_bin_type=True)
        async with session.post(f"/v1/queues/{_QUEUE}/{op}", data=data, headers=headers) as r:
            return msgpack.unpackb(await r.read(), raw=False)

    async def send() -> None:
        answer = await call("messages", {"entries": [{"body": b} for b in bodies]})
        assert len(answer["results"]) == batch

    async def receive_delete() -> None:
        answer = await call("receive", {"max_messages": batch, "wait_s": 0})
        got = [(m["body"], m["receipt"]) for m in answer["messages"]]
        answer = await call("delete", {"receipts": [receipt for _, receipt in got]})
        assert not [r for r in answer["results"] if r and "error" in r]

    class _Closer:
        async def aclose(self) -> None:
            await session.close()

    return _Closer(), {"send": send, "receive+delete": receive_delete}


async def _round(
    url: str, client: str, workload: str, batch: int, window: int, calls: int
) -> float:
    if client == "bare":
        closer, workloads = await _bare_workloads(url, batch)
    else:
        closer, workloads = await _sdk_workloads(url, batch, client == "sdk-aiohttp")
    run = workloads[workload]
    per_worker = max(1, calls // window)

    async def worker(n: int) -> None:
        for _ in range(n):
            await run()

    try:
        await asyncio.gather(*(worker(2) for _ in range(window)))  # connections, warm paths
        start = time.process_time()
        await asyncio.gather(*(worker(per_worker) for _ in range(window)))
        cpu = time.process_time() - start
    finally:
        await closer.aclose()
    return cpu / (per_worker * window * batch) * 1e6


def measure(
    *,
    batches: list[int],
    window: int,
    big_window: int,
    calls: int,
    runs: int,
    clients: list[str],
) -> dict[str, Any]:
    """Client CPU µs per message: ``{batch: {workload: {client: [per run]}}}``."""
    results: dict[str, Any] = {}
    for batch in batches:
        port_file = f"/tmp/raybus-bench-sdk-{os.getpid()}-{batch}.port"
        child = subprocess.Popen(
            [
                sys.executable,
                "-c",
                f"from benchmarks.bench_sdk_client import _serve; _serve({port_file!r}, {batch})",
            ],
            cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
        )
        try:
            deadline = time.monotonic() + 30
            while not os.path.exists(port_file):
                if child.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the stand-in gateway did not start")
                time.sleep(0.05)
            with open(port_file) as f:
                url = f"http://127.0.0.1:{int(f.read())}"
            cells: dict[str, dict[str, list[float]]] = {
                w: {c: [] for c in clients} for w in WORKLOADS
            }
            inflight = big_window if batch >= 100 else window
            n = max(inflight, calls // batch)
            for _ in range(runs):
                for workload in WORKLOADS:
                    for client in clients:
                        cells[workload][client].append(
                            asyncio.run(_round(url, client, workload, batch, inflight, n))
                        )
            results[str(batch)] = cells
        finally:
            child.kill()
            child.wait()
            if os.path.exists(port_file):
                os.unlink(port_file)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench_sdk_client", description=__doc__.split("\n")[0])
    parser.add_argument("--batches", type=int, nargs="+", default=[10, 1000])
    parser.add_argument("--window", type=int, default=32, help="calls in flight (32)")
    parser.add_argument(
        "--big-window", type=int, default=8, help="calls in flight for batches >= 100 (8)"
    )
    parser.add_argument("--messages", type=int, default=100_000, help="messages per cell and run")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--only", action="append", choices=CLIENTS, help="these clients only")
    parser.add_argument("--json", help="write the per-run figures here")
    args = parser.parse_args(argv)
    clients = args.only or list(CLIENTS)
    results = measure(
        batches=args.batches,
        window=args.window,
        big_window=args.big_window,
        calls=args.messages,
        runs=args.runs,
        clients=clients,
    )
    print(
        f"client CPU µs per message, medians of {args.runs} runs; "
        f"{args.window} calls in flight ({args.big_window} for batches >= 100)"
    )
    print(f"{'':24}" + "".join(f"{c:>14}" for c in clients))
    for batch, cells in results.items():
        for workload, per_client in cells.items():
            row = f"{workload + ' ×' + format(int(batch), ','):24}"
            row += "".join(f"{statistics.median(per_client[c]):>14.2f}" for c in clients)
            print(row)
    if args.json:
        with open(args.json, "w") as out:
            settings = {"window": args.window, "big_window": args.big_window, "runs": args.runs}
            json.dump({**settings, "results": results}, out, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
