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

from rich.cells import cell_len
from rich.console import Console, JustifyMethod
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
    shrink: Sequence[str] = (),
    drop: Sequence[str] = (),
) -> None:
    """Print a rich table (Chinese text aligns by display width) that fits the console.

    Codes, ids and numbers are never cut. When the table is wider than the console, the
    long text columns named in ``shrink`` (names, descriptions, raw values; the most
    important first) are shortened with an ellipsis, down to :data:`SHRUNK_WIDTH`; if
    that is not enough, the columns named in ``drop`` are left out, in that order (as
    ``gh`` does).
    """
    cells = [[_cell(v) for v in row] for row in rows]
    natural = {
        name: max([cell_len(name), *(cell_len(line) for r in cells for line in r[i].split("\n"))])
        for i, name in enumerate(columns)
    }
    shown = _fitting(list(columns), natural, shrink=shrink, drop=drop, width=stdout.width)
    widths = _shrunk(shown, natural, shrink=shrink, width=stdout.width)
    out = Table(title=title, title_justify="left", show_edge=False, header_style="bold")
    for name in shown:
        justify: JustifyMethod = "right" if name in numeric else "left"
        if name in shrink:
            out.add_column(
                name, justify=justify, width=widths[name], no_wrap=True, overflow="ellipsis"
            )
        else:  # never cut: in the worst case it folds onto a second line
            out.add_column(name, justify=justify, min_width=natural[name], overflow="fold")
    index = [list(columns).index(name) for name in shown]
    for row in cells:
        out.add_row(*(row[i] for i in index))
    stdout.print(out)


SHRUNK_WIDTH = 8
"""The narrowest a shrinkable text column gets (then columns are dropped instead)."""


def _overhead(count: int) -> int:
    """Characters a table adds around its cells: padding and the separators between."""
    return 2 * count + max(count - 1, 0)


def _fitting(
    columns: list[str],
    natural: Mapping[str, int],
    *,
    shrink: Sequence[str],
    drop: Sequence[str],
    width: int,
) -> list[str]:
    """The columns to show: all, minus the droppable ones (in order) that do not fit."""
    shown = list(columns)

    def least(names: list[str]) -> int:
        cells = sum(min(natural[n], SHRUNK_WIDTH) if n in shrink else natural[n] for n in names)
        return cells + _overhead(len(names))

    for name in drop:
        if least(shown) <= width:
            break
        if name in shown:
            shown.remove(name)
    return shown


def _shrunk(
    shown: list[str], natural: Mapping[str, int], *, shrink: Sequence[str], width: int
) -> dict[str, int]:
    """Widths of the shrinkable columns: what is left after the others, shared out in the
    order of ``shrink`` (the first one gets what it needs first)."""
    fixed = sum(natural[n] for n in shown if n not in shrink) + _overhead(len(shown))
    flexible = [n for n in shrink if n in shown]
    left = width - fixed - sum(min(natural[n], SHRUNK_WIDTH) for n in flexible)
    widths = {}
    for name in flexible:
        least = min(natural[name], SHRUNK_WIDTH)
        extra = max(min(natural[name] - least, left), 0)
        widths[name] = least + extra
        left -= extra
    return widths


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
