"""raybus.partitions: one partition of any kind, Ray-free (asyncio only).

- :class:`Durable` — an engine bound to its log: recovery, one turn of typed operations,
  checkpoints (synchronous).
- :class:`PartitionShell` — the async shell a host runs per partition: group commit, wake-ups,
  waiting operations, background work, close; a kind plugs in its :class:`Behaviour`.
- :func:`transfer` — the one durable transfer protocol (target commits, then the source
  settles); :class:`Dispatcher` — what a partition may ask of other resources.
- One module per partitioned kind (:mod:`raybus.partitions.queue`,
  :mod:`raybus.partitions.topic`), listed in :mod:`raybus.partitions.registry`.
"""

from raybus.partitions.durable import (
    CheckpointPolicy,
    Durable,
    RecoverableEngine,
    RecoveryStats,
    checkpoint_engine,
    recover_engine,
)
from raybus.partitions.queue import QUEUES, LongPoll, WaitVisible, open_queue
from raybus.partitions.registry import PARTITION_KINDS, partition_kind
from raybus.partitions.shell import Behaviour, Environment, PartitionKind, PartitionShell, Wait
from raybus.partitions.topic import TOPICS
from raybus.partitions.transfer import Dispatcher, transfer

__all__ = [
    "PARTITION_KINDS",
    "QUEUES",
    "TOPICS",
    "Behaviour",
    "CheckpointPolicy",
    "Dispatcher",
    "Durable",
    "Environment",
    "LongPoll",
    "PartitionKind",
    "PartitionShell",
    "RecoverableEngine",
    "RecoveryStats",
    "Wait",
    "WaitVisible",
    "checkpoint_engine",
    "open_queue",
    "partition_kind",
    "recover_engine",
    "transfer",
]
