"""Functions in the SDK: creating them from an import path or a Python callable, destinations
given as handles, invoking (results, function errors, throttling), and the handle."""

from __future__ import annotations

import pickle
import sys
import types
from typing import Any

import pytest

from raybus.sdk import FunctionError, errors
from raybus.sdk._code import serialize_handler
from raybus.sdk.functions.ops import INVOKE_EXTRA_TIMEOUT_S
from tests.sdk.conftest import Api, ait

DEFAULTS = {
    "timeout_s": 3,
    "max_retries": 2,
    "max_event_age_s": 21_600,
    "memory_mb": 128,
    "runtime": "task",
}


def handler_here(event: Any, context: Any) -> Any:
    return event


class FakeCloudpickle(types.ModuleType):
    """Stands in for cloudpickle: records what was registered by value while dumping."""

    def __init__(self) -> None:
        super().__init__("cloudpickle")
        self.registered: set[str] = set()
        self.by_value_while_dumping: set[str] = set()
        self.cloudpickle = types.SimpleNamespace(
            _is_registered_pickle_by_value=lambda m: m.__name__ in self.registered
        )

    def register_pickle_by_value(self, module: types.ModuleType) -> None:
        self.registered.add(module.__name__)

    def unregister_pickle_by_value(self, module: types.ModuleType) -> None:
        self.registered.discard(module.__name__)

    def dumps(self, value: Any) -> bytes:
        if getattr(value, "unpicklable", False):
            raise TypeError("cannot pickle '_thread.lock' object")
        self.by_value_while_dumping = set(self.registered)
        return b"pickled:" + str(value.__qualname__).encode()


@pytest.fixture
def cloudpickle(monkeypatch: pytest.MonkeyPatch) -> FakeCloudpickle:
    fake = FakeCloudpickle()
    monkeypatch.setitem(sys.modules, "cloudpickle", fake)
    return fake


def test_create_function_with_an_import_path_sends_the_documented_defaults(api: Api) -> None:
    async def scenario(client: Any) -> Any:
        return await ait(client.create_function("resize", "pkg.images:resize"))

    function = api.run(scenario)
    request = api.gateway.requests[0]
    assert (request.method, request.path) == ("POST", "/v1/functions")
    assert request.body == {"name": "resize", "handler": "pkg.images:resize", **DEFAULTS}
    assert (function.name, function.config["handler"]) == ("resize", "pkg.images:resize")
    assert function.arn == "arn:aws:lambda:us-east-1:000000000000:function:resize"


def test_destinations_take_handles_or_target_strings(api: Api) -> None:
    api.gateway.add_queue("failures")
    api.gateway.resources.add_topic("done")

    async def scenario(client: Any) -> Any:
        failures = await ait(client.queue("failures"))
        done = await ait(client.topic("done"))
        other = await ait(client.create_function("other", "m:f"))
        await ait(
            client.create_function(
                "resize",
                "m:f",
                on_success=done,
                on_failure=other,
                dead_letter_queue=failures,
                concurrency=5,
                cpus=0.5,
                runtime="actor",
                pool_size=2,
            )
        )
        await ait(client.create_function("g", "m:f", on_failure="queue:failures"))

    api.run(scenario)
    body = api.gateway.calls("/functions")[1].body
    assert (body["on_success"], body["on_failure"], body["dead_letter_queue"]) == (
        "topic:done",
        "function:other",
        "queue:failures",
    )
    assert (body["concurrency"], body["cpus"], body["runtime"], body["pool_size"]) == (
        5,
        0.5,
        "actor",
        2,
    )
    assert api.gateway.calls("/functions")[2].body["on_failure"] == "queue:failures"


def test_a_function_cannot_be_a_dead_letter_queue(api: Api) -> None:
    api.gateway.resources.add_function("other")

    async def scenario(client: Any) -> Any:
        other = await ait(client.function("other"))
        await ait(client.create_function("f", "m:f", dead_letter_queue=other))

    with pytest.raises(errors.InvalidParameterValue):
        api.run(scenario)
    assert [r.method for r in api.gateway.requests] == ["GET"]


def test_a_callable_handler_is_uploaded_as_code_and_ships_its_module_by_value(
    api: Api, cloudpickle: FakeCloudpickle
) -> None:
    async def scenario(client: Any) -> Any:
        return await ait(client.create_function("echo", handler_here))

    function = api.run(scenario)
    body = api.gateway.requests[0].body
    assert "handler" not in body and body["code"] == b"pickled:handler_here"
    assert "tests" in cloudpickle.by_value_while_dumping  # local modules travel by value
    assert cloudpickle.registered == set()  # and the registration is undone
    assert function.config["code_size"] == len(b"pickled:handler_here")
    assert api.gateway.resources.code["echo"] == b"pickled:handler_here"


def test_a_user_registered_module_stays_registered(cloudpickle: FakeCloudpickle) -> None:
    cloudpickle.registered.add("tests")
    serialize_handler(handler_here)
    assert cloudpickle.registered == {"tests"}


def test_a_handler_that_cannot_be_pickled_is_a_typed_invalid_parameter_value(
    cloudpickle: FakeCloudpickle,
) -> None:
    def unpicklable(event: Any, context: Any) -> None: ...

    unpicklable.unpicklable = True  # type: ignore[attr-defined]
    with pytest.raises(errors.InvalidParameterValue, match="cannot be serialised") as raised:
        serialize_handler(unpicklable)
    assert raised.value.details["parameter"] == "handler"


def test_without_cloudpickle_a_callable_handler_is_an_invalid_parameter(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "cloudpickle", None)

    async def scenario(client: Any) -> Any:
        return await ait(client.create_function("echo", handler_here))

    with pytest.raises(errors.InvalidParameterValue, match="cloudpickle"):
        api.run(scenario)
    assert api.gateway.requests == []


def test_a_handler_that_is_neither_a_path_nor_callable_is_refused(
    cloudpickle: FakeCloudpickle,
) -> None:
    with pytest.raises(errors.InvalidParameterValue):
        serialize_handler(42)  # type: ignore[arg-type]


def test_a_real_callable_round_trips_through_cloudpickle() -> None:
    real = pytest.importorskip("cloudpickle")
    assert real.loads(serialize_handler(handler_here))({"n": 1}, None) == {"n": 1}


# -- invoking ---------------------------------------------------------------------------------


def test_invoke_returns_the_result_and_waits_as_long_as_a_function_may_run(api: Api) -> None:
    api.gateway.resources.add_function("echo")

    async def scenario(client: Any) -> Any:
        return await ait(client.invoke("echo", {"n": [1, 2]}))

    assert api.run(scenario, timeout_s=5.0) == {"echo": {"n": [1, 2]}}
    request = api.gateway.requests[0]
    assert (request.method, request.path, request.body) == (
        "POST",
        "/v1/functions/echo/invoke",
        {"payload": {"n": [1, 2]}},
    )
    if not api.is_async:  # the async client's test transport does not record timeouts
        assert request.timeout["read"] == 5.0 + INVOKE_EXTRA_TIMEOUT_S


def test_a_failed_invocation_raises_function_error_with_lambdas_fields(api: Api) -> None:
    api.gateway.resources.add_function("failing")

    async def scenario(client: Any) -> Any:
        return await ait(client.invoke("failing", 1))

    with pytest.raises(FunctionError) as raised:
        api.run(scenario)
    error = raised.value
    assert (error.error_type, error.error_message, error.request_id) == (
        "ValueError",
        "bad input",
        "r-1",
    )
    assert error.stack_trace == ['  File "handler.py", line 3, in handle']
    assert str(error) == "ValueError: bad input"
    assert not isinstance(error, errors.RaybusError)
    assert len(api.gateway.requests) == 1  # a function error is never retried


def test_a_throttled_invoke_is_retried_then_raises_too_many_requests(api: Api) -> None:
    api.gateway.resources.add_function("busy")

    async def scenario(client: Any) -> Any:
        return await ait(client.invoke("busy", 1))

    with pytest.raises(errors.TooManyRequestsException):
        api.run(scenario, max_retries=2)
    assert len(api.gateway.requests) == 3 and len(api.sleeps) == 2


def test_invoke_async_returns_the_request_id(api: Api) -> None:
    api.gateway.resources.add_function("echo")

    async def scenario(client: Any) -> Any:
        return await ait(client.invoke_async("echo", [1]))

    assert api.run(scenario) == "r-async"
    assert api.gateway.resources.invocations == [("async", "echo", [1])]


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ({"errorType": "T", "errorMessage": "m"}, ("T", "m", [])),
        ({"errorMessage": "m", "stackTrace": "not a list"}, ("Unhandled", "m", [])),
        ("plain text", ("Unhandled", "plain text", [])),
        (None, ("Unhandled", "", [])),
    ],
)
def test_a_function_error_reads_any_error_object(answer: Any, expected: Any) -> None:
    error = FunctionError.from_payload(answer, "r")
    assert (error.error_type, error.error_message, error.stack_trace) == expected


def test_a_function_error_survives_pickling() -> None:
    error = FunctionError("T", "m", ["a"], "r")
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.error_type, copy.error_message, copy.stack_trace, copy.request_id) == (
        "T",
        "m",
        ["a"],
        "r",
    )


# -- the handle -------------------------------------------------------------------------------


def test_the_function_handle_invokes_updates_and_deletes(
    api: Api, cloudpickle: FakeCloudpickle
) -> None:
    api.gateway.resources.add_function("echo")

    async def scenario(client: Any) -> Any:
        function = await ait(client.function("echo"))
        result = await ait(function.invoke(2))
        request_id = await ait(function.invoke_async(3))
        config = await ait(function.update(timeout_s=9, on_success=None))
        await ait(function.update(handler=handler_here))
        names = await ait(client.list_functions("e", limit=5))
        await ait(function.delete())
        return function, result, request_id, config, names

    function, result, request_id, config, names = api.run(scenario)
    assert (result, request_id, names) == ({"echo": 2}, "r-async", ["echo"])
    patches = [r.body for r in api.gateway.requests if r.method == "PATCH"]
    assert patches == [{"timeout_s": 9, "on_success": None}, {"code": b"pickled:handler_here"}]
    assert config["timeout_s"] == 9 and function.name == "echo"
    assert api.gateway.resources.functions == {}
    assert "Function('echo')" in repr(function)


def test_functions_are_deleted_by_name_or_handle_and_missing_ones_raise(api: Api) -> None:
    api.gateway.resources.add_function("a")
    api.gateway.resources.add_function("b")

    async def scenario(client: Any) -> Any:
        await ait(client.delete_function(await ait(client.function("a"))))
        await ait(client.delete_function("b"))
        await ait(client.function("a"))

    with pytest.raises(errors.ResourceNotFound):
        api.run(scenario)
    assert api.gateway.resources.functions == {}
