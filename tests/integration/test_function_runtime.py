"""The Invoker runs handlers on Ray as Lambda runs them: results, errors, timeouts, marshal
errors, reserved concurrency, warm actor pools and code shipped by value.

Handlers live in :mod:`tests.integration.handlers` (importable by the session cluster's
workers, whose ``sys.path`` holds the repository root) or are closures shipped as code."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest

from raybus.control import RunningCluster
from raybus.core.code import code_sha256, serialize_handler
from raybus.core.errors import RaybusError
from raybus.core.functions import FunctionConfig
from raybus.functions.runtime import Invoker

T = TypeVar("T")
RUNTIMES = ["task", "actor"]
HANDLERS = "tests.integration.handlers"


@pytest.fixture(autouse=True)
def _ray(cluster: RunningCluster) -> None:
    """The runtime needs Ray initialised; the session cluster provides it."""


def run(body: Callable[[Invoker], Awaitable[T]]) -> T:
    async def main() -> T:
        invoker = Invoker()
        try:
            return await body(invoker)
        finally:
            invoker.close()

    return asyncio.run(main())


def config(name: str, handler: str, **settings: Any) -> FunctionConfig:
    return FunctionConfig(name=name, handler=f"{HANDLERS}:{handler}", **settings)


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_a_handler_gets_the_event_and_a_lambda_context(runtime: str) -> None:
    cfg = config("echo", "echo", runtime=runtime, memory_mb=256, timeout_s=5)

    async def body(invoker: Invoker) -> None:
        result = await invoker.invoke(cfg, None, {"n": 1}, request_id="req-1")
        assert result.ok and result.error_type is None
        assert result.request_id == "req-1"
        assert result.payload["event"] == {"n": 1}
        assert result.payload["request_id"] == "req-1"
        assert result.payload["function"] == "echo"
        assert result.payload["arn"] == "arn:aws:lambda:us-east-1:000000000000:function:echo"
        assert result.payload["memory"] == "256"
        assert 0 < result.payload["remaining_ms"] <= 5000
        assert result.duration_ms >= 0
        generated = await invoker.invoke(cfg, None, None)
        assert generated.request_id and generated.request_id != "req-1"

    run(body)


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_an_exception_is_an_unhandled_error_with_its_type_message_and_trace(runtime: str) -> None:
    async def body(invoker: Invoker) -> None:
        result = await invoker.invoke(config("fail", "fail", runtime=runtime), None, 7)
        assert not result.ok and result.error_type == "Unhandled"
        assert result.payload["errorType"] == "ValueError"
        assert result.payload["errorMessage"] == "cannot handle 7"
        assert any("in fail" in line for line in result.payload["stackTrace"])

    run(body)


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_a_handler_running_past_its_timeout_is_stopped_and_reported(runtime: str) -> None:
    cfg = config("slow", "sleepy", runtime=runtime, timeout_s=1, pool_size=1)

    async def body(invoker: Invoker) -> None:
        result = await invoker.invoke(cfg, None, {"sleep_s": 5})
        assert not result.ok and result.error_type == "Timeout"
        assert result.payload["errorType"] == "Sandbox.Timedout"
        assert result.payload["errorMessage"].endswith("Task timed out after 1.00 seconds")
        assert result.request_id in result.payload["errorMessage"]
        assert result.duration_ms == 1000
        again = await invoker.invoke(cfg, None, {"sleep_s": 0})  # a fresh sandbox serves
        assert again.ok and again.payload == "woke"
        assert invoker.metrics()["slow"]["timeouts"] == 1

    run(body)


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_a_result_that_is_not_json_is_a_marshal_error(runtime: str) -> None:
    async def body(invoker: Invoker) -> None:
        result = await invoker.invoke(config("sets", "unmarshalable", runtime=runtime), None, 1)
        assert not result.ok and result.payload["errorType"] == "Runtime.MarshalError"

    run(body)


def test_a_handler_that_does_not_import_is_an_import_module_error() -> None:
    cfg = FunctionConfig(name="ghost", handler="tests.integration.no_such_module:handler")

    async def body(invoker: Invoker) -> None:
        result = await invoker.invoke(cfg, None, 1)
        assert not result.ok and result.payload["errorType"] == "Runtime.ImportModuleError"

    run(body)


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_reserved_concurrency_throttles_or_queues_the_invocations_past_it(
    runtime: str, tmp_path: Path
) -> None:
    release = tmp_path / "release"
    cfg = config("held", "hold", runtime=runtime, concurrency=1, timeout_s=60)

    async def body(invoker: Invoker) -> None:
        first = asyncio.create_task(invoker.invoke(cfg, None, {"release": str(release)}))
        await asyncio.sleep(0)  # let it take the only slot
        with pytest.raises(RaybusError) as caught:
            await invoker.invoke(cfg, None, {"release": str(release)})
        assert caught.value.code == "TooManyRequestsException"
        queued = asyncio.create_task(
            invoker.invoke(cfg, None, {"release": str(release)}, wait_for_slot=True)
        )
        await asyncio.sleep(0)
        assert invoker.metrics()["held"]["in_flight"] == 1
        release.touch()
        assert (await first).payload == "released"
        assert (await queued).payload == "released"
        metrics = invoker.metrics()["held"]
        assert (metrics["invocations"], metrics["throttles"], metrics["in_flight"]) == (2, 1, 0)

    run(body)


def test_zero_reserved_concurrency_always_throttles() -> None:
    cfg = config("off", "echo", concurrency=0)

    async def body(invoker: Invoker) -> None:
        for wait in (False, True):
            with pytest.raises(RaybusError) as caught:
                await invoker.invoke(cfg, None, 1, wait_for_slot=wait)
            assert caught.value.code == "TooManyRequestsException"
        assert invoker.metrics()["off"]["throttles"] == 2

    run(body)


def test_an_actor_pool_keeps_its_warm_workers_until_the_config_changes() -> None:
    cfg = config("warm", "pid", runtime="actor", pool_size=1)

    async def body(invoker: Invoker) -> None:
        pids = {(await invoker.invoke(cfg, None, None)).payload for _ in range(4)}
        assert len(pids) == 1  # one warm actor served every call
        resized = config("warm", "pid", runtime="actor", pool_size=2)
        served = [invoker.invoke(resized, None, None) for _ in range(6)]
        new_pids = {result.payload for result in await asyncio.gather(*served)}
        assert 1 <= len(new_pids) <= 2 and not new_pids & pids  # a new pool of two

    run(body)


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_code_shipped_from_a_closure_runs_on_the_cluster(runtime: str) -> None:
    greeting = "hello"

    def greet(event: Any, context: Any) -> str:
        return f"{greeting} {event} from {context.function_name}"

    code = serialize_handler(greet)
    cfg = FunctionConfig(name="greet", code_sha256=code_sha256(code), runtime=runtime)

    async def body(invoker: Invoker) -> None:
        first = await invoker.invoke(cfg, code, "bob")
        assert first.payload == "hello bob from greet"
        again = await invoker.invoke(cfg, None, "ann")  # the code is already on the cluster
        assert again.payload == "hello ann from greet"

    run(body)


def test_new_code_takes_effect_at_the_next_invocation() -> None:
    async def body(invoker: Invoker) -> None:
        for version in ("v1", "v2"):
            code = serialize_handler(lambda event, context, v=version: v)
            cfg = FunctionConfig(name="versioned", code_sha256=code_sha256(code), runtime="actor")
            assert (await invoker.invoke(cfg, code, None)).payload == version

    run(body)


def test_code_that_does_not_match_its_sha_is_refused() -> None:
    cfg = FunctionConfig(name="tampered", code_sha256="0" * 64)

    async def body(invoker: Invoker) -> None:
        with pytest.raises(RaybusError):
            await invoker.invoke(cfg, serialize_handler(lambda e, c: 1), None)

    run(body)


def test_metrics_count_invocations_errors_and_durations_per_function() -> None:
    async def body(invoker: Invoker) -> None:
        await invoker.invoke(config("m-ok", "echo"), None, 1)
        await invoker.invoke(config("m-bad", "fail"), None, 1)
        metrics = invoker.metrics()
        assert (metrics["m-ok"]["invocations"], metrics["m-ok"]["errors"]) == (1, 0)
        assert (metrics["m-bad"]["invocations"], metrics["m-bad"]["errors"]) == (1, 1)
        histogram = metrics["m-ok"]["duration_seconds"]
        assert histogram["count"] == 1 and histogram["buckets"][-1] == ("+Inf", 1)
        invoker.forget("m-ok")
        assert "m-ok" not in invoker.metrics()

    run(body)


def test_forgetting_a_function_fails_the_invocations_waiting_for_its_workers(
    tmp_path: Path,
) -> None:
    release = tmp_path / "release"
    cfg = config("doomed", "hold", runtime="actor", pool_size=1, timeout_s=60)

    async def body(invoker: Invoker) -> None:
        released = tmp_path / "released"
        released.touch()
        assert (await invoker.invoke(cfg, None, {"release": str(released)})).ok  # warm pool
        running = asyncio.create_task(invoker.invoke(cfg, None, {"release": str(release)}))
        await asyncio.sleep(0)  # it takes the only actor
        waiting = asyncio.create_task(invoker.invoke(cfg, None, {"release": str(release)}))
        await asyncio.sleep(0)
        invoker.forget("doomed")
        with pytest.raises(RaybusError) as caught:
            await waiting
        assert caught.value.code == "ResourceNotFound"
        release.touch()
        assert (await running).payload == "released"  # the running one finishes

    run(body)
