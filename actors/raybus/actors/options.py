"""Every ``ray.remote`` option raybus uses, in one place (DESIGN.md: "remote options in one
module"), and the names under which the cluster's actors are found.

- The controller is detached and named, so gateways, hosts and CLI invocations find it by name
  and it outlives the process that created it (attach mode); Ray restarts it if it dies.
- Partition hosts are named ``raybus-host-<i>``, detached (they must outlive a controller
  crash), restarted without limit (a restarted host
  reopens its partitions from disk), and spread over the cluster's nodes. They reserve a token
  0.01 CPU: Ray's SPREAD strategy spreads by resource use and places zero-CPU actors on the
  same node, while a whole CPU each would stop a 2-core laptop from running more than two.
- Each host has a ``control`` concurrency group so health checks and stats never queue behind
  thousands of parked long polls in the default group.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "CONTROLLER_NAME",
    "NAMESPACE",
    "controller_options",
    "gateway_name",
    "gateway_options",
    "host_class_options",
    "host_name",
    "host_options",
]

NAMESPACE = "raybus"
CONTROLLER_NAME = "raybus-controller"
DATA_CONCURRENCY = 10_000  # parked long polls each hold a slot
CONTROL_CONCURRENCY = 16
HOST_CPUS = 0.01


def host_name(index: int) -> str:
    return f"raybus-host-{index}"


def gateway_name(node_id: str) -> str:
    return f"raybus-gateway-{node_id[:12]}"


def controller_options() -> dict[str, Any]:
    return {
        "name": CONTROLLER_NAME,
        "namespace": NAMESPACE,
        "lifetime": "detached",
        "get_if_exists": True,
        "max_restarts": -1,
        "max_task_retries": 0,
        "num_cpus": 0,
        "max_concurrency": 1_000,
    }


def host_options(index: int) -> dict[str, Any]:
    options: dict[str, Any] = {
        "name": host_name(index),
        "namespace": NAMESPACE,
        "get_if_exists": True,
        "max_restarts": -1,
        "max_task_retries": 0,
        "max_concurrency": DATA_CONCURRENCY,
        "num_cpus": HOST_CPUS,
        "scheduling_strategy": "SPREAD",
        # detached: the controller creates the hosts, and a non-detached actor dies with its
        # owner, so a controller crash would take every partition down with it
        "lifetime": "detached",
    }
    return options


def host_class_options() -> dict[str, Any]:
    """Options Ray accepts only in ``ray.remote(...)``, not in ``.options()``."""
    return {"concurrency_groups": {"control": CONTROL_CONCURRENCY}}


def gateway_options(node_id: str | None, *, detached: bool) -> dict[str, Any]:
    options: dict[str, Any] = {
        "namespace": NAMESPACE,
        "get_if_exists": True,
        "max_restarts": -1,
        "num_cpus": 0,
        "max_concurrency": DATA_CONCURRENCY,
    }
    if node_id is not None:
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        options["name"] = gateway_name(node_id)
        options["scheduling_strategy"] = NodeAffinitySchedulingStrategy(node_id, soft=False)
    else:
        options["name"] = "raybus-gateway"
    if detached:
        options["lifetime"] = "detached"
    return options
