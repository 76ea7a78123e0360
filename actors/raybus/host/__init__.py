"""raybus.host: binds an engine to its partition log (replay, commit, checkpoint), Ray-free."""

from raybus.host.queue_host import (
    CheckpointPolicy,
    QueueHost,
    RecoverableEngine,
    RecoveryStats,
    checkpoint_engine,
    recover_engine,
)
from raybus.host.transfers import deliver_dead_letters, run_move_step

__all__ = [
    "CheckpointPolicy",
    "QueueHost",
    "RecoverableEngine",
    "RecoveryStats",
    "checkpoint_engine",
    "deliver_dead_letters",
    "recover_engine",
    "run_move_step",
]
