"""Everything the CLI prints: JSON on stdout, tables, progress, and errors on stderr.

This is the one place where a :class:`~tagwise.errors.TagwiseError` becomes output: one
line on stderr (``error[code]: message (hint: …)``) and the error's exit code. With
``--json`` the error is also a JSON object on stdout, so scripts always get JSON.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any

from rich.console import Console
from rich.table import Table

from tagwise.errors import TagwiseError
from tagwise.results import Problem, Result

__all__ = [
    "emit_json",
    "emit_result",
    "print_error",
    "print_problem",
    "progress",
    "stdout",
    "table",
]

stdout = Console(highlight=False, soft_wrap=True)
if not stdout.is_terminal:
    # pipes and files get full rows instead of 80-column wrapping
    stdout = Console(highlight=False, soft_wrap=True, width=200)
stderr = Console(stderr=True, highlight=False, soft_wrap=True)


def _default(value: object) -> object:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def emit_json(data: Mapping[str, Any]) -> None:
    """Print one JSON object on stdout (UTF-8, Chinese kept readable)."""
    sys.stdout.write(json.dumps(data, ensure_ascii=False, default=_default, indent=2) + "\n")
    sys.stdout.flush()


def print_error(err: TagwiseError, *, as_json: bool = False) -> None:
    """One line on stderr (and the JSON shape on stdout when asked)."""
    print_problem(Problem.of(err))
    if as_json:
        emit_json({"error": err.to_dict()})


def print_problem(problem: Problem) -> None:
    """A problem of a result (lint, plan, ingest) as one line on stderr."""
    sys.stderr.write(problem.text + "\n")


def emit_result(result: Result) -> None:
    """Print a result as its JSON object on stdout (``--json``)."""
    emit_json(result.model_dump(mode="json"))


def table(
    title: str | None,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    numeric: Sequence[str] = (),
) -> None:
    """Print a rich table (Chinese text aligns by display width)."""
    out = Table(title=title, title_justify="left", show_edge=False, header_style="bold")
    for name in columns:
        out.add_column(name, justify="right" if name in numeric else "left")
    for row in rows:
        out.add_row(*(_cell(v) for v in row))
    stdout.print(out)


def _cell(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.4g}"
    return str(value)


@contextmanager
def progress(enabled: bool) -> Iterator[Callable[[str], None]]:
    """A status line on a terminal (stderr); a no-op otherwise."""
    if not enabled or not stderr.is_terminal:
        yield lambda _message: None
        return
    with stderr.status("working…") as status:
        yield status.update
