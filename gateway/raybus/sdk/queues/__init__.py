"""The queue kind (SQS): queues, their messages, consumers and dead-letter move tasks.

``ops.py``: the operations as pure requests and answers; ``_aio.py``: the client methods and
handles with coroutines, the source; ``_sync.py``: the same, generated from it.
"""

from raybus.sdk.queues._aio import AsyncConsumer, AsyncMessage, AsyncQueue, AsyncQueueMethods
from raybus.sdk.queues._sync import Consumer, Message, Queue, QueueMethods

__all__ = [
    "AsyncConsumer",
    "AsyncMessage",
    "AsyncQueue",
    "AsyncQueueMethods",
    "Consumer",
    "Message",
    "Queue",
    "QueueMethods",
]
