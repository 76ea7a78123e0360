"""The controller's catalog: every resource of every kind with its settings, and the placement
of each partition of the partitioned ones; the hosts; the test clock.

Pure data plus the placement rules, generic over kinds (:mod:`raybus.core.kinds`): a record is
a resource's settings, its incarnation and, for a partitioned kind, ``[host, epoch]`` per
partition. :class:`CatalogStore` keeps the catalog durable as an atomic snapshot in a
:class:`raybus.storage.FileLog` directory (write temp, fsync, rename, fsync the directory); it
is only ever changed through :class:`raybus.control.keeper.CatalogKeeper`.

Format 3 (one msgpack map): ``{"format": 3, "version", "hosts", "clock_ms", "aws": [account id,
region] (absent before it existed: the defaults), "resources":
{kind: [{"config", "incarnation", "placements": [[host, epoch], ...], "created_ms",
"modified_ms", "tags"}, ...]}}`` (the last three may be absent: catalogs written before them
read as 0, 0 and no tags). Formats 1
(queues only) and 2 (one map per kind, subscriptions inside their topics) are still read.
Function code is not in the catalog (see :class:`CodeStore`).

Placement: a new resource's partitions go to the hosts with the fewest partitions (ties broken
by host order), so load spreads evenly as resources are created. A placement's epoch grows
every time its host reopens it (restart) or it moves, which fences callers with old routing.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import msgpack

from raybus.core.errors import RaybusError
from raybus.core.kinds import Kind
from raybus.core.registry import KINDS, kind
from raybus.core.routing import PartitionRoute, Route, RoutingTable
from raybus.storage import FileLog

__all__ = ["Assignment", "Catalog", "CatalogStore", "CodeStore", "PartitionMove", "Record"]

FORMAT = 3
Assignment = tuple[str, str, int, int, dict[str, Any], int]  # kind, key, partition, epoch, ...


@dataclass(frozen=True, slots=True)
class PartitionMove:
    """One partition moving from one host to another (:meth:`Catalog.balance_moves`)."""

    kind: str
    key: str
    partition: int
    source: str
    target: str


@dataclass(slots=True)
class Record:
    """One resource: its settings and, for a partitioned kind, where its partitions live; when
    it was created and last changed (the catalog's clock, stamped by the keeper) and its tags
    (AWS's cost-allocation tags: stored and listed, never interpreted)."""

    kind: str
    config: Any
    incarnation: int = 0
    placements: list[list[Any]] = field(default_factory=list)  # [host, epoch] per partition
    created_ms: int = 0
    modified_ms: int = 0
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return kind(self.kind).key(self.config)

    def copy(self) -> Record:
        return Record(
            self.kind,
            self.config,
            self.incarnation,
            [list(p) for p in self.placements],
            self.created_ms,
            self.modified_ms,
            dict(self.tags),
        )

    def route(self, attached: tuple[Any, ...] = ()) -> Route[Any]:
        return Route(
            kind=self.kind,
            key=self.key,
            config=self.config,
            incarnation=self.incarnation,
            partitions=tuple(PartitionRoute(host, epoch) for host, epoch in self.placements),
            attached=attached,
        )


def _settings(config: Any) -> dict[str, Any]:
    settings = dict(config.to_dict())
    settings.pop("name", None)
    return settings


@dataclass(slots=True)
class Catalog:
    version: int = 0
    hosts: list[str] = field(default_factory=list)
    clock_ms: int | None = None
    records: dict[str, dict[str, Record]] = field(default_factory=dict)
    aws_account_id: str = "000000000000"
    aws_region: str = "us-east-1"

    # -- drafts (see raybus.control.keeper) --------------------------------------------------
    def copy(self) -> Catalog:
        """A copy that shares only immutable values (settings) with this catalog."""
        return Catalog(
            version=self.version,
            hosts=list(self.hosts),
            clock_ms=self.clock_ms,
            aws_account_id=self.aws_account_id,
            aws_region=self.aws_region,
            records={
                name: {key: record.copy() for key, record in records.items()}
                for name, records in self.records.items()
            },
        )

    def differs_from(self, other: Catalog) -> bool:
        """Whether saving this catalog would change what ``other`` saved: every change bumps
        the version except a clock advance."""
        return (self.version, self.clock_ms) != (other.version, other.clock_ms)

    # -- queries ----------------------------------------------------------------------------------
    def of(self, kind_name: str) -> dict[str, Record]:
        """Every resource of a kind by key (a live view: do not change it). A query: it never
        changes the catalog, so readers may call it on the installed one."""
        return self.records.get(kind_name) or {}

    def find(self, kind_name: str, key: str) -> Record | None:
        return self.records.get(kind_name, {}).get(key)

    def get(self, kind_name: str, key: str) -> Record:
        """The resource, or the kind's not-found error."""
        record = self.find(kind_name, key)
        if record is None:
            raise kind(kind_name).not_found(key)
        return record

    def config(self, kind_name: str, key: str) -> Any:
        return self.get(kind_name, key).config

    def children(self, parent: str, key: str) -> Iterator[Record]:
        """The resources attached to ``parent`` ``key`` (a topic's subscriptions)."""
        for spec in KINDS.values():
            if spec.parent == parent and spec.parent_of is not None:
                for record in self.records.get(spec.name, {}).values():
                    if spec.parent_of(record.config) == key:
                        yield record

    def attached(self, parent: str, key: str) -> list[Any]:
        """The settings that travel with ``parent`` ``key`` now: its active children's."""
        return [
            record.config
            for record in self.children(parent, key)
            if kind(record.kind).is_active(record.config)
        ]

    def table(self) -> RoutingTable:
        attached: dict[tuple[str, str], list[Any]] = {}
        for spec in KINDS.values():
            if spec.parent is not None and spec.parent_of is not None:
                for record in self.records.get(spec.name, {}).values():
                    if spec.is_active(record.config):
                        parent = (spec.parent, spec.parent_of(record.config))
                        attached.setdefault(parent, []).append(record.config)
        return RoutingTable(
            version=self.version,
            hosts=tuple(self.hosts),
            test_clock=self.clock_ms is not None,
            aws_account_id=self.aws_account_id,
            aws_region=self.aws_region,
            resources={
                name: {
                    key: record.route(tuple(attached.get((name, key), ())))
                    for key, record in records.items()
                }
                for name, records in self.records.items()
                if records
            },
        )

    def load(self) -> dict[str, int]:
        """Partitions per host."""
        counts = dict.fromkeys(self.hosts, 0)
        for records in self.records.values():
            for record in records.values():
                for host, _ in record.placements:
                    counts[host] = counts.get(host, 0) + 1
        return counts

    def assignments(self, host: str) -> list[Assignment]:
        """Every partition placed on ``host``: (kind, key, partition, epoch, settings,
        incarnation), in the registry's kind order."""
        out: list[Assignment] = []
        for name in KINDS:
            for key, record in self.records.get(name, {}).items():
                for index, (owner, epoch) in enumerate(record.placements):
                    if owner == host:
                        settings = record.config.to_dict()
                        out.append((name, key, index, epoch, settings, record.incarnation))
        return out

    # -- changes (each bumps the version) -----------------------------------------------------
    def add(self, kind_name: str, config: Any) -> tuple[Record, bool]:
        """Create a resource, or return the existing one if its settings are equal (every
        AWS create is idempotent); other settings raise the kind's conflict error. A
        partitioned resource is placed now, and its settings record the partition count."""
        spec = kind(kind_name)
        key = spec.key(config)
        existing = self.find(kind_name, key)
        if existing is not None:
            want, have = _settings(config), _settings(existing.config)
            if want.get("partitions", 0) is None:  # "the default" matches what was chosen
                want.pop("partitions")
                have.pop("partitions", None)
            if want == have:
                return existing, False
            raise spec.conflict(key)
        placements: list[list[Any]] = []
        if spec.partitions is not None:
            count = spec.partitions(config, len(self.hosts))
            if "partitions" in _settings(config):
                config = spec.from_dict({**config.to_dict(), "partitions": count})
            placements = self._place(count)
        record = Record(kind_name, config, uuid.uuid4().int >> 64, placements)
        self._records(kind_name)[key] = record
        self.version += 1
        return record, True

    def put(self, kind_name: str, config: Any) -> Record:
        """Replace an existing resource's settings, or add a resource of a kind that is not
        partitioned (subscriptions, functions, mappings: their identity is checked by their
        admin). Placements and incarnation stay."""
        spec = kind(kind_name)
        key = spec.key(config)
        existing = self.find(kind_name, key)
        if existing is None:
            if spec.partitioned:
                raise spec.not_found(key)
            existing = self._records(kind_name)[key] = Record(kind_name, config)
        existing.config = config
        self.version += 1
        return existing

    def set_tags(self, kind_name: str, key: str, tags: dict[str, str]) -> Record:
        """Replace a resource's tags (validated by the caller)."""
        record = self.get(kind_name, key)
        record.tags = dict(tags)
        self.version += 1
        return record

    def stamp(self, before: Catalog, now_ms: int) -> None:
        """Set the creation and change times of what differs from ``before`` (the keeper calls
        this on a draft just before saving it)."""
        for name, records in self.records.items():
            for key, record in records.items():
                old = before.find(name, key)
                if old is None or old.incarnation != record.incarnation:
                    record.created_ms = record.modified_ms = now_ms
                elif old.config != record.config or old.tags != record.tags:
                    record.modified_ms = now_ms

    def remove(self, kind_name: str, key: str) -> Record:
        record = self.get(kind_name, key)
        records = self.records[kind_name]
        del records[key]
        if not records:  # no empty kinds: a catalog equals itself saved and loaded
            del self.records[kind_name]
        self.version += 1
        return record

    def _records(self, kind_name: str) -> dict[str, Record]:
        """The kind's records, to change (created on first use)."""
        return self.records.setdefault(kind_name, {})

    def _place(self, count: int) -> list[list[Any]]:
        """``count`` placements on the least-loaded hosts (ties: host order), epoch 1."""
        load = self.load()
        placements: list[list[Any]] = []
        for _ in range(count):
            host = min(self.hosts, key=lambda h: (load[h], self.hosts.index(h)))
            load[host] += 1
            placements.append([host, 1])
        return placements

    def balance_moves(self) -> list[PartitionMove]:
        """The moves that even out the partitions per host (no two hosts differ by more than
        one), fewest first: each takes a partition from the most loaded host to the least
        loaded one (ties: host order), choosing the resource with the most partitions on the
        source compared with the target, so a resource's partitions spread too. Pure: the
        catalog is not changed (see :meth:`move`)."""
        load = self.load()
        # per host: each resource's partitions there that have not moved (a partition moves
        # at most once per plan), and how many it has there, moved ones included
        placed: dict[str, dict[tuple[str, str], list[int]]] = {host: {} for host in load}
        count: dict[str, dict[tuple[str, str], int]] = {host: {} for host in load}
        for name in KINDS:
            for key, record in sorted(self.records.get(name, {}).items()):
                for index, (host, _) in enumerate(record.placements):
                    placed.setdefault(host, {}).setdefault((name, key), []).append(index)
                    held = count.setdefault(host, {})
                    held[(name, key)] = held.get((name, key), 0) + 1
        order = {host: index for index, host in enumerate(self.hosts)}
        moves: list[PartitionMove] = []
        while load:
            source = max(load, key=lambda h: (load[h], -order.get(h, len(order))))
            target = min(load, key=lambda h: (load[h], order.get(h, len(order))))
            here = placed[source]
            if load[source] - load[target] <= 1 or not here:
                break
            mine, theirs = count[source], count[target]
            resource = max(  # the first of equals: deterministic for one catalog
                here, key=lambda r: mine[r] - theirs.get(r, 0)
            )
            partition = here[resource].pop(0)
            if not here[resource]:
                del here[resource]
            mine[resource] -= 1
            theirs[resource] = theirs.get(resource, 0) + 1
            load[source] -= 1
            load[target] += 1
            moves.append(PartitionMove(*resource, partition, source, target))
        return moves

    def move(self, kind_name: str, key: str, partition: int, host: str) -> int:
        """Place a partition on ``host`` with the next epoch (which fences its old owner's
        callers); returns that epoch. The host must be one of the catalog's."""
        if host not in self.hosts:
            raise RaybusError("InvalidParameterValue", f"No partition host named {host}.")
        record = self.get(kind_name, key)
        if not 0 <= partition < len(record.placements):
            raise RaybusError(
                "InvalidParameterValue", f"{kind_name} {key} has no partition {partition}."
            )
        placement = record.placements[partition]
        placement[0], placement[1] = host, placement[1] + 1
        self.version += 1
        return int(placement[1])

    def reopen_host(self, host: str) -> None:
        """``host`` has a new incarnation: every partition it owns gets a new epoch."""
        for records in self.records.values():
            for record in records.values():
                for placement in record.placements:
                    if placement[0] == host:
                        placement[1] += 1
        self.version += 1

    def use_identity(self, account_id: str, region: str) -> None:
        """The AWS account id and region the cluster answers as (routing tables carry it)."""
        if (account_id, region) != (self.aws_account_id, self.aws_region):
            self.aws_account_id, self.aws_region = account_id, region
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
                "aws": [self.aws_account_id, self.aws_region],
                "resources": {
                    name: [
                        {
                            "config": record.config.to_dict(),
                            "incarnation": record.incarnation,
                            "placements": record.placements,
                            "created_ms": record.created_ms,
                            "modified_ms": record.modified_ms,
                            "tags": record.tags,
                        }
                        for record in records.values()
                    ]
                    for name, records in self.records.items()
                    if records
                },
            },
            use_bin_type=True,
        )
        return blob

    @classmethod
    def from_bytes(cls, blob: bytes) -> Catalog:
        data = msgpack.unpackb(blob, raw=False)
        form = data.get("format")
        if form not in (1, 2, FORMAT):
            raise ValueError(f"unknown catalog format {form!r}")
        resources = data["resources"] if form == FORMAT else _older_resources(data)
        catalog = cls(version=data["version"], hosts=list(data["hosts"]), clock_ms=data["clock_ms"])
        if data.get("aws"):
            catalog.aws_account_id, catalog.aws_region = data["aws"]
        for name in [name for name in KINDS if name in resources] + sorted(
            set(resources) - set(KINDS)
        ):
            spec = kind(name)
            for item in resources[name]:
                config = _load_config(spec, item)
                record = Record(
                    name,
                    config,
                    item.get("incarnation", 0),
                    [list(p) for p in item.get("placements", ())],
                    item.get("created_ms", 0),
                    item.get("modified_ms", 0),
                    dict(item.get("tags") or {}),
                )
                catalog._records(name)[spec.key(config)] = record
        return catalog


def _load_config(spec: Kind, item: dict[str, Any]) -> Any:
    """A stored config; one from before format 3 that left its partition count unset (topics)
    gets the count its placements show."""
    config = spec.from_dict(item["config"])
    placements = item.get("placements") or []
    if placements and config.to_dict().get("partitions", 0) is None:
        config = spec.from_dict({**config.to_dict(), "partitions": len(placements)})
    return config


def _older_resources(data: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Formats 1 and 2 as format 3's ``resources``."""
    resources: dict[str, list[dict[str, Any]]] = {"queue": list(data["queues"].values())}
    topics = data.get("topics", {})
    resources["topic"] = [
        {k: v for k, v in item.items() if k != "subscriptions"} for item in topics.values()
    ]
    resources["subscription"] = [
        {"config": sub} for item in topics.values() for sub in item["subscriptions"]
    ]
    resources["function"] = [{"config": item} for item in data.get("functions", ())]
    resources["mapping"] = [{"config": item} for item in data.get("mappings", ())]
    return resources


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
            raise RaybusError(
                "ResourceNotFound",
                f"No function code named {name}@{sha256[:12]}.",
                resource=f"{name}@{sha256[:12]}",
            ) from exc

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
