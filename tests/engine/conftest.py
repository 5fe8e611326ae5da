"""The ``engine`` fixture: one test body over DuckDB, PostgreSQL and Spark (ibis' ``backend``).

Each parameter is session-scoped and shared (a Spark session takes seconds; PostgreSQL gets
one fresh database per session). PostgreSQL and Spark follow ``pg_server`` and
``require_spark``: a failure under ``CI=true``, a visible skip elsewhere. Declare a gap with
``@pytest.mark.notimpl(["spark"], reason=…)``: a strict expected failure on that engine, so
a gap that closes fails until its marker goes.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlglot import exp
from tests.factories import fresh_database
from tests.spark_support import require_spark

from tagwise.engine.base import Engine

ENGINE_NAMES = ("duckdb", "postgres", "spark")

_TYPES = {
    "DOUBLE": {"duckdb": "DOUBLE", "postgres": "DOUBLE PRECISION", "spark": "DOUBLE"},
    "BIGINT": {"duckdb": "BIGINT", "postgres": "BIGINT", "spark": "BIGINT"},
    "VARCHAR": {"duckdb": "VARCHAR", "postgres": "TEXT", "spark": "STRING"},
}


@dataclass
class EngineUnderTest:
    """An engine and how to put a small table into it."""

    name: str
    engine: Engine
    handle: Any
    """The warehouse (duckdb), the connection (postgres) or the session (spark)."""

    def table(self, columns: dict[str, str], rows: Sequence[dict[str, Any]]) -> exp.Table:
        """A new table ``(cid INTEGER, <columns>)`` holding ``rows``; its relation."""
        name = f"t_{uuid.uuid4().hex[:10]}"
        names = ["cid", *columns]
        values = [[r.get(n) for n in names] for r in rows]
        if self.name == "spark":
            schema = ", ".join(
                ["cid INT", *(f"`{c}` {_TYPES[t]['spark']}" for c, t in columns.items())]
            )
            self.handle.createDataFrame(values, schema).createOrReplaceTempView(name)
            return exp.table_(name)
        defs = ", ".join(
            ["cid INTEGER", *(f'"{c}" {_TYPES[t][self.name]}' for c, t in columns.items())]
        )
        mark = "?" if self.name == "duckdb" else "%s"
        insert = f"INSERT INTO {name} VALUES ({', '.join(mark for _ in names)})"
        if self.name == "duckdb":
            self.handle.execute(f"CREATE TABLE {name} ({defs})")
            if values:
                self.handle.con.executemany(insert, values)
        else:
            self.handle.execute(f"CREATE TABLE {name} ({defs})")
            with self.handle.cursor() as cur:
                cur.executemany(insert, values)
        return exp.table_(name)

    def rows(self, query: exp.Query) -> list[tuple[Any, ...]]:
        """The rows of a query on the engine."""
        return self.engine.fetch(query)


def _duckdb(tmp: Path) -> Iterator[EngineUnderTest]:
    from tagwise.engine.duckdb import DuckDBEngine  # noqa: PLC0415
    from tagwise.store.warehouse import Warehouse  # noqa: PLC0415

    wh = Warehouse(tmp / "warehouse.duckdb")
    try:
        yield EngineUnderTest("duckdb", DuckDBEngine(wh), wh)
    finally:
        wh.close()


def _postgres(request: pytest.FixtureRequest) -> Iterator[EngineUnderTest]:
    import psycopg  # noqa: PLC0415

    from tagwise.engine.postgres import PostgresEngine  # noqa: PLC0415

    server = request.getfixturevalue("pg_server")
    with fresh_database(server) as url:
        conn = psycopg.connect(url.replace("+psycopg", ""), autocommit=True)
        try:
            yield EngineUnderTest("postgres", PostgresEngine(conn, "public"), conn)
        finally:
            conn.close()


def _spark(tmp: Path) -> Iterator[EngineUnderTest]:
    require_spark()
    from tagwise.engine.spark import SparkEngine  # noqa: PLC0415
    from tagwise.settings import EngineSettings  # noqa: PLC0415

    settings = EngineSettings(spark_master="local[2]", spark_sources=str(tmp))
    engine = SparkEngine.connect(settings, tmp)  # the process's shared session
    yield EngineUnderTest("spark", engine, engine.spark)


@pytest.fixture(scope="session", params=ENGINE_NAMES)
def engine(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[EngineUnderTest]:
    """Each engine in turn (see the module docstring)."""
    name = request.param
    tmp = tmp_path_factory.mktemp(f"engine-{name}")
    if name == "duckdb":
        yield from _duckdb(tmp)
    elif name == "postgres":
        yield from _postgres(request)
    else:
        yield from _spark(tmp)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "notimpl(engines, reason): a declared gap of these engines (strict xfail)"
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """``notimpl(["spark"])`` → a strict xfail on the ``engine[spark]`` parameter."""
    for item in items:
        marker = item.get_closest_marker("notimpl")
        callspec = getattr(item, "callspec", None)
        if marker is None or callspec is None:
            continue
        if callspec.params.get("engine") in marker.args[0]:
            reason = marker.kwargs.get("reason", "declared gap")
            item.add_marker(pytest.mark.xfail(strict=True, reason=f"declared gap: {reason}"))
