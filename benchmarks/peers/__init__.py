"""Targets of the queue benchmark: raybus (through its SDK) and the peers it is compared with.

One module per system; each imports its client library only when used, so a missing peer
costs nothing until it is asked for. ``make_target`` builds one from the parsed options of
``benchmarks.bench_queue``.
"""

from __future__ import annotations

import argparse

from .base import Target, TargetUnavailable

__all__ = ["TARGETS", "Target", "TargetUnavailable", "make_target"]

#: every target name the benchmark accepts, raybus first
TARGETS = ("raybus", "raybus-raw", "raybus-sqs", "moto", "localstack", "nats", "rabbitmq")


def make_target(name: str, options: argparse.Namespace) -> Target:
    connections = max(options.concurrency, options.big_concurrency) + 8
    if name in ("raybus", "raybus-raw"):
        from .raybus_gateway import RaybusRawTarget, RaybusTarget

        kind = RaybusTarget if name == "raybus" else RaybusRawTarget
        return kind(
            url=options.url,
            connections=connections,
            up_args=options.up_arg or (),
            pid=options.raybus_pid,
            partitions=options.partitions,
        )
    if name == "raybus-sqs":
        from .sqs import RaybusSqsTarget

        return RaybusSqsTarget(options.url, connections, options.up_arg or ())
    if name == "moto":
        from .sqs import MotoTarget

        return MotoTarget(connections=connections)
    if name == "localstack":
        from .sqs import LocalStackTarget

        return LocalStackTarget(connections=connections, python=options.localstack_python or "")
    if name == "nats":
        from .jetstream import JetStreamTarget

        return JetStreamTarget()
    if name == "rabbitmq":
        from .rabbitmq import RabbitMqTarget

        return RabbitMqTarget()
    raise ValueError(f"unknown target {name!r}; choose from {', '.join(TARGETS)}")
