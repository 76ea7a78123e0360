"""The control calls about the partition hosts themselves (see :mod:`raybus.control.plane`).

:class:`Rebalance` evens out the partitions per host, online: a host added to a cluster
(``raybus up --partition-hosts N`` on the same data directory with a larger ``N``) takes the
partitions of resources created from then on — placement picks the least-loaded hosts — and
rebalancing moves existing partitions onto it, one at a time, each fenced by a new epoch
(:meth:`~raybus.control.plane.ControlPlane.move_partitions`, :data:`MOVE_BATCH` moves per
catalog change). It first finishes any move a crash
interrupted (:meth:`~raybus.control.plane.ControlPlane.reconcile_hosts`), so running it again
is always safe.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from raybus.control.plane import ControlCall, ControlPlane
from raybus.core.errors import RaybusError

__all__ = ["MOVE_BATCH", "Rebalance"]

MOVE_BATCH = 64  # moves per catalog change (each change saves the whole catalog)


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
        if self.dry_run:
            done = [asdict(move) for move in moves]
            moves = []
        for start in range(0, len(moves), MOVE_BATCH):
            batch = moves[start : start + MOVE_BATCH]
            for move, outcome in zip(batch, await plane.move_partitions(batch), strict=True):
                if isinstance(outcome, RaybusError):
                    failed.append(
                        {**asdict(move), "code": outcome.code, "message": outcome.message}
                    )
                elif isinstance(outcome, BaseException):  # a host that failed to open it
                    failed.append(
                        {**asdict(move), "code": "InternalError", "message": repr(outcome)}
                    )
                else:
                    done.append({**asdict(move), "epoch": outcome})
        return {
            "moves": done,
            "failed": failed,
            "repaired": repaired,
            "hosts": plane.catalog.load(),
            "dry_run": self.dry_run,
        }
