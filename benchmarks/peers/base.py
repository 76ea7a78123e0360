"""What every queue benchmark target implements, and the process plumbing they share.

A target is one messaging system reached over its own client protocol. The workload
(``benchmarks.bench_queue``) only talks to this interface:

- ``start()`` / ``stop()``: start the server (a subprocess on loopback, in its own process
  group, with a throw-away data directory) or attach to a running one, and stop what was
  started — every process of its tree, by pid.
- ``create_queue(name)`` / ``delete_queue(name)``: a fresh, empty queue for one measurement.
- ``send(queue, bodies)``: one request carrying ``len(bodies)`` messages (1 = the system's
  single-message call); returns once the system acknowledged every message.
- ``receiver(queue, max_messages)`` → ``Receiver`` with ``receive(wait_s)`` (at most
  ``max_messages`` messages, long-polling up to ``wait_s`` when none is there) and
  ``delete(messages)`` (delete/ack what was received, in one request where the protocol
  allows). One receiver per concurrent worker.
- ``root_pids()``: the processes whose trees make up the running system, for memory and CPU.

Targets are async and used from one event loop; none is thread-safe.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "Memory",
    "Message",
    "Receiver",
    "ServerProcess",
    "Target",
    "TargetUnavailable",
    "cpu_probe_ms",
    "free_port",
    "stop_all",
    "tree_cpu_seconds",
    "tree_memory",
    "tree_pids",
]


class TargetUnavailable(RuntimeError):
    """The target cannot run here (binary missing, server did not come up); the message says why."""


@dataclass(frozen=True)
class Message:
    """A received message: its body and whatever the system needs to delete it."""

    body: bytes
    handle: Any


class Receiver(ABC):
    @abstractmethod
    async def receive(self, wait_s: float) -> list[Message]: ...

    @abstractmethod
    async def delete(self, messages: Sequence[Message]) -> None: ...

    async def close(self) -> None:  # noqa: B027 - optional hook
        pass


class Target(ABC):
    #: short name used on the command line and in tables
    name: str = ""
    #: largest number of messages one send/receive request may carry
    max_batch: int = 1000
    #: how the client talks to the server, for the report
    protocol: str = ""
    #: what an acknowledged send means on disk, for the report
    durability: str = ""

    @abstractmethod
    async def start(self) -> None: ...

    @abstractmethod
    async def stop(self) -> None: ...

    @abstractmethod
    async def create_queue(self, name: str) -> None: ...

    @abstractmethod
    async def delete_queue(self, name: str) -> None: ...

    @abstractmethod
    async def send(self, queue: str, bodies: Sequence[bytes]) -> None: ...

    @abstractmethod
    async def receiver(self, queue: str, max_messages: int) -> Receiver: ...

    def root_pids(self) -> list[int]:
        return []

    def version(self) -> str:
        return ""


# --- process trees -----------------------------------------------------------------------


@dataclass(frozen=True)
class Memory:
    """Memory of a process tree, in bytes. ``pss`` is the honest total: shared pages are
    divided among the processes sharing them, so summing over a tree counts each page once.
    ``rss`` double-counts shared pages (libraries, Ray's shared-memory object store);
    ``uss`` leaves out everything shared."""

    rss: int
    pss: int
    uss: int
    processes: int


def tree_pids(roots: Sequence[int]) -> list[int]:
    """The roots and all their live descendants (deduplicated, roots first)."""
    import psutil

    seen: dict[int, None] = {}
    for pid in roots:
        try:
            proc = psutil.Process(pid)
            seen.setdefault(proc.pid, None)
            for child in proc.children(recursive=True):
                seen.setdefault(child.pid, None)
        except psutil.Error:
            continue
    return list(seen)


def tree_memory(roots: Sequence[int]) -> Memory | None:
    """Sum RSS, PSS and USS over the process trees (``/proc/<pid>/smaps_rollup``)."""
    import psutil

    rss = pss = uss = count = 0
    for pid in tree_pids(roots):
        try:
            info = psutil.Process(pid).memory_full_info()
        except psutil.Error:
            continue
        rss += info.rss
        pss += getattr(info, "pss", 0)
        uss += info.uss
        count += 1
    return Memory(rss, pss, uss, count) if count else None


def cpu_probe_ms(rounds: int = 3) -> float:
    """How long this machine takes for a fixed piece of pure Python (the fastest of ``rounds``,
    in ms; ~50 ms each here). Recorded before and after a target: on a shared VM the same code
    runs at different speeds from hour to hour, and figures are comparable only where the probe
    reads alike."""
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        sum(i * i for i in range(500_000))
        best = min(best, time.perf_counter() - started)
    return round(best * 1000, 1)


def tree_cpu_seconds(roots: Sequence[int]) -> float:
    """User + system CPU time consumed so far by the live processes of the trees."""
    import psutil

    total = 0.0
    for pid in tree_pids(roots):
        try:
            times = psutil.Process(pid).cpu_times()
        except psutil.Error:
            continue
        total += times.user + times.system
    return total


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


_RUNNING: dict[int, ServerProcess] = {}


def stop_all() -> None:
    """Stop every server still running (registered with ``atexit``: a benchmark that dies
    or is interrupted leaves nothing behind)."""
    for server in list(_RUNNING.values()):
        with contextlib.suppress(Exception):
            server.stop(timeout_s=30)


atexit.register(stop_all)


class ServerProcess:
    """A server started as a subprocess in its own session, with a private temp directory.

    ``stop()`` collects the process tree, sends SIGTERM to the root and waits for it (so it
    can stop its children in order), then SIGTERMs and finally SIGKILLs whatever of the
    collected tree is left (re-parented daemons included) — always by pid.
    """

    def __init__(self, name: str, keep_dir: bool = False) -> None:
        self.name = name
        self.dir = tempfile.mkdtemp(prefix=f"raybus-bench-{name}-")
        self.keep_dir = keep_dir
        self.proc: subprocess.Popen[bytes] | None = None
        self._log: Any = None

    @property
    def log_path(self) -> str:
        return os.path.join(self.dir, "server.log")

    def spawn(self, argv: Sequence[str], env: dict[str, str] | None = None) -> None:
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        full_env = dict(os.environ)
        full_env.update(env or {})
        try:
            self.proc = subprocess.Popen(
                list(argv),
                stdout=self._log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=full_env,
                cwd=self.dir,
                start_new_session=True,
            )
        except FileNotFoundError as exc:
            self._log.close()
            raise TargetUnavailable(f"{self.name}: {argv[0]} not found ({exc})") from exc
        _RUNNING[id(self)] = self

    def wait_until(self, ready: Any, timeout_s: float, what: str) -> None:
        """Poll ``ready()`` until true; fail with the log's tail if the process dies or hangs."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise TargetUnavailable(
                    f"{self.name} exited with {self.proc.returncode} before {what}:\n"
                    + self.log_tail()
                )
            with contextlib.suppress(Exception):
                if ready():
                    return
            time.sleep(0.1)
        raise TargetUnavailable(
            f"{self.name}: no {what} after {timeout_s:.0f} s:\n" + self.log_tail()
        )

    def log_tail(self, lines: int = 15) -> str:
        try:
            with open(self.log_path, "rb") as handle:
                text = handle.read().decode("utf-8", "replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def pids(self) -> list[int]:
        return [self.proc.pid] if self.proc is not None and self.proc.poll() is None else []

    def stop(self, timeout_s: float = 20.0) -> None:
        import psutil

        _RUNNING.pop(id(self), None)
        if self.proc is None:
            return
        procs = []
        for pid in tree_pids([self.proc.pid]):
            with contextlib.suppress(psutil.Error):
                procs.append(psutil.Process(pid))
        # The root first, so that it can shut its own children down in order ...
        if procs:
            with contextlib.suppress(psutil.Error):
                procs[0].send_signal(signal.SIGTERM)
            psutil.wait_procs(procs[:1], timeout=timeout_s)
        # ... then whatever of the tree it left behind (collected before: re-parented too).
        alive = [p for p in procs if p.is_running()]
        for proc in alive:
            with contextlib.suppress(psutil.Error):
                proc.send_signal(signal.SIGTERM)
        _, alive = psutil.wait_procs(alive, timeout=5)
        for proc in alive:
            with contextlib.suppress(psutil.Error):
                proc.kill()
        psutil.wait_procs(alive, timeout=5)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=1)
        self.proc = None
        if self._log is not None:
            self._log.close()
            self._log = None
        if not self.keep_dir:
            shutil.rmtree(self.dir, ignore_errors=True)
