"""``raybus rules``: EventBridge's TestEventPattern (and a pattern check) from the command line.

    raybus rules test --pattern pattern.json --event event.json
    raybus rules test --pattern pattern.json --event -          # event on stdin
    raybus rules check --pattern pattern.json

``test`` prints ``match`` or ``no match`` (``--json``: AWS's ``{"Result": true}``); ``check``
prints ``valid``. Errors go to stderr as ``<AWS code>: <AWS message>``.

Exit codes: 0 match (``check``: valid), 1 no match, 2 error (invalid pattern, invalid event,
unreadable file, bad arguments).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from raybus.cli._text import TextError, decode_utf8, read_stdin

__all__ = ["EXIT_ERROR", "EXIT_MATCH", "EXIT_NO_MATCH", "register"]

EXIT_MATCH = 0
EXIT_NO_MATCH = 1
EXIT_ERROR = 2


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "rules",
        help="test EventBridge event patterns",
        description="Validate and test EventBridge event patterns as AWS does.",
    )
    verbs = parser.add_subparsers(dest="rules_verb", metavar="COMMAND", required=True)

    test = verbs.add_parser(
        "test",
        help="TestEventPattern: does the event match the pattern?",
        description="Exit 0 on match, 1 on no match, 2 on error.",
    )
    test.add_argument("--pattern", required=True, help="file with the event pattern (- = stdin)")
    test.add_argument("--event", required=True, help="file with the event JSON (- = stdin)")
    test.add_argument("--json", action="store_true", help='print {"Result": true|false}')
    test.set_defaults(func=run_test)

    check = verbs.add_parser(
        "check",
        help="validate an event pattern",
        description="Exit 0 when valid, 2 when invalid.",
    )
    check.add_argument("--pattern", required=True, help="file with the event pattern (- = stdin)")
    check.set_defaults(func=run_check)


def _read(path: str) -> str:
    """The file's (or stdin's) text; it must be UTF-8 (:class:`TextError` says where not)."""
    if path == "-":
        return decode_utf8(read_stdin(), "stdin")
    with open(path, "rb") as handle:
        return decode_utf8(handle.read(), repr(path))


def _inputs(args: argparse.Namespace, names: tuple[str, ...]) -> list[str] | None:
    if sum(1 for name in names if getattr(args, name) == "-") > 1:
        print("error: only one of the inputs can be read from stdin", file=sys.stderr)
        return None
    texts = []
    for name in names:
        try:
            texts.append(_read(getattr(args, name)))
        except (OSError, TextError) as exc:
            print(f"error: cannot read --{name}: {exc}", file=sys.stderr)
            return None
    return texts


def run_test(args: argparse.Namespace) -> int:
    from raybus.rules import PatternError, test_event_pattern

    texts = _inputs(args, ("pattern", "event"))
    if texts is None:
        return EXIT_ERROR
    pattern, event = texts
    try:
        matched = test_event_pattern(pattern, event)
    except PatternError as exc:
        print(f"{exc.code}: {exc.message}", file=sys.stderr)
        return EXIT_ERROR
    if args.json:
        print(json.dumps({"Result": matched}))
    else:
        print("match" if matched else "no match")
    return EXIT_MATCH if matched else EXIT_NO_MATCH


def run_check(args: argparse.Namespace) -> int:
    from raybus.rules import PatternError, compile_pattern

    texts = _inputs(args, ("pattern",))
    if texts is None:
        return EXIT_ERROR
    try:
        compile_pattern(texts[0])
    except PatternError as exc:
        print(f"{exc.code}: {exc.message}", file=sys.stderr)
        return EXIT_ERROR
    print("valid")
    return EXIT_MATCH
