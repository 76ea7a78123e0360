"""The queue-partition state machine shared by standard and FIFO queues.

Contract
--------
- **Pure and synchronous.** Every operation takes ``now_ms`` from the caller, mutates state and
  appends the records describing the change to the injected log *buffer* (``log.append`` does no
  I/O) in one call, with no awaits. The host commits the log afterwards and acknowledges only
  then. Because every reply that exposes a message (a receive) also waits for a commit covering
  the whole log up to its own record, a message is never observed before its send is durable.
- **Recoverable.** State is a function of the records appended: ``replay(offset, payload)`` for
  each record in order, then ``finish_recovery()``, rebuilds it; ``snapshot()`` /
  ``restore(state)`` shortcut the replay. In-flight messages stay in flight until their deadline.
- **Memory.** Bodies live in the log; per queued message the engine keeps one packed integer
  (log offset, sent time, group number) in a seq-ordered dict and the seq in an arrival deque
  (about 120 bytes). Received, in-flight and delayed messages carry small extra entries.
- **Cost.** send, receive, delete and change-visibility are O(batch · log n) in the number of
  messages in flight or delayed and O(batch) otherwise: independent of queue depth.

State of a live message (disjoint): *visible*, *delayed* (``_delayed``), *in flight*
(``_inflight``), *moving* (``_moving``: handed to a dead-letter or move-task transfer, awaiting
``finish_transfer`` / ``abort_transfer``). Subclasses decide which visible message is served
next (:meth:`_on_visible`, :meth:`_select`).
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from raybus.core.attributes import Attribute
from raybus.core.config import QueueConfig
from raybus.core.errors import RaybusError
from raybus.core.tokens import Receipt, decode_receipt, encode_receipt
from raybus.engines.messages import (
    MAX_VISIBILITY_TIMEOUT_S,
    DeadLetter,
    ReceivedMessage,
    SendEntry,
    SendResult,
    ValidMessage,
    message_id_for,
    validate_entry,
)
from raybus.engines.records import RecordType, decode, encode

__all__ = ["EngineLog", "PartitionCounters", "QueuePartition", "ReceiveResult"]

_OFFSET_BITS = 48
_OFFSET_MASK = (1 << _OFFSET_BITS) - 1
_SENT_BITS = 44
_SENT_MASK = (1 << _SENT_BITS) - 1
_GROUP_SHIFT = _OFFSET_BITS + _SENT_BITS
PURGE_INTERVAL_MS = 60_000
_SNAPSHOT_VERSION = 1


class EngineLog(Protocol):
    """What an engine needs of its log: buffered append and read by offset."""

    def append(self, payloads: Sequence[bytes]) -> list[int]: ...

    def read(self, offset: int) -> bytes: ...


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

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class ReceiveResult:
    messages: list[ReceivedMessage]
    dead_letters: list[DeadLetter]


def _pack(offset: int, sent_ms: int, group: int) -> int:
    return offset | (sent_ms << _OFFSET_BITS) | (group << _GROUP_SHIFT)


def _check_timeout(value: object, parameter: str = "visibility_timeout_s") -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise RaybusError(
            "InvalidParameterValue", f"{parameter} must be an integer.", parameter=parameter
        )
    if not 0 <= value <= MAX_VISIBILITY_TIMEOUT_S:
        raise RaybusError(
            "InvalidParameterValue",
            f"{parameter} must be from 0 to {MAX_VISIBILITY_TIMEOUT_S} seconds, not {value}.",
            parameter=parameter,
        )
    return value


class QueuePartition:
    """One partition of a queue. Not thread-safe: the host serialises calls."""

    fifo = False

    def __init__(
        self, config: QueueConfig, log: EngineLog, *, tag: int, partition: int = 0, epoch: int = 0
    ) -> None:
        if config.fifo != self.fifo:
            raise RaybusError("UnsupportedOperation", "The queue type does not match the engine.")
        self.config = config
        self.tag = tag
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
        candidates = [(msgs[arrivals[0]] >> _OFFSET_BITS) & _SENT_MASK] if arrivals else []
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

    def _expire(self, sent_before_or_at_ms: int) -> None:
        arrivals, msgs = self._arrivals, self._msgs
        while arrivals:
            seq = arrivals[0]
            packed = msgs.get(seq)
            if packed is not None and (packed >> _OFFSET_BITS) & _SENT_MASK > sent_before_or_at_ms:
                break
            arrivals.popleft()
            if packed is not None:
                self._remove(seq)
                self.counters.expired += 1
        while self._early and self._early[0][0] <= sent_before_or_at_ms:
            _, seq = heapq.heappop(self._early)
            if seq in msgs:
                self._remove(seq)
                self.counters.expired += 1

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

    # -- send ------------------------------------------------------------------------------------
    def send(self, now_ms: int, entries: Sequence[SendEntry]) -> list[SendResult | RaybusError]:
        """Validate and enqueue each entry; per-entry results in order (SQS batch semantics)."""
        self.advance(now_ms)
        config = self.config
        results: list[SendResult | RaybusError] = []
        records: list[bytes] = []
        admitted: list[tuple[int, int, int, int]] = []  # seq, sent_ms, visible_at, group
        for entry in entries:
            try:
                valid = validate_entry(
                    entry,
                    fifo=self.fifo,
                    max_message_bytes=config.max_message_bytes,
                    content_based_dedup=config.content_based_dedup,
                )
            except RaybusError as error:
                results.append(error)
                continue
            duplicate = None if entry.message_id else self._check_duplicate(now_ms, valid)
            if duplicate is not None:
                self.counters.deduplicated += 1
                results.append(duplicate)
                continue
            seq = self._next_seq
            self._next_seq += 1
            message_id = entry.message_id or message_id_for(self.tag, seq)
            keep_time = entry.sent_ms is not None and not self.fifo
            sent_ms = entry.sent_ms if keep_time and entry.sent_ms is not None else now_ms
            delay_s = config.delay_s if valid.delay_s is None else valid.delay_s
            visible_at = now_ms + delay_s * 1000
            records.append(
                encode(
                    [
                        RecordType.SEND,
                        seq,
                        sent_ms,
                        visible_at,
                        message_id,
                        valid.body,
                        [[name, a.data_type, a.value] for name, a in valid.attributes.items()],
                        valid.md5_of_body,
                        valid.md5_of_attributes,
                        valid.group_id,
                        valid.dedup_id,
                        entry.system,
                    ]
                )
            )
            admitted.append((seq, sent_ms, visible_at, self._group_number(valid.group_id)))
            self._remember(now_ms, valid.group_id, valid.dedup_id, seq, entry.message_id)
            results.append(
                SendResult(
                    message_id,
                    valid.md5_of_body,
                    valid.md5_of_attributes,
                    self._sequence_number(seq),
                )
            )
            self.counters.sent += 1
            self.counters.sent_bytes += len(valid.body)
        if records:
            offsets = self._log.append(records)
            for (seq, sent_ms, visible_at, group), offset in zip(admitted, offsets, strict=True):
                if visible_at > now_ms:
                    self._admit(seq, offset, sent_ms, group, visible_at)
                    heapq.heappush(self._delayed_heap, (visible_at, seq))
                else:
                    self._admit(seq, offset, sent_ms, group, None)
                    self._on_visible(seq)
        return results

    def _admit(
        self, seq: int, offset: int, sent_ms: int, group: int, delayed_until: int | None
    ) -> None:
        """Index a message (live send or replay), delayed until ``delayed_until`` if given. The
        caller makes an undelayed live message visible."""
        self._msgs[seq] = offset | (sent_ms << _OFFSET_BITS) | (group << _GROUP_SHIFT)
        if sent_ms >= self._last_arrival_ms:
            self._last_arrival_ms = sent_ms
            self._arrivals.append(seq)
        else:
            heapq.heappush(self._early, (sent_ms, seq))
        if delayed_until is not None:
            self._delayed[seq] = delayed_until
        self._on_admitted(seq, group)

    # -- receive ---------------------------------------------------------------------------------
    def receive(
        self, now_ms: int, max_messages: int, visibility_timeout_s: int | None = None
    ) -> ReceiveResult:
        """Deliver up to ``max_messages`` visible messages and hide them for the visibility
        timeout. Messages received ``maxReceiveCount`` times already are dead-lettered instead
        (returned as effects, held as *moving* until the host finishes or aborts them)."""
        if isinstance(max_messages, bool) or not isinstance(max_messages, int) or max_messages < 1:
            raise RaybusError(
                "InvalidParameterValue",
                "max_messages must be a positive integer.",
                parameter="max_messages",
            )
        timeout = (
            self.config.visibility_timeout_s
            if visibility_timeout_s is None
            else (_check_timeout(visibility_timeout_s))
        )
        self.advance(now_ms)
        redrive = self.config.redrive_policy
        deliver, dead = self._select(max_messages, redrive is not None)
        deadline = now_ms + timeout * 1000
        received, inflight = self._received, self._inflight
        for seq in deliver:
            count, first = received.get(seq, (0, now_ms))
            received[seq] = (count + 1, first)
            inflight[seq] = (deadline, now_ms)
            heapq.heappush(self._inflight_heap, (deadline, seq))
        self._moving.update(dead)
        if deliver:
            self._log.append([encode([RecordType.RECEIVE, now_ms, deadline, deliver])])
            self.counters.received += len(deliver)
        messages = [self._materialize(seq) for seq in deliver]
        letters = []
        if redrive is not None:
            letters = [self._dead_letter(seq, redrive.dead_letter_queue) for seq in dead]
        return ReceiveResult(messages, letters)

    def _read_send(self, seq: int) -> list[Any]:
        record = decode(self._log.read(self._msgs[seq] & _OFFSET_MASK))
        if record[0] != RecordType.SEND or record[1] != seq:
            raise RaybusError(
                "StorageFailure", f"Log offset of message {seq} holds another record."
            )
        return record

    def _materialize(self, seq: int) -> ReceivedMessage:
        (
            _,
            _,
            sent_ms,
            _,
            message_id,
            body,
            attrs,
            md5_body,
            md5_attrs,
            group_id,
            dedup_id,
            system,
        ) = self._read_send(seq)
        count, first = self._received[seq]
        receipt = encode_receipt(Receipt(self.partition, self.epoch, self.tag, seq, count))
        return ReceivedMessage(
            message_id=message_id,
            receipt=receipt,
            body=body,
            md5_of_body=md5_body,
            attributes={name: Attribute(kind, value) for name, kind, value in attrs},
            md5_of_attributes=md5_attrs,
            sent_ms=sent_ms,
            receive_count=count,
            first_receive_ms=first,
            group_id=group_id,
            dedup_id=dedup_id,
            sequence_number=self._sequence_number(seq),
            system=dict(system or {}),
        )

    def _transfer_entry(self, seq: int, system: dict[str, Any]) -> SendEntry:
        (_, _, sent_ms, _, message_id, body, attrs, _, _, group_id, dedup_id, old_system) = (
            self._read_send(seq)
        )
        return SendEntry(
            body=body,
            attributes={name: (kind, value) for name, kind, value in attrs},
            group_id=group_id,
            dedup_id=dedup_id,
            message_id=message_id,
            sent_ms=sent_ms,
            system={**(old_system or {}), **system},
        )

    def _dead_letter(self, seq: int, target: str) -> DeadLetter:
        return DeadLetter(
            seq, target, self._transfer_entry(seq, {"dead_letter_source": self.config.name})
        )

    def _exhausted(self, seq: int) -> bool:
        policy = self.config.redrive_policy
        if policy is None:
            return False
        return self._received.get(seq, (0, 0))[0] >= policy.max_receive_count

    # -- delete / visibility ---------------------------------------------------------------------
    def _own_receipt(self, handle: object) -> Receipt:
        receipt = decode_receipt(handle)
        if (
            receipt.tag != self.tag
            or receipt.partition != self.partition
            or receipt.seq >= self._next_seq
        ):
            raise RaybusError(
                "ReceiptHandleIsInvalid", "The receipt handle does not belong to this queue."
            )
        return receipt

    def _current(self, receipt: Receipt) -> bool:
        """The receipt is the latest delivery of a live message that is not being moved."""
        seq = receipt.seq
        return (
            seq in self._msgs
            and seq not in self._moving
            and self._received.get(seq, (0, 0))[0] == receipt.nonce
        )

    def delete(self, now_ms: int, receipts: Sequence[object]) -> list[RaybusError | None]:
        """Delete by receipt. A stale receipt (the message was received again since) or one for
        a message already gone succeeds and changes nothing, as in SQS; a malformed one fails."""
        self.advance(now_ms)
        results: list[RaybusError | None] = []
        deleted: list[int] = []
        for handle in receipts:
            try:
                receipt = self._own_receipt(handle)
            except RaybusError as error:
                results.append(error)
                continue
            if self._current(receipt):
                self._remove(receipt.seq)
                deleted.append(receipt.seq)
            results.append(None)
        if deleted:
            self._log.append([encode([RecordType.DELETE, deleted])])
            self.counters.deleted += len(deleted)
        return results

    def change_visibility(
        self, now_ms: int, changes: Sequence[tuple[object, object]]
    ) -> list[RaybusError | None]:
        """Set a new visibility timeout, counted from now, for in-flight messages.

        Fails with MessageNotInflight unless the receipt is the message's latest and the
        message is still in flight; a message's total hidden time may not exceed 12 hours
        from its latest receive. A timeout of 0 makes it visible at once.
        """
        self.advance(now_ms)
        results: list[RaybusError | None] = []
        changed: list[list[int]] = []
        for handle, timeout in changes:
            try:
                seconds = _check_timeout(timeout)
                receipt = self._own_receipt(handle)
                state = self._inflight.get(receipt.seq)
                if state is None or not self._current(receipt):
                    raise RaybusError("MessageNotInflight", "The message is not in flight.")
                deadline = now_ms + seconds * 1000
                if deadline - state[1] > MAX_VISIBILITY_TIMEOUT_S * 1000:
                    raise RaybusError(
                        "InvalidParameterValue",
                        "A message cannot stay invisible for more than 12 hours after it was "
                        "received.",
                        parameter="visibility_timeout_s",
                    )
            except RaybusError as error:
                results.append(error)
                continue
            self._inflight[receipt.seq] = (deadline, state[1])
            heapq.heappush(self._inflight_heap, (deadline, receipt.seq))
            changed.append([receipt.seq, deadline])
            results.append(None)
        if changed:
            self._log.append([encode([RecordType.CHANGE_VISIBILITY, now_ms, changed])])
            self.advance(now_ms)
        return results

    # -- purge, transfers ------------------------------------------------------------------------
    def purge(self, now_ms: int) -> int:
        """Delete every message sent before now; at most once per 60 s. Returns the count."""
        if self._last_purge_ms is not None and now_ms - self._last_purge_ms < PURGE_INTERVAL_MS:
            raise RaybusError(
                "PurgeQueueInProgress",
                "Only one purge is allowed every 60 seconds.",
                retry_after_s=(PURGE_INTERVAL_MS - (now_ms - self._last_purge_ms) + 999) // 1000,
            )
        self.advance(now_ms)
        count = len(self._msgs)
        self._log.append([encode([RecordType.PURGE, now_ms, self._next_seq])])
        self._purge_below(self._next_seq, now_ms)
        self.counters.purged += count
        return count

    def _purge_below(self, below_seq: int, now_ms: int) -> None:
        self._last_purge_ms = now_ms
        for seq in [s for s in self._msgs if s < below_seq]:
            self._remove(seq)

    def take_for_transfer(
        self, now_ms: int, limit: int, target: str, system: dict[str, Any] | None = None
    ) -> list[DeadLetter]:
        """Hold up to ``limit`` visible messages, oldest first, for a move task to ``target``."""
        self.advance(now_ms)
        seqs, _ = self._select(limit, False)
        self._moving.update(seqs)
        return [DeadLetter(seq, target, self._transfer_entry(seq, system or {})) for seq in seqs]

    def finish_transfer(self, now_ms: int, seqs: Sequence[int], *, dead_lettered: bool) -> None:
        """The target committed these messages: remove them here (durably, via DELETE)."""
        gone = [seq for seq in seqs if seq in self._moving and seq in self._msgs]
        for seq in gone:
            self._remove(seq)
        if gone:
            self._log.append([encode([RecordType.DELETE, gone])])
            if dead_lettered:
                self.counters.dead_lettered += len(gone)
            else:
                self.counters.moved_out += len(gone)
        self.advance(now_ms)

    def abort_transfer(self, now_ms: int, seqs: Sequence[int]) -> None:
        """The target refused or failed: the messages become visible again here."""
        for seq in seqs:
            if seq in self._moving:
                self._moving.discard(seq)
                self._on_released(seq, self._msgs[seq])
                self._on_visible(seq)
        self.advance(now_ms)

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
                derived = message_id == message_id_for(self.tag, seq)
                self._remember(sent_ms, group_id, record[10], seq, None if derived else message_id)
        elif kind == RecordType.RECEIVE:
            _, now_ms, deadline, seqs = record
            for seq in seqs:
                if seq in msgs:
                    count, first = self._received.get(seq, (0, now_ms))
                    self._received[seq] = (count + 1, first)
                    self._inflight[seq] = (deadline, now_ms)
                    self._delayed.pop(seq, None)
        elif kind == RecordType.DELETE:
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
        self._inflight_heap = [(deadline, seq) for seq, (deadline, _) in self._inflight.items()]
        heapq.heapify(self._inflight_heap)
        self._delayed_heap = [(at, seq) for seq, at in self._delayed.items()]
        heapq.heapify(self._delayed_heap)
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
            "sent": [(packed >> _OFFSET_BITS) & _SENT_MASK for packed in self._msgs.values()],
            "groups": [packed >> _GROUP_SHIFT for packed in self._msgs.values()],
            "received": [[s, c, f] for s, (c, f) in self._received.items()],
            "inflight": [[s, d, r] for s, (d, r) in self._inflight.items()],
            "delayed": [x for item in self._delayed.items() for x in item],
            "early": [s for _, s in self._early],
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
        early = set(state["early"])
        self._arrivals = deque(s for s in self._msgs if s not in early)
        self._early = [((self._msgs[s] >> _OFFSET_BITS) & _SENT_MASK, s) for s in early]
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
