"""Docs run: every runnable fenced block of README.md and docs/*.md runs against the session
cluster, so a snippet that stops working fails CI.

One case per document; its blocks run in order, as a reader would run them:

- Python blocks share one namespace (``__name__ == "__main__"``, as in a script) and run in this
  process; a traceback points at the document's own line numbers.
- Shell blocks run with ``bash -e -o pipefail`` from the repository root (so
  ``.venv/bin/raybus`` works), with this interpreter's ``bin`` directory on ``PATH`` (so
  ``raybus`` works, as in an activated virtualenv). A trace of the commands, each prefixed with
  its document line, is part of the failure message.
- AWS clients (boto3 in Python blocks, the ``aws`` CLI in shell blocks) find the session
  cluster's credentials and region in ``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY`` and
  ``AWS_DEFAULT_REGION``, as a reader's shell would hold them (the docs never print keys).
- The docs address the gateway as ``127.0.0.1:8000`` / ``localhost:8000``: that text is
  rewritten to the session cluster's address, and ``RAYBUS_URL`` points the CLI at it.
- ``curl`` runs with ``--fail-with-body`` (a shim on ``PATH``): an HTTP error answer fails the
  block instead of being printed and ignored.
- Before and after each document, every mapping, function, topic and queue is deleted, so
  each document starts from an empty catalog (documents reuse names such as ``orders`` with
  different settings) and leaves no pollers behind for other tests.

Which blocks run is decided by their info string, and a runnable block that cannot run here
(``make run`` serves forever) is skipped only with an explicit marker above it; both
conventions and the pinned list of skipped blocks are in ``tests/docs/`` (``blocks.py`` and
``test_blocks.py``). Nothing sleeps: a snippet that waits for asynchronous delivery does so
itself, with a bounded long poll, as a reader's program would.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from raybus.sdk import Client
from tests.docs.blocks import ROOT, Block, DocumentError, blocks, documents
from tests.integration.conftest import AWS_ACCESS_KEY, AWS_SECRET_KEY

BLOCK_TIMEOUT_S = 120.0
AWS_ENV = {
    "AWS_ACCESS_KEY_ID": AWS_ACCESS_KEY,
    "AWS_SECRET_ACCESS_KEY": AWS_SECRET_KEY,
    "AWS_DEFAULT_REGION": "us-east-1",
}
_GATEWAY = re.compile(r"\b(?:localhost|127\.0\.0\.1):8000\b")


def _has_runnable_blocks(document: str) -> bool:
    try:
        return any(block.runs for block in blocks(document))
    except DocumentError:
        return True  # its case fails, naming the file and line


DOCUMENTS = [d for d in documents() if _has_runnable_blocks(d)]


def _clear(client: Client) -> None:
    """Delete every mapping, function, topic and queue (in that order: users before used)."""
    for mapping in client.list_event_source_mappings():
        mapping.delete()
    for listing, delete in (
        (client.list_functions, client.delete_function),
        (client.list_topics, client.delete_topic),
        (client.list_queues, client.delete_queue),
    ):
        for _ in range(100):  # listings may be paged; each round deletes a page
            names = listing()
            if not names:
                break
            for name in names:
                delete(name)
        else:
            pytest.fail(f"could not empty the catalog: {listing()[:5]} ...")


@pytest.fixture
def empty_catalog(client: Client) -> Iterator[None]:
    _clear(client)
    yield
    _clear(client)


@pytest.fixture
def shell_env(url: str, tmp_path: Path) -> dict[str, str]:
    shims = tmp_path / "shims"
    shims.mkdir()
    curl = shutil.which("curl")
    if curl is not None:
        shim = shims / "curl"
        shim.write_text(
            f'#!/bin/sh\nexec {shlex.quote(curl)} --fail-with-body --max-time 60 "$@"\n'
        )
        shim.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k not in ("RAYBUS_TOKEN", "BASH_ENV", "ENV")}
    env["PATH"] = os.pathsep.join([str(shims), str(Path(sys.executable).parent), env["PATH"]])
    env["RAYBUS_URL"] = url
    env.update(AWS_ENV)
    return env


def _rewrite(code: str, url: str) -> str:
    return _GATEWAY.sub(urlsplit(url).netloc, code)


def _run_python(block: Block, code: str, namespace: dict[str, Any]) -> None:
    # Padding with blank lines makes the compiled lines the document's lines.
    compiled = compile("\n" * block.line + code, str(ROOT / block.document), "exec")
    failure: list[BaseException] = []

    def run() -> None:
        try:
            exec(compiled, namespace)
        except BaseException as exc:  # reported below, with the block's place
            failure.append(exc)

    thread = threading.Thread(target=run, name=f"docs {block.where}", daemon=True)
    thread.start()
    thread.join(BLOCK_TIMEOUT_S)
    if thread.is_alive():
        pytest.fail(f"{block.where}: the Python block still runs after {BLOCK_TIMEOUT_S:.0f} s")
    if failure:
        exc = failure[0]
        frames = exc.__traceback__.tb_next if exc.__traceback__ else None  # skip exec's frame
        text = "".join(traceback.format_exception(type(exc), exc, frames))
        pytest.fail(f"{block.where}: the Python block failed\n{text}", pytrace=False)


def _run_shell(block: Block, code: str, env: dict[str, str]) -> None:
    # PS4 is expanded per traced command, so each trace line names its document line (the
    # script's line 1 is the trace setup, its line 2 the block's first line, block.line + 1).
    trace = f"PS4='+ {block.document}:$((LINENO + {block.line - 1})): '"
    try:
        done = subprocess.run(
            ["bash", "-e", "-o", "pipefail", "-c", f"{trace}; set -x\n{code}"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=BLOCK_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"{block.where}: the shell block still runs after {BLOCK_TIMEOUT_S:.0f} s")
    print(done.stdout, end="" if done.stdout.endswith("\n") or not done.stdout else "\n")
    if done.returncode != 0:
        pytest.fail(
            f"{block.where}: the shell block exited {done.returncode}\n"
            f"--- stdout\n{done.stdout}--- stderr (trace)\n{done.stderr}",
            pytrace=False,
        )


@pytest.mark.parametrize("document", DOCUMENTS)
def test_every_block_of_the_document_runs(
    document: str,
    url: str,
    shell_env: dict[str, str],
    empty_catalog: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for key, value in AWS_ENV.items():
        monkeypatch.setenv(key, value)
    namespace: dict[str, Any] = {"__name__": "__main__"}
    for block in blocks(document):
        if not block.runs:
            continue
        print(f"--- {block.where} ({block.language})")
        started = time.perf_counter()
        code = _rewrite(block.code, url)
        if block.language == "python":
            _run_python(block, code, namespace)
        else:
            _run_shell(block, code, shell_env)
        print(f"--- {block.where} ran in {time.perf_counter() - started:.2f} s")
