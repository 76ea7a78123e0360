"""The control calls about the partition hosts themselves (see :mod:`raybus.control.plane`).

:class:`Rebalance` evens out the partitions per host, online: a host added to a cluster
(``raybus up --partition-hosts N`` on the same data directory with a larger ``N``) takes the
partitions of resources created from then on — placement picks the least-loaded hosts — and
rebalancing moves existing partitions onto it, one at a time, each fenced by a new epoch
(:meth:`~raybus.control.plane.ControlPlane.move_partition`). It first finishes any move a crash
interrupted (:meth:`~raybus.control.plane.ControlPlane.reconcile_hosts`), so running it again
is always safe.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from raybus.control.plane import ControlCall, ControlPlane
from raybus.core.errors import RaybusError

__all__ = ["Rebalance"]


@dataclass(frozen=True, slots=True)
class Rebalance(ControlCall[dict[str, Any]]):
    """``{"moves": [{kind, key, partition, source, target, epoch}], "failed": [{..., code,
    message}], "repaired": n, "hosts": {host: partitions}}``; with ``dry_run`` the moves it
    would make (no epoch) and nothing changes."""

    dry_run: bool = False

    async def run(self, plane: ControlPlane) -> dict[str, Any]:
        repaired = 0 if self.dry_run else await plane.reconcile_hosts()
        moves = plane.catalog.balance_moves()
        done: list[dict[str, Any]] = []
        failed: list[dict[str, Any]] = []
        for move in moves:
            if self.dry_run:
                done.append(asdict(move))
                continue
            try:
                epoch = await plane.move_partition(move)
            except RaybusError as error:
                failed.append({**asdict(move), "code": error.code, "message": error.message})
            except Exception as error:  # a host that failed to open it: say so, go on
                failed.append({**asdict(move), "code": "InternalError", "message": repr(error)})
            else:
                done.append({**asdict(move), "epoch": epoch})
        return {
            "moves": done,
            "failed": failed,
            "repaired": repaired,
            "hosts": plane.catalog.load(),
            "dry_run": self.dry_run,
        }
