# Generated from _aio.py by `python -m tests.sdk.generate_sync`: edit _aio.py, not this
# file (tests/sdk/test_generated_sync.py fails when the two differ).
"""Functions on the client: :class:`FunctionMethods` (the client's function methods) and
:class:`Function`.

Invocations are Lambda's: a synchronous invoke retried after a lost answer (a timeout, a
dropped connection, a 500) may run the function twice, and asynchronous invocations are
at-least-once — make handlers idempotent.

``_aio.py`` is the source of both flavours; ``_sync.py`` beside it is generated from it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ClassVar, TypeAlias

from raybus.core import arns
from raybus.sdk._handles import Handle, Target, name_of
from raybus.sdk.base._sync import ClientBase
from raybus.sdk.functions import ops

__all__ = ["Function", "FunctionMethods"]

# An import path "package.module:function", or a Python callable to upload.
Handler: TypeAlias = str | Callable[..., Any]


class FunctionMethods(ClientBase):
    """The client's function methods."""

    def create_function(
        self,
        name: str,
        handler: Handler,
        *,
        timeout_s: int = 3,
        max_retries: int = 2,
        max_event_age_s: int = 21_600,
        on_success: Target | None = None,
        on_failure: Target | None = None,
        dead_letter_queue: Target | None = None,
        concurrency: int | None = None,
        memory_mb: int = 128,
        cpus: float | None = None,
        runtime: str = "task",
        pool_size: int | None = None,
    ) -> Function:
        """Create a function, or return the existing one when its settings are the same (else
        ``ResourceConflict``).

        ``handler`` is an import path ``"package.module:function"`` (importable on the cluster)
        or a Python callable, which is serialised and uploaded (see :mod:`raybus.sdk._code`;
        needs ``cloudpickle``). Destinations (``on_success``, ``on_failure``) are queues,
        topics or functions, ``dead_letter_queue`` a queue or topic: handles or
        ``"kind:name"`` strings. ``max_retries`` (0–2) and ``max_event_age_s`` (60–21,600)
        apply to asynchronous invocations; ``concurrency`` is the reserved concurrency;
        ``runtime`` is ``"task"`` (a Ray task per invocation) or ``"actor"`` (``pool_size``
        warm actors)."""
        body = ops.function_settings(
            {
                "name": name,
                "handler": handler,
                "timeout_s": timeout_s,
                "max_retries": max_retries,
                "max_event_age_s": max_event_age_s,
                "on_success": on_success,
                "on_failure": on_failure,
                "dead_letter_queue": dead_letter_queue,
                "concurrency": concurrency,
                "memory_mb": memory_mb,
                "cpus": cpus,
                "runtime": runtime,
                "pool_size": pool_size,
            }
        )
        return Function(self, self._run(ops.create_function(body)))

    def function(self, name: str) -> Function:
        """The function named ``name``; raises ``ResourceNotFound``."""
        return Function(self, self._run(ops.get_function(name)))

    def list_functions(self, prefix: str | None = None, *, limit: int | None = None) -> list[str]:
        """Function names, sorted; at most ``limit`` (the gateway's default is 1,000)."""
        return self._run(ops.list_functions(prefix, limit))

    def delete_function(self, function: str | Function) -> None:
        self._run(ops.delete_function(name_of(function)))

    def invoke(self, function: str | Function, payload: Any) -> Any:
        """Run the function on ``payload`` (a JSON value) and return its result. Raises
        :class:`~raybus.sdk.errors.FunctionError` when the handler failed (raised, timed out,
        returned something that is not JSON), ``TooManyRequestsException`` (retried first)
        when its concurrency is exhausted, ``ResourceNotFound`` when it does not exist."""
        return self._run(ops.invoke(name_of(function), payload))

    def invoke_async(self, function: str | Function, payload: Any) -> str:
        """Queue an invocation (durable once this returns) and return its request id. Failures
        are retried ``max_retries`` times, then go to ``on_failure`` / the dead-letter queue."""
        return self._run(ops.invoke_async(name_of(function), payload))


class Function(Handle[ClientBase]):
    """A handle on one function: ``name``, ``arn`` and ``config`` (its settings as the gateway
    last reported them, without the code bytes: ``code_sha256`` and ``code_size`` describe
    uploaded code)."""

    resource_kind: ClassVar[str] = "function"

    def __init__(self, client: ClientBase, config: Mapping[str, Any]) -> None:
        super().__init__(client, config)
        self.name: str = str(self.config.get("name"))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"

    @property
    def arn(self) -> str:
        """The Lambda-style ARN (``arn:aws:lambda:us-east-1:000000000000:function:<name>``)."""
        return arns.function_arn(self.name)

    def invoke(self, payload: Any) -> Any:
        """See :meth:`Client.invoke <raybus.sdk.Client.invoke>`."""
        return self._client._run(ops.invoke(self.name, payload))

    def invoke_async(self, payload: Any) -> str:
        """See :meth:`Client.invoke_async <raybus.sdk.Client.invoke_async>`."""
        return self._client._run(ops.invoke_async(self.name, payload))

    def update(self, **changes: Any) -> dict[str, Any]:
        """Change settings (the keywords of ``create_function``; a callable ``handler``
        uploads new code); returns the config. The next invocation uses them."""
        self.config = self._client._run(ops.update_function(self.name, changes))
        return self.config

    def delete(self) -> None:
        """Delete the function (as ``client.delete_function``)."""
        self._client._run(ops.delete_function(self.name))
