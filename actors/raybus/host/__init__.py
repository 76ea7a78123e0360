"""raybus.host: binds an engine to its partition log (replay, commit, checkpoint), Ray-free."""

from raybus.host.queue_host import CheckpointPolicy, QueueHost, RecoveryStats
from raybus.host.transfers import deliver_dead_letters, run_move_step

__all__ = [
    "CheckpointPolicy",
    "QueueHost",
    "RecoveryStats",
    "deliver_dead_letters",
    "run_move_step",
]
