"""Handlers the function-runtime tests register by import path (``tests.integration.handlers:
<name>``): Ray workers of the session cluster import them because the driver's working
directory, the repository root, is on their ``sys.path``."""

from __future__ import annotations

import os
import time
from typing import Any

RELEASE_WAIT_S = 30.0


def echo(event: Any, context: Any) -> dict[str, Any]:
    return {
        "event": event,
        "function": context.function_name,
        "request_id": context.aws_request_id,
        "arn": context.invoked_function_arn,
        "memory": context.memory_limit_in_mb,
        "remaining_ms": context.get_remaining_time_in_millis(),
    }


def fail(event: Any, context: Any) -> None:
    raise ValueError(f"cannot handle {event!r}")


def sleepy(event: Any, context: Any) -> str:
    time.sleep(float(event["sleep_s"]))
    return "woke"


def unmarshalable(event: Any, context: Any) -> set[int]:
    return {1, 2}


def pid(event: Any, context: Any) -> int:
    return os.getpid()


def hold(event: Any, context: Any) -> str:
    """Stay in flight until the file ``event["release"]`` exists (bounded)."""
    deadline = time.monotonic() + RELEASE_WAIT_S
    while not os.path.exists(event["release"]):
        if time.monotonic() > deadline:
            raise TimeoutError("never released")
        time.sleep(0.01)
    return "released"
