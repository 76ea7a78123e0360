"""The state of a queue partition, its time rules, and its recovery.

Contract
--------
- **Recoverable.** State is a function of the records appended: ``replay(offset, payload)`` for
  each record in order, then ``finish_recovery()``, rebuilds it; ``snapshot()`` /
  ``restore(state)`` shortcut the replay. In-flight messages stay in flight until their deadline.
- **Memory.** Bodies live in the log; per queued message the engine keeps one packed integer
  (log offset, sent time, group number) in a seq-ordered dict and the seq in an arrival deque
  (about 120 bytes). Received, in-flight and delayed messages carry small extra entries.

State of a live message (disjoint): *visible*, *delayed* (``_delayed``), *in flight*
(``_inflight``), *moving* (``_moving``: handed to a dead-letter or move-task transfer, awaiting
``finish_transfer`` / ``abort_transfer``). Subclasses decide which visible message is served
next (:meth:`_on_visible`, :meth:`_select`). The requests live in
:mod:`raybus.engines.queue.engine`.
"""

from __future__ import annotations

import heapq
from collections import deque
from dataclasses import dataclass
from typing import Any

from raybus.core.errors import RaybusError
from raybus.core.queues import QueueConfig
from raybus.engines.ids import MessageIds
from raybus.engines.log import SLACK_ENTRIES, EngineLog
from raybus.engines.queue.messages import SendResult, ValidMessage
from raybus.engines.queue.records import RecordType
from raybus.engines.records import decode, encode

__all__ = ["PartitionCounters", "QueueState"]

_OFFSET_BITS = 48
_OFFSET_MASK = (1 << _OFFSET_BITS) - 1
_SENT_BITS = 44
_SENT_MASK = (1 << _SENT_BITS) - 1
_GROUP_SHIFT = _OFFSET_BITS + _SENT_BITS
_SNAPSHOT_VERSION = 1


@dataclass(slots=True)
class PartitionCounters:
    """Monotonic counters since the partition was opened (for metrics, not state)."""

    sent: int = 0
    sent_bytes: int = 0
    deduplicated: int = 0
    received: int = 0
    deleted: int = 0
    dead_lettered: int = 0
    moved_out: int = 0
    expired: int = 0
    purged: int = 0


def _pack(offset: int, sent_ms: int, group: int) -> int:
    """One live message's index entry: log offset, enqueue time and group number in one int."""
    return offset | (sent_ms << _OFFSET_BITS) | (group << _GROUP_SHIFT)


def _sent_of(packed: int) -> int:
    return (packed >> _OFFSET_BITS) & _SENT_MASK


class QueueState:
    """The state of one queue partition and everything that maintains it without a request:
    time rules, removal, replay, snapshots. Not thread-safe: the host serialises calls."""

    fifo = False

    def __init__(
        self, config: QueueConfig, log: EngineLog, *, tag: int, partition: int = 0, epoch: int = 0
    ) -> None:
        if config.fifo != self.fifo:
            raise RaybusError("UnsupportedOperation", "The queue type does not match the engine.")
        self.config = config
        self.tag = tag
        self._message_id = MessageIds(tag)
        self.partition = partition
        self.epoch = epoch
        self.counters = PartitionCounters()
        self._log = log
        self._next_seq = 1
        self._msgs: dict[int, int] = {}  # seq -> packed(offset, sent_ms, group); seq order
        self._received: dict[int, tuple[int, int]] = {}  # seq -> (count, first_receive_ms)
        self._inflight: dict[int, tuple[int, int]] = {}  # seq -> (deadline_ms, receive_ms)
        self._inflight_heap: list[tuple[int, int]] = []  # (deadline_ms, seq), lazy
        self._delayed: dict[int, int] = {}  # seq -> visible_at_ms
        self._delayed_heap: list[tuple[int, int]] = []  # (visible_at_ms, seq), lazy
        self._moving: set[int] = set()
        self._arrivals: deque[int] = deque()  # seqs in arrival order, lazy
        self._early: list[tuple[int, int]] = []  # (sent_ms, seq) transferred older messages
        self._last_arrival_ms = 0
        self._last_purge_ms: int | None = None
        self._recovering = False

    # -- subclass hooks --------------------------------------------------------------------------
    def _group_number(self, group_id: str | None) -> int:
        return 0

    def _check_duplicate(self, now_ms: int, valid: ValidMessage) -> SendResult | None:
        return None

    def _remember(
        self,
        now_ms: int,
        group_id: str | None,
        dedup_id: str | None,
        seq: int,
        transfer_id: str | None,
    ) -> None:
        """Called for each accepted send (FIFO: registers the dedup id). ``transfer_id`` is the
        kept message id of a transferred message, None when the id derives from ``seq``."""

    def _on_visible(self, seq: int) -> None:
        raise NotImplementedError

    def _select(self, limit: int, dead_letter: bool) -> tuple[list[int], list[int]]:
        """Take up to ``limit`` visible seqs to deliver, plus those to dead-letter instead."""
        raise NotImplementedError

    def _on_released(self, seq: int, packed: int) -> None:
        """A message stopped being in flight or moving (FIFO: may unblock its group)."""

    def _on_admitted(self, seq: int, group: int) -> None:
        """A message was indexed (live send or replay)."""

    def _on_removed(self, seq: int, packed: int) -> None:
        """A message left the partition (deleted, expired, purged, transferred)."""

    def _rebuild_visible(self) -> None:
        raise NotImplementedError

    def _sequence_number(self, seq: int) -> str | None:
        return None

    def _extra_state(self) -> dict[str, Any]:
        return {}

    def _restore_extra(self, state: dict[str, Any]) -> None:
        pass

    # -- queries ---------------------------------------------------------------------------------
    @property
    def next_seq(self) -> int:
        return self._next_seq

    @property
    def message_count(self) -> int:
        """Live messages in every state (visible, delayed, in flight, moving)."""
        return len(self._msgs)

    def _visible(self, seq: int) -> bool:
        return (
            seq in self._msgs
            and seq not in self._inflight
            and seq not in self._delayed
            and seq not in self._moving
        )

    def stats(self, now_ms: int) -> dict[str, int]:
        """Approximate counts (AWS's ApproximateNumberOf...) and the oldest message's age."""
        self.advance(now_ms)
        in_flight = len(self._inflight) + len(self._moving)
        delayed = len(self._delayed)
        oldest = self._oldest_sent_ms()
        return {
            "visible": len(self._msgs) - in_flight - delayed,
            "in_flight": in_flight,
            "delayed": delayed,
            "oldest_age_ms": 0 if oldest is None else max(0, now_ms - oldest),
        }

    def has_visible(self, now_ms: int) -> bool:
        """True if a receive now would find a message (the long-poll wake-up condition)."""
        self.advance(now_ms)
        return len(self._msgs) > len(self._inflight) + len(self._delayed) + len(self._moving)

    def next_change_ms(self) -> int | None:
        """Earliest time a delayed or in-flight message may become visible (may be early)."""
        times = [heap[0][0] for heap in (self._delayed_heap, self._inflight_heap) if heap]
        return min(times) if times else None

    def live_offsets(self) -> list[int]:
        """Sorted log offsets of every live message's SEND record (what compaction keeps)."""
        return sorted(packed & _OFFSET_MASK for packed in self._msgs.values())

    def _oldest_sent_ms(self) -> int | None:
        arrivals, msgs = self._arrivals, self._msgs
        while arrivals and arrivals[0] not in msgs:
            arrivals.popleft()
        while self._early and self._early[0][1] not in msgs:
            heapq.heappop(self._early)
        candidates = [_sent_of(msgs[arrivals[0]])] if arrivals else []
        if self._early:
            candidates.append(self._early[0][0])
        return min(candidates) if candidates else None

    # -- time ------------------------------------------------------------------------------------
    def advance(self, now_ms: int) -> None:
        """Apply every time rule due at ``now_ms``: delays end, visibility times out, retention
        expires. Every operation calls it first; it is idempotent."""
        delayed_heap, delayed = self._delayed_heap, self._delayed
        while delayed_heap and delayed_heap[0][0] <= now_ms:
            visible_at, seq = heapq.heappop(delayed_heap)
            if delayed.get(seq) == visible_at:
                del delayed[seq]
                self._on_visible(seq)
        inflight_heap, inflight = self._inflight_heap, self._inflight
        while inflight_heap and inflight_heap[0][0] <= now_ms:
            deadline, seq = heapq.heappop(inflight_heap)
            current = inflight.get(seq)
            if current is not None and current[0] == deadline:
                del inflight[seq]
                self._on_released(seq, self._msgs[seq])
                self._on_visible(seq)
        self._expire(now_ms - self.config.retention_s * 1000)
        self._compact_indexes()

    def _expire(self, sent_before_or_at_ms: int) -> None:
        """Remove messages past retention and log it (EXPIRE), so that replay under a longer
        retention set later does not bring them back."""
        arrivals, msgs = self._arrivals, self._msgs
        expired: list[int] = []
        while arrivals:
            seq = arrivals[0]
            packed = msgs.get(seq)
            if packed is not None and _sent_of(packed) > sent_before_or_at_ms:
                break
            arrivals.popleft()
            if packed is not None:
                expired.append(seq)
        while self._early and self._early[0][0] <= sent_before_or_at_ms:
            _, seq = heapq.heappop(self._early)
            if seq in msgs:
                expired.append(seq)
        if expired:
            for seq in expired:
                self._remove(seq)
            self.counters.expired += len(expired)
            self._log.append([encode([RecordType.EXPIRE, expired])])

    def _compact_indexes(self) -> None:
        """Rebuild any lazily cleaned index that has grown past twice its live entries."""
        live = len(self._msgs)
        if len(self._arrivals) > 2 * live + SLACK_ENTRIES:
            early = {seq for _, seq in self._early}
            self._arrivals = deque(seq for seq in self._msgs if seq not in early)
        if len(self._early) > 2 * live + SLACK_ENTRIES:
            self._early = [(sent, seq) for sent, seq in self._early if seq in self._msgs]
            heapq.heapify(self._early)
        if len(self._inflight_heap) + len(self._delayed_heap) > (
            2 * (len(self._inflight) + len(self._delayed)) + SLACK_ENTRIES
        ):
            self._rebuild_heaps()
        self._compact_visible()

    def _rebuild_heaps(self) -> None:
        """The deadline heaps from the in-flight and delayed maps (no stale entries)."""
        self._inflight_heap = [(deadline, seq) for seq, (deadline, _) in self._inflight.items()]
        heapq.heapify(self._inflight_heap)
        self._delayed_heap = [(at, seq) for seq, at in self._delayed.items()]
        heapq.heapify(self._delayed_heap)

    def _compact_visible(self) -> None:
        """Subclass hook: rebuild the visible-message index if it is mostly stale."""

    def _remove(self, seq: int) -> None:
        packed = self._msgs.pop(seq)
        self._received.pop(seq, None)
        held = self._inflight.pop(seq, None) is not None
        if seq in self._moving:
            self._moving.discard(seq)
            held = True
        self._delayed.pop(seq, None)
        if held and not self._recovering:
            self._on_released(seq, packed)
        self._on_removed(seq, packed)

    def _admit(
        self, seq: int, offset: int, sent_ms: int, group: int, delayed_until: int | None
    ) -> None:
        """Index a message (live send or replay), delayed until ``delayed_until`` if given. The
        caller makes an undelayed live message visible."""
        self._msgs[seq] = _pack(offset, sent_ms, group)
        if sent_ms >= self._last_arrival_ms:
            self._last_arrival_ms = sent_ms
            self._arrivals.append(seq)
        else:
            heapq.heappush(self._early, (sent_ms, seq))
        if delayed_until is not None:
            self._delayed[seq] = delayed_until
        self._on_admitted(seq, group)

    def _purge_below(self, below_seq: int, now_ms: int) -> None:
        self._last_purge_ms = now_ms
        for seq in [s for s in self._msgs if s < below_seq]:
            self._remove(seq)

    # -- recovery --------------------------------------------------------------------------------
    def replay(self, offset: int, payload: bytes) -> None:
        """Apply one record read back from the log (before :meth:`finish_recovery`)."""
        self._recovering = True
        record = decode(payload)
        kind = record[0]
        msgs = self._msgs
        if kind == RecordType.SEND:
            seq = record[1]
            if seq < self._next_seq:  # a compaction copy: the message now lives here
                packed = msgs.get(seq)
                if packed is not None:
                    msgs[seq] = (packed & ~_OFFSET_MASK) | offset
                return
            self._next_seq = seq + 1
            sent_ms, visible_at, group_id = record[2], record[3], record[9]
            self._admit(
                seq,
                offset,
                sent_ms,
                self._group_number(group_id),
                visible_at if visible_at > sent_ms else None,
            )
            if self.fifo:
                message_id = record[4]
                derived = message_id == self._message_id(seq)
                self._remember(sent_ms, group_id, record[10], seq, None if derived else message_id)
        elif kind == RecordType.RECEIVE:
            _, now_ms, deadline, seqs = record
            for seq in seqs:
                if seq in msgs:
                    count, first = self._received.get(seq, (0, now_ms))
                    self._received[seq] = (count + 1, first)
                    self._inflight[seq] = (deadline, now_ms)
                    self._delayed.pop(seq, None)
        elif kind == RecordType.HIDE:
            _, now_ms, deadline, seqs = record
            for seq in seqs:
                if seq in msgs:
                    self._inflight[seq] = (deadline, now_ms)
                    self._delayed.pop(seq, None)
        elif kind == RecordType.DELETE or kind == RecordType.EXPIRE:
            for seq in record[1]:
                if seq in msgs:
                    self._remove(seq)
        elif kind == RecordType.CHANGE_VISIBILITY:
            for seq, deadline in record[2]:
                state = self._inflight.get(seq)
                if state is not None:
                    self._inflight[seq] = (deadline, state[1])
        elif kind == RecordType.PURGE:
            self._purge_below(record[2], record[1])
        else:
            raise RaybusError("StorageFailure", f"Unknown queue record type {kind}.")

    def finish_recovery(self) -> None:
        """Rebuild the derived indexes after :meth:`replay` or :meth:`restore`."""
        self._rebuild_heaps()
        self._recovering = False
        self._rebuild_visible()

    def snapshot(self) -> dict[str, Any]:
        """The whole state as msgpack-ready data. Moving messages are saved as visible."""
        return {
            "v": _SNAPSHOT_VERSION,
            "next_seq": self._next_seq,
            "last_purge_ms": self._last_purge_ms,
            "last_arrival_ms": self._last_arrival_ms,
            "seqs": list(self._msgs),
            "offsets": [packed & _OFFSET_MASK for packed in self._msgs.values()],
            "sent": [_sent_of(packed) for packed in self._msgs.values()],
            "groups": [packed >> _GROUP_SHIFT for packed in self._msgs.values()],
            "received": [[s, c, f] for s, (c, f) in self._received.items()],
            "inflight": [[s, d, r] for s, (d, r) in self._inflight.items()],
            "delayed": [x for item in self._delayed.items() for x in item],
            "early": [s for _, s in self._early if s in self._msgs],
            "extra": self._extra_state(),
        }

    def restore(self, state: dict[str, Any]) -> None:
        """Load a :meth:`snapshot` into a fresh engine; call :meth:`finish_recovery` after
        replaying the records written since."""
        if state.get("v") != _SNAPSHOT_VERSION:
            raise RaybusError("StorageFailure", f"Unknown queue snapshot version {state.get('v')}.")
        self._next_seq = state["next_seq"]
        self._last_purge_ms = state["last_purge_ms"]
        self._last_arrival_ms = state["last_arrival_ms"]
        self._msgs = {
            seq: _pack(offset, sent, group)
            for seq, offset, sent, group in zip(
                state["seqs"], state["offsets"], state["sent"], state["groups"], strict=True
            )
        }
        early = {s for s in state["early"] if s in self._msgs}
        self._arrivals = deque(s for s in self._msgs if s not in early)
        self._early = [(_sent_of(self._msgs[s]), s) for s in early]
        heapq.heapify(self._early)
        self._received = {s: (c, f) for s, c, f in state["received"]}
        self._inflight = {s: (d, r) for s, d, r in state["inflight"]}
        flat = state["delayed"]
        self._delayed = dict(zip(flat[::2], flat[1::2], strict=True))
        self._recovering = True
        self._restore_extra(state["extra"])

    def relocate(self, moved: dict[int, int]) -> None:
        """Compaction copied SEND records: point live messages at their new offsets."""
        for seq, packed in self._msgs.items():
            new = moved.get(packed & _OFFSET_MASK)
            if new is not None:
                self._msgs[seq] = (packed & ~_OFFSET_MASK) | new

    @staticmethod
    def group_of(packed: int) -> int:
        return packed >> _GROUP_SHIFT
