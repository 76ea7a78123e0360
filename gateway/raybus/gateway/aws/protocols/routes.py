"""Which rest operation a method and path name, from the model's ``requestUri`` templates.

A template is a path with labels — ``{FunctionName}`` matches one segment (``/`` inside it
arrives percent-encoded), ``{Key+}`` (greedy) one or more, ``/`` included, so that
``/b/a//c/`` is bucket ``b`` and key ``a//c/`` — and may end in literal query parts that take
part in matching: ``/2018-10-31/layers?find=LayerVersion`` needs ``find=LayerVersion`` in the
query, ``?uploads`` the key ``uploads`` (any value). Labels are matched on the raw path and
percent-decoded by the codec. A trailing ``/`` on the path is tolerated where the template has
none and no greedy label takes it (``/bucket/`` is ``/{Bucket}``).

When several templates match, the best route wins, compared in this order:

1. more literal text in the path (``/functions/{F}/versions`` over ``/functions/{F}/{Other}``),
   then more literal query parts (``?list-type=2`` over none);
2. the operation the request names in ``x-id`` (``?x-id=PutObject``, which newer SDKs add:
   Smithy's S3 model puts it in some templates). A template's own ``x-id`` part is not
   required, so a request without one (the aws CLI, minio, curl, older SDKs) matches too;
3. more of the operation's *required* query and header members present: S3 tells
   ``UploadPartCopy`` (``x-amz-copy-source`` + ``partNumber`` + ``uploadId``) from
   ``UploadPart`` (``partNumber`` + ``uploadId``), ``CopyObject`` (``x-amz-copy-source``) and
   ``PutObject`` (none) this way, ``ListParts`` (``uploadId``) from ``GetObject``;
4. fewer of them missing (plain ``PUT /b/k`` is ``PutObject``, not ``CopyObject``);
5. more of its optional query members present (``GET /?max-directory-buckets=5`` is
   ``ListDirectoryBuckets``, not ``ListBuckets``);
6. the less demoted operation: deprecated operations lose most (S3's ``GetBucketLifecycle``,
   which ``GetBucketLifecycleConfiguration`` replaced on the same wire), then whatever the
   codec's ``demote`` predicate names;
7. the first in the model's order.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["X_ID", "Route", "Router", "compile_route"]

_LABEL = re.compile(r"\{([^{}]+)\}")
X_ID = "x-id"


@dataclass(frozen=True, slots=True)
class Route:
    operation: Any
    method: str
    pattern: re.Pattern[str]
    labels: dict[str, str]  # regex group -> label name
    query: tuple[tuple[str, str | None], ...]  # literal query parts (value None: key only)
    score: tuple[int, int]
    required_query: tuple[str, ...] = ()  # wire names of required querystring members
    required_headers: tuple[str, ...] = ()  # lower-cased names of required header members
    optional_query: tuple[str, ...] = ()
    demotion: int = 0  # 0, 1 (the codec's demote predicate) or 2 (deprecated)
    x_id: str | None = field(default=None)  # the template's own x-id literal, if any

    def matches_query(self, keys: set[str], pairs: set[tuple[str, str]]) -> bool:
        return all(
            key in keys if value is None else (key, value) in pairs for key, value in self.query
        )

    def rank(self, keys: set[str], headers: set[str], x_id: str | None) -> tuple[Any, ...]:
        """This route's claim on a request (bigger wins), given its query keys, its
        lower-cased header names and its ``x-id``."""
        present = sum(1 for key in self.required_query if key in keys)
        present += sum(1 for name in self.required_headers if name in headers)
        missing = len(self.required_query) + len(self.required_headers) - present
        optional = sum(1 for key in self.optional_query if key in keys)
        named = x_id is not None and x_id in (self.operation.name, self.x_id)
        return (*self.score, named, present, -missing, optional, -self.demotion)


def compile_route(operation: Any, *, demotion: int = 0) -> Route:
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
    literals: list[tuple[str, str | None]] = []
    x_id: str | None = None
    for key, sep, value in (item.partition("=") for item in query.split("&") if item):
        if key == X_ID:
            x_id = value
        else:
            literals.append((key, value if sep else None))
    literal_keys = {key for key, _ in literals}
    required_query: list[str] = []
    required_headers: list[str] = []
    optional_query: list[str] = []
    shape = operation.input_shape
    if shape is not None:
        required = set(shape.required_members)
        for name, member in shape.members.items():
            location = member.serialization.get("location")
            wire = str(member.serialization.get("name", name))
            if location == "querystring" and member.type_name != "map":
                if wire in literal_keys:
                    continue
                (required_query if name in required else optional_query).append(wire)
            elif location == "header" and name in required:
                required_headers.append(wire.lower())
    return Route(
        operation=operation,
        method=str(operation.http.get("method", "POST")).upper(),
        pattern=re.compile("".join(parts)),
        labels=labels,
        query=tuple(literals),
        score=(literal, len(literals)),
        required_query=tuple(required_query),
        required_headers=tuple(required_headers),
        optional_query=tuple(optional_query),
        demotion=demotion,
        x_id=x_id,
    )


class _Template:
    """The routes of one method that share a path template; those with literal query parts
    indexed by their first key (a request only tries the ones whose key it has)."""

    __slots__ = ("by_key", "pattern", "plain")

    def __init__(self, pattern: re.Pattern[str]) -> None:
        self.pattern = pattern
        self.plain: list[Route] = []
        self.by_key: dict[str, list[Route]] = {}

    def add(self, route: Route) -> None:
        if route.query:
            self.by_key.setdefault(route.query[0][0], []).append(route)
        else:
            self.plain.append(route)

    def candidates(self, keys: set[str]) -> list[Route]:
        found = list(self.plain)
        for key in keys:
            found.extend(self.by_key.get(key, ()))
        return found


class Router:
    """The routes of every operation of a rest service, by method and path template.

    ``demote``: operations that lose a tie to any other but a deprecated one."""

    def __init__(self, service: Any, *, demote: Callable[[Any], bool] | None = None) -> None:
        self._by_method: dict[str, dict[str, _Template]] = {}
        self._by_name: dict[str, Route] = {}
        self._order: dict[str, int] = {}
        for index, name in enumerate(service.operation_names):
            operation = service.operation_model(name)
            demotion = 1 if demote is not None and demote(operation) else 0
            route = compile_route(operation, demotion=2 if operation.deprecated else demotion)
            templates = self._by_method.setdefault(route.method, {})
            template = templates.get(route.pattern.pattern)
            if template is None:
                template = templates[route.pattern.pattern] = _Template(route.pattern)
            template.add(route)
            self._by_name[name] = route
            self._order[name] = index

    def _matching(
        self, method: str, path: str, pairs: set[tuple[str, str]], keys: set[str]
    ) -> list[Route]:
        target = path or "/"
        found: list[Route] = []
        for template in self._by_method.get(method.upper(), {}).values():
            if template.pattern.fullmatch(target) is not None:
                found.extend(
                    route for route in template.candidates(keys) if route.matches_query(keys, pairs)
                )
        return found

    def match(
        self,
        method: str,
        path: str,
        query: Iterable[tuple[str, str]],
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        """The operation for ``method`` and raw ``path``, the query's literal parts, its
        ``x-id`` and (for ties) which required members the query and ``headers`` hold; None
        when no template matches."""
        pairs = set(query)
        keys = {key for key, _ in pairs}
        matching = self._matching(method, path, pairs, keys)
        if not matching:
            return None
        if len(matching) == 1:
            return matching[0].operation
        names = {name.lower() for name in headers} if headers else set()
        x_ids = [value for key, value in pairs if key == X_ID]
        x_id = x_ids[0] if x_ids else None
        order = self._order
        best = max(
            matching,
            key=lambda route: (*route.rank(keys, names, x_id), -order[route.operation.name]),
        )
        return best.operation

    def methods(self, path: str, query: Iterable[tuple[str, str]] = ()) -> list[str]:
        """The methods some operation answers for ``path`` and ``query`` (a 405's ``Allow``)."""
        pairs = set(query)
        keys = {key for key, _ in pairs}
        return [method for method in self._by_method if self._matching(method, path, pairs, keys)]

    def labels(self, operation: Any, path: str) -> dict[str, str] | None:
        """The raw (still percent-encoded) label values of ``path`` under ``operation``'s
        template, or None if it does not match."""
        route = self._by_name[operation.name]
        found = route.pattern.fullmatch(path or "/")
        if found is None:
            return None
        return {route.labels[group]: value for group, value in found.groupdict().items()}

    def literal_query_keys(self, operation: Any) -> list[str]:
        """The query keys ``operation``'s template names literally (``x-id`` included when the
        template has it)."""
        route = self._by_name[operation.name]
        keys = [key for key, _ in route.query]
        return [*keys, X_ID] if route.x_id is not None else keys
