"""raybus.rules: EventBridge event patterns and SNS filter policies, validated and compiled.

Ray-free and stdlib-only. Patterns are validated as AWS validates them (event-ruler's rules and
messages) and compiled into one state machine per :class:`RuleSet`, so matching an event costs
about the same against 10 or 10,000 rules. ``docs/rules.md`` describes the language, the API and
where raybus deliberately differs from AWS.

- :func:`compile_pattern` -> :class:`CompiledPattern` with ``matches(event)``
- :func:`test_event_pattern` -- EventBridge's TestEventPattern
- :func:`compile_filter_policy` -> :class:`FilterPolicy` with ``matches(message, attributes)``
- :class:`RuleSet` -- ``add(rule_id, pattern)``, ``remove(rule_id)``, ``match(event) -> set``
- :class:`PatternError` -- every invalid input, with AWS's ``code`` and message
"""

from raybus.rules.errors import PatternError
from raybus.rules.pattern import CompiledPattern, RuleSet, compile_pattern, test_event_pattern
from raybus.rules.sns import FilterPolicy, compile_filter_policy

__all__ = [
    "CompiledPattern",
    "FilterPolicy",
    "PatternError",
    "RuleSet",
    "compile_filter_policy",
    "compile_pattern",
    "test_event_pattern",
]
