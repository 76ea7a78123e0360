"""``raybus topic``, ``raybus function`` and ``raybus mapping``: the SDK from the command line,
with ``raybus queue``'s conventions (JSON out, ``error: code: msg`` on stderr, exit 2)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from raybus.cli.function import EXIT_FUNCTION_ERROR
from raybus.cli.main import main
from tests.cli.conftest import cli, json_lines
from tests.sdk.fakes import FakeGateway

Capture = pytest.CaptureFixture[str]

# -- topics -----------------------------------------------------------------------------------


def test_topic_create_list_get_stats_and_delete(gateway: FakeGateway, capsys: Capture) -> None:
    code, out, _ = cli(capsys, "topic", "create", "jobs.fifo", "--content-based-dedup")
    assert code == 0 and json.loads(out)["name"] == "jobs.fifo"
    assert gateway.requests[0].body == {
        "name": "jobs.fifo",
        "fifo": True,
        "content_based_dedup": True,
    }
    cli(capsys, "topic", "create", "alerts")
    assert cli(capsys, "topic", "list", "--prefix", "a") == (0, "alerts\n", "")
    cli(capsys, "topic", "subscribe", "alerts", "queue:orders")
    code, out, _ = cli(capsys, "topic", "get", "alerts")
    described = json.loads(out)
    assert described["topic"]["name"] == "alerts"
    assert [s["endpoint"] for s in described["subscriptions"]] == ["orders"]
    assert json.loads(cli(capsys, "topic", "stats", "alerts")[1])["published"] == 0
    assert cli(capsys, "topic", "delete", "alerts") == (0, "", "")
    assert list(gateway.resources.topics) == ["jobs.fifo"]


def test_topic_publish_one_message_with_every_option(gateway: FakeGateway, capsys: Capture) -> None:
    gateway.resources.add_topic("jobs.fifo")
    code, out, _ = cli(
        capsys,
        "topic",
        "publish",
        "jobs.fifo",
        "hello",
        "--subject",
        "greeting",
        "--group-id",
        "g",
        "--dedup-id",
        "seen",
        "--attribute",
        "n:Number=3",
    )
    assert code == 0
    assert gateway.requests[0].body == {
        "body": b"hello",
        "attributes": {"n": ["Number", "3"]},
        "subject": "greeting",
        "group_id": "g",
        "dedup_id": "seen",
    }
    result = json.loads(out)
    assert result["duplicate"] is True and "sequence_number" in result


def test_topic_publish_dash_publishes_each_stdin_line_in_batches_of_ten(
    gateway: FakeGateway, capsys: Capture, monkeypatch: pytest.MonkeyPatch
) -> None:
    gateway.resources.add_topic("alerts")
    lines = [f"line {i}" for i in range(12)]
    lines[3] = "reject"
    monkeypatch.setattr("sys.stdin", io.StringIO("\n".join(lines) + "\n\n"))
    code, out, err = cli(capsys, "topic", "publish", "alerts", "-", "--subject", "s")
    assert code == 2 and err == "error: MessageTooLong: rejected\n"
    assert [len(r.body["entries"]) for r in gateway.calls("/publish")] == [10, 2]
    assert gateway.calls("/publish")[0].body["entries"][0]["subject"] == "s"
    assert len(json_lines(out)) == 11


def test_topic_publish_dash_refuses_a_dedup_id(gateway: FakeGateway, capsys: Capture) -> None:
    code, _, err = cli(capsys, "topic", "publish", "alerts", "-", "--dedup-id", "d")
    assert code == 2 and err.startswith("error: InvalidArgument: --dedup-id")


def test_topic_subscribe_with_policies_inline_and_from_a_file(
    gateway: FakeGateway, capsys: Capture, tmp_path: Path
) -> None:
    gateway.resources.add_topic("alerts")
    policy = tmp_path / "policy.json"
    policy.write_text('{"healthyRetryPolicy": {"numRetries": 3}}')
    code, out, _ = cli(
        capsys,
        "topic",
        "subscribe",
        "alerts",
        "https://hooks.test/x",
        "--raw",
        "--filter-policy",
        '{"kind": ["order"]}',
        "--filter-policy-scope",
        "MessageBody",
        "--delivery-policy",
        f"@{policy}",
    )
    assert code == 0
    assert gateway.requests[0].body == {
        "protocol": "https",
        "endpoint": "https://hooks.test/x",
        "raw": True,
        "filter_policy": {"kind": ["order"]},
        "filter_policy_scope": "MessageBody",
        "delivery_policy": {"healthyRetryPolicy": {"numRetries": 3}},
    }
    subscription = json.loads(out)
    code, _, _ = cli(capsys, "topic", "unsubscribe", subscription["id"])
    assert code == 0 and gateway.resources.subscriptions == {}


def test_topic_subscribe_a_function_by_name_with_a_dead_letter_queue(
    gateway: FakeGateway, capsys: Capture
) -> None:
    gateway.resources.add_topic("alerts")
    cli(capsys, "topic", "subscribe", "alerts", "resize", "--dead-letter-queue", "dlq")
    body = gateway.requests[0].body
    assert (body["protocol"], body["endpoint"], body["dead_letter_queue"]) == (
        "function",
        "resize",
        "dlq",
    )


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["--filter-policy", "{not json"], "--filter-policy is not valid JSON"),
        (["--filter-policy", "@/no/such/file"], "cannot read '/no/such/file'"),
    ],
)
def test_unreadable_policies_are_usage_errors(
    gateway: FakeGateway, capsys: Capture, argv: list[str], fragment: str
) -> None:
    code, _, err = cli(capsys, "topic", "subscribe", "alerts", "queue:q", *argv)
    assert code == 2 and err.startswith("error: InvalidArgument: ") and fragment in err
    assert gateway.requests == []


def test_a_missing_topic_prints_resource_not_found(gateway: FakeGateway, capsys: Capture) -> None:
    assert cli(capsys, "topic", "stats", "nope") == (
        2,
        "",
        "error: ResourceNotFound: no topic nope\n",
    )


# -- functions --------------------------------------------------------------------------------


def test_function_create_passes_the_handler_and_only_the_given_settings(
    gateway: FakeGateway, capsys: Capture
) -> None:
    code, out, _ = cli(
        capsys,
        "function",
        "create",
        "resize",
        "--handler",
        "images.handlers:resize",
        "--timeout-s",
        "30",
        "--cpus",
        "0.5",
        "--on-failure",
        "queue:failed",
        "--runtime",
        "actor",
        "--pool-size",
        "2",
    )
    assert code == 0 and json.loads(out)["name"] == "resize"
    assert gateway.requests[0].body == {
        "name": "resize",
        "handler": "images.handlers:resize",
        "timeout_s": 30,
        "cpus": 0.5,
        "on_failure": "queue:failed",
        "runtime": "actor",
        "pool_size": 2,
        "max_retries": 2,
        "max_event_age_s": 21_600,
        "memory_mb": 128,
    }


def test_function_create_needs_a_handler(capsys: Capture) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["function", "create", "resize"])
    assert exited.value.code == 2


def test_function_list_get_and_delete(gateway: FakeGateway, capsys: Capture) -> None:
    gateway.resources.add_function("resize", timeout_s=9)
    gateway.resources.add_function("notify")
    assert cli(capsys, "function", "list") == (0, "notify\nresize\n", "")
    assert json.loads(cli(capsys, "function", "get", "resize")[1])["timeout_s"] == 9
    assert cli(capsys, "function", "delete", "resize") == (0, "", "")
    assert list(gateway.resources.functions) == ["notify"]


@pytest.mark.parametrize(
    ("argv", "sent"),
    [
        ([], {}),
        (['{"key": "a.png"}'], {"key": "a.png"}),
        (["[1, 2]"], [1, 2]),
    ],
)
def test_function_invoke_prints_the_result(
    gateway: FakeGateway, capsys: Capture, argv: list[str], sent: object
) -> None:
    gateway.resources.add_function("echo")
    code, out, _ = cli(capsys, "function", "invoke", "echo", *argv)
    assert (code, json.loads(out)) == (0, {"echo": sent})
    assert gateway.resources.invocations == [("sync", "echo", sent)]


def test_function_invoke_reads_the_payload_from_stdin(
    gateway: FakeGateway, capsys: Capture, monkeypatch: pytest.MonkeyPatch
) -> None:
    gateway.resources.add_function("echo")
    monkeypatch.setattr("sys.stdin", io.StringIO('{"from": "stdin"}'))
    assert json.loads(cli(capsys, "function", "invoke", "echo", "-")[1]) == {
        "echo": {"from": "stdin"}
    }


def test_a_failing_function_prints_its_error_object_and_exits_1(
    gateway: FakeGateway, capsys: Capture
) -> None:
    gateway.resources.add_function("failing")
    code, out, err = cli(capsys, "function", "invoke", "failing")
    assert code == EXIT_FUNCTION_ERROR == 1
    assert json.loads(out) == {
        "errorType": "ValueError",
        "errorMessage": "bad input",
        "stackTrace": ['  File "handler.py", line 3, in handle'],
    }
    assert err == "error: FunctionError: ValueError: bad input\n"


def test_a_throttled_invoke_exits_2(gateway: FakeGateway, capsys: Capture) -> None:
    code, _, err = cli(capsys, "function", "invoke", "busy")
    assert code == 2 and err.startswith("error: TooManyRequestsException: ")


def test_function_invoke_async_prints_the_request_id(gateway: FakeGateway, capsys: Capture) -> None:
    gateway.resources.add_function("echo")
    code, out, _ = cli(capsys, "function", "invoke-async", "echo", '{"n": 1}')
    assert (code, json.loads(out)) == (0, {"request_id": "r-async"})


def test_a_payload_that_is_not_json_is_a_usage_error(gateway: FakeGateway, capsys: Capture) -> None:
    code, _, err = cli(capsys, "function", "invoke", "echo", "{oops")
    assert code == 2 and err.startswith("error: InvalidArgument: payload is not valid JSON")
    assert gateway.requests == []


# -- mappings ---------------------------------------------------------------------------------


def test_mapping_create_with_every_option(gateway: FakeGateway, capsys: Capture) -> None:
    code, out, _ = cli(
        capsys,
        "mapping",
        "create",
        "queue:orders",
        "resize",
        "--batch-size",
        "50",
        "--batching-window-s",
        "2",
        "--max-concurrency",
        "3",
        "--report-batch-item-failures",
        "--filter",
        '{"body": {"kind": ["a"]}}',
        "--filter",
        '{"body": {"kind": ["b"]}}',
        "--disabled",
    )
    assert code == 0 and json.loads(out)["source"] == "queue:orders"
    assert gateway.requests[0].body == {
        "source": "queue:orders",
        "function": "resize",
        "batch_size": 50,
        "batching_window_s": 2,
        "max_concurrency": 3,
        "report_batch_item_failures": True,
        "filter_criteria": [{"body": {"kind": ["a"]}}, {"body": {"kind": ["b"]}}],
        "enabled": False,
    }


def test_mapping_list_get_disable_enable_stats_and_delete(
    gateway: FakeGateway, capsys: Capture
) -> None:
    mapping = json.loads(cli(capsys, "mapping", "create", "topic:alerts", "notify")[1])
    cli(capsys, "mapping", "create", "orders", "resize")
    listed = json_lines(cli(capsys, "mapping", "list", "--function", "notify")[1])
    assert [m["id"] for m in listed] == [mapping["id"]]
    assert len(json_lines(cli(capsys, "mapping", "list")[1])) == 2
    assert json.loads(cli(capsys, "mapping", "get", mapping["id"])[1]) == mapping
    assert json.loads(cli(capsys, "mapping", "disable", mapping["id"])[1])["enabled"] is False
    assert json.loads(cli(capsys, "mapping", "enable", mapping["id"])[1])["enabled"] is True
    assert json.loads(cli(capsys, "mapping", "stats", mapping["id"])[1])["backlog"] == 3
    assert cli(capsys, "mapping", "delete", mapping["id"]) == (0, "", "")
    assert len(gateway.resources.mappings) == 1


def test_a_missing_mapping_exits_2(gateway: FakeGateway, capsys: Capture) -> None:
    assert cli(capsys, "mapping", "get", "nope") == (
        2,
        "",
        "error: ResourceNotFound: no mapping nope\n",
    )


@pytest.mark.parametrize("verb", ["topic", "function", "mapping"])
def test_a_missing_command_is_an_argparse_error(verb: str) -> None:
    with pytest.raises(SystemExit) as exited:
        main([verb])
    assert exited.value.code == 2


def test_topic_publish_with_a_structure_sends_it(gateway: FakeGateway, capsys: Capture) -> None:
    gateway.resources.add_topic("alerts")
    body = '{"default": "d", "sqs": "q"}'
    code, _, _ = cli(capsys, "topic", "publish", "alerts", body, "--structure", "json")
    assert code == 0
    assert gateway.requests[0].body["structure"] == "json"
    assert gateway.requests[0].body["body"] == body.encode()
