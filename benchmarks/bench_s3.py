"""S3 object throughput with boto3, raybus side by side with moto and LocalStack in one run; the
disk's write bandwidth in the same run; the servers' memory during a large multipart transfer.

    .venv/bin/python -m benchmarks.bench_s3 --runs 5
    .venv/bin/python -m benchmarks.bench_s3 --only raybus,moto --runs 3 --seconds 5
    .venv/bin/python -m benchmarks.bench_s3 --only raybus --runs 1 --profile /tmp/s3-profile

Servers (each started here on loopback, in a throw-away directory, and stopped at the end):
``raybus up --data-dir <tmp>`` (its defaults: fsync on every commit, and a blob's data and
directory are fsync'd before its object is committed), ``moto_server`` from this venv (in
memory) and LocalStack in host mode from ``.venv-localstack`` with ``SERVICES=s3``
(``benchmarks/peers/setup.sh localstack``). ``--attach URL`` measures a server that is already
running instead (its listening process is the one whose CPU and memory are read).

First, while each server is fresh, **memory**: ``upload_file`` then ``download_file``
of a ``--memory-mib`` file (200 MiB by default; boto3's defaults) while the RSS of every
process of the server's tree is sampled every 20 ms: the idle level before each transfer and
the peak during it, summed over the tree, over the processes serving the port (raybus: its
partition hosts) and per process. RSS counts shared pages in every process that maps them;
the increase over the idle level is the meaningful figure (the download's idle level is what
the upload left: memory an allocator keeps is reused, not counted again).

Then, per run, for every server in turn (runs interleaved; the tables give medians):

- **1 KiB** and **1 MiB**: ``--client-processes`` processes of ``--client-threads`` threads
  each (one boto3 client per process, shared by its threads) put distinct objects for
  ``--seconds``, then read every one of them back with GetObject and compare the bytes:
  objects/s (1 KiB) and MB/s (1 MiB).
- **large** (``--large-mib``, 64 by default): ``--large-objects`` objects one after the other
  from this process, with single-part PutObject, with PutObject without payload signing
  (``UNSIGNED-PAYLOAD``: a diagnostic — the client does not hash the body for SigV4 and the
  server does not check its SHA-256) and with ``upload_file`` (boto3's transfer manager and
  its defaults: multipart above 8 MiB, 8 MiB parts, 10 threads, from a file written before
  the clock starts); then GetObject of the PutObject and upload_file keys, bytes compared.
- **disk**: a ``--disk-mib`` file (1 GiB by default) and a file of the large object's size,
  written in 4 MiB ``os.write`` calls and ``fsync``'d, in the same file system as raybus's
  data directory: MB/s. raybus's large PutObject is reported as a fraction of the first.

``--profile DIR``: afterwards, py-spy records the processes serving each server's port during
large PutObjects, then during 1 KiB PutObjects (not counted in the table), and the report
ranks the frames that took the time.

boto3 is used as applications use it: SigV4 over plain HTTP (so boto3 hashes every body with
SHA-256 for the signature), its default CRC32 request checksums and response validation, path
addressing, standard retries (3 attempts; the retries taken are counted and reported). Server
CPU is the user + system time of the server's whole process tree over each phase; client CPU
is this process's (large objects) or the client processes' (1 KiB, 1 MiB). MB = 10^6 bytes.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import functools
import hashlib
import json
import multiprocessing
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from benchmarks.peers.base import ServerProcess, TargetUnavailable, free_port, tree_pids
from benchmarks.peers.sqs import LOCALSTACK_PYTHON, spawn_localstack

__all__ = [
    "CASES",
    "GROUPS",
    "SERVERS",
    "AttachedServer",
    "Case",
    "LocalStackServer",
    "MemoryReport",
    "MotoServer",
    "Profiler",
    "RaybusServer",
    "RssSampler",
    "Server",
    "body_for",
    "cases",
    "disk_write_mb_s",
    "filesystem_of",
    "format_report",
    "get_phase",
    "hash_speeds",
    "main",
    "make_client",
    "make_server",
    "measure_memory",
    "memory_phase",
    "parser",
    "put_phase",
    "run",
    "summarize",
    "summarize_profile",
]

MB = 1_000_000
KIB = 1 << 10
MIB = 1 << 20
BUCKET = "raybus-bench-s3"
REGION = "us-east-1"
REPO = Path(__file__).resolve().parents[1]
#: the servers this benchmark can start, in table order
SERVERS = ("raybus", "moto", "localstack")
WRITE_CHUNK = 4 * MIB


# -- cases ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One measured cell of the table: ``rate`` is objects/s (``per_object``) or MB/s."""

    key: str
    label: str
    group: str
    per_object: bool = False


#: the groups of cases, each measured together: ``--sizes``
GROUPS = ("1k", "1m", "large")


def cases(large_mib: int, groups: Sequence[str] = GROUPS) -> tuple[Case, ...]:
    """The table's rows, in order, for a large object of ``large_mib`` MiB (of ``groups``)."""
    big = f"{large_mib} MiB"
    every = (
        Case("small_put", "1 KiB PutObject", "1k", per_object=True),
        Case("small_get", "1 KiB GetObject", "1k", per_object=True),
        Case("medium_put", "1 MiB PutObject", "1m"),
        Case("medium_get", "1 MiB GetObject", "1m"),
        Case("large_put", f"{big} PutObject", "large"),
        Case("large_put_unsigned", f"{big} PutObject, UNSIGNED-PAYLOAD", "large"),
        Case("large_upload", f"{big} upload_file (multipart)", "large"),
        Case("large_get", f"{big} GetObject (PutObject's keys)", "large"),
        Case("large_get_multipart", f"{big} GetObject (upload_file's keys)", "large"),
    )
    return tuple(case for case in every if case.group in groups)


CASES = cases(64)


# -- bodies -----------------------------------------------------------------------------------


@functools.lru_cache(maxsize=4)
def _base(size: int) -> bytes:
    """``size`` pseudo-random bytes, the same in every process (seeded by the size)."""
    return random.Random(size).randbytes(size)


def body_for(key: str, size: int) -> bytes:
    """The body of ``key``: ``size`` incompressible bytes that begin with the key's SHA-256, so
    every key's body differs from every other's and a body read back can be checked."""
    tag = hashlib.sha256(key.encode()).digest()
    if size <= len(tag):
        return tag[:size]
    return tag + _base(size)[len(tag) :]


# -- boto3 -------------------------------------------------------------------------------------


def make_client(endpoint: str, connections: int = 16, *, sign_payload: bool = True) -> Any:
    """A boto3 S3 client as an application makes one, against ``endpoint`` (see the module
    docstring); ``sign_payload=False`` sends ``UNSIGNED-PAYLOAD`` instead of the body's
    SHA-256."""
    import boto3  # type: ignore[import-untyped]
    from botocore.config import Config  # type: ignore[import-untyped]

    s3: dict[str, Any] = {"addressing_style": "path"}
    if not sign_payload:
        s3["payload_signing_enabled"] = False
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="bench",
        aws_secret_access_key="bench-secret",
        config=Config(
            s3=s3,
            max_pool_connections=connections,
            retries={"mode": "standard", "max_attempts": 3},
            connect_timeout=10,
            read_timeout=600,
        ),
    )


_CLIENTS: dict[tuple[str, int], Any] = {}


def _cached_client(endpoint: str, connections: int) -> Any:
    """One client per endpoint and pool size in this process (clients are thread-safe)."""
    key = (endpoint, connections)
    if key not in _CLIENTS:
        _CLIENTS[key] = make_client(endpoint, connections)
    return _CLIENTS[key]


def _retries(answer: dict[str, Any]) -> int:
    return int(answer.get("ResponseMetadata", {}).get("RetryAttempts", 0))


def _process_cpu() -> float:
    times = os.times()
    return times.user + times.system


# -- the small-object phases (run in the client processes, or here with --client-processes 0) --


def warm(endpoint: str, threads: int, hold_s: float) -> int:
    """Create this process's client and touch the bucket; hold ``hold_s`` so that the pool's
    other processes get the other warm-up tasks. This process's pid."""
    _cached_client(endpoint, threads).head_bucket(Bucket=BUCKET)
    time.sleep(hold_s)
    return os.getpid()


def _wait_until(wall: float) -> None:
    delay = wall - time.time()
    if delay > 0:
        time.sleep(delay)


def put_phase(
    endpoint: str, prefix: str, size: int, threads: int, seconds: float, start_at: float
) -> dict[str, Any]:
    """From wall-clock ``start_at`` for ``seconds``, ``threads`` threads put objects of ``size``
    bytes under ``prefix`` (each thread its own keys, one request at a time). Returns the keys
    put, the wall-clock time the last answer came, this process's CPU seconds and the retries
    boto3 took."""
    client = _cached_client(endpoint, threads)
    stop = start_at + seconds

    def one_thread(index: int) -> tuple[list[str], int, float]:
        keys: list[str] = []
        retries = 0
        while time.time() < stop:
            key = f"{prefix}/{index}/{len(keys)}"
            retries += _retries(client.put_object(Bucket=BUCKET, Key=key, Body=body_for(key, size)))
            keys.append(key)
        return keys, retries, time.time()

    _wait_until(start_at)
    cpu = _process_cpu()
    with concurrent.futures.ThreadPoolExecutor(threads) as pool:
        done = list(pool.map(one_thread, range(threads)))
    return {
        "keys": [key for keys, _, _ in done for key in keys],
        "ended": max(ended for _, _, ended in done),
        "cpu": _process_cpu() - cpu,
        "retries": sum(retries for _, retries, _ in done),
    }


def get_phase(
    endpoint: str, keys: Sequence[str], size: int, threads: int, start_at: float
) -> dict[str, Any]:
    """From wall-clock ``start_at``, ``threads`` threads read ``keys`` (each thread every
    ``threads``-th key) with GetObject and compare each body with :func:`body_for`. Returns the
    objects and bytes read, the bodies that differed (at most 5 keys named), the wall-clock
    end, this process's CPU seconds and the retries."""
    client = _cached_client(endpoint, threads)

    def one_thread(index: int) -> tuple[int, int, list[str], int, float]:
        count = nbytes = retries = 0
        wrong: list[str] = []
        for key in keys[index::threads]:
            answer = client.get_object(Bucket=BUCKET, Key=key)
            body = answer["Body"].read()
            retries += _retries(answer)
            count += 1
            nbytes += len(body)
            if body != body_for(key, size):
                wrong.append(key)
        return count, nbytes, wrong, retries, time.time()

    _wait_until(start_at)
    cpu = _process_cpu()
    with concurrent.futures.ThreadPoolExecutor(threads) as pool:
        done = list(pool.map(one_thread, range(threads)))
    return {
        "objects": sum(d[0] for d in done),
        "bytes": sum(d[1] for d in done),
        "wrong": [key for d in done for key in d[2]][:5],
        "wrong_count": sum(len(d[2]) for d in done),
        "retries": sum(d[3] for d in done),
        "ended": max(d[4] for d in done),
        "cpu": _process_cpu() - cpu,
    }


# -- servers -----------------------------------------------------------------------------------


def _http_ready(url: str) -> bool:
    import urllib.request

    with urllib.request.urlopen(url, timeout=2) as response:
        return bool(response.status == 200)


def _listener(port: int) -> int | None:
    """The pid of the process listening on 127.0.0.1:``port`` (the lowest, if several)."""
    import psutil

    pids = sorted(
        conn.pid
        for conn in psutil.net_connections(kind="tcp")
        if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port and conn.pid
    )
    return pids[0] if pids else None


def process_label(pid: int) -> str:
    """A short name for a process: Ray's ``ray::Name`` titles as they are, else the program
    (or the script or ``-m`` module a Python interpreter runs)."""
    import psutil

    try:
        argv = psutil.Process(pid).cmdline()
    except psutil.Error:
        return f"pid {pid}"
    if not argv:
        return f"pid {pid}"
    words = [str(word) for word in argv]
    if words[0].startswith("ray::"):
        return words[0].split()[0]
    program = os.path.basename(words[0])
    if program.startswith("python"):
        rest = iter(words[1:])
        for arg in rest:
            if arg == "-m":
                return next(rest, program)
            if not arg.startswith("-"):
                return os.path.basename(arg)
    if program == "raybus" and len(words) > 1:
        return f"raybus {words[1]}"
    return program


class Server:
    """An S3 endpoint under test: ``start()`` returns once it answers, ``stop()`` stops what
    was started (by pid, the whole tree). ``roots()`` are the processes whose trees are the
    server (CPU, memory); ``gateway_pids()`` the ones that accept its connections."""

    name = "?"

    def __init__(self) -> None:
        self.endpoint = ""
        self.process: ServerProcess | None = None

    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop(60.0)
            self.process = None

    def roots(self) -> list[int]:
        return self.process.pids() if self.process is not None else []

    def pids(self) -> list[int]:
        return tree_pids(self.roots())

    def gateway_pids(self) -> list[int]:
        """The processes of the tree listening on the endpoint's port (raybus: every partition
        host, which serve the gateway with ``SO_REUSEPORT``); the roots if none is found."""
        import psutil

        port = urlparse(self.endpoint).port
        found: list[int] = []
        for pid in self.pids():
            with contextlib.suppress(psutil.Error):
                for conn in psutil.Process(pid).net_connections(kind="tcp"):
                    if conn.status == psutil.CONN_LISTEN and conn.laddr.port == port:
                        found.append(pid)
                        break
        return found or self.roots()

    def cpu_seconds(self, pids: Sequence[int] | None = None) -> float:
        """User + system CPU seconds so far of ``pids`` (default: the whole tree)."""
        import psutil

        total = 0.0
        for pid in self.pids() if pids is None else pids:
            with contextlib.suppress(psutil.Error):
                times = psutil.Process(pid).cpu_times()
                total += times.user + times.system
        return total

    def data_directory(self) -> str:
        """A directory in the file system the server writes its data to."""
        return self.process.dir if self.process is not None else tempfile.gettempdir()

    def version(self) -> str:
        return ""


class RaybusServer(Server):
    """``raybus up`` with a fresh data directory (its defaults, plus ``up_args``)."""

    name = "raybus"

    def __init__(self, up_args: Sequence[str] = ()) -> None:
        super().__init__()
        self.up_args = list(up_args)

    def start(self) -> None:
        from benchmarks.peers.raybus_gateway import RaybusTarget

        target = RaybusTarget(up_args=self.up_args)
        self.endpoint = target._spawn()
        self.process = target.server

    def version(self) -> str:
        from importlib.metadata import version

        revision = subprocess.run(
            ["git", "-C", str(REPO), "describe", "--always", "--dirty"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
        return f"raybus {version('raybus')} ({revision or 'no git'})"


class MotoServer(Server):
    """``moto_server`` from this interpreter's venv (S3 in memory)."""

    name = "moto"

    def start(self) -> None:
        binary = Path(sys.executable).with_name("moto_server")
        if not binary.exists():
            raise TargetUnavailable("moto: moto_server is not installed (the `bench` extra)")
        port = free_port()
        self.process = ServerProcess("moto")
        self.process.spawn([str(binary), "-H", "127.0.0.1", "-p", str(port)])
        self.endpoint = f"http://127.0.0.1:{port}"
        self.process.wait_until(lambda: _http_ready(self.endpoint + "/moto-api/"), 60, "answer")

    def version(self) -> str:
        from importlib.metadata import version

        return f"moto {version('moto')}"


class LocalStackServer(Server):
    """LocalStack in host mode (no Docker) with ``SERVICES=s3``, nothing persisted."""

    name = "localstack"

    def __init__(self, python: str = "") -> None:
        super().__init__()
        self.python = Path(python) if python else LOCALSTACK_PYTHON
        self._version = ""

    def start(self) -> None:
        self.process = ServerProcess("localstack")
        self.endpoint = spawn_localstack(self.process, self.python, "s3")
        self.process.wait_until(self._s3_running, 240, "S3 running in /_localstack/health")

    def _s3_running(self) -> bool:
        import urllib.request

        with urllib.request.urlopen(self.endpoint + "/_localstack/health", timeout=2) as answer:
            health = json.loads(answer.read())
        self._version = str(health.get("version", ""))
        return health.get("services", {}).get("s3") in ("running", "available")

    def version(self) -> str:
        return f"LocalStack {self._version}".strip()


class AttachedServer(Server):
    """A server already running at ``url``; its process is the one listening on the port."""

    def __init__(self, url: str, name: str = "attached") -> None:
        super().__init__()
        self.endpoint = url.rstrip("/")
        self.name = name
        self._root: int | None = None

    def start(self) -> None:
        port = urlparse(self.endpoint).port
        if port is None:
            raise TargetUnavailable(f"{self.name}: no port in {self.endpoint}")
        self._root = _listener(port)

    def stop(self) -> None:
        pass

    def roots(self) -> list[int]:
        return [self._root] if self._root is not None else []


def make_server(name: str, args: argparse.Namespace) -> Server:
    if name == "raybus":
        return RaybusServer(args.up_arg)
    if name == "moto":
        return MotoServer()
    if name == "localstack":
        return LocalStackServer(args.localstack_python)
    raise ValueError(f"unknown server {name!r}; choose from {', '.join(SERVERS)}")


# -- disk and hashing --------------------------------------------------------------------------


def disk_write_mb_s(directory: str, size: int, chunk: int = WRITE_CHUNK) -> float:
    """MB/s of writing ``size`` bytes to a new file in ``directory`` in ``chunk``-byte
    ``os.write`` calls, then ``fsync`` and close (the clock covers all three); the file is
    removed afterwards."""
    block = os.urandom(chunk)
    fd, path = tempfile.mkstemp(prefix="disk-", dir=directory)
    try:
        started = time.perf_counter()
        written = 0
        while written < size:
            piece = block if size - written >= chunk else block[: size - written]
            view = memoryview(piece)
            while view:
                view = view[os.write(fd, view) :]
            written += len(piece)
        os.fsync(fd)
        os.close(fd)
        fd = -1
        elapsed = time.perf_counter() - started
    finally:
        if fd >= 0:
            os.close(fd)
        os.unlink(path)
    return size / MB / elapsed


def hash_speeds(size: int = 64 * MIB) -> dict[str, float]:
    """MB/s of one core for the digests an S3 PUT can involve (MD5 for the ETag, SHA-256 for a
    signed payload, CRC32 for boto3's default checksum) on ``size`` bytes."""
    data = _base(size)
    speeds: dict[str, float] = {}
    for name, run in (
        ("md5", lambda: hashlib.md5(data, usedforsecurity=False).digest()),
        ("sha256", lambda: hashlib.sha256(data).digest()),
        ("crc32", lambda: zlib.crc32(data)),
    ):
        best = float("inf")
        for _ in range(3):
            started = time.perf_counter()
            run()
            best = min(best, time.perf_counter() - started)
        speeds[name] = size / MB / best
    return speeds


def filesystem_of(path: str) -> str:
    """``device type at mount point`` of the file system holding ``path`` (from /proc/mounts)."""
    real = os.path.realpath(path)
    best = ("", "?", "?")
    with contextlib.suppress(OSError), open("/proc/mounts") as mounts:
        for line in mounts:
            device, point, kind = line.split()[:3]
            inside = real == point or real.startswith(point.rstrip("/") + "/")
            if inside and len(point) >= len(best[0]):
                best = (point, device, kind)
    return f"{best[1]} {best[2]} at {best[0] or '?'}"


# -- memory ------------------------------------------------------------------------------------


class RssSampler:
    """Samples the RSS of every process of a tree every ``interval_s`` on a thread, between
    ``with`` entry and exit; re-reads the tree every ``refresh_s`` (processes come and go).
    Per sample: the sum over the tree (``totals``), the sum over the processes of ``group``
    (``group_totals``), and each process's own (``per_process``)."""

    def __init__(
        self,
        pids: Callable[[], Sequence[int]],
        interval_s: float = 0.02,
        refresh_s: float = 0.5,
        group: Sequence[int] = (),
    ) -> None:
        self._pids = pids
        self.interval_s = interval_s
        self.refresh_s = refresh_s
        self.group = frozenset(group)
        self.totals: list[int] = []
        self.group_totals: list[int] = []
        self.per_process: dict[int, list[int]] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def sample(self, pids: Sequence[int]) -> None:
        import psutil

        total = grouped = 0
        for pid in pids:
            with contextlib.suppress(psutil.Error):
                rss = int(psutil.Process(pid).memory_info().rss)
                total += rss
                grouped += rss if pid in self.group else 0
                self.per_process.setdefault(pid, []).append(rss)
        self.totals.append(total)
        self.group_totals.append(grouped)

    def _run(self) -> None:
        pids: Sequence[int] = ()
        refreshed = float("-inf")
        while True:
            if time.monotonic() - refreshed >= self.refresh_s:
                pids, refreshed = self._pids(), time.monotonic()
            self.sample(pids)
            if self._stop.wait(self.interval_s):
                self.sample(pids)
                return

    def __enter__(self) -> RssSampler:
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()


@dataclass
class MemoryReport:
    """One transfer's memory: idle RSS (medians over the idle samples) and peak RSS, summed
    over the tree, summed over the processes serving the port (``gateway_*``), and per
    process (pid, label, idle, peak, and whether it serves the port; largest growth first)."""

    transfer: str
    seconds: float
    mb_s: float
    idle_total: int
    peak_total: int
    gateway_idle: int = 0
    gateway_peak: int = 0
    processes: list[dict[str, Any]] = field(default_factory=list)

    @property
    def increase(self) -> int:
        return self.peak_total - self.idle_total


def measure_memory(
    server: Server, transfer: str, action: Callable[[], None], size: int, idle_s: float = 1.0
) -> MemoryReport:
    """Sample the tree idle for ``idle_s``, then during ``action()`` (moving ``size`` bytes)."""
    gateway = server.gateway_pids()
    with RssSampler(server.pids, group=gateway) as idle:
        time.sleep(idle_s)
    started = time.perf_counter()
    with RssSampler(server.pids, group=gateway) as busy:
        action()
    seconds = time.perf_counter() - started
    processes: list[dict[str, Any]] = []
    for pid, samples in busy.per_process.items():
        before = idle.per_process.get(pid)
        base = int(statistics.median(before)) if before else samples[0]
        label = process_label(pid)
        processes.append(
            {"pid": pid, "label": label, "idle": base, "peak": max(samples),
             "gateway": pid in gateway}
        )  # fmt: skip
    processes.sort(key=lambda p: p["peak"] - p["idle"], reverse=True)
    return MemoryReport(
        transfer=transfer,
        seconds=seconds,
        mb_s=size / MB / seconds,
        idle_total=int(statistics.median(idle.totals)) if idle.totals else 0,
        peak_total=max(busy.totals, default=0),
        gateway_idle=int(statistics.median(idle.group_totals)) if idle.group_totals else 0,
        gateway_peak=max(busy.group_totals, default=0),
        processes=processes,
    )


def memory_phase(
    server: Server, size: int, workdir: str, idle_s: float = 1.0
) -> list[MemoryReport]:
    """``upload_file`` then ``download_file`` of one ``size``-byte object (boto3's transfer
    defaults), each under an :class:`RssSampler`; the download is compared with the file."""
    client = make_client(server.endpoint, 16)
    source = os.path.join(workdir, "memory-upload.bin")
    target = os.path.join(workdir, "memory-download.bin")
    key = f"memory/{size}"
    body = body_for(key, size)
    with open(source, "wb") as handle:
        handle.write(body)
    expected = hashlib.sha256(body).digest()
    del body
    try:
        up = measure_memory(
            server, "upload_file", lambda: client.upload_file(source, BUCKET, key), size, idle_s
        )
        down = measure_memory(
            server,
            "download_file",
            lambda: client.download_file(BUCKET, key, target),
            size,
            idle_s,
        )
        with open(target, "rb") as handle:
            digest = hashlib.file_digest(handle, "sha256").digest()
        if digest != expected:
            raise RuntimeError(f"{server.name}: download_file of {key} returned other bytes")
        client.delete_object(Bucket=BUCKET, Key=key)
    finally:
        for path in (source, target):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
    return [up, down]


# -- profiling ---------------------------------------------------------------------------------


class Profiler:
    """``py-spy record`` (raw format, every thread, without pausing the process) of some
    processes while a block runs; ``summary()`` ranks what took the samples. Nothing happens
    if ``directory`` is ``None``."""

    def __init__(self, directory: str | None, name: str, pids: Sequence[int]) -> None:
        self.directory = directory
        self.name = name
        self.pids = list(pids)
        self.outputs: list[str] = []
        self.rate = 250
        self.seconds = 0.0
        self._procs: list[subprocess.Popen[bytes]] = []
        self._started = 0.0

    def __enter__(self) -> Profiler:
        if self.directory is None:
            return self
        spy = Path(sys.executable).with_name("py-spy")
        os.makedirs(self.directory, exist_ok=True)
        for pid in self.pids:
            out = os.path.join(self.directory, f"{self.name}-{pid}.txt")
            argv = [str(spy), "record", "-p", str(pid), "-r", str(self.rate), "--threads"]
            argv += ["--nonblocking"]  # sample without pausing the process
            argv += ["-f", "raw", "-o", out]
            try:
                proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            except OSError as error:
                print(f"  py-spy did not start: {error}", file=sys.stderr)
                continue
            self._procs.append(proc)
            self.outputs.append(out)
        time.sleep(0.5)  # py-spy attaches
        self._started = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self._started
        for proc in self._procs:
            proc.send_signal(signal.SIGINT)
        for proc in self._procs:
            try:
                _, err = proc.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                _, err = proc.communicate()
            if proc.returncode not in (0, -signal.SIGINT):
                print(f"  py-spy: {err.decode(errors='replace')[-300:]}", file=sys.stderr)

    def summary(self, top: int = 20) -> dict[str, Any]:
        """:func:`summarize_profile` with shares of the recorded wall time."""
        return summarize_profile(self.outputs, top, self.rate * self.seconds)


#: leaf frames of a thread that waits (py-spy cannot always tell an idle thread here): a pool
#: worker waiting for work, an event loop in epoll, a condition, Ray's worker loop in C++
_IDLE = ("_worker (concurrent/futures/thread.py", "EpollSelector.select (", "Condition.wait (",
         "Event.wait (", "Worker.main_loop (ray/", "Thread._wait_for_tstate_lock (")  # fmt: skip
#: frames left out of the inclusive ranking: the machinery every stack passes through
_PLUMBING = ("threading.py", "asyncio/", "concurrent/futures/", "selectors.py", "ray/_private/",
             "<module>", "thread (0x", "aiohttp/web_")  # fmt: skip


def summarize_profile(paths: Sequence[str], top: int = 20, possible: float = 0.0) -> dict[str, Any]:
    """From py-spy's raw output (``[thread;]frame;frame;... count`` lines): the samples, the
    ``top`` leaf frames (self time), the ``top`` frames by the samples they are on the stack
    of (inclusive time; the event loop, thread and Ray plumbing left out) and the samples per
    thread. Stacks whose leaf is a wait (``_IDLE``) are counted apart (``idle_samples``), not
    in the rest. Shares are percentages of ``possible`` (the samples one always-busy thread would
    have given: rate × seconds), or of all samples if it is 0."""
    leaves: dict[str, int] = {}
    inclusive: dict[str, int] = {}
    threads: dict[str, int] = {}
    samples = idle = 0
    for path in paths:
        with contextlib.suppress(FileNotFoundError), open(path) as handle:
            for line in handle:
                stack, _, count_text = line.rstrip("\n").rpartition(" ")
                if not stack or not count_text.isdigit():
                    continue
                count = int(count_text)
                frames = stack.split(";")
                if frames[-1].startswith(_IDLE):
                    idle += count
                    continue
                samples += count
                if frames[0].startswith("thread ("):
                    threads[frames[0]] = threads.get(frames[0], 0) + count
                leaves[frames[-1]] = leaves.get(frames[-1], 0) + count
                for frame in set(frames):
                    if not any(part in frame for part in _PLUMBING):
                        inclusive[frame] = inclusive.get(frame, 0) + count
    whole = possible or samples or 1

    def ranked(table: dict[str, int]) -> list[tuple[float, str]]:
        best = sorted(table.items(), key=lambda item: item[1], reverse=True)[:top]
        return [(100.0 * n / whole, frame) for frame, n in best]

    return {
        "samples": samples,
        "idle_samples": idle,
        "possible": possible,
        "threads": ranked(threads),
        "self": ranked(leaves),
        "inclusive": ranked(inclusive),
    }


# -- one run of one server ---------------------------------------------------------------------


class Client:
    """The small-object client: ``processes`` processes (a spawned pool; 0 = threads of this
    process) of ``threads`` threads each."""

    def __init__(self, processes: int, threads: int) -> None:
        self.processes = processes
        self.threads = threads
        self.pool: concurrent.futures.ProcessPoolExecutor | None = None

    def open(self) -> None:
        if self.processes > 0:
            context = multiprocessing.get_context("spawn")
            self.pool = concurrent.futures.ProcessPoolExecutor(self.processes, mp_context=context)

    def warm(self, endpoint: str) -> None:
        """Every client process makes its client for ``endpoint`` before anything is timed."""
        if self.pool is None:
            warm(endpoint, self.threads, 0.0)
            return
        futures = [
            self.pool.submit(warm, endpoint, self.threads, 0.5) for _ in range(self.processes)
        ]
        for future in futures:
            future.result()

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(cancel_futures=True)
            self.pool = None


def _lanes(
    server: Server,
    client: Client,
    function: Callable[..., dict[str, Any]],
    lane_args: Sequence[tuple[Any, ...]],
) -> tuple[list[dict[str, Any]], float, tuple[float, float]]:
    """``function(*args, start_at)`` in every lane (client process) at once; their results,
    the seconds from ``start_at`` to the last answer, and the CPU seconds meanwhile of the
    server's tree and of its gateway processes."""
    hosts = server.gateway_pids()
    # the client processes get their tasks before the clock starts
    start_at = time.time() + (0.3 if client.pool is not None else 0.0)
    futures = []
    if client.pool is not None:
        futures = [client.pool.submit(function, *args, start_at) for args in lane_args]
    _wait_until(start_at)
    cpu, host = server.cpu_seconds(), server.cpu_seconds(hosts)
    if client.pool is None:
        results = [function(*lane_args[0], start_at)]
    else:
        results = [future.result() for future in futures]
    spent = (server.cpu_seconds() - cpu, server.cpu_seconds(hosts) - host)
    return results, max(r["ended"] for r in results) - start_at, spent


def _cell(
    units: float, seconds: float, server_cpu: float, client_cpu: float, retries: int, count: int
) -> dict[str, float]:
    """One measurement: ``rate`` in units (objects or MB) per second, CPU seconds per unit."""
    per = max(units, 1e-12)
    return {
        "rate": units / seconds,
        "server_cpu": server_cpu / per,
        "client_cpu": client_cpu / per,
        "count": float(count),
        "seconds": seconds,
        "retries": float(retries),
    }


def small_cases(
    server: Server, client: Client, size: int, prefix: str, seconds: float, per_object: bool
) -> tuple[dict[str, float], dict[str, float]]:
    """Put ``size``-byte objects for ``seconds`` from every lane, then read each back and check
    it; then delete them (not timed). The put's and the get's cells."""
    lanes = max(client.processes, 1)
    threads = client.threads
    endpoint = server.endpoint
    lanes_args = [(endpoint, f"{prefix}/{i}", size, threads, seconds) for i in range(lanes)]
    puts, put_s, put_cpu = _lanes(server, client, put_phase, lanes_args)
    keys = [key for result in puts for key in result["keys"]]
    gets, get_s, get_cpu = _lanes(
        server, client, get_phase, [(endpoint, r["keys"], size, threads) for r in puts]
    )
    wrong = sum(r["wrong_count"] for r in gets)
    if wrong:
        examples = [key for r in gets for key in r["wrong"]][:5]
        raise RuntimeError(f"{server.name}: {wrong} bodies read back differ, e.g. {examples}")
    read = sum(r["objects"] for r in gets)
    if read != len(keys):
        raise RuntimeError(f"{server.name}: {read} objects read back of {len(keys)} put")
    _delete_all(make_client(endpoint), keys)
    units = float(len(keys)) if per_object else len(keys) * size / MB
    put_client = sum(r["cpu"] for r in puts)
    get_client = sum(r["cpu"] for r in gets)
    put = _cell(units, put_s, put_cpu[0], put_client, sum(r["retries"] for r in puts), len(keys))
    get = _cell(units, get_s, get_cpu[0], get_client, sum(r["retries"] for r in gets), read)
    per = max(units, 1e-12)
    put["host_cpu"], get["host_cpu"] = put_cpu[1] / per, get_cpu[1] / per
    return put, get


def _delete_all(client: Any, keys: Sequence[str]) -> None:
    for start in range(0, len(keys), 1000):
        batch = keys[start : start + 1000]
        answer = client.delete_objects(
            Bucket=BUCKET, Delete={"Objects": [{"Key": k} for k in batch], "Quiet": True}
        )
        if answer.get("Errors"):
            raise RuntimeError(f"DeleteObjects: {answer['Errors'][:3]}")


def sequential(
    server: Server,
    keys: Sequence[str],
    size: int,
    act: Callable[[str], int],
    prepare: Callable[[str], None] | None = None,
) -> dict[str, float]:
    """``act(key)`` (returning the retries it took) for each key in turn, timed one by one
    (``prepare(key)`` runs first, off the clock): MB/s, and CPU seconds per MB of the server's
    tree (``server_cpu``), of the processes serving its port (``host_cpu``) and of this
    process (``client_cpu``)."""
    hosts = server.gateway_pids()
    wall = server_cpu = host_cpu = client_cpu = 0.0
    retries = 0
    for key in keys:
        if prepare is not None:
            prepare(key)
        s0, h0, c0 = server.cpu_seconds(), server.cpu_seconds(hosts), _process_cpu()
        started = time.perf_counter()
        retries += act(key)
        wall += time.perf_counter() - started
        client_cpu += _process_cpu() - c0
        server_cpu += server.cpu_seconds() - s0
        host_cpu += server.cpu_seconds(hosts) - h0
    mb = len(keys) * size / MB
    cell = _cell(mb, wall, server_cpu, client_cpu, retries, len(keys))
    cell["host_cpu"] = host_cpu / max(mb, 1e-12)
    return cell


def large_cases(
    server: Server, size: int, count: int, prefix: str, workdir: str
) -> dict[str, dict[str, float]]:
    """The large-object cells (see the module docstring); the objects are deleted after."""
    signed = make_client(server.endpoint)
    unsigned = make_client(server.endpoint, sign_payload=False)
    keys = {
        kind: [f"{prefix}/{kind}/{i}" for i in range(count)]
        for kind in ("put", "unsigned", "upload")
    }
    upload_path = os.path.join(workdir, "upload.bin")
    held: dict[str, bytes] = {}

    def prepare_body(key: str) -> None:
        held.clear()
        held[key] = body_for(key, size)

    def put_with(client: Any) -> Callable[[str], int]:
        return lambda key: _retries(client.put_object(Bucket=BUCKET, Key=key, Body=held[key]))

    def prepare_file(key: str) -> None:
        with open(upload_path, "wb") as handle:
            handle.write(body_for(key, size))

    def upload(key: str) -> int:
        signed.upload_file(upload_path, BUCKET, key)
        return 0

    def get(key: str) -> int:
        answer = signed.get_object(Bucket=BUCKET, Key=key)
        held[key] = answer["Body"].read()
        return _retries(answer)

    def checked_get(key: str) -> int:
        retries = get(key)
        if held.pop(key) != body_for(key, size):
            raise RuntimeError(f"{server.name}: the body of {key} read back differs")
        return retries

    cells = {
        "large_put": sequential(server, keys["put"], size, put_with(signed), prepare_body),
        "large_put_unsigned": sequential(
            server, keys["unsigned"], size, put_with(unsigned), prepare_body
        ),
        "large_upload": sequential(server, keys["upload"], size, upload, prepare_file),
    }
    held.clear()
    with contextlib.suppress(FileNotFoundError):
        os.unlink(upload_path)
    cells["large_get"] = sequential(server, keys["put"], size, checked_get)
    cells["large_get_multipart"] = sequential(server, keys["upload"], size, checked_get)
    _delete_all(signed, [key for group in keys.values() for key in group])
    return cells


def profile_puts(
    server: Server, client: Client, size: int, count: int, seconds: float, directory: str
) -> dict[str, dict[str, Any]]:
    """py-spy records the processes serving the port during ``count`` PutObjects of ``size``
    bytes, then during ``seconds`` of 1 KiB PutObjects from the client processes (not counted
    in the table: sampling slows the process down). Each profile's summary, by what ran."""
    boto = make_client(server.endpoint)
    keys = [f"profile/large/{i}" for i in range(count)]
    with Profiler(directory, f"{server.name}-large", server.gateway_pids()) as large:
        for key in keys:
            boto.put_object(Bucket=BUCKET, Key=key, Body=body_for(key, size))
    _delete_all(boto, keys)
    lanes = [
        (server.endpoint, f"profile/small/{i}", KIB, client.threads, seconds)
        for i in range(max(client.processes, 1))
    ]
    with Profiler(directory, f"{server.name}-small", server.gateway_pids()) as small:
        puts, _, _ = _lanes(server, client, put_phase, lanes)
    _delete_all(boto, [key for result in puts for key in result["keys"]])
    big = f"{size // MIB} MiB" if size >= MIB else f"{size} B"
    profiles = {}
    for what, profiler in ((f"{big} PutObject", large), ("1 KiB PutObject", small)):
        summary = profiler.summary()
        summary["files"] = profiler.outputs
        profiles[f"{server.name}, {what}"] = summary
    return profiles


# -- the whole run -----------------------------------------------------------------------------


def _boto3_setup(args: argparse.Namespace) -> dict[str, Any]:
    from importlib.metadata import version

    transfer = "classic (s3transfer)"
    with contextlib.suppress(Exception):
        from boto3.s3.transfer import (  # type: ignore[import-untyped]
            TransferConfig,
            _should_use_crt,
        )

        if _should_use_crt(TransferConfig()):
            transfer = "CRT"
    return {
        "processes": args.client_processes,
        "threads": args.client_threads,
        "boto3": version("boto3"),
        "botocore": version("botocore"),
        "transfer_manager": transfer,
    }


def _create_bucket(server: Server) -> None:
    client = make_client(server.endpoint)
    with contextlib.suppress(client.exceptions.BucketAlreadyOwnedByYou):
        client.create_bucket(Bucket=BUCKET)


def _progress(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _describe(case: Case, cell: dict[str, float]) -> str:
    unit = "objects/s" if case.per_object else "MB/s"
    cpu_unit = ("µs/object", 1e6) if case.per_object else ("ms/MB", 1e3)
    text = (
        f"{cell['rate']:,.1f} {unit}, server CPU {cell['server_cpu'] * cpu_unit[1]:,.1f} "
        f"{cpu_unit[0]}, client CPU {cell['client_cpu'] * cpu_unit[1]:,.1f} {cpu_unit[0]}"
    )
    if "host_cpu" in cell:
        text += f" (gateway processes {cell['host_cpu'] * cpu_unit[1]:,.1f})"
    if cell["retries"]:
        text += f", {cell['retries']:.0f} retries"
    return text


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Start the servers, run every case ``args.runs`` times (servers interleaved), then the
    memory and profile passes; stop everything. The report (see :func:`format_report`)."""
    table_cases = cases(args.large_mib, args.sizes)
    servers: list[Server] = []
    unavailable: dict[str, str] = {}
    for name in args.only:
        server = make_server(name, args)
        _progress(f"starting {name} ...")
        try:
            server.start()
            _create_bucket(server)
        except TargetUnavailable as error:
            unavailable[name] = str(error)
            _progress(f"  {name}: unavailable: {error}")
            server.stop()
            continue
        except BaseException:
            server.stop()
            for started in servers:
                started.stop()
            raise
        servers.append(server)
    for url in args.attach:
        attached = AttachedServer(url)
        attached.start()
        _create_bucket(attached)
        servers.append(attached)
    report: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %z"),
        "command": " ".join(["python -m benchmarks.bench_s3", *args.argv]),
        "machine": {"cpus": os.cpu_count(), "load_before": os.getloadavg()},
        "settings": {k: v for k, v in vars(args).items() if k not in ("argv", "json")},
        "unavailable": unavailable,
        "servers": [s.name for s in servers],
        "versions": {s.name: s.version() for s in servers},
        "client": _boto3_setup(args),
        "cases": [{"key": c.key, "label": c.label, "group": c.group,
                   "per_object": c.per_object} for c in table_cases],
        "runs": {s.name: {c.key: [] for c in table_cases} for s in servers},
        "disk": {"large_mib": args.disk_mib, "object_mib": args.large_mib, "large": [],
                 "object": []},
        "memory": {},
        "profiles": {},
    }  # fmt: skip
    client = Client(args.client_processes, args.client_threads)
    workdir = tempfile.mkdtemp(prefix="raybus-bench-s3-client-")
    disk_dir = next((s.data_directory() for s in servers if s.name == "raybus"), None)
    disk_dir = args.disk_dir or disk_dir or tempfile.gettempdir()
    report["disk"]["directory"] = disk_dir
    report["disk"]["filesystem"] = filesystem_of(disk_dir)
    try:
        client.open()
        for server in servers:
            client.warm(server.endpoint)
        if args.memory_mib > 0:  # first, while the servers are fresh
            for server in servers:
                reports = memory_phase(server, args.memory_mib * MIB, workdir, args.idle_s)
                report["memory"][server.name] = [
                    {**vars(r), "increase": r.increase} for r in reports
                ]
                for r in reports:
                    _progress(
                        f"  memory {server.name} {r.transfer}: {r.mb_s:,.0f} MB/s, tree "
                        f"{r.idle_total / MB:,.0f} → {r.peak_total / MB:,.0f} MB"
                    )
        report["hash_mb_s"] = hash_speeds(args.large_mib * MIB)
        for index in range(args.runs):
            large = disk_write_mb_s(disk_dir, args.disk_mib * MIB)
            small = disk_write_mb_s(disk_dir, args.large_mib * MIB)
            report["disk"]["large"].append(large)
            report["disk"]["object"].append(small)
            _progress(f"run {index + 1}: disk {args.disk_mib} MiB + fsync {large:,.0f} MB/s, "
                      f"{args.large_mib} MiB + fsync {small:,.0f} MB/s")  # fmt: skip
            for server in servers:
                cells: dict[str, dict[str, float]] = {}
                prefix = f"run{index}"
                if "1k" in args.sizes:
                    cells["small_put"], cells["small_get"] = small_cases(
                        server, client, KIB, f"{prefix}/1k", args.seconds, per_object=True
                    )
                if "1m" in args.sizes:
                    cells["medium_put"], cells["medium_get"] = small_cases(
                        server, client, MIB, f"{prefix}/1m", args.seconds, per_object=False
                    )
                if "large" in args.sizes:
                    cells.update(
                        large_cases(server, args.large_mib * MIB, args.large_objects,
                                    f"{prefix}/large", workdir)
                    )  # fmt: skip
                for case in table_cases:
                    report["runs"][server.name][case.key].append(cells[case.key])
                    _progress(f"  run {index + 1} {server.name}: {case.label}: "
                              f"{_describe(case, cells[case.key])}")  # fmt: skip
        if args.profile:
            for server in servers:
                report["profiles"].update(
                    profile_puts(server, client, args.large_mib * MIB, args.large_objects,
                                 args.seconds, args.profile)
                )  # fmt: skip
    finally:
        client.close()
        for server in servers:
            server.stop()
        with contextlib.suppress(OSError):
            for name in os.listdir(workdir):
                os.unlink(os.path.join(workdir, name))
            os.rmdir(workdir)
    report["machine"]["load_after"] = os.getloadavg()
    report["medians"] = summarize(report["runs"])
    return report


def summarize(runs: dict[str, dict[str, list[dict[str, float]]]]) -> dict[str, Any]:
    """Per server and case, the median of every figure over the runs (cases not run: absent)."""
    medians: dict[str, Any] = {}
    for server, by_case in runs.items():
        medians[server] = {}
        for case, cells in by_case.items():
            if cells:
                medians[server][case] = {
                    key: statistics.median(cell[key] for cell in cells) for key in cells[0]
                }
    return medians


# -- the report --------------------------------------------------------------------------------

_DISPLAY = {"raybus": "raybus", "moto": "moto", "localstack": "LocalStack"}


def _rate(value: float, per_object: bool) -> str:
    if per_object or value >= 100:
        return f"{value:,.0f}"
    return f"{value:,.1f}"


def format_report(report: dict[str, Any]) -> str:
    """The report as Markdown: throughput with ratios, CPU, disk fraction, memory, profiles."""
    lines = [f"{report['date']} — `{report['command']}`", ""]
    lines += _throughput_table(report)
    lines += ["", "Server CPU (the whole process tree) and client CPU per object (µs) or per MB "
              "(ms), medians:", ""]  # fmt: skip
    lines += _cpu_table(report)
    retries = {
        f"{name} {case}": cell["retries"]
        for name, by_case in report["medians"].items()
        for case, cell in by_case.items()
        if cell["retries"]
    }
    if retries:
        lines += ["", f"boto3 retries (medians): {retries}"]
    lines += _disk_lines(report)
    if report["memory"]:
        lines += ["", *_memory_table(report)]
    for what, profile in report["profiles"].items():
        lines += ["", *_profile_lines(what, profile)]
    if report["unavailable"]:
        lines.append("")
        for name, why in report["unavailable"].items():
            lines.append(f"{_DISPLAY.get(name, name)} unavailable: {why.splitlines()[0]}")
    client = report["client"]
    load = report["machine"]
    lines += [
        "",
        f"Servers: {', '.join(report['versions'].values())}. Client: boto3 {client['boto3']} "
        f"({client['transfer_manager']} transfer manager); 1 KiB and 1 MiB objects from "
        f"{client['processes'] or 'this'} process(es) × {client['threads']} threads. Load "
        f"average before {load['load_before'][0]:.1f}, after {load['load_after'][0]:.1f}.",
    ]
    return "\n".join(lines)


def _throughput_table(report: dict[str, Any]) -> list[str]:
    """Median (min–max) per server and case, and raybus's median over each peer's."""
    names = report["servers"]
    medians = report["medians"]
    peers = [n for n in names if n != "raybus"] if "raybus" in names else []
    header = ["case", "unit", *(_DISPLAY.get(n, n) for n in names)]
    header += [f"raybus / {_DISPLAY.get(p, p)}" for p in peers]
    lines = ["| " + " | ".join(header) + " |", "|---|---|" + "---:|" * (len(header) - 2)]
    for case in report["cases"]:
        per_object = case["per_object"]
        row = [case["label"], "objects/s" if per_object else "MB/s"]
        for name in names:
            runs = [cell["rate"] for cell in report["runs"][name][case["key"]]]
            text = _rate(statistics.median(runs), per_object) if runs else "—"
            if len(runs) > 1:
                text += f" ({_rate(min(runs), per_object)}–{_rate(max(runs), per_object)})"
            row.append(text)
        ours = medians.get("raybus", {}).get(case["key"], {}).get("rate")
        for peer in peers:
            theirs = medians.get(peer, {}).get(case["key"], {}).get("rate")
            row.append(f"{ours / theirs:.2f}×" if ours and theirs else "—")
        lines.append("| " + " | ".join(row) + " |")
    return lines


def _cpu_table(report: dict[str, Any]) -> list[str]:
    names = report["servers"]
    header = ["case"]
    for name in names:
        header += [f"{_DISPLAY.get(name, name)} server", f"{_DISPLAY.get(name, name)} client"]
    lines = ["| " + " | ".join(header) + " |", "|---|" + "---:|" * (len(header) - 1)]
    for case in report["cases"]:
        scale = 1e6 if case["per_object"] else 1e3
        row = [case["label"] + (" (µs/object)" if case["per_object"] else " (ms/MB)")]
        for name in names:
            cell = report["medians"].get(name, {}).get(case["key"])
            if cell is None:
                row += ["—", "—"]
            else:
                row += [f"{cell['server_cpu'] * scale:,.1f}", f"{cell['client_cpu'] * scale:,.1f}"]
        lines.append("| " + " | ".join(row) + " |")
    return lines


def _disk_lines(report: dict[str, Any]) -> list[str]:
    """The disk's bandwidth and raybus's large PutObject as a fraction of it (with where its
    CPU went), and the digests' speeds on one core."""
    disk = report["disk"]
    if not disk["large"]:
        return []
    big, small = statistics.median(disk["large"]), statistics.median(disk["object"])
    runs = ", ".join(f"{value:,.0f}" for value in disk["large"])
    lines = [
        "",
        f"Disk ({disk['filesystem']}; {disk['directory']}): {disk['large_mib']} MiB written and "
        f"fsync'd **{big:,.0f} MB/s** (runs: {runs}); {disk['object_mib']} MiB: "
        f"{small:,.0f} MB/s.",
    ]
    put = report["medians"].get("raybus", {}).get("large_put")
    if put:
        cells = report["runs"]["raybus"]["large_put"]
        fractions = ", ".join(
            f"{100 * cell['rate'] / d:.0f} %" for cell, d in zip(cells, disk["large"], strict=False)
        )
        lines.append(
            f"raybus {disk['object_mib']} MiB PutObject: {put['rate']:,.0f} MB/s = "
            f"**{100 * put['rate'] / big:.0f} %** of it (per run: {fractions}; goal ≥ 50 %). "
            f"Per MB: {1e3 / put['rate']:.2f} ms wall; CPU {put.get('host_cpu', 0) * 1e3:.2f} ms "
            f"in raybus's gateway processes, {put['server_cpu'] * 1e3:.2f} ms in its whole tree, "
            f"{put['client_cpu'] * 1e3:.2f} ms in boto3."
        )
    hashes = report.get("hash_mb_s")
    if hashes:
        digests = sum(1e3 / speed for speed in hashes.values())
        lines.append(
            "One core here: MD5 {md5:,.0f} MB/s, SHA-256 {sha256:,.0f} MB/s, CRC32 {crc32:,.0f} "
            "MB/s".format(**hashes)
            + f" — the three digests of a signed PutObject with boto3's default checksum "
            f"(the ETag, the payload's signature, the CRC32) take {digests:.2f} ms per MB."
        )
    return lines


def _memory_table(report: dict[str, Any]) -> list[str]:
    lines = [
        "| server | transfer | MB/s | tree RSS: idle → peak (Δ) | serving process(es): idle → "
        "peak (Δ) |",
        "|---|---|---:|---:|---|",
    ]
    for name, transfers in report["memory"].items():
        for r in transfers:
            serving = [p["label"] for p in r["processes"] if p.get("gateway")]
            lines.append(
                f"| {_DISPLAY.get(name, name)} | {r['transfer']} | {r['mb_s']:,.0f} | "
                f"{_growth(r['idle_total'], r['peak_total'])} | "
                f"{' + '.join(sorted(set(serving))) or '?'} "
                f"{_growth(r['gateway_idle'], r['gateway_peak'])} |"
            )
    return lines


def _growth(idle: int, peak: int) -> str:
    return f"{idle / MB:,.0f} → {peak / MB:,.0f} MB ({(peak - idle) / MB:+,.0f})"


def _profile_lines(what: str, profile: dict[str, Any]) -> list[str]:
    share = "% of one core's time" if profile.get("possible") else "% of samples"
    lines = [f"py-spy of the gateway processes, {what} ({profile['samples']} samples; "
             f"{share}). Busy threads:"]  # fmt: skip
    lines += [f"    {value:5.1f} %  {frame}" for value, frame in profile["threads"][:6]]
    lines.append("  leaf frames (self):")
    lines += [f"    {value:5.1f} %  {frame}" for value, frame in profile["self"][:15]]
    lines.append("  frames on the stack (inclusive):")
    lines += [f"    {value:5.1f} %  {frame}" for value, frame in profile["inclusive"][:15]]
    return lines


# -- the command line --------------------------------------------------------------------------


def _names(text: str, allowed: Sequence[str] = SERVERS) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    for name in names:
        if name not in allowed:
            raise argparse.ArgumentTypeError(f"{name!r}: choose from {', '.join(allowed)}")
    return names


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.bench_s3",
        description=(__doc__ or "").split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument(
        "--only",
        type=_names,
        action="append",
        help="servers, comma-separated (default: raybus,moto,localstack)",
    )
    p.add_argument(
        "--attach",
        action="append",
        default=[],
        metavar="URL",
        help="also measure an S3 endpoint that is already running",
    )
    p.add_argument(
        "--sizes",
        type=lambda text: _names(text, GROUPS),
        default=list(GROUPS),
        help="groups of cases, comma-separated: 1k, 1m, large",
    )
    p.add_argument("--runs", type=int, default=3, help="runs per cell (the table: medians)")
    p.add_argument("--seconds", type=float, default=5.0, help="length of each 1 KiB/1 MiB put")
    p.add_argument(
        "--client-processes",
        type=int,
        default=2,
        help="client processes for 1 KiB/1 MiB (0: threads of this process)",
    )
    p.add_argument("--client-threads", type=int, default=8, help="threads per client process")
    p.add_argument("--large-mib", type=int, default=64, help="size of the large objects")
    p.add_argument("--large-objects", type=int, default=4, help="large objects per case and run")
    p.add_argument("--disk-mib", type=int, default=1024, help="size of the disk-bandwidth file")
    p.add_argument(
        "--disk-dir",
        default="",
        help="where to measure the disk (default: raybus's server directory)",
    )
    p.add_argument(
        "--memory-mib",
        type=int,
        default=200,
        help="size of the memory pass's object (0: no memory pass)",
    )
    p.add_argument(
        "--idle-s",
        type=float,
        default=1.0,
        help="idle sampling before each transfer of the memory pass",
    )
    p.add_argument(
        "--profile",
        default="",
        metavar="DIR",
        help="after the runs, py-spy each server's gateway processes during large, then "
        "1 KiB PutObjects (not counted in the table); raw profiles in DIR",
    )
    p.add_argument("--up-arg", action="append", default=[], help="extra `raybus up` argument")
    p.add_argument("--localstack-python", default="", help="LocalStack's interpreter")
    p.add_argument("--json", default="", metavar="PATH", help="also write the report as JSON")
    return p  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser().parse_args(argv)
    args.argv = argv
    args.only = [n for group in args.only for n in group] if args.only else list(SERVERS)
    if args.attach and not any("--only" in a for a in argv):
        args.only = []
    report = run(args)
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(report, handle, indent=2, default=str)
    print(format_report(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
