"""The topic kind (SNS): topics, publishing and subscriptions.

``ops.py``: the operations as pure requests and answers; ``_aio.py``: the client methods and
handles with coroutines, the source; ``_sync.py``: the same, generated from it.
"""

from raybus.sdk.topics._aio import AsyncSubscription, AsyncTopic, AsyncTopicMethods
from raybus.sdk.topics._sync import Subscription, Topic, TopicMethods

__all__ = [
    "AsyncSubscription",
    "AsyncTopic",
    "AsyncTopicMethods",
    "Subscription",
    "Topic",
    "TopicMethods",
]
