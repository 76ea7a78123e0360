"""Handlers load from an import path or from uploaded code; code ships what users expect."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cloudpickle
import pytest

from raybus.core.code import code_sha256, local_modules, serialize_handler
from raybus.core.errors import RaybusError
from raybus.functions import check_handler, load_handler


def double(event: Any, context: Any) -> Any:
    return event * 2


class Handlers:
    class Nested:
        @staticmethod
        def run(event: Any, context: Any) -> str:
            return "nested"


NOT_CALLABLE = 42


def test_an_import_path_loads_a_module_attribute() -> None:
    assert load_handler("operator:is_not", None)([1], None) is True
    fn = load_handler("tests.functions.test_loader:Handlers.Nested.run", None)
    assert fn(None, None) == "nested"


@pytest.mark.parametrize(
    ("handler", "runtime_error"),
    [
        ("no_such_module_xyz:handler", "Runtime.ImportModuleError"),
        ("json:no_such_function", "Runtime.HandlerNotFound"),
        ("tests.functions.test_loader:NOT_CALLABLE", "Runtime.HandlerNotFound"),
        ("json", "Runtime.HandlerNotFound"),
        ("json:", "Runtime.HandlerNotFound"),
    ],
)
def test_a_bad_import_path_is_an_invalid_parameter_naming_lambdas_error(
    handler: str, runtime_error: str
) -> None:
    with pytest.raises(RaybusError) as caught:
        check_handler(handler)
    assert caught.value.code == "InvalidParameterValue"
    assert caught.value.details["runtime_error"] == runtime_error
    assert caught.value.details["parameter"] == "handler"


def test_a_module_with_a_syntax_error_is_reported_as_such(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "broken_handler_mod.py").write_text("def handler(:\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(RaybusError) as caught:
        check_handler("broken_handler_mod:handler")
    assert caught.value.details["runtime_error"] == "Runtime.UserCodeSyntaxError"


@pytest.mark.parametrize(("handler", "code"), [(None, None), ("json:dumps", b"x")])
def test_exactly_one_of_handler_and_code_is_given(handler: str | None, code: bytes | None) -> None:
    with pytest.raises(RaybusError):
        load_handler(handler, code)


def test_code_round_trips_closures_lambdas_and_partials() -> None:
    import functools

    factor = 3

    def closure(event: Any, context: Any) -> Any:
        return event * factor

    cases: list[tuple[Any, int]] = [
        (closure, 6),
        (lambda e, c: e + 1, 3),
        (functools.partial(lambda k, e, c: e * k, 10), 20),
        (double, 4),
    ]
    for fn, expected in cases:
        assert load_handler(None, serialize_handler(fn))(2, None) == expected


def test_bad_code_is_an_invalid_parameter() -> None:
    with pytest.raises(RaybusError) as caught:
        load_handler(None, b"not a pickle")
    assert caught.value.details["parameter"] == "code"
    assert caught.value.details["runtime_error"] == "Runtime.ImportModuleError"
    with pytest.raises(RaybusError) as caught:
        load_handler(None, cloudpickle.dumps(42))
    assert caught.value.details["runtime_error"] == "Runtime.HandlerNotFound"


def test_serialising_something_unpicklable_or_not_callable_fails_clearly() -> None:
    import threading

    lock = threading.Lock()
    with pytest.raises(RaybusError) as caught:
        serialize_handler(lambda e, c: lock)
    assert caught.value.code == "InvalidParameterValue"
    with pytest.raises(RaybusError):
        serialize_handler(42)  # type: ignore[arg-type]


def test_the_code_sha_is_the_hex_sha256() -> None:
    assert code_sha256(b"abc") == (
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    )


@pytest.fixture
def local_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A module of the user's project: importable here, absent from the 'cluster'."""
    (tmp_path / "userproj_handlers_xyz.py").write_text(
        textwrap.dedent(
            """
            PREFIX = "hello "

            def greet(name):
                return PREFIX + name

            def handler(event, context):
                return greet(event)
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    import userproj_handlers_xyz  # type: ignore[import-not-found]

    yield userproj_handlers_xyz
    del sys.modules["userproj_handlers_xyz"]


def load_elsewhere(code: bytes) -> str:
    """Load and call the code in a fresh interpreter that cannot import the user's modules."""
    script = (
        "import sys; from raybus.functions import load_handler; "
        "print(load_handler(None, sys.stdin.buffer.read())('bob', None))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], input=code, capture_output=True, timeout=60, cwd="/"
    )
    assert done.returncode == 0, done.stderr.decode()
    return done.stdout.decode().strip()


def test_a_handler_from_a_local_module_ships_by_value(local_module: Any) -> None:
    assert local_module in local_modules()
    assert load_elsewhere(serialize_handler(local_module.handler)) == "hello bob"


def test_installed_libraries_ship_by_reference() -> None:
    import json
    import operator

    assert json not in local_modules() and operator not in local_modules()
    code = serialize_handler(operator.is_)
    assert len(code) < 100  # a reference, not the code
    assert load_elsewhere(code) == "False"


def test_handlers_defined_in_a_test_file_ship_by_value() -> None:
    suffix = "!"

    def shout(event: Any, context: Any) -> str:
        return str(double(event, context)) + suffix  # a module-level helper of this test file

    assert load_elsewhere(serialize_handler(double)) == "bobbob"
    assert load_elsewhere(serialize_handler(shout)) == "bobbob!"


def test_serialising_leaves_cloudpickles_registry_as_it_was(local_module: Any) -> None:
    serialize_handler(local_module.handler)
    assert not cloudpickle.cloudpickle._is_registered_pickle_by_value(local_module)


def test_the_sdk_side_imports_neither_ray_nor_cloudpickle() -> None:
    script = (
        "import sys, raybus.core.code, raybus.functions; "
        "print(sorted(m for m in ('ray', 'cloudpickle') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=60)
    assert done.stdout.decode().strip() == "[]", done.stderr.decode()
