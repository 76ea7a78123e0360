"""The context object a handler receives as its second argument, shaped like Lambda's Python
context (docs.aws.amazon.com/lambda/latest/dg/python-context.html).

``get_remaining_time_in_millis`` counts down to a deadline on the sandbox's own monotonic clock
(the worker process that runs the handler), which is the only clock a running handler can
compare against; it is not engine state, so DESIGN's injected-clock rule does not apply.
Tests inject ``clock``.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

from raybus.core.arns import LATEST
from raybus.core.arns import function_arn as arn_of

__all__ = ["LambdaContext"]


class LambdaContext:
    """Lambda's context: ``function_name``, ``function_version`` (``$LATEST``),
    ``invoked_function_arn``, ``memory_limit_in_mb`` (a string, as Lambda's Python runtime
    gives it), ``aws_request_id``, ``log_group_name`` (``/aws/lambda/<name>``),
    ``log_stream_name``, ``identity`` and ``client_context`` (``None``), and
    :meth:`get_remaining_time_in_millis`."""

    __slots__ = (
        "_clock",
        "_deadline",
        "aws_request_id",
        "client_context",
        "function_name",
        "function_version",
        "identity",
        "invoked_function_arn",
        "log_group_name",
        "log_stream_name",
        "memory_limit_in_mb",
    )

    def __init__(
        self,
        *,
        function_name: str,
        memory_mb: int,
        request_id: str,
        timeout_s: float,
        clock: Callable[[], float] = time.monotonic,
        log_stream_name: str | None = None,
        function_arn: str | None = None,
    ) -> None:
        self.function_name = function_name
        self.function_version = LATEST
        # The invoker's ARN (its process knows the cluster's identity; a worker may not).
        self.invoked_function_arn = function_arn or arn_of(function_name)
        self.memory_limit_in_mb = str(memory_mb)
        self.aws_request_id = request_id
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = log_stream_name or (
            time.strftime("%Y/%m/%d", time.gmtime()) + f"/[{LATEST}]{uuid.uuid4().hex}"
        )
        self.identity: Any = None
        self.client_context: Any = None
        self._clock = clock
        self._deadline = clock() + timeout_s

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left before the invocation times out (never negative)."""
        return max(0, int((self._deadline - self._clock()) * 1000))

    def __repr__(self) -> str:
        return (
            f"LambdaContext(function_name={self.function_name!r}, "
            f"aws_request_id={self.aws_request_id!r})"
        )
