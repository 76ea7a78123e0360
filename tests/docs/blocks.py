"""The fenced code blocks of README.md and docs/*.md, and what the docs tests do with each.

Every fenced block declares what it is by its info string (the word after the opening fence):

- ``python`` — run: the Python blocks of a document share one namespace, in order;
- ``bash``, ``sh``, ``shell`` — run with ``bash -e -o pipefail``, from the repository root;
- ``text``, ``json``, ``yaml``, ``toml`` — read, never run: output samples, command synopses,
  directory trees, data. Never commands.

Anything else, including no info string, is an error, so no command can hide in an untagged
block. A runnable block that cannot run in a test (it starts a server, or runs for a minute)
carries a marker on the line directly above its fence::

    <!-- docs-test: skip reason="starts a server that runs until Ctrl-C" -->

``tests/docs/test_blocks.py`` pins the exact list of skipped blocks, so skipping another one is
a visible change to that list, reviewed like any other.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "NOT_RUN",
    "PYTHON",
    "ROOT",
    "SHELL",
    "Block",
    "DocumentError",
    "blocks",
    "documents",
    "parse",
]

ROOT = Path(__file__).resolve().parents[2]
PYTHON = frozenset({"python"})
SHELL = frozenset({"bash", "sh", "shell"})
NOT_RUN = frozenset({"text", "json", "yaml", "toml"})

_FENCE = re.compile(r"^(?P<indent> *)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
_SKIP = re.compile(r'^\s*<!--\s*docs-test:\s*skip\s+reason="(?P<reason>[^"]+)"\s*-->\s*$')
_MARKER = re.compile(r"^\s*<!--\s*docs-test")


class DocumentError(ValueError):
    """A document breaks the block conventions (the message names the file and line)."""


@dataclass(frozen=True)
class Block:
    """One fenced block: ``line`` is the 1-based line of its opening fence, ``code`` its content
    without the fence's indentation (so the content's first line is ``line + 1``)."""

    document: str
    line: int
    info: str
    code: str
    skip: str | None = None

    @property
    def where(self) -> str:
        return f"{self.document}:{self.line}"

    @property
    def language(self) -> str:
        """``python``, ``shell`` or ``not run``."""
        if self.info in PYTHON:
            return "python"
        if self.info in SHELL:
            return "shell"
        return "not run"

    @property
    def runs(self) -> bool:
        return self.language != "not run" and self.skip is None

    @property
    def first_line(self) -> str:
        """The block's first line without a trailing comment (how the skip list names it)."""
        first = next((line for line in self.code.splitlines() if line.strip()), "")
        return first.split("#", 1)[0].strip()


def parse(document: str, text: str) -> list[Block]:
    """The fenced blocks of ``text`` in order; raises :class:`DocumentError` for an unknown or
    missing info string, an unclosed fence, or a skip marker that is malformed, stray, or
    above a block that does not run anyway."""
    lines = text.splitlines()
    found: list[Block] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        opening = _FENCE.match(line)
        if opening is None:
            if _MARKER.search(line) and not (
                _SKIP.match(line) and i + 1 < len(lines) and _FENCE.match(lines[i + 1])
            ):
                raise DocumentError(
                    f'{document}:{i + 1}: a docs-test marker is <!-- docs-test: skip reason="..." '
                    "--> on the line directly above a fence"
                )
            i += 1
            continue
        indent, fence = len(opening["indent"]), opening["fence"]
        info = opening["info"].strip().split(" ", 1)[0].lower()
        start = i
        body: list[str] = []
        i += 1
        while i < len(lines):
            closing = _FENCE.match(lines[i])
            if (
                closing
                and closing["fence"][0] == fence[0]
                and len(closing["fence"]) >= len(fence)
                and not closing["info"].strip()
            ):
                break
            body.append(lines[i][indent:] if lines[i][:indent].strip() == "" else lines[i])
            i += 1
        else:
            raise DocumentError(f"{document}:{start + 1}: the fence is never closed")
        i += 1
        if info not in PYTHON | SHELL | NOT_RUN:
            raise DocumentError(
                f"{document}:{start + 1}: fenced block with info string {info!r}; say what it is: "
                f"{sorted(PYTHON | SHELL)} (run) or {sorted(NOT_RUN)} (not run)"
            )
        marker = _SKIP.match(lines[start - 1]) if start > 0 else None
        skip = marker["reason"] if marker else None
        block = Block(document, start + 1, info, "\n".join(body) + "\n", skip)
        if skip is not None and block.language == "not run":
            raise DocumentError(
                f"{document}:{start + 1}: a skip marker above a {info!r} block, which never runs"
            )
        found.append(block)
    return found


def documents(root: Path = ROOT) -> list[str]:
    """README.md and docs/*.md, relative to ``root``, in a stable order."""
    return ["README.md", *sorted(p.relative_to(root).as_posix() for p in root.glob("docs/*.md"))]


def blocks(document: str, root: Path = ROOT) -> list[Block]:
    return parse(document, (root / document).read_text(encoding="utf-8"))
