"""The SDK's layout: one folder per resource kind, and no import circles.

The import graph is read from the source (every ``import`` and ``from ... import``, including
those under ``TYPE_CHECKING`` and inside functions), as import-linter's grimp reads it: an edge
goes from a module to each ``raybus.sdk`` module it names; importing a submodule is not counted
as importing its package's ``__init__`` (Python runs it first, but that is not a circle).
"""

from __future__ import annotations

import ast
from pathlib import Path

import raybus.sdk

SDK = Path(raybus.sdk.__file__).parent
KINDS = {"queues", "topics", "functions", "mappings"}


def module_name(path: Path) -> str:
    parts = ["raybus", "sdk", *path.relative_to(SDK).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in SDK.rglob("*.py")}


def imports_of(name: str) -> set[str]:
    """The ``raybus.sdk`` modules that module ``name`` imports: ``import X`` names ``X``;
    ``from X import a`` names the submodule ``X.a`` when there is one, else ``X``."""
    path = MODULES[name]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{name}: relative import"
            module = node.module or ""
            for alias in node.names:
                submodule = f"{module}.{alias.name}"
                found.add(submodule if submodule in MODULES else module)
    return {target for target in found if target in MODULES and target != name}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A cycle of ``graph`` as a path that ends where it starts, or ``None``."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_cycle_finder_finds_a_circle_and_accepts_a_tree() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def test_the_sdk_has_no_import_circles() -> None:
    graph = {name: imports_of(name) for name in MODULES}
    assert graph["raybus.sdk.queues._aio"] >= {"raybus.sdk.queues.ops", "raybus.sdk.base._aio"}
    assert find_cycle(graph) is None


def test_each_kind_is_one_folder_of_operations_an_async_source_and_its_sync_twin() -> None:
    for kind in KINDS:
        files = {p.name for p in (SDK / kind).glob("*.py")}
        assert files == {"__init__.py", "ops.py", "_aio.py", "_sync.py"}, kind


def test_the_operations_of_a_kind_do_no_io_and_know_no_client() -> None:
    for kind in [*KINDS, "client"]:
        imported = imports_of(f"raybus.sdk.{kind}.ops")
        assert not any(
            name.endswith(("._aio", "._sync")) or name == "raybus.sdk._transport"
            for name in imported
        ), kind
