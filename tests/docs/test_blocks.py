"""The code blocks of README.md and docs/*.md follow the conventions of ``tests/docs/blocks.py``:
each says whether it runs, and only the blocks listed here are skipped. The blocks themselves
run in ``tests/integration/test_docs_run.py`` (they need a cluster)."""

from __future__ import annotations

import pytest

from tests.docs.blocks import Block, DocumentError, blocks, documents, parse

# (document, first line of the block): the only runnable blocks the docs tests do not run.
SKIPPED = {
    ("README.md", "make run"),  # serves until Ctrl-C; `make test` runs this very suite
    ("docs/rules.md", ".venv/bin/python -m benchmarks.bench_rules"),  # about 50 s
}


@pytest.mark.parametrize("document", documents())
def test_every_block_of_every_document_says_whether_it_runs(document: str) -> None:
    blocks(document)  # raises DocumentError naming the file and line


def test_exactly_the_listed_blocks_are_skipped() -> None:
    skipped = {(b.document, b.first_line) for d in documents() for b in blocks(d) if b.skip}
    assert skipped == SKIPPED


def test_the_readme_and_the_sdk_guide_have_python_and_shell_blocks_that_run() -> None:
    for document in ("README.md", "docs/sdk.md"):
        languages = {b.language for b in blocks(document) if b.runs}
        assert languages == {"python", "shell"}, document


def _one(text: str) -> Block:
    (block,) = parse("doc.md", text)
    return block


def test_a_block_records_its_line_language_and_code() -> None:
    block = _one("# title\n\n```python\nx = 1\n```\n")
    assert (block.where, block.language, block.code, block.runs) == (
        "doc.md:3",
        "python",
        "x = 1\n",
        True,
    )


@pytest.mark.parametrize(
    ("info", "language"),
    [
        ("python", "python"),
        ("bash", "shell"),
        ("sh", "shell"),
        ("shell", "shell"),
        ("text", "not run"),
        ("json", "not run"),
        ("Python title=x", "python"),
    ],
)
def test_the_info_string_decides_whether_a_block_runs(info: str, language: str) -> None:
    assert _one(f"```{info}\nx\n```\n").language == language


def test_a_fenced_block_in_a_list_item_loses_the_fence_indentation() -> None:
    assert (
        _one("- item:\n\n  ```bash\n  echo hi\n    indented\n  ```\n").code
        == "echo hi\n  indented\n"
    )


def test_a_longer_fence_contains_shorter_ones() -> None:
    assert _one("````text\n```python\n```\n````\n").code == "```python\n```\n"


def test_a_skip_marker_directly_above_the_fence_skips_the_block() -> None:
    block = _one('<!-- docs-test: skip reason="starts a server" -->\n```bash\nmake run\n```\n')
    assert (block.skip, block.runs, block.first_line) == ("starts a server", False, "make run")


def test_a_marker_quoted_in_prose_is_not_a_marker() -> None:
    assert parse("doc.md", 'Mark it `<!-- docs-test: skip reason="x" -->`.\n') == []


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("```\nuntagged\n```\n", "info string ''"),
        ("```console\n$ ls\n```\n", "info string 'console'"),
        ("```python\nnever closed\n", "never closed"),
        ('<!-- docs-test: skip reason="x" -->\n\n```bash\nls\n```\n', "directly above"),
        ("<!-- docs-test: skip -->\n```bash\nls\n```\n", "directly above"),
        ('<!-- docs-test: skip reason="x" -->\n```text\nls\n```\n', "never runs"),
    ],
)
def test_a_block_that_does_not_say_what_it_is_is_an_error(text: str, problem: str) -> None:
    with pytest.raises(DocumentError, match=problem) as error:
        parse("doc.md", text)
    assert str(error.value).startswith("doc.md:")
