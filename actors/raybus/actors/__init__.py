"""raybus.actors: the Ray actors that host partitions, and how to reach them.

- :class:`PartitionHost` — an async actor hosting many partitions of every kind (each in a
  :class:`~raybus.partitions.PartitionShell`), fenced by epochs; its pollers run the functions
  fed by its queue partitions.
- :class:`Router` — routing-table client shared by gateways, hosts and the controller: typed
  operations to any partition: a plain await, a call on another host's channel
  (:mod:`raybus.actors.channel`, a socket between the two processes) or a Ray call.
- :class:`RouterDispatcher` — reaching any resource by name (send, publish, invoke).
- every ``ray.remote`` option and actor name is in :mod:`raybus.options` (below every
  package that starts Ray work: actors and functions alike).
"""

from raybus.actors.dispatch import FunctionRuntime, RouterDispatcher
from raybus.actors.partition_host import PartitionHost, partition_directory
from raybus.actors.router import Router, merge_stats, send_split, split_by_partition
from raybus.options import (
    CONTROLLER_NAME,
    HOST_NAME_PREFIX,
    NAMESPACE,
    controller_options,
    gateway_options,
    host_class_options,
    host_name,
    host_options,
)

__all__ = [
    "CONTROLLER_NAME",
    "HOST_NAME_PREFIX",
    "NAMESPACE",
    "FunctionRuntime",
    "PartitionHost",
    "Router",
    "RouterDispatcher",
    "controller_options",
    "gateway_options",
    "host_class_options",
    "host_name",
    "host_options",
    "merge_stats",
    "partition_directory",
    "send_split",
    "split_by_partition",
]
