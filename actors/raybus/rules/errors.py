"""The one error type of ``raybus.rules`` and the AWS codes and message shapes it carries.

Contract:
- Every invalid pattern, filter policy or event raises :class:`PatternError`; nothing else
  escapes the public API for bad input (no ``KeyError``, ``json.JSONDecodeError``, ...).
- ``code`` is the AWS error code for the condition: ``InvalidEventPatternException`` (EventBridge
  pattern), ``ValidationException`` (TestEventPattern's event), ``InvalidParameter`` (SNS filter
  policy or scope). ``message`` starts with AWS's first line for the same input; ``reason`` is the
  part after AWS's fixed prefix (the event-ruler text), handy for building other prefixes.
- All these are client errors: HTTP 400, never retriable.

The three codes are entries of ``raybus.core``'s error catalog, and :class:`PatternError` is a
:class:`raybus.core.RaybusError` (and a ``ValueError``), so gateway and SDK treat it like any
other catalogued error.
"""

from __future__ import annotations

from typing import Any

from raybus.core.errors import RaybusError

__all__ = [
    "EVENT_PATTERN_CODE",
    "EVENT_PATTERN_PREFIX",
    "INVALID_EVENT_MESSAGE",
    "SNS_CODE",
    "VALIDATION_CODE",
    "PatternError",
    "event_pattern_error",
    "invalid_event_error",
]

EVENT_PATTERN_CODE = "InvalidEventPatternException"
EVENT_PATTERN_PREFIX = "Event pattern is not valid. Reason: "
VALIDATION_CODE = "ValidationException"
INVALID_EVENT_MESSAGE = "Parameter Event is not valid."
SNS_CODE = "InvalidParameter"


class PatternError(RaybusError, ValueError):
    """An invalid event pattern, filter policy or event, with AWS's code and message."""

    def __init__(self, code: str, message: str, *, reason: str | None = None) -> None:
        super().__init__(code, message)
        self.reason = message if reason is None else reason

    def __repr__(self) -> str:
        return f"PatternError({self.code!r}, {self.message!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (self.code, self.message, self.reason))


def _rebuild(code: str, message: str, reason: str) -> PatternError:
    return PatternError(code, message, reason=reason)


def event_pattern_error(reason: str) -> PatternError:
    """EventBridge's error for an invalid pattern: ``Event pattern is not valid. Reason: ...``."""
    return PatternError(EVENT_PATTERN_CODE, EVENT_PATTERN_PREFIX + reason, reason=reason)


def invalid_event_error() -> PatternError:
    """TestEventPattern's error for an event that is not a JSON object with the envelope fields."""
    return PatternError(VALIDATION_CODE, INVALID_EVENT_MESSAGE)
