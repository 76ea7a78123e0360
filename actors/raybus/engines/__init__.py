"""raybus.engines: pure, clock-driven state machines for each resource kind.

Queue engines: :class:`StandardQueuePartition` and :class:`FifoQueuePartition` share
:class:`QueuePartition`'s contract: its requests in :mod:`raybus.engines.partition`, its
state, time rules and recovery in :mod:`raybus.engines.queue_state`.

Topic engine: :class:`TopicPartition` (requests in :mod:`raybus.engines.topic`, state and
recovery in :mod:`raybus.engines.topic_state`, records in :mod:`raybus.engines.topic_records`).
"""

from raybus.core.config import QueueConfig
from raybus.engines.fifo import DEDUP_WINDOW_MS, DedupWindow, FifoQueuePartition
from raybus.engines.messages import (
    MAX_DELAY_S,
    MAX_VISIBILITY_TIMEOUT_S,
    DeadLetter,
    ReceivedMessage,
    SendEntry,
    SendResult,
    message_id_for,
)
from raybus.engines.partition import QueuePartition, ReceiveResult
from raybus.engines.queue_state import EngineLog, PartitionCounters, QueueState
from raybus.engines.records import RecordType
from raybus.engines.redrive import MoveTask, check_move_rate, check_move_task, check_redrive
from raybus.engines.standard import StandardQueuePartition
from raybus.engines.topic import (
    Delivery,
    Exhausted,
    Message,
    Subscriber,
    SubscriptionCounters,
    TopicCounters,
    TopicPartition,
    TopicRecordType,
)

__all__ = [
    "DEDUP_WINDOW_MS",
    "MAX_DELAY_S",
    "MAX_VISIBILITY_TIMEOUT_S",
    "DeadLetter",
    "DedupWindow",
    "Delivery",
    "EngineLog",
    "Exhausted",
    "FifoQueuePartition",
    "Message",
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
    "Subscriber",
    "SubscriptionCounters",
    "TopicCounters",
    "TopicPartition",
    "TopicRecordType",
    "check_move_rate",
    "check_move_task",
    "check_redrive",
    "message_id_for",
    "new_partition",
]


def new_partition(
    config: QueueConfig, log: EngineLog, *, tag: int, partition: int = 0, epoch: int = 0
) -> QueuePartition:
    """The engine for ``config``'s queue type."""
    cls = FifoQueuePartition if config.fifo else StandardQueuePartition
    return cls(config, log, tag=tag, partition=partition, epoch=epoch)
