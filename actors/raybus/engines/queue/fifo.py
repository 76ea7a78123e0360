"""FIFO queue partition: strict order per message group, exactly-once sends in a 5-minute window.

Rules (SQS's):
- Every message names a group (≤ 128 characters). Within a group messages are delivered in send
  order; while any message of a group is in flight (or being dead-lettered) no later message of
  that group is served, but other groups are.
- A receive takes as many messages of the first ready group as it can, in order, then moves on
  to the next ready group (oldest head first) until it has ``max_messages``.
- A send whose deduplication id (explicit, or SHA-256 of the body with content-based
  deduplication) was seen in the last 5 minutes is accepted but not enqueued again; it returns
  the original message id and sequence number. The window counts from the first send and
  survives receive and delete. Scope ``queue`` keys it by id; scope ``messageGroup`` by group
  and id.
- Sequence numbers increase strictly within the partition (so within each group).

Structures: per group, a list of its seqs in order with a moving start index (dead entries are
skipped lazily) and a count of held (in-flight or moving) messages; a min-heap of
``(head seq, group)`` for groups that may be served (validated on pop). Empty groups are dropped,
so memory follows the live groups, not every group ever seen.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from typing import Any

from raybus.core.queues import QueueConfig
from raybus.engines.dedup import DedupWindow
from raybus.engines.log import SLACK_ENTRIES, EngineLog
from raybus.engines.queue.engine import QueuePartition
from raybus.engines.queue.messages import SendResult, ValidMessage

__all__ = ["FifoQueuePartition"]

_COMPACT_START = 64


@dataclass(slots=True)
class _Group:
    name: str
    seqs: list[int] = field(default_factory=list)
    start: int = 0
    live: int = 0
    held: int = 0


class FifoQueuePartition(QueuePartition):
    fifo = True

    def __init__(
        self, config: QueueConfig, log: EngineLog, *, tag: int, partition: int = 0, epoch: int = 0
    ) -> None:
        super().__init__(config, log, tag=tag, partition=partition, epoch=epoch)
        self._groups: dict[int, _Group] = {}
        self._group_numbers: dict[str, int] = {}
        self._next_group = 1
        self._ready: list[tuple[int, int]] = []
        self._dedup = DedupWindow()

    def advance(self, now_ms: int) -> None:
        """Also forget dedup ids older than the window, so memory follows recent sends."""
        super().advance(now_ms)
        self._dedup.prune(now_ms)

    # -- groups ----------------------------------------------------------------------------------
    def _group_number(self, group_id: str | None) -> int:
        assert group_id is not None
        number = self._group_numbers.get(group_id)
        if number is None:
            number = self._next_group
            self._next_group += 1
            self._group_numbers[group_id] = number
            self._groups[number] = _Group(group_id)
        return number

    def _head(self, group: _Group) -> int | None:
        seqs, i, msgs = group.seqs, group.start, self._msgs
        while i < len(seqs) and seqs[i] not in msgs:
            i += 1
        if i > _COMPACT_START and i * 2 > len(seqs):
            del seqs[:i]
            i = 0
        group.start = i
        return seqs[i] if i < len(seqs) else None

    def _offer(self, number: int, group: _Group) -> None:
        """Queue the group for serving if it is unblocked and its head is visible."""
        if group.held == 0:
            head = self._head(group)
            if head is not None and self._visible(head):
                heapq.heappush(self._ready, (head, number))

    def _ready_group(self) -> tuple[int, _Group] | None:
        """The servable group with the oldest head, removed from the heap (or None)."""
        ready = self._ready
        while ready:
            head, number = heapq.heappop(ready)
            group = self._groups.get(number)
            if (
                group is not None
                and group.held == 0
                and self._head(group) == head
                and self._visible(head)
            ):
                return number, group
        return None

    def _on_admitted(self, seq: int, group: int) -> None:
        entry = self._groups[group]
        entry.seqs.append(seq)
        entry.live += 1

    def _on_visible(self, seq: int) -> None:
        number = self.group_of(self._msgs[seq])
        self._offer(number, self._groups[number])

    def _on_released(self, seq: int, packed: int) -> None:
        number = self.group_of(packed)
        group = self._groups[number]
        group.held -= 1
        self._offer(number, group)

    def _on_removed(self, seq: int, packed: int) -> None:
        number = self.group_of(packed)
        group = self._groups[number]
        group.live -= 1
        if group.live == 0:
            del self._groups[number]
            del self._group_numbers[group.name]
        elif not self._recovering:
            self._offer(number, group)  # the head may have gone (expiry, purge): serve the next

    def has_visible(self, now_ms: int) -> bool:
        """True if a receive now would return a message: some group is unblocked and ready."""
        self.advance(now_ms)
        found = self._ready_group()
        if found is None:
            return False
        number, group = found
        head = self._head(group)
        assert head is not None
        heapq.heappush(self._ready, (head, number))
        return True

    def _select(self, limit: int, dead_letter: bool) -> tuple[list[int], list[int]]:
        deliver: list[int] = []
        dead: list[int] = []
        msgs = self._msgs
        while len(deliver) < limit and len(dead) < limit:
            found = self._ready_group()
            if found is None:
                break
            _, group = found
            seqs = group.seqs
            for i in range(group.start, len(seqs)):
                seq = seqs[i]
                if seq not in msgs:
                    continue
                if len(deliver) >= limit or not self._visible(seq):
                    break
                group.held += 1
                if dead_letter and self._exhausted(seq):
                    dead.append(seq)  # the group stays blocked until the move completes
                    break
                deliver.append(seq)
        return deliver, dead

    def _compact_visible(self) -> None:
        if len(self._ready) > 2 * len(self._groups) + SLACK_ENTRIES:
            self._ready = []
            for number, group in self._groups.items():
                self._offer(number, group)

    def _rebuild_visible(self) -> None:
        self._ready = []
        held = self._inflight.keys() | self._moving
        for number, group in self._groups.items():
            group.seqs = [seq for seq in group.seqs if seq in self._msgs]
            group.start = 0
            group.held = sum(1 for seq in group.seqs if seq in held)
            self._offer(number, group)

    # -- deduplication ---------------------------------------------------------------------------
    def _dedup_key(self, group_id: str | None, dedup_id: str | None) -> str:
        assert dedup_id is not None
        if self.config.dedup_scope == "messageGroup":
            return f"{group_id}\x00{dedup_id}"
        return dedup_id

    def _check_duplicate(self, now_ms: int, valid: ValidMessage) -> SendResult | None:
        seen = self._dedup.get(now_ms, self._dedup_key(valid.group_id, valid.dedup_id))
        if seen is None:
            return None
        seq, message_id = seen
        return SendResult(
            message_id or self._message_id(seq),
            valid.md5_of_body,
            valid.md5_of_attributes,
            self._sequence_number(seq),
            duplicate=True,
        )

    def _remember(
        self,
        now_ms: int,
        group_id: str | None,
        dedup_id: str | None,
        seq: int,
        transfer_id: str | None,
    ) -> None:
        self._dedup.put(now_ms, self._dedup_key(group_id, dedup_id), seq, transfer_id)

    def _sequence_number(self, seq: int) -> str:
        return f"{seq:020d}"

    # -- snapshot --------------------------------------------------------------------------------
    def _extra_state(self) -> dict[str, Any]:
        return {
            "groups": [[number, group.name] for number, group in self._groups.items()],
            "next_group": self._next_group,
            "dedup": self._dedup.dump(),
        }

    def _restore_extra(self, state: dict[str, Any]) -> None:
        self._groups = {number: _Group(name) for number, name in state["groups"]}
        self._group_numbers = {group.name: number for number, group in self._groups.items()}
        self._next_group = state["next_group"]
        for seq, packed in self._msgs.items():
            self._on_admitted(seq, self.group_of(packed))
        self._dedup.load(state["dedup"])
