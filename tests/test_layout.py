"""The package layout DESIGN.md fixes: one PEP 420 namespace ``raybus`` over three source roots."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

import pytest

import raybus

ROOT = Path(__file__).resolve().parent.parent
SOURCE_ROOTS = ("cluster", "actors", "gateway")


def test_no_source_root_has_a_raybus_init_file() -> None:
    offenders = [str(p) for root in SOURCE_ROOTS for p in (ROOT / root).glob("raybus/__init__.py")]
    assert offenders == []


def test_raybus_is_a_namespace_package_spanning_all_three_roots() -> None:
    paths = {Path(p).resolve() for p in raybus.__path__}
    assert paths == {(ROOT / root / "raybus").resolve() for root in SOURCE_ROOTS}


def _subpackages() -> list[str]:
    return sorted(
        info.name for info in pkgutil.iter_modules(raybus.__path__, "raybus.") if info.ispkg
    )


def test_the_expected_subpackages_are_present() -> None:
    assert {"raybus.core", "raybus.storage", "raybus.engines", "raybus.cli"} <= set(_subpackages())


@pytest.mark.parametrize("name", _subpackages())
def test_every_subpackage_declares_a_public_surface_that_exists(name: str) -> None:
    module = importlib.import_module(name)
    exported = getattr(module, "__all__", None)
    assert isinstance(exported, list) and exported, f"{name} has no __all__"
    missing = [symbol for symbol in exported if not hasattr(module, symbol)]
    assert missing == []
    assert len(set(exported)) == len(exported)


@pytest.mark.parametrize("name", _subpackages())
def test_every_subpackage_ships_py_typed(name: str) -> None:
    module = importlib.import_module(name)
    assert module.__file__ is not None
    assert (Path(module.__file__).parent / "py.typed").is_file()
