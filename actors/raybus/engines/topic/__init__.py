"""The topic kind's engine: SNS-style fan-out with durable per-subscription cursors.

:mod:`~raybus.engines.topic.engine` — :class:`TopicPartition`'s requests (publish, take,
settle); :mod:`~raybus.engines.topic.state` — its state, retention and recovery;
:mod:`~raybus.engines.topic.records` — records and value types; :mod:`~raybus.engines.topic.ops`
— the typed operations.
"""

from raybus.engines.topic.engine import TopicPartition
from raybus.engines.topic.records import (
    Delivery,
    Exhausted,
    Message,
    Subscriber,
    SubscriptionCounters,
    TopicCounters,
    TopicRecordType,
)

__all__ = [
    "Delivery",
    "Exhausted",
    "Message",
    "Subscriber",
    "SubscriptionCounters",
    "TopicCounters",
    "TopicPartition",
    "TopicRecordType",
]
