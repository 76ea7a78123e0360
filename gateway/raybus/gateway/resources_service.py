"""The gateway's data plane for topics and functions (the HTTP layer is ``resources_api``).

- :class:`TopicService` publishes through the dispatcher: one call to the topic's partition
  host per request (a plain await when the gateway lives in that host), acknowledged after the
  topic's commit.
- :class:`FunctionService` runs synchronous invocations on this process's
  :class:`~raybus.functions.runtime.Invoker` (shared with the host's pollers when the gateway
  lives in a partition host, so reserved concurrency counts both) and queues asynchronous ones
  durably in the function's event queue.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from raybus.actors import Router
from raybus.actors.dispatch import Dispatcher
from raybus.core.errors import RaybusError
from raybus.core.resources import FunctionConfig, PublishEntry, PublishResult

__all__ = ["FunctionService", "TopicService"]

CodeFor = Callable[[FunctionConfig], Awaitable[bytes | None]]


class TopicService:
    def __init__(self, router: Router) -> None:
        self.router = router
        self.dispatcher = Dispatcher(router)

    async def publish(
        self, topic: str, entries: Sequence[PublishEntry]
    ) -> list[PublishResult | RaybusError]:
        return await self.dispatcher.publish(topic, entries)


class FunctionService:
    def __init__(self, router: Router, invoker: Callable[[], Any], code_for: CodeFor) -> None:
        self.router = router
        self.dispatcher = Dispatcher(router)
        self._invoker = invoker
        self._code_for = code_for

    async def config(self, name: str) -> FunctionConfig:
        config = self.router.table.functions.get(name)
        if config is None:
            config = (await self.router.refresh()).functions.get(name)
        if config is None:
            raise RaybusError("ResourceNotFound", f"No function named {name}.", resource=name)
        return config

    async def invoke(self, name: str, payload: Any) -> dict[str, Any]:
        """Run the function now and answer with its result or its error (Lambda's
        RequestResponse). ``TooManyRequestsException`` when its reserved concurrency is full."""
        config = await self.config(name)
        result = await self._invoker().invoke(
            config, await self._code_for(config), payload, wait_for_slot=False
        )
        return {
            "request_id": result.request_id,
            "ok": result.ok,
            "payload": result.payload,
            "duration_ms": result.duration_ms,
        }

    async def invoke_async(self, name: str, payload: Any) -> str:
        """Queue the invocation durably (Lambda's Event type); the answer is its request id."""
        await self.config(name)
        return await self.dispatcher.invoke_async(name, payload)
