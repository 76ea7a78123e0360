"""raybus.cli: the ``raybus`` command."""

from raybus.cli.main import main

__all__ = ["main"]
