"""raybus.actors: the Ray actor shells that host engine partitions.

- :class:`PartitionHost` — an async actor hosting many partitions (:class:`LivePartition`:
  engine + file log + group commit + long polls), fenced by epochs.
- :class:`Router` — routing-table client shared by gateways, hosts and the controller.
- :mod:`raybus.actors.options` — every ``ray.remote`` option and actor name.
"""

from raybus.actors.live_partition import LivePartition
from raybus.actors.options import (
    CONTROLLER_NAME,
    NAMESPACE,
    controller_options,
    gateway_options,
    host_class_options,
    host_name,
    host_options,
)
from raybus.actors.partition_host import PartitionHost, partition_directory
from raybus.actors.router import Router, merge_stats, split_by_partition

__all__ = [
    "CONTROLLER_NAME",
    "NAMESPACE",
    "LivePartition",
    "PartitionHost",
    "Router",
    "controller_options",
    "gateway_options",
    "host_class_options",
    "host_name",
    "host_options",
    "merge_stats",
    "partition_directory",
    "split_by_partition",
]
