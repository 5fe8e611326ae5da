"""A bad optional value does not lose the customer (#13): ``on_invalid: null`` (the
default of an optional column) keeps the row with the value null and records a warning
with its raw value; ``reject`` and required columns still reject the row."""

from __future__ import annotations

from pathlib import Path

import pytest

import tagwise

SOURCES = """\
sources:
  customers:
    role: customers
    path: customers.csv
    customer_key: customer_id
    primary_key: [customer_id]
    columns:
      customer_id: {type: string, required: true}
      name: {type: string}
      birthday: {type: date}
      phone: {type: phone, on_invalid: reject}
      points: {type: integer, on_invalid: null}
      registered_at: {type: timestamp, required: true}
    match_on: {name: name, birthday: birthday}
"""
CSV = """\
customer_id,name,birthday,phone,points,registered_at
C1,张伟,1990-01-05,13800138000,10,2024-01-01
C2,李娜,2023-02-29,13800138001,很多,2024-01-02
C3,王强,不详,12345,5,2024-01-03
C4,赵敏,1991-03-04,13800138003,7,昨天
C5,周杰,1992-05-06,13800138004,,2024-01-05
"""
"""C2: impossible birthday and points that are no number (kept, two warnings); C3: a bad
birthday (a warning) and a bad phone (reject: the row is rejected, so no warning); C4: a
required timestamp that does not parse (rejected)."""


@pytest.fixture
def ws(tmp_path: Path):
    workspace = tagwise.init(tmp_path / "ws")
    (workspace.root / "sources.yaml").write_text(SOURCES, encoding="utf-8")
    data = workspace.root / "data"
    data.mkdir(exist_ok=True)
    (data / "customers.csv").write_text(CSV, encoding="utf-8")
    yield workspace
    workspace.close()


def test_a_bad_optional_value_keeps_the_row_and_records_a_warning(ws) -> None:
    report = ws.ingest()
    source = report.sources[0]
    assert (source.read, source.loaded, source.rejected) == (5, 3, 2)
    assert source.warnings == {
        "birthday: kept as null: not a valid date": 1,
        "points: kept as null: not an integer": 1,
    }
    rows = dict(ws.warehouse.rows("SELECT customer_id, birthday IS NULL FROM ident.records"))
    assert rows == {"C1": False, "C2": True, "C5": False}
    quarantine = {(r.line, r.column, r.raw_value, r.reason) for r in ws.quarantine(limit=100).rows}
    assert quarantine == {
        (3, "birthday", "2023-02-29", "kept as null: not a valid date"),
        (3, "points", "很多", "kept as null: not an integer"),
        (4, "phone", "12345", "not a valid phone number"),
        (5, "registered_at", "昨天", "not a valid date and time"),
    }
    # the kept customer is a customer: it has a cid and a golden record
    golden = ws.warehouse.scalar("SELECT count(*) FROM src.customers WHERE customer_id = 'C2'")
    assert golden == 1


def test_quality_counts_rejections_and_warnings_apart(ws, cli) -> None:
    ws.ingest()
    result = cli("-w", ws.root, "quality", "customers", "--json")
    assert result.code == 0, result.err
    source = result.json()["sources"][0]
    assert (source["read"], source["loaded"], source["rejected"]) == (5, 3, 2)
    assert source["warnings"] == 2
    assert source["warning_reasons"] == {
        "birthday: kept as null: not a valid date": 1,
        "points: kept as null: not an integer": 1,
    }
    assert "birthday: kept as null: not a valid date" not in source["reasons"]
    columns = {c["column"]: c for c in source["columns"]}
    assert columns["birthday"]["nulled"] == 1 and columns["birthday"]["rejected"] == 0
    assert columns["birthday"]["validity"] == pytest.approx(4 / 5)
    assert columns["phone"]["rejected"] == 1 and columns["phone"]["nulled"] == 0
    text = cli("-w", ws.root, "quality", "customers")
    assert "2 values loaded as null" in text.out


def test_explicit_reject_and_required_columns_still_reject(ws) -> None:
    strict = SOURCES.replace("birthday: {type: date}", "birthday: {type: date, on_invalid: reject}")
    (ws.root / "sources.yaml").write_text(strict, encoding="utf-8")
    source = ws.ingest().sources[0]
    assert (source.loaded, source.rejected) == (2, 3)
    assert source.warnings == {}  # C2's points warning goes with its rejected row
    assert source.reasons["birthday: not a valid date"] == 2


def test_a_date_field_declared_as_text_is_a_lint_error_not_an_ingest_failure(ws, cli) -> None:
    text = SOURCES.replace("birthday: {type: date}", "birthday: {type: string}")
    (ws.root / "sources.yaml").write_text(text, encoding="utf-8")
    lint = cli("-w", ws.root, "lint", "--json")
    assert lint.code != 0
    problems = lint.json()["problems"]
    assert any(
        "match_on field `birthday` compares dates" in p["message"] and p.get("line")
        for p in problems
    ), problems
    report = ws.ingest()  # the ingest (and the resolution after it) works
    assert not report.errors and report.identity is not None
    assert report.sources[0].loaded == 3


def test_a_value_outside_the_range_of_an_optional_column_is_kept_as_null(tmp_path: Path) -> None:
    """min / max / values of an optional column follow on_invalid too: the row loads, the
    value is null, the warning names the rule it broke; on_invalid: reject still rejects."""
    ws = tagwise.init(tmp_path / "ws")
    (ws.root / "sources.yaml").write_text(
        "sources:\n  surveys:\n    path: s.csv\n    columns:\n"
        "      key: {type: string, required: true}\n"
        "      nps: {type: integer, min: 0, max: 10}\n"
        "      level: {type: string, values: [高, 中, 低]}\n"
        "      score: {type: integer, min: 1, on_invalid: reject}\n",
        encoding="utf-8",
    )
    (ws.data_dir / "s.csv").write_text(
        "key,nps,level,score\nS1,7,高,3\nS2,11,中,3\nS3,x,极高,3\nS4,5,低,0\nS5,,,\n",
        encoding="utf-8",
    )
    source = ws.ingest().sources[0]
    assert (source.read, source.loaded, source.rejected) == (5, 4, 1)
    loaded = ws.warehouse.rows("SELECT key, nps, level FROM src.surveys ORDER BY key")
    assert loaded == [("S1", 7, "高"), ("S2", None, "中"), ("S3", None, None), ("S5", None, None)]
    quarantine = {(r.line, r.column, r.raw_value, r.reason) for r in ws.quarantine(limit=100).rows}
    assert quarantine == {
        (3, "nps", "11", "kept as null: above the maximum 10"),
        (4, "nps", "x", "kept as null: not an integer"),
        (4, "level", "极高", "kept as null: not an allowed value"),
        (5, "score", "0", "below the minimum 1"),
    }
    ws.close()
