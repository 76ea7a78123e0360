"""Fixtures: every ``raybus`` verb backed by the SDK runs against the fake gateway of the SDK
tests (no sockets), through the clients it would make."""

from __future__ import annotations

import json
from typing import Any

import pytest

import raybus.cli._common as cli_common
from raybus.cli.main import main
from raybus.sdk import Client
from tests.sdk.fakes import FakeGateway


@pytest.fixture
def made() -> list[tuple[str, str | None]]:
    """The (url, token) of every client the CLI made."""
    return []


@pytest.fixture
def gateway(monkeypatch: pytest.MonkeyPatch, made: list[tuple[str, str | None]]) -> FakeGateway:
    fake = FakeGateway()

    def make_client(url: str, token: str | None) -> Client:
        made.append((url, token))
        return Client(url, token, transport=fake.transport, max_retries=0)

    monkeypatch.setattr(cli_common, "make_client", make_client)
    monkeypatch.delenv("RAYBUS_URL", raising=False)
    monkeypatch.delenv("RAYBUS_TOKEN", raising=False)
    return fake


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Run ``raybus <argv>``: the exit code, stdout and stderr."""
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def json_lines(text: str) -> list[Any]:
    return [json.loads(line) for line in text.splitlines()]
