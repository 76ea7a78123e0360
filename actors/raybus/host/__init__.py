"""raybus.host: binds an engine to its partition log (replay, commit, checkpoint), Ray-free."""

from raybus.host.queue_host import CheckpointPolicy, QueueHost, RecoveryStats

__all__ = ["CheckpointPolicy", "QueueHost", "RecoveryStats"]
