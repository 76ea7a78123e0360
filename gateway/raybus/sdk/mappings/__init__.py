"""The event-source-mapping kind (Lambda's mappings): a queue or topic feeding a function.

``ops.py``: the operations as pure requests and answers; ``_aio.py``: the client methods and
handle with coroutines, the source; ``_sync.py``: the same, generated from it.
"""

from raybus.sdk.mappings._aio import AsyncEventSourceMapping, AsyncMappingMethods
from raybus.sdk.mappings._sync import EventSourceMapping, MappingMethods

__all__ = [
    "AsyncEventSourceMapping",
    "AsyncMappingMethods",
    "EventSourceMapping",
    "MappingMethods",
]
