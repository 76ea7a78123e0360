"""The ``raybus`` command: one verb per module, imported only when that verb runs.

Each verb module exposes ``register(subparsers)``, which adds its parser and sets
``func`` (taking the parsed namespace, returning an exit code) as the parser's default.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

__all__ = ["main"]

# verb -> module that registers it. Add a line to add a verb.
VERBS: dict[str, str] = {
    "up": "raybus.cli.up",
    "queue": "raybus.cli.queue",
    "topic": "raybus.cli.topic",
    "function": "raybus.cli.function",
    "mapping": "raybus.cli.mapping",
    "bus": "raybus.cli.bus",
    "bucket": "raybus.cli.bucket",
    "hosts": "raybus.cli.hosts",
    "bench": "raybus.cli.bench",
    "demo": "raybus.cli.demo",
    "rules": "raybus.cli.rules",
}


def build_parser(verbs: Sequence[str] | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="raybus", description="raybus messaging backbone")
    sub = parser.add_subparsers(dest="verb", metavar="VERB", required=True)
    for verb in verbs if verbs is not None else VERBS:
        importlib.import_module(VERBS[verb]).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    # Import only the verb being run (keeps `raybus rules ...` free of heavy imports).
    chosen = [args_list[0]] if args_list and args_list[0] in VERBS else None
    args = build_parser(chosen).parse_args(args_list)
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
