"""Sending to any resource by name: the dispatcher that topics, pollers and destinations use.

It wraps a :class:`Router` (local partitions are plain awaits, others one Ray call per
partition batch) and knows the three kinds of target: a queue (send), a topic (publish) and a
function (an asynchronous invoke: a send to the function's durable event queue). Every method
returns only once the target committed what it was given, or raises the target's
:class:`RaybusError` (``QueueDoesNotExist``, ``ResourceNotFound``, ``PartitionUnavailable``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from raybus.actors.router import Router
from raybus.core.errors import RaybusError
from raybus.core.resources import FunctionConfig, PublishEntry, PublishResult, Target
from raybus.core.routing import async_queue_name
from raybus.engines import SendEntry, SendResult

__all__ = ["Dispatcher", "FunctionRuntime"]


class Dispatcher:
    def __init__(self, router: Router) -> None:
        self.router = router

    async def send(self, queue: str, entries: list[SendEntry]) -> list[SendResult | RaybusError]:
        return await self.router.send(queue, entries)

    async def is_fifo(self, queue: str) -> bool:
        return (await self.router.route(queue)).config.fifo

    async def publish(
        self, topic: str, entries: Sequence[PublishEntry]
    ) -> list[PublishResult | RaybusError]:
        (results,) = await self.router.call_topic(
            topic, 0, "execute_topic", [("publish", list(entries))]
        )
        if isinstance(results, RaybusError):
            raise results
        answer: list[PublishResult | RaybusError] = results
        return answer

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
        if parsed.kind == "topic":
            (published,) = await self.publish(
                parsed.name, [PublishEntry(body=body, attributes=attributes)]
            )
            if isinstance(published, RaybusError):
                raise published
            return
        (sent,) = await self.send(parsed.name, [SendEntry(body=body, attributes=attributes)])
        if isinstance(sent, RaybusError):
            raise sent


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
