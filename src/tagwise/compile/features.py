"""Features: ``features.yaml`` → one ``GROUP BY cid`` scan per source → the run's profile.

Each source's features become one SELECT (:func:`feature_select`), one aggregate per
feature with its window and ``where`` in a ``FILTER`` clause::

    SELECT "cid",
           COALESCE(SUM("amount") FILTER (WHERE "paid_at" >= <as_of_end - 365d>
                                           AND "status" = 'paid'), 0) AS "spend_365d",
           ...
    FROM "src"."orders" WHERE "paid_at" < <as_of_end> GROUP BY "cid"

``as_of_end`` is midnight after the as-of date, so the as-of day counts whole and later rows
never do. A row whose time is null never counts either (it cannot be placed before the
as-of date). :func:`build_profile` left-joins these selects to the customer master and
fills the defaults of docs/tags.md (count, sum, count_distinct → 0; the rest stays null).

SQL is built from sqlglot nodes only: names are quoted identifiers, values are literals, and
``where`` is compiled by :func:`tagwise.lang.to_sql` against the source's columns.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlglot import exp

from tagwise.errors import ExpressionError, Location, SpecError, TagwiseError, did_you_mean
from tagwise.lang import Column, Schema, Type, check_condition, parse, to_sql
from tagwise.spec.features import NEEDS_COLUMN, Agg, FeatureSpec, FeaturesSpec
from tagwise.spec.load import Document
from tagwise.spec.sources import ColumnType, SourceSpec, SourcesSpec
from tagwise.store.warehouse import Warehouse

__all__ = [
    "COLUMN_TYPES",
    "build_profile",
    "check_features",
    "feature_select",
    "profile_schema",
    "profile_select",
    "source_schema",
    "time_column_of",
]

_DIALECT = "duckdb"

COLUMN_TYPES: Mapping[ColumnType, Type] = {
    ColumnType.STRING: Type.STRING,
    ColumnType.PHONE: Type.STRING,
    ColumnType.EMAIL: Type.STRING,
    ColumnType.GENDER: Type.STRING,
    ColumnType.INTEGER: Type.NUMBER,
    ColumnType.NUMBER: Type.NUMBER,
    ColumnType.BOOLEAN: Type.BOOLEAN,
    ColumnType.DATE: Type.DATE,
    ColumnType.TIMESTAMP: Type.TIMESTAMP,
}
"""The language type of each declared column type."""

_TEMPORAL = frozenset({ColumnType.DATE, ColumnType.TIMESTAMP})
_NUMERIC = frozenset({ColumnType.INTEGER, ColumnType.NUMBER})
_ORDERED = frozenset(ColumnType) - {ColumnType.BOOLEAN}

_ACCEPTS: Mapping[Agg, tuple[frozenset[ColumnType], str]] = {
    Agg.SUM: (_NUMERIC, "a number or integer"),
    Agg.AVG: (_NUMERIC, "a number or integer"),
    Agg.MIN: (_ORDERED, "an ordered (non-boolean)"),
    Agg.MAX: (_ORDERED, "an ordered (non-boolean)"),
    Agg.DAYS_SINCE_LAST: (_TEMPORAL, "a date or timestamp"),
    Agg.DAYS_SINCE_FIRST: (_TEMPORAL, "a date or timestamp"),
}
"""Column types an aggregation accepts (count_distinct and mode take any column)."""

_RESULT_IS_COLUMN = frozenset({Agg.MIN, Agg.MAX, Agg.MODE})
"""Aggregations whose value has the column's type; every other one is a number."""

_ZERO_DEFAULT = frozenset({Agg.COUNT, Agg.SUM, Agg.COUNT_DISTINCT})
"""Aggregations that are 0 (not null) for a customer without rows."""

_RESERVED = frozenset({"cid"})
"""Profile column names that no feature may take."""


# --------------------------------------------------------------------------- schemas


def source_schema(source: SourceSpec) -> Schema:
    """The source's declared columns as a language schema (for ``where``)."""
    return Schema(
        Column(name, COLUMN_TYPES[col.type], "attribute") for name, col in source.columns.items()
    )


def time_column_of(source: SourceSpec) -> str | None:
    """The source's default time column: ``time_column``, else its first date/timestamp."""
    if source.time_column is not None:
        return source.time_column
    return next((n for n, c in source.columns.items() if c.type in _TEMPORAL), None)


def _feature_type(feature: FeatureSpec, source: SourceSpec) -> Type:
    if feature.agg in _RESULT_IS_COLUMN and feature.column is not None:
        return COLUMN_TYPES[source.columns[feature.column].type]
    return Type.NUMBER


def profile_schema(
    features: FeaturesSpec, sources: SourcesSpec, *, doc: Document | None = None
) -> Schema:
    """The profile's columns: the customer master's attributes, then every feature.

    Raises:
        SpecError: the first problem :func:`check_features` finds.
    """
    errors = check_features(features, doc, sources)
    if errors:
        raise errors[0]
    if sources.customers is None:
        return Schema([])
    master = _master(sources)
    attributes = [
        Column(name, COLUMN_TYPES[col.type], "attribute") for name, col in master.columns.items()
    ]
    return Schema(
        [
            *attributes,
            *(
                Column(f.name, _feature_type(f, sources.sources[f.source]), "feature")
                for f in features.features.values()
            ),
        ]
    )


def _master(sources: SourcesSpec) -> SourceSpec:
    if sources.customers is None:
        raise SpecError("sources.yaml declares no customers source, so there is no profile")
    return sources.customers


# --------------------------------------------------------------------------- checks


@dataclass(frozen=True, slots=True)
class _Where:
    """Locates the problems of one features.yaml."""

    doc: Document | None
    features: FeaturesSpec

    def at(self, *path: str) -> Location | None:
        if self.doc is not None:
            return self.doc.location(("features", *path))
        return Location(self.features.file) if self.features.file else None

    def error(self, path: Sequence[str], message: str, hint: str | None = None) -> SpecError:
        return SpecError(message, location=self.at(*path), hint=hint)


def check_features(
    features: FeaturesSpec, doc: Document | None, sources: SourcesSpec
) -> list[TagwiseError]:
    """Every problem of the features against ``sources.yaml``, each at its line.

    Args:
        features: the loaded ``features.yaml``.
        doc: its YAML document, for line numbers (None: locate at the file only).
        sources: the loaded ``sources.yaml``.

    Returns:
        The problems in file order; empty when the features can be computed.
    """
    where = _Where(doc, features)
    errors: list[TagwiseError] = []
    master = sources.customers
    if master is None and features.features:
        # without features nothing needs a profile yet (a new, empty workspace is valid)
        errors.append(
            where.error((), "sources.yaml declares no customers source, so there is no profile")
        )
    attributes = set(master.columns) if master else set()
    for feature in features.features.values():
        errors.extend(_check_feature(feature, sources, attributes, where))
    return errors


def _check_feature(
    feature: FeatureSpec, sources: SourcesSpec, attributes: set[str], where: _Where
) -> list[SpecError]:
    name = feature.name
    errors: list[SpecError] = []
    if name in attributes or name in _RESERVED:
        errors.append(
            where.error(
                (name,),
                f"feature `{name}` has the name of a customer attribute",
                "attributes and features share one namespace; rename the feature",
            )
        )
    source = sources.sources.get(feature.source)
    if source is None:
        hint = did_you_mean(feature.source, sources.sources) or (
            f"declared sources: {', '.join(sources.sources)}"
        )
        message = f"feature `{name}`: source `{feature.source}` is not declared in sources.yaml"
        return [*errors, where.error((name, "source"), message, hint)]
    if source.customer_key is None:
        message = f"feature `{name}`: source `{source.name}` has no customer_key"
        hint = "features aggregate rows per customer; set customer_key in sources.yaml"
        return [*errors, where.error((name, "source"), message, hint)]
    errors.extend(_check_column(feature, source, where))
    errors.extend(_check_time(feature, source, where))
    errors.extend(_check_where(feature, source, where))
    return errors


def _check_column(feature: FeatureSpec, source: SourceSpec, where: _Where) -> list[SpecError]:
    name, agg, column = feature.name, feature.agg, feature.column
    if column is None:
        if agg in NEEDS_COLUMN:
            message = f"feature `{name}`: `{agg}` needs `column`"
            return [where.error((name, "column"), message, "name the column to aggregate")]
        return []
    if agg in {Agg.COUNT, Agg.SHARE}:
        message = f"feature `{name}`: `{agg}` counts rows and takes no `column`"
        return [where.error((name, "column"), message, "filter rows with `where`")]
    if column not in source.columns:
        message = f"feature `{name}`: source `{source.name}` has no column `{column}`"
        hint = did_you_mean(column, source.columns)
        return [where.error((name, "column"), message, hint)]
    accepted, wanted = _ACCEPTS.get(agg, (frozenset(ColumnType), ""))
    kind = source.columns[column].type
    if kind not in accepted:
        message = f"feature `{name}`: `{agg}` needs {wanted} column, `{column}` is {kind}"
        return [where.error((name, "column"), message)]
    return []


def _check_time(feature: FeatureSpec, source: SourceSpec, where: _Where) -> list[SpecError]:
    name = feature.name
    if feature.time is not None:
        col = source.columns.get(feature.time)
        if col is None:
            message = f"feature `{name}`: source `{source.name}` has no column `{feature.time}`"
            return [
                where.error((name, "time"), message, did_you_mean(feature.time, source.columns))
            ]
        if col.type not in _TEMPORAL:
            message = f"feature `{name}`: time column `{feature.time}` is {col.type}"
            return [where.error((name, "time"), message, "use a date or timestamp column")]
        return []
    needs_time = feature.window is not None or (
        feature.agg in {Agg.DAYS_SINCE_LAST, Agg.DAYS_SINCE_FIRST} and feature.column is None
    )
    if needs_time and time_column_of(source) is None:
        field = "window" if feature.window is not None else "agg"
        message = f"feature `{name}`: source `{source.name}` has no date or timestamp column"
        hint = "declare one and set time_column in sources.yaml, or drop the window"
        return [where.error((name, field), message, hint)]
    return []


def _check_where(feature: FeatureSpec, source: SourceSpec, where: _Where) -> list[SpecError]:
    name = feature.name
    if feature.where is None:
        if feature.agg is Agg.SHARE:
            message = f"feature `{name}`: `share` needs `where` (the rows to count)"
            return [where.error((name, "where"), message, 'e.g. where: "discount > 0"')]
        return []
    try:
        check_condition(parse(feature.where), source_schema(source), source=feature.where)
    except ExpressionError as exc:
        message = (
            f"feature `{name}`: `where` is invalid: {exc.message} "
            f"(col {exc.span.col} of `{feature.where}`)"
        )
        error = where.error((name, "where"), message, exc.hint)
        error.__cause__ = exc
        return [error]
    return []


# --------------------------------------------------------------------------- SQL


def _time_literal(moment: datetime) -> exp.Expr:
    return exp.cast(exp.Literal.string(moment.isoformat(sep=" ")), exp.DataType.Type.TIMESTAMP)


def _col(name: str) -> exp.Column:
    return exp.column(name, quoted=True)


@dataclass(frozen=True, slots=True)
class _Scan:
    """What one feature's aggregate is built from."""

    feature: FeatureSpec
    source: SourceSpec
    window: exp.Expr | None
    """Rows inside the window (and before the as-of end when several times are in use)."""
    where: exp.Expr | None
    """The compiled ``where``."""
    as_of: exp.Expr
    as_of_end: exp.Expr
    time: str | None

    @property
    def rows(self) -> exp.Expr | None:
        return _and(self.window, self.where)

    @property
    def column(self) -> exp.Column:
        name = self.feature.column or self.time
        if name is None:  # check_features reports it; reaching here is a programming error
            raise ValueError(f"feature {self.feature.name!r} has no column and no time")
        return _col(name)


def _and(*parts: exp.Expr | None) -> exp.Expr | None:
    present = [p for p in parts if p is not None]
    return exp.and_(*present) if present else None


def _filtered(agg: exp.Expr, rows: exp.Expr | None) -> exp.Expr:
    if rows is None:
        return agg
    return exp.Filter(this=agg, expression=exp.Where(this=rows.copy()))


def _count(scan: _Scan) -> exp.Expr:
    return _filtered(exp.Count(this=exp.Star()), scan.rows)


def _sum(scan: _Scan) -> exp.Expr:
    total: exp.Expr
    if scan.source.columns[str(scan.feature.column)].type is ColumnType.INTEGER:
        # DuckDB sums BIGINT into HUGEINT; integers stay exact as BIGINT
        total = exp.cast(_filtered(exp.Sum(this=scan.column), scan.rows), exp.DataType.Type.BIGINT)
    else:
        total = exp.cast(_exact_sum(scan), exp.DataType.Type.DOUBLE)
    return exp.func("coalesce", total, exp.Literal.number(0))


def _avg(scan: _Scan) -> exp.Expr:
    count = _filtered(exp.Count(this=scan.column), scan.rows)
    return exp.Div(
        this=exp.cast(_exact_sum(scan), exp.DataType.Type.DOUBLE),
        expression=exp.Nullif(this=count, expression=exp.Literal.number(0)),
    )


def _exact_sum(scan: _Scan) -> exp.Expr:
    """A sum that is the same in every run: parallel aggregation adds partial sums of
    doubles in varying order, so the last bits could differ and flip a customer across a
    quantile boundary (principle 3: same data, same tags). Each value is taken to 1e-8 as
    a DECIMAL, whose sum is exact; measured +0.1 s per 20M rows."""
    exact = exp.DataType.build("DECIMAL(38, 8)")
    return _filtered(exp.Sum(this=exp.cast(scan.column, exact)), scan.rows)


def _simple(kind: type[exp.Func]) -> Callable[[_Scan], exp.Expr]:
    return lambda scan: _filtered(kind(this=scan.column), scan.rows)


def _count_distinct(scan: _Scan) -> exp.Expr:
    return _filtered(exp.Count(this=exp.Distinct(expressions=[scan.column])), scan.rows)


def _days_since(kind: type[exp.Func]) -> Callable[[_Scan], exp.Expr]:
    def build(scan: _Scan) -> exp.Expr:
        rows = scan.rows
        if scan.feature.column not in {None, scan.time}:
            # a column other than the time may hold later moments; they never count
            rows = _and(rows, exp.LT(this=scan.column, expression=scan.as_of_end.copy()))
        moment = exp.cast(_filtered(kind(this=scan.column), rows), exp.DataType.Type.DATE)
        return exp.DateDiff(this=scan.as_of.copy(), expression=moment, unit=exp.var("DAY"))

    return build


def _share(scan: _Scan) -> exp.Expr:
    matching = exp.cast(_count(scan), exp.DataType.Type.DOUBLE)
    total = _filtered(exp.Count(this=exp.Star()), scan.window)
    return exp.Div(
        this=matching, expression=exp.Nullif(this=total, expression=exp.Literal.number(0))
    )


_AGGREGATES: Mapping[Agg, Callable[[_Scan], exp.Expr]] = {
    Agg.COUNT: _count,
    Agg.SUM: _sum,
    Agg.AVG: _avg,
    Agg.MIN: _simple(exp.Min),
    Agg.MAX: _simple(exp.Max),
    Agg.COUNT_DISTINCT: _count_distinct,
    Agg.DAYS_SINCE_LAST: _days_since(exp.Max),
    Agg.DAYS_SINCE_FIRST: _days_since(exp.Min),
    Agg.SHARE: _share,
}
"""The SQL of each aggregation."""


def _as_of_end(as_of: date) -> datetime:
    return datetime.combine(as_of + timedelta(days=1), time())


def feature_select(
    source: SourceSpec,
    features: Sequence[FeatureSpec],
    *,
    as_of: date,
    time_column: str | None,
) -> exp.Select:
    """One ``SELECT cid, <agg> FILTER (…) AS <feature>, … GROUP BY cid`` over the source.

    ``mode`` features are the exception: each is a small pre-aggregation by (cid, value)
    left-joined to that select (on the customer master's golden record, the value itself).
    Computing the most frequent value inside the single scan (``histogram`` per customer)
    measured about 3× slower at 1M customers (bench/README.md).

    Args:
        source: the source, with a customer_key (its table has ``cid``).
        features: checked features of this source (see :func:`check_features`).
        as_of: the run's date; rows from the day after on never count.
        time_column: the source's default time column (:func:`time_column_of`); features
            with ``time:`` use their own. None: the source has no time, every row counts.
    """
    end = _as_of_end(as_of)
    times = sorted({t for f in features if (t := f.time or time_column) is not None})
    select = exp.select(_col("cid")).from_(_source_table(source))
    # one row per customer: the most frequent value is the value. Only the customer master
    # (its golden record) is sure to be: identity resolution gives a customer every row of
    # its records in other sources, even those keyed by the record (third-party data).
    single = source.role == "customers"
    for feature in features:
        if feature.agg is Agg.MODE and not single:
            continue
        scan = _scan(
            feature,
            source,
            as_of=as_of,
            time_name=feature.time or time_column,
            bound_end=len(times) > 1,
        )
        if feature.agg is Agg.MODE:  # its one value (any_value skips nulls)
            value = _filtered(exp.AnyValue(this=scan.column.copy()), scan.rows)
        else:
            value = _AGGREGATES[feature.agg](scan)
        select = select.select(exp.alias_(value, feature.name, quoted=True), copy=False)
    if times:
        bounds = [exp.LT(this=_col(t), expression=_time_literal(end)) for t in times]
        select = select.where(exp.or_(*bounds), copy=False)
        earliest = _earliest(features, time_column, end)
        if earliest is not None:
            # every feature reads only its window: rows before the widest one never count
            select = select.where(
                exp.GTE(this=_col(times[0]), expression=_time_literal(earliest)), copy=False
            )
    select = select.group_by(_col("cid"), copy=False)
    modes = [f for f in features if f.agg is Agg.MODE and not single]
    return _with_modes(select, source, modes, as_of=as_of, time_column=time_column)


def _earliest(
    features: Sequence[FeatureSpec], time_column: str | None, end: datetime
) -> datetime | None:
    """Start of the widest window when every feature is windowed on one time column."""
    columns = {f.time or time_column for f in features}
    hours = [f.window_hours for f in features]
    share_totals = any(f.agg is Agg.SHARE for f in features)
    if len(columns) != 1 or None in columns or None in hours or share_totals:
        return None
    return end - timedelta(hours=max(h for h in hours if h is not None))


def _source_table(source: SourceSpec) -> exp.Table:
    return exp.table_(source.name, db="src", quoted=True)


def _with_modes(
    main: exp.Select,
    source: SourceSpec,
    modes: Sequence[FeatureSpec],
    *,
    as_of: date,
    time_column: str | None,
) -> exp.Select:
    """``main`` left-joined to one most-frequent-value query per mode feature."""
    if not modes:
        return main
    base = exp.to_identifier("m", quoted=True)
    select = exp.select(exp.Column(this=exp.Star(), table=base.copy())).from_(
        exp.Subquery(this=main, alias=exp.TableAlias(this=base.copy())), copy=False
    )
    for i, feature in enumerate(modes):
        time_name = feature.time or time_column
        scan = _scan(feature, source, as_of=as_of, time_name=time_name, bound_end=True)
        alias = exp.to_identifier(f"q{i}", quoted=True)
        select = select.select(
            exp.alias_(exp.column("v", table=alias.copy(), quoted=True), feature.name, quoted=True),
            copy=False,
        ).join(
            exp.Subquery(this=_mode_select(scan, source), alias=exp.TableAlias(this=alias)),
            on=exp.EQ(
                this=exp.column("cid", table=alias.copy(), quoted=True),
                expression=exp.column("cid", table=base.copy(), quoted=True),
            ),
            join_type="left",
            copy=False,
        )
    return select


def _mode_select(scan: _Scan, source: SourceSpec) -> exp.Select:
    """The most frequent value per customer, ties → the smallest value; nulls ignored.

    ``arg_min`` over ``{n: -count, k: value}`` structs compares field by field.
    https://duckdb.org/docs/stable/sql/functions/aggregates#arg_minarg-val
    """
    value = scan.column
    counted = (
        exp.select(
            _col("cid"),
            exp.alias_(value.copy(), "v", quoted=True),
            exp.alias_(exp.Count(this=exp.Star()), "n", quoted=True),
        )
        .from_(_source_table(source))
        .where(
            _and(scan.rows, exp.Not(this=exp.Is(this=value.copy(), expression=exp.null())))
            or exp.true()
        )
        .group_by(_col("cid"), value.copy())
    )
    key = exp.Struct(
        expressions=[
            exp.PropertyEQ(this=exp.to_identifier("n"), expression=exp.Neg(this=_col("n"))),
            exp.PropertyEQ(this=exp.to_identifier("k"), expression=_col("v")),
        ]
    )
    return (
        exp.select(_col("cid"), exp.alias_(exp.func("arg_min", _col("v"), key), "v", quoted=True))
        .from_(exp.Subquery(this=counted, alias=exp.TableAlias(this=exp.to_identifier("c"))))
        .group_by(_col("cid"))
    )


def _scan(
    feature: FeatureSpec,
    source: SourceSpec,
    *,
    as_of: date,
    time_name: str | None,
    bound_end: bool,
) -> _Scan:
    """What one feature aggregates; ``bound_end``: put the as-of end in the row filter too
    (the scan's WHERE only keeps rows before the end of *some* time column)."""
    end = _as_of_end(as_of)
    window: list[exp.Expr] = []
    if time_name is not None and feature.window_hours is not None:
        start = end - timedelta(hours=feature.window_hours)
        window.append(exp.GTE(this=_col(time_name), expression=_time_literal(start)))
    if time_name is not None and bound_end:
        window.append(exp.LT(this=_col(time_name), expression=_time_literal(end)))
    where = None
    if feature.where is not None:
        typed = check_condition(parse(feature.where), source_schema(source), source=feature.where)
        where = to_sql(typed, as_of=as_of)
    return _Scan(
        feature=feature,
        source=source,
        window=_and(*window),
        where=where,
        as_of=exp.cast(exp.Literal.string(as_of.isoformat()), exp.DataType.Type.DATE),
        as_of_end=_time_literal(end),
        time=time_name,
    )


def profile_select(
    features: FeaturesSpec,
    sources: SourcesSpec,
    *,
    as_of: date,
    attributes: Collection[str] | None = None,
) -> exp.Select:
    """The profile query: the customer master left-joined to each source's feature select.

    The features must be checked (:func:`profile_schema`). ``attributes`` keeps only those
    columns of the customer master (None: all of them).
    """
    master = _master(sources)
    base = exp.to_identifier("c", quoted=True)
    select = exp.select(exp.column("cid", table=base.copy(), quoted=True))
    kept = [n for n in master.columns if attributes is None or n in attributes]
    select = select.select(
        *(exp.column(n, table=base.copy(), quoted=True) for n in kept), copy=False
    )
    select = select.from_(
        exp.alias_(exp.table_(master.name, db="src", quoted=True), base.copy()), copy=False
    )
    for i, (name, group) in enumerate(features.by_source().items()):
        source = sources.sources[name]
        alias = exp.to_identifier(f"f{i}", quoted=True)
        scan = feature_select(source, group, as_of=as_of, time_column=time_column_of(source))
        select = select.join(
            exp.Subquery(this=scan, alias=exp.TableAlias(this=alias.copy())),
            on=exp.EQ(
                this=exp.column("cid", table=alias.copy(), quoted=True),
                expression=exp.column("cid", table=base.copy(), quoted=True),
            ),
            join_type="left",
            copy=False,
        )
        for feature in group:
            value: exp.Expr = exp.column(feature.name, table=alias.copy(), quoted=True)
            if feature.agg in _ZERO_DEFAULT:
                value = exp.func("coalesce", value, exp.Literal.number(0))
            select = select.select(exp.alias_(value, feature.name, quoted=True), copy=False)
    return select


def build_profile(
    wh: Warehouse,
    features: FeaturesSpec,
    sources: SourcesSpec,
    *,
    as_of: date,
    target: str,
    attributes: Collection[str] | None = None,
    doc: Document | None = None,
) -> Schema:
    """Create (or replace) the profile table ``target``: one row per customer (a run writes
    its snapshot through its engine instead, :meth:`~tagwise.engine.base.Engine.write_profile`).

    Args:
        wh: the warehouse holding the ingested ``src`` tables.
        features: the features to compute.
        sources: the sources they read.
        as_of: the run's date.
        target: the table, a quoted name such as ``"snap"."profile_12"``; its schema is
            created when missing.
        attributes: the customer master's columns to keep (None: all). A run keeps only
            those its tags read, so a snapshot stays small and holds no personal data that
            no rule uses.
        doc: the features' YAML document, for error lines.

    Returns:
        The profile's schema (all attributes, then features), whatever ``attributes`` keeps.

    Raises:
        SpecError: a feature is invalid.
        EngineError: the warehouse failed.
    """
    schema = profile_schema(features, sources, doc=doc)
    query = profile_select(features, sources, as_of=as_of, attributes=attributes)
    table = exp.to_table(target, dialect=_DIALECT)
    if table.args.get("db") is not None:
        make_schema = exp.Create(
            this=exp.Table(db=table.args["db"].copy()), kind="SCHEMA", exists=True
        )
        wh.execute(make_schema.sql(_DIALECT))
    create = exp.Create(this=table, kind="TABLE", replace=True, expression=query)
    wh.execute(create.sql(_DIALECT))
    return schema
