"""The 5-minute deduplication window of FIFO queues and FIFO topics (SQS's and SNS's rule)."""

from __future__ import annotations

from collections import deque
from typing import Any

__all__ = ["DEDUP_WINDOW_MS", "DedupWindow"]

DEDUP_WINDOW_MS = 300_000


class DedupWindow:
    """Deduplication ids seen in the last 5 minutes. Insertion order is expiry order because the
    window is constant and ``now`` never decreases; pruning is amortised O(1) per id."""

    __slots__ = ("_entries", "_order")

    def __init__(self) -> None:
        # key -> (expires, seq, message_id or None when it is message_id_for(tag, seq))
        self._entries: dict[str, tuple[int, int, str | None]] = {}
        self._order: deque[tuple[int, str]] = deque()

    def __len__(self) -> int:
        return len(self._entries)

    def prune(self, now_ms: int) -> None:
        order, entries = self._order, self._entries
        while order and order[0][0] <= now_ms:
            expires, key = order.popleft()
            entry = entries.get(key)
            if entry is not None and entry[0] == expires:
                del entries[key]

    def get(self, now_ms: int, key: str) -> tuple[int, str | None] | None:
        """``(seq, message_id)`` of the first send with ``key`` in the window (the id is None
        when it is the one derived from the seq)."""
        self.prune(now_ms)
        entry = self._entries.get(key)
        return None if entry is None else (entry[1], entry[2])

    def put(self, now_ms: int, key: str, seq: int, message_id: str | None) -> None:
        expires = now_ms + DEDUP_WINDOW_MS
        self._entries[key] = (expires, seq, message_id)
        self._order.append((expires, key))

    def dump(self) -> list[list[Any]]:
        return [[key, *entry] for key, entry in self._entries.items()]

    def load(self, rows: list[list[Any]]) -> None:
        rows = sorted(rows, key=lambda row: row[1])
        self._entries = {key: (expires, seq, mid) for key, expires, seq, mid in rows}
        self._order = deque((expires, key) for key, expires, _, _ in rows)
