"""The bus kind's engine: EventBridge-style routing with a durable queue per target.

:mod:`~raybus.engines.bus.engine` — :class:`BusPartition` (put, take, settle, recovery);
:mod:`~raybus.engines.bus.ops` — the typed operations.
"""

from raybus.engines.bus.engine import (
    BusPartition,
    BusRecordType,
    Delivery,
    Event,
    Exhausted,
    TargetSpec,
)

__all__ = ["BusPartition", "BusRecordType", "Delivery", "Event", "Exhausted", "TargetSpec"]
