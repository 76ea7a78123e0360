"""Values the SDK hands back.

Results the SDK builds are frozen dataclasses (:class:`SendResult`, :class:`ProcessStats`);
a received message is a dataclass with slots, not frozen (see :class:`BaseMessage`). Records
the server owns and may grow (queue statistics, move tasks, health) are plain ``dict`` s, typed
as :class:`~typing.TypedDict` for editors; new keys from a newer gateway pass through untouched.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Generic, Literal, TypedDict, TypeVar

from raybus.core.attributes import Attribute

__all__ = [
    "Attribute",
    "BaseMessage",
    "Health",
    "HostsRebalanced",
    "MappingStats",
    "MoveTask",
    "ProcessStats",
    "PublishResult",
    "QueueStats",
    "SendResult",
    "SubscriptionStats",
    "TopicStats",
]

Q = TypeVar("Q")


@dataclass(frozen=True, slots=True)
class SendResult:
    """The acknowledgement of one committed message. ``sequence_number`` is set on FIFO queues
    only; a FIFO send repeating a dedup id within 5 minutes returns the original message's id."""

    message_id: str
    md5_of_body: str
    md5_of_attributes: str
    sequence_number: str | None = None


@dataclass(frozen=True, slots=True)
class ProcessStats:
    """What :meth:`Queue.process` did: ``handled`` messages were deleted after their handler
    returned; ``failed`` ones were left in flight to reappear after their visibility timeout."""

    handled: int = 0
    failed: int = 0


@dataclass(slots=True, eq=False)
class BaseMessage(Generic[Q]):
    """One delivery of a message (equality is identity: each receive is a new delivery).

    Not frozen, unlike the SDK's other results: a receive builds up to 1,000 of them, and a
    frozen dataclass's ``__init__`` (``object.__setattr__`` per field) cost 2.5 µs per message
    here against 0.3 for plain slots — most of what the SDK spent per received message.
    Treat the fields as read-only; the server never sees a change to them.

    ``attributes`` maps names to values (``str`` for String and Number types, ``bytes`` for
    Binary); ``attribute_types`` maps names to data types (``"Number.float"``);
    ``typed_attributes`` keeps both as :class:`Attribute` pairs, which ``send`` accepts as is,
    so ``queue.send(m.body, attributes=m.typed_attributes)`` re-sends a message exactly.
    ``group_id``, ``dedup_id`` and ``sequence_number`` are ``None`` on standard queues.
    """

    queue_name: str
    message_id: str
    receipt: str
    body: bytes
    typed_attributes: Mapping[str, Attribute]
    md5_of_body: str
    md5_of_attributes: str
    sent_ms: int
    receive_count: int
    first_receive_ms: int | None
    group_id: str | None
    dedup_id: str | None
    sequence_number: str | None
    _queue: Q = field(repr=False)

    @property
    def text(self) -> str:
        """The body decoded as UTF-8 (raises ``UnicodeDecodeError`` for a binary body)."""
        return self.body.decode("utf-8")

    @property
    def attributes(self) -> dict[str, str | bytes]:
        return {name: attribute.value for name, attribute in self.typed_attributes.items()}

    @property
    def attribute_types(self) -> dict[str, str]:
        return {name: attribute.data_type for name, attribute in self.typed_attributes.items()}


class _Counts(TypedDict):
    visible: int
    in_flight: int
    delayed: int


class QueueStats(_Counts, total=False):
    """SQS's approximate counts; ``in_flight`` includes messages being dead-lettered."""

    oldest_age_ms: int
    partitions: int


MoveTaskStatus = Literal["RUNNING", "COMPLETED", "CANCELLING", "CANCELLED", "FAILED"]


class MoveTask(TypedDict):
    """A dead-letter redrive task, as the gateway reports it."""

    handle: str
    source: str
    destination: str | None
    status: MoveTaskStatus
    started_ms: int
    moved: int
    to_move: int
    max_messages_per_s: int | None
    failure_reason: str | None


class _Status(TypedDict):
    status: str


class HostHealth(TypedDict, total=False):
    """One partition host in ``/healthz``."""

    name: str
    up: bool
    incarnation: int
    partitions: int
    pid: int
    node_id: str


class PartitionMoved(TypedDict, total=False):
    """One partition of a rebalance: moved to ``target`` at ``epoch`` (none in a dry run), or
    failed with ``code`` and ``message``."""

    kind: str
    key: str
    partition: int
    source: str
    target: str
    epoch: int
    code: str
    message: str


class HostsRebalanced(TypedDict):
    """``POST /v1/hosts/rebalance``: the moves made (or, in a dry run, to be made), those that
    failed, partitions reopened where a crash had left a move half done, and the partitions per
    host afterwards."""

    moves: list[PartitionMoved]
    failed: list[PartitionMoved]
    repaired: int
    hosts: dict[str, int]
    dry_run: bool


class Health(_Status, total=False):
    """``/healthz``: ``status`` is ``"ok"`` or ``"degraded"`` (a partition host is down)."""

    partitions: int
    hosts: list[HostHealth]
    routing_version: int
    test_clock: bool
    controller_node_id: str


@dataclass(frozen=True, slots=True)
class PublishResult:
    """The acknowledgement of one published message, durable in the topic's log.
    ``sequence_number`` is set on FIFO topics only; ``duplicate`` is true when a FIFO publish
    repeated a deduplication id within 5 minutes (the original message's id is returned and
    nothing is delivered again)."""

    message_id: str
    sequence_number: str | None = None
    duplicate: bool = False


class SubscriptionStats(TypedDict, total=False):
    """One subscription's delivery counts (since its topic's partition opened)."""

    backlog: int
    retrying: int
    delivered: int
    failed: int
    retried: int
    dead_lettered: int
    discarded: int
    filtered: int


class TopicStats(TypedDict, total=False):
    """``published`` messages, ``retained`` (not yet settled by every subscription) and the
    counts of each subscription by id."""

    published: int
    retained: int
    subscriptions: dict[str, SubscriptionStats]


class MappingStats(TypedDict, total=False):
    """An event-source mapping's counts, as the gateway reports them (``backlog`` and more)."""

    backlog: int
