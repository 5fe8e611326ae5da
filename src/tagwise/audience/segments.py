"""The operations on saved segments, wired to the stores: the ``Workspace``'s ``segment_*``
methods call these with the workspace, its checked specs and the acting actor.

Members come from the bitmap index (``Workspace.segment_members``), customer ids from
``Workspace.customer_ids``; versions and snapshots live in the catalog.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc
from pydantic import ValidationError

from tagwise.audience.columns import ColumnSources, member_table
from tagwise.audience.explain import explain_segment
from tagwise.audience.export import MemberList, control_path, file_format, write_lists
from tagwise.audience.holdout import control_mask
from tagwise.audience.overlap import overlap
from tagwise.audience.snapshot import cid_array, decode, encode
from tagwise.errors import Conflict, NotFound, SpecError, did_you_mean
from tagwise.identity.store import record_of
from tagwise.lang import parse
from tagwise.lang.expand import expand_segments, segments_used
from tagwise.model.actor import Actor
from tagwise.results import (
    SegmentDetail,
    SegmentExplainResult,
    SegmentExportFile,
    SegmentExportInfo,
    SegmentExportResult,
    SegmentList,
    SegmentOverlapResult,
    SegmentPredicate,
    SegmentSaveResult,
    SegmentSize,
    SegmentSnapshotInfo,
    SegmentSnapshotResult,
    SegmentSummary,
    TagVersion,
)
from tagwise.spec.plan import digest, make_plan, versions_to_apply
from tagwise.spec.segments import SegmentSpec, check_segment, save_segment, tags_read
from tagwise.store.catalog import SegmentExport, SegmentSnapshot, SpecVersion

if TYPE_CHECKING:
    from pyroaring import BitMap

    from tagwise.specs import Specs
    from tagwise.workspace import Workspace

__all__ = [
    "detail",
    "explain",
    "export",
    "listing",
    "new_spec",
    "overlap_of",
    "save",
    "segment_of",
    "snapshot",
]

_TREND_RUNS = 8
"""How many of the latest runs (distinct as-of dates) ``segment show`` sizes the segment at."""


def new_spec(name: str, expr: str, *, description: str = "", owner: str = "") -> SegmentSpec:
    """A segment from ``segment save``'s arguments.

    Raises:
        SpecError: the name or the expression is not allowed.
    """
    try:
        return SegmentSpec(name=name, expr=expr, description=description, owner=owner)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "segment"
        message = first["msg"].removeprefix("Value error, ")
        shown = name if field == "name" else expr
        raise SpecError(f"segment {field} `{shown}`: {message[:1].lower()}{message[1:]}") from exc


def segment_of(specs: Specs, name: str) -> SegmentSpec:
    """The saved segment called ``name``.

    Raises:
        NotFound: no such segment (with "did you mean").
    """
    saved = specs.segments.segments if specs.segments is not None else {}
    if name not in saved:
        raise NotFound(
            f"segment `{name}` is not saved",
            hint=did_you_mean(name, saved)
            or "`tagwise segment list` shows the saved segments; `segment save` saves one",
        )
    return saved[name]


def save(
    ws: Workspace,
    specs: Specs,
    spec: SegmentSpec,
    *,
    actor: Actor,
) -> SegmentSaveResult:
    """Check the expression, write the segment's file and record its version."""
    assert specs.segments is not None and specs.segment_schema is not None  # noqa: S101 (valid specs have both)
    definitions = {**specs.segments.expressions(), spec.name: spec.expr}
    check_segment(
        spec.expr,
        schema=specs.segment_schema,
        definitions=definitions,
        drafts=specs.draft_tags,
        within=spec.name,
    )
    path = save_segment(ws.root / "segments", spec, specs.segments)
    recorded = ws.catalog.latest_versions("segment").get(spec.name)
    latest = {"segment": {spec.name: recorded} if recorded is not None else {}}
    items = {"segment": {spec.name: spec.definition()}}
    plan = make_plan(items, latest, kinds=("segment",))
    ws.catalog.add_versions(versions_to_apply(plan, items, latest, actor=actor.label))
    version = plan.changes[0].version if plan.changes else recorded.version if recorded else 1
    return SegmentSaveResult(
        name=spec.name,
        expr=spec.expr,
        file=_shown(ws, path),
        version=version,
        changed=bool(plan.changes),
    )


def listing(ws: Workspace, specs: Specs) -> SegmentList:
    """Every saved segment with its version and size now."""
    saved = specs.segments.segments if specs.segments is not None else {}
    latest = ws.catalog.latest_versions("segment")
    total = ws.customer_count()
    out = []
    for name, spec in saved.items():
        members = len(ws.segment_members(spec.expr))
        version = latest.get(name)
        out.append(
            SegmentSummary(
                name=name,
                expr=spec.expr,
                description=spec.description,
                owner=spec.owner,
                version=version.version if version else None,
                applied=_is_applied(spec, version),
                members=members,
                share=round(members / total, 4) if total else None,
            )
        )
    return SegmentList(segments=out)


def detail(ws: Workspace, specs: Specs, name: str) -> SegmentDetail:
    """A segment's definition, size, size trend across runs, what it reads and snapshots."""
    spec = segment_of(specs, name)
    assert specs.segments is not None and specs.segment_schema is not None  # noqa: S101 (valid specs have both)
    versions = ws.catalog.versions("segment", name)
    tree = expand_segments(
        parse(spec.expr), source=spec.expr, definitions=specs.segments.expressions()
    )
    members = len(ws.segment_members(spec.expr))
    total = ws.customer_count()
    where = specs.segments.files.get(name)
    return SegmentDetail(
        name=name,
        expr=spec.expr,
        description=spec.description,
        owner=spec.owner,
        file=_shown(ws, where) if where else "",
        version=versions[-1].version if versions else None,
        applied=_is_applied(spec, versions[-1] if versions else None),
        versions=[
            TagVersion(
                version=v.version, status=v.status, applied_at=v.applied_at, applied_by=v.applied_by
            )
            for v in versions
        ],
        members=members,
        share=round(members / total, 4) if total else None,
        tags_used=tags_read(tree, specs.segment_schema),
        segments_used=segments_used(parse(spec.expr)),
        trend=_trend(ws, spec),
        snapshots=[_snapshot_info(s) for s in ws.catalog.snapshots(name)],
        exports=[
            SegmentExportInfo(
                exported_at=e.exported_at,
                actor=e.actor,
                version=e.version,
                snapshot=e.snapshot,
                files=list(e.files),
                members=e.members,
                control_members=e.control_members,
                holdout=e.holdout,
            )
            for e in ws.catalog.exports(name, limit=10)
        ],
    )


def _trend(ws: Workspace, spec: SegmentSpec) -> list[SegmentSize]:
    """The size as of each of the latest runs, one per as-of date, oldest first."""
    by_day: dict[date, int] = {}
    for run in ws.catalog.runs(limit=100, status="ok"):
        if run.tags and run.as_of not in by_day:
            by_day[run.as_of] = run.id
        if len(by_day) == _TREND_RUNS:
            break
    return [
        SegmentSize(run_id=run_id, as_of=day, members=len(ws.segment_members(spec.expr, as_of=day)))
        for day, run_id in sorted(by_day.items())
    ]


def snapshot(
    ws: Workspace, specs: Specs, name: str, *, label: str, actor: Actor
) -> SegmentSnapshotResult:
    """Freeze the segment's members now under ``label``.

    Raises:
        Conflict: the label is taken, or the segment's file has changes not applied.
    """
    spec = segment_of(specs, name)
    if not label.strip():
        raise Conflict("a snapshot needs a label", hint="pass --label, e.g. --label 双11活动")
    version = _applied_version(ws, spec)
    seq = ws.tag_store.last_seq()
    members = ws.segment_members(spec.expr)
    bitmap, ids = encode(members, ws.customer_ids(members))
    taken = SegmentSnapshot(
        segment=name,
        label=label,
        version=version,
        expr=spec.expr,
        seq=seq,
        taken_at=datetime.now(UTC),
        actor=actor.label,
        members=len(members),
        bitmap=bitmap,
        customer_ids=ids,
    )
    ws.catalog.add_snapshot(taken)
    return SegmentSnapshotResult(name=name, **_snapshot_info(taken).model_dump())


def export(
    ws: Workspace,
    specs: Specs,
    name: str,
    *,
    out: Path,
    columns: Sequence[str] = (),
    holdout: float | None = None,
    seed: str | None = None,
    bom: bool = False,
    snapshot_label: str | None = None,
    actor: Actor,
) -> SegmentExportResult:
    """Write the segment's members (now, or a snapshot's) to ``out``; with ``holdout``, the
    control group to ``FILE.control.EXT`` beside it. All files or none; the export is then
    recorded in the catalog's export log with the actor."""
    spec = segment_of(specs, name)
    fmt = file_format(out)
    if snapshot_label is not None:
        members, ids, version = _recalled(ws, name, snapshot_label)
    else:
        version = _applied_version(ws, spec)
        members = ws.segment_members(spec.expr)
        ids = ws.customer_ids(members)
    cids = cid_array(members)
    sources = _column_sources(ws, specs) if columns else ColumnSources(profile=None)
    seed_used = seed if seed is not None else name
    lists: list[MemberList] = []
    control: SegmentExportFile | None = None
    if holdout is not None:
        mask = pa.array(control_mask(ids, share=holdout, seed=seed_used))
        rest = pc.invert(mask)
        target_cids, target_ids = cids.filter(rest), ids.filter(rest)
        control_cids, control_ids = cids.filter(mask), ids.filter(mask)
        held = member_table(
            ws.warehouse, sources, cids=control_cids, customer_ids=control_ids, columns=columns
        )
        lists.append(MemberList(control_path(out), held))
        control = SegmentExportFile(path=str(control_path(out)), members=held.num_rows)
    else:
        target_cids, target_ids = cids, ids
    table = member_table(
        ws.warehouse, sources, cids=target_cids, customer_ids=target_ids, columns=columns
    )
    done = SegmentExport(
        segment=name,
        version=version,
        snapshot=snapshot_label,
        exported_at=datetime.now(UTC),
        actor=actor.label,
        files=[str(out.resolve()), *([str(control_path(out).resolve())] if control else [])],
        members=len(members),
        control_members=control.members if control else None,
        holdout=holdout,
        seed=seed_used if holdout is not None else None,
        columns=list(columns),
    )
    # logged once every file is written in full, before they are renamed into place: a
    # log that cannot be written leaves the destinations as they were
    write_lists(
        [MemberList(out, table), *lists], bom=bom, before_rename=lambda: ws.catalog.add_export(done)
    )
    return SegmentExportResult(
        name=name,
        snapshot=snapshot_label,
        version=version,
        members=len(members),
        target=SegmentExportFile(path=str(out), members=table.num_rows),
        control=control,
        holdout=holdout,
        seed=seed_used if holdout is not None else None,
        columns=["customer_id", *[c for c in dict.fromkeys(columns) if c != "customer_id"]],
        file_format=fmt,
        bom=bom and fmt == "csv",
        exported_at=done.exported_at,
        actor=done.actor,
    )


def overlap_of(ws: Workspace, specs: Specs, names: Sequence[str]) -> SegmentOverlapResult:
    """Members shared by each pair of the named segments, and their Jaccard similarity."""
    unique = list(dict.fromkeys(names))
    found = overlap({n: ws.segment_members(segment_of(specs, n).expr) for n in unique})
    return SegmentOverlapResult(
        segments=list(found.names),
        sizes=list(found.sizes),
        shared=[list(row) for row in found.shared],
        jaccard=[[round(x, 6) for x in row] for row in found.jaccard],
    )


def explain(ws: Workspace, specs: Specs, name: str, customer_id: str) -> SegmentExplainResult:
    """Which predicates of the segment one customer meets and which not, on the values the
    index evaluates (the profile relation and the current tags, as of today)."""
    spec = segment_of(specs, name)
    assert specs.segments is not None and specs.segment_schema is not None  # noqa: S101 (valid specs have both)
    _, cid = record_of(ws.warehouse, customer_id)
    row, run_id = _customer_row(ws, specs, int(cid))
    today = date.today()  # as Workspace.segment_members evaluates days_since and the like
    found = explain_segment(
        spec.expr,
        schema=specs.segment_schema,
        definitions=specs.segments.expressions(),
        row=row,
        as_of=today,
    )
    return SegmentExplainResult(
        name=name,
        expr=spec.expr,
        customer_id=customer_id,
        cid=int(cid),
        is_member=int(cid) in ws.segment_members(spec.expr),
        run_id=run_id,
        as_of=today,
        predicates=[
            SegmentPredicate(
                text=p.text, met=p.met, values=dict(p.values), segment=p.segment, depth=p.depth
            )
            for p in found.predicates
        ],
    )


# -- helpers -------------------------------------------------------------------------------


def _is_applied(spec: SegmentSpec, version: SpecVersion | None) -> bool:
    return version is not None and version.digest == digest(spec.definition())


def _applied_version(ws: Workspace, spec: SegmentSpec) -> int:
    """The recorded version the file's definition is.

    Raises:
        Conflict: the file's definition is not recorded (edited by hand, not applied).
    """
    latest = ws.catalog.latest_versions("segment").get(spec.name)
    if not _is_applied(spec, latest):
        raise Conflict(
            f"segment `{spec.name}` has changes that are not applied",
            hint="review them with `tagwise plan`, record them with `tagwise apply`",
        )
    assert latest is not None  # noqa: S101 (applied means recorded)
    return latest.version


def _recalled(ws: Workspace, name: str, label: str) -> tuple[BitMap, pa.Array, int | None]:
    found = ws.catalog.snapshot(name, label)
    if found is None:
        labels = [s.label for s in ws.catalog.snapshots(name)]
        raise NotFound(
            f"segment `{name}` has no snapshot `{label}`",
            hint=did_you_mean(label, labels)
            or (f"its snapshots: {', '.join(labels)}" if labels else "it has no snapshots yet"),
        )
    members, ids = decode(found.bitmap, found.customer_ids)
    return members, ids, found.version


def _snapshot_info(s: SegmentSnapshot) -> SegmentSnapshotInfo:
    return SegmentSnapshotInfo(
        label=s.label,
        version=s.version,
        seq=s.seq,
        taken_at=s.taken_at,
        actor=s.actor,
        members=s.members,
    )


def _column_sources(ws: Workspace, specs: Specs) -> ColumnSources:
    profile = ws.segment_evaluator.profile()
    tags = specs.tags.tags if specs.tags is not None else {}
    return ColumnSources(
        profile=profile.relation,
        profile_columns=list(profile.columns),
        features=list(specs.features.features) if specs.features is not None else [],
        tags={c: t.kind.value for c, t in tags.items() if t.status.value == "published"},
    )


def _customer_row(ws: Workspace, specs: Specs, cid: int) -> tuple[dict[str, Any], int | None]:
    """The customer's values as segments read them: the profile relation's row (attributes,
    the latest run's features) and the current tags (locks win; a multi tag is the list of
    its values, a flag true, a score tag its score); and the run of the features."""
    row: dict[str, Any] = {}
    profile = ws.segment_evaluator.profile()
    if profile.relation is not None:
        found = ws.warehouse.dicts(
            f"SELECT * FROM {profile.relation} p WHERE p.cid = ?",  # noqa: S608 (built by index.profile)
            [cid],
        )
        row.update(found[0] if found else {})
    kinds = {c: t.kind.value for c, t in specs.tags.tags.items()} if specs.tags else {}
    for value in ws.tag_store.current(cid=cid):
        kind = kinds.get(value.tag)
        if kind == "multi":
            row.setdefault(value.tag, []).append(value.value)
        elif kind == "flag":
            row[value.tag] = True
        elif kind == "score":
            row[value.tag] = value.score
        else:
            row[value.tag] = value.value
    return row, profile.run_id


def _shown(ws: Workspace, path: Path) -> str:
    try:
        return path.resolve().relative_to(ws.root).as_posix()
    except ValueError:
        return str(path)
