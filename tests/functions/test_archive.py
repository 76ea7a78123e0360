"""Zip functions, without Ray: archives are checked as Lambda checks them, extracted once per
digest, and their handlers run as Lambda's Python runtime runs them — importable from the
archive, isolated from other functions' archives, with the function's environment, their
output in the log tail, and Lambda's errors when the handler cannot be loaded."""

from __future__ import annotations

import io
import json
import os
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from raybus.core.code import code_sha256
from raybus.core.errors import RaybusError
from raybus.core.functions import FunctionConfig
from raybus.functions import archive
from raybus.functions.archive import ArchiveModules, check_archive, extracted
from raybus.functions.environment import runtime_environment
from raybus.functions.logs import MAX_TAIL_BYTES, lambda_log, tail
from raybus.functions.sandbox import CodeSpec, Sandbox

ECHO_ENV = """
import os
AT_IMPORT = os.environ.get("GREETING")

def handler(event, context):
    print("handling", event)
    return {"import": AT_IMPORT, "call": os.environ.get("GREETING"),
            "region": os.environ.get("AWS_REGION"), "root": os.environ.get("LAMBDA_TASK_ROOT"),
            "arn": context.invoked_function_arn}
"""


def make_zip(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as out:
        for name, text in files.items():
            out.writestr(name, text)
    return buffer.getvalue()


@pytest.fixture(autouse=True)
def code_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    cache = tmp_path / "cache"
    monkeypatch.setenv(archive.CODE_CACHE_ENV, str(cache))
    return cache


def sandbox(
    files: dict[str, str], handler: str = "app.handler", variables: dict[str, str] | None = None
) -> tuple[Sandbox, list[int]]:
    """A sandbox of a zip function, and a list counting how often its code was fetched."""
    data = make_zip(files)
    config = FunctionConfig.from_dict(
        {
            "name": "f" + code_sha256(data)[:8] + handler.replace(".", "_").replace("/", "_"),
            "handler": handler,
            "code_sha256": code_sha256(data),
            "code_format": "zip",
            "python_runtime": "python3.12",
            "environment": variables or {},
        }
    )
    spec = CodeSpec.of(
        config,
        environment=runtime_environment(config, "eu-west-1"),
        function_arn="arn:aws:lambda:eu-west-1:123456789012:function:" + config.name,
        code_ref=None,
    )
    fetched: list[int] = []

    def code() -> bytes:
        fetched.append(1)
        return data

    return Sandbox(spec, code), fetched


def invoke(box: Sandbox, event: Any = None) -> tuple[bool, Any, str | None, str]:
    (ok, text, _, error_type), log = box.invoke(event, "req-1", 3, 128)
    return ok, json.loads(text), error_type, log


# -- checking uploads ------------------------------------------------------------------------
def test_a_readable_archive_reports_its_unzipped_size() -> None:
    assert check_archive(make_zip({"app.py": "x = 1\n", "lib/util.py": "y = 22\n"})) == 13


@pytest.mark.parametrize(
    "data",
    [b"not a zip", b"PK\x03\x04" + b"\x00" * 40, make_zip({"a.py": "x"})[:-30]],
    ids=["text", "truncated header", "truncated archive"],
)
def test_an_unreadable_archive_is_refused_as_lambda_refuses_it(data: bytes) -> None:
    with pytest.raises(RaybusError) as caught:
        check_archive(data)
    assert caught.value.code == "InvalidParameterValue"
    assert caught.value.message == archive.UNZIP_ERROR


def test_an_archive_whose_content_fails_its_crc_is_refused() -> None:
    data = bytearray(make_zip({"app.py": "print('hello, world')\n" * 20}))
    offset = data.index(b"app.py") + len("app.py") + 5  # inside the compressed bytes
    data[offset] ^= 0xFF
    with pytest.raises(RaybusError) as caught:
        check_archive(bytes(data))
    assert caught.value.message == archive.UNZIP_ERROR


@pytest.mark.parametrize("name", ["../escape.py", "/etc/passwd", "a/../../b.py", "C:/x.py"])
def test_a_member_that_would_extract_outside_the_archive_is_refused(name: str) -> None:
    with pytest.raises(RaybusError) as caught:
        check_archive(make_zip({name: "x"}))
    assert caught.value.code == "InvalidParameterValue"
    assert name in caught.value.message


def test_an_archive_that_unzips_beyond_the_limit_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(archive, "MAX_UNZIPPED_BYTES", 100)
    assert check_archive(make_zip({"a.py": "x" * 100})) == 100
    with pytest.raises(RaybusError) as caught:
        check_archive(make_zip({"a.py": "x" * 101}))
    assert "Unzipped size must be smaller than 100 bytes" in caught.value.message


# -- extraction --------------------------------------------------------------------------------
def test_an_archive_is_extracted_once_per_digest(tmp_path: Path) -> None:
    data = make_zip({"app.py": "x = 1\n"})
    sha = code_sha256(data)
    calls: list[int] = []

    def code() -> bytes:
        calls.append(1)
        return data

    first = extracted(sha, code, str(tmp_path))
    second = extracted(sha, code, str(tmp_path))
    assert first == second == str(tmp_path / sha)
    assert (tmp_path / sha / "app.py").read_text() == "x = 1\n"
    assert calls == [1]
    assert sorted(os.listdir(tmp_path)) == [sha]  # no staging directory left behind


def test_bytes_that_do_not_match_the_digest_are_never_extracted(tmp_path: Path) -> None:
    data = make_zip({"app.py": "x = 1\n"})
    with pytest.raises(RaybusError) as caught:
        extracted("0" * 64, lambda: data, str(tmp_path))
    assert caught.value.code == "InternalError"
    assert os.listdir(tmp_path) == []


# -- running handlers --------------------------------------------------------------------------
def test_a_zip_handler_runs_with_lambdas_environment_at_import_and_at_call() -> None:
    box, _ = sandbox({"app.py": ECHO_ENV}, variables={"GREETING": "hi"})
    before = dict(os.environ)
    ok, payload, error_type, _ = invoke(box, {"n": 1})
    assert (ok, error_type) == (True, None)
    assert payload["import"] == payload["call"] == "hi"
    assert payload["region"] == "eu-west-1"
    assert payload["root"] and os.path.isfile(os.path.join(payload["root"], "app.py"))
    assert payload["arn"].endswith(":123456789012:function:" + box.spec.function)
    assert dict(os.environ) == before  # the worker's environment is as it was


def test_a_loaded_handler_is_reused_and_its_code_fetched_once() -> None:
    box, fetched = sandbox({"app.py": "N = []\ndef handler(e, c):\n    N.append(e)\n    return N"})
    assert invoke(box, 1)[1] == [1]
    assert invoke(box, 2)[1] == [1, 2]
    assert box.loaded and fetched == [1]


def test_two_archives_with_the_same_module_names_stay_apart(code_cache: Path) -> None:
    files = (
        "import helper\ndef handler(e, c):\n    import late\n    return [helper.NAME, late.NAME]"
    )
    one, _ = sandbox({"app.py": files, "helper.py": "NAME = 'one'", "late.py": "NAME = 'l1'"})
    two, _ = sandbox({"app.py": files, "helper.py": "NAME = 'two'", "late.py": "NAME = 'l2'"})
    for _ in range(2):  # interleaved, so each call finds the other's modules loaded before it
        assert invoke(one)[1] == ["one", "l1"]
        assert invoke(two)[1] == ["two", "l2"]
    assert not {"app", "helper", "late"} & set(sys.modules)
    assert not [p for p in sys.path if str(p).startswith(str(code_cache))]


def test_a_handler_in_a_package_directory_loads_by_its_path() -> None:
    files = {"pkg/__init__.py": "", "pkg/handlers.py": "def run(e, c):\n    return 'deep'"}
    box, _ = sandbox(files, handler="pkg/handlers.run")
    assert invoke(box)[:3] == (True, "deep", None)


@pytest.mark.parametrize(
    ("files", "handler", "error_type", "message"),
    [
        ({"other.py": ""}, "app.handler", "Runtime.ImportModuleError",
         "Unable to import module 'app': No module named 'app'"),
        ({"app.py": "def other(e, c): pass"}, "app.handler", "Runtime.HandlerNotFound",
         "Handler 'handler' missing on module 'app'"),
        ({"app.py": "def handler(e, c):\n  return ("}, "app.handler",
         "Runtime.UserCodeSyntaxError", "Syntax error in module 'app'"),
        ({"app.py": "import missing_dependency_xyz"}, "app.handler",
         "Runtime.ImportModuleError", "No module named 'missing_dependency_xyz'"),
        ({"app.py": ""}, "handler", "Runtime.MalformedHandlerName", "Bad handler 'handler'"),
    ],
    ids=["no module", "no function", "syntax error", "missing import", "no dot"],
)  # fmt: skip
def test_a_handler_that_cannot_load_fails_the_invocation_as_lambda_reports_it(
    files: dict[str, str], handler: str, error_type: str, message: str
) -> None:
    box, _ = sandbox(files, handler=handler)
    ok, payload, function_error, log = invoke(box)
    assert (ok, function_error) == (False, "Unhandled")
    assert payload["errorType"] == error_type
    assert message in payload["errorMessage"]
    assert f"[ERROR] {error_type}:" in log
    assert not box.loaded  # tried again next time: a worker never keeps a broken sandbox


def test_the_log_tail_frames_the_handlers_output_as_lambda_does() -> None:
    code = (
        "import logging, sys\n"
        "def handler(event, context):\n"
        "    print('to stdout')\n"
        "    print('to stderr', file=sys.stderr)\n"
        "    logging.getLogger().warning('a record')\n"
        "    raise ValueError('boom')\n"
    )
    box, _ = sandbox({"app.py": code})
    ok, payload, _, log = invoke(box)
    assert not ok
    lines = log.splitlines()
    assert lines[0] == "START RequestId: req-1 Version: $LATEST"
    assert lines[1:3] == ["to stdout", "to stderr"]
    assert lines[3].startswith("[WARNING]\t") and lines[3].endswith("\treq-1\ta record")
    assert lines[4] == "[ERROR] ValueError: boom"
    assert lines[5] == "Traceback (most recent call last):"
    assert "END RequestId: req-1" in lines
    assert lines[-1].startswith("REPORT RequestId: req-1\tDuration: ")
    assert payload["errorType"] == "ValueError"


def test_the_tail_is_the_last_four_kilobytes_of_a_long_log() -> None:
    box, _ = sandbox({"app.py": "def handler(e, c):\n    print('é' * 50_000)\n    return 1"})
    _, _, _, log = invoke(box)
    assert len(log.encode("utf-8")) <= MAX_TAIL_BYTES
    assert log.endswith("MB\t\n") and log.startswith("é")


def test_tail_keeps_whole_characters() -> None:
    text = lambda_log("r", "ü" * 3000, duration_ms=1.5, memory_mb=128)
    cut = tail(text)
    assert text.endswith(cut) and len(cut.encode("utf-8")) <= MAX_TAIL_BYTES


def test_archive_modules_restore_a_shadowed_module_of_the_worker(tmp_path: Path) -> None:
    (tmp_path / "json.py").write_text("NAME = 'archive json'")
    modules = ArchiveModules(str(tmp_path))
    import json as real

    modules.modules["json"] = type(real)("json")
    modules.modules["json"].__file__ = str(tmp_path / "json.py")
    with modules.active():
        assert sys.modules["json"] is modules.modules["json"]
        assert sys.path[0] == str(tmp_path)
    assert sys.modules["json"] is real
    assert str(tmp_path) not in sys.path
