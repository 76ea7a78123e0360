"""raybus.core: the vocabulary every part shares (stdlib + msgpack only).

Error catalog, clock, names, attributes and their SQS digests, stable hashing, receipt tokens,
the resource kinds (:mod:`raybus.core.kinds`, listed in :mod:`raybus.core.registry`) with their
typed settings, and the routing table. Nothing here imports Ray or does I/O.
"""

from raybus.core.attributes import (
    MAX_ATTRIBUTES,
    Attribute,
    Attributes,
    attributes_size,
    md5_of_attributes,
    md5_of_body,
    validate_attributes,
    validate_sqs_text,
)
from raybus.core.clock import Clock, ManualClock, SystemClock
from raybus.core.errors import CATALOG, ErrorSpec, RaybusError, error_from_wire
from raybus.core.hashing import HASH_SPACE, hash_key, partition_for
from raybus.core.kinds import Kind
from raybus.core.names import FIFO_SUFFIX, validate_queue_name
from raybus.core.queues import (
    HARD_MAX_MESSAGE_BYTES,
    QueueConfig,
    RedriveAllowPolicy,
    RedrivePolicy,
)
from raybus.core.registry import KINDS, kind
from raybus.core.routing import PartitionRoute, Route, RoutingTable, partition_tag
from raybus.core.tokens import Receipt, decode_receipt, encode_receipt

__all__ = [
    "CATALOG",
    "FIFO_SUFFIX",
    "HARD_MAX_MESSAGE_BYTES",
    "HASH_SPACE",
    "KINDS",
    "MAX_ATTRIBUTES",
    "Attribute",
    "Attributes",
    "Clock",
    "ErrorSpec",
    "Kind",
    "ManualClock",
    "PartitionRoute",
    "QueueConfig",
    "RaybusError",
    "Receipt",
    "RedriveAllowPolicy",
    "RedrivePolicy",
    "Route",
    "RoutingTable",
    "SystemClock",
    "attributes_size",
    "decode_receipt",
    "encode_receipt",
    "error_from_wire",
    "hash_key",
    "kind",
    "md5_of_attributes",
    "md5_of_body",
    "partition_for",
    "partition_tag",
    "validate_attributes",
    "validate_queue_name",
    "validate_sqs_text",
]
