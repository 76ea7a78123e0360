"""raybus.sdk: the Python client of raybus's native HTTP API (sync and asyncio).

    from raybus.sdk import Client

    with Client("http://127.0.0.1:8000") as client:
        orders = client.create_queue("orders")
        orders.send("hello", attributes={"kind": "greeting"})
        for message in orders.consume(stop_when_empty=True, wait_s=0):
            print(message.text)           # deleted when the loop asks for the next one

The SDK speaks msgpack, retries only retriable errors (with full-jitter backoff, honouring
``Retry-After``), raises one typed exception per error-catalog code (:mod:`raybus.sdk.errors`),
splits batches past the gateway's limits, and knows nothing of partitions. Delivery is
at-least-once. Besides queues it manages topics (:class:`Topic`, :class:`Subscription`),
functions (:class:`Function`) and event-source mappings (:class:`EventSourceMapping`). It
depends on ``raybus.core``, ``httpx``, ``aiohttp`` and ``msgpack`` (and on ``cloudpickle`` only
to upload a Python callable as a function's code).
"""

from raybus.core.attributes import Attribute
from raybus.sdk import errors
from raybus.sdk._retry import Backoff
from raybus.sdk.aio import AsyncClient, AsyncConsumer, AsyncMessage, AsyncQueue
from raybus.sdk.aio_resources import (
    AsyncEventSourceMapping,
    AsyncFunction,
    AsyncSubscription,
    AsyncTopic,
)
from raybus.sdk.client import DEFAULT_URL, Client, Consumer, Message, Queue
from raybus.sdk.errors import FunctionError, GatewayConnectionError, RaybusError
from raybus.sdk.models import (
    Health,
    MappingStats,
    MoveTask,
    ProcessStats,
    PublishResult,
    QueueStats,
    SendResult,
    SubscriptionStats,
    TopicStats,
)
from raybus.sdk.resources import EventSourceMapping, Function, Subscription, Topic

__all__ = [
    "DEFAULT_URL",
    "AsyncClient",
    "AsyncConsumer",
    "AsyncEventSourceMapping",
    "AsyncFunction",
    "AsyncMessage",
    "AsyncQueue",
    "AsyncSubscription",
    "AsyncTopic",
    "Attribute",
    "Backoff",
    "Client",
    "Consumer",
    "EventSourceMapping",
    "Function",
    "FunctionError",
    "GatewayConnectionError",
    "Health",
    "MappingStats",
    "Message",
    "MoveTask",
    "ProcessStats",
    "PublishResult",
    "Queue",
    "QueueStats",
    "RaybusError",
    "SendResult",
    "Subscription",
    "SubscriptionStats",
    "Topic",
    "TopicStats",
    "errors",
]
