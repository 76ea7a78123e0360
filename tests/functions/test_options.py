"""A function's Ray resources follow Lambda's sizing and never make it unschedulable."""

from __future__ import annotations

from raybus.core.functions import FunctionConfig
from raybus.options import MIB, function_actor_options, function_task_options

GIB = 1024 * MIB


def test_a_task_reserves_lambdas_cpu_share_and_the_memory() -> None:
    options = function_task_options(FunctionConfig(name="f", handler="m:f", memory_mb=1769))
    assert options["num_cpus"] == 1.0
    assert options["memory"] == 1769 * MIB
    assert options["num_returns"] == "streaming"  # "started" first, then the outcome
    assert (options["max_retries"], options["retry_exceptions"]) == (0, False)


def test_an_actor_runs_one_invocation_at_a_time_and_is_never_restarted() -> None:
    options = function_actor_options(FunctionConfig(name="f", handler="m:f", cpus=0.5))
    assert options["num_cpus"] == 0.5 and options["memory"] == 128 * MIB
    assert (options["max_concurrency"], options["max_restarts"]) == (1, 0)
    assert "lifetime" not in options  # owned by the invoking process


def test_requests_larger_than_every_node_are_capped_or_dropped() -> None:
    big = FunctionConfig(name="f", handler="m:f", memory_mb=10_240, cpus=8)
    for make in (function_task_options, function_actor_options):
        options = make(big, max_node_cpus=2, max_node_memory_bytes=4 * GIB)
        assert options["num_cpus"] == 2
        assert "memory" not in options
        fits = make(big, max_node_cpus=16, max_node_memory_bytes=16 * GIB)
        assert (fits["num_cpus"], fits["memory"]) == (8, 10_240 * MIB)
