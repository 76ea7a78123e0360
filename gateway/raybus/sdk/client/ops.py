"""The client's own operations, about the cluster rather than a resource: its clock, its
partition hosts and its health. Pure :class:`~raybus.sdk._wire.Op` s; nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from raybus.core.clock import ADVANCE_ANSWER_S
from raybus.sdk._wire import Call, Op, path
from raybus.sdk.errors import InternalError
from raybus.sdk.models import Health, HostsRebalanced

__all__ = ["advance_clock", "clock", "health", "rebalance_hosts"]

REBALANCE_ANSWER_S = 600.0


def _now_ms(answer: Mapping[str, Any]) -> int:
    value = answer.get("now_ms")
    if isinstance(value, bool) or not isinstance(value, int):
        raise InternalError("The gateway's clock answer lacks now_ms.")
    return value


def clock() -> Op[int]:
    return Op(Call("GET", path("clock")), _now_ms)


def advance_clock(seconds: float) -> Op[int]:
    """The answer comes once every timer due in the interval has run (within the controller's
    bounds of real time): the read timeout covers them, so a slow advance is never timed out
    and sent again (which would move the clock twice)."""
    call = Call(
        "POST", path("clock", "advance"), {"seconds": seconds}, extra_timeout_s=ADVANCE_ANSWER_S
    )
    return Op(call, _now_ms)


def rebalance_hosts(dry_run: bool) -> Op[HostsRebalanced]:
    """Moving partitions opens their logs on the new hosts (recovery reads them): the read
    timeout allows for it. Sending it again is safe: it plans from the catalog as it is."""
    call = Call(
        "POST", path("hosts", "rebalance"), {"dry_run": dry_run}, extra_timeout_s=REBALANCE_ANSWER_S
    )
    return Op(call, lambda a: cast(HostsRebalanced, a))


def health() -> Op[Health]:
    return Op(Call("GET", "/healthz", ok_statuses=(503,)), lambda a: cast(Health, a))
