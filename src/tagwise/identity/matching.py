"""Probabilistic record matching on the ``match_on`` fields (splink on DuckDB or Spark).

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
4. **Train** as splink recommends, deterministically so that the same input gives the
   same pairs: u from term frequencies and from random pairs drawn by a fixed hash
   (:mod:`~tagwise.identity.statistics`), m by expectation maximisation on the candidate
   pairs, one session per blocking rule (:mod:`~tagwise.identity.training`), the prior
   from the pairs that agree exactly and the trained m of exact agreement.
5. **Predict** with splink, keep the pairs ``>= lower`` and write them back through Arrow.

The model knows that the parts of an address are not independent: the same street
address in two cities is no agreement, and an agreeing city adds nothing to an agreeing
address. Twins (same birthday and address, given names one character apart) look like a
typo and are merged; nothing in these four fields tells them apart.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import numpy as np

from tagwise.errors import EngineError, SourceError, TagwiseError, did_you_mean
from tagwise.identity import statistics, training
from tagwise.identity.backends import (
    Backend,
    DuckDBBackend,
    SparkBackend,
    matching_error,
    scratch_connection,
)
from tagwise.identity.comparisons import (
    DEFAULT_FIELDS,
    Level,
    comparisons,
    dependencies,
    tf_fields,
)
from tagwise.identity.standardize import block_key, compared_columns, part_column, rule_fields
from tagwise.settings import MatchingSettings
from tagwise.spec.sources import MatchField, MatchKind
from tagwise.store.sql import ident

if TYPE_CHECKING:
    from tagwise.store.warehouse import Warehouse

__all__ = [
    "DEFAULT_FIELDS",
    "Level",
    "MatchReport",
    "ModelLevel",
    "SparkMatching",
    "match_pairs",
    "model_dict",
    "usable_rules",
]


@dataclass(frozen=True, slots=True)
class ModelLevel:
    """One comparison level of the trained model."""

    field: str
    level: str
    """The level's label (``null`` for the neutral level of a missing value)."""
    m: float
    """Share of true pairs in this level (trained)."""
    u: float
    """Share of random pairs in this level (measured)."""
    weight: float
    """log2(m / u): what landing in this level adds to a pair's match weight (before the
    term frequency adjustment of an exact level)."""


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
    """Blocking keys dropped: more records share them than their rule allows
    (``max_block_size``, ``max_single_block_size``), or their rule's largest blocks are
    beyond its budget of ``max_pairs_per_record`` pairs per record."""
    seconds: float
    """Wall time of the call."""
    engine: str = "duckdb"
    """Where splink ran: duckdb or spark."""
    prior: float = 0.0
    """Probability that two random records match (the model's starting odds)."""
    model: tuple[ModelLevel, ...] = ()
    """m and u of every comparison level, as splink scored with them."""
    training: tuple[dict[str, Any], ...] = ()
    """One entry per blocking rule: the pairs it trained on, or why it was skipped."""
    blocking: tuple[tuple[str, ...], ...] = ()
    """The blocking rules used (those whose fields are all compared)."""


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
    fields: Sequence[MatchField] = DEFAULT_FIELDS,
) -> MatchReport:
    """Score candidate pairs of customer records and write those ``>= settings.lower``.

    Args:
        wh: The warehouse to read ``records`` from and write ``target`` to.
        records: A query over the warehouse returning ``rid`` (a unique integer) and one
            column per field, named as the field (``<field>__1``, ``<field>__2`` … for
            a field of several columns); all but ``rid`` may be NULL. A date field is a
            DATE (or text that casts to one), a numeric field a number.
        settings: Thresholds and blocking rules; when ``enabled`` is false, ``target`` is
            created empty.
        target: Table (``name`` or ``schema.name``) created or replaced with
            ``(rid_l INTEGER, rid_r INTEGER, probability DOUBLE, weight DOUBLE)``,
            ``rid_l < rid_r``, one row per pair whose probability is at least
            ``settings.lower``; ``weight`` is the match weight (log2 Bayes factor).
        spark: Run splink on this Spark session: the records go to Spark as Parquet, the
            pairs come back the same way. The same input gives the same pairs as on DuckDB.
        fields: The compared fields and their kinds (default: name, birthday, city and
            address).

    Returns:
        Counts and the wall time.

    Raises:
        SourceError: the query fails, lacks a column, has a column of the wrong type or
            repeats a ``rid``; or ``target`` is not a table name.
        EngineError: splink, DuckDB or Spark failed.
    """
    started = time.perf_counter()
    target_sql = _target_name(target)
    fields = tuple(fields)
    select = _input_select(wh, records, fields)
    rules: tuple[tuple[str, ...], ...] = ()
    counts = (0, 0, 0)
    model = _Model()
    if settings.enabled:
        rules = usable_rules(settings, fields)
        backend: Backend = (
            DuckDBBackend(scratch_connection(wh))
            if spark is None
            else SparkBackend(spark.session, spark.work / "matching")
        )
        try:
            backend.load(wh, select, fields, rules)
            counts = _match(backend, settings, fields, rules, model)
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
        prior=model.prior,
        model=tuple(model.levels),
        training=tuple(model.sessions),
        blocking=rules,
    )


@dataclass(slots=True)
class _Model:
    """The trained parameters, filled in by :func:`_predict`."""

    prior: float = 0.0
    levels: list[ModelLevel] = field(default_factory=list)
    sessions: list[dict[str, Any]] = field(default_factory=list)


def model_dict(report: MatchReport) -> dict[str, Any]:
    """The trained model of a :class:`MatchReport` as JSON-ready data."""
    return {
        "prior": report.prior,
        "blocking": [list(rule) for rule in report.blocking],
        "training": [dict(session) for session in report.training],
        "levels": [
            {
                "field": lv.field,
                "level": lv.level,
                "m": lv.m,
                "u": lv.u,
                "weight": lv.weight if math.isfinite(lv.weight) else None,
            }
            for lv in report.model
        ],
    }


def usable_rules(
    settings: MatchingSettings, fields: Sequence[MatchField]
) -> tuple[tuple[str, ...], ...]:
    """The blocking rules whose fields are all compared (the defaults name name, birthday,
    city and address; a master that compares other fields declares its own rules).

    Raises:
        SourceError: no rule is left.
    """
    names = {f.name for f in fields}
    rules = tuple(rule for rule in settings.blocking if set(rule_fields(rule)) <= names)
    if not rules:
        raise SourceError(
            "no blocking rule of `[identity.matching] blocking` uses only compared fields",
            hint=f"set blocking to rules over the match_on fields: {', '.join(sorted(names))}",
        )
    return rules


def _target_name(target: str) -> str:
    parts = target.split(".")
    if not 1 <= len(parts) <= 2 or not all(p.strip() for p in parts):
        raise SourceError(
            f"invalid target table `{target}`",
            hint="give a table name or schema.name, such as stage.match_pairs",
        )
    return ".".join(ident(p) for p in parts)


_INTEGERS = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "USMALLINT", "UTINYINT"}
_NUMBERS = _INTEGERS | {"UINTEGER", "UBIGINT", "HUGEINT", "FLOAT", "DOUBLE", "DECIMAL"}
_DATES = {"DATE", "TIMESTAMP", "TIMESTAMP WITH TIME ZONE", '"NULL"'}


def _input_select(wh: Warehouse, records: str, fields: Sequence[MatchField]) -> str:
    """The SELECT of ``rid`` and the fields' columns, after checking that they exist and
    their types."""
    try:
        columns = dict(wh.columns(f"({records})"))
    except EngineError as exc:
        raise SourceError(
            f"the records query failed: {exc.message.removeprefix('warehouse query failed: ')}",
            hint="give a SELECT over the warehouse returning rid and the compared fields",
        ) from exc
    lowered = {c.lower(): c for c in columns}
    wanted = [
        ("rid", None),
        *((part_column(f, i), f) for f in fields for i in range(len(f.columns))),
    ]
    for name, _ in wanted:
        if name not in lowered:
            raise SourceError(
                f"the records query has no column `{name}`",
                hint=did_you_mean(name, columns)
                or f"return rid and {', '.join(n for n, _ in wanted[1:])} (rename with AS)",
            )
    kind = {n: columns[lowered[n]].split("(")[0] for n, _ in wanted}
    if kind["rid"] not in _INTEGERS:
        raise SourceError(
            f"column `rid` of the records query is {kind['rid']}, not an integer",
            hint="return the record number (INTEGER) as rid",
        )
    selected = [f"CAST({ident(lowered['rid'])} AS INTEGER) AS rid"]
    for name, f in wanted[1:]:
        if f is None:  # only rid has none
            continue
        column = ident(lowered[name])
        if f.kind is MatchKind.DATE:
            if kind[name] not in _DATES | {"VARCHAR"}:
                raise SourceError(
                    f"column `{name}` of the records query is {kind[name]}, not a DATE",
                    hint=f"convert it in the query, e.g. TRY_CAST({name} AS DATE) AS {name}",
                )
            # text that is no date is a missing value, not a failure
            cast = "TRY_CAST" if kind[name] == "VARCHAR" else "CAST"
            selected.append(f"{cast}({column} AS DATE) AS {ident(name)}")
        elif f.kind is MatchKind.NUMERIC:
            cast = "CAST" if kind[name] in _NUMBERS else "TRY_CAST"
            selected.append(f"{cast}({column} AS DOUBLE) AS {ident(name)}")
        else:
            selected.append(f"CAST({column} AS VARCHAR) AS {ident(name)}")
    return f"SELECT {', '.join(selected)} FROM ({records}) AS __records"  # noqa: S608 (names quoted by ident(), fixed columns)


def _write_empty(wh: Warehouse, target_sql: str) -> None:
    wh.execute(
        f"CREATE OR REPLACE TABLE {target_sql} (rid_l INTEGER, rid_r INTEGER,"
        " probability DOUBLE, weight DOUBLE)"
    )


def _match(
    db: Backend,
    settings: MatchingSettings,
    fields: Sequence[MatchField],
    rules: Sequence[Sequence[str]],
    model: _Model,
) -> tuple[int, int, int]:
    """Block, train and predict; ``pairs`` holds the kept pairs. Returns (records,
    compared, skipped blocks)."""
    count, distinct, nulls = db.row(
        "SELECT count(*), count(DISTINCT unique_id), count(*) - count(unique_id) FROM records"
    )
    if nulls or distinct != count:
        raise SourceError(
            "the records query returns NULL or repeated values of `rid`",
            hint="rid must identify each record once",
        )
    skipped = _drop_oversized_keys(db, settings, rules, int(count))
    if count < 2:
        return int(count), 0, skipped
    candidates = _predict(db, settings, fields=fields, rules=rules, count=int(count), model=model)
    return int(count), candidates, skipped


def _drop_oversized_keys(
    db: Backend, settings: MatchingSettings, rules: Sequence[Sequence[str]], count: int
) -> int:
    """Set to NULL the block keys of a rule shared by more records than it allows
    (``max_block_size``; ``max_single_block_size`` for a rule of one whole field), and
    those of its largest blocks beyond its budget of ``max_pairs_per_record`` pairs per
    record; how many keys. The budget is spent on the smallest blocks first, and blocks of
    one size are kept or dropped together, so the choice depends on counts only (the same
    on every engine)."""
    budget = int(settings.max_pairs_per_record * count)
    oversized = " UNION ALL ".join(
        f"""SELECT {i} AS rule, s.key FROM (
            SELECT {block_key(i)} AS key, count(*) AS c FROM records
            WHERE {block_key(i)} IS NOT NULL GROUP BY {block_key(i)}
        ) AS s JOIN (
            SELECT c, sum(pairs) OVER (ORDER BY c ROWS UNBOUNDED PRECEDING) AS upto
            FROM (SELECT c, sum(c * (c - 1) / 2) AS pairs FROM (
                SELECT count(*) AS c FROM records WHERE {block_key(i)} IS NOT NULL
                GROUP BY {block_key(i)}) AS k GROUP BY c) AS classes
        ) AS w ON w.c = s.c
        WHERE s.c > 1 AND (s.c > {settings.block_limit(tuple(rule))} OR w.upto > {budget})"""  # noqa: S608 (names quoted by ident(), fixed columns)
        for i, rule in enumerate(rules)
    )
    db.create("oversized", oversized)
    found = [int(rule) for (rule,) in db.rows("SELECT DISTINCT rule FROM oversized ORDER BY rule")]
    if found:
        db.null_keys(found, len(rules))
    return int(db.row("SELECT count(*) FROM oversized")[0])


def _predict(
    db: Backend,
    settings: MatchingSettings,
    *,
    fields: Sequence[MatchField],
    rules: Sequence[Sequence[str]],
    count: int,
    model: _Model,
) -> int:
    """Train and run splink over ``records`` into ``pairs`` (those ``>= lower``); how
    many pairs were compared."""
    from splink import Linker, block_on  # noqa: PLC0415 (only matching needs it)

    levels = comparisons(fields)
    tf = tf_fields(levels)
    db_api = db.splink_api()  # on Spark it registers the similarity functions the levels use
    columns = compared_columns(fields)
    sample = statistics.sample_pairs(db, count, columns)
    floors = {
        column: statistics.term_frequencies(db, column, _person_field(fields, column))
        for column in tf
    }
    u = {
        column: statistics.u_probabilities(db, column, lv, sample, tf=column in tf)
        for column, lv in levels.items()
    }
    start = {column: [level.m for level in lv] for column, lv in levels.items()}

    def settings_dict(m: dict[str, list[float]], prior: float) -> dict[str, Any]:
        return {
            "link_type": "dedupe_only",
            "unique_id_column_name": "unique_id",
            "probability_two_random_records_match": prior,
            "blocking_rules_to_generate_predictions": [
                block_on(block_key(i)) for i in range(len(rules))
            ],
            "comparisons": [
                _comparison(column, lv, m[column], u[column], floors.get(column))
                for column, lv in levels.items()
            ],
            "retain_matching_columns": False,
            "retain_intermediate_calculation_columns": False,
        }

    try:
        linker = Linker(
            db_api.register(db.splink_table("records")), settings_dict(start, 1e-6),
            log_level=None, validate_settings=False,
        )  # fmt: skip
        blocked = linker.inference.compute_blocked_pairs_for_predict()
        candidates = int(db.row(f"SELECT count(*) FROM {blocked.physical_name}")[0])  # noqa: S608 (names quoted by ident(), fixed columns)
        patterns = _patterns(
            db,
            blocked=blocked.physical_name,
            levels=levels,
            columns=columns,
            rules=len(rules),
            candidates=candidates,
        )
        trained = training.expectation_maximisation(
            patterns, levels, u, rules, dependencies(fields)
        )
        m = trained.m
        exact = {
            column: m[column][next(i for i, lv in enumerate(lv) if lv.is_exact)]
            for column, lv in levels.items()
            if column in tf and not any(level.is_neutral for level in lv)
        }
        prior = statistics.prior(db, count, exact)
        model.prior = prior
        model.sessions = list(trained.sessions)
        model.levels = [
            ModelLevel(column, level.label, m_value, u_value, _log2(m_value / u_value))
            for column, lv in levels.items()
            for level, m_value, u_value in zip(lv, m[column], u[column], strict=True)
        ]
        linker = Linker(
            db_api.register(db.splink_table("records")), settings_dict(m, prior),
            log_level=None, validate_settings=False,
        )  # fmt: skip
        for column in tf:
            lookup = db_api.register(db.splink_table(f"tf_{column}"))
            linker.table_management.register_term_frequency_lookup(lookup, column)
        linker.table_management.register_blocked_pairs_for_predict(blocked)
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


def _person_field(fields: Sequence[MatchField], column: str) -> str | None:
    """The field that tells people apart among the records holding one value of
    ``column`` (for its term frequencies): the first name field, or for a name the first
    date field."""
    name = next((f.name for f in fields if f.kind is MatchKind.NAME), None)
    date = next((f.name for f in fields if f.kind is MatchKind.DATE), None)
    chosen = date if column == name else name
    return chosen if chosen != column else None


def _log2(value: float) -> float:
    return math.log2(value) if value > 0 else float("-inf")


def _patterns(
    db: Backend,
    *,
    blocked: str,
    levels: dict[str, tuple[Level, ...]],
    columns: Sequence[str],
    rules: int,
    candidates: int,
) -> training.Patterns:
    """The candidate pairs counted by comparison vector and the rules they agree on; of
    more than :data:`~tagwise.identity.training.MAX_PAIRS` candidates, a fixed
    pseudo-random share of about that many (integer arithmetic on the record numbers, the
    same on every engine)."""
    every = max(1, -(-candidates // training.MAX_PAIRS))
    sample = (
        ""
        if every == 1
        else " WHERE ((CAST(b.join_key_l AS BIGINT) * 2654435761 + CAST(b.join_key_r AS BIGINT)"
        f" * 40503) % 4294967291) % {every} = 0"
    )
    sides = ", ".join(
        [
            *(f"l.{c} AS {c}_l, r.{c} AS {c}_r" for c in columns),
            *(f"l.{block_key(i)} AS k{i}_l, r.{block_key(i)} AS k{i}_r" for i in range(rules)),
        ]
    )
    gammas = [f"{training.gamma_sql(c, lv)} AS g{j}" for j, (c, lv) in enumerate(levels.items())]
    flags = [f"CASE WHEN k{i}_l = k{i}_r THEN 1 ELSE 0 END AS b{i}" for i in range(rules)]
    names = [f"g{j}" for j in range(len(levels))] + [f"b{i}" for i in range(rules)]
    rows = db.rows(
        f"SELECT {', '.join(names)}, count(*) AS n FROM (SELECT {', '.join(gammas + flags)}"  # noqa: S608 (names quoted by ident(), fixed columns)
        f" FROM (SELECT {sides} FROM {blocked} b JOIN records l ON l.unique_id = b.join_key_l"
        f" JOIN records r ON r.unique_id = b.join_key_r{sample}) AS pairs) AS vectors"
        f" GROUP BY {', '.join(names)} ORDER BY {', '.join(names)}"
    )
    width = len(levels)
    table = np.array([[int(v) for v in row] for row in rows], dtype=np.int64).reshape(
        len(rows), width + rules + 1
    )
    return training.Patterns(
        gamma=table[:, :width], rules=table[:, width : width + rules].astype(bool),
        count=table[:, -1],
    )  # fmt: skip


def _comparison(
    column: str,
    levels: Sequence[Level],
    m: Sequence[float],
    u: Sequence[float],
    tf_floor: float | None,
) -> dict[str, Any]:
    """Splink's comparison dict for one column: m trained, u measured, exact levels
    TF-adjusted."""
    null = {"sql_condition": f"{column}_l IS NULL OR {column}_r IS NULL", "is_null_level": True}
    out: list[dict[str, Any]] = [null]
    for level, m_value, u_value in zip(levels, m, u, strict=True):
        item: dict[str, Any] = {
            "sql_condition": level.sql,
            "label_for_charts": level.label,
            "m_probability": u_value if level.is_neutral else m_value,
            "u_probability": u_value,
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
