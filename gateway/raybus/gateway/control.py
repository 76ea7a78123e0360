"""The controller as the gateway calls it: typed.

Resource calls are typed values (:class:`~raybus.control.plane.ControlCall`) run by the
controller's one entry point; the rest are the controller's own operations (health, the clock,
host stats for /metrics). ``handle`` is the controller's Ray actor handle (``.remote`` calls);
tests pass any object with the same methods.
"""

from __future__ import annotations

from typing import Any, TypeVar

from raybus.control.plane import ControlCall

__all__ = ["Control"]

R = TypeVar("R")


class Control:
    def __init__(self, handle: Any) -> None:
        self.handle = handle

    async def run(self, call: ControlCall[R]) -> R:
        result: R = await self.handle.run.remote(call)
        return result

    async def health(self) -> dict[str, Any]:
        health: dict[str, Any] = await self.handle.health.remote()
        return health

    async def clock(self) -> dict[str, Any]:
        clock: dict[str, Any] = await self.handle.clock.remote()
        return clock

    async def advance_clock(self, seconds: Any) -> int:
        now: int = await self.handle.advance_clock.remote(seconds)
        return now

    async def resource_stats(self) -> list[dict[str, Any]]:
        stats: list[dict[str, Any]] = await self.handle.resource_stats.remote()
        return stats
