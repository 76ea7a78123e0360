"""The code that runs inside Ray worker processes for the function runtime
(:mod:`raybus.functions.runtime`): the body of an invocation task and the
:class:`FunctionWorker` actor class.

Loaded handlers are cached per worker process: a task worker keeps the last
:data:`WORKER_CACHE_SIZE` (function, code identity) pairs (least recently used out), a
FunctionWorker its one handler. A handler that fails to load is not cached, so a fixed module
loads on the next invocation. The handler's context is created before loading, so its deadline
matches the invoker's, which starts when the process starts the invocation (loading counts
against the timeout, as Lambda's on-demand init does).
"""

from __future__ import annotations

import collections
from collections.abc import Callable, Iterator
from typing import Any

import ray

from raybus.core.errors import RaybusError
from raybus.functions.context import LambdaContext
from raybus.functions.loader import load_handler
from raybus.functions.sandbox import Outcome, error_payload, failed, run_handler

__all__ = ["WORKER_CACHE_SIZE", "FunctionWorker", "function_task"]

WORKER_CACHE_SIZE = 32

_HANDLERS: collections.OrderedDict[tuple[str, str], Callable[..., Any]] = collections.OrderedDict()


def _load(handler: str | None, code_arg: list[Any] | None) -> Callable[..., Any]:
    code = ray.get(code_arg[0]) if code_arg else None
    return load_handler(handler, code)


def _load_failed(exc: RaybusError) -> Outcome:
    return failed(error_payload(str(exc.details.get("runtime_error", exc.code)), exc.message))


def _execute(
    name: str,
    identity: str,
    handler: str | None,
    code_arg: list[Any] | None,
    event: Any,
    request_id: str,
    timeout_s: float,
    memory_mb: int,
) -> Outcome:
    context = LambdaContext(
        function_name=name, memory_mb=memory_mb, request_id=request_id, timeout_s=timeout_s
    )
    key = (name, identity)
    fn = _HANDLERS.get(key)
    if fn is None:
        try:
            fn = _load(handler, code_arg)
        except RaybusError as exc:
            return _load_failed(exc)  # not cached: a fixed module loads on the next call
        _HANDLERS[key] = fn
        while len(_HANDLERS) > WORKER_CACHE_SIZE:
            _HANDLERS.popitem(last=False)
    else:
        _HANDLERS.move_to_end(key)
    return run_handler(fn, event, context)


def function_task(*args: Any) -> Iterator[Outcome | None]:
    """The body of an invocation task, a streaming generator: ``None`` once the process has
    started the invocation, then the outcome. Arguments: function name, code identity,
    handler path, ``[code ref]``, event, request id, timeout, memory."""
    yield None
    yield _execute(*args)


class FunctionWorker:
    """A warm sandbox of one function's code (the ``actor`` runtime): loads the handler on its
    first invocation and keeps it. One invocation at a time (``max_concurrency=1``)."""

    def __init__(
        self, name: str, identity: str, handler: str | None, code_arg: list[Any] | None
    ) -> None:
        self._name = name
        self._handler = handler
        self._code_arg = code_arg
        self._fn: Callable[..., Any] | None = None

    def invoke(self, event: Any, request_id: str, timeout_s: float, memory_mb: int) -> Outcome:
        context = LambdaContext(
            function_name=self._name,
            memory_mb=memory_mb,
            request_id=request_id,
            timeout_s=timeout_s,
        )
        if self._fn is None:
            try:
                self._fn = _load(self._handler, self._code_arg)
            except RaybusError as exc:
                return _load_failed(exc)
        return run_handler(self._fn, event, context)
