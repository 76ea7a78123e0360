"""Model-based tests: each engine agrees with a small reference model under random operations,
clock jumps and crash/recovery at random points (full replay, or snapshot plus tail)."""

from __future__ import annotations

from dataclasses import dataclass

import msgpack
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from raybus.core import ManualClock, QueueConfig, decode_receipt
from raybus.engines import DEDUP_WINDOW_MS, QueuePartition, SendEntry, new_partition
from raybus.storage import MemoryLog

RETENTION_S = 120


@dataclass
class Message:
    seq: int
    body: bytes
    group: str
    sent_ms: int
    visible_at: int
    count: int = 0
    received_ms: int = 0


class Model:
    """SQS semantics written the plain way: lists and linear scans."""

    def __init__(self, fifo: bool, delay_s: int) -> None:
        self.fifo, self.delay_ms = fifo, delay_s * 1000
        self.messages: dict[int, Message] = {}
        self.dedup: dict[str, tuple[int, int]] = {}  # id -> (expires, seq)
        self.next_seq = 1

    def expire(self, now: int) -> None:
        for seq in [s for s, m in self.messages.items() if m.sent_ms + RETENTION_S * 1000 <= now]:
            del self.messages[seq]

    def send(self, now: int, body: bytes, group: str, dedup: str) -> bool:
        """True if a new message was enqueued."""
        self.expire(now)
        if self.fifo:
            seen = self.dedup.get(dedup)
            if seen is not None and seen[0] > now:
                return False
            self.dedup[dedup] = (now + DEDUP_WINDOW_MS, self.next_seq)
        self.messages[self.next_seq] = Message(self.next_seq, body, group, now, now + self.delay_ms)
        self.next_seq += 1
        return True

    def in_flight(self, m: Message, now: int) -> bool:
        return m.count > 0 and m.visible_at > now

    def receive(self, now: int, limit: int, timeout_s: int) -> list[tuple[bytes, int]]:
        self.expire(now)
        live = sorted(self.messages.values(), key=lambda m: m.seq)
        if not self.fifo:
            chosen = [m for m in live if m.visible_at <= now][:limit]
        else:
            chosen = []
            taken: set[str] = set()
            while len(chosen) < limit:
                heads = []
                for group in {m.group for m in live} - taken:
                    members = [m for m in live if m.group == group]
                    if not any(self.in_flight(m, now) for m in members) and (
                        members[0].visible_at <= now
                    ):
                        heads.append((members[0].seq, group, members))
                if not heads:
                    break
                _, group, members = min(heads)
                taken.add(group)
                for m in members:
                    if len(chosen) >= limit or m.visible_at > now:
                        break
                    chosen.append(m)
        for m in chosen:
            m.count += 1
            m.visible_at = now + timeout_s * 1000
            m.received_ms = now
        return [(m.body, m.count) for m in chosen]

    def delete(self, now: int, seq: int, nonce: int) -> None:
        self.expire(now)
        m = self.messages.get(seq)
        if m is not None and m.count == nonce:
            del self.messages[seq]

    def change_visibility(self, now: int, seq: int, nonce: int, timeout_s: int) -> str | None:
        self.expire(now)
        m = self.messages.get(seq)
        if m is None or m.count != nonce or not self.in_flight(m, now):
            return "MessageNotInflight"
        if now + timeout_s * 1000 - m.received_ms > 43_200_000:
            return "InvalidParameterValue"
        m.visible_at = now + timeout_s * 1000
        return None

    def stats(self, now: int) -> dict[str, int]:
        self.expire(now)
        live = list(self.messages.values())
        in_flight = sum(self.in_flight(m, now) for m in live)
        delayed = sum(m.count == 0 and m.visible_at > now for m in live)
        oldest = min((m.sent_ms for m in live), default=None)
        return {
            "visible": len(live) - in_flight - delayed,
            "in_flight": in_flight,
            "delayed": delayed,
            "oldest_age_ms": 0 if oldest is None else now - oldest,
        }


class QueueMachine(RuleBasedStateMachine):
    fifo = False

    @initialize(delay_s=st.sampled_from([0, 0, 2]))
    def setup(self, delay_s: int) -> None:
        name = "m.fifo" if self.fifo else "m"
        self.config = QueueConfig.create(
            name, delay_s=delay_s, retention_s=RETENTION_S, visibility_timeout_s=3
        )
        self.log = MemoryLog()
        self.clock = ManualClock()
        self.engine: QueuePartition = new_partition(self.config, self.log, tag=5)
        self.model = Model(self.fifo, delay_s)
        self.receipts: list[str] = []
        self.snapshot: tuple[int, bytes] | None = None
        self.counter = 0

    @property
    def now(self) -> int:
        return self.clock.now_ms()

    @rule(count=st.integers(1, 4), group=st.sampled_from("abc"), dedup=st.sampled_from("wxyz"))
    def send(self, count: int, group: str, dedup: str) -> None:
        entries = []
        expected = []
        for i in range(count):
            self.counter += 1
            body = f"m{self.counter}".encode()
            dedup_id = f"{dedup}{i}" if self.fifo else None
            entries.append(
                SendEntry(body, group_id=group if self.fifo else None, dedup_id=dedup_id)
            )
            expected.append(self.model.send(self.now, body, group, dedup_id or ""))
        results = self.engine.send(self.now, entries)
        assert [not getattr(r, "duplicate", False) for r in results] == expected

    @rule(limit=st.integers(1, 6), timeout_s=st.sampled_from([0, 1, 3, 10]))
    def receive(self, limit: int, timeout_s: int) -> None:
        got = self.engine.receive(self.now, limit, timeout_s).messages
        assert [(m.body, m.receive_count) for m in got] == self.model.receive(
            self.now, limit, timeout_s
        )
        self.receipts.extend(m.receipt for m in got)

    @precondition(lambda self: self.receipts)
    @rule(data=st.data())
    def delete(self, data: st.DataObject) -> None:
        handle = data.draw(st.sampled_from(self.receipts))
        receipt = decode_receipt(handle)
        assert self.engine.delete(self.now, [handle]) == [None]
        self.model.delete(self.now, receipt.seq, receipt.nonce)

    @precondition(lambda self: self.receipts)
    @rule(data=st.data(), timeout_s=st.sampled_from([0, 2, 20]))
    def change_visibility(self, data: st.DataObject, timeout_s: int) -> None:
        handle = data.draw(st.sampled_from(self.receipts))
        receipt = decode_receipt(handle)
        (result,) = self.engine.change_visibility(self.now, [(handle, timeout_s)])
        expected = self.model.change_visibility(self.now, receipt.seq, receipt.nonce, timeout_s)
        assert getattr(result, "code", None) == expected

    @rule(seconds=st.sampled_from([0.5, 1, 2, 3, 10, 60, 301]))
    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)

    @rule()
    def take_snapshot(self) -> None:
        self.snapshot = (
            self.log.end_offset,
            msgpack.packb(self.engine.snapshot(), use_bin_type=True),
        )

    @rule(use_snapshot=st.booleans())
    def crash_and_recover(self, use_snapshot: bool) -> None:
        fresh = new_partition(self.config, self.log, tag=5)
        start = 0
        if use_snapshot and self.snapshot is not None:
            start, blob = self.snapshot
            fresh.restore(msgpack.unpackb(blob, raw=False, strict_map_key=False))
        for offset, payload in self.log.scan(start):
            fresh.replay(offset, payload)
        fresh.finish_recovery()
        self.engine = fresh

    @invariant()
    def counts_agree(self) -> None:
        if hasattr(self, "engine"):
            assert self.engine.stats(self.now) == self.model.stats(self.now)


class FifoQueueMachine(QueueMachine):
    fifo = True


TestStandardQueueAgreesWithTheModel = QueueMachine.TestCase
TestFifoQueueAgreesWithTheModel = FifoQueueMachine.TestCase
TestStandardQueueAgreesWithTheModel.settings = settings(
    max_examples=150, stateful_step_count=40, deadline=None
)
TestFifoQueueAgreesWithTheModel.settings = TestStandardQueueAgreesWithTheModel.settings
