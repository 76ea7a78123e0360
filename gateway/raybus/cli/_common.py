"""What the SDK-backed verbs share: the connection options, the client, JSON output, the
error convention (``error: <code>: <message>`` on stderr, exit 2) and argument parsers."""

from __future__ import annotations

import argparse
import base64
import binascii
import json
import os
import sys
from collections.abc import Callable
from typing import Any

from raybus.core import RaybusError
from raybus.sdk import DEFAULT_URL, Client, GatewayConnectionError

__all__ = [
    "EXIT_ERROR",
    "EXIT_OK",
    "Run",
    "UsageError",
    "add_command",
    "connection_options",
    "json_argument",
    "make_client",
    "parse_attribute",
    "print_json",
    "report",
    "run_with_client",
]

EXIT_OK = 0
EXIT_ERROR = 2

Run = Callable[[Client, argparse.Namespace], int]


def make_client(url: str, token: str | None) -> Client:
    """The client the commands use (tests replace it to run without sockets)."""
    return Client(url, token)


class UsageError(Exception):
    """A command line the SDK never sees (a bad --attribute, unreadable JSON)."""


def connection_options(parser: argparse.ArgumentParser) -> None:
    # SUPPRESS: an option given before the command is not reset by the command's parser.
    parser.add_argument(
        "--url",
        default=argparse.SUPPRESS,
        help=f"gateway URL (default: $RAYBUS_URL or {DEFAULT_URL})",
    )
    parser.add_argument(
        "--token", default=argparse.SUPPRESS, help="bearer token (default: $RAYBUS_TOKEN)"
    )


def add_command(verbs: Any, name: str, run: Run, help: str) -> argparse.ArgumentParser:
    """A sub-command that runs ``run(client, args)`` through :func:`run_with_client`."""
    verb: argparse.ArgumentParser = verbs.add_parser(name, help=help, description=help)
    connection_options(verb)
    verb.set_defaults(func=lambda args: run_with_client(run, args))
    return verb


def report(code: str, message: str) -> None:
    print(f"error: {code}: {message}", file=sys.stderr)


def run_with_client(run: Run, args: argparse.Namespace) -> int:
    url = getattr(args, "url", None) or os.environ.get("RAYBUS_URL") or DEFAULT_URL
    token = getattr(args, "token", None) or os.environ.get("RAYBUS_TOKEN") or None
    try:
        with make_client(url, token) as client:
            return run(client, args)
    except RaybusError as exc:
        report(exc.code, exc.message)
    except GatewayConnectionError as exc:
        report("GatewayConnectionError", exc.message)
    except UsageError as exc:
        report("InvalidArgument", str(exc))
    return EXIT_ERROR


def print_json(value: Any) -> None:
    print(json.dumps(value, ensure_ascii=False), flush=True)


def parse_attribute(text: str) -> tuple[str, tuple[str, str | bytes]]:
    """``NAME[:TYPE]=VALUE`` → ``(NAME, (TYPE, VALUE))``; Binary values are base64."""
    key, equals, value = text.partition("=")
    if not equals or not key:
        raise UsageError(f"--attribute {text!r} is not NAME[:TYPE]=VALUE")
    name, _, data_type = key.partition(":")
    data_type = data_type or "String"
    if data_type.split(".", 1)[0] == "Binary":
        try:
            return name, (data_type, base64.b64decode(value, validate=True))
        except binascii.Error as exc:
            raise UsageError(f"--attribute {name}: a Binary value is base64") from exc
    return name, (data_type, value)


def json_argument(text: str, option: str) -> Any:
    """A JSON value given inline, as ``@path`` (read from a file) or ``-`` (stdin)."""
    try:
        if text == "-":
            text = sys.stdin.read()
        elif text.startswith("@"):
            with open(text[1:], encoding="utf-8") as handle:
                text = handle.read()
        return json.loads(text)
    except OSError as exc:
        raise UsageError(f"{option}: cannot read {text[1:]!r}: {exc.strerror}") from exc
    except ValueError as exc:
        raise UsageError(f"{option} is not valid JSON: {exc}") from exc
