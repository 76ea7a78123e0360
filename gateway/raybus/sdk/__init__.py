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
functions (:class:`Function`), event-source mappings (:class:`EventSourceMapping`) and event
buses (:class:`Bus`, with their rules, targets, archives and replays). It
depends on ``raybus.core``, ``httpx``, ``aiohttp`` and ``msgpack`` (and on ``cloudpickle`` only
to upload a Python callable as a function's code).

Layout: one folder per resource kind (``queues``, ``topics``, ``functions``, ``mappings``,
``buses``),
each with ``ops.py`` (the kind's operations as pure requests and answers), ``_aio.py`` (its
client methods and handles, with coroutines: the one hand-written source) and ``_sync.py``
(the same, generated from ``_aio.py`` by ``python -m tests.sdk.generate_sync``); ``base``
holds the generic client (transport, retries, batches) and ``client`` puts the kinds together.
Adding a kind adds a folder and one base class of the client.
"""

from raybus.core.attributes import Attribute
from raybus.sdk import errors
from raybus.sdk._retry import Backoff
from raybus.sdk.buckets import AsyncBucket, Bucket
from raybus.sdk.buses import AsyncBus, Bus
from raybus.sdk.client import DEFAULT_URL, AsyncClient, Client
from raybus.sdk.errors import FunctionError, GatewayConnectionError, RaybusError
from raybus.sdk.functions import AsyncFunction, Function
from raybus.sdk.mappings import AsyncEventSourceMapping, EventSourceMapping
from raybus.sdk.models import (
    Health,
    HostsRebalanced,
    MappingStats,
    MoveTask,
    ProcessStats,
    PublishResult,
    QueueStats,
    SendResult,
    SubscriptionStats,
    TopicStats,
)
from raybus.sdk.queues import AsyncConsumer, AsyncMessage, AsyncQueue, Consumer, Message, Queue
from raybus.sdk.topics import AsyncSubscription, AsyncTopic, Subscription, Topic

__all__ = [
    "DEFAULT_URL",
    "AsyncBucket",
    "AsyncBus",
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
    "Bucket",
    "Bus",
    "Client",
    "Consumer",
    "EventSourceMapping",
    "Function",
    "FunctionError",
    "GatewayConnectionError",
    "Health",
    "HostsRebalanced",
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
