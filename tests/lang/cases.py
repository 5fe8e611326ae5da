"""Loader of the case files in tests/fixtures/lang/ (one case = a few lines of text)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent.parent / "fixtures" / "lang"


def lines(name: str) -> list[object]:
    """One case per non-blank line that is not a ``#`` comment."""
    return [
        pytest.param(text, id=f"line {number}")
        for number, text in _numbered(name)
        if text.strip() and not text.startswith("#")
    ]


def blocks(name: str) -> Iterator[tuple[int, list[str]]]:
    """Blank-line separated blocks without their ``#`` comment lines, with their first line."""
    block: list[tuple[int, str]] = []
    for number, text in [*_numbered(name), (0, "")]:
        if text.strip():
            if not text.startswith("#"):
                block.append((number, text))
        elif block:
            yield block[0][0], [text for _, text in block]
            block = []


def normalize_cases() -> list[object]:
    """``normalize.txt``: pairs of an input line and its canonical text."""
    cases = []
    for number, block in blocks("normalize.txt"):
        assert len(block) == 2, f"normalize.txt line {number}: expected 2 lines, got {block}"
        cases.append(pytest.param(*block, id=f"line {number}"))
    return cases


def error_cases() -> list[object]:
    """``errors.txt``: the input (maybe several lines), then the rendered error."""
    cases = []
    for number, block in blocks("errors.txt"):
        first = next(i for i, text in enumerate(block) if text.startswith("error["))
        source, rendered = "\n".join(block[:first]), "\n".join(block[first:])
        cases.append(pytest.param(source, rendered, id=f"line {number}"))
    return cases


def _numbered(name: str) -> list[tuple[int, str]]:
    text = (FIXTURES / name).read_text(encoding="utf-8")
    return list(enumerate(text.splitlines(), start=1))
