"""The controller's catalog: queues, their settings and placements, hosts, the test clock.

Pure data plus the placement rules; :class:`CatalogStore` keeps it durable as an atomic
snapshot in a :class:`raybus.storage.FileLog` directory (write temp, fsync, rename, fsync the
directory), so a controller restarted anywhere finds every queue with its placements and
epochs. Format: one msgpack map, ``{"format": 1, "version", "hosts", "clock_ms", "queues":
{name: {"config", "incarnation", "placements": [[host, epoch], ...]}}}``.

Placement: a new queue's partitions go to the hosts with the fewest partitions (ties broken by
host order), so load spreads evenly as queues are created. A placement's epoch grows every
time its host reopens it (restart) or it moves, which fences callers with old routing.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass, field
from typing import Any

import msgpack

from raybus.core.config import QueueConfig
from raybus.core.errors import RaybusError
from raybus.core.routing import PartitionRoute, QueueRoute, RoutingTable
from raybus.storage import FileLog

__all__ = ["Catalog", "CatalogStore", "QueueRecord"]

FORMAT = 1


@dataclass(slots=True)
class QueueRecord:
    config: QueueConfig
    incarnation: int
    placements: list[list[Any]]  # [host, epoch] per partition

    def route(self) -> QueueRoute:
        return QueueRoute(
            config=self.config,
            incarnation=self.incarnation,
            partitions=tuple(PartitionRoute(host, epoch) for host, epoch in self.placements),
        )


@dataclass(slots=True)
class Catalog:
    version: int = 0
    hosts: list[str] = field(default_factory=list)
    clock_ms: int | None = None
    queues: dict[str, QueueRecord] = field(default_factory=dict)

    # -- queries ----------------------------------------------------------------------------------
    def record(self, name: str) -> QueueRecord:
        record = self.queues.get(name)
        if record is None:
            raise RaybusError("QueueDoesNotExist", f"Queue {name} does not exist.", queue=name)
        return record

    def table(self) -> RoutingTable:
        return RoutingTable(
            version=self.version,
            queues={name: record.route() for name, record in self.queues.items()},
            hosts=tuple(self.hosts),
            test_clock=self.clock_ms is not None,
        )

    def load(self) -> dict[str, int]:
        counts = dict.fromkeys(self.hosts, 0)
        for record in self.queues.values():
            for host, _ in record.placements:
                counts[host] = counts.get(host, 0) + 1
        return counts

    def assignments(self, host: str) -> list[tuple[str, int, int, dict[str, Any], int]]:
        return [
            (name, index, epoch, record.config.to_dict(), record.incarnation)
            for name, record in self.queues.items()
            for index, (owner, epoch) in enumerate(record.placements)
            if owner == host
        ]

    # -- changes (each bumps the version) -----------------------------------------------------
    def default_partitions(self, config: QueueConfig) -> int:
        if config.fifo and config.dedup_scope == "queue":
            return 1
        return config.partitions or max(1, len(self.hosts))

    def add_queue(self, config: QueueConfig) -> tuple[QueueRecord, bool]:
        """Create ``config``'s queue, or return the existing one if its settings are equal
        (SQS's idempotent CreateQueue); other settings are ``QueueAlreadyExists``."""
        existing = self.queues.get(config.name)
        if existing is not None:
            want, have = _settings(config), _settings(existing.config)
            if config.partitions is None:  # "the default" matches whatever was chosen
                want.pop("partitions")
                have.pop("partitions")
            if want == have:
                return existing, False
            raise RaybusError(
                "QueueAlreadyExists",
                f"Queue {config.name} already exists with different settings.",
                queue=config.name,
            )
        count = self.default_partitions(config)
        resolved = QueueConfig.create(config.name, **{**_settings(config), "partitions": count})
        load = self.load()
        placements: list[list[Any]] = []
        for _ in range(count):
            host = min(self.hosts, key=lambda h: (load[h], self.hosts.index(h)))
            load[host] += 1
            placements.append([host, 1])
        record = QueueRecord(resolved, uuid.uuid4().int >> 64, placements)
        self.queues[config.name] = record
        self.version += 1
        return record, True

    def update_queue(self, name: str, config: QueueConfig) -> QueueRecord:
        record = self.record(name)
        record.config = config
        self.version += 1
        return record

    def remove_queue(self, name: str) -> QueueRecord:
        record = self.queues.pop(name, None)
        if record is None:
            raise RaybusError("QueueDoesNotExist", f"Queue {name} does not exist.", queue=name)
        self.version += 1
        return record

    def reopen_host(self, host: str) -> None:
        """``host`` has a new incarnation: every partition it owns gets a new epoch."""
        for record in self.queues.values():
            for placement in record.placements:
                if placement[0] == host:
                    placement[1] += 1
        self.version += 1

    def ensure_hosts(self, hosts: list[str]) -> None:
        for host in hosts:
            if host not in self.hosts:
                self.hosts.append(host)
                self.version += 1

    # -- format -----------------------------------------------------------------------------------
    def to_bytes(self) -> bytes:
        blob: bytes = msgpack.packb(
            {
                "format": FORMAT,
                "version": self.version,
                "hosts": self.hosts,
                "clock_ms": self.clock_ms,
                "queues": {
                    name: {
                        "config": record.config.to_dict(),
                        "incarnation": record.incarnation,
                        "placements": record.placements,
                    }
                    for name, record in self.queues.items()
                },
            },
            use_bin_type=True,
        )
        return blob

    @classmethod
    def from_bytes(cls, blob: bytes) -> Catalog:
        data = msgpack.unpackb(blob, raw=False)
        if data.get("format") != FORMAT:
            raise ValueError(f"unknown catalog format {data.get('format')!r}")
        return cls(
            version=data["version"],
            hosts=list(data["hosts"]),
            clock_ms=data["clock_ms"],
            queues={
                name: QueueRecord(
                    QueueConfig.from_dict(item["config"]),
                    item["incarnation"],
                    [list(p) for p in item["placements"]],
                )
                for name, item in data["queues"].items()
            },
        )


def _settings(config: QueueConfig) -> dict[str, Any]:
    settings = config.to_dict()
    settings.pop("name")
    return settings


class CatalogStore:
    """The catalog's durable home: ``<data_dir>/catalog``, one atomic snapshot per change."""

    def __init__(self, data_dir: str) -> None:
        self._log = FileLog(os.path.join(data_dir, "catalog"))

    def load(self) -> Catalog:
        snapshot = self._log.load_snapshot()
        return Catalog() if snapshot is None else Catalog.from_bytes(snapshot[1])

    def save(self, catalog: Catalog) -> None:
        self._log.write_snapshot(self._log.end_offset, catalog.to_bytes())

    def close(self) -> None:
        self._log.close()
