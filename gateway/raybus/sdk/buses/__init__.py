"""The bus kind (EventBridge): buses, events, rules and targets, archives and replays.

``ops.py``: the operations as pure requests and answers; ``_aio.py``: the client methods and
handles with coroutines, the source; ``_sync.py``: the same, generated from it.
"""

from raybus.sdk.buses._aio import AsyncBus, AsyncBusMethods
from raybus.sdk.buses._sync import Bus, BusMethods

__all__ = ["AsyncBus", "AsyncBusMethods", "Bus", "BusMethods"]
