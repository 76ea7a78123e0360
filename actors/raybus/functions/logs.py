"""A handler's output, as Lambda logs an invocation, and the tail ``Invoke`` returns with
``LogType: Tail`` (docs.aws.amazon.com/lambda/latest/dg/python-logging.html)::

    START RequestId: <id> Version: $LATEST
    <what the handler printed, and its log records>
    [ERROR] <errorType>: <errorMessage>           # when it failed
    Traceback (most recent call last):
    <stackTrace>
    END RequestId: <id>
    REPORT RequestId: <id>	Duration: 1.23 ms	Billed Duration: 2 ms	Memory Size: 128 MB	...

:func:`captured` collects what the handler writes to ``sys.stdout`` and ``sys.stderr`` (still
passing it on, so worker logs keep it) and the records of the ``logging`` module, formatted as
Lambda's runtime formats them (``[LEVEL]\\t<time>\\t<request id>\\t<message>``); it keeps only
the last :data:`KEEP_CHARS` characters, so a chatty handler costs bounded memory.
:func:`lambda_log` frames that output; :func:`tail` is its last 4 KB. Pure.
"""

from __future__ import annotations

import contextlib
import io
import logging
import math
import sys
import time
from collections.abc import Iterator
from typing import Any, TextIO

from raybus.core.arns import LATEST

__all__ = ["MAX_TAIL_BYTES", "Output", "captured", "lambda_log", "tail"]

MAX_TAIL_BYTES = 4096
KEEP_CHARS = 4 * MAX_TAIL_BYTES


class Output(io.TextIOBase):
    """The last :data:`KEEP_CHARS` characters written to it."""

    def __init__(self) -> None:
        self._parts: list[str] = []
        self._size = 0

    def write(self, text: str) -> int:
        self._parts.append(text)
        self._size += len(text)
        if self._size > 2 * KEEP_CHARS:
            kept = "".join(self._parts)[-KEEP_CHARS:]
            self._parts, self._size = [kept], len(kept)
        return len(text)

    def text(self) -> str:
        return "".join(self._parts)[-KEEP_CHARS:]


class _Tee(io.TextIOBase):
    def __init__(self, output: Output, passed_on: TextIO) -> None:
        self._output = output
        self._passed_on = passed_on

    def write(self, text: str) -> int:
        self._output.write(text)
        with contextlib.suppress(Exception):  # a closed worker stream must not fail the handler
            self._passed_on.write(text)
        return len(text)

    def flush(self) -> None:
        with contextlib.suppress(Exception):
            self._passed_on.flush()


class _LambdaFormatter(logging.Formatter):
    def __init__(self, request_id: str) -> None:
        super().__init__()
        self._request_id = request_id

    def format(self, record: logging.LogRecord) -> str:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        millis = int(record.msecs)
        text = f"[{record.levelname}]\t{stamp}.{millis:03d}Z\t{self._request_id}\t"
        text += record.getMessage()
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return text


@contextlib.contextmanager
def captured(request_id: str) -> Iterator[Output]:
    """Collect the block's standard output, standard error and root log records."""
    output = Output()
    handler = logging.StreamHandler(output)
    handler.setFormatter(_LambdaFormatter(request_id))
    root = logging.getLogger()
    root.addHandler(handler)
    stdout, stderr = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = _Tee(output, stdout), _Tee(output, stderr)
    try:
        yield output
    finally:
        sys.stdout, sys.stderr = stdout, stderr
        root.removeHandler(handler)


def lambda_log(
    request_id: str,
    output: str,
    *,
    duration_ms: float,
    memory_mb: int,
    error: Any = None,
) -> str:
    """One invocation's log: ``output`` framed by Lambda's START, END and REPORT lines, with
    the error object (``{"errorType", "errorMessage", "stackTrace"}``) logged as the runtime
    logs it."""
    lines = [f"START RequestId: {request_id} Version: {LATEST}\n", output]
    if output and not output.endswith("\n"):
        lines.append("\n")
    if isinstance(error, dict):
        lines.append(f"[ERROR] {error.get('errorType')}: {error.get('errorMessage')}\n")
        stack = error.get("stackTrace") or []
        if stack:
            lines.append("Traceback (most recent call last):\n")
            lines.extend(str(frame) for frame in stack)
    lines.append(f"END RequestId: {request_id}\n")
    lines.append(
        f"REPORT RequestId: {request_id}\tDuration: {duration_ms:.2f} ms\t"
        f"Billed Duration: {max(1, math.ceil(duration_ms))} ms\t"
        f"Memory Size: {memory_mb} MB\t\n"
    )
    return "".join(lines)


def tail(log: str) -> str:
    """The last 4 KB of ``log`` (whole characters)."""
    data = log.encode("utf-8")
    if len(data) <= MAX_TAIL_BYTES:
        return log
    return data[-MAX_TAIL_BYTES:].decode("utf-8", errors="ignore")
