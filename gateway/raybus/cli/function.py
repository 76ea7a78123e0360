"""``raybus function``: register, inspect and invoke functions (via the SDK).

    raybus function create resize --handler images.handlers:resize --timeout-s 30 \\
        --concurrency 4 --on-failure queue:resize-failures
    raybus function list [--prefix PREFIX] [--limit N]
    raybus function get resize
    raybus function invoke resize '{"key": "a.png"}'     # or @event.json, or - (stdin)
    raybus function invoke-async resize '{"key": "a.png"}'
    raybus function delete resize

``invoke`` prints the handler's result as JSON. When the handler fails it prints Lambda's
error object (``errorType``, ``errorMessage``, ``stackTrace``) as JSON, ``error:
FunctionError: <type>: <message>`` on stderr, and exits 1. Other errors exit 2, as for every
``raybus`` verb. ``create`` takes import paths only: a handler must be importable on the
cluster (the SDK's ``create_function`` can also upload a Python callable).
"""

from __future__ import annotations

import argparse
from typing import Any

from raybus.cli._common import (
    EXIT_OK,
    add_command,
    add_json_argument,
    connection_options,
    json_argument,
    print_json,
    report,
)
from raybus.sdk import Client, Function, FunctionError

__all__ = ["EXIT_FUNCTION_ERROR", "register"]

EXIT_FUNCTION_ERROR = 1
_SETTINGS = (
    ("timeout-s", int, "1-900 (default 3)"),
    ("memory-mb", int, "128-10240 (default 128)"),
    ("cpus", float, "CPUs per invocation (default memory_mb / 1769)"),
    ("concurrency", int, "reserved concurrency, 0-1000 (default unreserved)"),
    ("max-retries", int, "retries of asynchronous invocations, 0-2 (default 2)"),
    ("max-event-age-s", int, "60-21600 (default 21600)"),
    ("on-success", str, "destination of async results: queue:, topic: or function:<name>"),
    ("on-failure", str, "destination of async failures: queue:, topic: or function:<name>"),
    ("dead-letter-queue", str, "queue:<name> or topic:<name> for failed async events"),
    ("pool-size", int, "warm actors with --runtime actor"),
)


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "function",
        help="register and invoke functions",
        description="Administer and invoke Lambda-style functions through a raybus gateway.",
    )
    connection_options(parser)
    verbs = parser.add_subparsers(dest="function_verb", metavar="COMMAND", required=True)

    create = add_command(verbs, "create", run_create, "create a function (idempotent)")
    create.add_argument("name")
    create.add_argument(
        "--handler", required=True, metavar="MODULE:FUNCTION", help="e.g. pkg.handlers:resize"
    )
    for option, kind, text in _SETTINGS:
        create.add_argument(f"--{option}", type=kind, help=text)
    create.add_argument("--runtime", choices=("task", "actor"), default="task")

    listing = add_command(verbs, "list", run_list, "list function names")
    listing.add_argument("--prefix")
    listing.add_argument("--limit", type=int, metavar="N")

    for name, run, text in (
        ("get", run_get, "print a function's settings"),
        ("delete", run_delete, "delete a function"),
    ):
        add_command(verbs, name, run, text).add_argument("name")

    for name, run, text in (
        ("invoke", run_invoke, "run a function and print its result"),
        ("invoke-async", run_invoke_async, "queue an invocation and print its request id"),
    ):
        verb = add_command(verbs, name, run, text)
        verb.add_argument("name")
        add_json_argument(
            verb,
            "payload",
            nargs="?",
            default="{}",
            help="JSON event: inline, @file or - (default {})",
        )


def run_create(client: Client, args: argparse.Namespace) -> int:
    settings = {
        option.replace("-", "_"): getattr(args, option.replace("-", "_"))
        for option, _, _ in _SETTINGS
    }
    settings = {key: value for key, value in settings.items() if value is not None}
    function = client.create_function(args.name, args.handler, runtime=args.runtime, **settings)
    print_json(function.config)
    return EXIT_OK


def run_list(client: Client, args: argparse.Namespace) -> int:
    for name in client.list_functions(args.prefix, limit=args.limit):
        print(name)
    return EXIT_OK


def run_get(client: Client, args: argparse.Namespace) -> int:
    print_json(client.function(args.name).config)
    return EXIT_OK


def run_delete(client: Client, args: argparse.Namespace) -> int:
    client.delete_function(args.name)
    return EXIT_OK


def run_invoke(client: Client, args: argparse.Namespace) -> int:
    payload = json_argument(args.payload, "payload")
    try:
        result = Function(client, {"name": args.name}).invoke(payload)
    except FunctionError as exc:
        print_json(
            {
                "errorType": exc.error_type,
                "errorMessage": exc.error_message,
                "stackTrace": exc.stack_trace,
            }
        )
        report("FunctionError", str(exc))
        return EXIT_FUNCTION_ERROR
    print_json(result)
    return EXIT_OK


def run_invoke_async(client: Client, args: argparse.Namespace) -> int:
    payload = json_argument(args.payload, "payload")
    print_json({"request_id": Function(client, {"name": args.name}).invoke_async(payload)})
    return EXIT_OK
