"""Integer ranges declared on settings fields, checked in one place and read by documentation.

A settings dataclass declares a field's inclusive range once, ``timeout_s: int =
bounded(1, 900, default=3)``; its ``__post_init__`` calls :func:`check_bounds` with the module's own
error builder (so each kind keeps the error code and wording AWS uses for it), and the gateway's
OpenAPI document reads the same range from the field's metadata as ``minimum``/``maximum``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import MISSING, field, fields
from typing import Any

__all__ = ["bounded", "check_bounds", "field_bounds"]


def bounded(low: int, high: int, *, default: Any = MISSING) -> Any:
    """A dataclass field holding an integer from ``low`` to ``high`` (required without a
    ``default``; ``None`` allowed when it is the default)."""
    return field(default=default, metadata={"minimum": low, "maximum": high})


def field_bounds(metadata: Any) -> tuple[int, int] | None:
    if "minimum" in metadata and "maximum" in metadata:
        return int(metadata["minimum"]), int(metadata["maximum"])
    return None


def check_bounds(instance: Any, check: Callable[[str, object, int, int], object]) -> None:
    """Call ``check(name, value, low, high)`` for every bounded field of ``instance`` (a
    ``None`` value of a field whose default is ``None`` is left alone)."""
    for spec in fields(instance):
        bounds = field_bounds(spec.metadata)
        if bounds is None:
            continue
        value = getattr(instance, spec.name)
        if value is None and spec.default is None:
            continue
        check(spec.name, value, *bounds)
