"""JSON Schemas (2020-12, as OpenAPI 3.1 uses them) of the native API's bodies and answers.

Settings types are described from their dataclasses (:func:`settings_schema`): field names and
types from the type hints, defaults, integer ranges from the fields' metadata
(:mod:`raybus.core.bounds`), extra keywords from ``metadata["schema_extra"]`` (or the whole
schema from ``metadata["schema"]`` where the type says too little) — so the document
cannot drift from the types the controller validates with. Request objects are closed
(``additionalProperties: false``): the boundary (:mod:`raybus.gateway.boundary`) refuses the
fields they do not list. Answers are open (a client must ignore fields it does not know: new
ones are added over time).

Binary values: in msgpack, a message body and a Binary attribute value are ``bin``; in JSON they
are base64 text (``body_base64``, the attribute's value). The schemas describe the JSON form.
"""

from __future__ import annotations

import copy
import dataclasses
import types
import typing
from collections.abc import Iterable, Mapping
from typing import Any, Literal, Union

from raybus.core.bounds import field_bounds
from raybus.core.errors import CATALOG
from raybus.gateway.boundary import PER_ENTRY, Schema

__all__ = [
    "ANY",
    "ATTRIBUTES",
    "BASE64",
    "BOOLEAN",
    "COMPONENTS",
    "ERROR",
    "INTEGER",
    "NAMES",
    "NUMBER",
    "STATS",
    "STRING",
    "closed",
    "component",
    "nullable",
    "only",
    "open_object",
    "per_entry",
    "ref",
    "settings_schema",
    "without_required",
]

COMPONENTS: dict[str, Schema] = {}


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def closed(properties: Mapping[str, Schema], required: Iterable[str] = (), **extra: Any) -> Schema:
    """A request object: these fields, no others."""
    schema: dict[str, Any] = {
        "type": "object",
        "properties": dict(properties),
        "additionalProperties": False,
    }
    if required := list(required):
        schema["required"] = required
    schema.update(extra)
    return schema


def open_object(properties: Mapping[str, Schema], required: Iterable[str] = ()) -> Schema:
    """An answer object: these fields at least."""
    schema: dict[str, Any] = {"type": "object", "properties": dict(properties)}
    if required := list(required):
        schema["required"] = required
    return schema


def nullable(schema: Schema) -> Schema:
    return {"anyOf": [schema, {"type": "null"}]}


def per_entry(entry: Schema, limit: int) -> Schema:
    """A batch of 1–``limit`` entries answered one by one: an entry that is not ``entry``
    fails alone (its slot in ``results`` holds the error), so the request accepts any value
    in an entry's place. The boundary leaves the entries to the codec (``PER_ENTRY``)."""
    return {
        "type": "array",
        "minItems": 1,
        "maxItems": limit,
        "items": {
            "anyOf": [
                entry,
                {"description": "Anything else fails alone, with its error in results."},
            ]
        },
        PER_ENTRY: True,
    }


STRING: Schema = {"type": "string"}
INTEGER: Schema = {"type": "integer"}
BOOLEAN: Schema = {"type": "boolean"}
NUMBER: Schema = {"type": "number"}
ANY: Schema = {}
BASE64: Schema = {"type": "string", "contentEncoding": "base64"}


def _type_schema(hint: Any) -> Schema:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if hint is Any:
        return ANY
    if hint is str:
        return STRING
    if hint is bool:
        return BOOLEAN
    if hint is int:
        return INTEGER
    if hint is float:
        return NUMBER
    if origin is Literal:
        return {"enum": list(args)}
    if origin in (Union, types.UnionType):
        options = [a for a in args if a is not type(None)]
        inner = (
            _type_schema(options[0])
            if len(options) == 1
            else {"anyOf": [_type_schema(a) for a in options]}
        )
        return nullable(inner) if len(options) < len(args) else inner
    if origin in (tuple, list):
        return {"type": "array", "items": _type_schema(args[0]) if args else ANY}
    if origin is dict:
        return {"type": "object", "additionalProperties": _type_schema(args[1])}
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return ref(component(hint))
    raise TypeError(f"no JSON Schema for {hint!r}")


def component(cls: type) -> str:
    if cls.__name__ not in COMPONENTS:
        COMPONENTS[cls.__name__] = {}  # placeholder: recursion stops here
        COMPONENTS[cls.__name__] = settings_schema(cls)
    return cls.__name__


def settings_schema(
    cls: type,
    *,
    exclude: Iterable[str] = (),
    required: Iterable[str] | None = None,
    extra: Mapping[str, Schema] | None = None,
) -> Schema:
    """A closed object schema of a settings dataclass's fields. ``required`` defaults to the
    fields without a default."""
    hints = typing.get_type_hints(cls)
    skip = set(exclude)
    properties: dict[str, Schema] = {}
    needed: list[str] = []
    for spec in dataclasses.fields(cls):
        if spec.name in skip:
            continue
        schema = copy.deepcopy(dict(_type_schema(hints[spec.name])))
        bounds = field_bounds(spec.metadata)
        if bounds is not None:
            target = schema["anyOf"][0] if "anyOf" in schema else schema
            target["minimum"], target["maximum"] = bounds
        schema.update(spec.metadata.get("schema_extra", {}))
        if "schema" in spec.metadata:  # the field's whole schema, where the type says too little
            schema = dict(spec.metadata["schema"])
        if spec.default is not dataclasses.MISSING:
            default = spec.default
            schema["default"] = list(default) if isinstance(default, tuple) else default
        elif spec.default_factory is not dataclasses.MISSING:
            made = spec.default_factory()
            if not dataclasses.is_dataclass(made):
                schema["default"] = made
        else:
            needed.append(spec.name)
        properties[spec.name] = schema
    properties.update(extra or {})
    return closed(properties, needed if required is None else required)


def without_required(schema: Schema) -> Schema:
    return {key: value for key, value in schema.items() if key != "required"}


def only(schema: Schema, names: Iterable[str]) -> Schema:
    keep = set(names)
    return closed({k: v for k, v in schema["properties"].items() if k in keep})


# -- errors -----------------------------------------------------------------------------------
COMPONENTS["Error"] = open_object(
    {
        "error": open_object(
            {
                "code": {"enum": sorted(CATALOG)},
                "message": STRING,
                "details": {"type": "object"},
            },
            ["code", "message", "details"],
        )
    },
    ["error"],
)
ERROR = ref("Error")

STATS: Schema = {"type": "object", "additionalProperties": {"type": "number"}}
NAMES: Schema = {"type": "array", "items": STRING}
ATTRIBUTES: Schema = {
    "type": "object",
    "maxProperties": 10,
    "additionalProperties": {
        "type": "array",
        "prefixItems": [STRING, {"anyOf": [STRING, BASE64]}],
        "minItems": 2,
        "maxItems": 2,
    },
    "description": "name → [data_type, value]; Binary values are base64 text in JSON.",
}
