"""``tagwise run``: features → rules → values → diff → history → swap, as of a date.

Stages (each timed and reported):

1. **features**: the profile snapshot, a Parquet file (one GROUP BY per source);
2. **rules**: every selected tag, one SELECT per dependency layer into scratch tables;
3. **swap**: the long form of the layers read once: tags computed for the first time go
   straight into the current values, the others are diffed and only their changes end
   intervals and replace rows, in one warehouse transaction
   (:meth:`tagwise.store.tags.TagStore.swap_run`).

The catalog records the run before (``running``) and after (``ok`` / ``failed``). Scratch
tables of a failed or killed run are dropped by the next run; the previous values stay.
Profiles of the last :data:`KEEP_SNAPSHOTS` runs are kept so values can be explained.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlglot import exp

from tagwise.engine.base import Engine
from tagwise.engine.duckdb import DuckDBEngine
from tagwise.errors import (
    ConfigError,
    Conflict,
    Interrupted,
    NotFound,
    SpecError,
    TagwiseError,
)
from tagwise.spec.tags import Refresh, Status, TagSpec, TagsSpec
from tagwise.specs import Specs
from tagwise.store.catalog import Catalog, SpecVersion
from tagwise.store.tags import RunTag, TagStore
from tagwise.store.warehouse import Warehouse

if TYPE_CHECKING:
    from tagwise.compile.quantiles import Cuts
    from tagwise.compile.rules import TagPlan
    from tagwise.spec.sources import SourcesSpec

__all__ = [
    "EARLIEST_AS_OF",
    "KEEP_SNAPSHOTS",
    "LATEST_AS_OF_AHEAD",
    "RunReport",
    "check_as_of",
    "due_tags",
    "run_tags",
    "select_tags",
]

KEEP_SNAPSHOTS = 5
"""Profile snapshots kept for explanations (older ones are dropped after a run)."""

EARLIEST_AS_OF = date(1900, 1, 1)
"""The earliest as-of date of a run (windows of years before it still compute)."""
LATEST_AS_OF_AHEAD = timedelta(days=366)
"""How far after today a run's as-of date may be (a year of planned runs)."""

_DUE_AFTER = {
    Refresh.REALTIME: timedelta(hours=1),
    Refresh.HOURLY: timedelta(hours=1),
    Refresh.DAILY: timedelta(days=1),
    Refresh.WEEKLY: timedelta(days=7),
    Refresh.MONTHLY: timedelta(days=30),
}


@dataclass(slots=True)
class RunReport:
    """What a run did, filled in as it goes (the workspace returns it as a
    :class:`tagwise.results.RunResult`)."""

    run_id: int
    as_of: date
    tags: list[str]
    customers: int = 0
    tag_values: int = 0
    changes: int = 0
    timings: dict[str, float] = field(default_factory=dict)
    per_tag: dict[str, tuple[int, int]] = field(default_factory=dict)
    retired: list[str] = field(default_factory=list)


def select_tags(
    specs: Specs,
    *,
    codes: Sequence[str] | None,
    due: bool,
    last: Mapping[str, Mapping[str, Any]],
    now: datetime,
) -> list[TagSpec]:
    """The tags a run computes: named ones (plus what they depend on), due ones, or all
    non-manual, non-deprecated ones."""
    active = {c: t for c, t in _tags(specs).tags.items() if t.status is not Status.DEPRECATED}
    if codes:
        missing = [c for c in codes if c not in active]
        if missing:
            raise NotFound(
                f"tag `{missing[0]}` is not defined (or is deprecated)",
                hint="`tagwise tags list` shows the tags",
            )
        chosen = set(codes)
    elif due:
        chosen = set(due_tags(active.values(), last, now))
    else:
        chosen = {c for c, t in active.items() if t.refresh is not Refresh.MANUAL}
    needed = _with_dependencies(chosen, specs)
    return [t for c, t in active.items() if c in needed]


def due_tags(
    tags: Iterable[TagSpec], last: Mapping[str, Mapping[str, Any]], now: datetime
) -> list[str]:
    """Codes of tags whose refresh interval has passed since their last computation."""
    out = []
    for tag in tags:
        if tag.refresh is Refresh.MANUAL:
            continue
        previous = last.get(tag.code)
        if previous is None:
            out.append(tag.code)
            continue
        computed = previous["computed_at"]
        if computed.tzinfo is None:
            computed = computed.replace(tzinfo=UTC)
        if now - computed >= _DUE_AFTER[tag.refresh]:
            out.append(tag.code)
    return out


def check_as_of(as_of: date, *, today: date | None = None) -> date:
    """``as_of`` if a run can compute as of it: from :data:`EARLIEST_AS_OF` to
    :data:`LATEST_AS_OF_AHEAD` after today (later dates are typos, and the window
    arithmetic of dates near 9999-12-31 cannot be represented).

    Raises:
        ConfigError: the date is outside that range.
    """
    latest = (today or date.today()) + LATEST_AS_OF_AHEAD
    if EARLIEST_AS_OF <= as_of <= latest:
        return as_of
    raise ConfigError(
        f"as-of date `{as_of.isoformat()}` is out of range",
        hint=f"choose a date from {EARLIEST_AS_OF.isoformat()} to {latest.isoformat()}",
    )


def _tags(specs: Specs) -> TagsSpec:
    if specs.tags is None:  # load_specs always sets it; keep mypy honest
        raise SpecError("the tags folder could not be read")
    return specs.tags


def _plan(specs: Specs) -> TagPlan:
    if specs.plan is None:  # load_specs sets it when the specs have no errors
        raise SpecError("the tags have errors; run `tagwise lint` to see them")
    return specs.plan


def _with_dependencies(chosen: set[str], specs: Specs) -> set[str]:
    plan = _plan(specs)  # checked once when the specs loaded: no parsing again

    def reads(code: str) -> Iterable[str]:
        return plan.tags[code].depends_on

    closed = set(chosen)
    frontier = list(chosen)
    while frontier:
        code = frontier.pop()
        for dep in reads(code):
            if dep not in closed:
                closed.add(dep)
                frontier.append(dep)
    return closed


def run_tags(
    wh: Warehouse,
    catalog: Catalog,
    specs: Specs,
    tags: Sequence[TagSpec],
    *,
    as_of: date,
    actor: str,
    engine: Engine | None = None,
    progress: Callable[[str], None] | None = None,
) -> RunReport:
    """Compute ``tags`` as of ``as_of`` on ``engine`` (default: DuckDB in the warehouse)
    and make them current in the warehouse's tag store, atomically; the catalog records
    ``actor`` (an actor's label, ``alice@cli``) as who ran it.

    Raises:
        Conflict: the spec files differ from the applied versions, or a tag already has
            values as of a later date (history only moves forward).
        TagwiseError: the run failed; it is recorded as failed and nothing changed.
    """
    engine = engine or DuckDBEngine(wh)
    check_as_of(as_of)
    versions = _applied_versions(catalog, specs)
    store = TagStore(wh)
    store.check_forward(as_of, [t.code for t in tags] + _retired(store, specs))
    run_id = catalog.start_run(as_of, [t.code for t in tags], actor=actor, engine=engine.name)
    report = RunReport(run_id=run_id, as_of=as_of, tags=[t.code for t in tags])
    try:
        # row order means nothing in snapshots and tag values; letting DuckDB write them
        # in any order saves time and memory
        wh.execute("SET preserve_insertion_order = false")
        _execute(
            engine,
            store,
            specs,
            tags,
            versions=versions,
            report=report,
            progress=progress,
            actor=actor,
        )
    except TagwiseError as exc:
        catalog.finish_run(run_id, status="failed", timings=report.timings, error=str(exc))
        engine.drop_snapshot(run_id)
        raise
    except KeyboardInterrupt as exc:
        if not _committed(wh, run_id):
            raise _interrupted(catalog, engine, report) from exc
        # Ctrl-C after the warehouse commit: the run is done; record it as usual
    finally:
        wh.execute("RESET preserve_insertion_order")
    catalog.finish_run(
        run_id,
        status="ok",
        customers=report.customers,
        tag_values=report.tag_values,
        changes=report.changes,
        timings=report.timings,
    )
    now = datetime.now(UTC)
    catalog.record_computations(
        [
            {
                "tag": code,
                "run_id": run_id,
                "version": versions[code].version,
                "as_of": as_of,
                "computed_at": now,
                "customers": report.customers,
                "tag_values": values,
                "changes": changes,
            }
            for code, (values, changes) in report.per_tag.items()
        ]
    )
    engine.keep_snapshots({r.run_id for r in store.committed_runs(limit=KEEP_SNAPSHOTS)})
    return report


def _committed(wh: Warehouse, run_id: int) -> bool:
    """Whether the warehouse committed the run's values (``meta.runs`` holds it)."""
    if not wh.has_table("meta", "runs"):
        return False
    return bool(wh.scalar("SELECT count(*) FROM meta.runs WHERE run_id = ?", [run_id]))


def _interrupted(catalog: Catalog, engine: Engine, report: RunReport) -> Interrupted:
    """Record a run that Ctrl-C stopped before its commit; the error to raise."""
    message = "interrupted (Ctrl-C) before the run committed; nothing was changed"
    catalog.finish_run(report.run_id, status="interrupted", timings=report.timings, error=message)
    engine.drop_snapshot(report.run_id)
    return Interrupted(
        f"run {report.run_id} interrupted: nothing was changed, the previous values stay",
        hint="run it again when you are ready",
    )


def _execute(
    engine: Engine,
    store: TagStore,
    specs: Specs,
    tags: Sequence[TagSpec],
    *,
    versions: Mapping[str, SpecVersion],
    report: RunReport,
    progress: Callable[[str], None] | None,
    actor: str | None,
) -> None:
    from tagwise.compile.features import profile_select  # noqa: PLC0415
    from tagwise.engine.evaluate import evaluate_tags  # noqa: PLC0415

    if specs.features is None or specs.sources is None:
        raise SpecError("sources.yaml and features.yaml must load before a run")
    wh = store.wh
    step = progress or (lambda _m: None)
    started = time.perf_counter()
    step("features: building the profile")
    plan = _plan(specs).only([t.code for t in tags])  # checked: no second check
    query = profile_select(
        specs.features, specs.sources, as_of=report.as_of, attributes=plan.reads()
    )
    _check_ingested(wh, specs.sources, _source_reads(engine, query, plan))
    engine.prepare(wh, specs.sources)
    profile = engine.write_profile(query, report.run_id)
    report.customers = engine.count(profile)
    started = _lap(report, "features", started)
    step(f"rules: {len(tags)} tags")
    retire = _retired(store, specs)
    ids = store.tag_ids([t.code for t in tags], kinds={t.code: t.kind.value for t in tags})
    cuts: dict[str, Cuts] = {}
    with evaluate_tags(
        engine,
        plan,
        profile=profile,
        as_of=report.as_of,
        ids=ids,
        record_cuts=cuts.update,  # written by the swap, in its transaction
    ) as long_form:
        started = _lap(report, "rules", started)
        step("swap: diff, history and current values")
        values = _NO_VALUES if long_form is None else engine.export(long_form, wh)
        result = store.swap_run(
            new=values,
            actor=actor,
            cuts=cuts,
            run_id=report.run_id,
            as_of=report.as_of,
            retire=retire,
            tags=[RunTag(t.code, t.kind.value, versions[t.code].version) for t in tags],
        )
    _lap(report, "swap", started)
    report.tag_values, report.changes, report.per_tag = (
        result.tag_values,
        result.changes,
        result.per_tag,
    )
    report.retired = list(retire)


def _source_reads(engine: Engine, query: exp.Query, plan: TagPlan) -> set[str]:
    """The sources a run reads from the warehouse besides the customer master (whose keys
    every engine reads): on DuckDB every ``src`` table of the profile and of the SQL tags;
    none on the other engines, which check their own source tables when they prepare."""
    if engine.name != "duckdb":
        return set()
    trees = [query, *(t.sql.query for t in plan.tags.values() if t.sql is not None)]
    return {t.name for tree in trees for t in tree.find_all(exp.Table) if t.db == "src"}


def _check_ingested(wh: Warehouse, sources: SourcesSpec, reads: set[str]) -> None:
    """Refuse a run whose sources have not been ingested into the warehouse yet.

    Raises:
        NotFound: the customer master, or a source the run reads, was never ingested.
    """
    master = sources.customers
    first = [master.name] if master is not None else []
    needed = [*first, *sorted(reads - set(first))]
    missing = [name for name in needed if name in sources.sources and not wh.has_table("src", name)]
    if not missing:
        return
    if master is not None and missing[0] == master.name:
        raise NotFound(
            f"no data yet: the customer master `{master.name}` has not been ingested",
            hint="load the sources first with `tagwise ingest`",
        )
    more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
    raise NotFound(
        f"source `{missing[0]}` has not been ingested{more}",
        hint=f"load it first with `tagwise ingest {' '.join(missing)}`",
    )


_NO_VALUES = (
    "(SELECT CAST(NULL AS INTEGER) AS cid, CAST(NULL AS INTEGER) AS tag_id, "
    "CAST(NULL AS VARCHAR) AS value, CAST(NULL AS DOUBLE) AS score WHERE FALSE)"
)
"""The long form of a run without tags (only retired tags end)."""


def _lap(report: RunReport, stage: str, started: float) -> float:
    now = time.perf_counter()
    report.timings[stage] = round(now - started, 3)
    return now


def _applied_versions(catalog: Catalog, specs: Specs) -> dict[str, SpecVersion]:
    from tagwise.spec.plan import TAG_KINDS, make_plan  # noqa: PLC0415

    # saved segments are versioned too, but a run does not read them
    latest = {k: catalog.latest_versions(k) for k in TAG_KINDS}
    pending = make_plan(specs.items(), latest, kinds=TAG_KINDS).changes
    if pending:
        names = ", ".join(f"{c.kind} `{c.code}`" for c in pending[:3])
        more = f" and {len(pending) - 3} more" if len(pending) > 3 else ""
        raise Conflict(
            f"the spec files differ from the applied versions ({names}{more})",
            hint="review with `tagwise plan`, then record them with `tagwise apply`",
        )
    return latest["tag"]


def _retired(store: TagStore, specs: Specs) -> list[str]:
    """Deprecated (or removed) tags that still have current computed values."""
    active = {c for c, t in _tags(specs).tags.items() if t.status is not Status.DEPRECATED}
    return sorted(store.computed_tags() - active)
