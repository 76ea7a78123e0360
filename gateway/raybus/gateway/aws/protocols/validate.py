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

Every request is checked, so each shape is compiled once, on first use, into a checker that
knows its kind, bounds, enum and members (:class:`_Checker`), kept for the life of the process.
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
# exact runtime types that need no check beyond the type (bool is not an int here; a blob may
# be text, as botocore accepts it)
_PLAIN_TYPES: dict[str, tuple[type, ...]] = {
    "integer": (int,),
    "long": (int,),
    "short": (int,),
    "byte": (int,),
    "blob": (bytes, bytearray, memoryview, str),
}
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


def _problem(sensitive: bool, value: Any, path: str, constraint: str) -> str:
    if sensitive:
        return f"Value at '{path}' failed to satisfy constraint: {constraint}"
    shown = "null" if value is None else f"'{_render(value)}'"
    return f"Value {shown} at '{path}' failed to satisfy constraint: {constraint}"


_NOT_NULL = "Member must not be null"


class _Checker:
    """One shape's constraints, compiled: its own (type, length or value bounds, enum) and,
    for containers, its members' checkers (looked up lazily: shapes may be recursive)."""

    __slots__ = (
        "_members",
        "document",
        "enum",
        "enum_text",
        "high",
        "kind",
        "lenient",
        "low",
        "name",
        "numeric",
        "plain",
        "required",
        "sensitive",
        "shape",
        "sized",
        "tagged_union",
        "types",
    )

    def __init__(self, shape: Any, lenient: frozenset[str]) -> None:
        meta = shape.metadata
        kind = shape.type_name
        self.shape = shape
        self.kind = kind
        self.name = shape.name
        self.sensitive = bool(meta.get("sensitive"))
        self.types = _SCALARS.get(kind, (object,))
        self.sized = kind in ("string", "blob", "list", "map")
        self.numeric = kind in _NUMBERS
        self.low = meta.get("min")
        self.high = meta.get("max")
        enum = meta.get("enum") if kind == "string" and shape.name not in lenient else None
        self.enum = frozenset(enum) if enum else None
        self.enum_text = ", ".join(enum) if enum else ""
        self.lenient = lenient
        self._members: Any = None
        self.document = bool(shape.is_document_type) if kind == "structure" else False
        self.tagged_union = bool(shape.is_tagged_union) if kind == "structure" else False
        self.required = tuple(meta.get("required", ())) if kind == "structure" else ()
        # the exact types a value of a scalar shape without bounds or enum may have, so that
        # such a value (most members: the codecs have typed them) is passed by one lookup
        plain = kind in _SCALARS and self.low is None and self.high is None and enum is None
        self.plain: frozenset[type] = (
            frozenset(_PLAIN_TYPES.get(kind, self.types)) if plain else frozenset()
        )

    # -- the value itself ---------------------------------------------------------------------
    def type_ok(self, value: Any) -> bool:
        kind = self.kind
        if kind == "structure":
            return type(value) is dict or self.document or isinstance(value, Mapping)
        if kind == "list":
            return isinstance(value, list | tuple)
        if kind == "map":
            return type(value) is dict or isinstance(value, Mapping)
        if self.numeric and isinstance(value, bool):
            return False
        if kind == "blob" and isinstance(value, str):
            return True  # botocore accepts text for blobs, as UTF-8
        return isinstance(value, self.types)

    def own(self, value: Any) -> list[str]:
        """The constraints the value itself breaks (not its members'), as phrases."""
        if not self.type_ok(value):
            return [f"Member must be of type {_TYPE_WORDS.get(self.kind, self.kind)}"]
        low, high = self.low, self.high
        found: list[str] = []
        if self.sized and (low is not None or high is not None):
            size = (
                len(value.encode("utf-8"))
                if self.kind == "blob" and isinstance(value, str)
                else len(value)
            )
            if low is not None and size < low:
                found.append(f"Member must have length greater than or equal to {low}")
            if high is not None and size > high:
                found.append(f"Member must have length less than or equal to {high}")
        elif self.numeric:
            if low is not None and value < low:
                found.append(f"Member must have value greater than or equal to {low}")
            if high is not None and value > high:
                found.append(f"Member must have value less than or equal to {high}")
        if self.enum is not None and value not in self.enum:
            found.append(f"Member must satisfy enum value set: [{self.enum_text}]")
        return found

    def scalar_problems(self, value: Any) -> list[str]:
        return [_NOT_NULL] if value is None else self.own(value)

    # -- the value and its members --------------------------------------------------------------
    def members(self) -> Any:
        """Structure: name -> (path name, checker); list: the member's checker; map: (key's,
        value's)."""
        if self._members is None:
            shape, lenient = self.shape, self.lenient
            if self.kind == "structure":
                self._members = {
                    name: (lower_camel(name), _checker(member, lenient))
                    for name, member in shape.members.items()
                }
            elif self.kind == "list":
                self._members = _checker(shape.member, lenient)
            else:
                self._members = (_checker(shape.key, lenient), _checker(shape.value, lenient))
        return self._members

    def check(self, value: Any, path: str, out: list[str]) -> None:
        if type(value) in self.plain:
            return
        own = self.own(value)
        if own:
            out.extend(_problem(self.sensitive, value, path, c) for c in own)
            if not self.type_ok(value):
                return
        kind = self.kind
        if kind == "structure":
            if not self.document:
                self._structure(value, path, out)
        elif kind == "list":
            self._list(value, path, out)
        elif kind == "map":
            self._map(value, path, out)

    def _structure(self, value: Mapping[str, Any], path: str, out: list[str]) -> None:
        members = self.members()
        prefix = f"{path}." if path else ""
        for name in self.required:
            if value.get(name) is None:
                known = members.get(name)
                sensitive = known is not None and known[1].sensitive
                out.append(_problem(sensitive, None, prefix + lower_camel(name), _NOT_NULL))
        for name, item in value.items():
            member = members.get(name)
            if member is None:
                where = prefix + lower_camel(str(name))
                out.append(_problem(False, item, where, f"Member must be a member of {self.name}"))
            elif item is not None and type(item) not in member[1].plain:
                member[1].check(item, prefix + member[0], out)
        if self.tagged_union:
            present = [name for name, item in value.items() if item is not None]
            if len(present) != 1:
                where = path or lower_camel(self.name)
                out.append(
                    _problem(False, dict(value), where, "Member must have exactly one member set")
                )

    def _list(self, value: Any, path: str, out: list[str]) -> None:
        member: _Checker = self.members()
        if member.kind in ("structure", "list", "map"):
            for i, item in enumerate(value, 1):
                where = f"{path}.{i}.member"
                if item is None:
                    out.append(_problem(member.sensitive, None, where, _NOT_NULL))
                else:
                    member.check(item, where, out)
            return
        inner = sorted({c for item in value for c in member.scalar_problems(item)})
        if inner:
            constraint = "Member must satisfy constraint: [" + ", ".join(inner) + "]"
            out.append(_problem(self.sensitive, value, path, constraint))

    def _map(self, value: Any, path: str, out: list[str]) -> None:
        keys, values = self.members()
        bad_keys = sorted({c for key in value for c in keys.scalar_problems(key)})
        if bad_keys:
            constraint = "Map keys must satisfy constraint: [" + ", ".join(bad_keys) + "]"
            out.append(_problem(self.sensitive, value, path, constraint))
        if values.kind in ("structure", "list", "map"):
            for key, item in value.items():
                values.check(item, f"{path}.{key}", out)
            return
        bad = sorted({c for item in value.values() for c in values.scalar_problems(item)})
        if bad:
            constraint = "Map value must satisfy constraint: [" + ", ".join(bad) + "]"
            out.append(_problem(self.sensitive, value, path, constraint))


_CHECKERS: dict[tuple[int, frozenset[str]], _Checker] = {}


def _checker(shape: Any, lenient: frozenset[str]) -> _Checker:
    key = (id(shape), lenient)
    found = _CHECKERS.get(key)
    if found is None:
        found = _CHECKERS[key] = _Checker(shape, lenient)  # holds the shape: its id stays
    return found


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
    _checker(shape, frozenset(lenient_enums)).check(params, "", out)
    return out


def validation_message(problems: list[str]) -> str:
    """``"1 validation error detected: ..."`` / ``"3 validation errors detected: a; b; c"``."""
    count = len(problems)
    noun = "error" if count == 1 else "errors"
    return f"{count} validation {noun} detected: " + "; ".join(problems)
