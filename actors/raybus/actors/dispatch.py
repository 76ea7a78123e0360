"""The dispatcher: reaching any resource by name, over a :class:`Router`.

It implements :class:`raybus.partitions.transfer.Dispatcher` — what partitions (dead letters,
topic deliveries), pollers (function destinations), the controller (move tasks) and the
gateway's own services send through. Sends to a queue and publishes to a topic are split per
partition (FIFO by message group, standard one partition per batch, rotating) and sent as one
typed operation per partition; an asynchronous invoke is a send to the function's durable event
queue; HTTP(S) endpoints are POSTed with one shared session. Every method returns only once the
target committed what it was given, or raises the target's error.

:class:`FunctionRuntime` is one process's way to run functions (its invoker and a cache of
uploaded code by digest).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

import aiohttp

from raybus.actors.objects import ObjectStore
from raybus.actors.router import Router, send_split
from raybus.core.buckets import ObjectVersion
from raybus.core.buses import EventEntry, PutEventsResult
from raybus.core.errors import RaybusError
from raybus.core.functions import FunctionConfig
from raybus.core.routing import async_queue_name
from raybus.core.settings import Target
from raybus.core.topics import PublishEntry, PublishResult
from raybus.engines import SendEntry, SendResult
from raybus.engines.bus.ops import PutEvents
from raybus.engines.queue.ops import Send
from raybus.engines.topic.ops import Publish

__all__ = ["FunctionRuntime", "RouterDispatcher"]

HTTP_TIMEOUT_S = 15.0


class RouterDispatcher:
    def __init__(self, router: Router, data_dir: str = "") -> None:
        self.router = router
        self.objects = ObjectStore(router, data_dir)
        self._session: aiohttp.ClientSession | None = None

    async def _split(
        self, kind: str, key: str, entries: Sequence[Any], op: Callable[[list[Any]], Any]
    ) -> list[Any]:
        route = await self.router.route(kind, key)

        async def call(partition: int, chunk: list[Any]) -> Any:
            return await self.router.apply(kind, key, partition, op(chunk))

        return await send_split(route, entries, self.router.nearest(route)[0], call)

    async def send(self, queue: str, entries: list[SendEntry]) -> list[SendResult | RaybusError]:
        return await self._split("queue", queue, entries, Send)

    async def publish(
        self, topic: str, entries: Sequence[PublishEntry]
    ) -> list[PublishResult | RaybusError]:
        return await self._split("topic", topic, entries, Publish)

    async def put_events(
        self, bus: str, entries: Sequence[EventEntry]
    ) -> list[PutEventsResult | RaybusError]:
        return await self._split("bus", bus, entries, PutEvents)

    async def is_fifo(self, queue: str) -> bool:
        return bool((await self.router.route("queue", queue)).config.fifo)

    async def invoke_async(self, function: str, payload: Any) -> str:
        """Queue one asynchronous invocation durably; its request id is the event's id."""
        try:
            (result,) = await self.send(
                async_queue_name(function), [SendEntry(body=json.dumps(payload))]
            )
        except RaybusError as error:
            if error.code == "QueueDoesNotExist":
                raise RaybusError(
                    "ResourceNotFound", f"No function named {function}.", resource=function
                ) from None
            raise
        if isinstance(result, RaybusError):
            raise result
        return result.message_id

    async def deliver(self, target: str, body: str, attributes: Any = None) -> None:
        """One message to ``target`` (``queue:``/``topic:``/``function:``); raises if the
        target did not take it."""
        parsed = Target.parse(target, "target", ("queue", "topic", "function"))
        if parsed.kind == "function":
            await self.invoke_async(parsed.name, json.loads(body))
            return
        results: Sequence[object]
        if parsed.kind == "topic":
            results = await self.publish(
                parsed.name, [PublishEntry(body=body, attributes=attributes)]
            )
        else:
            results = await self.send(parsed.name, [SendEntry(body=body, attributes=attributes)])
        (result,) = results
        if isinstance(result, RaybusError):
            raise result

    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        return await self.request("POST", url, body, headers)

    async def request(
        self, method: str, url: str, body: bytes | None, headers: dict[str, str]
    ) -> int:
        """One HTTP request; its status, or OSError for a failed connection or timeout."""
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=HTTP_TIMEOUT_S)
            )
        try:
            async with self._session.request(method, url, data=body, headers=headers) as answer:
                return answer.status
        except aiohttp.ClientError as error:
            raise OSError(str(error)) from error

    async def replicate(
        self, bucket: str, key: str, version: ObjectVersion, source_directory: str
    ) -> None:
        await self.objects.replicate(bucket, key, version, source_directory)

    async def resource(self, kind: str, key: str) -> Any:
        """The current settings of any resource (the kind's not-found error if missing)."""
        return (await self.router.route(kind, key)).config

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


class FunctionRuntime:
    """One process's way to run functions: its :class:`Invoker` (made on first use, so
    processes that never invoke never import the runtime) and a cache of uploaded code by
    digest, fetched from the controller once."""

    def __init__(self, controller: Callable[[], Any]) -> None:
        self._controller = controller
        self._invoker: Any = None
        self._code: dict[str, bytes] = {}

    def invoker(self) -> Any:
        if self._invoker is None:
            from raybus.functions.runtime import Invoker

            self._invoker = Invoker()
        return self._invoker

    def existing_invoker(self) -> Any:
        """The invoker if this process ever invoked, else None (for metrics)."""
        return self._invoker

    async def code_for(self, config: FunctionConfig) -> bytes | None:
        """The uploaded code of ``config``, or None for handlers given by import path."""
        sha = config.code_sha256
        if sha is None:
            return None
        code = self._code.get(sha)
        if code is None:
            code = await self._controller().function_code.remote(config.name, sha)
            self._code[sha] = code
        return code
