"""Model-based test of the topic engine under random publishes, subscription changes, takes,
settles, dead-letter outcomes, clock jumps, checkpoints (compaction) and crashes.

After every step an engine recovered from the log — from the log's snapshot plus its tail, by
full replay while nothing was compacted, and from an older in-memory snapshot plus the tail —
must hold exactly the live engine's durable state (cursors, settled-out-of-order seqs, retries
with attempts and due times, retained messages, dedup window). Retention must keep exactly the
messages some cursor or retry still needs. Deliveries are checked on the way (never twice in
flight, never from before the subscription; FIFO subscribers in order per message group: a
message is handed out only once every earlier message of its group is settled for good or goes
in the same batch ahead of it, and is settled as delivered only after them) and at the end
every message each subscriber was owed has been delivered, filtered out, dead-lettered or
discarded.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import msgpack
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from raybus.core.topics import PublishEntry, PublishResult, TopicConfig
from raybus.engines import Delivery, Message, Subscriber, TopicPartition
from raybus.engines.topic.records import TopicRecordType, decode_topic_record
from raybus.storage import MemoryLog, plan_compaction

IDS = ("a", "b", "c")
GROUPS = ("g", "h", "k")
POLICIES: dict[str, Callable[[int], int | None]] = {
    "none": lambda n: None,
    "twice": lambda n: (0, 2_000)[n - 1] if n <= 2 else None,
    "slow": lambda n: 30_000 if n <= 3 else None,
}


def rejects_thirds(message: Message) -> bool:
    return int(message.body.decode()[1:]) % 3 != 0


@dataclass
class Owed:
    """What the model knows of one subscriber incarnation."""

    spec: Subscriber
    first_seq: int
    in_flight: dict[int, Delivery] = field(default_factory=dict)
    moving: list[int] = field(default_factory=list)
    accounted: set[int] = field(default_factory=set)  # delivered, filtered, dead, discarded
    last_ok: dict[str | None, int] = field(default_factory=dict)  # per group


class TopicMachine(RuleBasedStateMachine):
    @initialize(
        fifo=st.booleans(),
        policies=st.lists(st.sampled_from(sorted(POLICIES)), min_size=3, max_size=3),
        dlqs=st.lists(st.booleans(), min_size=3, max_size=3),
    )
    def setup(self, fifo: bool, policies: list[str], dlqs: list[bool]) -> None:
        self.config = TopicConfig("m.fifo" if fifo else "m", fifo=fifo)
        self.log = MemoryLog(segment_bytes=1024)
        self.engine = TopicPartition(self.config, self.log, tag=4)
        self.now = 1_000_000
        self.counter = 0
        self.subs: dict[str, Owed] = {}
        self.published: list[tuple[int, int]] = []  # (seq, body number)
        self.group_of: dict[int, str | None] = {}
        self.compacted = False
        self.old_snapshot: tuple[int, bytes] | None = None
        for sub_id, policy, dlq in zip(IDS, policies, dlqs, strict=True):
            self.subscribe_or_change(sub_id, policy, dlq, True)

    # -- helpers ---------------------------------------------------------------------------------
    def commit(self) -> None:
        self.log.commit()  # the shell commits after every engine call

    def recover(self, snapshot: tuple[int, bytes] | None, *, full: bool = False) -> TopicPartition:
        fresh = TopicPartition(self.config, self.log, tag=4)
        start = 0
        if not full and snapshot is not None:
            start, blob = snapshot
            fresh.restore(msgpack.unpackb(blob, raw=False, strict_map_key=False))
        for offset, payload in self.log.scan(start):
            fresh.replay(offset, payload)
        fresh.finish_recovery()
        return fresh

    def install(self) -> None:
        self.engine.set_subscriptions(self.now, [owed.spec for owed in self.subs.values()])
        self.commit()

    # -- rules -----------------------------------------------------------------------------------
    @rule(
        groups=st.lists(st.sampled_from(GROUPS), min_size=1, max_size=4),
        dedup=st.sampled_from("wxyz"),
    )
    def publish(self, groups: list[str], dedup: str) -> None:
        fifo = self.config.fifo
        entries, numbers = [], []
        for i, group in enumerate(groups):
            self.counter += 1
            numbers.append(self.counter)
            entries.append(
                PublishEntry(
                    f"m{self.counter}",
                    group_id=group if fifo else None,
                    dedup_id=f"{dedup}{i}" if fifo else None,
                )
            )
        results = self.engine.publish(self.now, entries)
        self.commit()
        for number, entry, result in zip(numbers, entries, results, strict=True):
            assert isinstance(result, PublishResult)
            if not result.duplicate:
                seq = int(result.message_id[-12:], 16)
                self.published.append((seq, number))
                self.group_of[seq] = entry.group_id

    @rule(count=st.integers(1, 8), data=st.data())
    def publish_then_deliver(self, count: int, data: st.DataObject) -> None:
        self.publish([GROUPS[i % 2] for i in range(count)], "w")
        for sub_id in sorted(self.subs):
            self.take_from(sub_id, data.draw(st.integers(1, 6)))
            owed = self.subs[sub_id]
            if owed.in_flight:
                seqs = sorted(owed.in_flight)
                self.apply_settle(sub_id, [(seq, data.draw(st.booleans())) for seq in seqs])

    @rule(
        sub_id=st.sampled_from(IDS),
        policy=st.sampled_from(sorted(POLICIES)),
        dlq=st.booleans(),
        enabled=st.booleans(),
    )
    def subscribe_or_change(self, sub_id: str, policy: str, dlq: bool, enabled: bool) -> None:
        spec = Subscriber(
            sub_id,
            fifo_order=self.config.fifo,
            matches=rejects_thirds if sub_id == "b" else None,
            retry_delay_ms=POLICIES[policy],
            has_dead_letter_queue=dlq,
            enabled=enabled,
        )
        owed = self.subs.get(sub_id)
        if owed is None:
            self.subs[sub_id] = Owed(spec, self.engine.next_seq)
        else:
            owed.spec = spec
        self.install()

    @precondition(lambda self: self.subs)
    @rule(data=st.data())
    def unsubscribe(self, data: st.DataObject) -> None:
        del self.subs[data.draw(st.sampled_from(sorted(self.subs)))]
        self.install()

    @precondition(lambda self: self.subs)
    @rule(data=st.data(), limit=st.integers(1, 5))
    def take(self, data: st.DataObject, limit: int) -> None:
        self.take_from(data.draw(st.sampled_from(sorted(self.subs))), limit)

    def take_from(self, sub_id: str, limit: int) -> None:
        owed = self.subs[sub_id]
        before = self.engine.next_seq
        got = self.engine.take(self.now, sub_id, limit)
        self.commit()
        assert len(got) <= limit and self.engine.next_seq == before
        for delivery in got:
            assert delivery.seq not in owed.in_flight
            assert owed.first_seq <= delivery.seq < before
            owed.in_flight[delivery.seq] = delivery
        if owed.spec.fifo_order:
            self.check_group_order(owed, got)

    def check_group_order(self, owed: Owed, got: list[Delivery]) -> None:
        """Each delivery's earlier messages of its group are settled for good, or come ahead
        of it in this batch."""
        ahead: set[int] = set()
        for delivery in got:
            group = self.group_of[delivery.seq]
            for seq, number in self.published:
                if owed.first_seq <= seq < delivery.seq and self.group_of[seq] == group:
                    filtered = owed.spec.matches is not None and number % 3 == 0
                    assert filtered or seq in owed.accounted or seq in ahead
            ahead.add(delivery.seq)

    @precondition(lambda self: any(owed.in_flight for owed in self.subs.values()))
    @rule(data=st.data())
    def settle(self, data: st.DataObject) -> None:
        sub_id = data.draw(st.sampled_from(sorted(i for i, o in self.subs.items() if o.in_flight)))
        owed = self.subs[sub_id]
        seqs = data.draw(st.lists(st.sampled_from(sorted(owed.in_flight)), min_size=1, unique=True))
        outcomes = [(seq, data.draw(st.booleans())) for seq in seqs]
        self.apply_settle(sub_id, outcomes)

    def apply_settle(self, sub_id: str, outcomes: list[tuple[int, bool]]) -> None:
        owed = self.subs[sub_id]
        exhausted = self.engine.settle(self.now, sub_id, outcomes)
        self.commit()
        reported = dict(outcomes)
        fifo = owed.spec.fifo_order
        applied = [seq for seq, _ in outcomes]
        if fifo:  # per group in order, up to its first failed or unreported delivery
            applied = []
            stopped: dict[str | None, bool] = {}  # group -> stopped by a failure
            returning: set[str | None] = set()
            for seq in sorted(owed.in_flight):
                group = self.group_of[seq]
                if group not in stopped:
                    if seq not in reported:
                        stopped[group] = False
                        continue
                    applied.append(seq)
                    if not reported[seq]:
                        stopped[group] = True
                elif stopped[group] or group in returning or seq in reported:
                    returning.add(group)
                    del owed.in_flight[seq]  # returned to "not yet delivered"
        for seq in applied:
            delivery = owed.in_flight.pop(seq)
            if reported[seq]:
                if fifo:
                    group = self.group_of[seq]
                    assert seq > owed.last_ok.get(group, 0)
                    owed.last_ok[group] = seq
                owed.accounted.add(seq)
            elif owed.spec.retry_delay_ms(delivery.attempt) is None:
                if owed.spec.has_dead_letter_queue:
                    owed.moving.append(seq)
                else:
                    owed.accounted.add(seq)  # discarded
        assert sorted(e.seq for e in exhausted) == sorted(s for s in owed.moving if s in applied)

    @precondition(lambda self: any(owed.moving for owed in self.subs.values()))
    @rule(data=st.data(), dead_lettered=st.booleans())
    def settle_exhausted(self, data: st.DataObject, dead_lettered: bool) -> None:
        sub_id = data.draw(st.sampled_from(sorted(i for i, o in self.subs.items() if o.moving)))
        owed = self.subs[sub_id]
        self.engine.settle_exhausted(self.now, sub_id, owed.moving, dead_lettered)
        self.commit()
        if dead_lettered:
            owed.accounted.update(owed.moving)
        owed.moving = []

    @rule(ms=st.sampled_from([1, 1_000, 2_000, 30_000, 299_999, 300_001]))
    def advance(self, ms: int) -> None:
        self.now += ms

    @rule()
    def checkpoint(self) -> None:
        log, engine = self.log, self.engine
        log.roll()
        plan = plan_compaction(log.segments(), engine.live_offsets(), slack_ratio=0.0)
        if plan.relocate:
            copies = log.append([log.read(offset) for offset in plan.relocate])
            log.commit()
            engine.relocate(dict(zip(plan.relocate, copies, strict=True)))
        log.write_snapshot(log.end_offset, msgpack.packb(engine.snapshot(), use_bin_type=True))
        for base in plan.drop:
            log.delete_segment(base)
        self.compacted = self.compacted or bool(plan.drop)
        self.old_snapshot = None

    @rule()
    def remember_snapshot(self) -> None:
        self.old_snapshot = (
            self.log.end_offset,
            msgpack.packb(self.engine.snapshot(), use_bin_type=True),
        )

    @rule()
    def crash_and_recover(self) -> None:
        self.log = self.log.reopen()
        self.engine = self.recover(self.log.load_snapshot())
        for owed in self.subs.values():
            owed.in_flight.clear()
            owed.moving.clear()
        self.install()

    # -- invariants ------------------------------------------------------------------------------
    @invariant()
    def recovery_reproduces_the_durable_state(self) -> None:
        if not hasattr(self, "engine"):
            return
        live = self.engine
        live.stats(self.now)
        expected = live.snapshot()
        candidates = [self.recover(self.log.load_snapshot())]
        if not self.compacted:
            candidates.append(self.recover(None, full=True))
        if self.old_snapshot is not None:
            candidates.append(self.recover(self.old_snapshot))
        for fresh in candidates:
            fresh.stats(self.now)
            assert fresh.snapshot() == expected

    @invariant()
    def retention_keeps_exactly_what_is_still_needed(self) -> None:
        if not hasattr(self, "engine"):
            return
        state = self.engine.snapshot()
        needed: set[int] = set()
        for _, sub_id, cursor, _, retries in state["subs"]:
            needed.update(range(cursor, state["next_seq"]))
            needed.update(row[0] for row in retries)
            assert sub_id in self.subs
        assert set(state["seqs"]) == needed
        for seq, offset in zip(state["seqs"], state["offsets"], strict=True):
            record = decode_topic_record(self.log.read(offset))
            assert (record[0], record[1]) == (TopicRecordType.PUBLISH, seq)

    def teardown(self) -> None:
        """Drain: every subscriber eventually accounts for every message it was owed."""
        if not hasattr(self, "engine") or not self.subs:
            return
        for owed in self.subs.values():
            owed.spec = Subscriber(
                owed.spec.id, fifo_order=owed.spec.fifo_order, matches=owed.spec.matches
            )
            if owed.moving:
                self.engine.settle_exhausted(self.now, owed.spec.id, owed.moving, True)
                owed.accounted.update(owed.moving)
                owed.moving = []
        self.install()
        self.now += 10**9
        for sub_id, owed in self.subs.items():
            if owed.in_flight:
                self.apply_settle(sub_id, [(seq, True) for seq in owed.in_flight])
            while batch := self.engine.take(self.now, sub_id, 100):
                owed.in_flight = {d.seq: d for d in batch}
                self.apply_settle(sub_id, [(d.seq, True) for d in batch])
            owed_seqs = {seq for seq, _ in self.published if seq >= owed.first_seq}
            filtered = {
                seq
                for seq, number in self.published
                if owed.spec.matches is not None and number % 3 == 0
            }
            assert owed_seqs - filtered <= owed.accounted
            assert self.engine.stats(self.now)["subscriptions"][sub_id]["backlog"] == 0
        assert self.engine.message_count == 0


TestTopicAgreesWithItsRecovery = TopicMachine.TestCase
TestTopicAgreesWithItsRecovery.settings = settings(
    max_examples=120, stateful_step_count=50, deadline=None
)
