"""Typed operations: what crosses the seam between a caller and a partition.

An operation is a small frozen value that names its engine type and its result type,
``Op[Engine, Result]`` (ElasticMQ's sealed queue messages are the model). The partition's shell
applies a batch of them in one synchronous turn (principle 3: no ``await`` inside a state
transition) — ``op.apply(engine, turn)`` for each — then commits once and only then answers
(principle 4). An op that raises a :class:`~raybus.core.errors.RaybusError` answers that error
in its slot; the others still apply.

:class:`Turn` is the turn's context: the clock's time, the partition's epoch, and what the
shell must do after the commit (wake waiters; hand the transfers a receive produced — dead
letters — to the kind's transfer runner). Ops are picklable (they cross Ray calls) and carry
no behaviour but their one ``apply``, so a caller can type ``await lane.submit(Send(...))`` and
get ``list[SendResult | RaybusError]`` back, checked by mypy end to end.
"""

from __future__ import annotations

from typing import Any, ClassVar, Generic, TypeVar

__all__ = ["Op", "Turn"]

E = TypeVar("E", contravariant=True)
R = TypeVar("R", covariant=True)


class Turn:
    """One engine turn: the time, the epoch, the effects to run after the commit, and how much
    of the log the answers need durable.

    By default an answer waits for the commit of everything the turn appended (principle 4:
    acknowledge only what is durable). An op whose answer changes nothing that must survive —
    a receive: what it appends is in-flight state, which the principle lets a crash undo, since
    an in-flight message that becomes visible again is at-least-once — sets
    ``Op.answer_needs_commit = False`` and names the records its answer exposes with
    :meth:`needs_durable` (a receive: the SEND records of the messages it returns, which a
    commit still in flight may not have covered yet). The shell then answers once those are
    durable and flushes the rest without holding the answer back.
    """

    __slots__ = ("commit_all", "durable_through", "epoch", "now_ms", "transfers", "wake")

    def __init__(self, now_ms: int, epoch: int = 0) -> None:
        self.now_ms = now_ms
        self.epoch = epoch
        self.wake = False  # waiters (long polls, delivery loops) look again after the commit
        self.transfers: list[Any] = []  # handed to the kind after the commit (dead letters)
        self.commit_all = False  # set when an op whose answer needs the whole commit applied
        self.durable_through = 0  # the answers need every record starting below this durable

    def needs_durable(self, through: int) -> None:
        """The answers expose records starting below log offset ``through``."""
        if through > self.durable_through:
            self.durable_through = through


class Op(Generic[E, R]):
    """An operation on one partition's engine of type ``E``, answering ``R``."""

    __slots__ = ()

    #: Whether the op's answer must wait for the commit of everything its turn appended (see
    #: :class:`Turn`). Only an op that changes nothing a crash must keep may say no.
    answer_needs_commit: ClassVar[bool] = True

    def apply(self, engine: E, turn: Turn) -> R:
        raise NotImplementedError
