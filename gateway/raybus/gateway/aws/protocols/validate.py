"""What a service model states about input, checked the way AWS's validation reports it.

:func:`validate` walks botocore-style params (as the codecs parse them) under a shape and lists
every problem with required members, lengths (strings, blobs, lists, maps), numeric ranges,
enums, types and unknown members, in AWS's (Coral's) words::

    Value 'x...x' at 'functionName' failed to satisfy constraint: Member must have length
    less than or equal to 64
    Value null at 'queueUrl' failed to satisfy constraint: Member must not be null

Paths use lower-camel member names (``FunctionName`` -> ``functionName``, only the first
letter lowered, as Coral does); members of a list of structures are
``entries.1.member.id`` (1-based); the items of a list of scalars and the keys and values of a
map are reported on the container ("Member must satisfy constraint: [...]", "Map value must
satisfy constraint: [...]"). A sensitive member's value is not repeated. :func:`validation_message`
joins the problems as AWS does ("2 validation errors detected: ...; ..."). Which error code
carries it is the service's choice (Lambda ``ValidationException``, SQS
``InvalidParameterValue``, SNS ``InvalidParameter``); patterns (Java regexes) are not checked.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any

__all__ = ["lower_camel", "validate", "validation_message"]

_SCALARS = {
    "string": (str,),
    "character": (str,),
    "blob": (bytes, bytearray, memoryview),
    "integer": (int,),
    "long": (int,),
    "short": (int,),
    "byte": (int,),
    "float": (int, float),
    "double": (int, float),
    "boolean": (bool,),
    "timestamp": (datetime,),
}
_NUMBERS = ("integer", "long", "short", "byte", "float", "double")
_TYPE_WORDS = {"structure": "structure", "list": "list", "map": "map", "blob": "binary"}


def lower_camel(name: str) -> str:
    return name[:1].lower() + name[1:]


def _render(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, bytes | bytearray | memoryview):
        return f"<{len(value)} bytes>"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_render(item) for item in value) + "]"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{_render(k)}={_render(v)}" for k, v in value.items()) + "}"
    return str(value)


def _problem(shape: Any, value: Any, path: str, constraint: str) -> str:
    if shape is not None and shape.metadata.get("sensitive"):
        return f"Value at '{path}' failed to satisfy constraint: {constraint}"
    shown = "null" if value is None else f"'{_render(value)}'"
    return f"Value {shown} at '{path}' failed to satisfy constraint: {constraint}"


def _type_ok(shape: Any, value: Any) -> bool:
    kind = shape.type_name
    if kind == "structure":
        return shape.is_document_type or isinstance(value, Mapping)
    if kind == "list":
        return isinstance(value, list | tuple)
    if kind == "map":
        return isinstance(value, Mapping)
    if kind in _NUMBERS and isinstance(value, bool):
        return False
    if kind == "blob" and isinstance(value, str):
        return True  # botocore accepts text for blobs, as UTF-8
    return isinstance(value, _SCALARS.get(kind, (object,)))


def _own(shape: Any, value: Any, lenient: Collection[str] = ()) -> list[str]:
    """The constraints the value itself breaks (not its members'), as constraint phrases
    (``lenient``: shape names whose enum is not checked)."""
    meta = shape.metadata
    kind = shape.type_name
    if not _type_ok(shape, value):
        return [f"Member must be of type {_TYPE_WORDS.get(kind, kind)}"]
    found: list[str] = []
    if kind in ("string", "blob", "list", "map"):
        size = (
            len(value.encode("utf-8")) if kind == "blob" and isinstance(value, str) else len(value)
        )
        if "min" in meta and size < meta["min"]:
            found.append(f"Member must have length greater than or equal to {meta['min']}")
        if "max" in meta and size > meta["max"]:
            found.append(f"Member must have length less than or equal to {meta['max']}")
    elif kind in _NUMBERS:
        if "min" in meta and value < meta["min"]:
            found.append(f"Member must have value greater than or equal to {meta['min']}")
        if "max" in meta and value > meta["max"]:
            found.append(f"Member must have value less than or equal to {meta['max']}")
    if (
        kind == "string"
        and meta.get("enum")
        and value not in meta["enum"]
        and shape.name not in lenient
    ):
        found.append("Member must satisfy enum value set: [" + ", ".join(meta["enum"]) + "]")
    return found


def _check(shape: Any, value: Any, path: str, out: list[str], lenient: Collection[str]) -> None:
    own = _own(shape, value, lenient)
    if own:
        out.extend(_problem(shape, value, path, constraint) for constraint in own)
        if not _type_ok(shape, value):
            return
    kind = shape.type_name
    if kind == "structure" and not shape.is_document_type:
        _structure(shape, value, path, out, lenient)
    elif kind == "list":
        member = shape.member
        if member.type_name in ("structure", "list", "map"):
            for i, item in enumerate(value, 1):
                where = f"{path}.{i}.member"
                if item is None:
                    out.append(_problem(member, None, where, "Member must not be null"))
                else:
                    _check(member, item, where, out, lenient)
        else:
            inner = sorted({c for item in value for c in _scalar_problems(member, item, lenient)})
            if inner:
                constraint = "Member must satisfy constraint: [" + ", ".join(inner) + "]"
                out.append(_problem(shape, value, path, constraint))
    elif kind == "map":
        keys = sorted({c for key in value for c in _scalar_problems(shape.key, key, lenient)})
        if keys:
            constraint = "Map keys must satisfy constraint: [" + ", ".join(keys) + "]"
            out.append(_problem(shape, value, path, constraint))
        if shape.value.type_name in ("structure", "list", "map"):
            for key, item in value.items():
                _check(shape.value, item, f"{path}.{key}", out, lenient)
        else:
            values = sorted(
                {c for item in value.values() for c in _scalar_problems(shape.value, item, lenient)}
            )
            if values:
                constraint = "Map value must satisfy constraint: [" + ", ".join(values) + "]"
                out.append(_problem(shape, value, path, constraint))


def _scalar_problems(shape: Any, value: Any, lenient: Collection[str]) -> list[str]:
    return ["Member must not be null"] if value is None else _own(shape, value, lenient)


def _structure(
    shape: Any, value: Mapping[str, Any], path: str, out: list[str], lenient: Collection[str]
) -> None:
    members = shape.members
    prefix = f"{path}." if path else ""
    for name in shape.metadata.get("required", []):
        if value.get(name) is None:
            member = members.get(name)
            out.append(
                _problem(member, None, prefix + lower_camel(name), "Member must not be null")
            )
    for name, item in value.items():
        member = members.get(name)
        where = prefix + lower_camel(str(name))
        if member is None:
            out.append(_problem(None, item, where, f"Member must be a member of {shape.name}"))
        elif item is not None:
            _check(member, item, where, out, lenient)
    if shape.is_tagged_union:
        present = [name for name, item in value.items() if item is not None]
        if len(present) != 1:
            out.append(
                _problem(
                    None,
                    dict(value),
                    path or lower_camel(shape.name),
                    "Member must have exactly one member set",
                )
            )


def validate(
    shape: Any, params: Mapping[str, Any], *, lenient_enums: Collection[str] = ()
) -> list[str]:
    """Every problem the model states for ``params`` under ``shape`` (an operation's input
    shape, usually), in AWS's words; [] when there is none or ``shape`` is None.
    ``lenient_enums`` names string shapes whose enum the service itself does not enforce (the
    model lags the service: SQS's ReceiveMessage takes message system attribute names in a list
    modelled as queue attribute names)."""
    if shape is None:
        return []
    out: list[str] = []
    _check(shape, params, "", out, lenient_enums)
    return out


def validation_message(problems: list[str]) -> str:
    """``"1 validation error detected: ..."`` / ``"3 validation errors detected: a; b; c"``."""
    count = len(problems)
    noun = "error" if count == 1 else "errors"
    return f"{count} validation {noun} detected: " + "; ".join(problems)
