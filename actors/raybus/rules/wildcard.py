"""Wildcard patterns: syntax, matching and event-ruler's complexity limit.

Syntax (event-ruler's WildcardParser): ``*`` matches any run of characters, including none;
``\\*`` is a literal star and ``\\\\`` a literal backslash; two stars in a row, or a backslash
before anything else, are errors. Error positions count UTF-8 bytes of the value with the quote
event-ruler puts in front of it.

Complexity: event-ruler rejects a rule when, for one field, a worst-case input value could keep
too many wildcard-pattern states alive at once (MachineComplexityEvaluator). This module counts
the same thing on a position automaton: the largest number of simultaneously live positions
(inside a star, or just past a literal byte) over all input strings, found by exploring the
reachable sets of live positions. ``MAX_COMPLEXITY`` is the limit a rule may reach.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

__all__ = [
    "COMPLEXITY_MESSAGE",
    "MAX_COMPLEXITY",
    "WildcardSyntaxError",
    "compile_wildcard",
    "complexity",
    "parse_wildcard",
]

COMPLEXITY_MESSAGE = (
    "Rule is too complex - try using fewer wildcard characters or fewer repeating character "
    "sequences after a wildcard character"
)
MAX_COMPLEXITY = 10
_STAR = -1
_QUOTE = 34


class WildcardSyntaxError(ValueError):
    pass


def parse_wildcard(value: str) -> list[str | None]:
    """Literal segments and stars (``None``) of a wildcard value; raises WildcardSyntaxError."""
    parts: list[str | None] = []
    literal: list[str] = []
    pos = 1  # byte offset in '"' + value
    i = 0
    n = len(value)
    while i < n:
        ch = value[i]
        width = len(ch.encode("utf-8", "surrogatepass"))
        if ch == "*":
            if i + 1 < n and value[i + 1] == "*":
                raise WildcardSyntaxError(f"Consecutive wildcard characters at pos {pos}")
            if literal:
                parts.append("".join(literal))
                literal = []
            parts.append(None)
        elif ch == "\\":
            nxt = value[i + 1] if i + 1 < n else '"'
            if nxt not in "*\\":
                raise WildcardSyntaxError(f"Invalid escape character at pos {pos}")
            literal.append(nxt)
            i += 1
            pos += 1
        else:
            literal.append(ch)
        pos += width
        i += 1
    if literal:
        parts.append("".join(literal))
    return parts


def compile_wildcard(value: str) -> tuple[str, str, re.Pattern[str] | None]:
    """``(prefix, suffix, regex)`` for a valid wildcard value.

    A value matches iff it starts with ``prefix``, ends with ``suffix``, is at least as long as
    both together, and (when ``regex`` is not None) the regex fullmatches it. ``regex`` is None
    for zero or one star, so those need no regex.
    """
    parts = parse_wildcard(value)
    stars = sum(1 for p in parts if p is None)
    if stars == 0:
        text = "".join(p for p in parts if p is not None)
        return text, "", re.compile(re.escape(text), re.DOTALL)
    prefix = parts[0] if parts[0] is not None else ""
    suffix = parts[-1] if parts[-1] is not None else ""
    if stars == 1:
        return prefix, suffix, None
    body = "".join(".*" if p is None else re.escape(p) for p in parts)
    return prefix, suffix, re.compile(body, re.DOTALL)


def _byte_tokens(value: str) -> list[int]:
    tokens = [_QUOTE]
    for part in parse_wildcard(value):
        if part is None:
            tokens.append(_STAR)
        else:
            tokens.extend(part.encode("utf-8", "surrogatepass"))
    tokens.append(_QUOTE)
    return tokens


def complexity(values: Sequence[str], cap: int = MAX_COMPLEXITY + 1) -> int:
    """Largest number of simultaneously live positions of these patterns on one field.

    A live position is (pattern, index) where index points at a star the input is inside of, or
    just past a literal byte the input matched. Exploration stops once ``cap`` is reached.
    Cost: O(reachable position sets x alphabet x positions), small for real patterns.
    """
    patterns = [_byte_tokens(v) for v in values]
    alphabet = sorted({b for p in patterns for b in p if b != _STAR})
    other = -2  # stands for every byte no pattern mentions

    def closure(pid: int, idx: int) -> list[int]:
        """Indices reachable from 'about to read token idx' through stars (which may be empty)."""
        tokens = patterns[pid]
        out = [idx]
        while idx < len(tokens) and tokens[idx] == _STAR:
            idx += 1
            out.append(idx)
        return out

    def step(state: frozenset[tuple[int, int]], byte: int) -> frozenset[tuple[int, int]]:
        nxt: set[tuple[int, int]] = set()
        for pid, idx in state:
            tokens = patterns[pid]
            if idx >= 0 and tokens[idx] == _STAR:
                nxt.add((pid, idx))  # the star absorbs the byte
            for c in closure(pid, idx + 1):
                if c < len(tokens) and (tokens[c] == _STAR or tokens[c] == byte):
                    nxt.add((pid, c))
        return frozenset(nxt)

    def weight(state: frozenset[tuple[int, int]]) -> int:
        # Like event-ruler, a position just before a star also counts the star's pattern state
        # (an input matching "foo" is live in "foo*" too) unless the star itself is live.
        total = 0
        for pid, idx in state:
            tokens = patterns[pid]
            total += 1
            if (
                tokens[idx] != _STAR
                and idx + 1 < len(tokens)
                and tokens[idx + 1] == _STAR
                and (pid, idx + 1) not in state
            ):
                total += 1
        return total

    start = frozenset((pid, -1) for pid in range(len(patterns)))
    best = 0
    seen = {start}
    frontier = [start]
    while frontier:
        state = frontier.pop()
        for byte in [*alphabet, other]:
            nxt = step(state, byte)
            if not nxt:
                continue
            live = weight(nxt)
            if live > best:
                best = live
                if best >= cap:
                    return cap
            if nxt not in seen:
                seen.add(nxt)
                frontier.append(nxt)
    return best
