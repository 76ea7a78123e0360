"""Dead-letter rules and the DLQ move-back task (SQS's StartMessageMoveTask), pure.

The control plane checks a redrive policy with :func:`check_redrive` whenever it creates or
updates a queue; a host drives a :class:`MoveTask` with the clock:

    while (n := task.quota(now_ms)) > 0:
        letters = dlq_partition.take_for_transfer(now_ms, n, task.destination)
        ... send each entry to the destination durably, then ...
        dlq_partition.finish_transfer(now_ms, [l.seq for l in letters], dead_lettered=False)
        task.record_moved(now_ms, len(letters), source_empty=not letters)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from raybus.core.errors import RaybusError
from raybus.core.queues import QueueConfig

__all__ = [
    "MAX_MOVE_RATE_PER_S",
    "UNLIMITED_MOVE_BATCH",
    "MoveTask",
    "check_move_rate",
    "check_move_task",
    "check_redrive",
]

MAX_MOVE_RATE_PER_S = 500
UNLIMITED_MOVE_BATCH = 1000
MoveStatus = Literal["RUNNING", "COMPLETED", "CANCELLING", "CANCELLED", "FAILED"]


def check_redrive(source: QueueConfig, target: QueueConfig | None) -> None:
    """Raise unless ``source``'s redrive policy may send to ``target``.

    The target must exist, be of the same type (FIFO sources need FIFO dead-letter queues and
    standard sources standard ones) and allow the source by its redrive-allow policy.
    """
    policy = source.redrive_policy
    if policy is None:
        return
    if target is None:
        raise RaybusError(
            "InvalidRedrivePolicy", f"Dead-letter queue {policy.dead_letter_queue} does not exist."
        )
    if target.fifo != source.fifo:
        kind = "FIFO" if source.fifo else "standard"
        raise RaybusError(
            "InvalidRedrivePolicy", f"The dead-letter queue of a {kind} queue must also be {kind}."
        )
    if not target.redrive_allow_policy.allows(source.name):
        raise RaybusError(
            "RedriveNotAllowed",
            f"Queue {target.name} does not allow {source.name} to use it as its dead-letter queue.",
        )


def check_move_task(
    dead_letter_queue: QueueConfig, destination: QueueConfig, rate_per_s: int | None
) -> None:
    """Raise unless a move task from ``dead_letter_queue`` to ``destination`` is valid."""
    if destination.name == dead_letter_queue.name:
        raise RaybusError(
            "InvalidParameterValue", "A move task's destination must differ from its source."
        )
    if destination.fifo != dead_letter_queue.fifo:
        raise RaybusError(
            "InvalidParameterValue",
            "A move task moves messages only between queues of the same type.",
        )
    check_move_rate(rate_per_s)


def check_move_rate(rate_per_s: object) -> None:
    """Raise unless ``rate_per_s`` is None (unlimited) or 1–``MAX_MOVE_RATE_PER_S``."""
    if rate_per_s is not None and (
        isinstance(rate_per_s, bool)
        or not isinstance(rate_per_s, int)
        or not 1 <= rate_per_s <= MAX_MOVE_RATE_PER_S
    ):
        raise RaybusError(
            "InvalidParameterValue",
            f"max_messages_per_s must be from 1 to {MAX_MOVE_RATE_PER_S}.",
            parameter="max_messages_per_s",
        )


@dataclass(slots=True)
class MoveTask:
    """Progress and rate limit of one move-back task. Time comes from the caller.

    ``to_move`` is the dead-letter queue's depth when the task started (SQS's
    ApproximateNumberOfMessagesToMove); the task completes when it has moved that many or the
    queue has nothing left to move. With ``rate_per_s`` set, after ``t`` seconds at most
    ``rate_per_s * t`` messages have moved (a token bucket without burst beyond one second).
    """

    handle: str
    source: str
    destination: str
    started_ms: int
    to_move: int
    rate_per_s: int | None = None
    moved: int = 0
    status: MoveStatus = "RUNNING"
    failure_reason: str | None = None

    def __post_init__(self) -> None:
        if self.status == "RUNNING" and self.moved >= self.to_move:
            self.status = "COMPLETED"  # nothing to move

    def quota(self, now_ms: int) -> int:
        """How many messages may move now (0 when finished, cancelled or rate-limited)."""
        if self.status != "RUNNING":
            return 0
        remaining = self.to_move - self.moved
        if self.rate_per_s is None:
            return min(remaining, UNLIMITED_MOVE_BATCH)
        allowed = (self.rate_per_s * max(0, now_ms - self.started_ms)) // 1000 + 1 - self.moved
        allowed = min(allowed, self.rate_per_s)
        return max(0, min(remaining, allowed))

    def next_due_ms(self, now_ms: int) -> int | None:
        """When :meth:`quota` will next be positive (None once the task has ended)."""
        if self.status != "RUNNING":
            return None
        if self.quota(now_ms) > 0 or self.rate_per_s is None:
            return now_ms
        need = self.moved  # quota > 0 once rate * elapsed // 1000 + 1 > moved
        return self.started_ms + -(-need * 1000 // self.rate_per_s)

    def record_moved(self, now_ms: int, count: int, *, source_empty: bool) -> None:
        self.moved += count
        if self.status == "CANCELLING":
            self.status = "CANCELLED"
        elif self.status == "RUNNING" and (self.moved >= self.to_move or source_empty):
            self.status = "COMPLETED"

    def cancel(self) -> None:
        if self.status != "RUNNING":
            raise RaybusError(
                "InvalidParameterValue",
                f"Only a running task can be cancelled; this one is {self.status}.",
            )
        self.status = "CANCELLING"

    def settle(self) -> None:
        """A cancel takes effect between batches: call when no batch is in progress."""
        if self.status == "CANCELLING":
            self.status = "CANCELLED"

    def fail(self, reason: str) -> None:
        self.status = "FAILED"
        self.failure_reason = reason

    def describe(self) -> dict[str, object]:
        return {
            "handle": self.handle,
            "source": self.source,
            "destination": self.destination,
            "status": self.status,
            "started_ms": self.started_ms,
            "moved": self.moved,
            "to_move": self.to_move,
            "max_messages_per_s": self.rate_per_s,
            "failure_reason": self.failure_reason,
        }
