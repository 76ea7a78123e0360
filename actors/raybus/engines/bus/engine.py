"""Bus partition: EventBridge-style routing as a deterministic state machine over the log.

Contract
--------
- **Pure and synchronous** (principle 3). Every request takes ``now_ms`` from the caller and
  appends the records describing its change in one ``append`` call; the shell commits, then
  acknowledges or delivers.
- **PutEvents** (:meth:`BusPartition.put`) checks each entry (AWS's per-entry errors,
  :func:`raybus.core.buses.check_entry`), builds the event AWS delivers (version, id,
  detail-type, source, account, time, region, resources, detail; ``replay-name`` for a
  replayed one), matches it once against every rule of the bus (the matcher the shell installs:
  one compiled state machine, so the cost does not grow with the number of rules) and appends
  one EVENT record naming the targets it matched. The event is acknowledged once that record
  is committed; the match is part of the record, so recovery and later rule changes never
  change who gets an acknowledged event.
- **Delivery** (per target, independent of the others): :meth:`take` hands out due retries
  first, then matched events in put order; several takes may be outstanding for different
  targets, and an event in flight is never handed out twice to one target.
  :meth:`settle` reports outcomes: ok → done; failed → retried after
  :func:`retry_delay_ms` (exponential backoff with jitter, as EventBridge), until the target's
  RetryPolicy is spent (``maximum_retry_attempts`` retries, or the event older than
  ``maximum_event_age``); then it is returned as :class:`Exhausted` for the target's
  dead-letter queue (then :meth:`settle_exhausted`) or dropped when it has none. A due retry
  of an event already past its age is not tried again: :meth:`take` returns it exhausted.
- **Durable state**: the next seq; the retained events (seq → log offset, put time, number of
  targets still owing it); per target its pending events and its retries
  ``seq → (attempts, due_ms)``. Not durable: deliveries in flight and events on their way to a
  dead-letter queue — after a crash they are delivered again (at-least-once).
- **Unknown targets** (removed meanwhile, or recovered before the shell installed them) are
  no-ops for take and settle; an EVENT's match names target numbers (``TARGETS`` records give
  each target key a number once).
- **Cost.** put is O(entries) plus matching (about the same for 10 or 10,000 rules) plus the
  JSON; take and settle O(batch) plus O(log r) per retry; :meth:`ready` and
  :meth:`next_due_ms` are O(targets with work), independent of the number of rules.

Records (msgpack arrays, :mod:`raybus.engines.records`; append-only layouts):

- ``[1 EVENT, seq, now_ms, event_json, [target numbers]]``
- ``[2 TARGETS, now_ms, [[number, key]...] added, [number...] removed]``
- ``[3 SETTLE, now_ms, number, [seq...] done, [[seq, attempts, due_ms]...] retrying]``
- ``[4 REPLAY, now_ms, replay name, last seq replayed, done]``

Archives are targets that never deliver: they keep the events their rule matched until the
archive's retention passes (:meth:`BusPartition.expire`), and a replay reads them back in
order (:meth:`BusPartition.archived`), logging its progress (REPLAY) so a restarted
partition continues where it stopped.
"""

from __future__ import annotations

import heapq
import json
from bisect import bisect_right
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

from raybus.core.arns import account_id, region
from raybus.core.buses import BusConfig, EventEntry, PutEventsResult, check_entry, event_time
from raybus.core.errors import RaybusError
from raybus.engines.ids import MessageIds
from raybus.engines.log import SLACK_ENTRIES, EngineLog
from raybus.engines.records import decode, encode

__all__ = [
    "DEFAULT_CACHE_BYTES",
    "BusCounters",
    "BusPartition",
    "BusRecordType",
    "Delivery",
    "Event",
    "Exhausted",
    "Matcher",
    "PermanentFailure",
    "TargetCounters",
    "TargetSpec",
    "retry_delay_ms",
]

DEFAULT_CACHE_BYTES = 64 << 20
FIRST_RETRY_DELAY_MS = 1_000
MAX_RETRY_DELAY_MS = 300_000
# An event whose dead-letter queue refused it is offered to it again after this.
REDRIVE_RETRY_DELAY_MS = 1_000
_SNAPSHOT_VERSION = 1
_EVENT_OVERHEAD_BYTES = 600  # rough size of a cached Event beyond its JSON text

# An event (the envelope as a dict), the rules it is limited to (None: every rule) and whether
# it is addressed to them (their targets get it without matching) → the keys of the targets
# it goes to.
Matcher = Callable[[dict[str, Any], "tuple[str, ...] | None", bool], Iterable[str]]


class BusRecordType(IntEnum):
    EVENT = 1
    TARGETS = 2
    SETTLE = 3
    REPLAY = 4


_EVENT = BusRecordType.EVENT
_TARGETS = BusRecordType.TARGETS
_SETTLE = BusRecordType.SETTLE
_REPLAY = BusRecordType.REPLAY


def retry_delay_ms(attempts: int, seq: int) -> int:
    """The pause before retry number ``attempts`` (1 = the first retry): exponential from one
    second, capped at five minutes, with deterministic jitter in its upper half (so retries of
    many events do not arrive together, and a replayed log gives the same schedule)."""
    ceiling = min(MAX_RETRY_DELAY_MS, FIRST_RETRY_DELAY_MS << min(attempts - 1, 20))
    half = ceiling // 2
    mix = (seq * 0x9E3779B1 + attempts * 0x85EBCA77) & 0xFFFFFFFF
    return half + mix % (half + 1)


class PermanentFailure(Exception):
    """A delivery failure no retry can mend (an API destination's 400): the event is exhausted
    at once, whatever its retry policy says."""

    permanent = True


@dataclass(slots=True)
class Event:
    seq: int
    text: str  # the event as delivered (JSON)
    data: dict[str, Any]  # the same, decoded
    born_ms: int  # when it was put (its age counts from here)


@dataclass(frozen=True, slots=True)
class TargetSpec:
    """What the engine needs of a target: its key (``<rule key>/<target id>``) and its retry
    policy, or that it is an archive."""

    key: str
    maximum_retry_attempts: int = 185
    maximum_event_age_ms: int = 86_400_000
    has_dead_letter_queue: bool = False
    # an archive keeps what it matched (never delivered) until it is older than the retention
    # (0: forever); replays read it back (:meth:`BusPartition.archived`)
    archive: bool = False
    retention_ms: int = 0


@dataclass(slots=True)
class Delivery:
    seq: int
    attempt: int  # 1 for the first delivery
    event: Event


@dataclass(slots=True)
class Exhausted:
    """An event the target gave up on, held until :meth:`BusPartition.settle_exhausted`.
    ``error`` is the last delivery's failure, or None when it was not tried again (it outlived
    its age, or comes back from a dead-letter queue that refused it)."""

    seq: int
    event: Event
    attempts: int
    error: object


LATENCY_BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)


@dataclass(slots=True)
class TargetCounters:
    matched: int = 0  # events the target's rule matched for it
    invocations: int = 0  # deliveries attempted
    delivered: int = 0
    failed: int = 0  # deliveries that failed (each attempt)
    retried: int = 0  # deliveries that were retries
    dead_lettered: int = 0
    discarded: int = 0  # exhausted without a dead-letter queue


@dataclass(slots=True)
class BusCounters:
    events: int = 0
    matched: int = 0  # events that matched at least one target
    bytes: int = 0
    rules: dict[str, int] = field(default_factory=dict)  # rule key → events it matched
    # from put to the first delivery attempt (EventBridge's IngestionToInvocationStartLatency)
    latency: list[int] = field(default_factory=lambda: [0] * (len(LATENCY_BUCKETS_S) + 1))
    latency_sum_s: float = 0.0

    def observe_latency(self, seconds: float) -> None:
        self.latency_sum_s += seconds
        for index, bound in enumerate(LATENCY_BUCKETS_S):
            if seconds <= bound:
                self.latency[index] += 1
                return
        self.latency[-1] += 1

    def latency_histogram(self) -> dict[str, Any]:
        """Cumulative buckets by bound (a map, so partitions' histograms add up)."""
        buckets: dict[str, int] = {}
        running = 0
        bounds = [f"{bound:g}" for bound in LATENCY_BUCKETS_S] + ["+Inf"]
        for bound, count in zip(bounds, self.latency, strict=True):
            running += count
            buckets[bound] = running
        return {"buckets": buckets, "sum": self.latency_sum_s, "count": running}


@dataclass(slots=True)
class _Target:
    number: int
    key: str
    spec: TargetSpec | None = None
    pending: deque[int] = field(default_factory=deque)
    retries: dict[int, tuple[int, int]] = field(default_factory=dict)  # seq → (attempts, due)
    heap: list[tuple[int, int]] = field(default_factory=list)  # (due, seq), lazily cleaned
    inflight: dict[int, int] = field(default_factory=dict)  # seq → attempt number
    moving: dict[int, int] = field(default_factory=dict)  # seq → attempts (to the DLQ)
    counters: TargetCounters = field(default_factory=TargetCounters)

    def rebuild_heap(self) -> None:
        held = self.inflight.keys() | self.moving.keys()
        self.heap = [(due, seq) for seq, (_, due) in self.retries.items() if seq not in held]
        heapq.heapify(self.heap)

    def owes(self) -> int:
        return len(self.pending) + len(self.retries) + len(self.inflight) + len(self.moving)


def _never(_event: dict[str, Any], _rules: tuple[str, ...] | None, _to: bool) -> Iterable[str]:
    return ()


class BusPartition:
    """One partition of an event bus (see the module docstring)."""

    def __init__(
        self,
        config: BusConfig,
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
        self.counters = BusCounters()
        self._log = log
        self._next_seq = 1
        self._next_number = 1
        # seq → [offset of its EVENT record, put time, targets still owing it, size of its JSON]
        self._retained: dict[int, list[int]] = {}
        self._replays: dict[str, tuple[int, int, bool]] = {}  # name → (last seq, at ms, done)
        self._targets: dict[str, _Target] = {}
        self._by_number: dict[int, _Target] = {}
        self._busy: set[str] = set()  # keys with work (pending or retries), maybe stale
        self._cache: dict[int, Event] = {}
        self._cache_used = 0
        self._cache_limit = cache_bytes
        self._matcher: Matcher = _never
        self._event_id = MessageIds(tag)
        self._gone: set[tuple[int, int]] = set()  # (number, seq) settled while recovering

    # -- rules and targets -----------------------------------------------------------------------
    def set_matcher(self, matcher: Matcher) -> None:
        """The function that matches an event against the bus's rules (installed by the shell
        whenever rules change; matching happens at put time)."""
        self._matcher = matcher

    def set_targets(self, now_ms: int, specs: Sequence[TargetSpec]) -> None:
        """Make ``specs`` the target set. A new key gets events put from now on; a missing one
        is forgotten with what it still owed (a TARGETS record); a known one takes the new
        spec. Raises ValueError if two specs share a key."""
        wanted: dict[str, TargetSpec] = {}
        for spec in specs:
            if spec.key in wanted:
                raise ValueError(f"two targets share the key {spec.key!r}")
            wanted[spec.key] = spec
        added: list[list[Any]] = []
        removed: list[int] = []
        for target in list(self._targets.values()):
            if target.key not in wanted:
                removed.append(target.number)
                self._remove_target(target)
        for key, spec in wanted.items():
            known = self._targets.get(key)
            if known is None:
                known = self._add_target(self._next_number, key)
                added.append([known.number, key])
            known.spec = spec
        if added or removed:
            self._log.append([encode([_TARGETS, now_ms, added, removed])])

    def _add_target(self, number: int, key: str) -> _Target:
        target = _Target(number, key)
        self._targets[key] = target
        self._by_number[number] = target
        self._next_number = max(self._next_number, number + 1)
        return target

    def _remove_target(self, target: _Target) -> None:
        del self._targets[target.key]
        del self._by_number[target.number]
        self._busy.discard(target.key)
        owed = {*target.pending, *target.retries, *target.inflight, *target.moving}
        for seq in owed:
            self._release(seq)

    def target_keys(self) -> list[str]:
        return list(self._targets)

    # -- put -------------------------------------------------------------------------------------
    def put(
        self, now_ms: int, entries: Sequence[EventEntry]
    ) -> list[PutEventsResult | RaybusError]:
        """Check, build, match and log each entry; per-entry results in order."""
        results: list[PutEventsResult | RaybusError] = []
        records: list[bytes] = []
        placed: list[tuple[Event, list[int]]] = []
        account, region_name = account_id(), region()
        by_key, matcher = self._targets, self._matcher
        for entry in entries:
            try:
                internal = entry.internal or entry.replay_name is not None
                detail = check_entry(entry, internal=internal)
            except RaybusError as error:
                results.append(error)
                continue
            seq = self._next_seq
            self._next_seq = seq + 1
            event_id = self._event_id(seq)
            data: dict[str, Any] = {
                "version": "0",
                "id": event_id,
                "detail-type": entry.detail_type,
                "source": entry.source,
                "account": account,
                "time": event_time(entry.time_ms if entry.time_ms is not None else now_ms),
                "region": region_name,
                "resources": list(entry.resources),
                "detail": detail,
            }
            if entry.replay_name is not None:
                data["replay-name"] = entry.replay_name
            numbers = sorted(
                {
                    target.number
                    for key in matcher(data, entry.rules, entry.addressed)
                    if (target := by_key.get(key)) is not None
                }
            )
            text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
            records.append(encode([_EVENT, seq, now_ms, text, numbers]))
            placed.append((Event(seq, text, data, now_ms), numbers))
            results.append(PutEventsResult(event_id))
        if records:
            offsets = self._log.append(records)
            counters = self.counters
            for (event, numbers), offset in zip(placed, offsets, strict=True):
                counters.events += 1
                counters.bytes += len(event.text)
                if numbers:
                    counters.matched += 1
                    self._retain(event, offset, numbers)
        return results

    def _retain(self, event: Event, offset: int, numbers: list[int]) -> None:
        self._retained[event.seq] = [offset, event.born_ms, len(numbers), len(event.text)]
        rules: set[str] = set()
        for number in numbers:
            target = self._by_number[number]
            target.pending.append(event.seq)
            target.counters.matched += 1
            rules.add(target.key.rsplit("/", 1)[0])
            self._busy.add(target.key)
        hits = self.counters.rules
        for rule in rules:
            hits[rule] = hits.get(rule, 0) + 1
        self._cache_put(event)

    def _release(self, seq: int) -> None:
        held = self._retained.get(seq)
        if held is None:
            return
        held[2] -= 1
        if held[2] <= 0:
            del self._retained[seq]
            cached = self._cache.pop(seq, None)
            if cached is not None:
                self._cache_used -= len(cached.text) + _EVENT_OVERHEAD_BYTES

    # -- take and settle -------------------------------------------------------------------------
    def ready(self, now_ms: int) -> list[str]:
        """The keys of the targets that have something to take now."""
        out: list[str] = []
        stale: list[str] = []
        for key in self._busy:
            target = self._targets.get(key)
            if target is None or (not target.pending and not target.retries):
                stale.append(key)
            elif (
                target.spec is not None
                and not target.spec.archive
                and (target.pending or (target.heap and target.heap[0][0] <= now_ms))
            ):
                out.append(key)
        for key in stale:
            self._busy.discard(key)
        return out

    def has_work(self, now_ms: int) -> bool:
        return bool(self.ready(now_ms))

    def next_due_ms(self) -> int | None:
        """The earliest due time of a retry not in flight, or None."""
        due: int | None = None
        for key in self._busy:
            target = self._targets.get(key)
            if target is None or target.spec is None or target.spec.archive:
                continue
            heap = target.heap
            while heap:
                at, seq = heap[0]
                entry = target.retries.get(seq)
                if (
                    entry is None
                    or entry[1] != at
                    or seq in target.inflight
                    or seq in target.moving
                ):
                    heapq.heappop(heap)
                    continue
                if due is None or at < due:
                    due = at
                break
        return due

    def take(self, now_ms: int, key: str, limit: int) -> tuple[list[Delivery], list[Exhausted]]:
        """Up to ``limit`` deliveries for target ``key`` (due retries first, then new events),
        now in flight; and the events that outlived the target's event age before their next
        try (held for its dead-letter queue, or dropped — a SETTLE record — if it has none)."""
        out: list[Delivery] = []
        expired: list[Exhausted] = []
        target = self._targets.get(key)
        if target is None or target.spec is None or target.spec.archive or limit < 1:
            return out, expired
        spec = target.spec
        oldest = now_ms - spec.maximum_event_age_ms
        dropped: list[int] = []
        heap, retries, inflight, moving = (
            target.heap,
            target.retries,
            target.inflight,
            target.moving,
        )
        retried = 0
        while heap and len(out) < limit and heap[0][0] <= now_ms:
            due, seq = heapq.heappop(heap)
            entry = retries.get(seq)
            if entry is None or entry[1] != due or seq in inflight or seq in moving:
                continue
            event = self._event(seq)
            if event.born_ms <= oldest or entry[0] > spec.maximum_retry_attempts:
                # too old, or spent (back from a dead-letter queue that refused it)
                self._exhaust(target, seq, entry[0], event, None, expired, dropped)
                continue
            inflight[seq] = entry[0] + 1
            out.append(Delivery(seq, entry[0] + 1, event))
            retried += 1
        pending = target.pending
        counters = self.counters
        while pending and len(out) < limit:
            seq = pending.popleft()
            event = self._event(seq)
            if event.born_ms <= oldest:
                self._exhaust(target, seq, 0, event, None, expired, dropped)
                continue
            inflight[seq] = 1
            out.append(Delivery(seq, 1, event))
            counters.observe_latency(max(0, now_ms - event.born_ms) / 1000)
        target.counters.invocations += len(out)
        target.counters.retried += retried
        if dropped:
            self._commit_settle(now_ms, target, dropped, [])
        return out, expired

    def _exhaust(
        self,
        target: _Target,
        seq: int,
        attempts: int,
        event: Event,
        error: object,
        exhausted: list[Exhausted],
        dropped: list[int],
    ) -> None:
        assert target.spec is not None
        if target.spec.has_dead_letter_queue:
            target.moving[seq] = attempts
            exhausted.append(Exhausted(seq, event, attempts, error))
        else:
            target.counters.discarded += 1
            dropped.append(seq)

    def settle(
        self, now_ms: int, key: str, outcomes: Sequence[tuple[int, object]]
    ) -> list[Exhausted]:
        """Report ``(seq, outcome)`` of deliveries in flight (True: delivered; anything else:
        the failure). Returns the events exhausted for a target with a dead-letter queue; they
        stay held until :meth:`settle_exhausted`. Logs one SETTLE record."""
        target = self._targets.get(key)
        exhausted: list[Exhausted] = []
        if target is None or target.spec is None or not target.inflight:
            return exhausted
        spec = target.spec
        done: list[int] = []
        retrying: list[list[int]] = []
        inflight, counters = target.inflight, target.counters
        for seq, outcome in outcomes:
            attempt = inflight.pop(seq, None)
            if attempt is None:
                continue
            if outcome is True:
                done.append(seq)
                counters.delivered += 1
                continue
            counters.failed += 1
            event = self._event(seq)
            if (
                attempt > spec.maximum_retry_attempts
                or now_ms - event.born_ms >= spec.maximum_event_age_ms
                or isinstance(outcome, PermanentFailure)
            ):
                self._exhaust(target, seq, attempt, event, outcome, exhausted, done)
                continue
            due = now_ms + retry_delay_ms(attempt, seq)
            retrying.append([seq, attempt, due])
        self._commit_settle(now_ms, target, done, retrying)
        return exhausted

    def settle_exhausted(
        self, now_ms: int, key: str, seqs: Sequence[int], dead_lettered: bool
    ) -> None:
        """The shell moved exhausted ``seqs`` to the dead-letter queue (``dead_lettered``: done
        for good) or failed to (offered to it again after ``REDRIVE_RETRY_DELAY_MS``; never
        lost). Logs one SETTLE record."""
        target = self._targets.get(key)
        if target is None or not target.moving:
            return
        done: list[int] = []
        retrying: list[list[int]] = []
        for seq in seqs:
            attempts = target.moving.pop(seq, None)
            if attempts is None:
                continue
            if dead_lettered:
                done.append(seq)
            else:
                retrying.append([seq, attempts, now_ms + REDRIVE_RETRY_DELAY_MS])
        target.counters.dead_lettered += len(done)
        self._commit_settle(now_ms, target, done, retrying)

    def _commit_settle(
        self, now_ms: int, target: _Target, done: list[int], retrying: list[list[int]]
    ) -> None:
        if not done and not retrying:
            return
        self._apply_settle(target, done, retrying)
        self._log.append([encode([_SETTLE, now_ms, target.number, done, retrying])])
        if len(target.heap) > 2 * len(target.retries) + SLACK_ENTRIES:
            target.rebuild_heap()

    def _apply_settle(self, target: _Target, done: list[int], retrying: list[list[int]]) -> None:
        retries = target.retries
        for seq in done:
            retries.pop(seq, None)
            self._release(seq)
        for seq, attempts, due in retrying:
            retries[seq] = (attempts, due)
            heapq.heappush(target.heap, (due, seq))
        if retrying:
            self._busy.add(target.key)

    # -- events ----------------------------------------------------------------------------------
    def _cache_put(self, event: Event) -> None:
        size = len(event.text) + _EVENT_OVERHEAD_BYTES
        if self._cache_used + size <= self._cache_limit:
            self._cache[event.seq] = event
            self._cache_used += size

    def _event(self, seq: int) -> Event:
        """A retained event: from the cache, else read back from its EVENT record."""
        event = self._cache.get(seq)
        if event is not None:
            return event
        offset, born_ms = self._retained[seq][:2]
        record = decode(self._log.read(offset))
        if record[0] != _EVENT or record[1] != seq:
            raise RaybusError("StorageFailure", f"Log offset of event {seq} holds another record.")
        event = Event(seq, record[3], json.loads(record[3]), born_ms)
        self._cache_put(event)
        return event

    # -- archives and replays ---------------------------------------------------------------------
    def expire(self, now_ms: int) -> bool:
        """Drop what each archive holds past its retention (a SETTLE record per archive);
        True if anything was dropped."""
        dropped_any = False
        retained = self._retained
        for target in self._targets.values():
            spec = target.spec
            if spec is None or not spec.archive or not spec.retention_ms or not target.pending:
                continue
            oldest = now_ms - spec.retention_ms
            pending = target.pending
            done: list[int] = []
            while pending and retained[pending[0]][1] < oldest:
                done.append(pending.popleft())
            if done:
                self._commit_settle(now_ms, target, done, [])
                dropped_any = True
        return dropped_any

    def next_expiry_ms(self) -> int | None:
        """When the oldest archived event of any archive passes its retention, or None."""
        due: int | None = None
        for target in self._targets.values():
            spec = target.spec
            if spec is None or not spec.archive or not spec.retention_ms or not target.pending:
                continue
            at = self._retained[target.pending[0]][1] + spec.retention_ms + 1
            due = at if due is None else min(due, at)
        return due

    def archived(
        self, key: str, start_ms: int, end_ms: int, after_seq: int, limit: int
    ) -> list[Event]:
        """Up to ``limit`` events of archive ``key`` put in ``[start_ms, end_ms]`` with a seq
        above ``after_seq``, in put order."""
        target = self._targets.get(key)
        if target is None or limit < 1:
            return []
        pending = target.pending
        index = bisect_right(pending, after_seq)
        out: list[Event] = []
        retained = self._retained
        while index < len(pending) and len(out) < limit:
            seq = pending[index]
            index += 1
            born = retained[seq][1]
            if born > end_ms:
                break
            if born >= start_ms:
                out.append(self._event(seq))
        return out

    def archive_size(self, key: str) -> tuple[int, int]:
        """(events, bytes) archive ``key`` holds here."""
        target = self._targets.get(key)
        if target is None:
            return 0, 0
        retained = self._retained
        return len(target.pending), sum(retained[seq][3] for seq in target.pending)

    def replay_progress(self, name: str) -> tuple[int, int, bool]:
        """(last seq replayed, when, done) of replay ``name`` here; (0, 0, False) if new."""
        return self._replays.get(name, (0, 0, False))

    def record_replay(self, now_ms: int, name: str, last_seq: int, done: bool) -> None:
        """Replay ``name`` has put every archived event up to ``last_seq`` (and, if ``done``,
        every one it will): a REPLAY record, so a restart continues from there."""
        self._replays[name] = (last_seq, now_ms, done)
        self._log.append([encode([_REPLAY, now_ms, name, last_seq, done])])

    def forget_replays(self, keep: set[str]) -> None:
        """Stop remembering replays no longer in the catalog (a snapshot drops them)."""
        for name in [n for n in self._replays if n not in keep]:
            del self._replays[name]

    # -- stats -----------------------------------------------------------------------------------
    def stats(self) -> dict[str, Any]:
        targets: dict[str, dict[str, int]] = {}
        for key, target in self._targets.items():
            c = target.counters
            targets[key] = {
                "matched": c.matched,
                "backlog": target.owes(),
                "retrying": len(target.retries),
                "invocations": c.invocations,
                "delivered": c.delivered,
                "failed": c.failed,
                "retried": c.retried,
                "dead_lettered": c.dead_lettered,
                "discarded": c.discarded,
            }
        archives = {}
        for key, target in self._targets.items():
            if target.spec is not None and target.spec.archive:
                count, size = self.archive_size(key)
                archives[key] = {"events": count, "bytes": size}
        return {
            "events": self.counters.events,
            "matched": self.counters.matched,
            "retained": len(self._retained),
            "targets": targets,
            "archives": archives,
            "rules": dict(self.counters.rules),
            "latency": self.counters.latency_histogram(),
            "replays": {
                name: {"last_seq": last, "at_ms": at, "done": done}
                for name, (last, at, done) in self._replays.items()
            },
        }

    # -- recovery --------------------------------------------------------------------------------
    def replay(self, offset: int, payload: bytes) -> None:
        """Apply one record read back from the log (before :meth:`finish_recovery`)."""
        record = decode(payload)
        kind = record[0]
        if kind == _EVENT:
            seq = record[1]
            if seq < self._next_seq:  # a compaction copy: the event now lives here
                held = self._retained.get(seq)
                if held is not None:
                    held[0] = offset
                return
            self._next_seq = seq + 1
            numbers = [n for n in record[4] if n in self._by_number]
            if numbers:
                self._retained[seq] = [offset, record[2], len(numbers), len(record[3])]
                for number in numbers:
                    self._by_number[number].pending.append(seq)
        elif kind == _TARGETS:
            for number, key in record[2]:
                self._add_target(number, key)
            for number in record[3]:
                target = self._by_number.get(number)
                if target is not None:
                    self._remove_target(target)
        elif kind == _SETTLE:
            target = self._by_number.get(record[2])
            if target is None:
                return
            for seq in record[3]:
                if seq not in target.retries:
                    self._gone.add((target.number, seq))  # still in its pending deque
                target.retries.pop(seq, None)
                self._release(seq)
            for seq, attempts, due in record[4]:
                if seq not in target.retries:
                    self._gone.add((target.number, seq))
                target.retries[seq] = (attempts, due)
        elif kind == _REPLAY:
            self._replays[record[2]] = (record[3], record[1], record[4])
        else:
            raise RaybusError("StorageFailure", f"Unknown bus record type {kind}.")

    def finish_recovery(self) -> None:
        """Rebuild the in-memory indexes after :meth:`replay` or :meth:`restore`."""
        gone = self._gone
        for target in self._targets.values():
            if gone:
                number = target.number
                target.pending = deque(
                    s for s in target.pending if (number, s) not in gone and s not in target.retries
                )
            target.inflight = {}
            target.moving = {}
            target.rebuild_heap()
            if target.pending or target.retries:
                self._busy.add(target.key)
        self._gone = set()

    def snapshot(self) -> dict[str, Any]:
        """The durable state as msgpack-ready data. Version 1: ``{"v", "next_seq",
        "next_number", "retained": [[seq, offset, born_ms, owed, size]...], "targets": [[number,
        key, [pending seq...], [[seq, attempts, due_ms]...]]...], "replays": [[name, last seq,
        at_ms, done]...]}`` — events in flight or on their
        way to a dead-letter queue are saved where they came from (pending or retrying)."""
        targets = []
        for target in self._targets.values():
            pending = sorted(
                {
                    *target.pending,
                    *(s for s in target.inflight if s not in target.retries),
                    *(s for s in target.moving if s not in target.retries),
                }
            )
            targets.append(
                [
                    target.number,
                    target.key,
                    pending,
                    [[seq, a, due] for seq, (a, due) in sorted(target.retries.items())],
                ]
            )
        return {
            "v": _SNAPSHOT_VERSION,
            "next_seq": self._next_seq,
            "next_number": self._next_number,
            "retained": [[seq, *held] for seq, held in self._retained.items()],
            "targets": targets,
            "replays": [[name, *progress] for name, progress in sorted(self._replays.items())],
        }

    def restore(self, state: dict[str, Any]) -> None:
        """Load a :meth:`snapshot` into a fresh engine; call :meth:`finish_recovery` after
        replaying the records written since."""
        if state.get("v") != _SNAPSHOT_VERSION:
            raise RaybusError("StorageFailure", f"Unknown bus snapshot version {state.get('v')}.")
        self._next_seq = state["next_seq"]
        self._next_number = state["next_number"]
        self._retained = {seq: list(held) for seq, *held in state["retained"]}
        self._replays = {name: (last, at, done) for name, last, at, done in state["replays"]}
        for number, key, pending, retries in state["targets"]:
            target = self._add_target(number, key)
            target.pending = deque(pending)
            target.retries = {seq: (attempts, due) for seq, attempts, due in retries}

    def live_offsets(self) -> list[int]:
        """Sorted log offsets of every retained event's EVENT record."""
        return sorted(held[0] for held in self._retained.values())

    def relocate(self, moved: dict[int, int]) -> None:
        """Compaction copied EVENT records: point retained events at their new offsets."""
        for held in self._retained.values():
            new = moved.get(held[0])
            if new is not None:
                held[0] = new
