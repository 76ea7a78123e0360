"""Standard queue partition: at-least-once, best-effort oldest-first order."""

from __future__ import annotations

import heapq
from collections import deque
from typing import Any

from raybus.core.queues import QueueConfig
from raybus.engines.log import SLACK_ENTRIES, EngineLog
from raybus.engines.queue.engine import QueuePartition

__all__ = ["StandardQueuePartition"]


class StandardQueuePartition(QueuePartition):
    """Visible messages are served oldest (lowest seq) first.

    Two structures hold visible seqs, both lazily cleaned: ``_fresh``, an ascending deque of
    messages that became visible in arrival order (new sends), and ``_returned``, a min-heap of
    the rest (visibility timed out, delay ended, transfer aborted). A receive merges the two.
    Each visible message has exactly one valid entry; entries of messages that left are skipped.
    """

    fifo = False

    def __init__(
        self, config: QueueConfig, log: EngineLog, *, tag: int, partition: int = 0, epoch: int = 0
    ) -> None:
        super().__init__(config, log, tag=tag, partition=partition, epoch=epoch)
        self._fresh: deque[int] = deque()
        self._returned: list[int] = []

    def _on_visible(self, seq: int) -> None:
        if not self._fresh or seq > self._fresh[-1]:
            self._fresh.append(seq)
        else:
            heapq.heappush(self._returned, seq)

    def _pop_visible(self) -> int | None:
        fresh, returned = self._fresh, self._returned
        while fresh or returned:
            if returned and (not fresh or returned[0] < fresh[0]):
                seq = heapq.heappop(returned)
            else:
                seq = fresh.popleft()
            if self._visible(seq):
                return seq
        return None

    def _select(self, limit: int, dead_letter: bool) -> tuple[list[int], list[int]]:
        deliver: list[int] = []
        dead: list[int] = []
        while len(deliver) < limit and len(dead) < limit:
            seq = self._pop_visible()
            if seq is None:
                break
            if dead_letter and self._exhausted(seq):
                dead.append(seq)
            else:
                deliver.append(seq)
        return deliver, dead

    def _compact_visible(self) -> None:
        if len(self._fresh) + len(self._returned) > 2 * len(self._msgs) + SLACK_ENTRIES:
            self._rebuild_visible()

    def _rebuild_visible(self) -> None:
        self._fresh = deque(seq for seq in self._msgs if self._visible(seq))
        self._returned = []

    def _extra_state(self) -> dict[str, Any]:
        return {}
