"""Run every benchmark in turn with its default settings (``make bench``).

Each benchmark is its own module with its own flags; run one directly for more control:
``.venv/bin/python -m benchmarks.bench_log --help``.
"""

from __future__ import annotations

import subprocess
import sys

BENCHMARKS = (
    "benchmarks.bench_log",
    "benchmarks.bench_engines",
    "benchmarks.bench_rules",
    "benchmarks.bench_s3",
)


def main() -> int:
    failed = 0
    for module in BENCHMARKS:
        print(f"\n=== {module} ===", flush=True)
        failed += subprocess.call([sys.executable, "-m", module]) != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
