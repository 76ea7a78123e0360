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
at-least-once. It depends on ``raybus.core``, ``httpx`` and ``msgpack`` only.
"""

from raybus.core.attributes import Attribute
from raybus.sdk import errors
from raybus.sdk._retry import Backoff
from raybus.sdk.aio import AsyncClient, AsyncConsumer, AsyncMessage, AsyncQueue
from raybus.sdk.client import DEFAULT_URL, Client, Consumer, Message, Queue
from raybus.sdk.errors import GatewayConnectionError, RaybusError
from raybus.sdk.models import Health, MoveTask, ProcessStats, QueueStats, SendResult

__all__ = [
    "DEFAULT_URL",
    "AsyncClient",
    "AsyncConsumer",
    "AsyncMessage",
    "AsyncQueue",
    "Attribute",
    "Backoff",
    "Client",
    "Consumer",
    "GatewayConnectionError",
    "Health",
    "Message",
    "MoveTask",
    "ProcessStats",
    "Queue",
    "QueueStats",
    "RaybusError",
    "SendResult",
    "errors",
]
