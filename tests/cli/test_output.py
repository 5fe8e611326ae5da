"""Tables in a narrow terminal (issue #12): codes, ids and numbers are never cut; long
text shrinks with an ellipsis and less important columns are dropped, as gh does."""

from __future__ import annotations

from pathlib import Path

import pytest
from rich.cells import cell_len
from rich.console import Console

from tagwise.cli import output
from tagwise.cli.app import run


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("narrow") / "shop"
    assert run(["demo", str(root), "--customers", "400", "--json"]) == 0
    return root


@pytest.fixture(params=[80, 60])
def narrow(request, monkeypatch) -> int:
    width = request.param
    monkeypatch.setattr(output, "stdout", Console(highlight=False, soft_wrap=True, width=width))
    return width


def cells(out: str) -> list[list[str]]:
    """The cells of each table row (rich's separators │ and ┃)."""
    return [
        [c.strip() for c in line.replace("┃", "│").split("│")]
        for line in out.splitlines()
        if "│" in line or "┃" in line
    ]


def test_tags_list_keeps_every_code_whole(cli, demo: Path, narrow: int) -> None:
    codes = [t["code"] for t in cli("-w", demo, "tags", "list", "--json").json()["tags"]]
    result = cli("-w", demo, "tags", "list")
    assert result.code == 0
    assert all(cell_len(line) <= narrow for line in result.out.splitlines())
    rows = cells(result.out)
    assert rows[0][0] == "code"
    assert [r[0] for r in rows[1:]] == codes  # whole, in order, one line each
    assert "…" not in "".join(r[0] for r in rows[1:])
    header = rows[0]
    assert "customers" in header and "coverage" in header  # numbers stay
    if narrow == 80:
        assert "last run" not in header  # dropped first


def test_quarantine_keeps_every_file_and_line(cli, demo: Path, narrow: int) -> None:
    listed = cli("-w", demo, "quarantine", "--limit", "30", "--json").json()["rows"]
    result = cli("-w", demo, "quarantine", "--limit", "30")
    assert result.code == 0
    assert all(cell_len(line) <= narrow for line in result.out.splitlines())
    rows = cells(result.out)
    at = rows[0].index("file:line")
    assert [r[at] for r in rows[1:]] == [f"{r['file']}:{r['line']}" for r in listed]
    raw = rows[0].index("raw value") if "raw value" in rows[0] else None
    long_raw = [r for r in listed if r["raw_value"] and cell_len(r["raw_value"]) > 20]
    if raw is not None and long_raw:
        assert any(r[raw].endswith("…") for r in rows[1:])  # long text shrinks instead


def test_wide_consoles_show_everything_uncut(cli, demo: Path, monkeypatch) -> None:
    monkeypatch.setattr(output, "stdout", Console(highlight=False, soft_wrap=True, width=200))
    result = cli("-w", demo, "tags", "list")
    assert "…" not in result.out
    assert cells(result.out)[0][-1] == "last run"
