"""The state of a topic partition: subscriber cursors, retries, retention, and its recovery.

Contract
--------
- **Recoverable.** Durable state is a function of the records appended (layout in
  :mod:`raybus.engines.topic.records`): ``replay(offset, payload)`` for each record in order,
  then ``finish_recovery()``, rebuilds it; ``snapshot()`` / ``restore(state)`` shortcut the
  replay. Durable: the next seq, the retained messages (seq → log offset), the FIFO dedup
  window, and per subscriber its cursor, the seqs at or above the cursor already settled out of
  order (``done``) and its pending retries ``seq → (attempts, due_ms, delay_ms)`` — which, for
  a subscriber in FIFO order, include the messages held back behind a retrying message of
  their group (``attempts`` 0, see :mod:`raybus.engines.topic.fifo`).
  Not durable: deliveries in flight and exhausted messages on their way to a dead-letter queue
  — after a crash they are delivered again from their last durable state (at-least-once).
- **Cursor.** Every seq below a subscriber's cursor is settled for it: delivered, filtered out,
  handed to a retry (or held back), dead-lettered or discarded. A subscriber starts at the
  then next seq, so every seq in ``[cursor, next_seq)`` is a retained message published while
  it existed.
- **Retention.** A message is retained while some subscriber's cursor is at or below it or
  some retry references it (a pin count); then it is dropped and its PUBLISH record leaves
  :meth:`live_offsets`, so compaction may discard it. A publish with no subscriber at all is
  logged (its seq and dedup id must survive) but never retained.
- **Memory.** Per retained message one dict entry (seq → offset); bodies live in the log, plus
  a cache of recently published :class:`Message` objects bounded by ``cache_bytes`` so that
  live fan-out never reads the log.

Not thread-safe: the host serialises calls. The requests live in :mod:`raybus.engines.topic.engine`.
"""

from __future__ import annotations

import heapq
from bisect import insort
from collections import deque
from typing import Any

from raybus.core.attributes import Attribute
from raybus.core.errors import RaybusError
from raybus.core.topics import TopicConfig
from raybus.engines.dedup import DedupWindow
from raybus.engines.ids import MessageIds
from raybus.engines.log import EngineLog
from raybus.engines.records import encode
from raybus.engines.topic.records import (
    Exhausted,
    Message,
    Subscriber,
    SubscriptionCounters,
    TopicCounters,
    TopicRecordType,
    decode_topic_record,
    new_message,
    structured_bodies,
)

__all__ = [
    "DEFAULT_CACHE_BYTES",
    "FILTER_SCAN_MAX",
    "REDRIVE_RETRY_DELAY_MS",
    "Lines",
    "SubState",
    "TopicState",
]

DEFAULT_CACHE_BYTES = 64 << 20
# A take settles or holds back at most this many messages it does not deliver (then it may
# return nothing while there is still work: call again).
FILTER_SCAN_MAX = 4096
# A message exhausted before any retry whose dead-letter queue refused it is retried after this.
REDRIVE_RETRY_DELAY_MS = 1_000
_SNAPSHOT_VERSION = 1
_MESSAGE_OVERHEAD_BYTES = 400  # rough size of a cached Message beyond body and attributes
_PUBLISH = TopicRecordType.PUBLISH
_SETTLE = TopicRecordType.SETTLE


def _cached_size(message: Message) -> int:
    size = len(message.body) + _MESSAGE_OVERHEAD_BYTES
    if message.attributes:
        for name, attribute in message.attributes.items():
            size += len(name) + len(attribute.data_type) + len(attribute.value)
    if message.bodies:
        size += sum(len(body) for body in message.bodies.values())
    return size


Lines = dict[str | None, deque[int]]


class SubState:
    """One subscriber's state. Durable: ``cursor``, ``done``, ``retries``. In memory:
    ``inflight`` (seq → attempt number of the delivery), ``moving`` (seq → (attempts, delay
    to use if the dead-letter queue refuses it)), ``dispatch`` (next seq to consider as new;
    every seq in ``[cursor, dispatch)`` is done or in flight), ``heap`` (``(due_ms, seq)`` of
    retries, lazily cleaned; kept while ``lines`` is None) and ``lines`` (FIFO order only:
    per message group, the seqs of ``retries`` in seq order; None until FIFO delivery needs
    it, then kept up to date by every change of ``retries``)."""

    __slots__ = (
        "counters",
        "cursor",
        "dispatch",
        "done",
        "heap",
        "id",
        "inflight",
        "lines",
        "moving",
        "number",
        "retries",
        "spec",
    )

    def __init__(self, number: int, sub_id: str, cursor: int) -> None:
        self.number = number
        self.id = sub_id
        self.spec: Subscriber | None = None  # None until the shell attaches it after recovery
        self.cursor = cursor
        self.done: set[int] = set()
        self.retries: dict[int, tuple[int, int, int]] = {}
        self.inflight: dict[int, int] = {}
        self.moving: dict[int, tuple[int, int]] = {}
        self.dispatch = cursor
        self.heap: list[tuple[int, int]] = []
        self.lines: Lines | None = None
        self.counters = SubscriptionCounters()

    def rebuild_heap(self) -> None:
        held = self.inflight.keys() | self.moving.keys()
        self.heap = [(due, seq) for seq, (_, due, _) in self.retries.items() if seq not in held]
        heapq.heapify(self.heap)


class TopicState:
    """The durable state of one topic partition and what maintains it (see module docstring)."""

    def __init__(
        self,
        config: TopicConfig,
        log: EngineLog,
        *,
        tag: int,
        partition: int = 0,
        epoch: int = 0,
        cache_bytes: int = DEFAULT_CACHE_BYTES,
    ) -> None:
        self.config = config
        self.tag = tag
        self.partition = partition
        self.epoch = epoch
        self.counters = TopicCounters()
        self._log = log
        self._next_seq = 1
        self._retained: dict[int, int] = {}  # seq -> offset of its PUBLISH record, seq order
        self._pins: dict[int, int] = {}  # seq -> number of subscribers retrying it
        self._low = 1  # every unpinned seq below this has been dropped
        self._subs: dict[str, SubState] = {}
        self._by_number: dict[int, SubState] = {}
        self._next_number = 1
        self._dedup = DedupWindow()
        self._cache: dict[int, Message] = {}
        self._cache_used = 0
        self._cache_limit = cache_bytes
        self._recovering = False
        self._message_id = MessageIds(tag)

    # -- queries ---------------------------------------------------------------------------------
    @property
    def next_seq(self) -> int:
        return self._next_seq

    @property
    def message_count(self) -> int:
        """Retained messages."""
        return len(self._retained)

    def live_offsets(self) -> list[int]:
        """Sorted log offsets of every retained message's PUBLISH record."""
        return sorted(self._retained.values())

    def subscription_ids(self) -> list[str]:
        return list(self._subs)

    # -- messages --------------------------------------------------------------------------------
    def _cache_put(self, message: Message) -> None:
        size = _cached_size(message)
        if self._cache_used + size <= self._cache_limit:
            self._cache[message.seq] = message
            self._cache_used += size

    def _cache_drop(self, seq: int) -> None:
        message = self._cache.pop(seq, None)
        if message is not None:
            self._cache_used -= _cached_size(message)

    def _message(self, seq: int) -> Message:
        """A retained message: from the cache, else read back from its PUBLISH record."""
        message = self._cache.get(seq)
        if message is not None:
            return message
        record = decode_topic_record(self._log.read(self._retained[seq]))
        if record[0] != _PUBLISH or record[1] != seq:
            raise RaybusError(
                "StorageFailure", f"Log offset of message {seq} holds another record."
            )
        _, _, published_ms, message_id, body, attrs, subject, group_id, dedup_id = record[:9]
        structured = len(record) > 9 and record[9] == "json"
        message = new_message(
            message_id,
            seq,
            body,
            {name: Attribute(kind, value) for name, kind, value in attrs},
            subject,
            group_id,
            dedup_id,
            f"{seq:020d}" if self.config.fifo else None,
            published_ms,
            structured_bodies(body) if structured else None,
        )
        self._cache_put(message)
        return message

    def _drop(self, seq: int) -> None:
        if self._retained.pop(seq, None) is not None and self._cache:
            self._cache_drop(seq)

    # -- state transitions shared by live requests and replay ------------------------------------
    def _mark_done(self, sub: SubState, seq: int) -> None:
        """``seq`` (at or above the cursor) is settled as far as the cursor is concerned."""
        cursor = sub.cursor
        if seq == cursor:
            cursor += 1
            done = sub.done
            if done:
                while cursor in done:
                    done.remove(cursor)
                    cursor += 1
            sub.cursor = cursor
            if sub.dispatch < cursor:
                sub.dispatch = cursor
        elif seq > cursor:
            sub.done.add(seq)

    def _schedule(self, sub: SubState, seq: int, attempts: int, due_ms: int, delay_ms: int) -> None:
        """Wait ``delay_ms`` (until ``due_ms``) before attempt ``attempts + 1`` (attempts 0:
        held back in FIFO order)."""
        if seq not in sub.retries:
            self._mark_done(sub, seq)
            self._pins[seq] = self._pins.get(seq, 0) + 1
            if sub.lines is not None:
                self._line_add(sub.lines, seq)
        sub.retries[seq] = (attempts, due_ms, delay_ms)
        if not self._recovering and sub.lines is None:
            heapq.heappush(sub.heap, (due_ms, seq))

    def _line_add(self, lines: Lines, seq: int) -> None:
        line = lines.get(group := self._message(seq).group_id)
        if line is None:
            lines[group] = deque((seq,))
        elif line[-1] < seq:
            line.append(seq)
        else:  # not reached by FIFO delivery, which adds in seq order; kept correct anyway
            insort(line, seq)

    def _line_remove(self, lines: Lines, seq: int) -> None:
        """Before the message may be dropped (its group is read from it)."""
        group = self._message(seq).group_id
        line = lines[group]
        if line[0] == seq:
            line.popleft()
        else:
            line.remove(seq)
        if not line:
            del lines[group]

    def _unpin(self, seq: int) -> None:
        left = self._pins[seq] - 1
        if left:
            self._pins[seq] = left
        else:
            del self._pins[seq]
            if seq < self._low:
                self._drop(seq)

    def _collect(self) -> None:
        """Drop every message below the lowest cursor that no retry references."""
        subs = self._subs
        low = min(sub.cursor for sub in subs.values()) if subs else self._next_seq
        if low > self._low:
            pins, retained, cache = self._pins, self._retained, self._cache
            for seq in range(self._low, low):
                if seq not in pins and retained.pop(seq, None) is not None and cache:
                    self._cache_drop(seq)
            self._low = low

    def _add_sub(self, number: int, sub_id: str, start: int) -> SubState:
        sub = SubState(number, sub_id, start)
        self._subs[sub_id] = sub
        self._by_number[number] = sub
        self._next_number = max(self._next_number, number + 1)
        return sub

    def _remove_sub(self, sub: SubState) -> None:
        del self._subs[sub.id]
        del self._by_number[sub.number]
        for seq in sub.retries:
            self._unpin(seq)
        sub.retries = {}
        self._collect()

    def _apply_settle(self, sub: SubState, settled: list[int], retries: list[list[int]]) -> None:
        """Settle each of ``settled`` for good (a pending retry ends, or the cursor passes it;
        inlined: the per-delivery hot path), then :meth:`_schedule` each retry row."""
        pending, done, cursor = sub.retries, sub.done, sub.cursor
        for seq in settled:
            if pending and seq in pending:
                del pending[seq]
                if sub.lines is not None:
                    self._line_remove(sub.lines, seq)
                self._unpin(seq)
            elif seq == cursor:
                cursor += 1
                while done and cursor in done:
                    done.remove(cursor)
                    cursor += 1
            elif seq > cursor:
                done.add(seq)
        sub.cursor = cursor
        if sub.dispatch < cursor:
            sub.dispatch = cursor
        for seq, attempts, due_ms, delay_ms in retries:
            self._schedule(sub, seq, attempts, due_ms, delay_ms)

    # -- outcomes shared by both delivery orders ---------------------------------------------------
    def _fail(
        self,
        now_ms: int,
        sub: SubState,
        spec: Subscriber,
        seq: int,
        attempts: int,
        settled: list[int],
        retries: list[list[int]],
        exhausted: list[Exhausted],
    ) -> None:
        """Attempt number ``attempts`` failed: schedule a retry, or exhaust the message."""
        sub.counters.failed += 1
        delay = spec.retry_delay_ms(attempts)
        if delay is not None:
            delay = max(0, int(delay))
            retries.append([seq, attempts, now_ms + delay, delay])
        elif spec.has_dead_letter_queue:
            entry = sub.retries.get(seq)
            last = entry[2] if entry is not None and entry[2] > 0 else REDRIVE_RETRY_DELAY_MS
            sub.moving[seq] = (attempts, last)
            exhausted.append(Exhausted(seq, self._message(seq), attempts))
        else:
            sub.counters.discarded += 1
            settled.append(seq)

    def _log_settle(self, sub: SubState, settled: list[int], retries: list[list[int]]) -> None:
        self._log.append([encode([_SETTLE, sub.number, settled, retries])])

    # -- recovery --------------------------------------------------------------------------------
    def replay(self, offset: int, payload: bytes) -> None:
        """Apply one record read back from the log (before :meth:`finish_recovery`)."""
        self._recovering = True
        record = decode_topic_record(payload)
        kind = record[0]
        if kind == _PUBLISH:
            seq = record[1]
            if seq < self._next_seq:  # a compaction copy: the message now lives here
                if seq in self._retained:
                    self._retained[seq] = offset
                return
            self._next_seq = seq + 1
            if self.config.fifo and record[8] is not None:
                message_id = record[3]
                kept = None if message_id == self._message_id(seq) else message_id
                self._dedup.prune(record[2])  # as live publishes do: memory follows the window
                self._dedup.put(record[2], record[8], seq, kept)
            if self._subs:
                self._retained[seq] = offset
            else:
                self._low = self._next_seq
        elif kind == _SETTLE:
            sub = self._by_number.get(record[1])
            if sub is not None:
                self._apply_settle(sub, record[2], record[3])
                self._collect()
        elif kind == TopicRecordType.SUBSCRIBE:
            _, _, number, sub_id, start = record
            self._add_sub(number, sub_id, start)
        elif kind == TopicRecordType.UNSUBSCRIBE:
            sub = self._by_number.get(record[2])
            if sub is not None:
                self._remove_sub(sub)
        else:
            raise RaybusError("StorageFailure", f"Unknown topic record type {kind}.")

    def finish_recovery(self) -> None:
        """Rebuild the in-memory indexes after :meth:`replay` or :meth:`restore`."""
        self._recovering = False
        for sub in self._subs.values():
            sub.inflight = {}
            sub.moving = {}
            sub.dispatch = sub.cursor
            sub.lines = None
            sub.rebuild_heap()
        subs = self._subs
        self._low = min(sub.cursor for sub in subs.values()) if subs else self._next_seq

    def snapshot(self) -> dict[str, Any]:
        """The durable state as msgpack-ready data, in a canonical order (equal states give
        equal snapshots). In-flight and exhausted messages are saved as their durable state.

        Version 1: ``{"v", "next_seq", "next_number", "seqs", "offsets" (retained messages,
        parallel lists), "subs": [[number, id, cursor, [done seq...], [[seq, attempts, due_ms,
        delay_ms]...]]...], "dedup": [[dedup_id, expires_ms, seq, message_id|nil]...]}``."""
        return {
            "v": _SNAPSHOT_VERSION,
            "next_seq": self._next_seq,
            "next_number": self._next_number,
            "seqs": list(self._retained),
            "offsets": list(self._retained.values()),
            "subs": [
                [
                    sub.number,
                    sub.id,
                    sub.cursor,
                    sorted(sub.done),
                    [[seq, *sub.retries[seq]] for seq in sorted(sub.retries)],
                ]
                for sub in sorted(self._subs.values(), key=lambda s: s.number)
            ],
            "dedup": sorted(self._dedup.dump(), key=lambda row: (row[2], row[0])),
        }

    def restore(self, state: dict[str, Any]) -> None:
        """Load a :meth:`snapshot` into a fresh engine; call :meth:`finish_recovery` after
        replaying the records written since."""
        if state.get("v") != _SNAPSHOT_VERSION:
            raise RaybusError("StorageFailure", f"Unknown topic snapshot version {state.get('v')}.")
        self._recovering = True
        self._next_seq = state["next_seq"]
        self._next_number = state["next_number"]
        self._retained = dict(zip(state["seqs"], state["offsets"], strict=True))
        self._subs = {}
        self._by_number = {}
        self._pins = {}
        for number, sub_id, cursor, done, retries in state["subs"]:
            sub = self._add_sub(number, sub_id, cursor)
            sub.done = set(done)
            sub.retries = {seq: (attempts, due, delay) for seq, attempts, due, delay in retries}
            for seq in sub.retries:
                self._pins[seq] = self._pins.get(seq, 0) + 1
        self._dedup.load(state["dedup"])
        subs = self._subs
        self._low = min(sub.cursor for sub in subs.values()) if subs else self._next_seq

    def relocate(self, moved: dict[int, int]) -> None:
        """Compaction copied PUBLISH records: point retained messages at their new offsets."""
        retained = self._retained
        for seq, offset in retained.items():
            new = moved.get(offset)
            if new is not None:
                retained[seq] = new
