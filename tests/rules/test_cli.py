"""``raybus rules test``: TestEventPattern on files; exit 0 match, 1 no match, 2 error."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from raybus.cli.main import main

EVENT = {
    "id": "1",
    "account": "1",
    "source": "order",
    "time": "t",
    "region": "r",
    "detail-type": "d",
    "detail": {"n": 7},
}


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    paths = {
        "match": {"source": ["order"], "detail": {"n": [{"numeric": [">", 5]}]}},
        "miss": {"source": ["shipment"]},
        "invalid": {"source": "order"},
        "event": EVENT,
    }
    out = {}
    for name, content in paths.items():
        out[name] = tmp_path / f"{name}.json"
        out[name].write_text(json.dumps(content))
    out["bad_event"] = tmp_path / "bad_event.json"
    out["bad_event"].write_text('{"source": "order"}')
    return out


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_a_match_prints_match_and_exits_0(
    files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["rules", "test", "--pattern", str(files["match"]), "--event", str(files["event"])]
    assert _run(args, capsys) == (0, "match\n", "")


def test_no_match_exits_1(files: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    args = ["rules", "test", "--pattern", str(files["miss"]), "--event", str(files["event"])]
    assert _run(args, capsys) == (1, "no match\n", "")


def test_json_output_is_awss_shape(
    files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    args = [
        "rules",
        "test",
        "--json",
        "--pattern",
        str(files["match"]),
        "--event",
        str(files["event"]),
    ]
    assert _run(args, capsys) == (0, '{"Result": true}\n', "")


def test_an_invalid_pattern_prints_awss_error_and_exits_2(
    files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["rules", "test", "--pattern", str(files["invalid"]), "--event", str(files["event"])]
    code, out, err = _run(args, capsys)
    assert (code, out) == (2, "")
    assert err == (
        "InvalidEventPatternException: Event pattern is not valid. Reason: "
        '"source" must be an object or an array\n'
    )


def test_an_invalid_event_exits_2(
    files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["rules", "test", "--pattern", str(files["match"]), "--event", str(files["bad_event"])]
    assert _run(args, capsys) == (2, "", "ValidationException: Parameter Event is not valid.\n")


def test_a_missing_file_exits_2(files: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    args = ["rules", "test", "--pattern", str(files["match"]), "--event", "/nonexistent.json"]
    code, out, err = _run(args, capsys)
    assert (code, out) == (2, "") and "cannot read --event" in err


def test_the_event_can_come_from_stdin(
    files: dict[str, Path], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps(EVENT)))
    args = ["rules", "test", "--pattern", str(files["match"]), "--event", "-"]
    assert _run(args, capsys) == (0, "match\n", "")


def test_check_validates_a_pattern(
    files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run(["rules", "check", "--pattern", str(files["match"])], capsys) == (0, "valid\n", "")
    code, _, err = _run(["rules", "check", "--pattern", str(files["invalid"])], capsys)
    assert code == 2 and err.startswith("InvalidEventPatternException:")


def test_bad_arguments_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["rules", "test", "--pattern", "x.json"])
    assert caught.value.code == 2
