"""The public surface: explicit exports, and one surface for the sync and async clients."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path
from typing import Any

import pytest

import raybus.sdk
from raybus.sdk import (
    AsyncClient,
    AsyncConsumer,
    AsyncEventSourceMapping,
    AsyncFunction,
    AsyncMessage,
    AsyncQueue,
    AsyncSubscription,
    AsyncTopic,
    Client,
    Consumer,
    EventSourceMapping,
    Function,
    Message,
    Queue,
    Subscription,
    Topic,
)

PAIRS = [
    (Client, AsyncClient),
    (Queue, AsyncQueue),
    (Message, AsyncMessage),
    (Topic, AsyncTopic),
    (Subscription, AsyncSubscription),
    (Function, AsyncFunction),
    (EventSourceMapping, AsyncEventSourceMapping),
]
SDK = Path(raybus.sdk.__file__).parent
# Names the async twin spells differently, as httpx does.
RENAMED = {"close": "aclose"}


def public_methods(cls: type) -> dict[str, Any]:
    return {
        name: member
        for name, member in inspect.getmembers(cls)
        if not name.startswith("_") and callable(member) and not isinstance(member, type)
    }


@pytest.mark.parametrize(("sync", "aio"), PAIRS, ids=lambda c: c.__name__)
def test_the_async_twin_has_the_same_methods_with_the_same_parameters(
    sync: type, aio: type
) -> None:
    sync_methods = public_methods(sync)
    aio_methods = public_methods(aio)
    assert {RENAMED.get(name, name) for name in sync_methods} == set(aio_methods)
    for name, method in sync_methods.items():
        twin = aio_methods[RENAMED.get(name, name)]
        sync_params = list(inspect.signature(method).parameters)
        aio_params = list(inspect.signature(twin).parameters)
        assert sync_params == aio_params, name
        defaults = [p.default for p in inspect.signature(method).parameters.values()]
        twin_defaults = [p.default for p in inspect.signature(twin).parameters.values()]
        assert defaults == twin_defaults, name


@pytest.mark.parametrize(("sync", "aio"), PAIRS, ids=lambda c: c.__name__)
def test_every_async_method_doing_io_is_a_coroutine_function(sync: type, aio: type) -> None:
    not_io = {"consume", "bucket"}  # client.bucket(name) makes no request
    for name, method in public_methods(aio).items():
        assert inspect.iscoroutinefunction(method) == (name not in not_io), name


def test_the_consumers_are_an_iterator_and_an_async_iterator_with_context_managers() -> None:
    for name in ("__iter__", "__next__", "__enter__", "__exit__", "close"):
        assert hasattr(Consumer, name)
    for name in ("__aiter__", "__anext__", "__aenter__", "__aexit__", "aclose"):
        assert inspect.iscoroutinefunction(getattr(AsyncConsumer, name)) == (name != "__aiter__")


HANDLES = [
    handle
    for pair in PAIRS
    for handle in pair
    if handle not in (Client, AsyncClient, Message, AsyncMessage)
]


@pytest.mark.parametrize("handle", HANDLES, ids=lambda c: c.__name__)
def test_every_handle_has_its_client_its_config_a_kind_and_delete(handle: type) -> None:
    client = object()
    made = handle(client, {"name": "n", "id": "i"})
    assert made.client is client and made.config == {"name": "n", "id": "i"}
    assert isinstance(handle.resource_kind, str) and callable(handle.delete)


def test_the_package_exports_exist_and_ship_py_typed() -> None:
    assert all(hasattr(raybus.sdk, name) for name in raybus.sdk.__all__)
    assert (SDK / "py.typed").is_file()


MODULES = sorted(str(p.relative_to(SDK)) for p in SDK.rglob("*.py"))


@pytest.mark.parametrize("module", MODULES)
def test_sdk_modules_import_only_core_httpx_msgpack_and_the_stdlib(module: str) -> None:
    tree = ast.parse((SDK / module).read_text())
    imported: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module)
    raybus_parts = {name for name in imported if name.startswith("raybus.")}
    assert all(name.startswith(("raybus.core", "raybus.sdk")) for name in raybus_parts)
    assert "ray" not in {name.split(".")[0] for name in imported}


@pytest.mark.parametrize("module", MODULES)
def test_sdk_modules_stay_small(module: str) -> None:
    assert len((SDK / module).read_text().splitlines()) <= 600
