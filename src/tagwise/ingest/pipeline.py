"""Ingest one source: stage → validate and standardize → keys → swap, atomically.

The staged raw relation is validated in one set-based pass that computes every declared
column's standardized value and the first problem of each row, into a new table next to
the current one. Rows with a problem, rows repeating an earlier primary key and rows of
unknown customers are copied to ``meta.quarantine`` (file, line, column, raw value,
reason) and deleted from the new table; a value that does not parse in an optional
column (``on_invalid: null``, the default there) is loaded as null and its raw value is
recorded in the quarantine as a warning (reason ``kept as null: …``), the row kept. The
new table's bookkeeping columns are then dropped and
which replaces ``src.<source>`` by a rename. Everything after building the new table is
one warehouse transaction, so a crash leaves the previous state intact, and re-ingesting
the same files gives the same tables. (Dropping columns and renaming are metadata
operations in DuckDB; copying the good rows into another table would cost as much as the
validation itself.)
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from tagwise.errors import EngineError, Interrupted, SourceError
from tagwise.identity.layout import mark_dirty, rows_table, touches_identity
from tagwise.ingest.normalize import ColumnPlan, column_plan
from tagwise.ingest.sources import REJECTS_TABLE, Staged, stage_source
from tagwise.spec.sources import SourceSpec
from tagwise.store.catalog import Catalog, IngestRun
from tagwise.store.sql import ident, lit, table
from tagwise.store.warehouse import Warehouse

__all__ = [
    "NEW_PREFIX",
    "REASON_KIND",
    "WARNING",
    "WARNING_FILTER",
    "IngestContext",
    "SourceReport",
    "ingest_source",
    "interrupted",
]

REASON_KIND = "coalesce(\"column\" || ': ', '') || split_part(reason, ' (first at', 1)"
"""SQL of a quarantine row's reason without its detail (``SourceReport.reasons`` counts
them by it; ``tagwise quality`` too)."""

WARNING = "kept as null: "
"""Reason prefix of a quarantine row that records a value kept as null (its row was
loaded); every other quarantine row is a rejected row."""
WARNING_FILTER = f"starts_with(reason, {lit(WARNING)})"
"""SQL: the quarantine row is a warning, not a rejection."""

NEW_PREFIX = "__new__"
"""Name prefix of a source table being built; such a table is scratch, never data."""
_DUPS = "tw_dups"
_UNKNOWN_CUSTOMER = "unknown customer"
_BOOKKEEPING = ("_reason", "_column", "_raw", "_problems", "_record")


@dataclass(slots=True)
class SourceReport:
    """What ingesting one source did; ``loaded + rejected == read`` always."""

    name: str
    files: list[str] = field(default_factory=list)
    read: int = 0
    loaded: int = 0
    rejected: int = 0
    new_customers: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    warnings: dict[str, int] = field(default_factory=dict)
    """Values kept as null (their rows loaded), by column and reason."""
    seconds: float = 0.0


@dataclass(frozen=True, slots=True)
class IngestContext:
    """Everything an ingest needs besides the source itself."""

    root: Path
    data_dir: Path
    country_code: str
    ingest_id: int
    progress: Callable[[str], None] | None = None


def ingest_source(wh: Warehouse, spec: SourceSpec, ctx: IngestContext) -> SourceReport:
    """Load one source; returns its counts.

    Raises:
        SourceError: the source cannot be read at all (nothing is changed).
        EngineError: the warehouse failed (nothing is changed).
    """
    started = time.perf_counter()
    _step(ctx, f"{spec.name}: reading")
    staged = stage_source(wh, spec, data_dir=ctx.data_dir, root=ctx.root)
    _refuse_empty_master(spec, staged)
    plans = _plans(spec, staged, ctx.country_code)
    report = SourceReport(name=spec.name, files=staged.files, read=staged.read)
    schema, name = rows_table(spec)
    new = table(schema, NEW_PREFIX + name)
    _step(ctx, f"{spec.name}: validating {staged.staged_rows:,} rows")
    # Built outside the transaction: DuckDB writes a large table much faster in its own
    # autocommit than as transaction-local data. Until the rename below it is invisible
    # to readers of src.<source>, and a crash leaves only this scratch table behind.
    wh.execute(f"CREATE OR REPLACE TABLE {new} AS {_typed_select(spec, plans, staged)}")
    _find_duplicates(wh, spec, new)
    _step(ctx, f"{spec.name}: writing")
    with wh.transaction():
        if spec.role == "customers":
            report.new_customers = _assign_cids(wh, spec, new)
        _quarantine(wh, spec, new, plans, ctx.ingest_id)
        _swap(wh, spec, new)
        _count(wh, spec, report)
        if touches_identity(spec):
            mark_dirty(wh)
    report.seconds = round(time.perf_counter() - started, 3)
    return report


def interrupted(
    catalog: Catalog, spec: SourceSpec, ctx: IngestContext, *, started: datetime, loaded: list[str]
) -> Interrupted:
    """Record that Ctrl-C stopped the ingest of ``spec`` (its transaction rolled back, so
    it keeps its previous data) and return the error that says what was kept."""
    error = "interrupted (Ctrl-C) before it committed: the source keeps its previous data"
    catalog.finish_ingest(
        IngestRun(
            source=spec.name,
            status="interrupted",
            started_at=started,
            finished_at=None,
            files=[],
            error=error,
            id=ctx.ingest_id,
        )
    )
    kept = (
        f"; loaded before it: {', '.join(f'`{n}`' for n in loaded)}"
        if loaded
        else "; nothing was changed"
    )
    return Interrupted(
        f"interrupted while loading `{spec.name}`: it keeps its previous data{kept}",
        hint="run `tagwise ingest` again to load the rest",
    )


def _refuse_empty_master(spec: SourceSpec, staged: Staged) -> None:
    """A customer master without a single row would remove every customer: almost always
    a broken export (a header only), so it is refused and the previous data stays.

    Raises:
        SourceError: the customer master's files hold no rows.
    """
    if spec.role != "customers" or staged.read:
        return
    files = ", ".join(f"`{f}`" for f in staged.files) or "its files"
    verb = "holds" if len(staged.files) == 1 else "hold"
    raise SourceError(
        f"source `{spec.name}`: the customer master has no rows ({files} {verb} only a "
        "header); "
        "loading it would remove every customer, so its previous data was kept",
        hint="check the export; a customer master needs at least one row",
    )


def _step(ctx: IngestContext, message: str) -> None:
    if ctx.progress is not None:
        ctx.progress(message)


def _plans(spec: SourceSpec, staged: Staged, country_code: str) -> list[ColumnPlan]:
    keys = {*spec.primary_key, *([spec.customer_key] if spec.customer_key else [])}
    plans = []
    for name, declared in spec.columns.items():
        column = declared
        if name in keys and not column.required:
            column = column.model_copy(update={"required": True})
        raw = spec.file_column(name)
        plans.append(
            column_plan(
                name,
                column,
                raw_column=raw,
                physical=staged.physical[raw],
                country_code=country_code,
            )
        )
    return plans


def _typed_select(spec: SourceSpec, plans: list[ColumnPlan], staged: Staged) -> str:
    """One pass: standardized values, the first problem, and (for bad rows) the details.

    The inner query computes every parse once; the outer one only compares its results.
    """
    parsed = ", ".join(
        f"{p.value} AS {p.value_alias}, {p.present} AS {p.present_alias}, {p.raw} AS {p.raw_alias}"
        for p in plans
    )
    checks = [(p, cond, reason) for p in plans for cond, reason in p.checks]
    values = ", ".join(p.loaded for p in plans)
    any_bad = " OR ".join(f"({c})" for _, c, _ in checks) or "FALSE"
    details = ", ".join(
        f"CASE WHEN {c} THEN {lit(spec.file_column(p.name) + ': ' + r)} END" for p, c, r in checks
    )
    record = ", ".join(f"{lit(spec.file_column(p.name))}, {p.raw_alias}" for p in plans)
    warned = "".join(
        f", CASE WHEN {' OR '.join(f'({c})' for c, _ in p.warnings)} THEN {p.raw_alias} END"
        f" AS {p.warning_alias}, CASE "
        + " ".join(f"WHEN {c} THEN {lit(WARNING + r)}" for c, r in p.warnings)
        + f" END AS {p.warning_reason_alias}"
        for p in plans
        if p.warnings
    )
    inner = (
        f"SELECT {values}, _file, _line{warned}, {_first_problem(spec, checks)}, "  # noqa: S608 (names quoted by ident()/table()/lit(), fixed tables)
        f"CASE WHEN {any_bad} THEN concat_ws('; ', {details or 'NULL'}) END AS _problems, "
        f"CASE WHEN {any_bad} THEN CAST(json_object({record}) AS VARCHAR) END AS _record "
        f"FROM (SELECT _file, _line, {parsed} FROM {staged.relation})"
    )
    if spec.customer_key is None:
        return f"SELECT * FROM ({inner})"  # noqa: S608 (names quoted by ident()/table()/lit(), fixed tables)
    key = ident(spec.customer_key)
    join = f"FROM ({inner}) t LEFT JOIN meta.customer_keys k ON k.customer_id = t.{key}"
    if spec.role == "customers":
        # new customers get their cid after validation (_assign_cids)
        return f"SELECT k.cid, t.* {join}"
    column = spec.file_column(spec.customer_key)
    unknown = "t._reason IS NULL AND k.cid IS NULL"
    return (
        f"SELECT k.cid, t.* EXCLUDE (_reason, _column, _raw, _problems, _record), "
        f"CASE WHEN {unknown} THEN {lit(_UNKNOWN_CUSTOMER)} ELSE t._reason END AS _reason, "
        f"CASE WHEN {unknown} THEN {lit(column)} ELSE t._column END AS _column, "
        f"CASE WHEN {unknown} THEN t.{key} ELSE t._raw END AS _raw, "
        f"CASE WHEN {unknown} THEN {lit(column + ': ' + _UNKNOWN_CUSTOMER)} "
        f"ELSE t._problems END AS _problems, "
        f"CASE WHEN {unknown} THEN {_typed_record(spec, plans, 't')} ELSE t._record END "
        f"AS _record {join}"
    )


def _typed_record(spec: SourceSpec, plans: list[ColumnPlan], alias: str) -> str:
    """JSON of a row's standardized values, keyed by the file's column names."""
    pairs = ", ".join(f"{lit(spec.file_column(p.name))}, {alias}.{ident(p.name)}" for p in plans)
    return f"CAST(json_object({pairs}) AS VARCHAR)"


def _first_problem(spec: SourceSpec, checks: list[tuple[ColumnPlan, str, str]]) -> str:
    if not checks:
        return "NULL::VARCHAR AS _reason, NULL::VARCHAR AS _column, NULL::VARCHAR AS _raw"
    reason = " ".join(f"WHEN {c} THEN {lit(r)}" for _, c, r in checks)
    column = " ".join(f"WHEN {c} THEN {lit(spec.file_column(p.name))}" for p, c, _ in checks)
    raw = " ".join(f"WHEN {c} THEN {p.raw_alias}" for p, c, _ in checks)
    return f"CASE {reason} END AS _reason, CASE {column} END AS _column, CASE {raw} END AS _raw"


def _find_duplicates(wh: Warehouse, spec: SourceSpec, new: str) -> None:
    """Rows repeating the primary key of an earlier good row (file order, then line).

    Grouping millions of distinct string keys is slow, so candidates are found by grouping
    a 64-bit hash of the key; the window over the real key then keeps only true repeats
    (a hash collision only adds a candidate, never a false duplicate).
    """
    wh.execute(
        f"CREATE OR REPLACE TEMP TABLE {_DUPS} (_file VARCHAR, _line BIGINT, "
        "first_file VARCHAR, first_line BIGINT, key VARCHAR)"
    )
    if not spec.primary_key:
        return
    keys = [f"s.{ident(k)}" for k in spec.primary_key]
    key_hash = f"hash({', '.join(keys)})"
    key_text = " || '|' || ".join(f"CAST({k} AS VARCHAR)" for k in keys)
    window = f"PARTITION BY {', '.join(keys)} ORDER BY s._file, s._line"
    wh.execute(
        f"INSERT INTO {_DUPS} SELECT _file, _line, first_file, first_line, key FROM ("  # noqa: S608 (names quoted by ident()/table()/lit(), fixed tables)
        f"SELECT s._file, s._line, first_value(s._file) OVER w AS first_file, "
        f"first_value(s._line) OVER w AS first_line, row_number() OVER w AS n, "
        f"{key_text} AS key FROM {new} s WHERE s._reason IS NULL AND {key_hash} IN ("
        f"SELECT {key_hash} AS h FROM {new} s WHERE s._reason IS NULL "
        f"GROUP BY h HAVING count(*) > 1) WINDOW w AS ({window})) WHERE n > 1"
    )


def _good(new: str) -> str:
    return (
        f"{new} s ANTI JOIN {_DUPS} d ON s._file = d._file AND s._line = d._line "
        "WHERE s._reason IS NULL"
    )


def _assign_cids(wh: Warehouse, spec: SourceSpec, new: str) -> int:
    """Give new records the next dense record numbers, in file order; a new record is its
    own customer (cid = rid) until identity resolution links it. Numbers are never reused."""
    key = ident(spec.customer_key or "")
    before = int(wh.scalar("SELECT count(*) FROM meta.customer_keys"))
    wh.execute(
        f"INSERT INTO meta.customer_keys (customer_id, cid, first_seen, rid) "  # noqa: S608 (names quoted by ident()/table()/lit(), fixed tables)
        f"SELECT key, n, now(), n FROM (SELECT s.{key} AS key, "
        f"(SELECT coalesce(max(rid), 0) FROM meta.customer_keys) "
        f"+ row_number() OVER (ORDER BY s._file, s._line) AS n FROM {_good(new)} "
        f"AND s.cid IS NULL)"
    )
    added = int(wh.scalar("SELECT count(*) FROM meta.customer_keys")) - before
    if added:
        wh.execute(
            f"UPDATE {new} SET cid = k.cid FROM meta.customer_keys k "  # noqa: S608 (names quoted by ident()/table()/lit(), fixed tables)
            f"WHERE {new}.cid IS NULL AND k.customer_id = {new}.{key}"
        )
    return added


def _swap(wh: Warehouse, spec: SourceSpec, new: str) -> None:
    """Drop rejected rows and bookkeeping columns, then put the new table in place."""
    wh.execute(f"DELETE FROM {new} WHERE _reason IS NOT NULL")  # noqa: S608 (names quoted by ident()/table()/lit(), fixed tables)
    wh.execute(
        f"DELETE FROM {new} USING {_DUPS} d WHERE {new}._file = d._file AND {new}._line = d._line"  # noqa: S608 (names quoted by ident()/table()/lit(), fixed tables)
    )
    warned = [c for c, _ in wh.columns(new) if c.startswith(("_warn_", "_warnwhy_"))]
    for column in (*_BOOKKEEPING, *warned):
        wh.execute(f"ALTER TABLE {new} DROP COLUMN {ident(column)}")
    schema, name = rows_table(spec)
    wh.execute(f"DROP TABLE IF EXISTS {table(schema, name)}")
    wh.execute(f"ALTER TABLE {new} RENAME TO {ident(name)}")


def _quarantine(
    wh: Warehouse, spec: SourceSpec, new: str, plans: list[ColumnPlan], ingest_id: int
) -> None:
    name = lit(spec.name)
    wh.execute("DELETE FROM meta.quarantine WHERE source = ?", [spec.name])
    wh.execute(
        f"INSERT INTO meta.quarantine SELECT {ingest_id}, {name}, _file, _line, _column, _raw, "  # noqa: S608 (names quoted by ident()/table()/lit(), fixed tables)
        f"_reason, _problems, _record, now() FROM {new} WHERE _reason IS NOT NULL"
    )
    first_key = lit(spec.file_column(spec.primary_key[0])) if spec.primary_key else "NULL"
    wh.execute(
        f"INSERT INTO meta.quarantine SELECT {ingest_id}, {name}, d._file, d._line, {first_key}, "  # noqa: S608 (names quoted by ident()/table()/lit(), fixed tables)
        f"d.key, 'duplicate key (first at ' || d.first_file || ':' || d.first_line || ')', "
        f"'duplicate key ' || {lit(' + '.join(spec.primary_key))}, "
        f"{_typed_record(spec, plans, 's')}, now() FROM {_DUPS} d JOIN {new} s "
        "ON s._file = d._file AND s._line = d._line"
    )
    wh.execute(
        f"INSERT INTO meta.quarantine SELECT {ingest_id}, {name}, _file, _line, _column, _raw, "  # noqa: S608 (names quoted by ident()/table()/lit(), fixed tables)
        f"_reason, _reason, _record, now() FROM {REJECTS_TABLE}"
    )
    for plan in plans:  # values kept as null: the rows stay, the raw value is recorded
        if not plan.warnings:
            continue
        column = spec.file_column(plan.name)
        text = f"s.{plan.warning_reason_alias}"
        wh.execute(
            f"INSERT INTO meta.quarantine SELECT {ingest_id}, {name}, s._file, s._line, "  # noqa: S608 (names quoted by ident()/table()/lit(), fixed tables)
            f"{lit(column)}, s.{plan.warning_alias}, {text}, {lit(column + ': ')} || {text}, "
            f"{_typed_record(spec, plans, 's')}, now() FROM {new} s "
            f"ANTI JOIN {_DUPS} d ON s._file = d._file AND s._line = d._line "
            f"WHERE s._reason IS NULL AND s.{plan.warning_alias} IS NOT NULL"
        )


def _count(wh: Warehouse, spec: SourceSpec, report: SourceReport) -> None:
    report.loaded = int(wh.scalar(f"SELECT count(*) FROM {table(*rows_table(spec))}"))  # noqa: S608 (names quoted by ident()/table()/lit(), fixed tables)
    rows = wh.rows(
        f"SELECT {REASON_KIND} AS kind, {WARNING_FILTER} AS warning, count(*) "  # noqa: S608 (names quoted by ident()/table()/lit(), fixed tables)
        "FROM meta.quarantine WHERE source = ? GROUP BY kind, warning ORDER BY 3 DESC, 1",
        [spec.name],
    )
    report.reasons = {str(kind): int(count) for kind, warning, count in rows if not warning}
    report.warnings = {str(kind): int(count) for kind, warning, count in rows if warning}
    report.rejected = sum(report.reasons.values())
    if report.loaded + report.rejected != report.read:
        raise EngineError(
            f"source `{spec.name}`: read {report.read} rows but loaded {report.loaded} and "
            f"rejected {report.rejected}; nothing was changed",
            hint="this is a Tagwise bug; please report it with the source file",
        )
