"""The controller's catalog: queues and topics with their settings and placements, topic
subscriptions, functions, event-source mappings, hosts, the test clock.

Pure data plus the placement rules; :class:`CatalogStore` keeps it durable as an atomic
snapshot in a :class:`raybus.storage.FileLog` directory (write temp, fsync, rename, fsync the
directory), so a controller restarted anywhere finds every queue with its placements and
epochs. Format: one msgpack map, ``{"format": 2, "version", "hosts", "clock_ms", "queues":
{name: {"config", "incarnation", "placements": [[host, epoch], ...]}}, "topics": {name:
{"config", "incarnation", "placements", "subscriptions": [config, ...]}}, "functions": [config,
...], "mappings": [config, ...]}``; format 1 (queues only) is still read. Function code is not
in the catalog (see :class:`CodeStore`).

Placement: a new queue's partitions go to the hosts with the fewest partitions (ties broken by
host order), so load spreads evenly as queues are created. A placement's epoch grows every
time its host reopens it (restart) or it moves, which fences callers with old routing.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import uuid
from dataclasses import dataclass, field
from typing import Any

import msgpack

from raybus.core.config import QueueConfig
from raybus.core.errors import RaybusError
from raybus.core.resources import FunctionConfig, MappingConfig, SubscriptionConfig, TopicConfig
from raybus.core.routing import PartitionRoute, QueueRoute, RoutingTable, TopicRoute
from raybus.storage import FileLog

__all__ = ["Catalog", "CatalogStore", "CodeStore", "QueueRecord", "TopicRecord"]

FORMAT = 2


def not_found(kind: str, name: str) -> RaybusError:
    return RaybusError("ResourceNotFound", f"No {kind} named {name}.", resource=name)


@dataclass(slots=True)
class QueueRecord:
    config: QueueConfig
    incarnation: int
    placements: list[list[Any]]  # [host, epoch] per partition

    def copy(self) -> QueueRecord:
        return QueueRecord(self.config, self.incarnation, [list(p) for p in self.placements])

    def route(self) -> QueueRoute:
        return QueueRoute(
            config=self.config,
            incarnation=self.incarnation,
            partitions=tuple(PartitionRoute(host, epoch) for host, epoch in self.placements),
        )


@dataclass(slots=True)
class TopicRecord:
    config: TopicConfig
    incarnation: int
    placements: list[list[Any]]
    subscriptions: dict[str, SubscriptionConfig] = field(default_factory=dict)

    def copy(self) -> TopicRecord:
        return TopicRecord(
            self.config,
            self.incarnation,
            [list(p) for p in self.placements],
            dict(self.subscriptions),
        )

    def route(self) -> TopicRoute:
        return TopicRoute(
            config=self.config,
            incarnation=self.incarnation,
            partitions=tuple(PartitionRoute(host, epoch) for host, epoch in self.placements),
            subscriptions=tuple(self.subscriptions.values()),
        )


@dataclass(slots=True)
class Catalog:
    version: int = 0
    hosts: list[str] = field(default_factory=list)
    clock_ms: int | None = None
    queues: dict[str, QueueRecord] = field(default_factory=dict)
    topics: dict[str, TopicRecord] = field(default_factory=dict)
    functions: dict[str, FunctionConfig] = field(default_factory=dict)
    mappings: dict[str, MappingConfig] = field(default_factory=dict)

    # -- drafts (see raybus.control.keeper) --------------------------------------------------
    def copy(self) -> Catalog:
        """A copy that shares only immutable values (configs) with this catalog."""
        return Catalog(
            version=self.version,
            hosts=list(self.hosts),
            clock_ms=self.clock_ms,
            queues={name: record.copy() for name, record in self.queues.items()},
            topics={name: record.copy() for name, record in self.topics.items()},
            functions=dict(self.functions),
            mappings=dict(self.mappings),
        )

    def differs_from(self, other: Catalog) -> bool:
        """Whether saving this catalog would change what ``other`` saved: every change bumps
        the version except a clock advance."""
        return (self.version, self.clock_ms) != (other.version, other.clock_ms)

    # -- queries ----------------------------------------------------------------------------------
    def record(self, name: str) -> QueueRecord:
        record = self.queues.get(name)
        if record is None:
            raise RaybusError("QueueDoesNotExist", f"Queue {name} does not exist.", queue=name)
        return record

    def topic(self, name: str) -> TopicRecord:
        record = self.topics.get(name)
        if record is None:
            raise not_found("topic", name)
        return record

    def function(self, name: str) -> FunctionConfig:
        config = self.functions.get(name)
        if config is None:
            raise not_found("function", name)
        return config

    def subscription(self, sub_id: str) -> tuple[TopicRecord, SubscriptionConfig]:
        for record in self.topics.values():
            sub = record.subscriptions.get(sub_id)
            if sub is not None:
                return record, sub
        raise not_found("subscription", sub_id)

    def mapping(self, mapping_id: str) -> MappingConfig:
        config = self.mappings.get(mapping_id)
        if config is None:
            raise not_found("event-source mapping", mapping_id)
        return config

    def table(self) -> RoutingTable:
        return RoutingTable(
            version=self.version,
            queues={name: record.route() for name, record in self.queues.items()},
            hosts=tuple(self.hosts),
            test_clock=self.clock_ms is not None,
            topics={name: record.route() for name, record in self.topics.items()},
            functions=dict(self.functions),
            mappings=dict(self.mappings),
        )

    def load(self) -> dict[str, int]:
        counts = dict.fromkeys(self.hosts, 0)
        records: list[QueueRecord | TopicRecord] = [*self.queues.values(), *self.topics.values()]
        for record in records:
            for host, _ in record.placements:
                counts[host] = counts.get(host, 0) + 1
        return counts

    def topic_assignments(self, host: str) -> list[tuple[str, int, int, dict[str, Any], int]]:
        return [
            (name, index, epoch, record.config.to_dict(), record.incarnation)
            for name, record in self.topics.items()
            for index, (owner, epoch) in enumerate(record.placements)
            if owner == host
        ]

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
        record = QueueRecord(resolved, uuid.uuid4().int >> 64, self._place(count))
        self.queues[config.name] = record
        self.version += 1
        return record, True

    def _place(self, count: int) -> list[list[Any]]:
        """``count`` placements on the least-loaded hosts (ties: host order), epoch 1."""
        load = self.load()
        placements: list[list[Any]] = []
        for _ in range(count):
            host = min(self.hosts, key=lambda h: (load[h], self.hosts.index(h)))
            load[host] += 1
            placements.append([host, 1])
        return placements

    # -- topics, subscriptions, functions, mappings --------------------------------------------
    def add_topic(self, config: TopicConfig) -> tuple[TopicRecord, bool]:
        """SNS's CreateTopic is idempotent for equal settings; other settings conflict."""
        existing = self.topics.get(config.name)
        if existing is not None:
            if existing.config == config:
                return existing, False
            raise RaybusError(
                "ResourceConflict",
                f"Topic {config.name} already exists with different settings.",
                resource=config.name,
            )
        record = TopicRecord(config, uuid.uuid4().int >> 64, self._place(1))
        self.topics[config.name] = record
        self.version += 1
        return record, True

    def remove_topic(self, name: str) -> TopicRecord:
        record = self.topic(name)
        del self.topics[name]
        for mapping in [m for m in self.mappings.values() if m.source == f"topic:{name}"]:
            del self.mappings[mapping.id]
        self.version += 1
        return record

    def put_subscription(self, sub: SubscriptionConfig) -> None:
        self.topic(sub.topic).subscriptions[sub.id] = sub
        self.version += 1

    def remove_subscription(self, sub_id: str) -> SubscriptionConfig:
        record, sub = self.subscription(sub_id)
        del record.subscriptions[sub_id]
        for mapping in [m for m in self.mappings.values() if m.subscription == sub_id]:
            del self.mappings[mapping.id]
        self.version += 1
        return sub

    def put_function(self, config: FunctionConfig) -> None:
        self.functions[config.name] = config
        self.version += 1

    def remove_function(self, name: str) -> FunctionConfig:
        config = self.function(name)
        del self.functions[name]
        self.version += 1
        return config

    def put_mapping(self, config: MappingConfig) -> None:
        self.mappings[config.id] = config
        self.version += 1

    def remove_mapping(self, mapping_id: str) -> MappingConfig:
        config = self.mapping(mapping_id)
        del self.mappings[mapping_id]
        self.version += 1
        return config

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
        records: list[QueueRecord | TopicRecord] = [*self.queues.values(), *self.topics.values()]
        for record in records:
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
                "topics": {
                    name: {
                        "config": record.config.to_dict(),
                        "incarnation": record.incarnation,
                        "placements": record.placements,
                        "subscriptions": [s.to_dict() for s in record.subscriptions.values()],
                    }
                    for name, record in self.topics.items()
                },
                "functions": [config.to_dict() for config in self.functions.values()],
                "mappings": [config.to_dict() for config in self.mappings.values()],
            },
            use_bin_type=True,
        )
        return blob

    @classmethod
    def from_bytes(cls, blob: bytes) -> Catalog:
        data = msgpack.unpackb(blob, raw=False)
        if data.get("format") not in (1, FORMAT):
            raise ValueError(f"unknown catalog format {data.get('format')!r}")
        functions = [FunctionConfig.from_dict(item) for item in data.get("functions", ())]
        mappings = [MappingConfig.from_dict(item) for item in data.get("mappings", ())]
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
            topics={
                name: TopicRecord(
                    TopicConfig.from_dict(item["config"]),
                    item["incarnation"],
                    [list(p) for p in item["placements"]],
                    {sub["id"]: SubscriptionConfig.from_dict(sub) for sub in item["subscriptions"]},
                )
                for name, item in data.get("topics", {}).items()
            },
            functions={config.name: config for config in functions},
            mappings={config.id: config for config in mappings},
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


class CodeStore:
    """Uploaded function code: ``<data_dir>/functions/<name>/<sha256>.bin``, written to a temp
    file, fsynced and renamed before the catalog refers to it (so a referenced blob always
    exists whole). Blobs of replaced code are removed once the catalog moved on."""

    def __init__(self, data_dir: str) -> None:
        self.root = os.path.join(data_dir, "functions")

    def path(self, name: str, sha256: str) -> str:
        return os.path.join(self.root, name, f"{sha256}.bin")

    def put(self, name: str, code: bytes) -> str:
        sha256 = hashlib.sha256(code).hexdigest()
        path = self.path(name, sha256)
        if os.path.exists(path):
            return sha256
        os.makedirs(os.path.dirname(path), exist_ok=True)
        temp = f"{path}.tmp"
        with open(temp, "wb") as out:
            out.write(code)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, path)
        directory = os.open(os.path.dirname(path), os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
        return sha256

    def get(self, name: str, sha256: str) -> bytes:
        try:
            with open(self.path(name, sha256), "rb") as blob:
                return blob.read()
        except FileNotFoundError as exc:
            raise not_found("function code", f"{name}@{sha256[:12]}") from exc

    def prune(self, name: str, keep: str | None) -> None:
        directory = os.path.join(self.root, name)
        if not os.path.isdir(directory):
            return
        for entry in os.listdir(directory):
            if keep is None or entry != f"{keep}.bin":
                with contextlib.suppress(OSError):
                    os.remove(os.path.join(directory, entry))
        if keep is None:
            with contextlib.suppress(OSError):
                os.rmdir(directory)
