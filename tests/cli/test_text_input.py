"""Input that is not UTF-8 — a byte in stdin, ``argv`` or the environment (Python hands the
last two, and stdin under the C locale, over as lone surrogates), a file, or a JSON ``\\ud800``
escape — is a clear error naming where it is, exit 2, and nothing is sent; ``queue send -
--binary`` sends lines as bytes instead."""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
import types
from pathlib import Path

import pytest

from tests.cli.conftest import cli, json_lines
from tests.sdk.fakes import FakeGateway

Capture = pytest.CaptureFixture[str]
ESCAPED_FF = "\udcff"  # how Python decodes the byte 0xff in argv (surrogateescape)


def stdin_bytes(monkeypatch: pytest.MonkeyPatch, data: bytes) -> None:
    """Stdin as a process gets it: bytes under a text layer that escapes what is not UTF-8."""
    stream = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8", errors="surrogateescape")
    monkeypatch.setattr("sys.stdin", stream)


# -- stdin lines ------------------------------------------------------------------------------


def test_send_dash_names_the_first_line_that_is_not_utf8_and_sends_nothing(
    gateway: FakeGateway, capsys: Capture, monkeypatch: pytest.MonkeyPatch
) -> None:
    gateway.add_queue("orders")
    lines = [b"line %d" % i for i in range(250)]
    lines[1] = b"ok \xff\xfe"
    lines[200] = b"\xc3"  # a truncated sequence later on
    stdin_bytes(monkeypatch, b"\n".join(lines) + b"\n")
    code, out, err = cli(capsys, "queue", "send", "orders", "-", "--batch-size", "10")
    assert (code, out) == (2, "")
    assert err == (
        "error: InvalidArgument: stdin line 2 is not valid UTF-8 (byte 0xff at column 4); "
        "nothing was sent (--binary sends each line's bytes as they are)\n"
    )
    assert gateway.requests == []


def test_send_dash_binary_sends_each_lines_bytes_as_they_are(
    gateway: FakeGateway, capsys: Capture, monkeypatch: pytest.MonkeyPatch
) -> None:
    gateway.add_queue("orders")
    stdin_bytes(monkeypatch, b"ok\n\xff\xfe\r\n\n\x00\x80 x\n\xc3\xa9")
    code, out, _ = cli(capsys, "queue", "send", "orders", "-", "--binary", "--batch-size", "2")
    assert code == 0
    batches = [[e["body"] for e in r.body["entries"]] for r in gateway.calls("/messages")]
    assert batches == [[b"ok", b"\xff\xfe"], [b"\x00\x80 x", b"\xc3\xa9"]]
    assert len(json_lines(out)) == 4


def test_binary_applies_only_to_stdin_lines(gateway: FakeGateway, capsys: Capture) -> None:
    gateway.add_queue("orders")
    code, _, err = cli(capsys, "queue", "send", "orders", "x", "--binary")
    assert code == 2 and err.startswith("error: InvalidArgument: --binary applies to stdin")
    assert gateway.requests == []


def test_topic_publish_dash_names_the_line_that_is_not_utf8_and_publishes_nothing(
    gateway: FakeGateway, capsys: Capture, monkeypatch: pytest.MonkeyPatch
) -> None:
    gateway.resources.add_topic("alerts")
    stdin_bytes(monkeypatch, b"first\r\nsecond\n\nfourth \xe9t\xe9\n")
    code, out, err = cli(capsys, "topic", "publish", "alerts", "-")
    assert (code, out) == (2, "")
    assert err == (
        "error: InvalidArgument: stdin line 4 is not valid UTF-8 (byte 0xe9 at column 8); "
        "nothing was published (a topic message is text)\n"
    )
    assert gateway.requests == []


# -- arguments and the environment ------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "name", "at"),
    [
        (["queue", "send", "orders", ESCAPED_FF], "body", 1),
        (["queue", "send", "q" + ESCAPED_FF, "x"], "name", 2),
        (["queue", "send", "orders", "x", "--group-id", ESCAPED_FF], "--group-id", 1),
        (["queue", "send", "orders", "x", "--attribute", "k=v" + ESCAPED_FF], "--attribute", 4),
        (["queue", "create", ESCAPED_FF], "name", 1),
        (["queue", "list", "--prefix", ESCAPED_FF], "--prefix", 1),
        (["queue", "--token", ESCAPED_FF, "list"], "--token", 1),
        (["queue", "list", "--url", "http://" + ESCAPED_FF], "--url", 8),
        (["topic", "publish", "alerts", ESCAPED_FF], "body", 1),
        (["topic", "publish", "alerts", "x", "--subject", ESCAPED_FF], "--subject", 1),
        (["topic", "subscribe", "alerts", "queue:" + ESCAPED_FF], "target", 7),
        (
            ["topic", "subscribe", "alerts", "q", "--filter-policy", ESCAPED_FF],
            "--filter-policy",
            1,
        ),
        (["topic", "unsubscribe", ESCAPED_FF], "subscription_id", 1),
        (["function", "create", "f", "--handler", "m:" + ESCAPED_FF], "--handler", 3),
        (["function", "invoke", "f", '"' + ESCAPED_FF + '"'], "payload", 2),
        (["mapping", "create", "queue:orders", ESCAPED_FF], "function", 1),
        (["mapping", "create", "queue:orders", "f", "--filter", ESCAPED_FF], "--filter", 1),
        (["mapping", "get", ESCAPED_FF], "id", 1),
    ],
)
def test_an_argument_that_is_not_utf8_is_named_and_nothing_is_sent(
    gateway: FakeGateway, capsys: Capture, argv: list[str], name: str, at: int
) -> None:
    code, out, err = cli(capsys, *argv)
    assert (code, out) == (2, "")
    assert err == (
        f"error: InvalidArgument: argument {name} is not valid UTF-8 "
        f"(byte 0xff at character {at})\n"
    )
    assert gateway.requests == []


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("RAYBUS_URL", "http://" + ESCAPED_FF, "$RAYBUS_URL is not valid UTF-8 (byte 0xff at"),
        ("RAYBUS_TOKEN", "t" + ESCAPED_FF, "$RAYBUS_TOKEN must be printable ASCII"),
        ("RAYBUS_TOKEN", "caf\u00e9", "$RAYBUS_TOKEN must be printable ASCII"),
    ],
)
def test_connection_settings_from_the_environment_are_checked_too(
    gateway: FakeGateway,
    capsys: Capture,
    monkeypatch: pytest.MonkeyPatch,
    variable: str,
    value: str,
    message: str,
) -> None:
    monkeypatch.setenv(variable, value)
    code, _, err = cli(capsys, "queue", "list")
    assert code == 2 and err.startswith("error: InvalidArgument: " + message)
    assert gateway.requests == []


@pytest.mark.parametrize("token", ["caf\u00e9", "a\nb"])
def test_a_token_an_http_header_cannot_carry_is_refused(
    gateway: FakeGateway, capsys: Capture, token: str
) -> None:
    code, _, err = cli(capsys, "queue", "list", "--token", token)
    assert code == 2
    assert err == (
        "error: InvalidArgument: --token must be printable ASCII (it is sent in an HTTP header)\n"
    )


def test_a_url_httpx_cannot_parse_is_a_usage_error(gateway: FakeGateway, capsys: Capture) -> None:
    code, _, err = cli(capsys, "queue", "list", "--url", "http://[::1")
    assert code == 2
    assert err.startswith("error: InvalidArgument: the gateway URL 'http://[::1' is not valid")


# -- JSON arguments ---------------------------------------------------------------------------


def test_a_json_payload_on_stdin_must_be_utf8(
    gateway: FakeGateway, capsys: Capture, monkeypatch: pytest.MonkeyPatch
) -> None:
    gateway.resources.add_function("echo")
    stdin_bytes(monkeypatch, b'{"a":\n "\xff"}')
    code, _, err = cli(capsys, "function", "invoke", "echo", "-")
    assert code == 2
    assert err == (
        "error: InvalidArgument: payload: stdin is not valid UTF-8 "
        "(byte 0xff at line 2, column 3)\n"
    )
    assert gateway.requests == []


def test_a_json_file_may_have_any_name_but_must_hold_utf8(
    gateway: FakeGateway, capsys: Capture, tmp_path: Path
) -> None:
    gateway.resources.add_function("echo")
    path = os.path.join(os.fsencode(tmp_path), b"event-\xff.json")
    with open(path, "wb") as out:
        out.write(b'{"n": 1}')
    argument = "@" + os.fsdecode(path)
    code, out, _ = cli(capsys, "function", "invoke", "echo", argument)
    assert (code, json_lines(out)) == (0, [{"echo": {"n": 1}}])

    with open(path, "wb") as out:
        out.write(b'{"n": "\xfe"}')
    code, _, err = cli(capsys, "function", "invoke", "echo", argument)
    assert code == 2
    assert err == (
        f"error: InvalidArgument: payload: {os.fsdecode(path)!r} is not valid UTF-8 "
        "(byte 0xfe at line 1, column 8)\n"
    )
    assert len(gateway.requests) == 1


@pytest.mark.parametrize(
    ("argv", "option"),
    [
        (["function", "invoke", "echo", '{"k": "\\ud800"}'], "payload"),
        (["function", "invoke-async", "echo", '{"\\udcff": 1}'], "payload"),
        (["topic", "subscribe", "alerts", "q", "--filter-policy", '{"a": ["\\ude00"]}'], None),
        (["mapping", "create", "queue:q", "echo", "--filter", '{"body": ["\\ud83d"]}'], None),
    ],
)
def test_a_json_escape_of_a_lone_surrogate_is_refused(
    gateway: FakeGateway, capsys: Capture, argv: list[str], option: str | None
) -> None:
    code, _, err = cli(capsys, *argv)
    option = option or argv[-2]
    assert code == 2
    assert err.startswith(f"error: InvalidArgument: {option} cannot be sent as UTF-8: ")
    assert "lone surrogate U+D" in err
    assert gateway.requests == []


# -- verbs without a gateway ------------------------------------------------------------------


def test_rules_refuse_a_pattern_on_stdin_that_is_not_utf8(
    capsys: Capture, monkeypatch: pytest.MonkeyPatch
) -> None:
    stdin_bytes(monkeypatch, b'{"source": ["\xff"]}')
    code, out, err = cli(capsys, "rules", "check", "--pattern", "-")
    assert (code, out) == (2, "")
    assert err == (
        "error: cannot read --pattern: stdin is not valid UTF-8 (byte 0xff at line 1, column 14)\n"
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--token", ESCAPED_FF], "--token is not valid UTF-8 (byte 0xff at character 1)"),
        (["--token", "caf\u00e9"], "--token must be printable ASCII"),
        (["--host", "h" + ESCAPED_FF], "--host is not valid UTF-8 (byte 0xff at character 2)"),
        (["--body-timeout-s", "0"], "--body-timeout-s must be above 0 and at most 3600"),
        (["--idle-timeout-s", "4000"], "--idle-timeout-s must be above 0 and at most 3600"),
        (["--data-events", "sqs,s3"], "--data-events names 's3'; choose from sqs, sns"),
    ],
)
def test_up_checks_its_text_arguments_before_starting_anything(
    capsys: Capture, monkeypatch: pytest.MonkeyPatch, argv: list[str], message: str
) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("raybus up started a cluster")

    fakes = {
        "raybus.control": ("ClusterSpec", "start"),
        "raybus.gateway": ("Gateway", "GatewayHost"),
    }
    for module_name, names in fakes.items():
        module = types.ModuleType(module_name)
        for attribute in names:
            setattr(module, attribute, refuse)
        monkeypatch.setitem(sys.modules, module_name, module)
    code, _, err = cli(capsys, "up", *argv)
    assert code == 2 and err.startswith("error: " + message)


# -- the real process: bytes in, a clear error out --------------------------------------------


def _raybus(argv: list[str | bytes], stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAYBUS_")}
    return subprocess.run(
        [sys.executable, "-m", "raybus.cli", *argv, "--url", "http://127.0.0.1:9"],
        input=stdin,
        capture_output=True,
        env=env,
        timeout=60,
        check=False,
    )


def test_a_real_process_reports_a_stdin_line_that_is_not_utf8_without_a_traceback() -> None:
    done = _raybus(["queue", "send", "q", "-"], stdin=b"ok\n\xff\xfe\n")
    assert done.returncode == 2
    assert done.stderr.decode().startswith(
        "error: InvalidArgument: stdin line 2 is not valid UTF-8 (byte 0xff at column 1); "
        "nothing was sent"
    )


def test_a_real_process_reports_an_argument_that_is_not_utf8_without_a_traceback() -> None:
    done = _raybus(["topic", "publish", "alerts", b"caf\xe9"])
    assert done.returncode == 2
    assert done.stderr == (
        b"error: InvalidArgument: argument body is not valid UTF-8 (byte 0xe9 at character 4)\n"
    )


def test_up_on_a_port_another_process_listens_on_fails_before_starting_ray(
    tmp_path: Path,
) -> None:
    with socket.socket() as taken:
        taken.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)  # as another raybus's
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "raybus.cli", "up", "--port", str(port), "--quiet",
             "--data-dir", str(tmp_path / "data")],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.startswith(f"error: cannot serve 127.0.0.1:{port}: "), done.stderr
    assert not (tmp_path / "data").exists()  # nothing started, nothing written
