"""sources.yaml: validation errors point at file, line and column, with hints."""

from __future__ import annotations

from pathlib import Path

import pytest

from tagwise.errors import NotFound, SpecError
from tagwise.spec.sources import ColumnType, SourceFormat, load_sources


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sources.yaml"
    path.write_text(text, encoding="utf-8")
    return path


GOOD = """\
sources:
  customers:
    role: customers
    path: c.csv
    customer_key: id
    primary_key: [id]
    columns:
      id: {type: string, from: 客户编号}
      phone: {type: phone}
  events:
    path: e.parquet
    customer_key: id
    columns:
      id: {}
      at: {type: timestamp}
"""


def test_loads_and_infers_formats(tmp_path: Path) -> None:
    spec = load_sources(write(tmp_path, GOOD))
    assert spec.customers is not None
    assert spec.customers.name == "customers"
    assert spec.sources["customers"].resolved_format is SourceFormat.CSV
    assert spec.sources["events"].resolved_format is SourceFormat.PARQUET
    assert spec.sources["customers"].file_column("id") == "客户编号"
    assert spec.sources["events"].columns["id"].type is ColumnType.STRING
    assert [s.name for s in spec.ordered(["events", "customers"])] == ["customers", "events"]


@pytest.mark.parametrize(
    ("text", "line", "fragment", "hint"),
    [
        (
            "sources:\n  a:\n    path: a.csv\n    colums: {}\n",
            4,
            "unknown field `sources.a.colums`",
            "did you mean `columns`?",
        ),
        (
            "sources:\n  a:\n    path: a.csv\n    columns:\n      x: {type: datetime}\n",
            5,
            "`sources.a.columns.x.type`",
            None,
        ),
        (
            "sources:\n  a:\n    path: a.csv\n    columns:\n      x: {tpye: string}\n",
            5,
            "unknown field `sources.a.columns.x.tpye`",
            "did you mean `type`?",
        ),
        (
            "sources:\n  a:\n    path: a.csv\n    columns:\n      x: {}\n    primary_key: [y]\n",
            2,
            "key column `y` is not declared",
            None,
        ),
        ("sources:\n  Orders:\n    path: a.csv\n    columns: {}\n", 2, "snake_case", None),
        ("sources:\n  a:\n    columns: {x: {}}\n", 2, "needs path", None),
        ("sources:\n  a: [1, 2\n", 3, "invalid YAML", None),
    ],
)
def test_errors_are_located(tmp_path: Path, text, line, fragment, hint) -> None:
    with pytest.raises(SpecError) as info:
        load_sources(write(tmp_path, text))
    err = info.value
    assert err.location is not None
    assert err.location.line == line
    assert fragment in err.message
    assert err.hint == hint


def test_two_customer_masters_are_refused(tmp_path: Path) -> None:
    text = GOOD.replace(
        "  events:\n    path: e.parquet",
        "  events:\n    role: customers\n    primary_key: [id]\n    path: e.parquet",
    )
    with pytest.raises(SpecError, match="only one source may have role customers") as info:
        load_sources(write(tmp_path, text))
    assert info.value.location.line == 11


def test_unknown_source_name_lists_the_declared_ones(tmp_path: Path) -> None:
    spec = load_sources(write(tmp_path, GOOD))
    with pytest.raises(NotFound, match="source `evnts` is not declared") as info:
        spec.ordered(["evnts"])
    assert "events" in (info.value.hint or "")
