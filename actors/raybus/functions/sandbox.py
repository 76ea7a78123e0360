"""Running one handler call the way Lambda's Python runtime does, and the result of an
invocation. Ray-free: the runtime calls :func:`run_handler` inside a Ray worker, tests call it
directly. A :class:`Sandbox` is one function's handler loaded in a worker process (its code,
its environment, its archive's modules, its output captured for the log tail), described by a
:class:`CodeSpec` the invoker sends with each invocation.

Lambda's rules followed here (docs.aws.amazon.com/lambda/latest/dg/python-exceptions.html):

- the result must be JSON-serialisable (``Decimal`` counts as a number), else
  ``Runtime.MarshalError`` ("Unable to marshal response: ..."); a synchronous response above
  6 MB (6,291,556 bytes) fails with ``Function.ResponseSizeTooLarge``;
- an exception becomes ``{"errorType": <class name>, "errorMessage": str(exc),
  "stackTrace": [<formatted frames of the handler's code>]}`` and the invocation's function
  error is ``Unhandled``;
- a handler that runs past its timeout fails with ``Sandbox.Timedout`` and the message
  ``"<time> <request id> Task timed out after 3.00 seconds"`` (the caller enforces the
  deadline and builds it with :func:`timeout_error`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from raybus.core.errors import RaybusError
from raybus.core.functions import FunctionConfig
from raybus.functions.archive import ArchiveModules, extracted
from raybus.functions.context import LambdaContext
from raybus.functions.envelope import iso_timestamp
from raybus.functions.environment import applied
from raybus.functions.loader import load_handler, load_lambda_handler
from raybus.functions.logs import captured, lambda_log, tail

__all__ = [
    "MAX_RESPONSE_BYTES",
    "CodeSpec",
    "InvocationResult",
    "Outcome",
    "Report",
    "Sandbox",
    "crash_error",
    "error_payload",
    "failed",
    "load_failed",
    "run_handler",
    "timeout_error",
]

MAX_RESPONSE_BYTES = 6_291_556  # Lambda's synchronous response payload limit

# What a handler call gives: (ok, payload JSON text, duration in ms, error type or None).
Outcome = tuple[bool, str, float, "str | None"]
# What a worker sends back: the outcome and the tail of the invocation's log.
Report = tuple[Outcome, str]


@dataclass(frozen=True, slots=True)
class InvocationResult:
    """One finished invocation. ``payload`` is the handler's JSON result when ``ok``, else
    Lambda's error object ``{"errorType", "errorMessage", "stackTrace"}``. ``error_type`` is
    ``None`` when ``ok``, ``"Timeout"`` when the deadline passed and ``"Unhandled"`` for every
    other failure (the handler raised, could not be loaded, returned something unmarshalable,
    or its process died) — AWS reports all of these as the function error ``Unhandled``.
    ``duration_ms`` is the handler's run time (the timeout for a timed-out invocation)."""

    request_id: str
    ok: bool
    payload: Any
    duration_ms: float
    error_type: str | None = None
    log_tail: str = ""  # the last 4 KB of the invocation's log (Lambda's LogType Tail)

    def to_dict(self) -> dict[str, Any]:
        """The contract's invoke answer ``{"request_id", "ok", "payload", "duration_ms"}``."""
        return {
            "request_id": self.request_id,
            "ok": self.ok,
            "payload": self.payload,
            "duration_ms": self.duration_ms,
        }


def error_payload(error_type: str, message: str, stack: list[str] | None = None) -> dict[str, Any]:
    return {"errorType": error_type, "errorMessage": message, "stackTrace": stack or []}


def timeout_error(request_id: str, timeout_s: float, now_ms: int | None = None) -> dict[str, Any]:
    stamp = iso_timestamp(now_ms if now_ms is not None else int(time.time() * 1000))
    return error_payload(
        "Sandbox.Timedout", f"{stamp} {request_id} Task timed out after {timeout_s:.2f} seconds"
    )


def crash_error(request_id: str, detail: str = "") -> dict[str, Any]:
    reason = f": {detail}" if detail else " without providing a reason"
    return error_payload(
        "Runtime.ExitError", f"RequestId: {request_id} Error: Runtime exited{reason}"
    )


def _decimal(value: object) -> float:
    if isinstance(value, Decimal):
        return float(value)  # as Lambda's Python runtime does
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _encode(value: Any) -> str:
    # allow_nan=False: NaN/Infinity are not JSON; Lambda's runtime would emit them, raybus
    # reports a MarshalError instead (a deliberate difference: answers stay valid JSON)
    return json.dumps(value, ensure_ascii=False, allow_nan=False, default=_decimal)


def run_handler(handler: Callable[[Any, Any], Any], event: Any, context: Any) -> Outcome:
    """Call ``handler(event, context)``; never raises (except BaseExceptions such as
    KeyboardInterrupt that must stop the process)."""
    started = time.perf_counter()
    try:
        result = handler(event, context)
    except Exception as exc:
        duration = (time.perf_counter() - started) * 1000
        frames = traceback.extract_tb(exc.__traceback__)[1:]  # drop this function's frame
        payload = error_payload(type(exc).__name__, str(exc), traceback.format_list(frames))
        return (False, _encode(payload), duration, "Unhandled")
    duration = (time.perf_counter() - started) * 1000
    try:
        text = _encode(result)
    except (TypeError, ValueError, RecursionError) as exc:
        payload = error_payload("Runtime.MarshalError", f"Unable to marshal response: {exc}")
        return (False, _encode(payload), duration, "Unhandled")
    if len(text) > MAX_RESPONSE_BYTES // 4 and len(text.encode("utf-8")) > MAX_RESPONSE_BYTES:
        payload = error_payload(
            "Function.ResponseSizeTooLarge",
            "Response payload size exceeded maximum allowed payload size "
            f"({MAX_RESPONSE_BYTES} bytes).",
        )
        return (False, _encode(payload), duration, "Unhandled")
    return (True, text, duration, None)


def failed(error: dict[str, Any]) -> Outcome:
    """An outcome for a failure found before the handler ran (it could not be loaded)."""
    return (False, _encode(error), 0.0, "Unhandled")


def load_failed(error: RaybusError) -> Outcome:
    """The outcome of an invocation whose handler could not be loaded, as Lambda reports it
    (``Runtime.ImportModuleError``, ``Runtime.HandlerNotFound``, ...)."""
    return failed(error_payload(str(error.details.get("runtime_error", error.code)), error.message))


@dataclass(frozen=True, slots=True)
class CodeSpec:
    """What a worker needs to load one function's handler and run it as Lambda would. The
    invoker builds it; the code travels by reference (``code_ref``: ``[ObjectRef]``).
    ``identity`` changes whenever the code, the handler or the environment does, so a worker
    reuses a loaded handler only while all three are the same (a changed environment is a
    new cold start, as on Lambda)."""

    function: str
    identity: str
    function_arn: str
    code_format: str
    handler: str | None
    code_sha256: str | None
    code_ref: list[Any] | None
    environment: dict[str, str]

    @classmethod
    def of(
        cls,
        config: FunctionConfig,
        *,
        environment: dict[str, str],
        function_arn: str,
        code_ref: list[Any] | None,
    ) -> CodeSpec:
        what = [config.code_format, config.handler, config.code_sha256, sorted(environment.items())]
        identity = hashlib.sha256(json.dumps(what).encode("utf-8")).hexdigest()
        return cls(
            function=config.name,
            identity=identity,
            function_arn=function_arn,
            code_format=config.code_format,
            handler=config.handler,
            code_sha256=config.code_sha256,
            code_ref=code_ref,
            environment=environment,
        )


class Sandbox:
    """One function's handler in this process. ``code`` fetches the code's bytes (only when
    they are needed: an archive already extracted on this machine is not fetched). The handler
    loads on the first invocation; a load that fails is reported as the invocation's error and
    tried again on the next, so a worker never keeps a broken sandbox (see :attr:`loaded`)."""

    def __init__(self, spec: CodeSpec, code: Callable[[], bytes | None]) -> None:
        self.spec = spec
        self._code = code
        self._fn: Callable[..., Any] | None = None
        self._modules: ArchiveModules | None = None
        self._environment = dict(spec.environment)

    @property
    def loaded(self) -> bool:
        return self._fn is not None

    def invoke(self, event: Any, request_id: str, timeout_s: float, memory_mb: int) -> Report:
        """Run one invocation (loading the handler first if needed); never raises."""
        context = LambdaContext(
            function_name=self.spec.function,
            memory_mb=memory_mb,
            request_id=request_id,
            timeout_s=timeout_s,
            function_arn=self.spec.function_arn,
        )
        self._environment["AWS_LAMBDA_LOG_STREAM_NAME"] = context.log_stream_name
        with captured(request_id) as output:
            outcome = self._run(event, context)
        ok, text, duration_ms, _ = outcome
        log = lambda_log(
            request_id,
            output.text(),
            duration_ms=duration_ms,
            memory_mb=memory_mb,
            error=None if ok else json.loads(text),
        )
        return outcome, tail(log)

    def _run(self, event: Any, context: LambdaContext) -> Outcome:
        if self._fn is None:
            try:
                self._fn = self._load()
            except RaybusError as exc:
                return load_failed(exc)
        with self._entered():
            return run_handler(self._fn, event, context)

    def _load(self) -> Callable[..., Any]:
        spec = self.spec
        if spec.code_format != "zip":
            code = self._code() if spec.code_sha256 is not None else None
            with applied(self._environment):
                return load_handler(spec.handler, code)
        assert spec.code_sha256 is not None and spec.handler is not None
        root = extracted(spec.code_sha256, self._archive)
        self._modules = ArchiveModules(root)
        self._environment["LAMBDA_TASK_ROOT"] = root
        with self._entered():
            return load_lambda_handler(spec.handler)

    def _archive(self) -> bytes:
        code = self._code()
        if code is None:
            raise RaybusError("InternalError", f"Function {self.spec.function}'s code is missing.")
        return code

    @contextlib.contextmanager
    def _entered(self) -> Iterator[None]:
        with applied(self._environment):
            if self._modules is None:
                yield
            else:
                with self._modules.active():
                    yield
