"""Resource kinds: each kind of resource declares itself once, here in core, as a :class:`Kind`.

A kind is a name (``"queue"``), a validated settings type (``QueueConfig``), how its resources
are keyed and partitioned, and how a missing one is reported. The kinds raybus has are listed
in :mod:`raybus.core.registry`. The routing table, the catalog and the control plane work on
kinds generically; the layers above add their own part of a kind
in a module of their own (the engine and its typed operations, the partition's shell behaviour,
the admin calls, the HTTP routes, the SDK handle) and register it there. Adding a kind adds
files and a line in each registry; it edits no plumbing.

Kinds are *partitioned* (queues, topics: their data lives in partition logs on hosts) or not
(functions, mappings, subscriptions: catalog entries that other resources use). A kind may be
*attached* to a parent kind (subscriptions to topics): its configs travel with the parent's
route, so the parent's partitions see them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from raybus.core.errors import RaybusError

__all__ = ["Kind", "Settings"]


class Settings(Protocol):
    """What every kind's settings type offers (validated on construction, immutable)."""

    def to_dict(self) -> dict[str, Any]: ...


@dataclass(frozen=True, slots=True)
class Kind:
    """One kind of resource.

    - ``name`` — singular, stable (it names the kind in the routing table, the catalog file,
      the host's calls and the data directory: never rename one);
    - ``plural`` — the data directory and the HTTP collection (``queues``);
    - ``config`` — the settings type; ``from_dict`` validates the wire form;
    - ``key`` — the resource's key from its settings (its name, or an id);
    - ``partitions`` — how many partitions a new resource gets, from its settings and the number
      of hosts; ``None`` means the kind is not partitioned;
    - ``missing`` — the error a lookup of an unknown key raises (SQS says
      ``QueueDoesNotExist``, everything else ``ResourceNotFound``); ``exists`` — the error
      creating an existing key with other settings raises (``QueueAlreadyExists``, else
      ``ResourceConflict``);
    - ``parent`` — the kind whose routes carry this kind's settings (``"topic"`` for
      subscriptions), and ``parent_of`` the parent's key from a child's settings; ``active``
      says whether a child travels with its parent now (a subscription waiting for its
      endpoint to confirm it does not: it gets nothing until then).
    """

    name: str
    plural: str
    config: Callable[[Mapping[str, Any]], Any]
    key: Callable[[Any], str]
    partitions: Callable[[Any, int], int] | None = None
    missing: Callable[[str], RaybusError] | None = None
    exists: Callable[[str], RaybusError] | None = None
    parent: str | None = None
    parent_of: Callable[[Any], str] | None = None
    active: Callable[[Any], bool] | None = None

    @property
    def partitioned(self) -> bool:
        return self.partitions is not None

    def not_found(self, key: str) -> RaybusError:
        if self.missing is not None:
            return self.missing(key)
        return RaybusError("ResourceNotFound", f"No {self.name} named {key}.", resource=key)

    def conflict(self, key: str) -> RaybusError:
        if self.exists is not None:
            return self.exists(key)
        return RaybusError(
            "ResourceConflict",
            f"{self.name.capitalize()} {key} already exists with different settings.",
            resource=key,
        )

    def is_active(self, config: Any) -> bool:
        return self.active is None or self.active(config)

    def from_dict(self, data: Mapping[str, Any]) -> Any:
        return self.config(data)
