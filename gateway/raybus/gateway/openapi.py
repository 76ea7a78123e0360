"""The OpenAPI 3.1 description of the native API, built from the routes the server registers.

The document is derived, never written by hand: each :class:`~raybus.gateway.boundary.Route`
gives its path, method, operation id, summary, query parameters, request body schema and
success answer; the shared schemas come from :mod:`raybus.gateway.schemas`, which derives the
settings types from the dataclasses the controller validates with. Every operation also lists
the error answer (``default``) in the catalog's shape. Served at ``/openapi.json``.

Bodies are described in their JSON form; the same operations accept and answer msgpack
(``application/msgpack``), where binary values are ``bin`` instead of base64 text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from raybus.gateway.boundary import Route
from raybus.gateway.schemas import COMPONENTS, ref

__all__ = ["openapi_document"]

VERSION = "0.1.0"
_MEDIA = ("application/json", "application/msgpack")


def _content(schema: Any) -> dict[str, Any]:
    return {media: {"schema": schema} for media in _MEDIA}


def _operation(route: Route) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "operationId": route.operation,
        "summary": route.summary,
        "tags": [route.tag],
    }
    if route.description:
        operation["description"] = route.description
    parameters = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in re.findall(r"{(\w+)}", route.path)
    ]
    parameters += [
        {"name": name, "in": "query", "required": False, "schema": schema}
        for name, schema in route.query.items()
    ]
    if parameters:
        operation["parameters"] = parameters
    if route.body is not None:
        operation["requestBody"] = {"required": False, "content": _content(route.body)}
    if route.operation == "metrics":
        answer: dict[str, Any] = {"text/plain": {"schema": {"type": "string"}}}
    elif route.operation == "openapi":
        answer = {"application/json": {"schema": route.answer}}
    else:
        answer = _content(route.answer)
    responses: dict[str, Any] = {
        str(route.status): {"description": route.summary, "content": answer},
        "default": {"description": "An error from the catalog.", "content": _content(ref("Error"))},
    }
    if route.operation == "healthz":
        responses["503"] = {
            "description": "Degraded: a host or the controller is down or restarting.",
            "content": _content(route.answer),
        }
    operation["responses"] = responses
    return operation


def openapi_document(routes: Iterable[Route]) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        paths.setdefault(route.path, {})[route.method.lower()] = _operation(route)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "raybus native API",
            "version": VERSION,
            "description": "Queues, topics, functions and event-source mappings over HTTP; "
            "see docs/http-api.md. Bodies are JSON or msgpack.",
        },
        "servers": [{"url": "/"}],
        "components": {
            "schemas": dict(COMPONENTS),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{}, {"bearer": []}],
        "paths": paths,
    }
