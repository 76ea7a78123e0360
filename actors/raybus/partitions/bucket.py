"""Bucket partitions: blob clean-up, the notification outbox, restores and lifecycle on time.

The engine (:class:`~raybus.engines.bucket.engine.BucketPartition`) keeps object metadata and
the notifications each change owes; this behaviour does what needs I/O, after the commit:

- **freed blobs** (a replaced or deleted version's, an aborted upload's parts) are deleted
  once the change that stopped referencing them is durable (``turn.transfers``);
- **the outbox**: one loop takes due notes (:class:`TakeNotes`), delivers each — S3's event
  message to a queue, a topic or a function (asynchronous invoke), the EventBridge form to the
  default bus, a replica to another bucket — and settles them (:class:`SettleNotes`): a
  failed one is retried with backoff. A crash in between delivers again (at-least-once);
- **time**: the same loop runs :class:`Tick` when a restore, a restored copy's expiry or a
  lifecycle pass is due;
- **garbage**: on open and every ``SWEEP_PERIOD_S``, blobs no record names (a crash between a
  blob's write and its commit, or between a commit and a delete) are swept once old enough
  (:func:`raybus.storage.blobs.sweep`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from raybus.core.buckets import BucketConfig
from raybus.core.buses import DEFAULT_BUS, EventEntry
from raybus.core.errors import RaybusError
from raybus.engines.bucket.engine import BucketPartition, Note, Origin
from raybus.engines.bucket.ops import ReferencedBlobs, SettleNotes, TakeNotes, Tick, UpdateObject
from raybus.engines.ops import Turn
from raybus.partitions.shell import Environment, PartitionShell
from raybus.storage import PartitionLog
from raybus.storage.blobs import blob_directory, delete_blobs, sweep

__all__ = ["BUCKETS", "BucketBehaviour", "BucketPartitions"]

log = logging.getLogger(__name__)

BucketShell = PartitionShell[BucketPartition]
DELIVERY_BATCH = 64
SWEEP_PERIOD_S = 600.0
ERROR_PAUSE_S = 1.0
_PERMANENT_REPLICATION_ERRORS = frozenset({"NoSuchBucket", "InvalidRequest"})
_S3_ITSELF = Origin(requester=None, source_ip="")


class BucketBehaviour:
    def __init__(self, shell: BucketShell, env: Environment) -> None:
        self.shell = shell
        self.dispatcher = env.dispatcher
        self.blobs = blob_directory(shell.durable.log.directory)  # type: ignore[attr-defined]
        self._loop: asyncio.Task[None] | None = None
        self._sweeper: asyncio.Task[None] | None = None
        self._freeing: set[asyncio.Task[None]] = set()
        self._start()  # the outbox may hold notes from before a restart

    @property
    def engine(self) -> BucketPartition:
        return self.shell.engine

    @property
    def config(self) -> BucketConfig:
        return self.engine.config

    def _start(self) -> None:
        if self._loop is None:
            self._loop = self.shell.spawn(self._run())
        if self._sweeper is None:  # on real time under the test clock too (files age for real)
            self._sweeper = asyncio.ensure_future(self._sweep_forever())

    def configured(self, config: Any) -> None:
        self._start()
        self.shell.wake()

    async def attach(self, attached: Sequence[Any]) -> None:
        self._start()

    def committed(self, turn: Turn) -> None:
        self._start()
        for freed in turn.transfers:
            task = asyncio.ensure_future(delete_blobs(self.blobs, freed))
            self._freeing.add(task)
            task.add_done_callback(self._freeing.discard)

    def due(self, now_ms: int) -> bool:
        due = self.engine.next_due_ms()
        return due is not None and due <= now_ms

    def next_due_ms(self, now_ms: int) -> int | None:
        return self.engine.next_due_ms()

    # -- the loop ---------------------------------------------------------------------------
    async def _run(self) -> None:
        shell = self.shell
        while not shell.closed:
            try:
                event = shell.waiting()
                now = shell.clock.now_ms()
                due = self.engine.next_due_ms()
                if due is not None and due <= now:
                    await shell.apply(Tick())
                notes = await shell.apply(TakeNotes(DELIVERY_BATCH))
                if notes:
                    await self._deliver(notes)
                    continue
                await shell.park(event, self._timeout())
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("outbox of bucket %s failed; retrying", self.config.name)
                await shell.changed(ERROR_PAUSE_S)

    def _timeout(self) -> float | None:
        shell = self.shell
        if shell.virtual_clock:
            return None
        due = self.engine.next_due_ms()
        if due is None:
            return None
        return max(0.0, (due - shell.clock.now_ms()) / 1000) + 0.001

    async def _deliver(self, notes: list[Note]) -> None:
        results = await asyncio.gather(
            *(self._deliver_one(note) for note in notes), return_exceptions=True
        )
        done: list[int] = []
        failed: list[int] = []
        for note, result in zip(notes, results, strict=True):
            if isinstance(result, BaseException):
                if isinstance(result, asyncio.CancelledError):
                    raise result
                log.warning(
                    "bucket %s: notification to %s failed: %s",
                    self.config.name,
                    note.destination,
                    result,
                )
                failed.append(note.note_id)
            else:
                done.append(note.note_id)
        if not self.shell.closed:
            await self.shell.apply(SettleNotes(done, failed))

    async def _deliver_one(self, note: Note) -> None:
        kind, _, name = note.destination.partition(":")
        if kind in ("queue", "topic", "function"):
            await self.dispatcher.deliver(note.destination, note.text)
        elif kind == "bus":
            shaped = json.loads(note.text)
            (result,) = await self.dispatcher.put_events(
                name or DEFAULT_BUS,
                [
                    EventEntry(
                        source="aws.s3",
                        detail_type=shaped["detail_type"],
                        detail=json.dumps(shaped["detail"]),
                        resources=tuple(shaped["resources"]),
                        time_ms=shaped["time_ms"],
                        internal=True,
                    )
                ],
            )
            if isinstance(result, RaybusError):
                raise result
        elif kind == "replicate":
            await self._replicate(name, json.loads(note.text))
        else:
            raise RaybusError("InternalError", f"Unknown notification destination {kind!r}.")

    async def _replicate(self, bucket: str, wanted: dict[str, Any]) -> None:
        """Put the replica, then mark the source version COMPLETED; a destination that cannot
        take replicas (gone, versioning not enabled) marks it FAILED with S3's
        ``Replication:OperationFailedReplication`` event. Anything else is retried."""
        key, version_id = wanted["key"], wanted["version_id"]
        try:
            version = self.engine.version(key, version_id, 0)
        except RaybusError:
            return  # deleted meanwhile: nothing left to replicate
        status, event = "COMPLETED", None
        try:
            await self.dispatcher.replicate(bucket, key, version, self.blobs)
        except RaybusError as error:
            if error.code not in _PERMANENT_REPLICATION_ERRORS:
                raise
            log.warning("bucket %s: replication to %s failed: %s", self.config.name, bucket, error)
            status, event = "FAILED", "Replication:OperationFailedReplication"
        if version.delete_marker:
            return  # a marker carries no replication status
        try:
            await self.shell.apply(
                UpdateObject(key, version_id, {"replication_status": status}, event, _S3_ITSELF)
            )
        except RaybusError as error:
            if error.code not in ("NoSuchKey", "NoSuchVersion"):
                raise

    # -- garbage ------------------------------------------------------------------------------
    async def _sweep_forever(self) -> None:
        while not self.shell.closed:
            try:
                referenced = await self.shell.apply(ReferencedBlobs())
                removed = await asyncio.get_running_loop().run_in_executor(
                    None, sweep, self.blobs, referenced
                )
                if removed:
                    log.info("bucket %s: swept %d unreferenced blobs", self.config.name, removed)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("blob sweep of bucket %s failed", self.config.name)
            await asyncio.sleep(SWEEP_PERIOD_S)

    async def close(self) -> None:
        tasks = [t for t in (self._loop, self._sweeper) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(BaseException):
                await task
        self._loop = self._sweeper = None
        if self._freeing:
            await asyncio.gather(*self._freeing, return_exceptions=True)


@dataclass(frozen=True, slots=True)
class BucketPartitions:
    name: str = "bucket"

    def engine(
        self, config: Any, log: PartitionLog, *, tag: int, partition: int, epoch: int
    ) -> BucketPartition:
        if not isinstance(config, BucketConfig):
            config = BucketConfig.from_dict(config)
        return BucketPartition(config, log, tag=tag, partition=partition, epoch=epoch)

    def behaviour(self, shell: BucketShell, env: Environment) -> BucketBehaviour:
        return BucketBehaviour(shell, env)


BUCKETS = BucketPartitions()


def blob_path(shell: BucketShell, name: str) -> str:
    return os.path.join(blob_directory(shell.durable.log.directory), name)  # type: ignore[attr-defined]
