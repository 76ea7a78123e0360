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
from raybus.core.functions import FunctionConfig
from raybus.core.mappings import MappingConfig
from raybus.core.queues import QueueConfig, RedriveAllowPolicy, RedrivePolicy
from raybus.core.topics import SubscriptionConfig, TopicConfig
from raybus.gateway.boundary import PER_ENTRY, UNKNOWN_FIELD_CODE, Schema

__all__ = ["COMPONENTS", "closed", "open_object", "ref", "settings_schema"]

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
        return ref(_component(hint))
    raise TypeError(f"no JSON Schema for {hint!r}")


def _component(cls: type) -> str:
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


def _without_required(schema: Schema) -> Schema:
    return {key: value for key, value in schema.items() if key != "required"}


def _only(schema: Schema, names: Iterable[str]) -> Schema:
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

# -- queues -----------------------------------------------------------------------------------
for _policy in (RedrivePolicy, RedriveAllowPolicy):
    _name = _component(_policy)
    COMPONENTS[_name] = {**COMPONENTS[_name], UNKNOWN_FIELD_CODE: "InvalidRedrivePolicy"}
QUEUE_CONFIG = {**settings_schema(QueueConfig), UNKNOWN_FIELD_CODE: "InvalidAttributeName"}
QUEUE_CONFIG["properties"]["redrive_allow_policy"] = {  # null: the default (allowAll)
    **nullable(ref("RedriveAllowPolicy")),
    "default": {"permission": "allowAll", "source_queues": []},
}
COMPONENTS["QueueConfig"] = QUEUE_CONFIG
QUEUE_CHANGES = _without_required(QUEUE_CONFIG)
QUEUE_ANSWER = open_object({"queue": ref("QueueConfig"), "created": BOOLEAN}, ["queue"])

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
COMPONENTS["SendEntry"] = closed(
    {
        "body": STRING,
        "body_base64": BASE64,
        "attributes": ATTRIBUTES,
        "delay_s": {"type": "integer", "minimum": 0, "maximum": 900},
        "group_id": STRING,
        "dedup_id": STRING,
    },
    description="One message: body (or body_base64) is required.",
)
SEND = {
    "anyOf": [
        ref("SendEntry"),
        closed(
            {"entries": per_entry(ref("SendEntry"), 1000)},
            ["entries"],
        ),
    ]
}  # fmt: skip
COMPONENTS["SendResult"] = open_object(
    {
        "message_id": STRING,
        "md5_of_body": STRING,
        "md5_of_attributes": nullable(STRING),
        "sequence_number": STRING,
    },
    ["message_id", "md5_of_body"],
)
BATCH_RESULTS = open_object(
    {"results": {"type": "array", "items": {"anyOf": [ref("SendResult"), ERROR]}}}, ["results"]
)
SEND_ANSWER = {"anyOf": [ref("SendResult"), BATCH_RESULTS]}
RECEIVE = closed(
    {
        "max_messages": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 1},
        "wait_s": nullable({"type": "integer", "minimum": 0, "maximum": 20}),
        "visibility_timeout_s": nullable({"type": "integer", "minimum": 0, "maximum": 43_200}),
    }
)
COMPONENTS["Message"] = open_object(
    {
        "message_id": STRING,
        "receipt": STRING,
        "body": STRING,
        "body_base64": BASE64,
        "md5_of_body": STRING,
        "md5_of_attributes": nullable(STRING),
        "attributes": {"type": "object"},
        "sent_ms": INTEGER,
        "receive_count": INTEGER,
        "first_receive_ms": nullable(INTEGER),
        "group_id": nullable(STRING),
        "dedup_id": nullable(STRING),
        "sequence_number": nullable(STRING),
    },
    ["message_id", "receipt", "md5_of_body", "receive_count"],
)
RECEIVE_ANSWER = open_object({"messages": {"type": "array", "items": ref("Message")}}, ["messages"])
RECEIPTS = per_entry(STRING, 1000)
DELETE = {"anyOf": [closed({"receipt": STRING}, ["receipt"]),
                    closed({"receipts": RECEIPTS}, ["receipts"])]}  # fmt: skip
_CHANGE = closed(
    {
        "receipt": {"description": "A receipt (a string); any other value fails alone."},
        "visibility_timeout_s": {
            "description": "0–43,200 seconds; any other value fails alone.",
            "examples": [0, 60],
        },
    },
    ["receipt", "visibility_timeout_s"],
)
VISIBILITY = {
    "anyOf": [
        _CHANGE,
        closed(
            {"changes": {"type": "array", "items": _CHANGE, "minItems": 1, "maxItems": 1000}},
            ["changes"],
        ),
    ]
}
SETTLE_ANSWER = {
    "anyOf": [
        {"type": "object", "maxProperties": 0},
        open_object(
            {"results": {"type": "array", "items": {"anyOf": [{"type": "null"}, ERROR]}}},
            ["results"],
        ),
    ]
}
STATS = {"type": "object", "additionalProperties": {"type": "number"}}
NAMES = {"type": "array", "items": STRING}

# -- move tasks, clock, operations --------------------------------------------------------------
MOVE_TASK_START = closed(
    {
        "source": STRING,
        "destination": nullable(STRING),
        "max_messages_per_s": nullable({"type": "integer", "minimum": 1, "maximum": 500}),
    },
    ["source"],
)
COMPONENTS["MoveTask"] = open_object(
    {
        "handle": STRING,
        "source": STRING,
        "destination": nullable(STRING),
        "status": {"enum": ["RUNNING", "COMPLETED", "CANCELLING", "CANCELLED", "FAILED"]},
        "started_ms": INTEGER,
        "moved": INTEGER,
        "to_move": INTEGER,
        "max_messages_per_s": nullable(INTEGER),
        "failure_reason": nullable(STRING),
    },
    ["handle", "source", "status"],
)
CLOCK_ADVANCE = closed(
    {"seconds": {"type": "number", "minimum": 0, "maximum": 366 * 24 * 3600}}, ["seconds"]
)
HEALTH = open_object(
    {
        "status": {"enum": ["ok", "degraded"]},
        "hosts": {"type": "array", "items": {"type": "object"}},
        "partitions": INTEGER,
        "routing_version": INTEGER,
        "test_clock": BOOLEAN,
    },
    ["status"],
)

# -- topics and subscriptions -------------------------------------------------------------------
COMPONENTS["TopicConfig"] = settings_schema(TopicConfig)
COMPONENTS["PublishEntry"] = closed(
    {
        "body": STRING,
        "body_base64": BASE64,
        "attributes": ATTRIBUTES,
        "subject": {"type": "string", "maxLength": 100},
        "group_id": STRING,
        "dedup_id": STRING,
    }
)
_BATCH_ID = {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,80}$"}
PUBLISH = {
    "anyOf": [
        ref("PublishEntry"),
        closed(
            {
                "entries": per_entry(
                    closed({**COMPONENTS["PublishEntry"]["properties"], "id": _BATCH_ID}), 10
                )
            },
            ["entries"],
        ),
    ]
}
COMPONENTS["PublishResult"] = open_object(
    {"message_id": STRING, "id": STRING, "sequence_number": STRING, "duplicate": BOOLEAN},
    ["message_id"],
)
PUBLISH_ANSWER = {
    "anyOf": [
        ref("PublishResult"),
        open_object(
            {
                "results": {
                    "type": "array",
                    "items": {"anyOf": [ref("PublishResult"), ERROR]},
                }
            },
            ["results"],
        ),
    ]
}
COMPONENTS["SubscriptionConfig"] = settings_schema(SubscriptionConfig)
SUBSCRIBE = settings_schema(SubscriptionConfig, exclude=("id", "topic"))
SUBSCRIPTION_CHANGES = _only(
    COMPONENTS["SubscriptionConfig"],
    ("raw", "filter_policy", "filter_policy_scope", "dead_letter_queue", "delivery_policy",
     "enabled"),
)  # fmt: skip

# -- functions and event-source mappings ----------------------------------------------------------
COMPONENTS["FunctionConfig"] = settings_schema(FunctionConfig)
_CODE = {
    "code_base64": {**BASE64, "description": "The serialised handler (cloudpickle), in JSON."},
    "code": {
        "type": "string",
        "description": "The serialised handler's bytes as msgpack bin (msgpack only: JSON "
        "sends code_base64).",
    },
}
FUNCTION_CREATE = settings_schema(
    FunctionConfig, exclude=("code_sha256", "code_size"), required=["name"], extra=_CODE
)
FUNCTION_CHANGES = _without_required(
    settings_schema(FunctionConfig, exclude=("code_sha256", "code_size", "name"), extra=_CODE)
)
COMPONENTS["MappingConfig"] = settings_schema(MappingConfig)
MAPPING_CREATE = settings_schema(MappingConfig, exclude=("id", "subscription"))
MAPPING_CHANGES = _only(
    COMPONENTS["MappingConfig"],
    ("batch_size", "batching_window_s", "max_concurrency", "report_batch_item_failures",
     "filter_criteria", "enabled"),
)  # fmt: skip
INVOKE = closed({"payload": {"description": "The event: any JSON value."}})
INVOKE_ANSWER = open_object(
    {"request_id": STRING, "ok": BOOLEAN, "payload": ANY, "duration_ms": NUMBER},
    ["request_id", "ok"],
)
