"""raybus.control: the control plane.

- :class:`Controller` — the detached, named actor: durable catalog, placement with epochs,
  routing table, host health, test clock, move tasks.
- :class:`Catalog` / :class:`CatalogStore` — the catalog and its durable snapshot.
- :func:`start` / :class:`ClusterSpec` — bootstrap an embedded cluster or attach to one.
"""

from raybus.control.bootstrap import ClusterSpec, RunningCluster, connect, start
from raybus.control.catalog import Catalog, CatalogStore, QueueRecord
from raybus.control.controller import Controller

__all__ = [
    "Catalog",
    "CatalogStore",
    "ClusterSpec",
    "Controller",
    "QueueRecord",
    "RunningCluster",
    "connect",
    "start",
]
