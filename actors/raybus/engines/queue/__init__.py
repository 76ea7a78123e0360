"""The queue kind's engine: standard and FIFO partitions (SQS's semantics), their typed
operations, records and dead-letter rules.

- :mod:`~raybus.engines.queue.engine` — :class:`QueuePartition`'s requests (send, receive,
  delete, visibility, purge, transfers); :mod:`~raybus.engines.queue.state` — its state, time
  rules and recovery; :mod:`~raybus.engines.queue.standard` and
  :mod:`~raybus.engines.queue.fifo` — the two types.
- :mod:`~raybus.engines.queue.messages` — the value types and SQS's per-message validation;
  :mod:`~raybus.engines.queue.records` — the log records; :mod:`~raybus.engines.queue.redrive`
  — redrive and move-task rules; :mod:`~raybus.engines.queue.ops` — the typed operations.
"""

from raybus.core.queues import QueueConfig
from raybus.engines.log import EngineLog
from raybus.engines.queue.engine import QueuePartition, ReceiveResult
from raybus.engines.queue.fifo import FifoQueuePartition
from raybus.engines.queue.messages import (
    MAX_DELAY_S,
    MAX_VISIBILITY_TIMEOUT_S,
    DeadLetter,
    ReceivedMessage,
    SendEntry,
    SendResult,
)
from raybus.engines.queue.records import RecordType
from raybus.engines.queue.redrive import MoveTask, check_move_rate, check_move_task, check_redrive
from raybus.engines.queue.standard import StandardQueuePartition
from raybus.engines.queue.state import PartitionCounters, QueueState

__all__ = [
    "MAX_DELAY_S",
    "MAX_VISIBILITY_TIMEOUT_S",
    "DeadLetter",
    "FifoQueuePartition",
    "MoveTask",
    "PartitionCounters",
    "QueuePartition",
    "QueueState",
    "ReceiveResult",
    "ReceivedMessage",
    "RecordType",
    "SendEntry",
    "SendResult",
    "StandardQueuePartition",
    "check_move_rate",
    "check_move_task",
    "check_redrive",
    "new_partition",
]


def new_partition(
    config: QueueConfig, log: EngineLog, *, tag: int, partition: int = 0, epoch: int = 0
) -> QueuePartition:
    """The engine for ``config``'s queue type."""
    cls = FifoQueuePartition if config.fifo else StandardQueuePartition
    return cls(config, log, tag=tag, partition=partition, epoch=epoch)
