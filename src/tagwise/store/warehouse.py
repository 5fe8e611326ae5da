"""The DuckDB warehouse: connection, layout and transactions.

Layout (DuckDB schemas):

* ``src``   one table per source, the rows that passed validation (plus ``_file``/``_line``
            lineage and, for sources tied to customers, the ``cid``); for the customer
            master, the golden record (one row per customer)
* ``ident`` identity resolution: the master's records, identifiers, matches, decisions,
            merge history (:mod:`tagwise.identity.resolve`)
* ``meta``  ``customer_keys`` (record key → record number ``rid``, assigned once and never
            reused, and the record's customer ``cid``) and ``quarantine``
* ``stage`` scratch tables of an operation in progress; safe to drop at any time

Profile snapshots of runs are Parquet files in ``snapshots/`` beside the database file
(:meth:`Warehouse.snapshot_path`): written once per run, read back one customer at a time.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from tagwise.errors import Conflict, EngineError
from tagwise.settings import WarehouseSettings

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["Warehouse"]

_SCHEMA = """
CREATE SCHEMA IF NOT EXISTS src;
CREATE SCHEMA IF NOT EXISTS meta;
CREATE SCHEMA IF NOT EXISTS stage;
CREATE TABLE IF NOT EXISTS meta.customer_keys (
    customer_id VARCHAR PRIMARY KEY,
    cid INTEGER NOT NULL,
    first_seen TIMESTAMP NOT NULL,
    rid INTEGER NOT NULL UNIQUE
);
CREATE TABLE IF NOT EXISTS meta.quarantine (
    ingest_id BIGINT NOT NULL,
    source VARCHAR NOT NULL,
    file VARCHAR,
    line BIGINT,
    "column" VARCHAR,
    raw_value VARCHAR,
    reason VARCHAR NOT NULL,
    problems VARCHAR,
    record VARCHAR,
    quarantined_at TIMESTAMP NOT NULL
);
"""

_LOCKED = re.compile(r"(Could not set lock|Conflicting lock)", re.IGNORECASE)


_INTERRUPTED = "Query interrupted"
"""What DuckDB's Python client raises (as a RuntimeError) when SIGINT stops a query."""


class Warehouse:
    """One DuckDB connection to the workspace's warehouse file."""

    def __init__(self, path: Path, settings: WarehouseSettings | None = None) -> None:
        self.path = path
        settings = settings or WarehouseSettings()
        path.parent.mkdir(parents=True, exist_ok=True)
        config: dict[str, Any] = {}
        if settings.threads:
            config["threads"] = settings.threads
        if settings.memory_limit:
            config["memory_limit"] = settings.memory_limit
        try:
            self.con = duckdb.connect(str(path), config=config)
        except duckdb.IOException as exc:
            if _LOCKED.search(str(exc)):
                raise Conflict(
                    "the workspace warehouse is open in another process",
                    hint="wait for the other tagwise command (or the program holding "
                    "the warehouse file) to finish, then try again",
                ) from exc
            raise EngineError(f"cannot open warehouse `{path}`: {exc}") from exc
        except duckdb.Error as exc:
            raise EngineError(f"cannot open warehouse `{path}`: {exc}") from exc
        # DuckDB draws a progress bar on stdout for long queries, which would corrupt --json
        self.execute("SET enable_progress_bar = false")
        self.execute(_SCHEMA)

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> duckdb.DuckDBPyConnection:
        """Run SQL; driver errors become :class:`EngineError`, and a query stopped by
        Ctrl-C (SIGINT) raises :class:`KeyboardInterrupt`, as Python code would."""
        try:
            return self.con.execute(sql, params) if params is not None else self.con.execute(sql)
        except duckdb.InterruptException as exc:
            raise KeyboardInterrupt from exc  # Ctrl-C during a query: stop like Python does
        except duckdb.Error as exc:
            first = str(exc).strip().splitlines()[0]
            raise EngineError(f"warehouse query failed: {first}") from exc
        except RuntimeError as exc:
            if str(exc) == _INTERRUPTED:
                raise KeyboardInterrupt from exc
            raise

    def rows(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
        """Run a query and fetch all rows."""
        return self.execute(sql, params).fetchall()

    def arrow(self, sql: str) -> pa.Table:
        """Run a query and fetch its result as an Arrow table (no copy per row)."""
        try:
            # DuckDB 2.0 refuses new work while a result is pending (a fetchone() leaves
            # its result open); finishing it first is a no-op when there is none
            self.con.complete()
            return self.con.sql(sql).to_arrow_table()
        except duckdb.Error as exc:
            first = str(exc).strip().splitlines()[0]
            raise EngineError(f"warehouse query failed: {first}") from exc

    def insert(
        self, target: str, rows: Sequence[Sequence[Any]], columns: Sequence[tuple[str, str]]
    ) -> None:
        """Insert many rows at once (through Arrow: ``executemany`` costs ~3 ms a row).

        Args:
            target: a quoted table name whose columns are ``columns`` in order.
            rows: the rows, one value per column.
            columns: (name, Arrow type name such as ``int32``, ``int64``, ``string``,
                ``float64``, ``bool``, ``timestamp[us]``) of each column.
        """
        import pyarrow as pa  # noqa: PLC0415 (only writers of many rows need it)

        if not rows:
            return
        arrays = [
            pa.array([r[i] for r in rows], type=pa.type_for_alias(kind))
            for i, (_, kind) in enumerate(columns)
        ]
        batch = pa.Table.from_arrays(arrays, names=[name for name, _ in columns])
        self.con.register("tw_insert_rows", batch)
        try:
            self.execute(f"INSERT INTO {target} SELECT * FROM tw_insert_rows")  # noqa: S608 (target is a quoted name)
        finally:
            self.con.unregister("tw_insert_rows")

    @contextmanager
    def registered(self, name: str, data: pa.Table) -> Iterator[None]:
        """``data`` readable as the relation ``name`` for the duration of the block."""
        self.con.complete()  # see arrow()
        self.con.register(name, data)
        try:
            yield
        finally:
            self.con.unregister(name)

    def dicts(self, sql: str, params: Sequence[Any] | None = None) -> list[dict[str, Any]]:
        """Run a query and fetch all rows as dicts keyed by column name."""
        result = self.execute(sql, params)
        names = [d[0] for d in result.description]
        return [dict(zip(names, row, strict=True)) for row in result.fetchall()]

    def scalar(self, sql: str, params: Sequence[Any] | None = None) -> Any:
        """Run a query returning one value."""
        # fetchall, not fetchone: DuckDB 2.0 keeps a result open until a fetch comes back
        # empty, and an open result makes the next `con.sql` (``arrow``) fail
        rows = self.execute(sql, params).fetchall()
        return rows[0][0] if rows else None

    def has_table(self, schema: str, name: str) -> bool:
        """Whether ``schema.name`` exists."""
        sql = "SELECT count(*) FROM duckdb_tables() WHERE schema_name = ? AND table_name = ?"
        return bool(self.scalar(sql, [schema, name]))

    def snapshot_path(self, run_id: int) -> Path:
        """The Parquet file of a run's profile snapshot (``snapshots/`` beside the file)."""
        return self.path.parent / "snapshots" / f"profile_{int(run_id)}.parquet"

    def columns(self, relation: str) -> list[tuple[str, str]]:
        """(name, type) of each column of a table, view or query text."""
        return [(str(r[0]), str(r[1])) for r in self.rows(f"DESCRIBE {relation}")]

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All or nothing: commit on success, roll back on any exception."""
        self.execute("BEGIN TRANSACTION")
        try:
            yield
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        self.execute("COMMIT")

    def close(self) -> None:
        """Close the connection (checkpointing the file)."""
        self.con.close()
