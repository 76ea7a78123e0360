"""One handler call runs the way Lambda's Python runtime runs it; the context is Lambda's."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from raybus.functions import InvocationResult, LambdaContext, run_handler
from raybus.functions.sandbox import MAX_RESPONSE_BYTES, crash_error, timeout_error


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def context(**overrides: Any) -> LambdaContext:
    settings: dict[str, Any] = {
        "function_name": "resize",
        "memory_mb": 256,
        "request_id": "r-1",
        "timeout_s": 3,
    }
    return LambdaContext(**{**settings, **overrides})


def test_the_context_has_lambdas_fields() -> None:
    ctx = context()
    assert ctx.function_name == "resize"
    assert ctx.function_version == "$LATEST"
    assert ctx.invoked_function_arn == "arn:aws:lambda:us-east-1:000000000000:function:resize"
    assert ctx.memory_limit_in_mb == "256"
    assert ctx.aws_request_id == "r-1"
    assert ctx.log_group_name == "/aws/lambda/resize"
    assert "[$LATEST]" in ctx.log_stream_name
    assert ctx.identity is None and ctx.client_context is None


def test_remaining_time_counts_down_to_the_deadline_and_stops_at_zero() -> None:
    clock = Clock()
    ctx = context(timeout_s=3, clock=clock)
    assert ctx.get_remaining_time_in_millis() == 3000
    clock.now += 1.25
    assert ctx.get_remaining_time_in_millis() == 1750
    clock.now += 10
    assert ctx.get_remaining_time_in_millis() == 0


def test_a_result_comes_back_as_json_text() -> None:
    ok, text, duration, error = run_handler(
        lambda e, c: {"got": e, "fn": c.function_name}, [1], context()
    )
    assert (ok, error) == (True, None)
    assert json.loads(text) == {"got": [1], "fn": "resize"}
    assert duration >= 0


@pytest.mark.parametrize(
    ("result", "expected"),
    [(None, None), ("text", "text"), (3, 3), ((1, 2), [1, 2]), (Decimal("1.5"), 1.5)],
)
def test_results_are_marshalled_like_lambdas_runtime(result: object, expected: object) -> None:
    ok, text, _, _ = run_handler(lambda e, c: result, None, context())
    assert ok and json.loads(text) == expected


def boom(event: Any, context: Any) -> None:
    raise KeyError("missing")


def test_an_exception_becomes_lambdas_error_object_with_the_handlers_frames() -> None:
    ok, text, _, error = run_handler(boom, None, context())
    assert (ok, error) == (False, "Unhandled")
    payload = json.loads(text)
    assert payload["errorType"] == "KeyError"
    assert payload["errorMessage"] == "'missing'"
    [frame] = payload["stackTrace"]
    assert "in boom" in frame and "run_handler" not in frame


@pytest.mark.parametrize("result", [{1, 2}, object(), float("nan"), {"k": b"bytes"}])
def test_an_unmarshalable_result_is_a_marshal_error(result: object) -> None:
    ok, text, _, error = run_handler(lambda e, c: result, None, context())
    assert (ok, error) == (False, "Unhandled")
    payload = json.loads(text)
    assert payload["errorType"] == "Runtime.MarshalError"
    assert payload["errorMessage"].startswith("Unable to marshal response:")


def test_a_response_above_six_megabytes_is_refused() -> None:
    ok, text, _, _ = run_handler(lambda e, c: "x" * MAX_RESPONSE_BYTES, None, context())
    assert not ok and json.loads(text)["errorType"] == "Function.ResponseSizeTooLarge"
    ok, _, _, _ = run_handler(lambda e, c: "x" * (MAX_RESPONSE_BYTES - 2), None, context())
    assert ok  # the two quotes make it exactly the limit


def test_a_timeout_reads_like_lambdas() -> None:
    error = timeout_error("r-9", 3, now_ms=0)
    assert error == {
        "errorType": "Sandbox.Timedout",
        "errorMessage": "1970-01-01T00:00:00.000Z r-9 Task timed out after 3.00 seconds",
        "stackTrace": [],
    }


def test_a_crash_is_a_runtime_exit_error() -> None:
    assert crash_error("r")["errorType"] == "Runtime.ExitError"
    assert "WorkerCrashedError" in crash_error("r", "WorkerCrashedError")["errorMessage"]


def test_a_result_converts_to_the_contracts_invoke_answer() -> None:
    result = InvocationResult("r", True, {"a": 1}, 1.5)
    assert result.to_dict() == {
        "request_id": "r",
        "ok": True,
        "payload": {"a": 1},
        "duration_ms": 1.5,
    }
