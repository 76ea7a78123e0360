"""SNS subscription filter policies (FilterPolicy, FilterPolicyScope).

Validation, in SNS's order: the scope; the JSON (``failed to parse JSON. ...``); at most
``MAX_KEYS`` top-level keys; the event-ruler rules in SNS's dialect (see ``compiler.SNS``); no
nesting under scope ``MessageAttributes``; at most ``MAX_COMBINATIONS`` combinations, counted as
AWS documents: the product over keys of (number of values x nesting depth), where a ``$or``
contributes the sum of its alternatives. Errors are ``PatternError`` with code
``InvalidParameter`` and SNS's message, whose prefix depends on the API call (``operation``).

An empty policy (``None``, ``""`` or ``{}``) matches every message, as a removed policy does.

Matching: scope ``MessageBody`` matches the message parsed as JSON (a body that is not a JSON
object matches nothing); scope ``MessageAttributes`` matches the attributes seen as one flat JSON
object: ``String`` values as strings, ``Number`` values as numbers, ``String.Array`` (and
``Number.Array``) values as the arrays they encode (invalid JSON: no values); ``Binary``
attributes are ignored.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from raybus.rules.compiler import SNS, RuleSyntaxError, compile_tokens
from raybus.rules.errors import SNS_CODE, PatternError
from raybus.rules.pattern import CompiledPattern, pattern_tokens
from raybus.rules.tokens import (
    DEPTH_MESSAGE,
    END_ARRAY,
    END_OBJECT,
    FIELD_NAME,
    START_ARRAY,
    START_OBJECT,
    JsonSyntaxError,
    Token,
    Tokens,
)

__all__ = [
    "MAX_COMBINATIONS",
    "MAX_KEYS",
    "OPERATIONS",
    "SCOPES",
    "FilterPolicy",
    "attributes_event",
    "compile_filter_policy",
]

SCOPES = ("MessageAttributes", "MessageBody")
OPERATIONS = ("SetSubscriptionAttributes", "Subscribe")
MAX_KEYS = 5
MAX_COMBINATIONS = 150


class _Replay(Tokens):
    def __init__(self, tokens: list[Token]) -> None:
        self._tokens = tokens
        self._i = 0

    def next(self) -> Token | None:
        if self._i >= len(self._tokens):
            return None
        tok = self._tokens[self._i]
        self._i += 1
        return tok


def _read_all(source: Tokens) -> list[Token]:
    """All tokens of the root value (so syntax errors come before any other check)."""
    tokens: list[Token] = []
    depth = 0
    while True:
        tok = source.next()
        if tok is None:
            return tokens
        tokens.append(tok)
        if tok.kind in (START_OBJECT, START_ARRAY):
            depth += 1
        elif tok.kind in (END_OBJECT, END_ARRAY):
            depth -= 1
        if depth == 0:
            return tokens


_Tree = Any  # list of (key, subtree) for objects, ("array", [items]) for arrays, token for scalars


def _tree(tokens: list[Token], i: int = 0) -> tuple[_Tree, int]:
    tok = tokens[i]
    if tok.kind == START_OBJECT:
        pairs: dict[str, _Tree] = {}
        i += 1
        while tokens[i].kind != END_OBJECT:
            assert tokens[i].kind == FIELD_NAME
            key = tokens[i].text
            value, i = _tree(tokens, i + 1)
            pairs.pop(key, None)
            pairs[key] = value  # a repeated key replaces the earlier one, as in a JSON tree
        return pairs, i + 1
    if tok.kind == START_ARRAY:
        items: list[_Tree] = []
        i += 1
        while tokens[i].kind != END_ARRAY:
            item, i = _tree(tokens, i)
            items.append(item)
        return ("array", items), i + 1
    return tok, i + 1


def _is_array(node: _Tree) -> bool:
    return isinstance(node, tuple) and len(node) == 2 and node[0] == "array"


def _combinations(obj: dict[str, _Tree], depth: int) -> int:
    total = 1
    for key, value in obj.items():
        if key == "$or" and _is_array(value):
            total *= sum(_combinations(b, depth) for b in value[1] if isinstance(b, dict))
        elif isinstance(value, dict):
            total *= _combinations(value, depth + 1)
        elif _is_array(value):
            total *= len(value[1]) * depth
    return total


def _nested(obj: dict[str, _Tree]) -> bool:
    for key, value in obj.items():
        if key == "$or" and _is_array(value):
            if any(isinstance(b, dict) and _nested(b) for b in value[1]):
                return True
        elif isinstance(value, dict):
            return True
    return False


def _parse_number(text: str) -> int | float | Decimal | str:
    try:
        return int(text)
    except ValueError:
        pass
    try:
        value = float(text)
        if math.isfinite(value):
            return value
        return Decimal(text)
    except (ValueError, InvalidOperation):
        return text


def _parts(attribute: Any) -> tuple[str | None, Any]:
    if isinstance(attribute, Mapping):
        data_type = attribute.get("DataType", attribute.get("Type"))
        value = attribute.get("StringValue", attribute.get("Value"))
        return (data_type if isinstance(data_type, str) else None), value
    if isinstance(attribute, tuple) and len(attribute) == 2:
        return (attribute[0] if isinstance(attribute[0], str) else None), attribute[1]
    return None, None


def attributes_event(attributes: Mapping[str, Any] | None) -> dict[str, Any]:
    """SNS message attributes as the JSON object a ``MessageAttributes`` policy matches."""
    out: dict[str, Any] = {}
    for name, attribute in (attributes or {}).items():
        data_type, value = _parts(attribute)
        if data_type is None or not isinstance(value, str):
            continue  # Binary (bytes) and malformed attributes take no part in filtering
        base = data_type.split(".", 1)[0]
        if base in ("String", "Number") and data_type.endswith(".Array"):
            try:
                parsed = json.loads(value)
            except ValueError:
                parsed = []
            out[name] = parsed if isinstance(parsed, list) else []
        elif base == "String":
            out[name] = value
        elif base == "Number":
            out[name] = _parse_number(value)
    return out


class FilterPolicy:
    """A valid filter policy for one scope; ``matches(message, attributes)`` decides delivery."""

    __slots__ = ("pattern", "scope")

    def __init__(self, scope: str, pattern: CompiledPattern | None) -> None:
        self.scope = scope
        self.pattern = pattern  # None: no filtering

    def event_for(
        self, message: str | bytes | None, attributes: Mapping[str, Any] | None = None
    ) -> dict[str, Any] | None:
        """The JSON object this policy is matched against, or None when nothing can match."""
        if self.scope == "MessageAttributes":
            return attributes_event(attributes)
        if message is None:
            return None
        try:
            body = json.loads(message)
        except (ValueError, UnicodeDecodeError, RecursionError):
            return None
        return body if isinstance(body, dict) else None

    def matches(
        self, message: str | bytes | None, attributes: Mapping[str, Any] | None = None
    ) -> bool:
        if self.pattern is None:
            return True
        event = self.event_for(message, attributes)
        return event is not None and self.pattern.matches(event)

    def __repr__(self) -> str:
        return f"FilterPolicy(scope={self.scope!r}, pattern={self.pattern!r})"


def compile_filter_policy(
    policy: Mapping[str, Any] | str | bytes | None,
    scope: str = "MessageAttributes",
    *,
    operation: str = "SetSubscriptionAttributes",
) -> FilterPolicy:
    """Validate an SNS filter policy for a scope and compile it.

    ``operation`` picks SNS's message prefix: ``Subscribe`` reports
    ``Invalid parameter: Attributes Reason: FilterPolicy: ...``, ``SetSubscriptionAttributes``
    reports ``Invalid parameter: FilterPolicy: ...``.
    """
    if operation not in OPERATIONS:
        raise ValueError(f"operation must be one of {OPERATIONS}")
    prefix = (
        "Invalid parameter: Attributes Reason: "
        if operation == "Subscribe"
        else ("Invalid parameter: ")
    )

    def error(reason: str) -> PatternError:
        return PatternError(SNS_CODE, f"{prefix}FilterPolicy: {reason}", reason=reason)

    if scope not in SCOPES:
        message = (
            f"Invalid parameter: FilterPolicyScope: Invalid value [{scope}]. "
            "Please use either MessageBody or MessageAttributes"
        )
        raise PatternError(SNS_CODE, message, reason=message)
    if policy is None or (isinstance(policy, (str, bytes)) and len(policy) == 0):
        return FilterPolicy(scope, None)
    try:
        tokens = _read_all(pattern_tokens(policy))
    except JsonSyntaxError as exc:
        raise error(f"failed to parse JSON. {exc}") from None
    except PatternError as exc:
        raise error(f"failed to parse JSON. {exc.reason}") from None
    except RecursionError:
        raise error(f"failed to parse JSON. {DEPTH_MESSAGE}") from None
    tree = _tree(tokens)[0] if tokens else None
    if isinstance(tree, dict):
        if not tree:
            return FilterPolicy(scope, None)
        if len(tree) > MAX_KEYS:
            raise error(f"Filter policy can not have more than {MAX_KEYS} keys")
    try:
        branches = compile_tokens(_Replay(tokens), SNS)
        nested = _nested(tree) if isinstance(tree, dict) else False
        combinations = _combinations(tree, 1) if isinstance(tree, dict) else 0
    except RuleSyntaxError as exc:
        raise error(str(exc)) from None
    except RecursionError:
        raise error(f"failed to parse JSON. {DEPTH_MESSAGE}") from None
    if scope == "MessageAttributes" and nested:
        reason = "Filter policy scope MessageAttributes does not support nested filter policy"
        raise PatternError(SNS_CODE, prefix + reason, reason=reason)
    if combinations > MAX_COMBINATIONS:
        raise error("Filter policy is too complex")
    return FilterPolicy(scope, CompiledPattern(branches))
