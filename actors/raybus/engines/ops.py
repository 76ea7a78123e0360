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

from typing import Any, Generic, TypeVar

__all__ = ["Op", "Turn"]

E = TypeVar("E", contravariant=True)
R = TypeVar("R", covariant=True)


class Turn:
    """One engine turn: the time, the epoch, and the effects to run after the commit."""

    __slots__ = ("epoch", "now_ms", "transfers", "wake")

    def __init__(self, now_ms: int, epoch: int = 0) -> None:
        self.now_ms = now_ms
        self.epoch = epoch
        self.wake = False  # waiters (long polls, delivery loops) look again after the commit
        self.transfers: list[Any] = []  # handed to the kind after the commit (dead letters)


class Op(Generic[E, R]):
    """An operation on one partition's engine of type ``E``, answering ``R``."""

    __slots__ = ()

    def apply(self, engine: E, turn: Turn) -> R:
        raise NotImplementedError
