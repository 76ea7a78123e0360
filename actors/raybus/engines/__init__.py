"""raybus.engines: pure, clock-driven state machines, one sub-package per resource kind.

- :mod:`raybus.engines.queue` — standard and FIFO queue partitions;
  :mod:`raybus.engines.topic` — topic partitions.
- Shared by every kind: :mod:`~raybus.engines.ops` (typed operations and the engine turn),
  :mod:`~raybus.engines.log` (what an engine needs of its log), :mod:`~raybus.engines.records`
  (record encoding), :mod:`~raybus.engines.ids` (message ids, FIFO ids),
  :mod:`~raybus.engines.dedup` (the 5-minute deduplication window).
"""

from raybus.engines.dedup import DEDUP_WINDOW_MS, DedupWindow
from raybus.engines.ids import check_fifo_id, message_id_for
from raybus.engines.log import EngineLog
from raybus.engines.ops import Op, Turn
from raybus.engines.queue import (
    MAX_DELAY_S,
    MAX_VISIBILITY_TIMEOUT_S,
    DeadLetter,
    FifoQueuePartition,
    MoveTask,
    PartitionCounters,
    QueuePartition,
    QueueState,
    ReceivedMessage,
    ReceiveResult,
    RecordType,
    SendEntry,
    SendResult,
    StandardQueuePartition,
    check_move_rate,
    check_move_task,
    check_redrive,
    new_partition,
)
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
    "Op",
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
    "Turn",
    "check_fifo_id",
    "check_move_rate",
    "check_move_task",
    "check_redrive",
    "message_id_for",
    "new_partition",
]
