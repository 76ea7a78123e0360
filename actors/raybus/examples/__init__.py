"""raybus.examples: small function handlers that ship with raybus, so that a function can be
registered by import path (``raybus function create resize --handler
raybus.examples.images:resize``) on any cluster — the README and docs use them, and their
examples run as tests (``tests/integration/test_docs_run.py``).

They are examples of Lambda's handler signature ``handler(event, context)``, stdlib only and
Ray-free; they do no real work and keep no state. Your own handlers belong in your own package,
installed where the Ray workers run (or uploaded from Python as a callable).
"""

from raybus.examples.handlers import echo
from raybus.examples.images import resize

__all__ = ["echo", "resize"]
