"""Pattern text (or a parsed value) to branches, validated as event-ruler validates it.

This follows event-ruler's JsonRuleCompiler token by token, so the first error AWS reports is the
first error raised here, with the same text: fields are read in document order, a duplicated key
overwrites the earlier one (``$or`` alternatives are multiplied out into branches), nested keys
join with ``.``. Two dialects: ``EVENTBRIDGE`` (the current event-ruler operators) and ``SNS``
(the operators SNS filter policies accept: no wildcard, no ``exactly``, ``anything-but`` only with
a value, a list or ``prefix``, no ``equals-ignore-case`` inside ``prefix``/``suffix``).

Errors are raised as ``RuleSyntaxError(reason)``; callers add the service's prefix and code.
Cost: O(pattern size x number of branches).
"""

from __future__ import annotations

from dataclasses import dataclass

from raybus.rules import model as m
from raybus.rules.cidr import cidr_range, ip_range_if_possible
from raybus.rules.model import Condition, Matcher
from raybus.rules.numbers import KEY_MAX, KEY_MIN, RANGE_MESSAGE, text_key
from raybus.rules.tokens import (
    END_ARRAY,
    END_OBJECT,
    FALSE,
    FIELD_NAME,
    FLOAT,
    INT,
    NULL,
    START_ARRAY,
    START_OBJECT,
    STRING,
    TRUE,
    Token,
    Tokens,
)
from raybus.rules.wildcard import WildcardSyntaxError, parse_wildcard

__all__ = [
    "EVENTBRIDGE",
    "RESERVED_IN_OR",
    "SNS",
    "Dialect",
    "RawBranch",
    "RuleSyntaxError",
    "compile_tokens",
]

RawBranch = dict[str, Condition]

RESERVED_IN_OR = frozenset(
    {
        "exactly", "equals-ignore-case", "prefix", "suffix", "anything-but", "exists",
        "wildcard", "numeric", "cidr", "=", "<", "<=", ">", ">=", "regex", "not-wildcard",
        "not-equals-ignore-case", "date-after", "date-on-or-after", "date-before",
        "date-on-or-before", "in-date-range", "ip-address-in-range", "ip-address-not-in-range",
    }
)  # fmt: skip

_NUMBERS = (INT, FLOAT)


class RuleSyntaxError(ValueError):
    """An invalid pattern; ``args[0]`` is event-ruler's reason text."""


@dataclass(frozen=True)
class Dialect:
    name: str
    wildcard: bool  # wildcard and anything-but wildcard
    exactly: bool
    ignore_case_affixes: bool  # prefix/suffix {"equals-ignore-case": ...}
    anything_but_objects: frozenset[str]
    anything_but_prefix_message: str
    null_prefix_message: str


EVENTBRIDGE = Dialect(
    "EventBridge",
    wildcard=True,
    exactly=True,
    ignore_case_affixes=True,
    anything_but_objects=frozenset({"equals-ignore-case", "prefix", "suffix", "wildcard"}),
    anything_but_prefix_message="prefix/suffix match pattern must be a string",
    null_prefix_message="Null prefix/suffix not allowed",
)
SNS = Dialect(
    "SNS",
    wildcard=False,
    exactly=False,
    ignore_case_affixes=False,
    anything_but_objects=frozenset({"prefix"}),
    anything_but_prefix_message="prefix match pattern must be a string",
    null_prefix_message="Null prefix not allowed",
)


def _barf(reason: str) -> RuleSyntaxError:
    return RuleSyntaxError(reason)


class _Compiler:
    def __init__(self, tokens: Tokens, dialect: Dialect) -> None:
        self.tokens = tokens
        self.dialect = dialect

    def next(self) -> Token:
        tok = self.tokens.next()
        if tok is None:  # only possible after the root value: treat as end of a container
            raise _barf("Unexpected end-of-input")
        return tok

    # -- structure --------------------------------------------------------------------------
    def compile(self) -> list[RawBranch]:
        first = self.tokens.next()
        if first is None or first.kind != START_OBJECT:
            raise _barf("Filter is not an object")
        rules: list[RawBranch] = []
        self.parse_object(rules, [], in_or=False)
        return rules

    def parse_object(self, rules: list[RawBranch], path: list[str], in_or: bool) -> None:
        fields_present = False
        while True:
            tok = self.next()
            if tok.kind == END_OBJECT:
                break
            fields_present = True
            name = tok.text
            if name == "$or":
                self.parse_or(rules, path)
                continue
            if in_or and name in RESERVED_IN_OR:
                raise _barf(f"{name} is Ruler reserved fieldName which cannot be used inside $or.")
            value = self.next()
            if value.kind == START_OBJECT:
                path.append(name)
                self.parse_object(rules, path, in_or)
                path.pop()
            elif value.kind == START_ARRAY:
                self.write_rules(rules, ".".join([*path, name]))
            else:
                raise _barf(f'"{name}" must be an object or an array')
        if not fields_present:
            raise _barf("Empty objects are not allowed")

    def parse_or(self, rules: list[RawBranch], path: list[str]) -> None:
        current = [dict(rule) for rule in rules]
        rules.clear()
        if self.next().kind != START_ARRAY:
            raise _barf("It must be an Array followed with $or.")
        count = 0
        while True:
            tok = self.next()
            if tok.kind == END_ARRAY:
                break
            count += 1
            if tok.kind != START_OBJECT:
                raise _barf("Only JSON object is allowed in array of $or relationship.")
            branch_rules = [dict(rule) for rule in current] or [{}]
            self.parse_object(branch_rules, path, in_or=True)
            rules.extend(branch_rules)
        if count < 2:
            raise _barf("There must have at least 2 Objects in $or relationship.")

    def write_rules(self, rules: list[RawBranch], name: str) -> None:
        matchers: list[Matcher] = []
        absent = False
        saw_value = False
        while True:
            tok = self.next()
            kind = tok.kind
            if kind == END_ARRAY:
                break
            saw_value = True
            if kind == START_OBJECT:
                produced = self.match_expression()
                if produced is None:
                    absent = True
                else:
                    matchers.append(produced)
            elif kind == STRING:
                ip = ip_range_if_possible(tok.text)
                matchers.append((m.CIDR, ip) if ip is not None else (m.EXACT, tok.text))
            elif kind in _NUMBERS:
                key = text_key(tok.text)
                if key is not None:
                    matchers.append((m.NUM_EQ, key))
                else:
                    matchers.append((m.NUM_LIT, int(tok.text) if kind == INT else float(tok.text)))
            elif kind in (TRUE, FALSE, NULL):
                matchers.append((m.LITERAL, tok.text))
            else:
                raise _barf("Match value must be String, number, true, false, or null")
        if not saw_value:
            raise _barf("Empty arrays are not allowed")
        condition = Condition(tuple(dict.fromkeys(matchers)), absent)
        if not rules:
            rules.append({})
        for rule in rules:
            rule[name] = condition

    # -- match expressions ------------------------------------------------------------------
    def only_one_key(self) -> None:
        if self.next().kind != END_OBJECT:
            raise _barf("Only one key allowed in match expression")

    def string_operand(self, message: str) -> str:
        tok = self.next()
        if tok.kind != STRING:
            raise _barf(message)
        return tok.text

    def match_expression(self) -> Matcher | None:
        """One ``{operator: operand}``; returns None for ``{"exists": false}``."""
        tok = self.next()
        if tok.kind != FIELD_NAME:
            raise _barf("Match expression name not found")
        op = tok.text
        dialect = self.dialect
        if op == "exactly" and dialect.exactly:
            value = self.string_operand("exact match pattern must be a string")
            self.only_one_key()
            return (m.EXACT, value)
        if op in ("prefix", "suffix"):
            operand = self.next()
            if operand.kind == START_OBJECT and dialect.ignore_case_affixes:
                return self.affix_ignore_case(op)
            if operand.kind != STRING:
                raise _barf(f"{op} match pattern must be a string")
            self.only_one_key()
            return (m.PREFIX if op == "prefix" else m.SUFFIX, operand.text)
        if op == "numeric":
            if self.next().kind != START_ARRAY:
                raise _barf("Value of numeric must be an array.")
            matcher = self.numeric()
            if self.next().kind != END_OBJECT:
                raise _barf("Too many elements in numeric expression")
            return matcher
        if op == "anything-but":
            return self.anything_but()
        if op == "exists":
            operand = self.next()
            if operand.kind not in (TRUE, FALSE):
                raise _barf("exists match pattern must be either true or false.")
            self.only_one_key()
            return (m.EXISTS, None) if operand.kind == TRUE else None
        if op == "cidr":
            text = self.string_operand("prefix match pattern must be a string")
            try:
                ip_range = cidr_range(text)
            except ValueError as exc:
                raise _barf(str(exc)) from None
            self.only_one_key()
            return (m.CIDR, ip_range)
        if op == "equals-ignore-case":
            value = self.string_operand("equals-ignore-case match pattern must be a string")
            self.only_one_key()
            return (m.EQUALS_IC, m.fold(value))
        if op == "wildcard" and dialect.wildcard:
            value = self.string_operand("wildcard match pattern must be a string")
            check_wildcard(value)
            self.only_one_key()
            return (m.WILDCARD, value)
        raise _barf(f"Unrecognized match type {op}")

    def affix_ignore_case(self, op: str) -> Matcher:
        tok = self.next()
        title = op.capitalize()
        if tok.kind != FIELD_NAME:
            raise _barf(f"{title} expression name not found")
        if tok.text != "equals-ignore-case":
            raise _barf(f"Unsupported {op} pattern: {tok.text}")
        value = self.string_operand("equals-ignore-case match pattern must be a string")
        self.only_one_key()
        self.only_one_key()
        return (m.PREFIX_IC if op == "prefix" else m.SUFFIX_IC, m.fold(value))

    def numeric(self) -> Matcher:
        tok = self.next()
        if tok.kind != STRING:
            raise _barf(f"Invalid member in numeric match: {tok.text}")
        operator = tok.text
        value = self.next()
        if operator == "=":
            if value.kind not in _NUMBERS:
                raise _barf("Value of equals must be numeric")
            if self.next().kind != END_ARRAY:
                raise _barf("Too many elements in numeric expression")
            return (m.NUM_EQ, _key(value.text))
        if operator in (">=", ">"):
            if value.kind not in _NUMBERS:
                raise _barf(f"Value of {operator} must be numeric")
            tok = self.next()
            low = _key(value.text) if tok.kind == END_ARRAY else None
            if tok.kind == END_ARRAY:
                assert low is not None
                return (m.NUM_RANGE, (low + 1 if operator == ">" else low, KEY_MAX))
            return self.range_top(tok, value.text, operator == ">")
        if operator in ("<=", "<"):
            if value.kind not in _NUMBERS:
                raise _barf(f"Value of {operator} must be numeric")
            if self.next().kind != END_ARRAY:
                raise _barf("Too many elements in numeric expression")
            high = _key(value.text)
            return (m.NUM_RANGE, (KEY_MIN, high - 1 if operator == "<" else high))
        raise _barf(f"Unrecognized numeric range operator: {operator}")

    def range_top(self, tok: Token, bottom_text: str, open_bottom: bool) -> Matcher:
        if tok.kind != STRING:
            raise _barf(f"Bad value in numeric range: {tok.text}")
        operator = tok.text
        if operator not in ("<", "<="):
            raise _barf(f"Bad numeric range operator: {operator}")
        top = self.next()
        if top.kind not in _NUMBERS:
            raise _barf(f"Value of {operator} must be numeric")
        if self.next().kind != END_ARRAY:
            raise _barf("Too many terms in numeric range expression")
        low, high = _key(bottom_text), _key(top.text)
        if low >= high:
            raise _barf("Bottom must be less than top")
        return (
            m.NUM_RANGE,
            (low + 1 if open_bottom else low, high - 1 if operator == "<" else high),
        )

    def anything_but(self) -> Matcher:
        kind = m.AB
        tok = self.next()
        if tok.kind == START_OBJECT:
            inner = self.next()
            if inner.kind != FIELD_NAME:
                raise _barf("Anything-But expression name not found")
            if inner.text not in self.dialect.anything_but_objects:
                raise _barf(f"Unsupported anything-but pattern: {inner.text}")
            kind = {
                "equals-ignore-case": m.AB_IC,
                "prefix": m.AB_PREFIX,
                "suffix": m.AB_SUFFIX,
                "wildcard": m.AB_WILDCARD,
            }[inner.text]
            tok = self.next()
        if self.dialect is SNS and kind == m.AB_PREFIX:
            return self.sns_anything_but_prefix(tok)
        if tok.kind not in (START_ARRAY, STRING, INT, FLOAT):
            raise _barf("Value of anything-but must be an array or single string/number value.")
        if kind == m.AB:
            matcher = self.anything_but_list() if tok.kind == START_ARRAY else _ab_single(tok)
        else:
            items = self.anything_but_set_list(kind) if tok.kind == START_ARRAY else None
            if items is None:
                items = [_ab_set_item(tok, kind, self.dialect)]
            if kind == m.AB_WILDCARD:
                for item in items:
                    check_wildcard(item)
            if kind == m.AB_IC:
                items = [m.fold(item) for item in items]
            matcher = (kind, frozenset(items))
        if self.next().kind != END_OBJECT:
            raise _barf("Too many elements in numeric expression")
        if kind != m.AB and self.next().kind != END_OBJECT:
            raise _barf("Too many elements in numeric expression")
        return matcher

    def sns_anything_but_prefix(self, tok: Token) -> Matcher:
        if tok.kind != STRING:
            raise _barf(self.dialect.anything_but_prefix_message)
        if not tok.text:
            raise _barf(self.dialect.null_prefix_message)
        self.only_one_key()
        self.only_one_key()
        return (m.AB_PREFIX, frozenset([tok.text]))

    def anything_but_list(self) -> Matcher:
        strings: list[str] = []
        keys: list[int] = []
        while True:
            tok = self.next()
            if tok.kind == END_ARRAY:
                break
            if tok.kind == STRING:
                strings.append(tok.text)
            elif tok.kind in _NUMBERS:
                keys.append(_key(tok.text))
            else:
                raise _barf("Inside anything but list, start|null|boolean is not supported.")
        if bool(strings) == bool(keys):
            raise _barf(
                "Inside anything but list, either all values are number or string, mixed type "
                "is not supported"
            )
        return (m.AB, frozenset(strings)) if strings else (m.AB_NUM, frozenset(keys))

    def anything_but_set_list(self, kind: str) -> list[str]:
        items: list[str] = []
        while True:
            tok = self.next()
            if tok.kind == END_ARRAY:
                return items
            items.append(_ab_set_item(tok, kind, self.dialect))


def _ab_single(tok: Token) -> Matcher:
    if tok.kind == STRING:
        return (m.AB, frozenset([tok.text]))
    return (m.AB_NUM, frozenset([_key(tok.text)]))


def _ab_set_item(tok: Token, kind: str, dialect: Dialect) -> str:
    if tok.kind == STRING:
        if kind in (m.AB_PREFIX, m.AB_SUFFIX) and not tok.text:
            raise _barf(dialect.null_prefix_message)
        return tok.text
    if kind == m.AB_IC:
        raise _barf(
            "Inside anything-but/equals-ignore-case list, number|start|null|boolean is not "
            "supported."
        )
    if kind == m.AB_WILDCARD:
        raise _barf("wildcard match pattern must be a string")
    raise _barf(dialect.anything_but_prefix_message)


def _key(text: str) -> int:
    key = text_key(text)
    if key is None:
        raise _barf(RANGE_MESSAGE)
    return key


def check_wildcard(value: str) -> None:
    try:
        parse_wildcard(value)
    except WildcardSyntaxError as exc:
        raise _barf(str(exc)) from None


def compile_tokens(tokens: Tokens, dialect: Dialect) -> list[RawBranch]:
    """Validate a pattern and return its branches (``path -> Condition`` maps)."""
    return _Compiler(tokens, dialect).compile()
