"""Moving messages durably between resources: the one transfer protocol, and the dispatcher.

The order is the whole point: **the target commits first, then the source settles** (with its
own commit). A crash in between leaves the message in both places — delivered again at most,
never lost. :func:`transfer` is that protocol, written once; dead letters (a queue's receive),
move tasks (the controller), topic deliveries and dead letters, and function destinations (the
asynchronous-invocation poller) all run it.

:class:`Dispatcher` is what a partition (or the controller) may ask of the rest of the cluster:
send to a queue, publish to a topic, invoke a function asynchronously — by name, or by a target
string ``"<kind>:<name>"``. Every method returns once the target committed what it was given
(or raises the target's error). The host implements it over its router; tests pass fakes.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol, TypeVar

from raybus.core.buckets import ObjectVersion
from raybus.core.buses import EventEntry, PutEventsResult
from raybus.core.errors import RaybusError
from raybus.core.topics import PublishEntry, PublishResult
from raybus.engines.queue.messages import SendEntry, SendResult

__all__ = ["Dispatcher", "transfer"]

log = logging.getLogger(__name__)

T = TypeVar("T")


class Dispatcher(Protocol):
    async def send(self, queue: str, entries: list[SendEntry]) -> list[SendResult | RaybusError]:
        """Send ``entries`` to a queue: one result or error per entry, in order."""
        ...

    async def publish(
        self, topic: str, entries: Sequence[PublishEntry]
    ) -> list[PublishResult | RaybusError]: ...

    async def put_events(
        self, bus: str, entries: Sequence[EventEntry]
    ) -> list[PutEventsResult | RaybusError]:
        """PutEvents on a bus: one result or error per entry, in order."""
        ...

    async def invoke_async(self, function: str, payload: Any) -> str:
        """Queue one asynchronous invocation durably; its request id."""
        ...

    async def deliver(self, target: str, body: str, attributes: Any = None) -> None:
        """One message to ``"queue:<name>"``, ``"topic:<name>"`` or ``"function:<name>"``;
        raises if the target did not take it."""
        ...

    async def is_fifo(self, queue: str) -> bool: ...

    async def request(
        self, method: str, url: str, body: bytes | None, headers: dict[str, str]
    ) -> int:
        """One HTTP request (an API destination's); the status, or raise on a failed
        connection or timeout."""
        ...

    async def replicate(
        self, bucket: str, key: str, version: ObjectVersion, source_directory: str
    ) -> None:
        """Put a replica of an object version (its blobs in ``source_directory``) into
        ``bucket``; raises the destination's error (``NoSuchBucket``, ``InvalidRequest`` when
        its versioning is not enabled)."""
        ...

    async def resource(self, kind: str, key: str) -> Any:
        """The current settings of any resource (the kind's not-found error if missing)."""
        ...

    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        """POST to an HTTP(S) endpoint (SNS's delivery); the status, or raise on a failed
        connection or timeout."""
        ...


async def transfer(
    items: Sequence[T],
    send: Callable[[Sequence[T]], Awaitable[Sequence[object]]],
    settle: Callable[[list[T], list[T]], Awaitable[None]],
    *,
    what: str = "transfer",
) -> tuple[list[T], list[T]]:
    """Send ``items`` to their target, then settle them at their source.

    ``send`` answers one result per item, an exception instance for an item the target refused;
    if it raises, every item failed (the target is missing or down). ``settle(moved, failed)``
    then removes the moved items at the source and keeps the failed ones (to retry later), and
    must be durable before it returns. Returns ``(moved, failed)``."""
    if not items:
        return [], []
    try:
        results: Sequence[object] = await send(items)
    except Exception as error:
        log.warning("%s failed: %s", what, error)
        results = [error] * len(items)
    moved: list[T] = []
    failed: list[T] = []
    for item, result in zip(items, results, strict=True):
        (failed if isinstance(result, BaseException) else moved).append(item)
    await settle(moved, failed)
    return moved, failed
