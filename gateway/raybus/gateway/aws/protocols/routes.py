"""Which rest operation a method and path name, from the model's ``requestUri`` templates.

A template is a path with labels — ``{FunctionName}`` matches one segment (``/`` inside it
arrives percent-encoded), ``{Key+}`` (greedy) one or more — and may end in literal query
parts that take part in matching: ``/2018-10-31/layers?find=LayerVersion`` needs
``find=LayerVersion`` in the query, ``?Qualifier`` would need the key alone. Labels are matched
on the raw path and percent-decoded by the codec. When several templates match, the one with
more literal text wins (``/functions/{F}/versions`` over ``/functions/{F}/{Other}``), then the
one with more literal query parts (``...provisioned-concurrency?List=ALL`` over
``...provisioned-concurrency``). A trailing ``/`` on the path is tolerated.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

__all__ = ["Route", "Router", "compile_route"]

_LABEL = re.compile(r"\{([^{}]+)\}")


@dataclass(frozen=True, slots=True)
class Route:
    operation: Any
    method: str
    pattern: re.Pattern[str]
    labels: dict[str, str]  # regex group -> label name
    query: tuple[tuple[str, str | None], ...]  # literal query parts (value None: key only)
    score: tuple[int, int]

    def matches_query(self, keys: set[str], pairs: set[tuple[str, str]]) -> bool:
        return all(
            key in keys if value is None else (key, value) in pairs for key, value in self.query
        )


def compile_route(operation: Any) -> Route:
    uri = str(operation.http.get("requestUri", "/"))
    path, _, query = uri.partition("?")
    parts: list[str] = []
    labels: dict[str, str] = {}
    literal = 0
    position = 0
    for found in _LABEL.finditer(path):
        text = path[position : found.start()]
        parts.append(re.escape(text))
        literal += len(text)
        name = found.group(1)
        group = f"label{len(labels)}"
        labels[group] = name.rstrip("+")
        parts.append(f"(?P<{group}>.+)" if name.endswith("+") else f"(?P<{group}>[^/]+)")
        position = found.end()
    tail = path[position:]
    parts.append(re.escape(tail))
    literal += len(tail)
    if not tail.endswith("/"):
        parts.append("/?")
    literals = tuple(
        (key, value if sep else None)
        for key, sep, value in (item.partition("=") for item in query.split("&") if item)
    )
    return Route(
        operation=operation,
        method=str(operation.http.get("method", "POST")).upper(),
        pattern=re.compile("".join(parts)),
        labels=labels,
        query=literals,
        score=(literal, len(literals)),
    )


class Router:
    """The routes of every operation of a rest service, by method."""

    def __init__(self, service: Any) -> None:
        self._by_method: dict[str, list[Route]] = {}
        self._by_name: dict[str, Route] = {}
        for name in service.operation_names:
            route = compile_route(service.operation_model(name))
            self._by_method.setdefault(route.method, []).append(route)
            self._by_name[name] = route

    def match(self, method: str, path: str, query: Iterable[tuple[str, str]]) -> Any:
        """The operation for ``method`` and raw ``path`` (and the query's literal parts), or
        None."""
        pairs = set(query)
        keys = {key for key, _ in pairs}
        best: Route | None = None
        for route in self._by_method.get(method.upper(), ()):
            if route.pattern.fullmatch(path or "/") is None:
                continue
            if not route.matches_query(keys, pairs):
                continue
            if best is None or route.score > best.score:
                best = route
        return None if best is None else best.operation

    def labels(self, operation: Any, path: str) -> dict[str, str] | None:
        """The raw (still percent-encoded) label values of ``path`` under ``operation``'s
        template, or None if it does not match."""
        route = self._by_name[operation.name]
        found = route.pattern.fullmatch(path or "/")
        if found is None:
            return None
        return {route.labels[group]: value for group, value in found.groupdict().items()}

    def literal_query_keys(self, operation: Any) -> list[str]:
        return [key for key, _ in self._by_name[operation.name].query]
