"""Running function handlers on Ray: the :class:`Invoker`.

One Invoker per process that invokes functions (a partition host running pollers and topic
fan-out, a gateway serving synchronous invokes); all its methods run on that process's event
loop (not thread-safe). Two runtimes, chosen per function by ``config.runtime``:

- ``task``: one Ray task per invocation, with the function's CPU share and memory
  (:func:`raybus.options.function_task_options`). Uploaded code is ``ray.put`` once per
  (function, code sha) and handed to tasks by reference; each worker process caches loaded
  handlers (:mod:`raybus.functions.workers`), so a warm worker skips the unpickling or import.
- ``actor``: a pool of ``config.pool`` warm :class:`FunctionWorker` actors, each loading the
  handler once and running one invocation at a time; an invocation takes the most recently
  used idle actor (waiting for one when all are busy). The pool is created on first use.

Each invocation carries a :class:`~raybus.functions.sandbox.CodeSpec`: the code (by
reference), the handler and Lambda's runtime environment, built here with this process's view
of the cluster's region (:func:`~raybus.functions.environment.runtime_environment`). A worker
reuses a loaded handler while the spec's identity — code, handler and environment — is the
same, and answers with the outcome and the tail of the invocation's log.

Timeouts: the deadline (``config.timeout_s``) starts when the handler's process starts the
invocation — a task yields a "started" marker first; an actor is idle and ready when chosen —
so scheduling and worker start-up never count against it, as Lambda's init phase does not. A
timed-out task is force-cancelled (its worker process is killed); a timed-out actor is killed
and replaced. Either way the result is ``Sandbox.Timedout``. A worker that dies mid-invocation
gives ``Runtime.ExitError``. An invocation cancelled by its caller (``asyncio`` cancellation)
cancels its task or kills its actor too.

Reserved concurrency (``config.concurrency``) bounds the invocations of a function in flight
in this Invoker (Lambda bounds it per region; a cluster with several invoking processes gets
the bound per process). When full, :meth:`Invoker.invoke` raises ``TooManyRequestsException``
at once unless ``wait_for_slot`` (pollers wait, first come first served); ``0`` always throttles.

Configuration changes take effect at the next invocation: new code or resources build a new
pool (the old one's actors end when their current invocation does); timeouts and concurrency
are read per call. :meth:`Invoker.forget` drops a deleted function; its invocations still
waiting for a warm actor fail with ``ResourceNotFound``, running ones finish.
"""

from __future__ import annotations

import asyncio
import collections
import json
import logging
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import ray
from ray.exceptions import RayError

from raybus.core.arns import function_arn, region
from raybus.core.code import code_sha256
from raybus.core.errors import RaybusError
from raybus.core.functions import FunctionConfig
from raybus.functions.environment import runtime_environment
from raybus.functions.logs import lambda_log, tail
from raybus.functions.sandbox import (
    CodeSpec,
    InvocationResult,
    Outcome,
    Report,
    crash_error,
    failed,
    timeout_error,
)
from raybus.functions.workers import FunctionWorker, function_task
from raybus.options import function_actor_options, function_task_options

__all__ = [
    "DURATION_BUCKETS_S",
    "FunctionWorker",
    "InvocationResult",
    "Invoker",
]

log = logging.getLogger(__name__)

DURATION_BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900)
NODE_LIMITS_TTL_S = 60.0
MAX_SPAWN_FAILURES = 3

# -- in the invoking process -----------------------------------------------------------------


@dataclass(slots=True)
class _Metrics:
    invocations: int = 0
    errors: int = 0
    throttles: int = 0
    timeouts: int = 0
    buckets: list[int] = field(default_factory=lambda: [0] * len(DURATION_BUCKETS_S))
    duration_sum_s: float = 0.0

    def record(self, result: InvocationResult) -> None:
        self.invocations += 1
        if not result.ok:
            self.errors += 1
        if result.error_type == "Timeout":
            self.timeouts += 1
        seconds = result.duration_ms / 1000
        self.duration_sum_s += seconds
        for index, bound in enumerate(DURATION_BUCKETS_S):
            if seconds <= bound:
                self.buckets[index] += 1
                break

    def export(self, in_flight: int) -> dict[str, Any]:
        cumulative, running = [], 0
        for bound, count in zip(DURATION_BUCKETS_S, self.buckets, strict=True):
            running += count
            cumulative.append((f"{bound:g}", running))
        cumulative.append(("+Inf", self.invocations))
        return {
            "invocations": self.invocations,
            "errors": self.errors,
            "throttles": self.throttles,
            "timeouts": self.timeouts,
            "in_flight": in_flight,
            "duration_seconds": {
                "buckets": cumulative,
                "sum": self.duration_sum_s,
                "count": self.invocations,
            },
        }


class _PoolRetired(Exception):
    """The pool an invocation waited on was replaced; take the current one."""


class _Pool:
    """Warm actors of one (function, code, resources). ``members`` are all its live actors:
    starting, ``idle`` (ready) or ``busy`` (running an invocation); ``waiters`` get actors
    first come first served."""

    def __init__(
        self, key: tuple[Any, ...], options: dict[str, Any], args: tuple[Any, ...]
    ) -> None:
        self.key = key
        self.options = options  # how to start a replacement actor
        self.args = args
        self.members: set[Any] = set()
        self.busy: set[Any] = set()
        self.idle: collections.deque[Any] = collections.deque()
        self.waiters: collections.deque[asyncio.Future[Any]] = collections.deque()
        self.retired = False
        self.spawn_failures = 0
        self.tasks: set[asyncio.Task[None]] = set()


@dataclass(slots=True)
class _Function:
    name: str
    in_flight: int = 0
    slot_waiters: collections.deque[asyncio.Future[bool]] = field(default_factory=collections.deque)
    metrics: _Metrics = field(default_factory=_Metrics)
    code_sha: str | None = None
    code_ref: Any = None
    task_key: tuple[Any, ...] | None = None
    task_remote: Any = None
    pool: _Pool | None = None
    forgotten: bool = False


class Invoker:
    """Runs invocations of functions on Ray; see the module docstring for the contract."""

    def __init__(self, *, node_limits: tuple[float, float] | None = None) -> None:
        """``node_limits`` — (CPUs, memory bytes) of the largest node — skips asking Ray."""
        self._functions: dict[str, _Function] = {}
        self._node_limits = node_limits
        self._limits_checked = time.monotonic() if node_limits else float("-inf")
        self._fixed_limits = node_limits is not None
        self._task_remote: Any = None
        self._actor_class: Any = None

    # -- public ----------------------------------------------------------------------------

    async def invoke(
        self,
        config: FunctionConfig,
        code: bytes | None,
        event: Any,
        *,
        request_id: str | None = None,
        wait_for_slot: bool = False,
    ) -> InvocationResult:
        """Run one invocation of ``config`` with ``event`` (a JSON value) and return its
        result; handler failures are results, not exceptions. ``code`` is the function's code
        when ``config.code_sha256`` is set (it may be ``None`` once this Invoker has seen that
        sha). Raises ``TooManyRequestsException`` when the reserved concurrency is full."""
        request_id = request_id or str(uuid.uuid4())
        state = self._functions.get(config.name)
        if state is None:
            state = self._functions[config.name] = _Function(config.name)
        await self._acquire_slot(state, config, wait_for_slot)
        try:
            spec = self._spec(state, config, code)
            if config.runtime == "actor":
                report = await self._run_on_actor(state, config, spec, event, request_id)
            else:
                self._retire_pool(state)
                report = await self._run_as_task(state, config, spec, event, request_id)
        finally:
            self._release_slot(state)
        (ok, text, duration_ms, error_type), log = report
        result = InvocationResult(
            request_id, ok, json.loads(text), duration_ms, error_type, log_tail=log
        )
        state.metrics.record(result)
        return result

    def metrics(self) -> dict[str, dict[str, Any]]:
        """Per function: ``invocations`` (run, including failures), ``errors``, ``throttles``,
        ``timeouts``, ``in_flight`` and ``duration_seconds`` (cumulative histogram buckets as
        ``(le, count)`` pairs, ``sum``, ``count``) — Prometheus histogram form."""
        return {
            name: state.metrics.export(state.in_flight) for name, state in self._functions.items()
        }

    def forget(self, name: str) -> None:
        """Drop a deleted function: its pool's actors end (idle ones now, busy ones when their
        invocation finishes), its code reference and its metrics go."""
        state = self._functions.pop(name, None)
        if state is not None:
            state.forgotten = True
            state.code_ref = state.code_sha = None
            self._retire_pool(state)

    def close(self) -> None:
        for name in list(self._functions):
            self.forget(name)

    # -- reserved concurrency --------------------------------------------------------------

    async def _acquire_slot(self, state: _Function, config: FunctionConfig, wait: bool) -> None:
        limit = config.concurrency
        if limit is None or (state.in_flight < limit and not state.slot_waiters):
            state.in_flight += 1
            return
        if limit == 0 or not wait:
            state.metrics.throttles += 1
            raise RaybusError(
                "TooManyRequestsException",
                "Rate Exceeded.",
                reason="ReservedFunctionConcurrentInvocationLimitExceeded",
                function=config.name,
            )
        waiter: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        state.slot_waiters.append(waiter)
        try:
            await waiter  # a finishing invocation hands its slot over
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self._release_slot(state)
            else:
                state.slot_waiters.remove(waiter)
            raise

    def _release_slot(self, state: _Function) -> None:
        while state.slot_waiters:
            waiter = state.slot_waiters.popleft()
            if not waiter.done():
                waiter.set_result(True)  # the slot passes on: in_flight is unchanged
                return
        state.in_flight -= 1

    # -- shared ----------------------------------------------------------------------------

    def _limits(self) -> tuple[float | None, float | None]:
        now = time.monotonic()
        if not self._fixed_limits and now - self._limits_checked > NODE_LIMITS_TTL_S:
            nodes = [node["Resources"] for node in ray.nodes() if node.get("Alive")]  # type: ignore[no-untyped-call]
            self._node_limits = (
                max((n.get("CPU", 0.0) for n in nodes), default=0.0),
                max((n.get("memory", 0.0) for n in nodes), default=0.0),
            )
            self._limits_checked = now
        if self._node_limits is None:
            return None, None
        cpus, memory = self._node_limits
        return (cpus or None), (memory or None)

    def _code_arg(
        self, state: _Function, config: FunctionConfig, code: bytes | None
    ) -> list[Any] | None:
        """``[ref]`` of the code in the object store (nested in a list so Ray hands the
        reference, not the bytes, to the worker), or ``None`` for an import-path handler."""
        sha = config.code_sha256
        if sha is None:
            return None
        if state.code_sha != sha:
            if code is None:
                raise RaybusError("InternalError", f"Function {config.name}'s code is missing.")
            if code_sha256(code) != sha:
                raise RaybusError(
                    "InternalError", f"Function {config.name}'s code does not match its sha256."
                )
            state.code_ref = ray.put(code)
            state.code_sha = sha
        return [state.code_ref]

    def _spec(self, state: _Function, config: FunctionConfig, code: bytes | None) -> CodeSpec:
        """The code, handler and environment a worker runs ``config`` with (the region and
        ARN from this process's view of the cluster's identity)."""
        return CodeSpec.of(
            config,
            environment=runtime_environment(config, region()),
            function_arn=function_arn(config.name),
            code_ref=self._code_arg(state, config, code),
        )

    # -- task runtime ----------------------------------------------------------------------

    def _task_for(self, state: _Function, config: FunctionConfig) -> Any:
        key = (config.cpu_share, config.memory_mb)
        if state.task_key != key:
            if self._task_remote is None:
                self._task_remote = ray.remote(function_task)
            cpus, memory = self._limits()
            state.task_remote = self._task_remote.options(
                **function_task_options(config, max_node_cpus=cpus, max_node_memory_bytes=memory)
            )
            state.task_key = key
        return state.task_remote

    async def _run_as_task(
        self, state: _Function, config: FunctionConfig, spec: CodeSpec, event: Any, rid: str
    ) -> Report:
        generator = self._task_for(state, config).remote(
            spec, event, rid, config.timeout_s, config.memory_mb
        )
        try:
            await generator.__anext__()  # the handler's process has started the invocation
            ref = await asyncio.wait_for(generator.__anext__(), config.timeout_s)
            report: Report = await ref
            return report
        except asyncio.TimeoutError:
            ray.cancel(generator, force=True)
            return _timed_out(rid, config)
        except StopAsyncIteration:  # the worker died between yields
            return _reported(failed(crash_error(rid)), rid, config)
        except RayError as exc:
            return _reported(failed(crash_error(rid, type(exc).__name__)), rid, config)
        except asyncio.CancelledError:
            ray.cancel(generator, force=True)
            raise

    # -- actor runtime ---------------------------------------------------------------------

    def _pool_for(self, state: _Function, config: FunctionConfig, spec: CodeSpec) -> _Pool:
        if state.forgotten:  # deleted while this invocation waited for a worker
            raise RaybusError("ResourceNotFound", f"Function not found: {config.name}")
        key = (spec.identity, config.pool, config.cpu_share, config.memory_mb)
        pool = state.pool
        if pool is not None and pool.key == key and not pool.retired:
            return pool
        self._retire_pool(state)
        if self._actor_class is None:
            self._actor_class = ray.remote(FunctionWorker)
        cpus, memory = self._limits()
        options = function_actor_options(config, max_node_cpus=cpus, max_node_memory_bytes=memory)
        pool = state.pool = _Pool(key, options, (spec,))
        for _ in range(config.pool):
            self._spawn(pool)
        return pool

    def _spawn(self, pool: _Pool) -> None:
        actor = self._actor_class.options(**pool.options).remote(*pool.args)
        pool.members.add(actor)

        async def ready() -> None:
            try:
                await actor.__ray_ready__.remote()
            except RayError as exc:
                pool.members.discard(actor)
                if pool.retired:
                    return  # killed while starting: its pool was replaced
                pool.spawn_failures += 1
                log.warning("function worker failed to start: %s", exc)
                if pool.spawn_failures > MAX_SPAWN_FAILURES:
                    error = RaybusError("InternalError", f"Function workers fail to start: {exc}")
                    _retire(pool, error)
                else:
                    self._spawn(pool)
                return
            pool.spawn_failures = 0
            self._release_actor(pool, actor)

        task = asyncio.get_running_loop().create_task(ready())
        pool.tasks.add(task)
        task.add_done_callback(pool.tasks.discard)

    async def _acquire_actor(self, pool: _Pool) -> Any:
        if pool.retired:
            raise _PoolRetired
        if pool.idle:
            actor = pool.idle.pop()  # the most recently used: warmest caches
            pool.busy.add(actor)
            return actor
        waiter: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        pool.waiters.append(waiter)
        try:
            return await waiter  # busy already: handed over by _release_actor
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self._release_actor(pool, waiter.result())
            else:
                pool.waiters.remove(waiter)
            raise

    def _release_actor(self, pool: _Pool, actor: Any) -> None:
        """``actor`` (just started, or done with an invocation) serves the next waiter or
        goes idle; in a retired pool it ends."""
        pool.busy.discard(actor)
        if pool.retired or actor not in pool.members:
            pool.members.discard(actor)
            _kill(actor)
            return
        while pool.waiters:
            waiter = pool.waiters.popleft()
            if not waiter.done():
                pool.busy.add(actor)
                waiter.set_result(actor)
                return
        pool.idle.append(actor)

    def _replace_actor(self, pool: _Pool, actor: Any) -> None:
        pool.busy.discard(actor)
        pool.members.discard(actor)
        _kill(actor)
        if not pool.retired:
            self._spawn(pool)

    def _retire_pool(self, state: _Function) -> None:
        pool, state.pool = state.pool, None
        if pool is not None:
            _retire(pool, _PoolRetired())

    async def _run_on_actor(
        self, state: _Function, config: FunctionConfig, spec: CodeSpec, event: Any, rid: str
    ) -> Report:
        while True:
            pool = self._pool_for(state, config, spec)
            try:
                actor = await self._acquire_actor(pool)
            except _PoolRetired:
                continue
            break
        ref = actor.invoke.remote(event, rid, config.timeout_s, config.memory_mb)
        try:
            report: Report = await asyncio.wait_for(
                asyncio.wrap_future(ref.future()), config.timeout_s
            )
        except asyncio.TimeoutError:
            self._replace_actor(pool, actor)
            return _timed_out(rid, config)
        except RayError as exc:
            self._replace_actor(pool, actor)
            return _reported(failed(crash_error(rid, type(exc).__name__)), rid, config)
        except asyncio.CancelledError:
            self._replace_actor(pool, actor)
            raise
        self._release_actor(pool, actor)
        return report


def _retire(pool: _Pool, error: BaseException) -> None:
    """End ``pool``: idle and starting actors now, busy ones when they finish; its waiters get
    ``error``."""
    pool.retired = True
    pool.idle.clear()
    for actor in pool.members - pool.busy:
        pool.members.discard(actor)
        _kill(actor)
    while pool.waiters:
        waiter = pool.waiters.popleft()
        if not waiter.done():
            waiter.set_exception(error)


def _timed_out(request_id: str, config: FunctionConfig) -> Report:
    outcome = failed(timeout_error(request_id, config.timeout_s))
    return _reported(
        (outcome[0], outcome[1], config.timeout_s * 1000.0, "Timeout"), request_id, config
    )


def _reported(outcome: Outcome, request_id: str, config: FunctionConfig) -> Report:
    """A failure the invoking process saw (the handler's own output is lost with its
    process): its log holds the error alone."""
    log = lambda_log(
        request_id,
        "",
        duration_ms=outcome[2],
        memory_mb=config.memory_mb,
        error=json.loads(outcome[1]),
    )
    return outcome, tail(log)


def _kill(actor: Any) -> None:
    try:
        ray.kill(actor, no_restart=True)
    except Exception as exc:  # already dead, or Ray is shutting down
        log.debug("could not kill function worker: %s", exc)
