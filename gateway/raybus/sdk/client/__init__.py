"""The clients: :class:`Client` and :class:`AsyncClient`, every registered kind's methods on
one connection pool. ``ops.py``: the cluster's own calls (clock, health); ``_aio.py``: the
asynchronous client, the source; ``_sync.py``: the synchronous client, generated from it."""

from raybus.sdk._transport import DEFAULT_URL
from raybus.sdk.client._aio import AsyncClient
from raybus.sdk.client._sync import Client

__all__ = ["DEFAULT_URL", "AsyncClient", "Client"]
