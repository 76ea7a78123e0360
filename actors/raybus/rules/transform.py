"""EventBridge target input shaping: a target's ``Input``, ``InputPath`` or ``InputTransformer``.

:func:`compile_input` validates one target's shaping as PutTargets does (``ValidationException``
with AWS's words) and returns a :class:`CompiledInput`; ``render(event, ...)`` is the text
delivered to the target. Compiling parses the paths and splits the template into literal parts
and slots once; rendering costs O(template + selected values). Stdlib-only and Ray-free.

What is delivered (the API reference: PutTargets, Target, InputTransformer; the user guide:
"Amazon EventBridge input transformation"; AWS-recorded responses in LocalStack's
``tests/aws/services/events/test_events_inputs.snapshot.json``):

- Nothing given: the whole event as compact JSON text (no spaces, UTF-8 kept as is).
- ``Input``: the text exactly as given (it must be valid JSON; at most 8192 characters).
- ``InputPath``: the selected value as compact JSON, so a string arrives quoted (``"baz"``,
  as AWS sends it). A path that selects nothing delivers ``null`` (AWS does not document this;
  raybus's choice).
- ``InputTransformer``: the template with each ``<name>`` replaced; the template's own text and
  whitespace are kept (as in the guide's examples). A slot gets:

  ==========================  ============================  ================================
  value                       outside quotes (JSON value)   inside a JSON string / plain text
  ==========================  ============================  ================================
  string                      ``"text"`` (quoted)           ``text``
  number, true/false, null    its JSON                      its JSON
  object, array               its compact JSON              JSON without quotes: ``{a:b,c:[1,x]}``
  path selects nothing        ``""``                        nothing
  rule ARN/name, ingestion    ``"text"``                    ``text``
  aws.events.event(.json)     the JSON object               its JSON text (not unquoted)
  ==========================  ============================  ================================

  A template is JSON when it parses as JSON with its placeholders filled (an object, an array,
  a JSON string such as ``"instance <instance> is in <state>"``, or a lone ``<var>``); quotes
  then decide a slot's column. Any other template (``<instance> is in state <status>``, the
  API reference's first example) is plain text and every slot takes the right-hand column.

Confirmed with AWS (docs or AWS-recorded output): the three forms are exclusive ("Only one of
Input, InputPath, or InputTransformer must be provided for target <id>."); limits (Input and
InputTemplate 1..8192, InputPath and map values at most 256, at most 100 map entries, keys
1..256 matching ``[A-Za-z0-9\\_\\-]+``, so reserved ``aws.*`` names cannot be map keys); an
InputTemplate is required with a transformer; a placeholder that is neither a map key nor
reserved is refused ("InputTemplate for target <id> contains invalid placeholder <name>."); a
JSON-object template may not use a placeholder as a key; the reserved variables
``aws.events.rule-arn``, ``aws.events.rule-name``, ``aws.events.event.ingestion-time`` (strings),
``aws.events.event.json`` (the whole event) and ``aws.events.event`` (the event without
``detail``, with ``detail-type`` named ``detailType`` as AWS sends it); a missing value inside a
string is empty and outside quotes is ``""``; objects and arrays inside strings lose their inner
quotes; invalid JSON Input fails with "JSON syntax error in input for target <id>: [Source: ...]".

raybus's choices where AWS is silent or unhelpful:

- Values placed inside a JSON string are JSON-escaped (``"``, ``\\``, control characters), so a
  JSON template always yields valid JSON. AWS documents that it does not escape them (its output
  is then invalid JSON and JSON targets reject it); for values without those characters the
  output is identical. ``aws.events.event(.json)`` inside a string becomes the escaped JSON text.
- Paths are checked at compile time (AWS documents no JSON-path validation): ``$``, ``.name``,
  ``['name']``, ``[index]``, ``.*`` and ``[*]``. A path with a wildcard selects a JSON array of
  every match; no recursive descent, slices, filters or negative indexes.
- A template that starts with ``{`` and ends with ``}`` must be valid JSON (with placeholders
  filled). Messages for bad paths, placeholder keys and invalid templates are raybus's words; the
  JSON error locations come from Python's parser, so the column may differ from AWS's (Jackson).
- Constraint violations use AWS's "N validation error(s) detected: Value ... at
  'targets.<position>.member.<field>' failed to satisfy constraint: ..." format.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final, NamedTuple

from raybus.rules.errors import VALIDATION_CODE, PatternError

__all__ = [
    "MAX_INPUT_LENGTH",
    "MAX_PATHS_MAP_ENTRIES",
    "MAX_PATH_LENGTH",
    "MAX_TEMPLATE_LENGTH",
    "RESERVED_VARIABLES",
    "CompiledInput",
    "InputShape",
    "compile_input",
]

MAX_INPUT_LENGTH: Final = 8192
MAX_TEMPLATE_LENGTH: Final = 8192
MAX_PATH_LENGTH: Final = 256
MAX_PATHS_MAP_ENTRIES: Final = 100
_MAX_KEY_LENGTH: Final = 256
_KEY_PATTERN_TEXT: Final = "[A-Za-z0-9\\_\\-]+"
_KEY_RE: Final = re.compile(r"[A-Za-z0-9_\-]+")

RULE_ARN: Final = "aws.events.rule-arn"
RULE_NAME: Final = "aws.events.rule-name"
INGESTION_TIME: Final = "aws.events.event.ingestion-time"
EVENT: Final = "aws.events.event"
EVENT_JSON: Final = "aws.events.event.json"
RESERVED_VARIABLES: Final = frozenset({RULE_ARN, RULE_NAME, INGESTION_TIME, EVENT, EVENT_JSON})

# aws.events.event's leading fields, in the order AWS sends them (AWS-recorded output).
_EVENT_ORDER: Final = ("id", "account", "detail-type", "time", "source", "region", "resources")
_MAX_SOURCE: Final = 500  # Jackson prints at most this much of the source text

_PLACEHOLDER_RE: Final = re.compile(r"<([^<>]+)>")
_COLON_AHEAD: Final = re.compile(r"\s*:")
_SEGMENT_RE: Final = re.compile(r"\.([^.\[\]\s]+)|\[(?:(\*)|(\d+)|'([^']*)'|\"([^\"]*)\")\]")


@dataclass(frozen=True, slots=True)
class InputShape:
    """A target's input shaping: at most one of Input, InputPath, InputTransformer."""

    input: str | None = None  # Target.Input: JSON text sent as is
    input_path: str | None = None  # Target.InputPath: the part of the event to send
    paths_map: Mapping[str, str] | None = None  # InputTransformer.InputPathsMap
    template: str | None = None  # InputTransformer.InputTemplate


# -- JSON paths ------------------------------------------------------------------------------


class _Missing:
    __slots__ = ()


_MISSING: Final = _Missing()

_Step = str | int | None  # member name, array index, wildcard


@dataclass(frozen=True, slots=True)
class _Path:
    steps: tuple[_Step, ...]
    definite: bool  # no wildcard: selects one value or nothing


def _parse_path(text: str) -> _Path | None:
    if not text.startswith("$"):
        return None
    steps: list[_Step] = []
    pos, end = 1, len(text)
    while pos < end:
        m = _SEGMENT_RE.match(text, pos)
        if m is None:
            return None
        name, star, index, single, double = m.groups()
        if name is not None:
            steps.append(None if name == "*" else name)
        elif star is not None:
            steps.append(None)
        elif index is not None:
            steps.append(int(index))
        else:
            steps.append(single if single is not None else double)
        pos = m.end()
    return _Path(tuple(steps), None not in steps)


def _child(node: Any, step: str | int) -> Any:
    if isinstance(step, str):
        if isinstance(node, Mapping) and step in node:
            return node[step]
    elif isinstance(node, (list, tuple)) and step < len(node):
        return node[step]
    return _MISSING


def _select(path: _Path, event: Any) -> Any:
    """The selected value, or ``_MISSING``; a path with a wildcard gives the list of matches."""
    if path.definite:
        node = event
        for step in path.steps:
            assert step is not None
            node = _child(node, step)
            if node is _MISSING:
                break
        return node
    nodes = [event]
    for step in path.steps:
        found: list[Any] = []
        for node in nodes:
            if step is not None:
                child = _child(node, step)
                if child is not _MISSING:
                    found.append(child)
            elif isinstance(node, Mapping):
                found.extend(node.values())
            elif isinstance(node, (list, tuple)):
                found.extend(node)
        nodes = found
    return nodes


# -- JSON text -------------------------------------------------------------------------------


def _dumps(value: Any) -> str:
    """Compact JSON with non-ASCII kept; events holding ``Decimal`` or other mappings work too."""
    try:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError):
        return _dumps_slow(value)


def _dumps_slow(value: Any) -> str:
    if value is None or value is True or value is False:
        return "null" if value is None else ("true" if value else "false")
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, int):
        return int.__repr__(value)
    if isinstance(value, float):
        return float.__repr__(value) if math.isfinite(value) else "null"
    if isinstance(value, Decimal):
        return str(value) if value.is_finite() else "null"
    if isinstance(value, Mapping):
        items = (
            f"{json.dumps(str(k), ensure_ascii=False)}:{_dumps_slow(v)}" for k, v in value.items()
        )
        return "{" + ",".join(items) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_dumps_slow(v) for v in value) + "]"
    return json.dumps(str(value), ensure_ascii=False)


def _bare(value: Any) -> str:
    """A value as text inside a string: strings as they are, objects and arrays unquoted."""
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        return "{" + ",".join(f"{k}:{_bare(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_bare(v) for v in value) + "]"
    return _dumps(value)


def _escape(text: str) -> str:
    """``text`` as the inside of a JSON string literal."""
    return json.dumps(text, ensure_ascii=False)[1:-1]


def _event_without_detail(event: Mapping[str, Any]) -> dict[str, Any]:
    """``aws.events.event``: the envelope without ``detail``, ``detail-type`` as ``detailType``."""
    out: dict[str, Any] = {}
    for key in _EVENT_ORDER:
        if key in event:
            out["detailType" if key == "detail-type" else key] = event[key]
    for key, value in event.items():
        if key != "detail" and key not in _EVENT_ORDER:
            out[key] = value
    return out


def _source(text: str, line: int, column: int) -> str:
    """Jackson's location: ``[Source: (String)"..."; line: L, column: C]``."""
    if len(text) > _MAX_SOURCE:
        text = f'{text[:_MAX_SOURCE]}"[truncated {len(text) - _MAX_SOURCE} chars]'
    else:
        text += '"'
    return f'[Source: (String)"{text}; line: {line}, column: {column}]'


def _reject_constant(name: str) -> Any:
    raise ValueError(name)


# -- validation messages ---------------------------------------------------------------------


def _error(message: str) -> PatternError:
    return PatternError(VALIDATION_CODE, message)


def _java(value: object) -> str:
    """A value as AWS's constraint messages print it."""
    if value is None:
        return "null"
    if isinstance(value, Mapping):
        value = "{" + ", ".join(f"{k}={v}" for k, v in value.items()) + "}"
    return f"'{_short(str(value))}'"


def _length(text: str, low: int, high: int) -> list[str]:
    problems = []
    if len(text) > high:
        problems.append(f"Member must have length less than or equal to {high}")
    if len(text) < low:
        problems.append(f"Member must have length greater than or equal to {low}")
    return problems


class _Violations:
    def __init__(self, position: int) -> None:
        self._prefix = f"targets.{position}.member."
        self._items: list[str] = []

    def add(self, value: object, field: str, constraint: str) -> None:
        self._items.append(
            f"Value {_java(value)} at '{self._prefix}{field}' failed to satisfy constraint: "
            f"{constraint}"
        )

    def raise_any(self) -> None:
        if self._items:
            n = len(self._items)
            head = f"{n} validation error{'s' if n > 1 else ''} detected: "
            raise _error(head + "; ".join(self._items))


def _check_constraints(shape: InputShape, position: int) -> None:
    v = _Violations(position)
    for field, text in (("input", shape.input), ("inputPath", shape.input_path)):
        if text is not None:
            if not isinstance(text, str):
                raise _error(f"{field} must be a string.")
            high = MAX_INPUT_LENGTH if field == "input" else MAX_PATH_LENGTH
            for problem in _length(text, 0, high):
                v.add(text, field, problem)
    if shape.paths_map is not None or shape.template is not None:
        template = shape.template
        if template is None:
            v.add(None, "inputTransformer.inputTemplate", "Member must not be null")
        elif not isinstance(template, str):
            raise _error("inputTransformer.inputTemplate must be a string.")
        else:
            for problem in _length(template, 1, MAX_TEMPLATE_LENGTH):
                v.add(template, "inputTransformer.inputTemplate", problem)
        paths = shape.paths_map
        if paths is not None:
            if not isinstance(paths, Mapping) or not all(
                isinstance(k, str) and isinstance(p, str) for k, p in paths.items()
            ):
                raise _error("inputTransformer.inputPathsMap must map strings to strings.")
            field = "inputTransformer.inputPathsMap"
            if len(paths) > MAX_PATHS_MAP_ENTRIES:
                v.add(
                    paths,
                    field,
                    f"Member must have length less than or equal to {MAX_PATHS_MAP_ENTRIES}",
                )
            key_problems: dict[str, None] = {}
            value_problems: dict[str, None] = {}
            for key, path in paths.items():
                for problem in _length(key, 1, _MAX_KEY_LENGTH):
                    key_problems[problem] = None
                if not _KEY_RE.fullmatch(key):
                    key_problems[
                        f"Member must satisfy regular expression pattern: {_KEY_PATTERN_TEXT}"
                    ] = None
                for problem in _length(path, 0, MAX_PATH_LENGTH):
                    value_problems[problem] = None
            if key_problems:
                inner = ", ".join(key_problems)
                v.add(paths, field, f"Map keys must satisfy constraint: [{inner}]")
            if value_problems:
                inner = ", ".join(value_problems)
                v.add(paths, field, f"Map value must satisfy constraint: [{inner}]")
    v.raise_any()


def _short(text: str) -> str:
    return text if len(text) <= _MAX_SOURCE else text[:_MAX_SOURCE] + "..."


# -- templates -------------------------------------------------------------------------------

_VALUE: Final = 0  # outside quotes in a JSON template: a JSON value
_STRING: Final = 1  # inside a string literal of a JSON template: escaped text
_TEXT: Final = 2  # in a plain-text template: text as is


class _Slot(NamedTuple):
    source: int | str  # index into the compiled paths, or a reserved variable name
    mode: int


class _Scan(NamedTuple):
    literals: list[str]  # len(names) + 1 pieces of template text around the placeholders
    names: list[str]
    starts: list[int]  # each placeholder's offset in the template
    in_string: list[bool]
    keys: list[str]  # placeholders used as object keys (meaningful for JSON templates)


def _scan(template: str) -> _Scan:
    literals: list[str] = []
    names: list[str] = []
    starts: list[int] = []
    flags: list[bool] = []
    keys: list[str] = []
    in_string = escaped = False
    in_current: list[str] = []  # placeholders inside the string literal being read
    after_outside: str | None = None  # the unquoted placeholder just before this literal
    pos = 0
    matches = list(_PLACEHOLDER_RE.finditer(template))
    for i in range(len(matches) + 1):
        end = matches[i].start() if i < len(matches) else len(template)
        literal = template[pos:end]
        literals.append(literal)
        if after_outside is not None and _COLON_AHEAD.match(literal):
            keys.append(after_outside)
        after_outside = None
        for j, ch in enumerate(literal):
            if in_string:
                if escaped:
                    escaped = False
                elif ch == "\\":
                    escaped = True
                elif ch == '"':
                    in_string = False
                    if in_current and _COLON_AHEAD.match(literal, j + 1):
                        keys.extend(in_current)
                    in_current = []
            elif ch == '"':
                in_string = True
        if i < len(matches):
            m = matches[i]
            names.append(m.group(1))
            starts.append(m.start())
            flags.append(in_string)
            if in_string:
                in_current.append(m.group(1))
            else:
                after_outside = m.group(1)
            pos = m.end()
    return _Scan(literals, names, starts, flags, keys)


def _skeleton_error(template: str, scan: _Scan) -> str | None:
    """Why the template is not JSON once filled (None if it is): Jackson-style location."""
    pieces: list[tuple[int, int, int]] = []  # (skeleton offset, template offset, literal length)
    parts: list[str] = []
    offset = template_pos = 0
    for i, literal in enumerate(scan.literals):
        pieces.append((offset, template_pos, len(literal)))
        parts.append(literal)
        offset += len(literal)
        if i < len(scan.names):
            filler = "" if scan.in_string[i] else "null"
            pieces.append((offset, scan.starts[i], 0))
            parts.append(filler)
            offset += len(filler)
            template_pos = scan.starts[i] + len(scan.names[i]) + 2
    try:
        json.loads("".join(parts), parse_constant=_reject_constant)
    except RecursionError:
        return _source(template, 1, 1)
    except ValueError as exc:
        at = getattr(exc, "pos", 0)
        where = 0
        for sk, tp, length in pieces:
            if sk <= at:
                where = tp + min(at - sk, length)
        line = template.count("\n", 0, where) + 1
        column = where - (template.rfind("\n", 0, where) + 1) + 1
        return _source(template, line, column)
    return None


# -- compile and render ----------------------------------------------------------------------

_WHOLE: Final = 0
_CONSTANT: Final = 1
_PATH: Final = 2
_TEMPLATE: Final = 3


class CompiledInput:
    """A validated target input shaping; :meth:`render` gives the text sent to the target."""

    __slots__ = ("_constant", "_kind", "_parts", "_path", "_paths")

    def __init__(
        self,
        kind: int,
        *,
        constant: str = "",
        path: _Path | None = None,
        paths: tuple[_Path, ...] = (),
        parts: tuple[str | _Slot, ...] = (),
    ) -> None:
        self._kind = kind
        self._constant = constant
        self._path = path
        self._paths = paths
        self._parts = parts

    @property
    def whole_event(self) -> bool:
        """True when the target gets the event unchanged (no Input, InputPath or
        InputTransformer): the caller may send the event's own JSON text."""
        return self._kind not in (_TEMPLATE, _CONSTANT, _PATH)

    def render(
        self, event: Mapping[str, Any], *, rule_arn: str, rule_name: str, ingestion_time: str
    ) -> str:
        """The text delivered to the target for ``event`` (a dict as ``json.loads`` gives)."""
        kind = self._kind
        if kind == _TEMPLATE:
            return self._render_template(event, rule_arn, rule_name, ingestion_time)
        if kind == _CONSTANT:
            return self._constant
        if kind == _PATH:
            assert self._path is not None
            selected = _select(self._path, event)
            return "null" if selected is _MISSING else _dumps(selected)
        return _dumps(event)

    def _render_template(
        self, event: Mapping[str, Any], rule_arn: str, rule_name: str, ingestion_time: str
    ) -> str:
        values: list[Any] = [None] * len(self._paths)
        done = [False] * len(self._paths)
        reserved: dict[str, Any] = {}
        out: list[str] = []
        for part in self._parts:
            if isinstance(part, str):
                out.append(part)
                continue
            source, mode = part
            if isinstance(source, int):
                if not done[source]:
                    values[source] = _select(self._paths[source], event)
                    done[source] = True
                value = values[source]
                if value is _MISSING:
                    out.append('""' if mode == _VALUE else "")
                elif mode == _VALUE:
                    out.append(_dumps(value))
                elif mode == _STRING and isinstance(value, str):
                    out.append(_escape(value))
                else:
                    text = _bare(value)
                    out.append(_escape(text) if mode == _STRING else text)
            elif source in (EVENT, EVENT_JSON):
                if source not in reserved:
                    whole = event if source == EVENT_JSON else _event_without_detail(event)
                    reserved[source] = _dumps(whole)
                text = reserved[source]
                out.append(_escape(text) if mode == _STRING else text)
            else:
                text = (
                    rule_arn
                    if source == RULE_ARN
                    else rule_name
                    if source == RULE_NAME
                    else ingestion_time
                )
                if mode == _VALUE:
                    out.append(_dumps(text))
                else:
                    out.append(_escape(text) if mode == _STRING else text)
        return "".join(out)


def compile_input(
    shape: InputShape, *, target_id: str | None = None, position: int = 1
) -> CompiledInput:
    """Validate ``shape`` as PutTargets does and compile it.

    ``target_id`` (the target's Id) and ``position`` (its 1-based place in the PutTargets list)
    only appear in error messages. Raises :class:`PatternError` with code ``ValidationException``.
    """
    _check_constraints(shape, position)
    target = "" if target_id is None else f" for target {target_id}"
    transformer = shape.paths_map is not None or shape.template is not None
    if (shape.input is not None) + (shape.input_path is not None) + transformer > 1:
        raise _error(f"Only one of Input, InputPath, or InputTransformer must be provided{target}.")

    if shape.input is not None:
        try:
            json.loads(shape.input, parse_constant=_reject_constant)
        except json.JSONDecodeError as exc:
            where = _source(shape.input, exc.lineno, exc.colno)
            raise _error(f"JSON syntax error in input{target}: {where}") from None
        except (ValueError, RecursionError):
            raise _error(
                f"JSON syntax error in input{target}: {_source(shape.input, 1, 1)}"
            ) from None
        return CompiledInput(_CONSTANT, constant=shape.input)

    if shape.input_path is not None:
        path = _parse_path(shape.input_path)
        if path is None:
            raise _error(f"InputPath{target} is not a valid JSON path: {shape.input_path}.")
        return CompiledInput(_PATH, path=path)

    if not transformer:
        return CompiledInput(_WHOLE)

    template = shape.template
    assert template is not None
    paths_map = shape.paths_map or {}
    index: dict[str, int] = {}
    paths: list[_Path] = []
    for key, text in paths_map.items():
        parsed = _parse_path(text)
        if parsed is None:
            raise _error(f"InputPathsMap{target} has an invalid JSON path for {key}: {text}.")
        index[key] = len(paths)
        paths.append(parsed)

    scan = _scan(template)
    for name in scan.names:
        if name not in index and name not in RESERVED_VARIABLES:
            raise _error(f"InputTemplate{target} contains invalid placeholder {name}.")
    stripped = template.strip()
    is_object = stripped.startswith("{") and stripped.endswith("}")
    problem = _skeleton_error(template, scan)
    if (is_object or problem is None) and scan.keys:
        raise _error(
            f"InputTemplate{target} uses placeholder {scan.keys[0]} as an object key; "
            "placeholders cannot be object keys."
        )
    if is_object and problem is not None:
        raise _error(f"Invalid InputTemplate{target}: {problem}")

    parts: list[str | _Slot] = []
    for i, literal in enumerate(scan.literals):
        if literal:
            parts.append(literal)
        if i < len(scan.names):
            name = scan.names[i]
            mode = _TEXT if problem is not None else (_STRING if scan.in_string[i] else _VALUE)
            parts.append(_Slot(index.get(name, name), mode))
    return CompiledInput(_TEMPLATE, paths=tuple(paths), parts=tuple(parts))
