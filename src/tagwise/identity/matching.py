"""Probabilistic record matching on name, birthday, city and address (splink on DuckDB).

Identity resolution merges customer records that share a strong identifier (phone, email,
WeChat unionid …). For the records left over, :func:`match_pairs` scores candidate pairs
with a Fellegi–Sunter model run by splink and writes every pair whose match probability
reaches ``settings.lower`` to a warehouse table; the caller merges the pairs at or above
``settings.upper`` and sends the ones in between to human review.

The steps, all set-based SQL:

1. **Read** the records query from the warehouse as an Arrow stream into a separate
   in-memory DuckDB connection (same thread count and memory limit), so that splink's
   ``__splink__*`` tables never reach the warehouse file.
2. **Standardize**: names without whitespace (also full-width) and with full-width
   letters made half-width and lower case; cities without whitespace and without a
   trailing 市; addresses with full-width digits and letters made half-width, whitespace
   removed, and the leading administrative prefix (own city, province, city, district)
   cut off, so ``北京市朝阳区建国路８８号 3单元502室`` and ``建国路88号3单元502室`` agree.
3. **Block**: only pairs that agree on every column of at least one blocking rule are
   compared. Each rule becomes one hashed key column; a key shared by more than
   ``max_block_size`` records (a placeholder such as 1900-01-01 or 不详) is dropped.
4. **Parameters**, without random sampling or EM, so that the same input gives the same
   pairs: the m probabilities are fixed (:data:`COMPARISONS`); the u of an exact level is
   the term frequency of the shared value among the other records (王伟 counts for less
   than a rare name); the other u probabilities are counted on a fixed pseudo-random
   pairing of the records (a multiplicative hash of ``rid``); the prior comes from the
   number of pairs that agree exactly on name, birthday and address (:data:`ASSUMED_RECALL`).
   All counts are integers, so the order in which threads add them up cannot matter.
5. **Predict** with splink, keep the pairs ``>= lower`` and write them back through Arrow.

The model knows that the parts of an address are not independent: the same street
address in two cities is no agreement, and an agreeing city adds nothing to an agreeing
address. Twins (same birthday and address, given names one character apart) look like a
typo and are merged; nothing in these four fields tells them apart.
"""

from __future__ import annotations

import math
import re
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import duckdb
from sqlglot import exp

from tagwise.errors import EngineError, SourceError, TagwiseError, did_you_mean
from tagwise.settings import MatchingSettings
from tagwise.store.sql import ident, lit

if TYPE_CHECKING:
    from tagwise.store.warehouse import Warehouse

__all__ = ["COMPARISONS", "Level", "MatchReport", "SparkMatching", "match_pairs"]

INPUT_COLUMNS = ("rid", "name", "birthday", "city", "address")
"""Columns the records query returns; all but ``rid`` may be NULL."""
_STANDARD_COLUMNS = ("unique_id", "name", "birthday", "city", "address")

ASSUMED_RECALL = 0.7
"""Share of the true pairs assumed to agree exactly on name, birthday and address; the
prior (probability that two random records match) is the number of such pairs divided by
this share and by the number of all pairs. A higher share gives a smaller, more cautious
prior."""

U_SAMPLE_PAIRS = 200_000
"""Pairs of the fixed pseudo-random pairing that measures the u of non-exact levels."""

_WHITESPACE = r"[\t\n\f\r \p{Z}]+"
"""Whitespace: RE2's ``\\s`` and every Unicode separator (written out: Java's ``\\s`` would
also take the vertical tab)."""
# a leading province, city and district (浦东新区, 朝阳区, 某某县), but not the 小区 or
# 开发区 that may start an address: the character before 区 must not be one of those
_ADMIN_PREFIX = (
    r"^(?:\p{Han}{2,6}?省)?(?:\p{Han}{2,6}?市)?"
    r"(?:\p{Han}{0,5}?[^小社园校景发业范验税贸矿厂营\P{Han}](?:新区|区|县))?"
)
_FULL_WIDTH_CLASS = "[０-９Ａ-Ｚａ-ｚ]"
_FULL_WIDTH = "".join(chr(c) for c in (*range(0xFF10, 0xFF1A), *range(0xFF21, 0xFF3B)))
_FULL_WIDTH += "".join(chr(c) for c in range(0xFF41, 0xFF5B))
_HALF_WIDTH = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
# the record's own city is cut from the front of its address, unless it names a road
# (中山路 in 中山, 北京路 in 北京)
_ROAD_START = "^(路|街|大街|大道|道|巷|里|弄|胡同)"


@dataclass(frozen=True, slots=True)
class Level:
    """One comparison level: its condition over ``<column>_l`` / ``<column>_r`` and its m."""

    label: str
    """Shown in splink's charts and in reviews."""
    sql: str
    """Condition in DuckDB SQL over the standardized columns; ``ELSE`` for the last level."""
    m: float
    """Probability that a true pair lands in this level (fixed, not trained)."""
    is_exact: bool = False
    """Exact agreement: the u of the pair is the term frequency of the shared value."""
    is_neutral: bool = False
    """Evidence already counted by another comparison: weight 0 (m is set equal to u)."""


def _same(*parts: str) -> str:
    return " AND ".join(f"{part}(birthday_l) = {part}(birthday_r)" for part in parts)


# the levels name the standardized columns with splink's _l / _r suffixes
_BIRTHDAY_ONE_FIELD = (
    f"({_same('year', 'month')}) OR ({_same('year', 'day')}) OR ({_same('month', 'day')})"
    f" OR ({_same('year')} AND month(birthday_l) = day(birthday_r)"
    " AND day(birthday_l) = month(birthday_r))"
)
_CITY_COMPATIBLE = "(city_l = city_r OR city_l IS NULL OR city_r IS NULL)"
_ADDRESS_CLOSE = (
    "levenshtein(address_l, address_r) <= 2 AND least(length(address_l), length(address_r)) >= 6"
)

COMPARISONS: dict[str, tuple[Level, ...]] = {
    "name": (
        Level("exact", "name_l = name_r", 0.92, is_exact=True),
        Level("one character differs", "damerau_levenshtein(name_l, name_r) <= 1", 0.075),
        Level("different", "ELSE", 0.005),
    ),
    "birthday": (
        Level("exact", "birthday_l = birthday_r", 0.95, is_exact=True),
        Level("one field differs, or day and month swapped", _BIRTHDAY_ONE_FIELD, 0.04),
        Level("different", "ELSE", 0.01),
    ),
    "address": (
        Level(
            "exact (without the administrative prefix), same city",
            f"address_l = address_r AND {_CITY_COMPATIBLE}",
            0.84,
            is_exact=True,
        ),
        Level(
            "up to two characters differ (Levenshtein), same city",
            f"{_ADDRESS_CLOSE} AND {_CITY_COMPATIBLE}",
            0.05,
        ),
        Level("different", "ELSE", 0.11),
    ),
    "city": (
        Level(
            "exact, and the address agrees (counted there)",
            f"city_l = city_r AND (address_l = address_r OR ({_ADDRESS_CLOSE}))",
            0.0,
            is_neutral=True,
        ),
        Level("exact", "city_l = city_r", 0.9, is_exact=True),
        Level("different", "ELSE", 0.1),
    ),
}
"""The comparison of each standardized column, most specific level first (a NULL on
either side is a neutral level before these). The m values are the shares of true pairs
in each level for typical channel data: a one-character typo in a few percent of names,
a birthday off by one field in a few percent, people who moved. The same street address
in two cities is no agreement, and a city adds nothing to an agreeing address (the two
are not independent: all records at one address share the city)."""

_TF_COLUMNS = tuple(c for c, levels in COMPARISONS.items() if any(lv.is_exact for lv in levels))


@dataclass(frozen=True, slots=True)
class MatchReport:
    """What one :func:`match_pairs` call did."""

    records: int
    """Records read from the query."""
    candidates: int
    """Pairs compared: those agreeing on at least one blocking rule."""
    pairs: int
    """Pairs written to the target table (probability >= lower)."""
    merges: int
    """Pairs at or above upper (the rest of ``pairs`` is for review)."""
    skipped_blocks: int
    """Blocking keys dropped because more than ``max_block_size`` records share them."""
    seconds: float
    """Wall time of the call."""
    engine: str = "duckdb"
    """Where splink ran: duckdb or spark."""


@dataclass(frozen=True, slots=True)
class SparkMatching:
    """Run the matching on Spark instead of an in-memory DuckDB."""

    session: Any
    """The SparkSession (with splink's similarity jar loaded, see
    :func:`tagwise.engine.spark.spark_session`)."""
    work: Path
    """Folder (or URI) for the records, intermediate tables and pairs, as Parquet."""


def match_pairs(
    wh: Warehouse,
    records: str,
    *,
    settings: MatchingSettings,
    target: str,
    spark: SparkMatching | None = None,
) -> MatchReport:
    """Score candidate pairs of customer records and write those ``>= settings.lower``.

    Args:
        wh: The warehouse to read ``records`` from and write ``target`` to.
        records: A query over the warehouse returning ``rid`` (a unique integer), ``name``,
            ``birthday`` (DATE), ``city`` and ``address``; all but ``rid`` may be NULL.
        settings: Thresholds and blocking rules; when ``enabled`` is false, ``target`` is
            created empty.
        target: Table (``name`` or ``schema.name``) created or replaced with
            ``(rid_l INTEGER, rid_r INTEGER, probability DOUBLE, weight DOUBLE)``,
            ``rid_l < rid_r``, one row per pair whose probability is at least
            ``settings.lower``; ``weight`` is the match weight (log2 Bayes factor).
        spark: Run splink on this Spark session: the records go to Spark as Parquet, the
            pairs come back the same way. The same input gives the same pairs as on DuckDB.

    Returns:
        Counts and the wall time.

    Raises:
        SourceError: the query fails, lacks a column, has a column of the wrong type or
            repeats a ``rid``; or ``target`` is not a table name.
        EngineError: splink, DuckDB or Spark failed.
    """
    started = time.perf_counter()
    target_sql = _target_name(target)
    select = _input_select(wh, records)
    counts = (0, 0, 0)
    if settings.enabled:
        backend: _Backend = (
            _DuckDB(_scratch(wh))
            if spark is None
            else _Spark(spark.session, spark.work / "matching")
        )
        try:
            backend.load(wh, select, settings)
            counts = _match(backend, settings)
            if counts[1]:
                backend.write(wh, target_sql)
        except duckdb.Error as exc:
            raise _engine_error(exc) from exc
        finally:
            backend.close()
    if not counts[1]:  # matching off, or no pair to compare
        _write_empty(wh, target_sql)
    records_read, candidates, skipped = counts
    pairs, merges = wh.rows(
        f"SELECT count(*), count(*) FILTER (WHERE probability >= {float(settings.upper)!r})"
        f" FROM {target_sql}"
    )[0]
    return MatchReport(
        records=records_read,
        candidates=candidates,
        pairs=int(pairs),
        merges=int(merges),
        skipped_blocks=skipped,
        seconds=time.perf_counter() - started,
        engine="duckdb" if spark is None else "spark",
    )


def _target_name(target: str) -> str:
    parts = target.split(".")
    if not 1 <= len(parts) <= 2 or not all(p.strip() for p in parts):
        raise SourceError(
            f"invalid target table `{target}`",
            hint="give a table name or schema.name, such as stage.match_pairs",
        )
    return ".".join(ident(p) for p in parts)


def _input_select(wh: Warehouse, records: str) -> str:
    """The SELECT of the five input columns, after checking that they exist and their types."""
    try:
        columns = dict(wh.columns(f"({records})"))
    except EngineError as exc:
        raise SourceError(
            f"the records query failed: {exc.message.removeprefix('warehouse query failed: ')}",
            hint="give a SELECT over the warehouse returning rid, name, birthday, city, address",
        ) from exc
    lowered = {c.lower(): c for c in columns}
    for name in INPUT_COLUMNS:
        if name not in lowered:
            raise SourceError(
                f"the records query has no column `{name}`",
                hint=did_you_mean(name, columns)
                or "return rid, name, birthday, city and address (rename with AS)",
            )
    kind = {n: columns[lowered[n]] for n in INPUT_COLUMNS}
    if kind["rid"] not in {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "USMALLINT", "UTINYINT"}:
        raise SourceError(
            f"column `rid` of the records query is {kind['rid']}, not an integer",
            hint="return the record number (INTEGER) as rid",
        )
    if kind["birthday"] not in {"DATE", "TIMESTAMP", "TIMESTAMP WITH TIME ZONE", '"NULL"'}:
        raise SourceError(
            f"column `birthday` of the records query is {kind['birthday']}, not a DATE",
            hint="convert it in the query, e.g. TRY_CAST(birthday AS DATE) AS birthday",
        )
    col = {n: ident(lowered[n]) for n in INPUT_COLUMNS}
    return (
        f"SELECT CAST({col['rid']} AS INTEGER) AS rid, CAST({col['name']} AS VARCHAR) AS name,"
        f" CAST({col['birthday']} AS DATE) AS birthday, CAST({col['city']} AS VARCHAR) AS city,"
        f" CAST({col['address']} AS VARCHAR) AS address FROM ({records}) AS __records"
    )


# --------------------------------------------------------------------------- backends


class _Backend:
    """Where the matching SQL runs, and the few pieces of SQL that differ between engines.

    Everything else (:func:`_standardized`, the sample, the u probabilities, the prior,
    splink's settings) is one text for both, so the same records give the same pairs.
    """

    dialect: ClassVar[str]

    def text(self, value: str) -> str:
        """A string literal."""
        return exp.Literal.string(value).sql(self.dialect)

    def replace(self, value: str, pattern: str, replacement: str) -> str:
        """Every match of ``pattern`` (RE2 syntax, ``\\1`` groups) in ``value`` replaced."""
        raise NotImplementedError

    def matches(self, value: str, pattern: str) -> str:
        """Whether ``pattern`` occurs in ``value``."""
        raise NotImplementedError

    def starts_with(self, value: str, prefix: str) -> str:
        raise NotImplementedError

    def hash(self, columns: Sequence[str]) -> str:
        """A 64-bit hash of the columns, the block key of a rule. Only equality matters; a
        collision (DuckDB's combined hash of several columns gave one in 870,197 distinct
        (birthday, address) keys at 1M records) joins two blocks, which adds comparisons
        but never loses a pair."""
        raise NotImplementedError

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

    def load(self, wh: Warehouse, select: str, settings: MatchingSettings) -> None:
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
        return _engine_error(exc)


class _DuckDB(_Backend):
    """An in-memory DuckDB connection beside the warehouse."""

    dialect: ClassVar[str] = "duckdb"

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con

    def replace(self, value: str, pattern: str, replacement: str) -> str:
        return f"regexp_replace({value}, {self.text(pattern)}, {self.text(replacement)}, 'g')"

    def matches(self, value: str, pattern: str) -> str:
        return f"regexp_matches({value}, {self.text(pattern)})"

    def starts_with(self, value: str, prefix: str) -> str:
        return f"starts_with({value}, {prefix})"

    def hash(self, columns: Sequence[str]) -> str:
        return f"hash({', '.join(columns)})"

    def create(self, name: str, sql: str) -> None:
        self.con.execute(f"CREATE OR REPLACE TABLE {name} AS {sql}")

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        # fetch all: a half-read result blocks splink's con.sql
        return [tuple(row) for row in self.con.execute(sql).fetchall()]

    def null_keys(self, rules: Sequence[int], blocks: int) -> None:
        del blocks
        for rule in rules:
            key = _key(rule)
            self.con.execute(
                f"UPDATE records SET {key} = NULL"
                f" WHERE {key} IN (SELECT key FROM oversized WHERE rule = {int(rule)})"
            )

    def splink_api(self) -> Any:
        from splink import DuckDBAPI  # noqa: PLC0415 (only matching needs splink)

        return DuckDBAPI(connection=self.con)

    def load(self, wh: Warehouse, select: str, settings: MatchingSettings) -> None:
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
                f"the records query failed: {_first_line(exc)}",
                hint="run the query on its own to see which rows fail",
            ) from exc
        self.create("records", _standardized(self, "raw", settings))
        self.con.execute("DROP TABLE raw")

    def write(self, wh: Warehouse, target_sql: str) -> None:
        """From the pairs through Arrow."""
        result = self.con.sql("SELECT * FROM pairs ORDER BY rid_l, rid_r").to_arrow_table()
        name = "__tagwise_match_pairs"
        wh.con.register(name, result)
        try:
            wh.execute(f"CREATE OR REPLACE TABLE {target_sql} AS {_typed_pairs(name)}")
        finally:
            wh.con.unregister(name)

    def close(self) -> None:
        self.con.close()


class _Spark(_Backend):
    """A Spark session; every table is a Parquet dataset under ``work`` with a temp view.

    Java regular expressions: ``\\p{Han}`` is ``\\p{IsHan}`` there and a group in the
    replacement is ``$1``; the patterns are otherwise written in the syntax both share.
    """

    dialect: ClassVar[str] = "spark"

    def __init__(self, session: Any, work: Path) -> None:
        self.spark = session
        self.work = work
        self.folders: dict[str, Path] = {}
        self.generation = 0
        self.before: set[str] | None = None
        """Temporary views before splink started (it leaves its own behind)."""
        _remove(work)
        work.mkdir(parents=True, exist_ok=True)

    def replace(self, value: str, pattern: str, replacement: str) -> str:
        groups = re.sub(r"\\(\d)", r"$\1", replacement)
        return f"regexp_replace({value}, {self.text(_java(pattern))}, {self.text(groups)})"

    def matches(self, value: str, pattern: str) -> str:
        return f"({value} RLIKE {self.text(_java(pattern))})"

    def starts_with(self, value: str, prefix: str) -> str:
        return f"startswith({value}, {prefix})"

    def hash(self, columns: Sequence[str]) -> str:
        return f"xxhash64({', '.join(columns)})"

    def sql(self, text: str) -> Any:
        try:
            return self.spark.sql(text)
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
            f"LEFT JOIN (SELECT key FROM oversized WHERE rule = {r}) o{r} ON r.{_key(r)} = o{r}.key"
            for r in rules
        )
        keys = (
            f"CASE WHEN o{i}.key IS NULL THEN r.{_key(i)} END" if i in rules else f"r.{_key(i)}"
            for i in range(blocks)
        )
        listed = ", ".join(
            [
                *(f"r.{c}" for c in _STANDARD_COLUMNS),
                *(f"{k} AS {_key(i)}" for i, k in enumerate(keys)),
            ]
        )
        self.create("records", f"SELECT {listed} FROM records r {joins}")

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

    def load(self, wh: Warehouse, select: str, settings: MatchingSettings) -> None:
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
        self.create("records", _standardized(self, "raw", settings))

    def write(self, wh: Warehouse, target_sql: str) -> None:
        """From the pairs' Parquet files (no driver collect)."""
        files = lit(str(self.folders["pairs"] / "*.parquet"))
        wh.execute(
            f"CREATE OR REPLACE TABLE {target_sql} AS"
            f" {_typed_pairs(f'read_parquet({files})')} ORDER BY rid_l, rid_r"
        )

    def close(self) -> None:
        """Drop the views made here and by splink, and their files."""
        made = self._temporary_views() - self.before if self.before is not None else set()
        for view in {*self.folders, *made}:
            self.spark.catalog.dropTempView(view)
        _remove(self.work)

    def _temporary_views(self) -> set[str]:
        return {t.name for t in self.spark.catalog.listTables() if t.isTemporary}


def _java(pattern: str) -> str:
    """An RE2 pattern in Java's syntax: the Han script is ``\\p{IsHan}`` there."""
    return re.sub(r"\\([pP])\{Han\}", r"\\\1{IsHan}", pattern)


def _typed_pairs(relation: str) -> str:
    return (
        "SELECT CAST(rid_l AS INTEGER) AS rid_l, CAST(rid_r AS INTEGER) AS rid_r,"
        " CAST(probability AS DOUBLE) AS probability, CAST(weight AS DOUBLE) AS weight"
        f" FROM {relation}"
    )


def _write_empty(wh: Warehouse, target_sql: str) -> None:
    wh.execute(
        f"CREATE OR REPLACE TABLE {target_sql} (rid_l INTEGER, rid_r INTEGER,"
        " probability DOUBLE, weight DOUBLE)"
    )


def _scratch(wh: Warehouse) -> duckdb.DuckDBPyConnection:
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


# --------------------------------------------------------------------------- the matching


def _standardized(db: _Backend, source: str, settings: MatchingSettings) -> str:
    """The SELECT of ``unique_id, name, birthday, city, address, block_0 …`` over ``source``."""
    rest = "substr(address, length(city) + 1)"
    own_city_cut = (
        f"CASE WHEN {db.starts_with('address', 'city')} AND NOT {db.matches(rest, _ROAD_START)}"
        f" THEN {db.replace(rest, '^市', '')} ELSE address END"
    )
    address = f"nullif({db.replace(own_city_cut, _ADMIN_PREFIX, '')}, '')"
    keys = ", ".join(
        f"CASE WHEN {_all_present(rule)} THEN {db.hash(rule)} END AS {_key(i)}"
        for i, rule in enumerate(settings.blocking)
    )
    name = db.replace(_half_width(db, "name"), _WHITESPACE, "")
    city = db.replace(db.replace("city", _WHITESPACE, ""), "(?s)^(.{2,})市$", "\\1")
    clean_address = db.replace(_half_width(db, "address"), _WHITESPACE, "")
    return f"""
        WITH clean AS (
            SELECT rid AS unique_id,
                nullif(lower(translate({name}, '•・', '··')), '') AS name,
                birthday,
                nullif({city}, '') AS city,
                nullif({clean_address}, '') AS address
            FROM {source}
        ), standard AS (
            SELECT unique_id, name, birthday, city, {address} AS address FROM clean
        )
        SELECT *, {keys} FROM standard
    """


def _match(db: _Backend, settings: MatchingSettings) -> tuple[int, int, int]:
    """Block and predict; ``pairs`` holds the kept pairs. Returns (records, compared,
    skipped blocks)."""
    count, distinct, nulls = db.row(
        "SELECT count(*), count(DISTINCT unique_id), count(*) - count(unique_id) FROM records"
    )
    if nulls or distinct != count:
        raise SourceError(
            "the records query returns NULL or repeated values of `rid`",
            hint="rid must identify each record once",
        )
    skipped = _drop_oversized_keys(db, settings)
    if count < 2:
        return int(count), 0, skipped
    candidates = _predict(db, settings, int(count))
    return int(count), candidates, skipped


def _half_width(db: _Backend, column: str) -> str:
    # translate() is slow on long mappings, so only for the few values that need it
    return (
        f"CASE WHEN {db.matches(column, _FULL_WIDTH_CLASS)}"
        f" THEN translate({column}, {db.text(_FULL_WIDTH)}, {db.text(_HALF_WIDTH)})"
        f" ELSE {column} END"
    )


def _drop_oversized_keys(db: _Backend, settings: MatchingSettings) -> int:
    """Set to NULL the block keys shared by more than ``max_block_size`` records; how many."""
    oversized = " UNION ALL ".join(
        f"SELECT {i} AS rule, {_key(i)} AS key FROM records WHERE {_key(i)} IS NOT NULL"
        f" GROUP BY {_key(i)} HAVING count(*) > {settings.max_block_size}"
        for i in range(len(settings.blocking))
    )
    db.create("oversized", oversized)
    found = [int(rule) for (rule,) in db.rows("SELECT DISTINCT rule FROM oversized ORDER BY rule")]
    if found:
        db.null_keys(found, len(settings.blocking))
    return int(db.row("SELECT count(*) FROM oversized")[0])


def _all_present(columns: Sequence[str]) -> str:
    return " AND ".join(f"{c} IS NOT NULL" for c in columns)


def _key(index: int) -> str:
    return f"block_{index}"


def _predict(db: _Backend, settings: MatchingSettings, count: int) -> int:
    """Run splink over ``records`` into ``pairs`` (those ``>= lower``); how many compared."""
    from splink import Linker, block_on  # noqa: PLC0415 (only matching needs it)

    db_api = db.splink_api()  # on Spark it registers the similarity functions the levels use
    sample = _sample_pairs(db, count)
    floors = {column: _term_frequencies(db, column) for column in _TF_COLUMNS}
    spec = {
        "link_type": "dedupe_only",
        "unique_id_column_name": "unique_id",
        "probability_two_random_records_match": _prior(db, count),
        "blocking_rules_to_generate_predictions": [
            block_on(_key(i)) for i in range(len(settings.blocking))
        ],
        "comparisons": [
            _comparison(db, column, levels, sample, floors.get(column))
            for column, levels in COMPARISONS.items()
        ],
        "retain_matching_columns": False,
        "retain_intermediate_calculation_columns": False,
    }
    try:
        linker = Linker(
            db_api.register(db.splink_table("records")),
            spec,
            log_level=None,
            validate_settings=False,
        )
        for column in _TF_COLUMNS:
            lookup = db_api.register(db.splink_table(f"tf_{column}"))
            linker.table_management.register_term_frequency_lookup(lookup, column)
        blocked = linker.inference.compute_blocked_pairs_for_predict()
        candidates = int(db.row(f"SELECT count(*) FROM {blocked.physical_name}")[0])
        scored = linker.inference.predict(
            threshold_match_probability=settings.lower, warning_mode="never"
        )
        db.create(
            "pairs",
            "SELECT unique_id_l AS rid_l, unique_id_r AS rid_r, match_probability AS probability,"
            f" match_weight AS weight FROM {scored.physical_name}",
        )
    except (duckdb.Error, TagwiseError):
        raise
    except Exception as exc:  # splink raises SplinkException, ValueError … with its SQL
        raise db.error(exc) from exc
    return candidates


def _term_frequencies(db: _Backend, column: str) -> float:
    """Create ``tf_<column>(<column>, n, tf_<column>)``: for each value, its count and the
    share of the *other* non-null records that hold it, ``(n - 1) / (N - 1)``. That share
    is the u of a pair agreeing on the value; counting the record itself (splink's
    default) would make a name seen twice look twice as common as it is. Returns
    ``1 / (N - 1)``, the smallest possible u."""
    (nonnull,) = db.row(f"SELECT count({column}) FROM records")
    others = max(int(nonnull) - 1, 1)
    db.create(
        f"tf_{column}",
        f"SELECT {column}, count(*) AS n, CAST(count(*) - 1 AS DOUBLE) / {others} AS tf_{column}"
        f" FROM records WHERE {column} IS NOT NULL GROUP BY {column}",
    )
    return 1.0 / others


def _sample_pairs(db: _Backend, count: int) -> str:
    """Create ``sample``: up to :data:`U_SAMPLE_PAIRS` pairs of records from two disjoint
    pseudo-random subsets, paired in a scrambled order (nearly all are non-matches). A
    fixed multiplicative hash of the record id, no random numbers: the same records give
    the same pairs (``rid`` is a non-negative INTEGER, so the product fits in a BIGINT)."""
    subsets = max(2, math.ceil(count / U_SAMPLE_PAIRS))
    scrambled = "(CAST(unique_id AS BIGINT) * CAST(2654435761 AS BIGINT)) % 4294967291"
    side = (
        "SELECT *, row_number() OVER (ORDER BY h, unique_id) AS pos FROM hashed"
        f" WHERE h % {subsets} = {{}}"
    )
    db.create(
        "sample",
        f"""
        WITH hashed AS (SELECT *, {scrambled} AS h FROM records),
            a AS ({side.format(0)}), b AS ({side.format(1)})
        SELECT {", ".join(f"a.{c} AS {c}_l, b.{c} AS {c}_r" for c in COMPARISONS)}
        FROM a JOIN b USING (pos) WHERE pos <= {U_SAMPLE_PAIRS}
        """,
    )
    return "sample"


def _comparison(
    db: _Backend,
    column: str,
    levels: Sequence[Level],
    sample: str,
    tf_floor: float | None,
) -> dict[str, Any]:
    """Splink's comparison dict for one column: m fixed, u measured, exact levels TF-adjusted."""
    null = {"sql_condition": f"{column}_l IS NULL OR {column}_r IS NULL", "is_null_level": True}
    out: list[dict[str, Any]] = [null]
    for level, u in zip(levels, _u_probabilities(db, column, levels, sample), strict=True):
        item: dict[str, Any] = {
            "sql_condition": level.sql,
            "label_for_charts": level.label,
            "m_probability": u if level.is_neutral else level.m,
            "u_probability": u,
        }
        if level.is_exact:
            item |= {
                "tf_adjustment_column": column,
                "tf_adjustment_weight": 1.0,
                # the base u is this level's own, also where the condition is more than `=`
                "disable_tf_exact_match_detection": True,
                "tf_minimum_u_value": tf_floor,
            }
        out.append(item)
    return {"output_column_name": column, "comparison_levels": out}


def _u_probabilities(
    db: _Backend, column: str, levels: Sequence[Level], sample: str
) -> list[float]:
    """u of each level: an exact level's from the value frequencies (the chance that two
    random non-null values agree), the others' from the sample pairs. Integer counts, so
    the result does not depend on the order in which threads (or executors) add up."""
    agree, total = (
        db.row(f"SELECT coalesce(sum(n * (n - 1)), 0), coalesce(sum(n), 0) FROM tf_{column}")
        if column in _TF_COLUMNS
        else (0, 0)
    )
    cases = " ".join(f"WHEN {lv.sql} THEN {i}" for i, lv in enumerate(levels) if lv.sql != "ELSE")
    rows = db.rows(
        f"SELECT CASE {cases} ELSE {len(levels) - 1} END AS level, count(*) AS n FROM {sample}"
        f" WHERE {column}_l IS NOT NULL AND {column}_r IS NOT NULL"
        f" GROUP BY CASE {cases} ELSE {len(levels) - 1} END"
    )
    counts = {int(level): int(n) for level, n in rows}
    pairs = sum(counts.values())
    floor = 1.0 / (pairs + 1)  # a level never seen in the sample is rarer than one in it
    exact = max(float(agree) / float(total * (total - 1)), 1e-12) if total > 1 else floor
    u = [
        exact if lv.is_exact else max(counts.get(i, 0) / pairs if pairs else 0.0, floor)
        for i, lv in enumerate(levels)
    ]
    u[-1] = max(1.0 - sum(u[:-1]), floor)
    return u


def _prior(db: _Backend, count: int) -> float:
    """Probability that two random records match (see :data:`ASSUMED_RECALL`)."""
    twice = db.row(
        "SELECT coalesce(sum(c * (c - 1)), 0) FROM (SELECT count(*) AS c FROM records"
        " WHERE name IS NOT NULL AND birthday IS NOT NULL AND address IS NOT NULL"
        f" GROUP BY {db.hash(('name', 'birthday', 'address'))}) AS groups"
    )[0]
    exact_pairs = int(twice) // 2
    all_pairs = count * (count - 1) / 2
    return min(max(float(exact_pairs), 1.0) / ASSUMED_RECALL / all_pairs, 0.5)


def _engine_error(exc: BaseException) -> EngineError:
    text = str(exc)
    if "Error was:" in text:  # SplinkException: "Error executing … <SQL> … Error was: …"
        text = text.rsplit("Error was:", 1)[1]
    if "Out of Memory" in text or "OutOfMemory" in text:
        hint = "raise warehouse.memory_limit, or use blocking rules that make fewer pairs"
    else:
        hint = "check the records query and the matching settings; if they are fine, report this"
    return EngineError(f"record matching failed: {_first_line(text)[:500]}", hint=hint)


def _spark_error(exc: BaseException) -> EngineError:
    from tagwise.engine.spark import spark_error  # noqa: PLC0415 (a Spark run only)

    error = spark_error("record matching failed on Spark", exc)
    if error.hint is None:
        error.hint = "check the matching settings and the Spark log under `[engine] spark_work`"
    return error


def _first_line(exc: BaseException | str) -> str:
    lines = [line for line in str(exc).strip().splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists():
        path.unlink()
