"""Identity resolution: customer records → identity graph → customers and golden records.

Every row of the customer master is a *record* with a record number ``rid`` (assigned once,
in order of arrival, never reused). Records are linked by

* **identifiers**: a value of a strong identity type (phone, email, WeChat unionid, …)
  that several records hold, collected from every source that maps columns to identity
  types (``identity:`` in sources.yaml; a fact source's identifiers belong to the record
  of its customer key). A value shared by more records than its type's cap, or by records
  that disagree on a conflict column (two birthdays: a family phone), links nobody and is
  reported in ``ident.capped``;
* **matches**: pairs that probabilistic matching scores at or above ``upper``
  (``ident.matches``; the pairs between ``lower`` and ``upper`` wait in ``ident.review``);
* **decisions** of people: merge two records, or keep a record apart from others
  (``tagwise customer merge / unmerge``).

A *customer* is a connected component of that graph, computed set-based by label
propagation in the warehouse (each round two GROUP BYs; no Python loop over rows). Its
``cid`` is the smallest ``rid`` among its records, so a customer keeps its cid as long as
its oldest record stays, a merge keeps the surviving cid, an unmerge gives a record its
own number back, and resolving unchanged data changes nothing.

Outputs, all written in one warehouse transaction (a crash leaves the previous state):
``meta.customer_keys.cid`` (record key → customer) and the ``cid`` of every source row,
the golden record ``src.<master>`` (one row per customer, each attribute chosen by its
survivorship rule, ``ident.lineage`` naming the record it came from), and the history of
every record that changed customer with its reason (``ident.events``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tagwise._version import __version__
from tagwise.errors import NotFound, SpecError
from tagwise.identity import graph
from tagwise.identity.context import MATCHES, Context
from tagwise.identity.decisions import record_events
from tagwise.identity.golden import golden_record
from tagwise.identity.layout import RECORDS, ensure_identity, mark_dirty
from tagwise.identity.standardize import part_column
from tagwise.spec.sources import SourceSpec, SourcesSpec
from tagwise.store.sql import ident, table

if TYPE_CHECKING:
    from tagwise.identity.matching import SparkMatching
    from tagwise.settings import Settings
    from tagwise.store.warehouse import Warehouse

__all__ = ["ResolveReport", "resolve"]

_MATCHED = "ident.matched"
"""The fingerprint of the records and settings behind ``ident.matches``."""


@dataclass(slots=True)
class ResolveReport:
    """What one resolution found and changed."""

    resolution_id: int = 0
    records: int = 0
    customers: int = 0
    merged_customers: int = 0
    """Customers holding more than one record."""
    merged_records: int = 0
    """Records in those customers."""
    identifiers: int = 0
    linking_identifiers: int = 0
    capped: int = 0
    matches: int = 0
    """Probabilistic pairs at or above the merge threshold."""
    matching: str = "off"
    """How the pairs were found: duckdb or spark (splink ran there), reused (the compared
    fields and settings are those of the last resolution), or off."""
    review: int = 0
    """Pairs waiting for a person (between the thresholds, in different customers)."""
    changed: int = 0
    """Records whose customer changed."""
    events: dict[str, int] = field(default_factory=dict)
    rounds: int = 0
    model: dict[str, Any] | None = None
    """The trained matching model: prior, blocking rules, training sessions, and m and u
    per comparison level (``tagwise identity model``); None when matching is off."""
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


def resolve(
    wh: Warehouse,
    sources: SourcesSpec,
    settings: Settings,
    *,
    root: Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> ResolveReport:
    """Resolve every record of the customer master into customers; see the module text.

    ``root`` is the workspace folder (default: the current one); matching on Spark keeps
    its intermediate data under ``[engine] spark_work`` relative to it.

    Raises:
        SpecError: there is no customer master, or a conflict column is not declared.
        EngineError: the warehouse failed (nothing is changed).
    """
    started = time.perf_counter()
    master = sources.customers
    if master is None or master.customer_key is None:
        raise SpecError("sources.yaml declares no customers source, so there is no one to resolve")
    ensure_identity(wh, lambda: master)
    if not wh.has_table(*RECORDS):
        raise NotFound(
            f"the customer master `{master.name}` has not been ingested",
            hint=f"run `tagwise ingest {master.name}` first",
        )
    chosen = settings.identity
    missing = [c for c in chosen.conflict_columns if c not in master.columns]
    if missing and "conflict_columns" in chosen.model_fields_set:
        raise SpecError(
            f"identity.conflict_columns names `{missing[0]}`, which the customer master "
            "does not declare",
            hint=f"declared columns: {', '.join(master.columns)}",
        )
    if missing:  # the default names columns this master does not have
        kept = tuple(c for c in chosen.conflict_columns if c in master.columns)
        chosen = chosen.model_copy(update={"conflict_columns": kept})
    ctx = Context(wh, sources, master, master.customer_key, chosen, root or Path.cwd())
    report = ResolveReport()
    clock = _Clock(report, progress)
    clock.step("records")
    graph.records(ctx)
    clock.step("identifiers")
    graph.identifiers(ctx)
    clock.step("caps")
    graph.groups(ctx)
    clock.step("matching")
    upper, fingerprint, report.matching, report.model = _match(ctx, settings)
    clock.step("links")
    graph.links(ctx, upper)
    clock.step("components")
    report.rounds = graph.components(wh)
    clock.step("golden record")
    golden_record(ctx)
    clock.step("writing")
    resolution_id = int(
        wh.scalar("SELECT coalesce(max(resolution_id), 0) + 1 FROM ident.resolutions")
    )
    report.resolution_id = resolution_id
    with wh.transaction():
        _apply(ctx, resolution_id)
        if fingerprint is not None:
            wh.execute(f"DELETE FROM {_MATCHED}")  # noqa: S608 (names quoted by ident()/table()/lit(), fixed tables)
            wh.execute(f"INSERT INTO {_MATCHED} VALUES (?)", [fingerprint])  # noqa: S608 (names quoted by ident()/table()/lit(), fixed tables)
        _count(ctx, report)
        mark_dirty(wh, dirty=False)
        clock.done()
        report.seconds = round(time.perf_counter() - started, 3)
        wh.execute(
            "INSERT INTO ident.resolutions VALUES (?, now(), ?)",
            [resolution_id, json.dumps(report.to_dict(), ensure_ascii=False)],
        )
    _drop_scratch(wh, master)
    return report


def _drop_scratch(wh: Warehouse, master: SourceSpec) -> None:
    for scratch in (
        "tw_rec",
        "tw_ids",
        "tw_groups",
        "tw_links",
        "tw_cut",
        "tw_label",
        "tw_map",
        "tw_multi",
        "tw_members",
        "tw_gold",
        "tw_lineage",
        "tw_changed",
        "tw_why",
    ):
        wh.execute(f"DROP TABLE IF EXISTS {scratch}")
    wh.execute(f"DROP TABLE IF EXISTS {MATCHES}")
    wh.execute(f"DROP TABLE IF EXISTS {table('src', '__golden__' + master.name)}")


class _Clock:
    def __init__(self, report: ResolveReport, progress: Callable[[str], None] | None) -> None:
        self.report = report
        self.progress = progress
        self.current: str | None = None
        self.since = time.perf_counter()

    def step(self, name: str) -> None:
        self.done()
        self.current = name
        if self.progress is not None:
            self.progress(f"resolve: {name}")

    def done(self) -> None:
        now = time.perf_counter()
        if self.current is not None:
            self.report.timings[self.current] = round(now - self.since, 3)
        self.current, self.since = None, now


def _match(
    ctx: Context, settings: Settings
) -> tuple[float | None, str | None, str, dict[str, Any] | None]:
    """Probabilistic pairs into ``stage.matches``; returns the merge threshold (None: off),
    the fingerprint of what was matched, where (``ResolveReport.matching``) and the
    trained model (``ResolveReport.model``).

    Matching is deterministic, so when the compared fields of every record and the
    settings are those of the last resolution (a daily ingest that changed no customer
    record), its pairs are reused instead of computed again.
    """
    wh = ctx.wh
    wh.execute(f"CREATE OR REPLACE TABLE {MATCHES} AS SELECT * FROM ident.matches LIMIT 0")  # noqa: S608 (names quoted by ident()/table()/lit(), fixed tables)
    matching = settings.identity.matching
    if not ctx.master.match_on or not matching.enabled:
        return None, None, "off", None
    from tagwise.identity.matching import match_pairs, model_dict  # noqa: PLC0415 (splink loads lazily)

    fields = ctx.master.match_fields
    columns = ", ".join(
        f"r.{ident(column)} AS {ident(part_column(f, i))}"
        for f in fields
        for i, column in enumerate(f.columns)
    )
    records = (
        f"SELECT k.rid, {columns} FROM {table(*RECORDS)} r "  # noqa: S608 (names quoted by ident()/table()/lit(), fixed tables)
        f"JOIN meta.customer_keys k ON k.customer_id = r.{ident(ctx.key)}"
    )
    compared = ", ".join(ident(part_column(f, i)) for f in fields for i in range(len(f.columns)))
    digest = wh.scalar(
        f"SELECT count(*) || ':' || coalesce(bit_xor(hash(rid, {compared})), 0) "  # noqa: S608 (names quoted by ident()/table()/lit(), fixed tables)
        f"FROM ({records})"
    )
    layout = "|".join(f"{f.name}:{f.kind.value}:{','.join(f.columns)}" for f in fields)
    fingerprint = f"{digest}|{layout}|{matching.model_dump_json()}|{__version__}"
    wh.execute(f"CREATE TABLE IF NOT EXISTS {_MATCHED} (fingerprint VARCHAR)")
    if wh.scalar(f"SELECT max(fingerprint) FROM {_MATCHED}") == fingerprint:  # noqa: S608 (names quoted by ident()/table()/lit(), fixed tables)
        wh.execute(f"INSERT INTO {MATCHES} SELECT * FROM ident.matches")  # noqa: S608 (names quoted by ident()/table()/lit(), fixed tables)
        where = "reused"
        model = _last_model(wh)
    else:
        spark = _spark(ctx, settings)
        found = match_pairs(
            wh, records, settings=matching, target=MATCHES, spark=spark, fields=fields
        )
        where = found.engine
        model = model_dict(found)
    return float(matching.upper), fingerprint, where, model


def _last_model(wh: Warehouse) -> dict[str, Any] | None:
    """The model of the last resolution that trained one (its pairs are being reused)."""
    for (text,) in wh.rows(
        "SELECT report FROM ident.resolutions ORDER BY resolution_id DESC LIMIT 20"
    ):
        try:
            found = json.loads(text).get("model")
        except (ValueError, AttributeError):
            continue
        if isinstance(found, dict):
            return found
    return None


def _spark(ctx: Context, settings: Settings) -> SparkMatching | None:
    """The Spark session to match on, when ``[identity.matching] engine`` asks for it."""
    engine = settings.identity.matching.engine
    if engine == "duckdb" or (engine == "auto" and settings.engine.name != "spark"):
        return None
    from tagwise.engine.spark import spark_session  # noqa: PLC0415 (pyspark loads lazily)
    from tagwise.identity.matching import SparkMatching  # noqa: PLC0415

    session, work = spark_session(settings.engine, ctx.root)
    return SparkMatching(session, work)


def _apply(ctx: Context, resolution_id: int) -> None:
    wh, master, key = ctx.wh, ctx.master, ctx.key
    wh.execute(
        "CREATE OR REPLACE TEMP TABLE tw_changed AS SELECT * FROM tw_map WHERE new_cid <> old_cid"
    )
    record_events(wh, resolution_id)
    if wh.scalar("SELECT count(*) FROM tw_changed"):
        wh.execute(
            "UPDATE meta.customer_keys SET cid = c.new_cid FROM tw_changed c "
            "WHERE meta.customer_keys.rid = c.rid"
        )
        for spec in ctx.sources.sources.values():
            if spec.customer_key is None or spec.role == "customers":
                continue
            if not wh.has_table("src", spec.name):
                continue
            name = table("src", spec.name)
            wh.execute(
                f"UPDATE {name} SET cid = c.new_cid FROM tw_changed c "  # noqa: S608 (names quoted by ident()/table()/lit(), fixed tables)
                f"WHERE {name}.{ident(spec.customer_key)} = c.customer_id"
            )
        records = table(*RECORDS)
        wh.execute(
            f"UPDATE {records} SET cid = c.new_cid FROM tw_changed c "  # noqa: S608 (names quoted by ident()/table()/lit(), fixed tables)
            f"WHERE {records}.{ident(key)} = c.customer_id"
        )
    wh.execute(f"DROP TABLE IF EXISTS {table('src', master.name)}")
    wh.execute(
        f"ALTER TABLE {table('src', '__golden__' + master.name)} RENAME TO {ident(master.name)}"
    )
    for name, scratch in (
        ("identifiers", "tw_ids"),
        ("lineage", "tw_lineage"),
        ("matches", MATCHES),
    ):
        wh.execute(f"DELETE FROM ident.{name}")  # noqa: S608 (names quoted by ident()/table()/lit(), fixed tables)
        wh.execute(f"INSERT INTO ident.{name} SELECT * FROM {scratch}")  # noqa: S608 (names quoted by ident()/table()/lit(), fixed tables)
    wh.execute("DELETE FROM ident.capped")
    wh.execute(
        "INSERT INTO ident.capped SELECT type, value, n, capped FROM tw_groups "
        "WHERE capped IS NOT NULL"
    )
    # review: undecided pairs between the thresholds that ended in different customers
    wh.execute("DELETE FROM ident.review")
    wh.execute(
        "INSERT INTO ident.review SELECT m.rid_l, m.rid_r, m.probability, now() "  # noqa: S608 (names quoted by ident()/table()/lit(), fixed tables)
        f"FROM {MATCHES} m JOIN tw_map a ON a.rid = m.rid_l JOIN tw_map b ON b.rid = m.rid_r "
        "WHERE a.new_cid <> b.new_cid AND NOT EXISTS (SELECT 1 FROM ident.decisions d "
        "WHERE (d.rid_a = m.rid_l AND d.rid_b = m.rid_r) OR (d.rid_a = m.rid_r "
        "AND d.rid_b = m.rid_l))"
    )


def _count(ctx: Context, report: ResolveReport) -> None:
    wh = ctx.wh
    report.records = int(wh.scalar("SELECT count(*) FROM tw_map"))
    report.customers = int(wh.scalar("SELECT count(DISTINCT new_cid) FROM tw_map"))
    report.merged_customers = int(wh.scalar("SELECT count(*) FROM tw_multi"))
    report.merged_records = int(
        wh.scalar("SELECT count(*) FROM tw_map WHERE new_cid IN (SELECT cid FROM tw_multi)")
    )
    report.identifiers = int(wh.scalar("SELECT count(*) FROM tw_ids"))
    report.linking_identifiers = int(
        wh.scalar("SELECT count(*) FROM tw_groups WHERE capped IS NULL")
    )
    report.capped = int(wh.scalar("SELECT count(*) FROM ident.capped"))
    report.review = int(wh.scalar("SELECT count(*) FROM ident.review"))
    report.matches = int(
        wh.scalar("SELECT count(DISTINCT grp) FROM tw_links WHERE why LIKE 'match %'")
    )
    report.changed = int(wh.scalar("SELECT count(*) FROM tw_changed"))
    report.events = {
        str(k): int(n)
        for k, n in wh.rows(
            "SELECT kind, count(*) FROM ident.events WHERE resolution_id = ? GROUP BY kind "
            "ORDER BY kind",
            [report.resolution_id],
        )
    }
