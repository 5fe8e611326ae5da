"""Where the matching runs: an in-memory DuckDB beside the warehouse, or a Spark session.

A backend loads the records, materializes tables, answers queries, runs splink and
writes the pairs back to the warehouse. The SQL it is given is DuckDB's; the Spark
backend translates every statement with :func:`tagwise.identity.dialect.to_spark`, so
the same records give the same pairs on both.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from tagwise.errors import EngineError, SourceError, TagwiseError
from tagwise.identity.dialect import to_spark
from tagwise.identity.standardize import block_key, standard_columns, standardized
from tagwise.store.sql import lit

if TYPE_CHECKING:
    from tagwise.spec.sources import MatchField
    from tagwise.store.warehouse import Warehouse

__all__ = [
    "Backend",
    "DuckDBBackend",
    "SparkBackend",
    "first_line",
    "matching_error",
    "remove",
    "scratch_connection",
    "typed_pairs",
]


class Backend:
    """Where the matching SQL runs. The SQL (:mod:`~tagwise.identity.standardize`,
    :mod:`~tagwise.identity.statistics`, splink's settings) is one DuckDB text for both,
    so the same records give the same pairs.
    """

    def create(self, name: str, sql: str) -> None:
        """Materialize the query as the table ``name`` (replacing one of that name)."""
        raise NotImplementedError

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        raise NotImplementedError

    def null_keys(self, rules: Sequence[int], blocks: int) -> None:
        """Set to NULL the keys of ``records`` listed in ``oversized`` for these rules
        (of ``blocks`` rules in all)."""
        raise NotImplementedError

    def splink_api(self) -> Any:
        raise NotImplementedError

    def splink_table(self, name: str) -> Any:
        """What splink's ``db_api.register`` takes for the table ``name``."""
        return name

    def row(self, sql: str) -> tuple[Any, ...]:
        return self.rows(sql)[0]

    def load(
        self,
        wh: Warehouse,
        select: str,
        fields: Sequence[MatchField],
        rules: Sequence[Sequence[str]],
    ) -> None:
        """The records of ``select`` (over the warehouse) as ``records``: standardized, with
        one block key per blocking rule."""
        raise NotImplementedError

    def write(self, wh: Warehouse, target_sql: str) -> None:
        """Create or replace the warehouse's ``target_sql`` from ``pairs``, in one statement."""
        raise NotImplementedError

    def close(self) -> None:
        """Drop what this backend made."""
        raise NotImplementedError

    def error(self, exc: BaseException) -> EngineError:
        """The one-line error for a failure of splink or of the engine."""
        return matching_error(exc)


class DuckDBBackend(Backend):
    """An in-memory DuckDB connection beside the warehouse."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con

    def create(self, name: str, sql: str) -> None:
        self.con.execute(f"CREATE OR REPLACE TABLE {name} AS {sql}")

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        # fetch all: a half-read result blocks splink's con.sql
        return [tuple(row) for row in self.con.execute(sql).fetchall()]

    def null_keys(self, rules: Sequence[int], blocks: int) -> None:
        del blocks
        for rule in rules:
            key = block_key(rule)
            self.con.execute(
                f"UPDATE records SET {key} = NULL"  # noqa: S608 (fixed column and table names)
                f" WHERE {key} IN (SELECT key FROM oversized WHERE rule = {int(rule)})"
            )

    def splink_api(self) -> Any:
        from splink import DuckDBAPI  # noqa: PLC0415 (only matching needs splink)

        return DuckDBAPI(connection=self.con)

    def load(
        self,
        wh: Warehouse,
        select: str,
        fields: Sequence[MatchField],
        rules: Sequence[Sequence[str]],
    ) -> None:
        """Stream the records from the warehouse into this connection through Arrow."""
        try:
            wh.con.complete()  # a result left open by an earlier fetchone() would block sql()
            reader = wh.con.sql(select).to_arrow_reader()
            try:
                self.con.register("__reader", reader)
                # materialized first: a scan of the stream is not parallel, a table's is
                self.con.execute("CREATE TABLE raw AS FROM __reader")
                self.con.unregister("__reader")
            finally:
                reader.close()
        except duckdb.Error as exc:
            raise SourceError(
                f"the records query failed: {first_line(exc)}",
                hint="run the query on its own to see which rows fail",
            ) from exc
        self.create("records", standardized("raw", fields, rules))
        self.con.execute("DROP TABLE raw")

    def write(self, wh: Warehouse, target_sql: str) -> None:
        """From the pairs through Arrow."""
        result = self.con.sql("SELECT * FROM pairs ORDER BY rid_l, rid_r").to_arrow_table()
        name = "__tagwise_match_pairs"
        wh.con.register(name, result)
        try:
            wh.execute(f"CREATE OR REPLACE TABLE {target_sql} AS {typed_pairs(name)}")
        finally:
            wh.con.unregister(name)

    def close(self) -> None:
        self.con.close()


class SparkBackend(Backend):
    """A Spark session; every table is a Parquet dataset under ``work`` with a temp view.

    Every statement is DuckDB's text translated by
    :func:`~tagwise.identity.dialect.to_spark` (Java's regular expressions, ``xxhash64``).
    """

    def __init__(self, session: Any, work: Path) -> None:
        self.spark = session
        self.work = work
        self.folders: dict[str, Path] = {}
        self.generation = 0
        self.before: set[str] | None = None
        self.columns: tuple[str, ...] = ()
        """The standardized columns of ``records`` (set by :meth:`load`)."""
        """Temporary views before splink started (it leaves its own behind)."""
        remove(work)
        work.mkdir(parents=True, exist_ok=True)

    def sql(self, text: str) -> Any:
        try:
            return self.spark.sql(to_spark(text))
        except Exception as exc:
            raise _spark_error(exc) from exc

    def create(self, name: str, sql: str) -> None:
        # a new folder each time: the query may read the view being replaced
        self.generation += 1
        folder = self.work / f"{name}_{self.generation}"
        try:
            self.sql(sql).write.mode("overwrite").parquet(str(folder))
            self.spark.read.parquet(str(folder)).createOrReplaceTempView(name)
        except TagwiseError:
            raise
        except Exception as exc:
            raise _spark_error(exc) from exc
        self.folders[name] = folder

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        try:
            return [tuple(row) for row in self.sql(sql).collect()]
        except TagwiseError:
            raise
        except Exception as exc:
            raise _spark_error(exc) from exc

    def null_keys(self, rules: Sequence[int], blocks: int) -> None:
        # no UPDATE on Spark: a new records table with the oversized keys left out
        joins = " ".join(
            f"LEFT JOIN (SELECT key FROM oversized WHERE rule = {r}) o{r}"  # noqa: S608 (fixed column and table names)
            f" ON r.{block_key(r)} = o{r}.key"
            for r in rules
        )
        keys = (
            f"CASE WHEN o{i}.key IS NULL THEN r.{block_key(i)} END"
            if i in rules
            else f"r.{block_key(i)}"
            for i in range(blocks)
        )
        listed = ", ".join(
            [
                *(f"r.{c}" for c in self.columns),
                *(f"{k} AS {block_key(i)}" for i, k in enumerate(keys)),
            ]
        )
        self.create("records", f"SELECT {listed} FROM records r {joins}")  # noqa: S608 (fixed column and table names)

    def splink_api(self) -> Any:
        from splink import SparkAPI  # noqa: PLC0415 (only matching needs splink)

        self.before = self._temporary_views()
        checkpoints = self.work / "checkpoints"
        self.spark.sparkContext.setCheckpointDir(str(checkpoints))
        return SparkAPI(  # type: ignore[no-untyped-call]
            spark_session=self.spark, break_lineage_method="parquet"
        )

    def splink_table(self, name: str) -> Any:
        return self.spark.table(name)

    def error(self, exc: BaseException) -> EngineError:
        return _spark_error(exc)

    def load(
        self,
        wh: Warehouse,
        select: str,
        fields: Sequence[MatchField],
        rules: Sequence[Sequence[str]],
    ) -> None:
        """The records as Parquet from the warehouse, then standardized in Spark."""
        folder = self.work / "input"
        folder.mkdir(parents=True, exist_ok=True)
        try:
            wh.execute(
                f"COPY ({select}) TO {lit(str(folder / 'records.parquet'))} (FORMAT parquet)"
            )
        except EngineError as exc:
            raise SourceError(
                f"the records query failed: {exc.message}",
                hint="run the query on its own to see which rows fail",
            ) from exc
        try:
            self.spark.read.parquet(str(folder)).createOrReplaceTempView("raw")
        except Exception as exc:
            raise _spark_error(exc) from exc
        self.folders["raw"] = folder
        self.columns = standard_columns(fields)
        self.create("records", standardized("raw", fields, rules))

    def write(self, wh: Warehouse, target_sql: str) -> None:
        """From the pairs' Parquet files (no driver collect)."""
        files = lit(str(self.folders["pairs"] / "*.parquet"))
        wh.execute(
            f"CREATE OR REPLACE TABLE {target_sql} AS"
            f" {typed_pairs(f'read_parquet({files})')} ORDER BY rid_l, rid_r"
        )

    def close(self) -> None:
        """Drop the views made here and by splink, and their files."""
        made = self._temporary_views() - self.before if self.before is not None else set()
        for view in {*self.folders, *made}:
            self.spark.catalog.dropTempView(view)
        remove(self.work)

    def _temporary_views(self) -> set[str]:
        return {t.name for t in self.spark.catalog.listTables() if t.isTemporary}


def typed_pairs(relation: str) -> str:
    return (
        "SELECT CAST(rid_l AS INTEGER) AS rid_l, CAST(rid_r AS INTEGER) AS rid_r,"  # noqa: S608 (fixed column and table names)
        " CAST(probability AS DOUBLE) AS probability, CAST(weight AS DOUBLE) AS weight"
        f" FROM {relation}"
    )


def scratch_connection(wh: Warehouse) -> duckdb.DuckDBPyConnection:
    """An in-memory connection with the warehouse's thread count, memory limit and spill folder."""
    ((threads, memory, temp),) = wh.rows(
        "SELECT current_setting('threads'), current_setting('memory_limit'),"
        " current_setting('temp_directory')"
    )
    config: dict[str, Any] = {"threads": int(threads), "memory_limit": str(memory)}
    if temp:
        config["temp_directory"] = str(temp)
    con = duckdb.connect(":memory:", config=config)
    con.execute("SET enable_progress_bar = false")
    return con


def matching_error(exc: BaseException) -> EngineError:
    text = str(exc)
    if "Error was:" in text:  # SplinkException: "Error executing … <SQL> … Error was: …"
        text = text.rsplit("Error was:", 1)[1]
    if "Out of Memory" in text or "OutOfMemory" in text:
        hint = "raise warehouse.memory_limit, or use blocking rules that make fewer pairs"
    else:
        hint = "check the records query and the matching settings; if they are fine, report this"
    return EngineError(f"record matching failed: {first_line(text)[:500]}", hint=hint)


def _spark_error(exc: BaseException) -> EngineError:
    from tagwise.engine.spark import spark_error  # noqa: PLC0415 (a Spark run only)

    error = spark_error("record matching failed on Spark", exc)
    if error.hint is None:
        error.hint = "check the matching settings and the Spark log under `[engine] spark_work`"
    return error


def first_line(exc: BaseException | str) -> str:
    lines = [line for line in str(exc).strip().splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__


def remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists():
        path.unlink()
