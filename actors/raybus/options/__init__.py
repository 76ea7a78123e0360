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
    "HOST_NAME_PREFIX",
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


HOST_NAME_PREFIX = "raybus-host-"


def host_name(index: int) -> str:
    return f"{HOST_NAME_PREFIX}{index}"


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


# -- functions (raybus.functions.runtime) ------------------------------------------------------
# Appended for the function runtime. A function's Ray resources follow Lambda's sizing:
# ``num_cpus`` is the config's CPU share (memory_mb / 1769 unless set) and ``memory`` reserves
# memory_mb. Ray's ``memory`` and ``CPU`` are logical reservations: a request larger than every
# node's total makes the task or actor infeasible (pending forever), so the caller passes the
# largest alive node's totals and a request that could never fit is capped (CPU) or dropped
# (memory: the function then runs unreserved, like any Ray task without a memory request).
# Function tasks and actors are never retried or restarted by Ray: Lambda's retry rules (async
# retries, event-source redelivery) belong to the callers, and a timed-out handler is killed.

MIB = 1024 * 1024


def _function_resources(
    config: Any, max_node_cpus: float | None, max_node_memory_bytes: float | None
) -> dict[str, Any]:
    cpus = float(config.cpu_share)
    if max_node_cpus is not None and max_node_cpus > 0:
        cpus = min(cpus, max_node_cpus)
    resources: dict[str, Any] = {"num_cpus": cpus}
    memory = int(config.memory_mb) * MIB
    if max_node_memory_bytes is None or memory <= max_node_memory_bytes:
        resources["memory"] = memory
    return resources


def function_task_options(
    config: Any,
    *,
    max_node_cpus: float | None = None,
    max_node_memory_bytes: float | None = None,
) -> dict[str, Any]:
    """Options of the Ray task that runs one invocation of ``config`` (a FunctionConfig).
    ``num_returns="streaming"``: the task first yields a "started" marker, so the caller times
    the handler from its start, not from scheduling or worker start-up."""
    return {
        "name": f"raybus-function-{config.name}",
        "num_returns": "streaming",
        "max_retries": 0,
        "retry_exceptions": False,
        **_function_resources(config, max_node_cpus, max_node_memory_bytes),
    }


def function_actor_options(
    config: Any,
    *,
    max_node_cpus: float | None = None,
    max_node_memory_bytes: float | None = None,
) -> dict[str, Any]:
    """Options of one warm ``FunctionWorker`` actor of ``config``'s pool: a synchronous actor
    running one invocation at a time (``max_concurrency=1``; measured faster than an async
    actor for small handlers, benchmarks/bench_functions.py --raw on a shared 2-core machine:
    740–875 vs 550–710 calls/s sequential, 1,860–2,430 vs 930–1,700 at 32 concurrent).
    Owned by the invoking process (not detached), so a pool dies with its host or gateway."""
    return {
        "max_concurrency": 1,
        "max_restarts": 0,
        "max_task_retries": 0,
        **_function_resources(config, max_node_cpus, max_node_memory_bytes),
    }


__all__ += ["function_actor_options", "function_task_options"]
