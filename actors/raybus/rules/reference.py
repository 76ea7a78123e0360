"""The reference matcher: one pattern, one event, by the definition (the tests' oracle).

Deliberately simple and independent of the compiled machine: flatten the whole event into
``path -> [(value, membership)]`` (membership maps each enclosing array to the element index),
then for each branch try every combination of values, conditions in event-ruler's order (paths
sorted as Java sorts strings), with backtracking. Exponential in the worst case; fine for tests.

Semantics, as event-ruler's array-consistent matching (``rulesForJSONEvent``):
- a value matches a condition when one of its matchers accepts it (``model.matcher_matches``);
- the chosen values of one branch must not lie in different elements of the same array;
- ``exists: false`` holds when the field has no value agreeing with the values chosen for the
  conditions before it in that order.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from raybus.rules.model import Condition

__all__ = ["flatten_event", "reference_matches"]

Membership = dict[int, int]
Flat = dict[str, list[tuple[Any, Membership]]]


def flatten_event(event: Mapping[str, Any]) -> Flat:
    """Every leaf of the event under its dotted path, with the array elements it sits in."""
    out: Flat = {}
    counter = itertools.count()

    def walk(value: Any, path: str | None, membership: Membership) -> None:
        if isinstance(value, Mapping):
            for key, item in value.items():
                walk(item, key if path is None else f"{path}.{key}", membership)
        elif isinstance(value, (list, tuple)):
            array = next(counter)
            for index, item in enumerate(value):
                walk(item, path, {**membership, array: index})
        elif path is not None and (value is None or isinstance(value, (str, int, float, Decimal))):
            out.setdefault(path, []).append((value, membership))

    walk(event, None, {})
    return out


def _java_order(path: str) -> bytes:
    return path.encode("utf-16-be", "surrogatepass")


def _combine(a: Membership, b: Membership) -> Membership | None:
    for array, index in b.items():
        if a.get(array, index) != index:
            return None
    return {**a, **b}


def _branch_holds(steps: Sequence[tuple[str, Condition]], flat: Flat) -> bool:
    def search(i: int, chosen: Membership) -> bool:
        if i == len(steps):
            return True
        path, condition = steps[i]
        values = flat.get(path, [])
        for value, membership in values:
            if condition.accepts(value):
                combined = _combine(chosen, membership)
                if combined is not None and search(i + 1, combined):
                    return True
        if condition.absent and all(_combine(chosen, m) is None for _, m in values):
            return search(i + 1, chosen)
        return False

    return search(0, {})


def reference_matches(
    branches: Sequence[Mapping[str, Condition]], event: Mapping[str, Any]
) -> bool:
    """Whether the event matches a pattern given as its branches (``path -> Condition``)."""
    flat = flatten_event(event)
    for branch in branches:
        steps = sorted(branch.items(), key=lambda item: _java_order(item[0]))
        if _branch_holds(steps, flat):
            return True
    return False
