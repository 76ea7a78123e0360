"""EventBridge event patterns: compile, match one, match many (the public API).

- :func:`compile_pattern` validates a pattern (dict or JSON text) exactly as EventBridge does and
  returns a :class:`CompiledPattern`; invalid patterns raise ``PatternError`` with code
  ``InvalidEventPatternException`` and EventBridge's message.
- :func:`test_event_pattern` is TestEventPattern: the event must be a JSON object with ``id``,
  ``account``, ``source``, ``time``, ``region`` and ``detail-type`` (else ``ValidationException``).
- :class:`RuleSet` compiles many patterns into one machine: ``match(event)`` costs about the same
  for 10 or 10,000 rules (see ``machine``); rules are added and removed one at a time.

Events are dicts as ``json.loads`` returns them, or JSON text. A JSON text event that is not
valid JSON, or any event that is not a JSON object, raises ``ValidationException``.
"""

from __future__ import annotations

import json
from collections.abc import Hashable, Iterator, Mapping
from typing import Any

from raybus.rules.compiler import EVENTBRIDGE, RawBranch, RuleSyntaxError, compile_tokens
from raybus.rules.errors import event_pattern_error, invalid_event_error
from raybus.rules.machine import Machine, order_branch
from raybus.rules.model import WILDCARD, Branch
from raybus.rules.tokens import DEPTH_MESSAGE, JsonSyntaxError, ObjectTokens, TextTokens, Tokens
from raybus.rules.wildcard import COMPLEXITY_MESSAGE, MAX_COMPLEXITY, complexity

__all__ = [
    "ENVELOPE_FIELDS",
    "CompiledPattern",
    "RuleSet",
    "compile_pattern",
    "load_event",
    "test_event_pattern",
]

# TestEventPattern's mandatory event fields (AWS documents "resources" too but does not require
# it).
ENVELOPE_FIELDS = ("id", "account", "source", "time", "region", "detail-type")


def _reject_constant(name: str) -> Any:
    raise ValueError(name)


def load_event(event: Mapping[str, Any] | str | bytes) -> Mapping[str, Any]:
    """The event as a mapping; JSON text is parsed strictly (no NaN, no Infinity)."""
    if isinstance(event, Mapping):
        return event
    if isinstance(event, (str, bytes, bytearray)):
        try:
            loaded = json.loads(event, parse_constant=_reject_constant)
        except (ValueError, UnicodeDecodeError, RecursionError):
            raise invalid_event_error() from None
        if isinstance(loaded, dict):
            return loaded
    raise invalid_event_error()


def pattern_tokens(pattern: Mapping[str, Any] | str | bytes) -> Tokens:
    if isinstance(pattern, (bytes, bytearray)):
        try:
            pattern = pattern.decode("utf-8")
        except UnicodeDecodeError as exc:
            bad = exc.object[exc.start]
            raise event_pattern_error(f"Invalid UTF-8 start byte 0x{bad:x}") from None
    if isinstance(pattern, str):
        return TextTokens(pattern)
    return ObjectTokens(pattern)


class CompiledPattern:
    """A valid pattern; ``matches(event)`` is True when the event matches it.

    ``branches`` are the pattern's ``$or`` alternatives multiplied out (``path -> Condition``),
    ``steps`` the same in the order the machine tests them. Immutable once built.
    """

    __slots__ = ("_machine", "branches", "steps")

    def __init__(self, branches: list[RawBranch]) -> None:
        self.branches: tuple[RawBranch, ...] = tuple(branches)
        self.steps: tuple[Branch, ...] = tuple(order_branch(b.items()) for b in branches)
        self._machine: Machine | None = None

    @property
    def paths(self) -> frozenset[str]:
        return frozenset(path for branch in self.branches for path in branch)

    def matches(self, event: Mapping[str, Any] | str | bytes) -> bool:
        machine = self._machine
        if machine is None:
            machine = Machine()
            for branch in self.steps:
                machine.add_branch(0, branch)
            self._machine = machine
        try:
            return bool(machine.match(load_event(event)))
        except RecursionError:  # arrays nested deeper than Python recurses
            raise invalid_event_error() from None

    def __repr__(self) -> str:
        return f"CompiledPattern(branches={len(self.branches)}, paths={sorted(self.paths)})"


def check_wildcard_complexity(branches: list[RawBranch], error: Any) -> None:
    by_path: dict[str, list[str]] = {}
    for branch in branches:
        for path, cond in branch.items():
            for kind, arg in cond.matchers:
                if kind == WILDCARD:
                    by_path.setdefault(path, []).append(arg)
    for values in by_path.values():
        if complexity(sorted(set(values))) > MAX_COMPLEXITY:
            raise error(COMPLEXITY_MESSAGE)


def compile_pattern(pattern: CompiledPattern | Mapping[str, Any] | str | bytes) -> CompiledPattern:
    """Validate an EventBridge event pattern and compile it.

    Raises ``PatternError`` (``InvalidEventPatternException``) with EventBridge's reason.
    """
    if isinstance(pattern, CompiledPattern):
        return pattern
    try:
        branches = compile_tokens(pattern_tokens(pattern), EVENTBRIDGE)
    except (JsonSyntaxError, RuleSyntaxError) as exc:
        raise event_pattern_error(str(exc)) from None
    except RecursionError:  # deeper than Python recurses, below Jackson's limit
        raise event_pattern_error(DEPTH_MESSAGE) from None
    check_wildcard_complexity(branches, event_pattern_error)
    return CompiledPattern(branches)


def test_event_pattern(
    pattern: Mapping[str, Any] | str | bytes, event: Mapping[str, Any] | str | bytes
) -> bool:
    """EventBridge's TestEventPattern: validate both, then match.

    Raises ``PatternError``: ``ValidationException`` for an event that is not a JSON object with
    the envelope fields, ``InvalidEventPatternException`` for an invalid pattern.
    """
    loaded = load_event(event)
    if any(name not in loaded for name in ENVELOPE_FIELDS):
        raise invalid_event_error()
    return compile_pattern(pattern).matches(loaded)


test_event_pattern.__test__ = False  # type: ignore[attr-defined]  # not a pytest test


class RuleSet:
    """Many rules, one compiled machine.

    - ``add(rule_id, pattern)`` validates first (nothing changes on error) and replaces any rule
      with the same id; cost O(pattern size), indexes rebuild lazily on the next match.
    - ``remove(rule_id)`` returns whether the rule was there.
    - ``match(event)`` returns the ids of the matching rules; cost independent of the number
      of rules for selective rules (output-sensitive otherwise).
    Rule ids are any hashable values. Not thread-safe.
    """

    def __init__(self) -> None:
        self._machine = Machine()
        self._rules: dict[Hashable, CompiledPattern] = {}

    def add(
        self, rule_id: Hashable, pattern: CompiledPattern | Mapping[str, Any] | str | bytes
    ) -> None:
        compiled = compile_pattern(pattern)
        if rule_id in self._rules:
            self.remove(rule_id)
        for branch in compiled.steps:
            self._machine.add_branch(rule_id, branch)
        self._rules[rule_id] = compiled

    def remove(self, rule_id: Hashable) -> bool:
        compiled = self._rules.pop(rule_id, None)
        if compiled is None:
            return False
        for branch in compiled.steps:
            self._machine.remove_branch(rule_id, branch)
        return True

    def match(self, event: Mapping[str, Any] | str | bytes) -> set[Hashable]:
        if type(event) is not dict:
            event = load_event(event)
        try:
            return self._machine.match(event)
        except RecursionError:  # arrays nested deeper than Python recurses
            raise invalid_event_error() from None

    def get(self, rule_id: Hashable) -> CompiledPattern | None:
        return self._rules.get(rule_id)

    def __len__(self) -> int:
        return len(self._rules)

    def __contains__(self, rule_id: object) -> bool:
        return rule_id in self._rules

    def __iter__(self) -> Iterator[Hashable]:
        return iter(self._rules)

    def __repr__(self) -> str:
        return f"RuleSet(rules={len(self._rules)})"
