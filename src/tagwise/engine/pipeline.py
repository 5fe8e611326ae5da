"""``tagwise run``: features → rules → values → diff → history → swap, as of a date.

Stages (each timed and reported):

1. **features**: the profile snapshot, a Parquet file (one GROUP BY per source);
2. **rules**: every selected tag, one SELECT per dependency layer into scratch tables;
3. **swap**: the long form of the layers read once: tags computed for the first time go
   straight into the current values, the others are diffed and only their changes end
   intervals and replace rows, in one warehouse transaction
   (:func:`tagwise.store.history.swap_values`).

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

from tagwise.engine.base import Engine
from tagwise.engine.duckdb import DuckDBEngine
from tagwise.errors import Conflict, NotFound, SpecError, TagwiseError
from tagwise.spec.tags import Refresh, Status, TagSpec, TagsSpec
from tagwise.specs import Specs
from tagwise.store.catalog import Catalog, SpecVersion
from tagwise.store.history import RunTag, computed_tags, ensure_tables, swap_values, tag_ids
from tagwise.store.warehouse import Warehouse

if TYPE_CHECKING:
    from tagwise.engine.rules import TagPlan

__all__ = ["KEEP_SNAPSHOTS", "RunReport", "due_tags", "run_tags", "select_tags"]

KEEP_SNAPSHOTS = 5
"""Profile snapshots kept for explanations (older ones are dropped after a run)."""

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
        Conflict: the spec files differ from the applied versions.
        TagwiseError: the run failed; it is recorded as failed and nothing changed.
    """
    engine = engine or DuckDBEngine(wh)
    versions = _applied_versions(catalog, specs)
    run_id = catalog.start_run(as_of, [t.code for t in tags], actor=actor, engine=engine.name)
    report = RunReport(run_id=run_id, as_of=as_of, tags=[t.code for t in tags])
    try:
        # row order means nothing in snapshots and tag values; letting DuckDB write them
        # in any order saves time and memory
        wh.execute("SET preserve_insertion_order = false")
        _execute(engine, wh, specs, tags, versions=versions, report=report, progress=progress)
    except TagwiseError as exc:
        catalog.finish_run(run_id, status="failed", timings=report.timings, error=str(exc))
        engine.drop_snapshot(run_id)
        raise
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
    committed = wh.rows(f"SELECT run_id FROM meta.runs ORDER BY run_id DESC LIMIT {KEEP_SNAPSHOTS}")
    engine.keep_snapshots({int(r[0]) for r in committed})
    return report


def _execute(
    engine: Engine,
    wh: Warehouse,
    specs: Specs,
    tags: Sequence[TagSpec],
    *,
    versions: Mapping[str, SpecVersion],
    report: RunReport,
    progress: Callable[[str], None] | None,
) -> None:
    from tagwise.engine.features import profile_select  # noqa: PLC0415
    from tagwise.engine.rules import evaluate_tags  # noqa: PLC0415

    if specs.features is None or specs.sources is None:
        raise SpecError("sources.yaml and features.yaml must load before a run")
    ensure_tables(wh)
    step = progress or (lambda _m: None)
    started = time.perf_counter()
    step("features: building the profile")
    plan = _plan(specs).only([t.code for t in tags])  # checked: no second check
    engine.prepare(wh, specs.sources)
    query = profile_select(
        specs.features, specs.sources, as_of=report.as_of, attributes=plan.reads()
    )
    profile = engine.write_profile(query, report.run_id)
    report.customers = engine.count(profile)
    started = _lap(report, "features", started)
    step(f"rules: {len(tags)} tags")
    retire = _retired(wh, specs)
    ids = tag_ids(wh, [t.code for t in tags], kinds={t.code: t.kind.value for t in tags})
    with evaluate_tags(engine, plan, profile=profile, as_of=report.as_of, ids=ids) as long_form:
        started = _lap(report, "rules", started)
        step("swap: diff, history and current values")
        values = _NO_VALUES if long_form is None else engine.export(long_form, wh)
        result = swap_values(
            wh,
            new=values,
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
    from tagwise.spec.plan import make_plan  # noqa: PLC0415

    latest = {k: catalog.latest_versions(k) for k in ("category", "feature", "tag")}
    pending = make_plan(specs.items(), latest).changes
    if pending:
        names = ", ".join(f"{c.kind} `{c.code}`" for c in pending[:3])
        more = f" and {len(pending) - 3} more" if len(pending) > 3 else ""
        raise Conflict(
            f"the spec files differ from the applied versions ({names}{more})",
            hint="review with `tagwise plan`, then record them with `tagwise apply`",
        )
    return latest["tag"]


def _retired(wh: Warehouse, specs: Specs) -> list[str]:
    """Deprecated (or removed) tags that still have current computed values."""
    active = {c for c, t in _tags(specs).tags.items() if t.status is not Status.DEPRECATED}
    return sorted(computed_tags(wh) - active)
