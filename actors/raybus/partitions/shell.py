"""The shell of one partition, of any kind: engine and log, group commit, wake-ups, checkpoints.

One :class:`PartitionShell` runs each partition a host owns. It owns what every kind needs —
recovery (on a worker thread: a long log must not stall the host's other partitions), one
engine turn per batch of typed operations and one commit per turn, wake-ups for whatever waits
on the partition, checkpoints that bound disk use, stats and close — and plugs in what a kind
needs beyond that as a :class:`Behaviour` made by the kind's :class:`PartitionKind` (a queue's
dead-letter transfers, a topic's delivery loops). :mod:`raybus.partitions.registry` lists the
kinds.

Concurrency: every method runs on the host's data event loop. :meth:`execute` applies a batch
of operations in one synchronous turn (no ``await`` inside a state transition), then one
``await`` on the group committer makes all of it durable before any result is returned. Calls
that arrive while a flush runs are applied meanwhile and share the next flush.

Durability: a result leaves :meth:`execute` only after a commit that covers the log's end at
the time the turn finished — every record the turn appended, and every record before it. So an
operation that appended nothing (a FIFO duplicate) is acknowledged only once the original is
durable. The exception is a turn of receives only (``Op.answer_needs_commit`` false, see
:class:`~raybus.engines.ops.Turn`): it answers once the records it exposes — the SEND records
of the messages it returns — are durable, so a receive never exposes a message whose send is
not, and flushes its own in-flight records right away without holding the answer.

Waiting: :class:`Wait` operations (a long poll) run on the shell between turns; they wait on
:meth:`changed` or :meth:`park`, which return at the next :meth:`wake` (after a turn that
changed what waiters see, a clock move, a config change) or after a timeout.

Test clock: with ``Environment.activity`` set (``--test-clock`` only), the shell's background
tasks, its waiting operations and its kind's loops are units of the host's
:class:`~raybus.partitions.activity.Activity`, idle only while parked, and the behaviour answers
``due(now)`` and ``next_due_ms(now)`` — what the controller needs to move time one due timer
at a time (:mod:`raybus.partitions.activity`). Without it none of this runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from raybus.core.clock import Clock
from raybus.core.errors import RaybusError
from raybus.engines.ops import Op, Turn
from raybus.partitions.activity import Activity
from raybus.partitions.durable import CheckpointPolicy, Durable, RecoverableEngine
from raybus.partitions.transfer import Dispatcher
from raybus.storage import FileLog, FsyncPolicy, GroupCommitter, PartitionLog

__all__ = ["Behaviour", "Environment", "PartitionKind", "PartitionShell", "Wait"]

log = logging.getLogger(__name__)

E = TypeVar("E", bound=RecoverableEngine)
R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class Environment:
    """What a host gives every partition it opens: the clock (virtual under ``--test-clock``),
    the dispatcher that reaches other resources, the fsync policy, the checkpoint rule, and
    (test clock only) the host's activity, which counts busy background work."""

    clock: Clock
    dispatcher: Dispatcher
    fsync: FsyncPolicy = FsyncPolicy.ALWAYS
    virtual_clock: bool = False
    checkpoint: CheckpointPolicy | None = None
    activity: Activity | None = None


class Behaviour(Protocol):
    """What a kind adds to its partitions' shells (one instance per partition)."""

    def configured(self, config: Any) -> None:
        """The resource's settings changed (the engine has them already)."""

    async def attach(self, attached: Sequence[Any]) -> None:
        """The settings attached to this resource changed (a topic's subscriptions); durable
        before it returns."""

    def committed(self, turn: Turn) -> None:
        """A turn's records are durable: run its effects (e.g. deliver dead letters)."""

    def due(self, now_ms: int) -> bool:
        """Test clock: True while something parked on this partition would find work at
        ``now_ms`` (a delivery due, a visible message and a waiter) — the partition is not
        quiescent, and a wake-up makes it run."""

    def next_due_ms(self, now_ms: int) -> int | None:
        """Test clock: the earliest time after ``now_ms`` at which something becomes due here
        (a retry, a delayed or in-flight message), or None. May be early (nothing happens
        then), never late."""

    async def close(self) -> None:
        """Stop background work (the shell closes the log afterwards)."""


class PartitionKind(Protocol[E]):
    """A kind's part in the partition layer: how to build its engine and its behaviour."""

    @property
    def name(self) -> str:
        """The kind's name (raybus.core.kinds)."""
        ...

    def engine(self, config: Any, log: PartitionLog, *, tag: int, partition: int, epoch: int) -> E:
        """A new, empty engine (recovery fills it)."""
        ...

    def behaviour(self, shell: PartitionShell[E], env: Environment) -> Behaviour:
        """The behaviour of one partition's shell."""
        ...


class Wait(Generic[E, R]):
    """An operation that may wait (a long poll): it runs on the shell, between turns, and
    typically loops ``execute`` and ``changed``."""

    __slots__ = ()

    async def run(self, shell: PartitionShell[E]) -> R:
        raise NotImplementedError


class _Waker:
    """Waiters wait on the current event; a change sets it and replaces it."""

    __slots__ = ("event",)

    def __init__(self) -> None:
        self.event = asyncio.Event()

    def notify(self) -> None:
        self.event.set()
        self.event = asyncio.Event()


class PartitionShell(Generic[E]):
    def __init__(
        self,
        kind: PartitionKind[E],
        durable: Durable[E],
        *,
        partition: int,
        epoch: int,
        env: Environment,
    ) -> None:
        self.kind = kind
        self.durable = durable
        self.engine: E = durable.engine
        self.partition = partition
        self.epoch = epoch
        self.env = env
        self.clock = env.clock
        self.committer = GroupCommitter(durable.log)
        self._waker = _Waker()
        self._background: set[asyncio.Task[None]] = set()
        self.closed = False
        self.activity = env.activity
        self.waiters = 0  # parked waits (test clock only: counted when activity is set)
        self.behaviour = kind.behaviour(self, env)

    @classmethod
    async def open(
        cls,
        kind: PartitionKind[E],
        config: Any,
        directory: str,
        *,
        tag: int,
        partition: int,
        epoch: int,
        env: Environment,
    ) -> PartitionShell[E]:
        """Recover the partition from ``directory`` (on a worker thread)."""

        def recover() -> Durable[E]:
            file_log = FileLog(directory, fsync=env.fsync, clock=env.clock)
            try:
                engine = kind.engine(config, file_log, tag=tag, partition=partition, epoch=epoch)
                return Durable.recover(engine, file_log, checkpoint=env.checkpoint)
            except BaseException:
                file_log.close()
                raise

        durable = await asyncio.get_running_loop().run_in_executor(None, recover)
        return cls(kind, durable, partition=partition, epoch=epoch, env=env)

    @property
    def config(self) -> Any:
        return getattr(self.engine, "config", None)

    @property
    def virtual_clock(self) -> bool:
        return self.env.virtual_clock

    # -- turns --------------------------------------------------------------------------------
    async def execute(self, ops: Sequence[Op[E, Any]]) -> list[Any]:
        """Apply ``ops`` in order in one engine turn, commit once, return one result (or the
        op's error) per op. ``StorageFailure`` from the commit fails the whole call (nothing in
        it is acknowledged)."""
        if self.closed:
            raise RaybusError("PartitionUnavailable", "The partition is closed.")
        turn = Turn(self.clock.now_ms(), self.epoch)
        results = self.durable.apply(ops, turn)
        if turn.commit_all or turn.transfers:
            await self.committer.commit()
        else:  # receives only: answer once what they expose is durable (see Turn)
            await self.committer.commit(through=turn.durable_through)
            self.committer.flush_soon()
        if turn.wake:
            self.wake()
        if turn.transfers:
            self.behaviour.committed(turn)
        self._maybe_checkpoint()
        return results

    async def apply(self, op: Op[E, R]) -> R:
        """One op in its own turn; its error is raised."""
        (result,) = await self.execute([op])
        if isinstance(result, RaybusError):
            raise result
        answer: R = result
        return answer

    async def perform(self, wait: Wait[E, R]) -> R:
        if self.closed:
            raise RaybusError("PartitionUnavailable", "The partition is closed.")
        if self.activity is None:
            return await wait.run(self)
        # test clock: a long poll is busy unless parked
        with self.activity.unit(f"{self.describe()}: {type(wait).__name__}"):
            return await wait.run(self)

    async def commit(self) -> None:
        """Make what was applied outside :meth:`execute` durable (a behaviour's own turns)."""
        await self.committer.commit()
        self._maybe_checkpoint()

    # -- waking ---------------------------------------------------------------------------------
    def wake(self) -> None:
        self._waker.notify()

    async def changed(self, timeout_s: float | None) -> None:
        """Return at the next :meth:`wake`, or after ``timeout_s`` (real seconds; None: no
        limit)."""
        event = self._waker.event
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), timeout_s)

    def waiting(self) -> asyncio.Event:
        """The event the next :meth:`wake` sets (take it before checking a condition)."""
        return self._waker.event

    async def park(
        self, event: asyncio.Event, timeout_s: float | None, *, idle: bool = True
    ) -> None:
        """Wait for ``event`` (taken with :meth:`waiting` *before* checking that there is
        nothing to do) or ``timeout_s`` real seconds (None: no limit). Under the test clock the
        waiting unit counts as idle meanwhile (``idle=False``: it stays busy — it holds work it
        has not finished, such as a batch still collecting) and as a waiter of this partition
        (see ``Behaviour.due``)."""
        activity = self.activity
        if activity is None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), timeout_s)
            return
        self.waiters += 1
        try:
            with (
                activity.parked() if idle else contextlib.nullcontext(),
                contextlib.suppress(TimeoutError),
            ):
                await asyncio.wait_for(event.wait(), timeout_s)
        finally:
            self.waiters -= 1

    def describe(self) -> str:
        """``<kind> <resource>/<partition>`` (for reports)."""
        config = self.config
        return f"{self.kind.name} {getattr(config, 'name', '?')}/{self.partition}"

    # -- settings and attachments -----------------------------------------------------------
    def configure(self, config: Any) -> None:
        self.engine.config = config  # type: ignore[attr-defined]
        self.behaviour.configured(config)
        self.wake()

    async def attach(self, attached: Sequence[Any]) -> None:
        await self.behaviour.attach(attached)
        self.wake()

    # -- background work ------------------------------------------------------------------------
    def spawn(self, work: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        """Run ``work`` in the background, cancelled when the shell closes (test clock: as a
        unit of the host's activity, named after the partition and the coroutine)."""
        activity = self.activity
        task: asyncio.Task[None] = (
            asyncio.ensure_future(work)
            if activity is None
            else activity.task(work, f"{self.describe()}: {getattr(work, '__qualname__', 'task')}")
        )
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return task

    def _maybe_checkpoint(self) -> None:
        """Compact and snapshot when due. Runs on the loop between turns (rare: every few tens
        of MB of log growth); synchronous, so no call sees a half-compacted engine."""
        if not self.durable.checkpoint_due():
            return
        try:
            self.durable.checkpoint()
        except RaybusError:
            log.exception("checkpoint failed; the log keeps growing until the next try")

    async def close(self) -> None:
        self.closed = True
        self.wake()
        await self.behaviour.close()
        for task in list(self._background):
            task.cancel()
        for task in list(self._background):
            with contextlib.suppress(BaseException):
                await task
        await self.committer.aclose()
        self.durable.log.close()
