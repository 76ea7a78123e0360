"""``raybus demo``: placeholder until the engine demo lands."""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["register"]


def register(sub: Any) -> None:
    parser = sub.add_parser("demo", help="run a short durable-queue demo")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    print("raybus demo: engines not built yet")
    return 0
