"""``raybus queue``: the SDK from the command line; JSON out, ``error: code: msg``, exit 2."""

from __future__ import annotations

import base64
import io
import json

import httpx
import pytest

from raybus.cli.main import main
from tests.cli.conftest import cli, json_lines
from tests.sdk.fakes import FakeGateway, answer, entry_error


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    return cli(capsys, "queue", *argv)


def test_create_passes_only_the_given_settings_and_prints_the_queue(
    gateway: FakeGateway, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(
        capsys,
        "create",
        "orders",
        "--visibility-timeout-s",
        "60",
        "--dead-letter-queue",
        "orders-dlq",
        "--max-receive-count",
        "5",
    )
    assert code == 0
    body = gateway.requests[0].body
    assert body["visibility_timeout_s"] == 60 and body["fifo"] is False
    assert body["redrive_policy"] == {"dead_letter_queue": "orders-dlq", "max_receive_count": 5}
    assert json.loads(out)["name"] == "orders"


def test_create_fifo_flags(gateway: FakeGateway, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, _ = run(
        capsys, "create", "jobs.fifo", "--content-based-dedup", "--dedup-scope", "messageGroup"
    )
    assert code == 0
    body = gateway.requests[0].body
    assert (body["fifo"], body["content_based_dedup"], body["dedup_scope"]) == (
        True,
        True,
        "messageGroup",
    )


def test_url_and_token_come_from_options_before_or_after_the_command_or_the_environment(
    gateway: FakeGateway,
    made: list[tuple[str, str | None]],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    run(capsys, "list")
    run(capsys, "--url", "http://a:1", "--token", "t1", "list")
    run(capsys, "list", "--url", "http://b:2", "--token", "t2")
    monkeypatch.setenv("RAYBUS_URL", "http://env:3")
    monkeypatch.setenv("RAYBUS_TOKEN", "t3")
    run(capsys, "list")
    assert made == [
        ("http://127.0.0.1:8000", None),
        ("http://a:1", "t1"),
        ("http://b:2", "t2"),
        ("http://env:3", "t3"),
    ]
    assert gateway.requests[-1].headers["authorization"] == "Bearer t3"


def test_list_prints_one_name_per_line(
    gateway: FakeGateway, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("b", "a", "c"):
        gateway.add_queue(name)
    code, out, _ = run(capsys, "list", "--prefix", "", "--limit", "2")
    assert (code, out) == (0, "a\nb\n")


def test_get_stats_purge_and_delete(
    gateway: FakeGateway, capsys: pytest.CaptureFixture[str]
) -> None:
    gateway.add_queue("orders", visibility_timeout_s=7)
    gateway.put("orders", b"x")
    assert json.loads(run(capsys, "get", "orders")[1])["visibility_timeout_s"] == 7
    assert json.loads(run(capsys, "stats", "orders")[1])["visible"] == 1
    assert run(capsys, "purge", "orders") == (0, "", "")
    assert gateway.bodies("orders") == []
    assert run(capsys, "delete", "orders") == (0, "", "")
    assert gateway.queues == {}


def test_send_one_message_with_options_and_typed_attributes(
    gateway: FakeGateway, capsys: pytest.CaptureFixture[str]
) -> None:
    gateway.add_queue("jobs.fifo")
    code, out, _ = run(
        capsys,
        "send",
        "jobs.fifo",
        "hello",
        "--group-id",
        "g",
        "--dedup-id",
        "d",
        "--attribute",
        "kind=greeting",
        "--attribute",
        "n:Number.int=3",
        "--attribute",
        "raw:Binary=" + base64.b64encode(b"\x00\x01").decode(),
    )
    assert code == 0
    assert gateway.requests[0].body == {
        "body": b"hello",
        "attributes": {
            "kind": ["String", "greeting"],
            "n": ["Number.int", "3"],
            "raw": ["Binary", b"\x00\x01"],
        },
        "group_id": "g",
        "dedup_id": "d",
    }
    result = json.loads(out)
    assert result["message_id"] == "m1" and "sequence_number" in result


def test_send_dash_sends_each_non_empty_stdin_line_in_batches(
    gateway: FakeGateway, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    gateway.add_queue("orders")
    monkeypatch.setattr("sys.stdin", io.StringIO("a\nb\r\n\nc\nd\ne"))
    code, out, _ = run(capsys, "send", "orders", "-", "--batch-size", "2", "--delay-s", "1")
    assert code == 0
    batches = [[e["body"] for e in r.body["entries"]] for r in gateway.calls("/messages")]
    assert batches == [[b"a", b"b"], [b"c", b"d"], [b"e"]]
    assert gateway.calls("/messages")[0].body["entries"][0]["delay_s"] == 1
    assert [r["message_id"] for r in json_lines(out)] == ["m1", "m2", "m3", "m4", "m5"]


def test_send_dash_reports_failed_lines_and_exits_2_after_sending_the_rest(
    gateway: FakeGateway, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    gateway.add_queue("orders")
    monkeypatch.setattr("sys.stdin", io.StringIO("a\nreject\nc\n"))
    code, out, err = run(capsys, "send", "orders", "-")
    assert code == 2
    assert len(json_lines(out)) == 2
    assert err == "error: InvalidMessageContents: rejected by the fake\n"
    assert gateway.bodies("orders") == [b"a", b"c"]


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["send", "orders", "-", "--dedup-id", "d"], "--dedup-id names one message"),
        (["send", "orders", "x", "--attribute", "novalue"], "is not NAME[:TYPE]=VALUE"),
        (["send", "orders", "x", "--attribute", "b:Binary=***"], "a Binary value is base64"),
    ],
)
def test_bad_arguments_are_usage_errors_with_exit_2(
    gateway: FakeGateway, capsys: pytest.CaptureFixture[str], argv: list[str], fragment: str
) -> None:
    code, _, err = run(capsys, *argv)
    assert code == 2
    assert err.startswith("error: InvalidArgument: ") and fragment in err
    assert gateway.calls("/messages") == []


def test_receive_prints_json_lines_and_deletes_only_when_asked(
    gateway: FakeGateway, capsys: pytest.CaptureFixture[str]
) -> None:
    gateway.add_queue("orders")
    gateway.put("orders", b"text", b"\xff\xfe", attributes={"b": ["Binary", b"\x01"]})
    code, out, _ = run(capsys, "receive", "orders", "--max", "5", "--wait-s", "2")
    assert code == 0
    first, second = json_lines(out)
    assert first["body"] == "text" and first["receipt"] == "orders:m1:1"
    assert second["body_base64"] == base64.b64encode(b"\xff\xfe").decode()
    assert second["attributes"] == {"b": ["Binary", "AQ=="]}
    assert gateway.calls("/receive")[0].body == {"max_messages": 5, "wait_s": 2}
    assert gateway.calls("/delete") == []

    for message in gateway.queues["orders"].messages.values():
        message.visible = True
    assert run(capsys, "receive", "orders", "--max", "5", "--delete")[0] == 0
    assert gateway.bodies("orders") == []


def test_receive_delete_reports_entries_that_could_not_be_deleted(
    gateway: FakeGateway, capsys: pytest.CaptureFixture[str]
) -> None:
    gateway.add_queue("orders")
    gateway.put("orders", b"x")
    gateway.script(
        answer({"messages": [{"message_id": "m1", "receipt": "r", "body": b"x"}]}),
        answer({"results": [entry_error("ReceiptHandleIsInvalid", "bad receipt")]}),
    )
    code, out, err = run(capsys, "receive", "orders", "--delete")
    assert code == 2 and len(json_lines(out)) == 1
    assert err == "error: ReceiptHandleIsInvalid: bad receipt\n"


def test_a_service_error_prints_its_code_and_exits_2(
    gateway: FakeGateway, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "stats", "nope")
    assert (code, out) == (2, "")
    assert err == "error: QueueDoesNotExist: no queue nope\n"


def test_an_unreachable_gateway_exits_2(
    gateway: FakeGateway, capsys: pytest.CaptureFixture[str]
) -> None:
    gateway.script(httpx.ConnectError("connection refused"))
    code, _, err = run(capsys, "list")
    assert code == 2
    assert err.startswith("error: GatewayConnectionError: The gateway at http://127.0.0.1:8000")


def test_a_missing_command_is_an_argparse_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["queue"])
    assert exited.value.code == 2
