"""Delivery in FIFO order (``Subscriber.fifo_order``, FIFO topics): per message group, as SNS.

SNS delivers a FIFO topic's message groups in parallel and each group strictly in order
("Messages that belong to the same group are processed one by one, in a strict order relative
to the group", docs.aws.amazon.com/sns/latest/dg/fifo-message-grouping.html): a message
waiting for a retry holds back the later messages of *its* group only.

Contract
--------
- **One batch in flight at a time** per subscriber (the delivery loop's way): ``take``
  returns nothing while a delivery is in flight or an exhausted message is on its way to the
  dead-letter queue.
- **Lines.** A group is *held* while it has a message in ``retries``: one waiting for a retry,
  and behind it the group's later messages, *held back* — scheduled like a retry with
  ``attempts`` 0 (never attempted, due at once). The subscriber's ``lines`` index them per
  group in seq order. A take hands out, group by group, each line from its head while its
  entries are due (a retry's due time; held-back entries are always due) — a retry goes
  alone, its group's later messages follow once it succeeded; a group whose whole line was
  handed out flows again, so its new messages follow in the same batch. Then new
  messages in publish order: those of a held group are held back (the cursor passes them and
  they stay retained, so a group held for days keeps only its own messages, not the other
  groups'); the filter settles the rejected ones. Both are logged in one SETTLE record.
- **Settle** walks the batch in seq order, each group on its own: a group stops at its first
  failure (it alone counts an attempt, and is retried or exhausted) or at its first unreported
  delivery (it stays in flight); after a failure every later delivery of the group goes back
  where it was (a line entry stays in its line, a new message is taken again and then held
  back), and after an unreported one, so do the group's first later reported delivery and
  everything after it. Nothing is ever settled ahead of an earlier message of its group;
  other groups settle as reported.
- **Recovery.** Held-back rows are SETTLE retry rows, so a log replay or a snapshot restores
  them with the retries; ``lines`` is rebuilt from ``retries`` when first needed.
- **Cost.** take: O(batch + g) for g held groups, plus one message lookup per held-back
  message; settle: O(b log b) for a batch of b plus one message lookup per delivery (the
  group); has_work and next_due_ms: O(g).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

from raybus.engines.topic.records import Delivery, Exhausted, Subscriber
from raybus.engines.topic.state import FILTER_SCAN_MAX, Lines, SubState, TopicState

__all__ = ["OrderedDelivery"]


class OrderedDelivery(TopicState):
    """The FIFO-order half of delivery (see the module docstring); the requests that use it
    are :class:`raybus.engines.topic.engine.TopicPartition`'s."""

    def _lines(self, sub: SubState) -> Lines:
        """The subscriber's lines, built from its retries on first use."""
        lines = sub.lines
        if lines is None:
            lines = {}
            for seq in sorted(sub.retries):
                lines.setdefault(self._message(seq).group_id, deque()).append(seq)
            sub.lines = lines
        return lines

    # -- take ------------------------------------------------------------------------------------
    def _take_in_order(
        self, now_ms: int, sub: SubState, spec: Subscriber, limit: int
    ) -> list[Delivery]:
        out: list[Delivery] = []
        if sub.inflight or sub.moving:
            return out
        lines = self._lines(sub)
        flowing: set[str | None] = set()
        if lines:
            self._take_lines(now_ms, sub, lines, limit, out, flowing)
        if len(out) < limit:
            self._take_new_in_order(sub, spec, lines, flowing, limit, out)
        return out

    def _take_lines(
        self,
        now_ms: int,
        sub: SubState,
        lines: Lines,
        limit: int,
        out: list[Delivery],
        flowing: set[str | None],
    ) -> None:
        """Each line from its head while its entries are due, up to and including its first
        retry (a retry goes without the messages behind it: they follow once it succeeded,
        so an endpoint that fails it again never gets them ahead of it); ``flowing`` gets the
        groups whose whole line was handed out."""
        retries, inflight, message = sub.retries, sub.inflight, self._message
        retried = 0
        for group, line in lines.items():
            if len(out) >= limit:
                break
            whole = True
            for seq in line:
                attempts, due, _ = retries[seq]
                if due > now_ms or len(out) >= limit:
                    whole = False
                    break
                inflight[seq] = attempts + 1
                out.append(Delivery(seq, attempts + 1, message(seq)))
                if attempts:
                    retried += 1
                    whole = False
                    break
            if whole:
                flowing.add(group)
        sub.counters.retried += retried

    def _take_new_in_order(
        self,
        sub: SubState,
        spec: Subscriber,
        lines: Lines,
        flowing: set[str | None],
        limit: int,
        out: list[Delivery],
    ) -> None:
        """New messages past the dispatch point: delivered, filtered out or held back (at
        most ``FILTER_SCAN_MAX`` of the last two per call)."""
        matches = spec.matches
        inflight, done, cache = sub.inflight, sub.done, self._cache
        seq, end = sub.dispatch, self._next_seq
        filtered: list[int] = []
        held: list[int] = []
        while seq < end and len(out) < limit:
            if done and seq in done:
                seq += 1
                continue
            message = cache.get(seq)
            if message is None:
                message = self._message(seq)
            seq += 1
            if matches is not None and not matches(message):
                filtered.append(message.seq)
            elif message.group_id in lines and message.group_id not in flowing:
                held.append(message.seq)
            else:
                inflight[message.seq] = 1
                out.append(Delivery(message.seq, 1, message))
                continue
            if len(filtered) + len(held) >= FILTER_SCAN_MAX:
                break
        sub.dispatch = seq
        if filtered or held:
            self._hold_back(sub, filtered, held)

    def _hold_back(self, sub: SubState, filtered: list[int], held: list[int]) -> None:
        """Settle ``filtered`` and hold ``held`` back, durably (one SETTLE record)."""
        for seq in filtered:
            self._mark_done(sub, seq)
        rows = [[seq, 0, 0, 0] for seq in held]
        for seq in held:
            self._schedule(sub, seq, 0, 0, 0)
        sub.counters.filtered += len(filtered)
        self._log_settle(sub, filtered, rows)
        self._collect()

    # -- settle ----------------------------------------------------------------------------------
    def _settle_in_order(
        self,
        now_ms: int,
        sub: SubState,
        spec: Subscriber,
        outcomes: Sequence[tuple[int, bool]],
        settled: list[int],
        retries: list[list[int]],
        exhausted: list[Exhausted],
    ) -> int:
        """Walk the deliveries in flight in seq order, each group stopping at its first
        failure or unreported delivery (see the module docstring). Returns the number
        delivered."""
        inflight = sub.inflight
        reported = dict(outcomes)
        stopped: dict[str | None, bool] = {}  # group -> stopped by a failure (else: unreported)
        returning: set[str | None] = set()
        returned: list[int] = []
        delivered = 0
        cache = self._cache
        for seq in sorted(inflight):
            message = cache.get(seq)
            group = (message if message is not None else self._message(seq)).group_id
            failed = stopped.get(group)
            if failed is None:
                ok = reported.get(seq)
                if ok is None:
                    stopped[group] = False
                    continue
                attempt = inflight.pop(seq)
                if ok:
                    settled.append(seq)
                    delivered += 1
                else:
                    stopped[group] = True
                    self._fail(now_ms, sub, spec, seq, attempt, settled, retries, exhausted)
            elif failed or group in returning or seq in reported:
                returning.add(group)
                del inflight[seq]
                returned.append(seq)
        fresh = [seq for seq in returned if seq not in sub.retries]
        if fresh:
            sub.dispatch = min(sub.dispatch, fresh[0])
        return delivered

    # -- timers ----------------------------------------------------------------------------------
    def _next_in_order(self, sub: SubState) -> int | None:
        """Due time of the earliest line head, or None (nothing waits, or a take would return
        nothing until the batch in flight is settled)."""
        if sub.inflight or sub.moving:
            return None
        retries = sub.retries
        heads = [retries[line[0]][1] for line in self._lines(sub).values()]
        return min(heads) if heads else None

    def _line_due(self, now_ms: int, sub: SubState) -> bool:
        """True if some line's head is due."""
        retries = sub.retries
        return any(retries[line[0]][1] <= now_ms for line in self._lines(sub).values())
