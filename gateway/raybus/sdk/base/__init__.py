"""The generic half of a client, which every kind's client methods extend: one transport, the
retry loop, batch plans and lifecycle (``_aio.py``, the source; ``_sync.py``, generated)."""

from raybus.sdk.base._aio import AsyncClientBase
from raybus.sdk.base._sync import ClientBase

__all__ = ["AsyncClientBase", "ClientBase"]
