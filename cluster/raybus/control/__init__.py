"""raybus.control: the control plane.

- :class:`Controller` — the detached, named actor: durable catalog, placement with epochs,
  routing table, host health, test clock, and one entry point (``run``) for every typed control
  call.
- :class:`ControlPlane` / :class:`ControlCall` — what calls run against, and the calls' base;
  the calls of each kind live in :mod:`raybus.control.queues`, :mod:`raybus.control.moves`,
  :mod:`raybus.control.topics`, :mod:`raybus.control.functions`, :mod:`raybus.control.mappings`.
- :class:`Catalog` / :class:`CatalogStore` / :class:`CatalogKeeper` — the catalog, its durable
  snapshot, and the one way to change it.
- :func:`start` / :class:`ClusterSpec` — bootstrap an embedded cluster or attach to one.
"""

from raybus.control.bootstrap import (
    AddressUnavailable,
    ClusterSpec,
    RunningCluster,
    connect,
    start,
)
from raybus.control.catalog import Catalog, CatalogStore, Record
from raybus.control.controller import Controller
from raybus.control.keeper import CatalogKeeper
from raybus.control.plane import ControlCall, ControlPlane

__all__ = [
    "AddressUnavailable",
    "Catalog",
    "CatalogKeeper",
    "CatalogStore",
    "ClusterSpec",
    "ControlCall",
    "ControlPlane",
    "Controller",
    "Record",
    "RunningCluster",
    "connect",
    "start",
]
