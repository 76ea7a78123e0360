"""The compiled form of a pattern: branches of field conditions made of value matchers.

A pattern compiles to a list of *branches* (its ``$or`` alternatives multiplied out, as
event-ruler does); a branch is a sequence of ``(path, Condition)`` with distinct dotted paths; a
condition holds when any of its matchers matches a value of the field, or, if ``absent``, when
the field has no value (``exists: false``). A branch holds when all its conditions hold on values
that do not come from different elements of one array (event-ruler's array consistency).

A matcher is a hashable tuple ``(kind, argument)``; equal tuples are the same matcher, which the
compiled machine uses to share work between rules. Values are JSON values as Python holds them:
``str``, ``int``/``float`` (numbers), ``bool``, ``None``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from raybus.rules.cidr import parse_ip
from raybus.rules.numbers import is_number, number_key
from raybus.rules.wildcard import compile_wildcard

__all__ = [
    "AB",
    "AB_IC",
    "AB_NUM",
    "AB_PREFIX",
    "AB_SUFFIX",
    "AB_WILDCARD",
    "ANYTHING_BUT_KINDS",
    "CIDR",
    "EQUALS_IC",
    "EXACT",
    "EXISTS",
    "LITERAL",
    "NUM_EQ",
    "NUM_LIT",
    "NUM_RANGE",
    "PREFIX",
    "PREFIX_IC",
    "SUFFIX",
    "SUFFIX_IC",
    "WILDCARD",
    "Branch",
    "Condition",
    "Matcher",
    "fold",
    "literal_of",
    "matcher_matches",
    "selectivity",
    "wildcard_checker",
]

Matcher = tuple[str, Any]

EXACT = "exact"  # str
LITERAL = "literal"  # "true" | "false" | "null"
NUM_EQ = "num_eq"  # int key
NUM_LIT = "num_lit"  # int | float: an out-of-range number, compared by value
NUM_RANGE = "num_range"  # (low key, high key), both inclusive
CIDR = "cidr"  # (width, low, high), inclusive; also exact IP literals
PREFIX = "prefix"
PREFIX_IC = "prefix_ic"  # folded
SUFFIX = "suffix"
SUFFIX_IC = "suffix_ic"  # folded
EQUALS_IC = "equals_ic"  # folded
WILDCARD = "wildcard"  # the wildcard value as written
EXISTS = "exists"  # None
AB = "ab"  # frozenset[str]
AB_NUM = "ab_num"  # frozenset[int] of keys
AB_IC = "ab_ic"  # frozenset[str], folded
AB_PREFIX = "ab_prefix"  # frozenset[str]
AB_SUFFIX = "ab_suffix"  # frozenset[str]
AB_WILDCARD = "ab_wildcard"  # frozenset[str] of wildcard values

ANYTHING_BUT_KINDS = frozenset({AB, AB_NUM, AB_IC, AB_PREFIX, AB_SUFFIX, AB_WILDCARD})

# Order in which the machine tests a branch's conditions (see machine.order_branch): cheap and
# selective string tests first; numbers after them, as numeric fields are often arrays
# (coordinates, series) and each number costs a binary search; exists and anything-but last,
# as they let nearly everything through.
_SELECTIVITY = {
    EXACT: 0,
    LITERAL: 0,
    NUM_EQ: 3,
    NUM_LIT: 3,
    CIDR: 2,
    PREFIX: 1,
    PREFIX_IC: 1,
    SUFFIX: 1,
    SUFFIX_IC: 1,
    EQUALS_IC: 1,
    WILDCARD: 2,
    NUM_RANGE: 3,
    EXISTS: 4,
}


def fold(text: str) -> str:
    """Case folding for equals-ignore-case: per character lower case (one char to one char)."""
    if text.isascii():
        return text.lower()
    return "".join(c if len(c.lower()) != 1 else c.lower() for c in text)


def literal_of(value: object) -> str | None:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    return None


def wildcard_checker(value: str) -> Any:
    """A predicate ``str -> bool`` for one wildcard value (fast paths for 0 or 1 star)."""
    prefix, suffix, rx = compile_wildcard(value)
    if rx is not None:
        full = rx.fullmatch
        return lambda v: full(v) is not None
    need = len(prefix) + len(suffix)
    return lambda v: len(v) >= need and v.startswith(prefix) and v.endswith(suffix)


_CHECKERS: dict[str, Any] = {}


def _wild(pattern: str, value: str) -> bool:
    check = _CHECKERS.get(pattern)
    if check is None:
        if len(_CHECKERS) > 4096:
            _CHECKERS.clear()
        check = _CHECKERS[pattern] = wildcard_checker(pattern)
    return bool(check(value))


def matcher_matches(matcher: Matcher, value: object) -> bool:
    """Whether one matcher accepts one field value (the reference definition)."""
    kind, arg = matcher
    if kind == EXISTS:
        return True
    if isinstance(value, str):
        if kind == EXACT:
            return bool(value == arg)
        if kind == PREFIX:
            return value.startswith(arg)
        if kind == SUFFIX:
            return value.endswith(arg)
        if kind == PREFIX_IC:
            return fold(value).startswith(arg)
        if kind == SUFFIX_IC:
            return fold(value).endswith(arg)
        if kind == EQUALS_IC:
            return bool(fold(value) == arg)
        if kind == WILDCARD:
            return _wild(arg, value)
        if kind == CIDR:
            ip = parse_ip(value)
            return ip is not None and ip[0] == arg[0] and bool(arg[1] <= ip[1] <= arg[2])
        if kind == AB:
            return bool(value not in arg)
        if kind == AB_IC:
            return bool(fold(value) not in arg)
        if kind == AB_PREFIX:
            return not any(value.startswith(p) for p in arg)
        if kind == AB_SUFFIX:
            return not any(value.endswith(p) for p in arg)
        if kind == AB_WILDCARD:
            return not any(_wild(p, value) for p in arg)
        return kind == AB_NUM
    if is_number(value):
        key = number_key(value)  # type: ignore[arg-type]
        if kind == NUM_EQ:
            return bool(key == arg)
        if kind == NUM_RANGE:
            return key is not None and bool(arg[0] <= key <= arg[1])
        if kind == NUM_LIT:
            return key is None and bool(value == arg)
        if kind == AB_NUM:
            return key is None or bool(key not in arg)
        return kind in ANYTHING_BUT_KINDS
    if kind == LITERAL:
        return bool(literal_of(value) == arg)
    return kind in ANYTHING_BUT_KINDS


def selectivity(matcher: Matcher) -> int:
    return _SELECTIVITY.get(matcher[0], 5)


@dataclass(frozen=True)
class Condition:
    """The values one field may take: any matcher, or no value at all when ``absent``."""

    matchers: tuple[Matcher, ...]
    absent: bool = False
    key: tuple[frozenset[Matcher], bool] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "key", (frozenset(self.matchers), self.absent))

    def accepts(self, value: object) -> bool:
        return any(matcher_matches(m, value) for m in self.matchers)

    def selectivity(self) -> int:
        if self.absent:
            return 6
        return max((selectivity(m) for m in self.matchers), default=6)


Branch = tuple[tuple[str, Condition], ...]
