"""Generate the synchronous SDK from the asynchronous one (httpcore's unasync, as a script).

Every ``gateway/raybus/sdk/**/_aio.py`` is the one hand-written source of a flavour pair; the
``_sync.py`` beside it is made from it by the substitutions below (``async``/``await`` dropped,
``AsyncX`` names become ``X``, ``aclose`` becomes ``close``, ``._aio`` imports become
``._sync``...), then ruff sorts its imports and ``__all__`` and formats it, so that the
generated file passes the project's lint as it is.

    python -m tests.sdk.generate_sync            # rewrite every _sync.py
    python -m tests.sdk.generate_sync --check    # list the stale ones, exit 1 if any

``tests/sdk/test_generated_sync.py`` runs the check, so a hand edit of a ``_sync.py``, or an
``_aio.py`` changed without regenerating, fails the test suite: the two surfaces cannot drift.
The I/O that really differs (httpx or aiohttp, sleeping, awaiting a callback's result) is not
generated: it lives in ``_transport.py``, ``_retry.py`` and ``_consume.py``, one definition per
flavour, and the substitutions map each asynchronous name to its synchronous twin.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

__all__ = ["HEADER", "SDK", "SUBSTITUTIONS", "generate", "main", "stale", "unasync"]

ROOT = Path(__file__).resolve().parents[2]
SDK = ROOT / "gateway" / "raybus" / "sdk"
SOURCE, TARGET = "_aio.py", "_sync.py"

HEADER = (
    "# Generated from _aio.py by `python -m tests.sdk.generate_sync`: edit _aio.py, not this\n"
    "# file (tests/sdk/test_generated_sync.py fails when the two differ).\n"
)

# In order; each pattern is applied to the whole text (code, docstrings and comments alike).
SUBSTITUTIONS: list[tuple[str, str]] = [
    (r"\._aio\b", "._sync"),  # the sibling flavour modules
    (r"\basync def\b", "def"),
    (r"\basync with\b", "with"),
    (r"\basync for\b", "for"),
    (r"\bawait ", ""),
    (r"\b__aenter__\b", "__enter__"),
    (r"\b__aexit__\b", "__exit__"),
    (r"\b__aiter__\b", "__iter__"),
    (r"\b__anext__\b", "__next__"),
    (r"\baclose\b", "close"),
    (r"^import asyncio$", "import time"),
    (r"\basyncio\.sleep\b", "time.sleep"),
    (r"\basettle\b", "settle"),  # raybus.sdk._consume
    (r"\bopen_async_transport\b", "open_transport"),  # raybus.sdk._transport
    # AsyncClient, AsyncQueue, AsyncTransport, AsyncSleep, AsyncMessages, AsyncIterator,
    # httpx.AsyncBaseTransport, httpx.AsyncClient...
    (r"\bAsync([A-Z]\w*)", r"\1"),
]


def unasync(source: str) -> str:
    """The synchronous text of an asynchronous module, before formatting."""
    text = source
    for pattern, replacement in SUBSTITUTIONS:
        text = re.sub(pattern, replacement, text, flags=re.MULTILINE)
    return HEADER + text


def _ruff(args: list[str], text: str, filename: Path) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "ruff", *args, "--stdin-filename", str(filename), "-"],
        input=text,
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"ruff {' '.join(args)} failed on {filename}:\n{done.stderr}")
    return done.stdout


def generate(source: Path) -> str:
    """The exact text of ``source``'s ``_sync.py``."""
    target = source.with_name(TARGET)
    text = unasync(source.read_text(encoding="utf-8"))
    # raybus is first-party even before the target exists (ruff looks for it on disk).
    fix = ["check", "--fix-only", "--select", "I,RUF022"]
    text = _ruff([*fix, "--config", "lint.isort.known-first-party = ['raybus']"], text, target)
    return _ruff(["format"], text, target)


def sources() -> list[Path]:
    return sorted(SDK.rglob(SOURCE))


def stale() -> list[str]:
    """Every ``_sync.py`` that is not what its ``_aio.py`` generates (or has no source)."""
    out: list[str] = []
    for source in sources():
        target = source.with_name(TARGET)
        if not target.is_file() or target.read_text(encoding="utf-8") != generate(source):
            out.append(str(target.relative_to(ROOT)))
    for target in sorted(SDK.rglob(TARGET)):
        if not target.with_name(SOURCE).is_file():
            out.append(f"{target.relative_to(ROOT)} (no {SOURCE} beside it)")
    return out


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args == ["--check"]:
        found = stale()
        for name in found:
            print(f"stale: {name}")
        return 1 if found else 0
    if args:
        print(__doc__)
        return 2
    for source in sources():
        target = source.with_name(TARGET)
        text = generate(source)
        if not target.is_file() or target.read_text(encoding="utf-8") != text:
            target.write_text(text, encoding="utf-8")
            print(f"wrote {target.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
