"""Bookkeeping of a consumer loop, shared by the sync and async consumers (pure, no I/O), and
the two small things the consumers of the two flavours differ in: the type of their message
stream, and whether a callback's result is awaited.

The loop hands messages out one at a time from a prefetched buffer. Handing out the next message
(or ending the loop normally) marks the previous one handled, and handled receipts are deleted
in batches: before every receive and when the consumer closes. A message that was handed out
but not followed by a request for the next one (the loop body raised, or broke out) is never
deleted; messages received but not handed out are released (visibility 0) on close.
"""

from __future__ import annotations

import inspect
import logging
from collections import deque
from collections.abc import AsyncGenerator, Generator, Iterable
from typing import Generic, Protocol, TypeAlias, TypeVar

from raybus.sdk.errors import RaybusError

__all__ = [
    "AsyncMessages",
    "ConsumeState",
    "Messages",
    "asettle",
    "log_entry_failures",
    "settle",
]

logger = logging.getLogger("raybus.sdk")


class _Delivery(Protocol):
    @property
    def receipt(self) -> str: ...


M = TypeVar("M", bound=_Delivery)
T = TypeVar("T")

# The generator behind a consumer (closing it runs the consumer's cleanup).
Messages: TypeAlias = Generator[T, None, None]
AsyncMessages: TypeAlias = AsyncGenerator[T, None]


class ConsumeState(Generic[M]):
    def __init__(self, *, max_messages: int, limit: int | None) -> None:
        if max_messages < 1:
            raise ValueError("max_messages is at least 1")
        if limit is not None and limit < 0:
            raise ValueError("limit is non-negative")
        self.max_messages = max_messages
        self.limit = limit
        self.handed_out = 0
        self.current: M | None = None
        self._buffer: deque[M] = deque()
        self._handled: list[str] = []

    @property
    def finished(self) -> bool:
        """The limit is reached: nothing more is handed out."""
        return self.limit is not None and self.handed_out >= self.limit

    def receive_size(self) -> int:
        """How many messages to ask for: never more than the limit still allows."""
        if self.limit is None:
            return self.max_messages
        return max(1, min(self.max_messages, self.limit - self.handed_out - len(self._buffer)))

    def add(self, messages: Iterable[M]) -> None:
        self._buffer.extend(messages)

    def hand_out(self) -> M | None:
        """The next buffered message (now current), or ``None`` when the buffer is empty."""
        if not self._buffer:
            return None
        self.current = self._buffer.popleft()
        self.handed_out += 1
        return self.current

    def finish_current(self) -> None:
        """The current message was handled: queue its receipt for deletion."""
        if self.current is not None:
            self._handled.append(self.current.receipt)
            self.current = None

    def abandon_current(self) -> None:
        """The current message was not handled: it stays in flight for redelivery."""
        self.current = None

    def take_handled(self) -> list[str]:
        handled, self._handled = self._handled, []
        return handled

    def take_unhanded(self) -> list[M]:
        unhanded = list(self._buffer)
        self._buffer.clear()
        return unhanded


def log_entry_failures(action: str, results: Iterable[object]) -> None:
    """Per-entry failures of a consumer's delete or release: the message is redelivered later
    (at-least-once), so they are logged rather than raised."""
    for result in results:
        if isinstance(result, RaybusError):
            logger.warning("consumer could not %s a message: %s: %s", action, result.code, result)


def settle(outcome: object) -> None:
    """A synchronous callback's result needs nothing more (twin of :func:`asettle`)."""


async def asettle(outcome: object) -> None:
    """Await a callback's result when it is awaitable: the asynchronous consumer's callbacks
    may be plain or coroutine functions."""
    if inspect.isawaitable(outcome):
        await outcome
