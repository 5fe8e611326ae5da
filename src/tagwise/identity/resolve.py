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
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tagwise import __version__
from tagwise.errors import EngineError, NotFound, SpecError
from tagwise.spec.sources import (
    MATCH_FIELDS,
    ColumnType,
    GoldenSpec,
    SourceSpec,
    SourcesSpec,
    Survivorship,
)
from tagwise.store.sql import ident, lit, lit_list, table

if TYPE_CHECKING:
    from tagwise.identity.matching import SparkMatching
    from tagwise.settings import IdentitySettings, Settings
    from tagwise.store.warehouse import Warehouse

__all__ = [
    "RECORDS",
    "ResolveReport",
    "decide",
    "ensure_identity",
    "is_dirty",
    "mark_dirty",
    "members",
    "record_of",
    "resolve",
    "rows_table",
    "touches_identity",
]

RECORDS = ("ident", "records")
"""Where ingestion keeps the customer master's rows (every record, merged or not)."""
_LAYOUT = 1
_MATCHES = "stage.matches"
_MATCHED = "ident.matched"
"""The fingerprint of the records and settings behind ``ident.matches``."""
_MAX_ROUNDS = 200

_TABLES = """
CREATE SCHEMA IF NOT EXISTS ident;
CREATE TABLE IF NOT EXISTS ident.identifiers (
    rid INTEGER NOT NULL, type VARCHAR NOT NULL, value VARCHAR NOT NULL, source VARCHAR NOT NULL
);
CREATE TABLE IF NOT EXISTS ident.capped (
    type VARCHAR NOT NULL, value VARCHAR NOT NULL, records INTEGER NOT NULL,
    reason VARCHAR NOT NULL
);
CREATE TABLE IF NOT EXISTS ident.matches (
    rid_l INTEGER NOT NULL, rid_r INTEGER NOT NULL, probability DOUBLE NOT NULL, weight DOUBLE
);
CREATE TABLE IF NOT EXISTS ident.review (
    rid_l INTEGER NOT NULL, rid_r INTEGER NOT NULL, probability DOUBLE NOT NULL,
    found_at TIMESTAMP NOT NULL
);
CREATE TABLE IF NOT EXISTS ident.decisions (
    decision_id INTEGER PRIMARY KEY, kind VARCHAR NOT NULL, rid_a INTEGER NOT NULL,
    rid_b INTEGER NOT NULL, reason VARCHAR, actor VARCHAR, decided_at TIMESTAMP NOT NULL
);
CREATE TABLE IF NOT EXISTS ident.events (
    resolution_id INTEGER NOT NULL, happened_at TIMESTAMP NOT NULL, rid INTEGER NOT NULL,
    customer_id VARCHAR NOT NULL, old_cid INTEGER NOT NULL, new_cid INTEGER NOT NULL,
    kind VARCHAR NOT NULL, reason VARCHAR
);
CREATE TABLE IF NOT EXISTS ident.resolutions (
    resolution_id INTEGER PRIMARY KEY, resolved_at TIMESTAMP NOT NULL, report VARCHAR NOT NULL
);
CREATE TABLE IF NOT EXISTS ident.lineage (
    cid INTEGER NOT NULL, attribute VARCHAR NOT NULL, rid INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS ident.state (dirty BOOLEAN NOT NULL);
"""


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
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


# --------------------------------------------------------------------------- layout


def ensure_identity(wh: Warehouse, master: Callable[[], SourceSpec | None]) -> None:
    """Create the identity tables; upgrade a warehouse from before identity resolution.

    Before, ``meta.customer_keys`` gave each record its own unique cid and ``src.<master>``
    held the records: the cid becomes the record's ``rid`` (and stays its customer until
    the next resolution), and the records are copied to ``ident.records``. ``master`` is
    asked only when there is something to create (every command opens the warehouse).
    """
    wh.execute("CREATE TABLE IF NOT EXISTS meta.layout (part VARCHAR PRIMARY KEY, version INTEGER)")
    if wh.scalar("SELECT version FROM meta.layout WHERE part = 'identity'") == _LAYOUT:
        return
    spec = master()
    with wh.transaction():
        wh.execute(_TABLES)
        columns = {c for c, _ in wh.columns("meta.customer_keys")}
        if "rid" not in columns:
            wh.execute(
                "CREATE TABLE meta.tw_keys AS SELECT customer_id, cid, first_seen, cid AS rid "
                "FROM meta.customer_keys"
            )
            wh.execute("DROP TABLE meta.customer_keys")
            wh.execute(
                "CREATE TABLE meta.customer_keys (customer_id VARCHAR PRIMARY KEY, "
                "cid INTEGER NOT NULL, first_seen TIMESTAMP NOT NULL, "
                "rid INTEGER NOT NULL UNIQUE)"
            )
            wh.execute("INSERT INTO meta.customer_keys SELECT * FROM meta.tw_keys")
            wh.execute("DROP TABLE meta.tw_keys")
        if spec is not None and wh.has_table("src", spec.name) and not wh.has_table(*RECORDS):
            wh.execute(f"CREATE TABLE {table(*RECORDS)} AS SELECT * FROM {table('src', spec.name)}")
            mark_dirty(wh)
        wh.execute("INSERT OR REPLACE INTO meta.layout VALUES ('identity', ?)", [_LAYOUT])


def mark_dirty(wh: Warehouse, *, dirty: bool = True) -> None:
    """Note that records or identifiers changed since the last resolution (call inside the
    ingest's transaction); ``dirty=False``: a resolution has caught up with them."""
    wh.execute("DELETE FROM ident.state")
    wh.execute("INSERT INTO ident.state VALUES (?)", [dirty])


def rows_table(spec: SourceSpec) -> tuple[str, str]:
    """Where a source's rows are: the customer master's are records (``src.<master>`` is
    their golden record), the other sources' are ``src.<source>``."""
    return RECORDS if spec.role == "customers" else ("src", spec.name)


def is_dirty(wh: Warehouse) -> bool:
    """Whether an ingest changed records or identifiers after the last resolution."""
    return bool(wh.scalar("SELECT coalesce(bool_or(dirty), FALSE) FROM ident.state"))


def touches_identity(spec: SourceSpec) -> bool:
    """Whether ingesting this source can change who is who."""
    return spec.role == "customers" or bool(spec.identity)


# --------------------------------------------------------------------------- resolve


@dataclass(frozen=True, slots=True)
class _Context:
    wh: Warehouse
    sources: SourcesSpec
    master: SourceSpec
    key: str
    settings: IdentitySettings
    root: Path
    """The workspace folder (``[engine] spark_work`` is relative to it)."""

    @property
    def name_column(self) -> str | None:
        """The master's name column when names decide who shares an identifier (``None``:
        no ``match_on`` name, or ``identity.name_distance`` is 0)."""
        name = (self.master.match_on or {}).get("name")
        return name if self.settings.name_distance else None


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
    ctx = _Context(wh, sources, master, master.customer_key, chosen, root or Path.cwd())
    report = ResolveReport()
    clock = _Clock(report, progress)
    clock.step("records")
    _records(ctx)
    clock.step("identifiers")
    _identifiers(ctx)
    clock.step("caps")
    _groups(ctx)
    clock.step("matching")
    upper, fingerprint, report.matching = _match(ctx, settings)
    clock.step("links")
    _links(ctx, upper)
    clock.step("components")
    report.rounds = _components(wh)
    clock.step("golden record")
    _golden(ctx)
    clock.step("writing")
    resolution_id = int(
        wh.scalar("SELECT coalesce(max(resolution_id), 0) + 1 FROM ident.resolutions")
    )
    report.resolution_id = resolution_id
    with wh.transaction():
        _apply(ctx, resolution_id)
        if fingerprint is not None:
            wh.execute(f"DELETE FROM {_MATCHED}")
            wh.execute(f"INSERT INTO {_MATCHED} VALUES (?)", [fingerprint])
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
    wh.execute(f"DROP TABLE IF EXISTS {_MATCHES}")
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


def _records(ctx: _Context) -> None:
    """``tw_rec``: every record with its rid, current cid and the conflict columns."""
    conflict = "".join(f", r.{ident(c)}" for c in ctx.settings.conflict_columns)
    if ctx.name_column is not None:
        conflict += f", replace(CAST(r.{ident(ctx.name_column)} AS VARCHAR), ' ', '') AS tw_name"
    ctx.wh.execute(
        f"CREATE OR REPLACE TEMP TABLE tw_rec AS SELECT k.rid, k.cid AS old_cid, "
        f"k.customer_id{conflict} FROM {table(*RECORDS)} r "
        f"JOIN meta.customer_keys k ON k.customer_id = r.{ident(ctx.key)}"
    )


def _identifiers(ctx: _Context) -> None:
    """``ident.identifiers``: (rid, type, value, source) from every source's identity columns."""
    wh = ctx.wh
    wh.execute("CREATE OR REPLACE TEMP TABLE tw_ids AS SELECT * FROM ident.identifiers LIMIT 0")
    for spec in ctx.sources.sources.values():
        if not spec.identity or spec.customer_key is None:
            continue
        schema, name = rows_table(spec)
        if not wh.has_table(schema, name):
            continue
        key = ident(spec.customer_key)
        values = " UNION ALL ".join(
            f"SELECT {key} AS key, {lit(kind)} AS type, {_standard(spec, column)} AS v "
            f"FROM {table(schema, name)}"
            for column, kind in spec.identity.items()
        )
        # every identity column of the source, joined to the keys once
        wh.execute(
            f"INSERT INTO tw_ids SELECT DISTINCT k.rid, s.type, s.v, {lit(spec.name)} "
            f"FROM ({values}) s JOIN meta.customer_keys k ON k.customer_id = s.key "
            "WHERE s.v IS NOT NULL AND s.v <> ''"
        )


def _standard(spec: SourceSpec, column: str) -> str:
    """An identifier's comparable text: ingestion already standardized phones (E.164) and
    emails (lower case); other text is trimmed, with inner spaces removed."""
    name = ident(column)
    if spec.columns[column].type in {ColumnType.PHONE, ColumnType.EMAIL}:
        return f"CAST({name} AS VARCHAR)"
    return f"replace(trim(CAST({name} AS VARCHAR)), ' ', '')"


def _groups(ctx: _Context) -> None:
    """``tw_groups``: identifier values of strong types shared by several records, with the
    verdict: usable, or capped (too many records / conflicting records)."""
    wh, s = ctx.wh, ctx.settings
    conflicts = ", ".join(
        f"count(DISTINCT r.{ident(c)}) AS {ident('n_' + c)}" for c in s.conflict_columns
    )
    kinds = sorted({k for spec in ctx.sources.sources.values() for k in spec.identity.values()})
    caps = " ".join(f"WHEN {lit(k)} THEN {s.cap(k)}" for k in kinds) or "WHEN NULL THEN 0"
    strong = lit_list(s.strong)
    reasons = [
        "WHEN n > cap THEN 'shared by ' || n || ' records (cap ' || cap || ')'",
        *(
            f"WHEN {ident('n_' + c)} > 1 THEN 'records disagree on {c} (' || "
            f"{ident('n_' + c)} || ' values)'"
            for c in s.conflict_columns
        ),
    ]
    wh.execute(
        f"CREATE OR REPLACE TEMP TABLE tw_groups AS SELECT *, CASE {' '.join(reasons)} END "
        f"AS capped FROM (SELECT i.type, i.value, count(DISTINCT i.rid) AS n, "
        f"CASE i.type {caps} ELSE {s.default_max_records} END AS cap"
        f"{', ' + conflicts if conflicts else ''} "
        f"FROM tw_ids i JOIN tw_rec r ON r.rid = i.rid WHERE list_contains({strong}, i.type) "
        f"GROUP BY i.type, i.value HAVING count(DISTINCT i.rid) > 1)"
    )
    if ctx.name_column is not None:  # _records added tw_name
        # two names further apart than a typo: different people (a family phone whose
        # members' birthdays are missing); groups under the cap are small, so pairs are few
        distance = int(s.name_distance)
        wh.execute(
            "UPDATE tw_groups SET capped = 'records disagree on name (' || c.names || ')' "
            "FROM (SELECT a.type, a.value, string_agg(DISTINCT ra.tw_name, ' / ') AS names "
            "FROM tw_groups g JOIN tw_ids a ON a.type = g.type AND a.value = g.value "
            "JOIN tw_ids b ON b.type = a.type AND b.value = a.value AND b.rid > a.rid "
            "JOIN tw_rec ra ON ra.rid = a.rid JOIN tw_rec rb ON rb.rid = b.rid "
            f"WHERE g.capped IS NULL AND levenshtein(ra.tw_name, rb.tw_name) >= {distance} "
            "GROUP BY a.type, a.value) c "
            "WHERE tw_groups.type = c.type AND tw_groups.value = c.value"
        )


def _match(ctx: _Context, settings: Settings) -> tuple[float | None, str | None, str]:
    """Probabilistic pairs into ``stage.matches``; returns the merge threshold (None: off),
    the fingerprint of what was matched and where (``ResolveReport.matching``).

    Matching is deterministic, so when the compared fields of every record and the
    settings are those of the last resolution (a daily ingest that changed no customer
    record), its pairs are reused instead of computed again.
    """
    wh = ctx.wh
    wh.execute(f"CREATE OR REPLACE TABLE {_MATCHES} AS SELECT * FROM ident.matches LIMIT 0")
    matching = settings.identity.matching
    if not ctx.master.match_on or not matching.enabled:
        return None, None, "off"
    from tagwise.identity.matching import match_pairs  # noqa: PLC0415 (splink loads lazily)

    fields = ", ".join(
        f"r.{ident(column)} AS {ident(name)}" for name, column in ctx.master.match_on.items()
    )
    missing = [f for f in MATCH_FIELDS if f not in ctx.master.match_on]
    nulls = "".join(f", NULL AS {ident(f)}" for f in missing)
    records = (
        f"SELECT k.rid, {fields}{nulls} FROM {table(*RECORDS)} r "
        f"JOIN meta.customer_keys k ON k.customer_id = r.{ident(ctx.key)}"
    )
    digest = wh.scalar(
        f"SELECT count(*) || ':' || coalesce(bit_xor(hash(rid, {', '.join(MATCH_FIELDS)})), 0) "
        f"FROM ({records})"
    )
    fingerprint = f"{digest}|{matching.model_dump_json()}|{__version__}"
    wh.execute(f"CREATE TABLE IF NOT EXISTS {_MATCHED} (fingerprint VARCHAR)")
    if wh.scalar(f"SELECT max(fingerprint) FROM {_MATCHED}") == fingerprint:
        wh.execute(f"INSERT INTO {_MATCHES} SELECT * FROM ident.matches")
        where = "reused"
    else:
        spark = _spark(ctx, settings)
        where = match_pairs(wh, records, settings=matching, target=_MATCHES, spark=spark).engine
    return float(matching.upper), fingerprint, where


def _spark(ctx: _Context, settings: Settings) -> SparkMatching | None:
    """The Spark session to match on, when ``[identity.matching] engine`` asks for it."""
    engine = settings.identity.matching.engine
    if engine == "duckdb" or (engine == "auto" and settings.engine.name != "spark"):
        return None
    from tagwise.engine.spark import spark_session  # noqa: PLC0415 (pyspark loads lazily)
    from tagwise.identity.matching import SparkMatching  # noqa: PLC0415

    session, work = spark_session(settings.engine, ctx.root)
    return SparkMatching(session, work)


def _links(ctx: _Context, upper: float | None) -> None:
    """``tw_links(grp, rid, why)``: the groups whose records are one customer."""
    wh = ctx.wh
    wh.execute(
        "CREATE OR REPLACE TEMP TABLE tw_links AS "
        "SELECT hash(g.type, g.value) AS grp, i.rid, g.type || ' ' || g.value AS why "
        "FROM tw_groups g JOIN tw_ids i ON i.type = g.type AND i.value = g.value "
        "WHERE g.capped IS NULL"
    )
    # a separate decision (a kept apart from b, not merged again later) removes a from every
    # group it shares with b
    wh.execute(
        "CREATE OR REPLACE TEMP TABLE tw_cut AS SELECT DISTINCT a.grp, a.rid FROM tw_links a "
        "JOIN tw_links b ON b.grp = a.grp JOIN ident.decisions d ON d.kind = 'separate' "
        "AND d.rid_a = a.rid AND d.rid_b = b.rid WHERE NOT EXISTS (SELECT 1 FROM "
        "ident.decisions m WHERE m.kind = 'merge' AND m.decision_id > d.decision_id AND "
        "((m.rid_a = d.rid_a AND m.rid_b = d.rid_b) OR (m.rid_a = d.rid_b AND m.rid_b = d.rid_a)))"
    )
    wh.execute(
        "CREATE OR REPLACE TEMP TABLE tw_links AS SELECT * FROM tw_links "
        "ANTI JOIN tw_cut USING (grp, rid)"
    )
    separated = (
        "NOT EXISTS (SELECT 1 FROM ident.decisions d WHERE d.kind = 'separate' AND "
        "((d.rid_a = m.rid_l AND d.rid_b = m.rid_r) OR (d.rid_a = m.rid_r AND d.rid_b = m.rid_l)))"
    )
    if upper is not None:
        wh.execute(
            "INSERT INTO tw_links SELECT hash('match', m.rid_l, m.rid_r), u.rid, "
            f"'match ' || printf('%.4f', m.probability) FROM {_MATCHES} m, "
            "LATERAL (SELECT unnest([m.rid_l, m.rid_r]) AS rid) u "
            f"WHERE m.probability >= {float(upper)!r} AND {separated}"
        )
    later_separate = (
        "NOT EXISTS (SELECT 1 FROM ident.decisions s WHERE s.kind = 'separate' "
        "AND s.decision_id > d.decision_id AND ((s.rid_a = d.rid_a AND s.rid_b = d.rid_b) "
        "OR (s.rid_a = d.rid_b AND s.rid_b = d.rid_a)))"
    )
    wh.execute(
        "INSERT INTO tw_links SELECT hash('decision', d.decision_id), u.rid, "
        "'merge decision #' || d.decision_id || coalesce(' by ' || d.actor, '') "
        "FROM ident.decisions d, LATERAL (SELECT unnest([d.rid_a, d.rid_b]) AS rid) u "
        f"WHERE d.kind = 'merge' AND {later_separate}"
    )
    # only records that are still in the master take part
    wh.execute("DELETE FROM tw_links WHERE rid NOT IN (SELECT rid FROM tw_rec)")


def _components(wh: Warehouse) -> int:
    """Label propagation over the record–group graph: every record's label becomes the
    smallest rid of its connected component. Returns the number of rounds."""
    wh.execute(
        "CREATE OR REPLACE TEMP TABLE tw_label AS SELECT DISTINCT rid, rid AS label FROM tw_links"
    )
    rounds = 0
    while True:
        rounds += 1
        if rounds > _MAX_ROUNDS:
            raise EngineError(f"identity resolution did not converge in {_MAX_ROUNDS} rounds")
        wh.execute(
            "CREATE OR REPLACE TEMP TABLE tw_next AS "
            "WITH g AS (SELECT l.grp, min(b.label) AS label FROM tw_links l "
            "JOIN tw_label b ON b.rid = l.rid GROUP BY l.grp) "
            "SELECT b.rid, least(b.label, min(g.label)) AS label FROM tw_label b "
            "JOIN tw_links l ON l.rid = b.rid JOIN g ON g.grp = l.grp GROUP BY b.rid, b.label"
        )
        changed = int(
            wh.scalar(
                "SELECT count(*) FROM tw_next n JOIN tw_label b ON b.rid = n.rid "
                "WHERE n.label <> b.label"
            )
        )
        wh.execute("DROP TABLE tw_label")
        wh.execute("ALTER TABLE tw_next RENAME TO tw_label")
        if not changed:
            break
    wh.execute(
        "CREATE OR REPLACE TEMP TABLE tw_map AS SELECT r.rid, r.customer_id, r.old_cid, "
        "coalesce(l.label, r.rid) AS new_cid FROM tw_rec r LEFT JOIN tw_label l ON l.rid = r.rid"
    )
    return rounds


# --------------------------------------------------------------------------- golden record


def _golden(ctx: _Context) -> None:
    """``src.__golden__<master>``: one row per customer. A customer of one record is that
    record; the others take each attribute by its survivorship rule; ``tw_lineage`` names
    the record each attribute of those came from."""
    wh, master, key = ctx.wh, ctx.master, ctx.key
    golden = master.golden or GoldenSpec()
    records = table(*RECORDS)
    target = table("src", "__golden__" + master.name)
    columns = [c for c, _ in wh.columns(records) if c != "cid"]
    wh.execute(
        "CREATE OR REPLACE TEMP TABLE tw_multi AS SELECT new_cid AS cid FROM tw_map "
        "GROUP BY new_cid HAVING count(*) > 1"
    )
    member = (
        f"SELECT m.new_cid AS cid, m.rid, r.* EXCLUDE (cid) FROM {records} r "
        f"JOIN tw_map m ON m.customer_id = r.{ident(key)}"
    )
    wh.execute(
        f"CREATE OR REPLACE TEMP TABLE tw_members AS {member} "
        "WHERE m.new_cid IN (SELECT cid FROM tw_multi)"
    )
    attributes = [c for c in columns if c not in (key, "_file", "_line")]
    picks = [f"arg_min({ident(c)}, rid) AS {ident(c)}" for c in columns if c not in attributes]
    lineage: list[str] = []
    for column in attributes:
        name = ident(column)
        rule = golden.rule(column)
        order = (
            f"(-{ident('#' + column)}, rid)"
            if rule is Survivorship.MOST_FREQUENT
            else _order(golden, rule)
        )
        picks.append(f"arg_min({name}, {order}) FILTER (WHERE {name} IS NOT NULL) AS {name}")
        lineage.append(
            f"arg_min(rid, {order}) FILTER (WHERE {name} IS NOT NULL) AS {ident('@' + column)}"
        )
    frequent = [c for c in attributes if golden.rule(c) is Survivorship.MOST_FREQUENT]
    source = "tw_members m"
    for column in frequent:
        name = ident(column)
        alias = ident("#" + column)
        source += (
            f" LEFT JOIN (SELECT cid, {name}, count(*) AS {alias} FROM tw_members "
            f"GROUP BY cid, {name}) USING (cid, {name})"
        )
    wh.execute(
        f"CREATE OR REPLACE TEMP TABLE tw_gold AS SELECT cid, {', '.join(picks + lineage)} "
        f"FROM (SELECT * FROM {source}) GROUP BY cid"
    )
    listed = ", ".join(ident(c) for c in columns)
    wh.execute(
        f"CREATE OR REPLACE TABLE {target} AS "
        f"SELECT m.new_cid AS cid, {', '.join('r.' + ident(c) for c in columns)} FROM {records} r "
        f"JOIN tw_map m ON m.customer_id = r.{ident(key)} "
        "WHERE m.new_cid NOT IN (SELECT cid FROM tw_multi) "
        f"UNION ALL SELECT cid, {listed} FROM tw_gold"
    )
    if attributes:
        unpivot = " UNION ALL ".join(
            f"SELECT cid, {lit(c)} AS attribute, {ident('@' + c)} AS rid FROM tw_gold "
            f"WHERE {ident('@' + c)} IS NOT NULL"
            for c in attributes
        )
        wh.execute(f"CREATE OR REPLACE TEMP TABLE tw_lineage AS {unpivot}")
    else:
        wh.execute("CREATE OR REPLACE TEMP TABLE tw_lineage AS SELECT * FROM ident.lineage LIMIT 0")


def _order(golden: GoldenSpec, rule: Survivorship) -> str:
    """The ``arg_min`` key that puts the surviving record of a rule first."""
    if rule is Survivorship.MOST_RECENT:
        assert golden.order_by is not None  # noqa: S101 (the spec checks it)
        moment = f"CAST({ident(golden.order_by)} AS TIMESTAMP)"
        return f"(CASE WHEN {moment} IS NULL THEN 1 ELSE 0 END, -epoch_us({moment}), rid)"
    if rule is Survivorship.SOURCE_PRIORITY:
        assert golden.priority is not None  # noqa: S101 (the spec checks it)
        order = lit_list(golden.priority.order)
        position = f"list_position({order}, CAST({ident(golden.priority.column)} AS VARCHAR))"
        return f"(coalesce({position}, {len(golden.priority.order) + 1}), rid)"
    return "rid"


# --------------------------------------------------------------------------- apply


def _apply(ctx: _Context, resolution_id: int) -> None:
    wh, master, key = ctx.wh, ctx.master, ctx.key
    wh.execute(
        "CREATE OR REPLACE TEMP TABLE tw_changed AS SELECT * FROM tw_map WHERE new_cid <> old_cid"
    )
    _events(wh, resolution_id)
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
                f"UPDATE {name} SET cid = c.new_cid FROM tw_changed c "
                f"WHERE {name}.{ident(spec.customer_key)} = c.customer_id"
            )
        records = table(*RECORDS)
        wh.execute(
            f"UPDATE {records} SET cid = c.new_cid FROM tw_changed c "
            f"WHERE {records}.{ident(key)} = c.customer_id"
        )
    wh.execute(f"DROP TABLE IF EXISTS {table('src', master.name)}")
    wh.execute(
        f"ALTER TABLE {table('src', '__golden__' + master.name)} RENAME TO {ident(master.name)}"
    )
    for name, scratch in (
        ("identifiers", "tw_ids"),
        ("lineage", "tw_lineage"),
        ("matches", _MATCHES),
    ):
        wh.execute(f"DELETE FROM ident.{name}")
        wh.execute(f"INSERT INTO ident.{name} SELECT * FROM {scratch}")
    wh.execute("DELETE FROM ident.capped")
    wh.execute(
        "INSERT INTO ident.capped SELECT type, value, n, capped FROM tw_groups "
        "WHERE capped IS NOT NULL"
    )
    # review: undecided pairs between the thresholds that ended in different customers
    wh.execute("DELETE FROM ident.review")
    wh.execute(
        "INSERT INTO ident.review SELECT m.rid_l, m.rid_r, m.probability, now() "
        f"FROM {_MATCHES} m JOIN tw_map a ON a.rid = m.rid_l JOIN tw_map b ON b.rid = m.rid_r "
        "WHERE a.new_cid <> b.new_cid AND NOT EXISTS (SELECT 1 FROM ident.decisions d "
        "WHERE (d.rid_a = m.rid_l AND d.rid_b = m.rid_r) OR (d.rid_a = m.rid_r "
        "AND d.rid_b = m.rid_l))"
    )


def _events(wh: Warehouse, resolution_id: int) -> None:
    """One history row per record whose customer changed, with what linked or parted it."""
    wh.execute(
        "CREATE OR REPLACE TEMP TABLE tw_why AS SELECT l.rid, "
        "string_agg(DISTINCT l.why, '; ' ORDER BY l.why) AS why FROM tw_links l "
        "JOIN tw_links o ON o.grp = l.grp AND o.rid <> l.rid "
        "WHERE l.rid IN (SELECT rid FROM tw_changed) GROUP BY l.rid"
    )
    kind = (
        "CASE WHEN c.new_cid = c.rid THEN 'split' WHEN c.old_cid = c.rid THEN 'merge' "
        "ELSE 'move' END"
    )
    parted = (
        "(SELECT 'separate decision #' || max(d.decision_id) FROM ident.decisions d "
        "WHERE d.kind = 'separate' AND c.rid IN (d.rid_a, d.rid_b))"
    )
    wh.execute(
        f"INSERT INTO ident.events SELECT {resolution_id}, now(), c.rid, c.customer_id, "
        f"c.old_cid, c.new_cid, {kind}, CASE WHEN c.new_cid = c.rid "
        f"THEN coalesce({parted}, 'no longer linked') ELSE coalesce(w.why, 'linked') END "
        "FROM tw_changed c LEFT JOIN tw_why w ON w.rid = c.rid"
    )


def _count(ctx: _Context, report: ResolveReport) -> None:
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


# --------------------------------------------------------------------------- reading, decisions


def record_of(wh: Warehouse, customer_id: str) -> tuple[int, int]:
    """(rid, cid) of a record key.

    Raises:
        NotFound: no record has that key.
    """
    row = wh.execute(
        "SELECT rid, cid FROM meta.customer_keys WHERE customer_id = ?", [customer_id]
    ).fetchone()
    if row is None:
        raise NotFound(
            f"customer `{customer_id}` does not exist",
            hint="customer ids are the customer master's keys, e.g. C00000001",
        )
    return int(row[0]), int(row[1])


def members(wh: Warehouse, master: SourceSpec, cid: int) -> list[dict[str, Any]]:
    """The records of a customer, oldest first, each with what links it to the others."""
    if not wh.has_table(*RECORDS) or master.customer_key is None:
        return []
    key = ident(master.customer_key)
    rows = wh.execute(
        f"SELECT k.customer_id, k.rid, r._file, r._line, (SELECT e.reason FROM ident.events e "
        f"WHERE e.rid = k.rid AND e.new_cid = k.cid ORDER BY e.resolution_id DESC LIMIT 1) "
        f"FROM meta.customer_keys k LEFT JOIN {table(*RECORDS)} r ON r.{key} = k.customer_id "
        "WHERE k.cid = ? ORDER BY k.rid",
        [cid],
    ).fetchall()
    return [
        {
            "customer_id": r[0],
            "rid": int(r[1]),
            "file": r[2],
            "line": r[3],
            "survivor": int(r[1]) == cid,
            "linked_by": r[4],
        }
        for r in rows
    ]


def decide(
    wh: Warehouse,
    kind: str,
    pairs: list[tuple[int, int]],
    *,
    reason: str,
    actor: str | None,
) -> list[int]:
    """Record people's decisions (``merge`` or ``separate``) on record pairs; returns ids.

    They take effect at the next resolution, which the caller runs.
    """
    if kind not in {"merge", "separate"}:
        raise ValueError(kind)
    start = int(wh.scalar("SELECT coalesce(max(decision_id), 0) FROM ident.decisions"))
    now = datetime.now(UTC).replace(tzinfo=None)
    rows = [(start + i + 1, kind, a, b, reason, actor, now) for i, (a, b) in enumerate(pairs)]
    if rows:
        wh.con.executemany("INSERT INTO ident.decisions VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
    return [r[0] for r in rows]
