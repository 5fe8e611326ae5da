"""Probabilistic record matching on name, birthday, city and address (splink on DuckDB).

Identity resolution merges customer records that share a strong identifier (phone, email,
WeChat unionid …). For the records left over, :func:`match_pairs` scores candidate pairs
with a Fellegi–Sunter model run by splink and writes every pair whose match probability
reaches ``settings.lower`` to a warehouse table; the caller merges the pairs at or above
``settings.upper`` and sends the ones in between to human review.

The SQL is written once, in DuckDB's dialect; on Spark (:class:`SparkMatching`) every
statement is translated by the tree transforms of :mod:`~tagwise.identity.dialect`.
The steps, all set-based SQL:

1. **Read** the records query from the warehouse as an Arrow stream into a separate
   in-memory DuckDB connection (same thread count and memory limit), so that splink's
   ``__splink__*`` tables never reach the warehouse file.
2. **Standardize** (:mod:`~tagwise.identity.standardize`): names, cities and addresses
   made comparable, and one hashed block key per blocking rule.
3. **Block**: only pairs that agree on every column of at least one blocking rule are
   compared; a key shared by more than ``max_block_size`` records (a placeholder such as
   1900-01-01 or 不详) is dropped.
4. **Parameters** (:mod:`~tagwise.identity.statistics`), without random sampling or EM,
   so that the same input gives the same pairs: fixed m, u from term frequencies and a
   fixed pseudo-random pairing, the prior from exact agreements.
5. **Predict** with splink, keep the pairs ``>= lower`` and write them back through Arrow.

The model knows that the parts of an address are not independent: the same street
address in two cities is no agreement, and an agreeing city adds nothing to an agreeing
address. Twins (same birthday and address, given names one character apart) look like a
typo and are merged; nothing in these four fields tells them apart.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from tagwise.errors import EngineError, SourceError, TagwiseError, did_you_mean
from tagwise.identity import statistics
from tagwise.identity.backends import (
    Backend,
    DuckDBBackend,
    SparkBackend,
    matching_error,
    scratch_connection,
)
from tagwise.identity.comparisons import COMPARISONS, TF_COLUMNS, Level
from tagwise.identity.standardize import block_key
from tagwise.settings import MatchingSettings
from tagwise.store.sql import ident

if TYPE_CHECKING:
    from tagwise.store.warehouse import Warehouse

__all__ = ["COMPARISONS", "Level", "MatchReport", "SparkMatching", "match_pairs"]

INPUT_COLUMNS = ("rid", "name", "birthday", "city", "address")
"""Columns the records query returns; all but ``rid`` may be NULL."""


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
        backend: Backend = (
            DuckDBBackend(scratch_connection(wh))
            if spark is None
            else SparkBackend(spark.session, spark.work / "matching")
        )
        try:
            backend.load(wh, select, settings)
            counts = _match(backend, settings)
            if counts[1]:
                backend.write(wh, target_sql)
        except duckdb.Error as exc:
            raise matching_error(exc) from exc
        finally:
            backend.close()
    if not counts[1]:  # matching off, or no pair to compare
        _write_empty(wh, target_sql)
    records_read, candidates, skipped = counts
    pairs, merges = wh.rows(
        f"SELECT count(*), count(*) FILTER (WHERE probability >= {float(settings.upper)!r})"  # noqa: S608 (names quoted by ident(), fixed columns)
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
        f"SELECT CAST({col['rid']} AS INTEGER) AS rid, CAST({col['name']} AS VARCHAR) AS name,"  # noqa: S608 (names quoted by ident(), fixed columns)
        f" CAST({col['birthday']} AS DATE) AS birthday, CAST({col['city']} AS VARCHAR) AS city,"
        f" CAST({col['address']} AS VARCHAR) AS address FROM ({records}) AS __records"
    )


def _write_empty(wh: Warehouse, target_sql: str) -> None:
    wh.execute(
        f"CREATE OR REPLACE TABLE {target_sql} (rid_l INTEGER, rid_r INTEGER,"
        " probability DOUBLE, weight DOUBLE)"
    )


def _match(db: Backend, settings: MatchingSettings) -> tuple[int, int, int]:
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


def _drop_oversized_keys(db: Backend, settings: MatchingSettings) -> int:
    """Set to NULL the block keys shared by more than ``max_block_size`` records; how many."""
    oversized = " UNION ALL ".join(
        f"SELECT {i} AS rule, {block_key(i)} AS key FROM records WHERE {block_key(i)} IS NOT NULL"  # noqa: S608 (names quoted by ident(), fixed columns)
        f" GROUP BY {block_key(i)} HAVING count(*) > {settings.max_block_size}"
        for i in range(len(settings.blocking))
    )
    db.create("oversized", oversized)
    found = [int(rule) for (rule,) in db.rows("SELECT DISTINCT rule FROM oversized ORDER BY rule")]
    if found:
        db.null_keys(found, len(settings.blocking))
    return int(db.row("SELECT count(*) FROM oversized")[0])


def _predict(db: Backend, settings: MatchingSettings, count: int) -> int:
    """Run splink over ``records`` into ``pairs`` (those ``>= lower``); how many compared."""
    from splink import Linker, block_on  # noqa: PLC0415 (only matching needs it)

    db_api = db.splink_api()  # on Spark it registers the similarity functions the levels use
    sample = statistics.sample_pairs(db, count)
    floors = {column: statistics.term_frequencies(db, column) for column in TF_COLUMNS}
    spec = {
        "link_type": "dedupe_only",
        "unique_id_column_name": "unique_id",
        "probability_two_random_records_match": statistics.prior(db, count),
        "blocking_rules_to_generate_predictions": [
            block_on(block_key(i)) for i in range(len(settings.blocking))
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
        for column in TF_COLUMNS:
            lookup = db_api.register(db.splink_table(f"tf_{column}"))
            linker.table_management.register_term_frequency_lookup(lookup, column)
        blocked = linker.inference.compute_blocked_pairs_for_predict()
        candidates = int(db.row(f"SELECT count(*) FROM {blocked.physical_name}")[0])  # noqa: S608 (names quoted by ident(), fixed columns)
        scored = linker.inference.predict(
            threshold_match_probability=settings.lower, warning_mode="never"
        )
        db.create(
            "pairs",
            "SELECT unique_id_l AS rid_l, unique_id_r AS rid_r, match_probability AS probability,"  # noqa: S608 (names quoted by ident(), fixed columns)
            f" match_weight AS weight FROM {scored.physical_name}",
        )
    except (duckdb.Error, TagwiseError):
        raise
    except Exception as exc:  # splink raises SplinkException, ValueError … with its SQL
        raise db.error(exc) from exc
    return candidates


def _comparison(
    db: Backend,
    column: str,
    levels: Sequence[Level],
    sample: str,
    tf_floor: float | None,
) -> dict[str, Any]:
    """Splink's comparison dict for one column: m fixed, u measured, exact levels TF-adjusted."""
    null = {"sql_condition": f"{column}_l IS NULL OR {column}_r IS NULL", "is_null_level": True}
    out: list[dict[str, Any]] = [null]
    for level, u in zip(
        levels, statistics.u_probabilities(db, column, levels, sample), strict=True
    ):
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
