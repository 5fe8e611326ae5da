"""docs/language.md's "Semantics by example" is a test: every row of its tables holds.

Each table whose first column is ``expression`` gives an expression and what it evaluates
to. Both back-ends (DuckDB running the SQL of ``to_sql``, and ``to_python``) must give
exactly that value, as of 2024-03-01, for a customer whose every column is null. The case
mapping table adds the values PostgreSQL and Spark give (declared gaps), checked on those
engines. An ``error`` table gives expressions the checker refuses and a fragment of the
message. The expected values are the page's hand-written text, read with a small literal
reader of this file (not the language's parser), so the docs and the code cannot drift.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import psycopg
import pytest
from sqlglot import exp
from tests.lang.test_backends import same
from tests.lang.typed_strategies import DUCKDB_TYPES, SCHEMA
from tests.spark_support import require_spark

from tagwise.errors import ExpressionTypeError
from tagwise.lang.check import TypedExpr, check
from tagwise.lang.parser import parse
from tagwise.lang.to_python import to_python
from tagwise.lang.to_sql import to_sql

DOC = Path(__file__).resolve().parents[2] / "docs" / "language.md"
AS_OF = date(2024, 3, 1)
COLUMNS = [c.name for c in SCHEMA]
NULL_ROW: dict[str, Any] = dict.fromkeys(COLUMNS)


@dataclass(frozen=True)
class Row:
    """One documented example: the expression and its cells by column header."""

    line: int
    expression: str
    cells: dict[str, str]


def documented_rows() -> list[Row]:
    """Every row of the tables of "Semantics by example" whose first header is `expression`."""
    lines = DOC.read_text(encoding="utf-8").splitlines()
    start = lines.index("## Semantics by example")
    found: list[Row] = []
    header: list[str] | None = None
    for number, line in enumerate(lines[start + 1 :], start + 2):
        if line.startswith("## "):
            break
        if not line.startswith("|"):
            header = None
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if header is None:
            header = cells
        elif header[0] == "expression" and not set(cells[0]) <= {"-"}:
            found.append(
                Row(number, _code(cells[0]), dict(zip(header[1:], cells[1:], strict=True)))
            )
    return found


def _code(cell: str) -> str:
    """The first `code span` of a cell (a note may follow it)."""
    found = re.match(r"`([^`]+)`", cell)
    assert found, f"expected a `code` cell, got {cell!r}"
    return found[1]


_DURATION = {"d": timedelta(days=1), "h": timedelta(hours=1), "w": timedelta(weeks=1)}


def value_of(cell: str) -> Any:
    """A documented value: true, false, null, a number, 'text', date '…', timestamp '…', 30d."""
    text = _code(cell)
    if text in {"true", "false", "null"}:
        return {"true": True, "false": False, "null": None}[text]
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    if re.fullmatch(r"-?\d+\.\d+", text):
        return float(text)
    if found := re.fullmatch(r"'((?:[^']|'')*)'", text):
        return found[1].replace("''", "'")
    if found := re.fullmatch(r"(date|timestamp) '([^']+)'", text):
        kind, iso = found.groups()
        return date.fromisoformat(iso) if kind == "date" else datetime.fromisoformat(iso)
    if found := re.fullmatch(r"(-?\d+)([dhw])", text):
        return int(found[1]) * _DURATION[found[2]]
    raise AssertionError(f"cannot read the documented value {cell!r}")


ROWS = documented_rows()
VALUE_ROWS = [r for r in ROWS if "value" in r.cells or "DuckDB, Python" in r.cells]
ERROR_ROWS = [r for r in ROWS if "error" in r.cells]
ENGINE_ROWS = [r for r in ROWS if "PostgreSQL" in r.cells]


def ids(row: Row) -> str:
    return f"line{row.line}:{row.expression}"


def expected(row: Row) -> Any:
    return value_of(row.cells.get("value") or row.cells["DuckDB, Python"])


def typed(text: str) -> TypedExpr:
    return check(parse(text), SCHEMA, source=text)


@pytest.fixture(scope="module")
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect()
    columns = ", ".join(
        f"{exp.to_identifier(n, quoted=True).sql('duckdb')} {DUCKDB_TYPES[n]}" for n in COLUMNS
    )
    connection.execute(f"CREATE TABLE customers ({columns})")
    connection.execute("INSERT INTO customers DEFAULT VALUES")
    yield connection
    connection.close()


def test_the_page_has_examples_of_every_rule() -> None:
    assert len(VALUE_ROWS) >= 90
    assert len(ERROR_ROWS) >= 3
    assert len(ENGINE_ROWS) >= 8
    texts = " ".join(r.expression for r in VALUE_ROWS)
    for construct in (
        "between",
        " in (",
        "coalesce",
        "like",
        "upper",
        "lower",
        " / ",
        "days_since",
    ):
        assert construct in texts, construct


@pytest.mark.parametrize("row", VALUE_ROWS, ids=ids)
def test_both_back_ends_give_the_documented_value(con, row: Row) -> None:
    expr = typed(row.expression)
    want = expected(row)
    sql = to_sql(expr, as_of=AS_OF).sql(dialect="duckdb")
    ((got_sql,),) = con.execute(f"SELECT {sql} FROM customers").fetchall()
    got_python = to_python(expr)(NULL_ROW, AS_OF)
    assert same(got_sql, want), f"DuckDB: {row.expression} gave {got_sql!r}, docs say {want!r}"
    assert same(got_python, want), (
        f"Python: {row.expression} gave {got_python!r}, docs say {want!r}"
    )


@pytest.mark.parametrize("row", ERROR_ROWS, ids=ids)
def test_documented_type_errors(row: Row) -> None:
    with pytest.raises(ExpressionTypeError) as info:
        typed(row.expression)
    assert row.cells["error"] in info.value.message


@pytest.fixture(scope="module")
def pg(pg_server: str) -> Iterator[Any]:
    from tagwise.engine.postgres import PostgresEngine  # noqa: PLC0415

    conn = psycopg.connect(pg_server.replace("+psycopg", ""), autocommit=True)
    (ctype,) = conn.execute("SELECT datctype FROM pg_database WHERE datname = current_database()")
    assert ctype[0] in {"C.UTF-8", "C.utf8"}, "the documented PostgreSQL column is for C.UTF-8"
    try:
        yield PostgresEngine(conn, "public")
    finally:
        conn.close()


@pytest.mark.postgres
@pytest.mark.parametrize("row", ENGINE_ROWS, ids=ids)
def test_postgres_gives_its_documented_value(pg, row: Row) -> None:
    sql = pg.render(to_sql(typed(row.expression), as_of=AS_OF))
    (got,) = pg.conn.execute(f"SELECT {sql}").fetchone()
    assert same(got, value_of(row.cells["PostgreSQL"])), (row.expression, got)


@pytest.fixture(scope="module")
def spark(tmp_path_factory: pytest.TempPathFactory) -> Any:
    require_spark()
    from tagwise.engine.spark import SparkEngine  # noqa: PLC0415
    from tagwise.settings import EngineSettings  # noqa: PLC0415

    work = tmp_path_factory.mktemp("spark-case")
    settings = EngineSettings(spark_master="local[2]", spark_sources=str(work))
    return SparkEngine.connect(settings, work)


@pytest.mark.slow
def test_spark_gives_its_documented_values(spark) -> None:
    """One query for the whole table: a Spark session is slow to ask."""
    selected = [
        f"{spark.render(to_sql(typed(r.expression), as_of=AS_OF))} AS c{i}"
        for i, r in enumerate(ENGINE_ROWS)
    ]
    got = spark.spark.sql("SELECT " + ", ".join(selected)).first()
    wrong = [
        (r.expression, got[f"c{i}"])
        for i, r in enumerate(ENGINE_ROWS)
        if not same(got[f"c{i}"], value_of(r.cells["Spark"]))
    ]
    assert wrong == []
