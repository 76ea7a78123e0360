"""What every engine needs of its log (the partition log, :mod:`raybus.storage`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

__all__ = ["SLACK_ENTRIES", "EngineLog"]

# Lazily cleaned indexes are rebuilt once they hold this many more entries than twice the live
# ones: amortised O(1) per operation, memory O(live).
SLACK_ENTRIES = 64


class EngineLog(Protocol):
    """What an engine needs of its log: buffered append and read by offset."""

    def append(self, payloads: Sequence[bytes]) -> list[int]: ...

    def read(self, offset: int) -> bytes: ...

    def read_many(self, offsets: Sequence[int]) -> list[bytes]: ...
