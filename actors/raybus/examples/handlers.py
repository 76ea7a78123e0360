"""The smallest handler: ``raybus.examples.handlers:echo`` answers its event."""

from __future__ import annotations

from typing import Any

__all__ = ["echo"]


def echo(event: Any, context: Any) -> Any:
    """Return ``event`` unchanged (a JSON value in, the same JSON value out)."""
    return event
