"""Pattern errors belong to the one error catalog shared by gateway and SDK."""

from __future__ import annotations

import pickle

import pytest

from raybus.core import CATALOG, RaybusError, error_from_wire
from raybus.rules import PatternError, compile_filter_policy, compile_pattern


@pytest.mark.parametrize(
    ("build", "code"),
    [
        (lambda: compile_pattern('{"source": "not-a-list"}'), "InvalidEventPatternException"),
        (lambda: compile_filter_policy({"a": [{"bogus": 1}]}), "InvalidParameter"),
    ],
)
def test_pattern_errors_are_catalogued_raybus_errors(build: object, code: str) -> None:
    with pytest.raises(PatternError) as info:
        build()  # type: ignore[operator]
    error = info.value
    assert isinstance(error, RaybusError) and isinstance(error, ValueError)
    assert error.code == code and code in CATALOG
    assert (error.http_status, error.retriable) == (400, False)
    assert error_from_wire(error.to_wire()).code == code
    again = pickle.loads(pickle.dumps(error))
    assert (type(again), again.code, again.message, again.reason) == (
        PatternError,
        error.code,
        error.message,
        error.reason,
    )
