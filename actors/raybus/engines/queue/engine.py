"""The requests a queue partition serves: send, receive, delete, visibility, purge, transfers.

Contract
--------
- **Pure and synchronous.** Every operation takes ``now_ms`` from the caller, mutates state and
  appends the records describing the change to the injected log *buffer* (``log.append`` does no
  I/O) in one call, with no awaits. The host commits the log afterwards and acknowledges only
  then — except a receive, whose own record is in-flight state a crash may undo: its reply
  waits for the commit of the SEND records it exposes (``ReceiveResult.durable_through``), so a
  message is never observed before its send is durable, but not for its RECEIVE record.
- **Cost.** send, receive, delete and change-visibility are O(batch · log n) in the number of
  messages in flight or delayed and O(batch) otherwise: independent of queue depth.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from raybus.core.attributes import Attribute, md5_of_body
from raybus.core.errors import RaybusError
from raybus.core.tokens import Receipt, decode_receipt, encode_receipt
from raybus.engines.queue.messages import (
    MAX_VISIBILITY_TIMEOUT_S,
    DeadLetter,
    ReceivedMessage,
    SendEntry,
    SendResult,
    validate_entry,
)
from raybus.engines.queue.records import RecordType
from raybus.engines.queue.state import _OFFSET_MASK, QueueState
from raybus.engines.records import decode, encode

__all__ = ["QueuePartition", "ReceiveResult"]

PURGE_INTERVAL_MS = 60_000


@dataclass(frozen=True, slots=True)
class ReceiveResult:
    messages: list[ReceivedMessage]
    dead_letters: list[DeadLetter]
    durable_through: int = 0  # the messages' SEND records start below this log offset


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


class QueuePartition(QueueState):
    """One partition of a queue: the requests it serves (see the module docstring)."""

    # -- send ------------------------------------------------------------------------------------
    def send(self, now_ms: int, entries: Sequence[SendEntry]) -> list[SendResult | RaybusError]:
        """Validate and enqueue each entry; per-entry results in order (SQS batch semantics).

        Cost: this loop runs once per message sent (a ×1,000 batch is a thousand turns of it),
        so a standard queue's plain message — a body and nothing else, what most sends are —
        is checked inline (what :func:`validate_entry` would check of it: not empty, within the
        size limit) and skips the FIFO bookkeeping; anything else goes through
        :func:`validate_entry`. Both write the same record and answer the same result.
        """
        self.advance(now_ms)
        config = self.config
        fifo = self.fifo
        max_bytes = config.max_message_bytes
        queue_delay_s = config.delay_s
        ids = self._message_id
        pack = encode
        send_type = RecordType.SEND
        results: list[SendResult | RaybusError] = []
        records: list[bytes] = []
        admitted: list[tuple[int, int, int, int]] = []  # seq, sent_ms, visible_at, group
        sent = sent_bytes = 0
        for entry in entries:
            body = entry.body
            plain = (
                not fifo
                and entry.attributes is None
                and entry.delay_s is None
                and entry.group_id is None
                and entry.dedup_id is None
            )
            if plain and type(body) is str:
                body = body.encode("utf-8")
            if plain and type(body) is bytes and 0 < len(body) <= max_bytes:
                md5 = entry.md5_of_body or md5_of_body(body)
                attributes: list[list[Any]] = []
                md5_attributes = ""
                delay_s = queue_delay_s
                group_id = dedup_id = None
            else:
                try:
                    valid = validate_entry(
                        entry,
                        fifo=fifo,
                        max_message_bytes=max_bytes,
                        content_based_dedup=config.content_based_dedup,
                    )
                except RaybusError as error:
                    results.append(error)
                    continue
                if fifo and not entry.message_id:
                    duplicate = self._check_duplicate(now_ms, valid)
                    if duplicate is not None:
                        self.counters.deduplicated += 1
                        results.append(duplicate)
                        continue
                body = valid.body
                md5 = valid.md5_of_body
                attributes = [[name, a.data_type, a.value] for name, a in valid.attributes.items()]
                md5_attributes = valid.md5_of_attributes
                delay_s = queue_delay_s if valid.delay_s is None else valid.delay_s
                group_id = valid.group_id
                dedup_id = valid.dedup_id
            seq = self._next_seq
            self._next_seq = seq + 1
            message_id = entry.message_id or ids(seq)
            # a transfer keeps its enqueue time on standard queues; FIFO queues restart it (SQS)
            sent_ms = entry.sent_ms if entry.sent_ms is not None and not fifo else now_ms
            visible_at = now_ms + delay_s * 1000
            records.append(
                pack(
                    [
                        send_type,
                        seq,
                        sent_ms,
                        visible_at,
                        message_id,
                        body,
                        attributes,
                        md5,
                        md5_attributes,
                        group_id,
                        dedup_id,
                        entry.system,
                    ]
                )
            )
            if fifo:
                admitted.append((seq, sent_ms, visible_at, self._group_number(group_id)))
                self._remember(now_ms, group_id, dedup_id, seq, entry.message_id)
                results.append(
                    SendResult(message_id, md5, md5_attributes, self._sequence_number(seq))
                )
            else:
                admitted.append((seq, sent_ms, visible_at, 0))
                results.append(SendResult(message_id, md5, md5_attributes))
            sent += 1
            sent_bytes += len(body)
        self.counters.sent += sent
        self.counters.sent_bytes += sent_bytes
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
        offsets = [self._msgs[seq] & _OFFSET_MASK for seq in deliver]
        messages = list(map(self._materialize, deliver, self._read_sends(deliver, offsets)))
        letters = []
        if redrive is not None:
            letters = [self._dead_letter(seq, redrive.dead_letter_queue) for seq in dead]
        return ReceiveResult(messages, letters, max(offsets, default=-1) + 1)

    def _read_send(self, seq: int) -> list[Any]:
        return self._read_sends([seq], [self._msgs[seq] & _OFFSET_MASK])[0]

    def _read_sends(self, seqs: list[int], offsets: list[int]) -> list[list[Any]]:
        """The SEND records of ``seqs`` (at ``offsets``), read together (messages sent
        together lie side by side in the log, and one read serves them all)."""
        payloads = self._log.read_many(offsets)
        records = list(map(decode, payloads))
        for seq, record in zip(seqs, records, strict=True):
            if record[0] != RecordType.SEND or record[1] != seq:
                raise RaybusError(
                    "StorageFailure", f"Log offset of message {seq} holds another record."
                )
        return records

    def _materialize(self, seq: int, record: list[Any]) -> ReceivedMessage:
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
        ) = record
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
        """``handle`` is a receipt handle, or a :class:`Receipt` a gateway decoded already (to
        route it) — decoding is the larger part of a delete's cost, so it is done once."""
        receipt = handle if type(handle) is Receipt else decode_receipt(handle)
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

    def _undone(self, receipt: Receipt) -> bool:
        """The receipt is of a receive a crash undid: it was issued by an earlier epoch of this
        partition for a delivery the log does not hold. A receive answers before its RECEIVE
        record is durable (in-flight state a crash may undo), so a host that dies in that window
        reopens with the message visible at its old receive count — while the consumer holds a
        receipt one (or more) receives ahead. That consumer holds the message's latest delivery;
        its delete must take effect, or a message the client was told is deleted comes back."""
        seq = receipt.seq
        return (
            receipt.epoch < self.epoch
            and seq in self._msgs
            and seq not in self._moving
            and self._received.get(seq, (0, 0))[0] < receipt.nonce
        )

    def delete(self, now_ms: int, receipts: Sequence[object]) -> list[RaybusError | None]:
        """Delete by receipt. A stale receipt (the message was received again since) or one for
        a message already gone succeeds and changes nothing, as in SQS; a malformed one fails.
        A receipt whose receive a crash undid (:meth:`_undone`) deletes its message."""
        self.advance(now_ms)
        results: list[RaybusError | None] = []
        deleted: list[int] = []
        for handle in receipts:
            try:
                receipt = self._own_receipt(handle)
            except RaybusError as error:
                results.append(error)
                continue
            if self._current(receipt) or self._undone(receipt):
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
        """The target refused or failed: the messages stay here, hidden for the queue's
        visibility timeout (as if a consumer had failed them), then visible again and retried.
        Hiding them keeps a queue whose dead-letter queue is missing from re-selecting the same
        messages on every receive while healthy ones wait. The receive count is unchanged."""
        deadline = now_ms + self.config.visibility_timeout_s * 1000
        hidden: list[int] = []
        for seq in seqs:
            if seq in self._moving:
                self._moving.discard(seq)
                if deadline > now_ms:  # still held: a FIFO group stays blocked
                    self._inflight[seq] = (deadline, now_ms)
                    heapq.heappush(self._inflight_heap, (deadline, seq))
                    hidden.append(seq)
                else:
                    self._on_released(seq, self._msgs[seq])
                    self._on_visible(seq)
        if hidden:
            self._log.append([encode([RecordType.HIDE, now_ms, deadline, hidden])])
        self.advance(now_ms)
