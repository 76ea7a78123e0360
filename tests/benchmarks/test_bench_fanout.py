"""The fan-out and functions benchmark's pure parts, and its workload against an in-memory
client with the SDK's surface. No cluster here: the real run is
``python -m benchmarks.bench_fanout``."""

from __future__ import annotations

import argparse
import asyncio
import math
from collections.abc import Iterable, Mapping
from typing import Any

import pytest
from benchmarks.bench_fanout import (
    QUICK,
    FanoutBench,
    _parser,
    apply_quick,
    cpu_delta,
    deliveries_per_s,
    fn_case_key,
    fn_result,
    format_table,
    noop,
    parse_args,
    parse_fn_batch,
    render,
    summarize,
)


def parse(*argv: str) -> argparse.Namespace:
    args = _parser().parse_args(
        ["--no-progress", "--poll-s", "0.001", "--progress-s", "0.01", *argv]
    )
    args.command = "test"
    return args


# --- an in-memory client -----------------------------------------------------------------------


class FakeQueue:
    def __init__(self, client: FakeClient, name: str) -> None:
        self.client, self.name = client, name
        self.visible = 0

    async def stats(self) -> dict[str, int]:
        self.client.ticks += 1
        self.client.tick()
        return {"visible": self.visible, "in_flight": 0, "delayed": 0}

    async def send_batch(self, bodies: Iterable[str | Mapping[str, Any]]) -> list[object]:
        items = list(bodies)
        self.visible += len(items)
        return [object() for _ in items]


class FakeTopic:
    """Publishes succeed at once; each subscribed queue gets the messages one stats poll later
    (so the benchmark has a backlog to wait for). Every ``fail_every``-th entry fails."""

    def __init__(self, client: FakeClient, name: str, fail_every: int = 0) -> None:
        self.client, self.name, self.fail_every = client, name, fail_every
        self.queues: list[FakeQueue] = []
        self.entries = 0
        self.requests: list[int] = []

    async def subscribe(self, queue: FakeQueue, *, raw: bool = False) -> None:
        assert raw
        self.queues.append(queue)

    async def publish_batch(self, entries: Iterable[Mapping[str, Any]]) -> list[object]:
        items = list(entries)
        assert all(len(e["body"]) == 64 for e in items)
        self.requests.append(len(items))
        results: list[object] = []
        for _ in items:
            self.entries += 1
            if self.fail_every and self.entries % self.fail_every == 0:
                results.append(RuntimeError("throttled"))
            else:
                results.append(object())
                self.client.pending.extend(self.queues)
        await asyncio.sleep(0)
        return results

    async def delete(self) -> None:
        self.client.deleted.append(f"topic:{self.name}")


class FakeMapping:
    def __init__(self, client: FakeClient, queue: FakeQueue, batch: int) -> None:
        self.client, self.queue, self.batch = client, queue, batch
        self.invocations = 0

    def consume(self) -> None:
        if self.queue.visible:
            self.queue.visible -= min(self.batch, self.queue.visible)
            self.invocations += 1

    async def stats(self) -> dict[str, Any]:
        return {"backlog": self.queue.visible, **self.client.mapping_extra}

    async def delete(self) -> None:
        self.client.mappings.remove(self)
        self.client.deleted.append("mapping")


class FakeClient:
    def __init__(self, fail_every: int = 0) -> None:
        self.fail_every = fail_every
        self.queues: dict[str, FakeQueue] = {}
        self.topics: list[FakeTopic] = []
        self.mappings: list[FakeMapping] = []
        self.functions: dict[str, dict[str, Any]] = {}
        self.pending: list[FakeQueue] = []
        self.deleted: list[str] = []
        self.mapping_extra: dict[str, Any] = {}
        self.ticks = 0

    def tick(self) -> None:
        """One unit of server progress: deliver what was published, run each mapping once."""
        for queue in self.pending:
            queue.visible += 1
        self.pending.clear()
        for mapping in self.mappings:
            mapping.consume()

    async def create_topic(self, name: str) -> FakeTopic:
        self.topics.append(FakeTopic(self, name, self.fail_every))
        return self.topics[-1]

    async def create_queue(self, name: str, *, visibility_timeout_s: int) -> FakeQueue:
        self.queues[name] = FakeQueue(self, name)
        return self.queues[name]

    async def delete_queue(self, queue: FakeQueue) -> None:
        del self.queues[queue.name]

    async def create_function(self, name: str, handler: Any, **options: Any) -> str:
        self.functions[name] = {"handler": handler, **options}
        return name

    async def delete_function(self, name: str) -> None:
        del self.functions[name]

    async def create_event_source_mapping(
        self, queue: FakeQueue, function: str, **settings: Any
    ) -> FakeMapping:
        assert function in self.functions
        self.mappings.append(FakeMapping(self, queue, settings["batch_size"]))
        return self.mappings[-1]


BODY = ("--body-bytes", "64")


# --- pure parts --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("queues", "acked", "seconds", "expected"),
    [(1, 1000, 1.0, 1000.0), (3, 10_000, 2.0, 15_000.0), (10, 50, 0.5, 1000.0)],
)
def test_deliveries_per_second_count_every_queue(
    queues: int, acked: int, seconds: float, expected: float
) -> None:
    assert deliveries_per_s(queues, acked, seconds) == expected


def test_deliveries_per_second_without_elapsed_time_is_nan() -> None:
    assert math.isnan(deliveries_per_s(3, 10, 0.0))


@pytest.mark.parametrize(
    ("text", "expected"), [("10", (10, 0)), ("100:1", (100, 1)), ("1:0", (1, 0))]
)
def test_a_mapping_batch_is_a_size_with_an_optional_window(
    text: str, expected: tuple[int, int]
) -> None:
    assert parse_fn_batch(text) == expected


@pytest.mark.parametrize("text", ["0", "10001", "10:-1", "ten", "10:400"])
def test_impossible_mapping_batches_are_refused(text: str) -> None:
    with pytest.raises((argparse.ArgumentTypeError, ValueError)):
        parse_fn_batch(text)


def test_the_default_cases_are_the_issues_and_the_handler_does_nothing() -> None:
    args = parse()
    assert (args.fanouts, args.publish_batch, args.runs) == ([1, 3, 10], 10, 3)
    assert args.fn_batches == [(10, 0), (100, 1)]
    assert args.runtimes == ["task", "actor"]
    noop({"Records": [{"body": "x"}]}, None)  # returns nothing, raises nothing


def test_quick_shrinks_the_sizes_but_explicit_flags_win_even_when_equal_to_the_default() -> None:
    args = parse_args(["--quick", "--fanouts", "1", "3", "10", "--runs", "3"])
    assert (args.fanouts, args.runs) == ([1, 3, 10], 3)
    assert (args.seconds, args.fn_messages) == (QUICK["seconds"], QUICK["fn_messages"])
    before = vars(args).copy()
    apply_quick(args, vars(parse()))  # run() does not shrink twice
    assert vars(args) == before


def test_quick_from_another_parser_shrinks_what_was_left_at_its_default() -> None:
    defaults = vars(parse())
    args = parse("--quick", "--fanouts", "10")
    apply_quick(args, defaults)
    assert args.fanouts == [10]
    assert (args.runs, args.seconds, args.fn_messages) == (
        QUICK["runs"],
        QUICK["seconds"],
        QUICK["fn_messages"],
    )


def test_summaries_are_medians_over_the_runs_that_succeeded() -> None:
    fanout = {
        "published_per_s": 1.0,
        "deliveries_per_s_during": 2.0,
        "deliveries_per_s": 3.0,
        "drain_s": 0.5,
    }
    results: dict[str, list[dict[str, Any]]] = {
        "fanout_3": [fanout, {**fanout, "deliveries_per_s": 9.0}, {**fanout, "drain_s": 0.1}],
        "fn_task_b10_w0": [
            {
                "messages_per_s": 5.0,
                "invocations_per_s": 0.5,
                "first_s": 1.0,
                "warm_messages_per_s": 6.0,
            },
            {"error": "Stalled: no"},
        ],
        "fn_actor_b10_w0": [{"error": "Stalled: no"}],
    }
    medians = summarize(results)
    assert medians["fanout_3"]["deliveries_per_s"] == 3.0
    assert medians["fanout_3"]["drain_s"] == 0.5
    assert medians["fn_task_b10_w0"]["messages_per_s"] == 5.0
    assert "fn_actor_b10_w0" not in medians


def test_a_function_run_reports_the_rate_overall_and_after_the_first_batch() -> None:
    result = fn_result(1000, 10, started=100.0, first=(102.0, 100), ended=104.0, stats={})
    assert result["first_s"] == 2.0
    assert result["messages_per_s"] == 250.0  # 1000 in 4 s, start-up included
    assert result["warm_messages_per_s"] == 450.0  # the other 900 in the last 2 s
    assert (result["invocations"], result["invocations_estimated"]) == (100, True)
    assert result["invocations_per_s"] == 25.0
    at_once = fn_result(100, 100, started=0.0, first=(1.0, 100), ended=1.5, stats={})
    assert math.isnan(at_once["warm_messages_per_s"])


def test_server_cpu_counts_new_processes_whole_and_never_goes_negative_when_one_exits() -> None:
    before = {1: 10.0, 2: 5.0, 3: 7.0}
    after = {1: 12.5, 2: 5.0, 4: 1.5}  # 3 exited, 4 started
    assert cpu_delta(before, after) == 4.0
    assert cpu_delta({1: 3.0}, {1: 2.0}) == 0.0  # a reused pid


def test_tables_align_numbers_right_under_a_dashed_header() -> None:
    text = format_table(["", "a", "bb"], [["row one", "1", "22,000"], ["x", "333", "4"]])
    lines = text.splitlines()
    assert lines[1] == "-------  ---  ------"
    assert lines[2] == "row one    1  22,000"
    assert lines[3] == "x        333       4"


# --- the workload, against the in-memory client ------------------------------------------------


def test_a_fan_out_run_waits_until_every_queue_holds_every_acknowledged_message() -> None:
    client = FakeClient(fail_every=7)
    args = parse(*BODY, "--fanouts", "3", "--publishers", "4", "--max-messages", "95")
    bench = FanoutBench(client, args)
    result = asyncio.run(bench.fanout(3))
    assert result["acknowledged"] + result["failed"] == 95
    assert result["failed"] == 95 // 7
    assert "throttled" in result["first_error"]
    assert result["final_counts"] == [result["acknowledged"]] * 3
    assert result["deliveries_per_s"] == pytest.approx(
        3 * result["acknowledged"] / result["total_s"]
    )
    assert result["total_s"] == pytest.approx(result["publish_s"] + result["drain_s"])
    assert sorted(client.topics[0].requests) == [5] + [10] * 9
    assert client.queues == {}
    assert client.deleted == [f"topic:{client.topics[0].name}"]


@pytest.mark.parametrize(("batch", "invocations"), [(10, 30), (100, 3), (7, 43)])
def test_a_function_run_lasts_until_the_queue_is_empty(batch: int, invocations: int) -> None:
    client = FakeClient()
    args = parse(*BODY, "--fn-messages", "300")
    result = asyncio.run(FanoutBench(client, args).functions("actor", batch, 0))
    assert result["messages"] == 300
    assert result["invocations"] == invocations
    assert result["invocations_estimated"]
    assert 0 < result["first_s"] <= result["seconds"]
    assert result["warm_messages_per_s"] > 0
    assert result["messages_per_s"] == pytest.approx(300 / result["seconds"])
    assert client.queues == {} and client.functions == {} and client.mappings == []


def test_invocations_come_from_the_mapping_stats_when_the_gateway_reports_them() -> None:
    client = FakeClient()
    client.mapping_extra = {"invocations": 12}
    result = asyncio.run(
        FanoutBench(client, parse(*BODY, "--fn-messages", "20")).functions("task", 10, 0)
    )
    assert (result["invocations"], result["invocations_estimated"]) == (12, False)


def test_a_case_that_fails_is_reported_and_the_others_still_run() -> None:
    client = FakeClient()
    args = parse(
        *BODY,
        "--runs",
        "2",
        "--fanouts",
        "1",
        "--max-messages",
        "20",
        "--runtimes",
        "task",
        "--fn-batches",
        "10",
        "--fn-messages",
        "20",
        "--drain-timeout-s",
        "0",
    )
    client.mappings = _NeverConsumed()
    results = asyncio.run(FanoutBench(client, args).run_all())
    assert [len(runs) for runs in results.values()] == [2, 2]
    assert all("error" not in r for r in results["fanout_1"])
    assert all("Stalled" in r["error"] for r in results[fn_case_key("task", 10, 0)])
    assert client.queues == {}  # the failed case cleaned up too
    report = {
        "machine": {"kernel": "k", "python": "3", "date": "d"},
        "command": "test",
        "loadavg_1m": [0.0, 0.0],
        "cpu_probe_ms": [45.8, 51.2],
        "results": results,
        "medians": summarize(results),
    }
    text = render(report, args)
    assert "topic → 1 queue " in text + " "
    assert "fn_task_b10_w0: 2/2 runs failed" in text
    assert "CPU probe 45.8 → 51.2 ms" in text  # the machine's speed, beside the load


class _NeverConsumed(list[FakeMapping]):
    """Mappings that never run: a function case that cannot drain."""

    def __iter__(self) -> Any:
        return iter(())
