"""The kinds of resource raybus has: one line per kind (see :mod:`raybus.core.kinds`).

The order is the order of creation when a catalog is loaded (a kind after the kinds its
resources refer to): queues, then topics and their subscriptions, then functions and their
event-source mappings, then IAM roles (kept for AWS's tools, never enforced), then event
buses, their rules (whose targets are queues, topics, functions, buses and archives),
archives and replays; connections and API destinations come before the buses whose
targets use them; buckets last (their notifications reach queues, topics, functions and
the default bus, and replicate to other buckets).
"""

from __future__ import annotations

from raybus.core.buckets import BUCKET
from raybus.core.buses import API_DESTINATION, ARCHIVE, BUS, CONNECTION, REPLAY, RULE
from raybus.core.errors import RaybusError
from raybus.core.functions import FUNCTION
from raybus.core.kinds import Kind
from raybus.core.mappings import MAPPING
from raybus.core.queues import QUEUE
from raybus.core.roles import ROLE
from raybus.core.topics import SUBSCRIPTION, TOPIC

__all__ = ["KINDS", "kind"]

KINDS: dict[str, Kind] = {
    spec.name: spec
    for spec in (
        QUEUE,
        TOPIC,
        SUBSCRIPTION,
        FUNCTION,
        MAPPING,
        ROLE,
        CONNECTION,
        API_DESTINATION,
        BUS,
        RULE,
        ARCHIVE,
        REPLAY,
        BUCKET,
    )
}


def kind(name: str) -> Kind:
    """The kind called ``name``; an unknown name is an internal error (kinds are code)."""
    spec = KINDS.get(name)
    if spec is None:
        raise RaybusError("InternalError", f"No resource kind {name!r}.")
    return spec
