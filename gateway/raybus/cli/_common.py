"""What the SDK-backed verbs share: the connection options, the client, JSON output, the
error convention (``error: <code>: <message>`` on stderr, exit 2) and argument parsers.

Every argument of a verb made by :func:`add_command` is checked before the client is made:
text that is not UTF-8 (a non-UTF-8 byte in ``argv`` or the environment reaches Python as a
lone surrogate) is an ``InvalidArgument`` naming the argument, and nothing is sent."""

from __future__ import annotations

import argparse
import base64
import binascii
import json
import os
import sys
from collections.abc import Callable
from typing import Any

import httpx

from raybus.cli._text import TextError, decode_utf8, lone_surrogate, non_utf8, read_stdin
from raybus.core import RaybusError
from raybus.sdk import DEFAULT_URL, Client, GatewayConnectionError

__all__ = [
    "EXIT_ERROR",
    "EXIT_OK",
    "Run",
    "UsageError",
    "add_command",
    "add_json_argument",
    "check_arguments",
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
    verb.set_defaults(func=lambda args: run_with_client(run, args, verb))
    return verb


def add_json_argument(verb: argparse.ArgumentParser, *flags: str, **kwargs: Any) -> None:
    """An argument read with :func:`json_argument` (inline JSON, ``@path`` or ``-``): its
    ``@path`` is a file name, which may be any bytes, so :func:`check_arguments` leaves it to
    :func:`json_argument` to check what the file holds."""
    action = verb.add_argument(*flags, **kwargs)
    paths = verb.get_default("path_arguments") or frozenset()
    verb.set_defaults(path_arguments=paths | {action.dest})


def _argument_name(action: argparse.Action) -> str:
    return "/".join(action.option_strings) or str(action.metavar or action.dest)


def check_arguments(verb: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """:class:`UsageError` for the first argument of ``verb`` that is not UTF-8 text."""
    paths: frozenset[str] = getattr(args, "path_arguments", frozenset())
    for action in verb._actions:
        value = getattr(args, action.dest, None)
        for item in value if isinstance(value, list) else [value]:
            if not isinstance(item, str) or (action.dest in paths and item.startswith("@")):
                continue
            problem = non_utf8(item)
            if problem is not None:
                raise UsageError(
                    f"argument {_argument_name(action)} is not valid UTF-8 ({problem})"
                )


def report(code: str, message: str) -> None:
    print(f"error: {code}: {message}", file=sys.stderr)


def _connection(args: argparse.Namespace) -> tuple[str, str | None]:
    """The gateway URL and token from the options or the environment, checked: both must be
    UTF-8, and the token printable ASCII (it travels in an HTTP header)."""
    url = getattr(args, "url", None)
    url_source = "--url"
    if not url:
        url, url_source = os.environ.get("RAYBUS_URL") or DEFAULT_URL, "$RAYBUS_URL"
    token = getattr(args, "token", None)
    token_source = "--token"
    if not token:
        token, token_source = os.environ.get("RAYBUS_TOKEN") or None, "$RAYBUS_TOKEN"
    problem = non_utf8(url)
    if problem is not None:
        raise UsageError(f"{url_source} is not valid UTF-8 ({problem})")
    if token is not None and not (token.isascii() and token.isprintable()):
        raise UsageError(f"{token_source} must be printable ASCII (it is sent in an HTTP header)")
    return url, token


def run_with_client(
    run: Run, args: argparse.Namespace, verb: argparse.ArgumentParser | None = None
) -> int:
    """Check the arguments (``verb``'s, when given) and the connection settings, then run
    ``run`` with a client; every failure is reported on stderr with exit 2."""
    url = "?"
    try:
        if verb is not None:
            check_arguments(verb, args)
        url, token = _connection(args)
        with make_client(url, token) as client:
            return run(client, args)
    except RaybusError as exc:
        report(exc.code, exc.message)
    except GatewayConnectionError as exc:
        report("GatewayConnectionError", exc.message)
    except (UsageError, TextError) as exc:
        report("InvalidArgument", str(exc))
    except httpx.InvalidURL as exc:
        report("InvalidArgument", f"the gateway URL {url!r} is not valid: {exc}")
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
    """A JSON value given inline, as ``@path`` (read from a file) or ``-`` (stdin). The file or
    stdin must be UTF-8, and no string in the value a lone surrogate (a ``\\ud800`` escape):
    :class:`UsageError` otherwise, saying where."""
    try:
        if text == "-":
            text = decode_utf8(read_stdin(), f"{option}: stdin")
        elif text.startswith("@"):
            with open(text[1:], "rb") as handle:
                data = handle.read()
            text = decode_utf8(data, f"{option}: {text[1:]!r}")
        value = json.loads(text)
    except TextError as exc:
        raise UsageError(str(exc)) from exc
    except OSError as exc:
        raise UsageError(f"{option}: cannot read {text[1:]!r}: {exc.strerror}") from exc
    except ValueError as exc:
        raise UsageError(f"{option} is not valid JSON: {exc}") from exc
    problem = lone_surrogate(value)
    if problem is not None:
        raise UsageError(f"{option} cannot be sent as UTF-8: it holds a {problem}")
    return value
