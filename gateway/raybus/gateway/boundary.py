"""The request boundary: every request is checked here, once, before any handler runs.

Each route is declared once as a :class:`Route`: method, path, operation name, handler, and the
JSON Schemas of its query, body and answer. The server's middleware then does, for every route
alike:

1. **Query**: parameters the route does not declare are refused (``InvalidParameterValue``).
2. **Content type**: a non-empty body must be JSON (``application/json``, ``*+json``) or
   msgpack (``application/msgpack``, ``application/x-msgpack``, ``application/vnd.msgpack``);
   anything else is ``415 UnsupportedMediaType``. A body without a content type is read as JSON.
3. **Body**: read within ``body_timeout_s`` (else ``408 RequestTimeout`` and the connection is
   closed) and decoded by :meth:`raybus.gateway.codec.Codec.decode` (``MalformedRequest`` if it
   does not parse). A route without a body schema accepts only no body or ``{}``.
4. **Text**: every string, keys and values, at any depth, in the body and the path, must be
   valid Unicode that UTF-8 can store (:mod:`raybus.gateway.text`): a lone surrogate is
   ``InvalidParameterValue`` naming the field, e.g. ``entries[3].body``. Nothing unencodable
   reaches a handler, the controller or a partition.
5. **Fields**: every map the body schema describes as a closed object
   (``additionalProperties: false``) refuses the fields it does not list, naming the field, at
   any depth the schema reaches (redrive policies, visibility changes ...). The code is
   ``InvalidParameterValue`` unless the schema names another in ``x-raybus-unknown-field-code``
   (queue settings answer ``InvalidAttributeName``, as SQS does for an unknown attribute). The
   entries of a send or publish batch (``x-raybus-per-entry``) are checked one by one by the
   codec instead: an entry with an unknown field fails alone, like every per-entry error.

A route declared with ``raw_body`` (an object upload: :class:`Route`) takes steps 1 and 4 for
its query and path only: its body is the object's bytes, streamed by the handler, never read,
decoded or checked here.

Types, ranges and cross-field rules stay with the typed settings and the engines, which give
the codes AWS gives (``InvalidAttributeValue``, ``MessageTooLong`` ...); the schemas state them
for readers and for the OpenAPI document (:mod:`raybus.gateway.openapi`), and tests check that
what the document states is enforced.

Cost: the field check visits the maps the schema describes, O(fields); the text check costs a
regular-expression scan of raw JSON unless that finds a surrogate escape (see the codec).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from raybus.core.errors import RaybusError
from raybus.gateway.codec import MAX_HTTP_BODY, Codec
from raybus.gateway.text import field_path

__all__ = [
    "BODY",
    "BODY_TIMEOUT_S",
    "CODEC",
    "EMPTY_OBJECT",
    "IDLE_TIMEOUT_S",
    "PER_ENTRY",
    "UNKNOWN_FIELD_CODE",
    "Limits",
    "Route",
    "Schema",
    "check_fields",
    "read_body",
]

Schema = Mapping[str, Any]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
EMPTY_OBJECT: Schema = {"type": "object", "properties": {}, "additionalProperties": False}
CODEC = web.RequestKey("codec", Codec)  # the request's codec (its answer's encoding)
BODY: web.RequestKey[dict[str, Any]] = web.RequestKey("body", dict)  # the admitted body


UNKNOWN_FIELD_CODE = "x-raybus-unknown-field-code"  # the code an unknown field gets there
PER_ENTRY = "x-raybus-per-entry"  # on a batch's array: its entries fail alone, not the request
IDLE_TIMEOUT_S = 75.0  # nginx's keepalive_timeout; idle client pools close sooner
BODY_TIMEOUT_S = 30.0


@dataclass(frozen=True, slots=True)
class Limits:
    """How long a client may take. ``idle_timeout_s``: a connection that has not sent a whole
    request head within this long of opening (or of its previous answer) is closed — this
    bounds slow headers and idle keep-alive connections alike. ``body_timeout_s``: once the
    head has arrived, the body must arrive within this long (else 408 and the connection is
    closed). ``health_timeout_s``: /healthz answers 503 ``degraded`` if the controller does
    not answer within this long (it is restarting)."""

    idle_timeout_s: float = IDLE_TIMEOUT_S
    body_timeout_s: float = BODY_TIMEOUT_S
    health_timeout_s: float = 2.0

    def __post_init__(self) -> None:
        for name in ("idle_timeout_s", "body_timeout_s", "health_timeout_s"):
            value = getattr(self, name)
            if not 0 < value <= 3600:
                raise ValueError(f"{name} must be above 0 and at most 3600 seconds")


@dataclass(frozen=True, slots=True)
class Route:
    """One operation of the native API. ``body`` is the JSON Schema of the request body
    (``None``: the route takes no body); ``query`` maps each query parameter to its schema;
    ``answer`` is the schema of the success body, sent with ``status``.

    ``raw_body``: the request body is a resource's own bytes (an object's), of any content
    type and any size the handler allows. The boundary neither reads nor decodes it (the
    handler streams ``request.content`` and bounds it itself), the 4 MiB bound on native
    bodies does not apply, and the answer's codec follows ``Accept`` alone (the body's
    content type is the object's, not an encoding). ``raw_answer``: the success answer is a
    resource's bytes, streamed by the handler, not a JSON or msgpack map (``answer`` is
    unused). A path segment ``{key:.+}`` matches the rest of the path, slashes included."""

    method: str
    path: str
    operation: str
    handler: Handler
    summary: str
    tag: str
    body: Schema | None = None
    query: Mapping[str, Schema] = field(default_factory=dict)
    answer: Schema = field(default_factory=lambda: EMPTY_OBJECT)
    status: int = 200
    description: str = ""
    raw_body: bool = False
    raw_answer: bool = False


def _invalid(parameter: str, message: str) -> RaybusError:
    return RaybusError("InvalidParameterValue", message, parameter=parameter)


def _objects(schema: Schema, components: Mapping[str, Schema]) -> Iterator[Schema]:
    """The object schemas ``schema`` may stand for (through $ref and anyOf/oneOf)."""
    ref = schema.get("$ref")
    if isinstance(ref, str):
        yield from _objects(components[ref.rsplit("/", 1)[-1]], components)
        return
    for key in ("anyOf", "oneOf"):
        for option in schema.get(key, ()):
            yield from _objects(option, components)
    if schema.get("type") == "object" or "properties" in schema:
        yield schema


def _items(schema: Schema, components: Mapping[str, Schema]) -> Iterator[Schema]:
    ref = schema.get("$ref")
    if isinstance(ref, str):
        yield from _items(components[ref.rsplit("/", 1)[-1]], components)
        return
    for key in ("anyOf", "oneOf"):
        for option in schema.get(key, ()):
            yield from _items(option, components)
    if schema.get("type") == "array" and "items" in schema:
        yield schema["items"]


def check_fields(
    value: object,
    schema: Schema,
    components: Mapping[str, Schema],
    where: tuple[str | int, ...] = (),
) -> None:
    """Refuse fields a closed object schema does not list, wherever the schema reaches.

    Of several object schemas (``anyOf``), the value is checked against the first that lists
    all its fields; if none does, the error names a field the closest one lacks."""
    if isinstance(value, dict):
        options = list(_objects(schema, components))
        if not options:
            return
        best: Schema | None = None
        best_unknown: list[str] = []
        for option in options:
            props: Mapping[str, Any] = option.get("properties", {})
            if option.get("additionalProperties", True) is not False:
                unknown: list[str] = []
            else:
                unknown = sorted(str(key) for key in value if key not in props)
            if best is None or len(unknown) < len(best_unknown):
                best, best_unknown = option, unknown
            if not unknown:
                break
        assert best is not None
        if best_unknown:
            name = field_path((*where, best_unknown[0]))
            unknown_list = ", ".join(best_unknown)
            raise RaybusError(
                best.get(UNKNOWN_FIELD_CODE, "InvalidParameterValue"),
                f"Unknown field(s) in {field_path(where)}: {unknown_list}.",
                parameter=name,
            )
        props = best.get("properties", {})
        for key, child in value.items():
            sub = props.get(key)
            if sub is not None and isinstance(child, (dict, list)):
                check_fields(child, sub, components, (*where, key))
    elif isinstance(value, list):
        if schema.get(PER_ENTRY):
            return  # the entries of a batch are checked one by one: a bad one fails alone
        item_schemas = list(_items(schema, components))
        if item_schemas:
            for index, child in enumerate(value):
                if isinstance(child, (dict, list)):
                    check_fields(child, item_schemas[0], components, (*where, index))


async def read_body(request: web.Request, timeout_s: float, limit: int = MAX_HTTP_BODY) -> bytes:
    """The whole body, or ``RequestTimeout`` if it does not arrive within ``timeout_s``, or
    ``RequestTooLarge`` past ``limit`` bytes (a chunked body announces no length). A body
    that has already arrived whole (the usual case) is read without a timer."""
    try:
        if request.content.is_eof():
            raw = await request.read()
        else:
            raw = await asyncio.wait_for(request.read(), timeout_s)
    except TimeoutError:
        raise RaybusError(
            "RequestTimeout", f"The request body did not arrive within {timeout_s:g} s."
        ) from None
    except web.HTTPRequestEntityTooLarge:
        raw = None
    if raw is None or len(raw) > limit:
        raise RaybusError(
            "RequestTooLarge", f"The request body exceeds {limit} bytes.", limit=limit
        )
    return raw
