"""The code that runs inside Ray worker processes for the function runtime
(:mod:`raybus.functions.runtime`): the body of an invocation task and the
:class:`FunctionWorker` actor class.

Loaded handlers are cached per worker process as :class:`~raybus.functions.sandbox.Sandbox`
values: a task worker keeps the last :data:`WORKER_CACHE_SIZE` (function, code identity)
pairs (least recently used out), a FunctionWorker its one sandbox. A sandbox whose handler
failed to load is not kept, so a fixed module loads on the next invocation. The handler's
context is created before loading, so its deadline matches the invoker's, which starts when
the process starts the invocation (loading counts against the timeout, as Lambda's on-demand
init does).
"""

from __future__ import annotations

import collections
from collections.abc import Iterator
from typing import Any

import ray

from raybus.functions.sandbox import CodeSpec, Report, Sandbox

__all__ = ["WORKER_CACHE_SIZE", "FunctionWorker", "function_task"]

WORKER_CACHE_SIZE = 32

_SANDBOXES: collections.OrderedDict[tuple[str, str], Sandbox] = collections.OrderedDict()


def _sandbox(spec: CodeSpec) -> Sandbox:
    def code() -> bytes | None:
        return ray.get(spec.code_ref[0]) if spec.code_ref else None

    return Sandbox(spec, code)


def _execute(
    spec: CodeSpec, event: Any, request_id: str, timeout_s: float, memory_mb: int
) -> Report:
    key = (spec.function, spec.identity)
    sandbox = _SANDBOXES.get(key)
    if sandbox is None:
        sandbox = _sandbox(spec)
    else:
        _SANDBOXES.move_to_end(key)
    report = sandbox.invoke(event, request_id, timeout_s, memory_mb)
    if sandbox.loaded and key not in _SANDBOXES:
        _SANDBOXES[key] = sandbox
        while len(_SANDBOXES) > WORKER_CACHE_SIZE:
            _SANDBOXES.popitem(last=False)
    return report


def function_task(
    spec: CodeSpec, event: Any, request_id: str, timeout_s: float, memory_mb: int
) -> Iterator[Report | None]:
    """The body of an invocation task, a streaming generator: ``None`` once the process has
    started the invocation, then its report (outcome and log tail)."""
    yield None
    yield _execute(spec, event, request_id, timeout_s, memory_mb)


class FunctionWorker:
    """A warm sandbox of one function's code (the ``actor`` runtime): loads the handler on its
    first invocation and keeps it. One invocation at a time (``max_concurrency=1``)."""

    def __init__(self, spec: CodeSpec) -> None:
        self._sandbox = _sandbox(spec)

    def invoke(self, event: Any, request_id: str, timeout_s: float, memory_mb: int) -> Report:
        return self._sandbox.invoke(event, request_id, timeout_s, memory_mb)
