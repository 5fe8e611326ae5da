"""The catalog: repository functions over the SQLAlchemy tables.

SQLite by default (a file under ``.tagwise/``), PostgreSQL for a team server. The schema
is migrated to the latest Alembic revision whenever a workspace opens it, so workspaces
created by older versions keep working.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

from tagwise.errors import CatalogError, ConfigError, Conflict
from tagwise.model.versions import SpecVersion
from tagwise.store.tables import (
    ingest_runs,
    runs,
    segment_exports,
    segment_snapshots,
    spec_versions,
    tag_computations,
    workspace_meta,
)

__all__ = [
    "Catalog",
    "IngestRun",
    "RunRecord",
    "SegmentExport",
    "SegmentSnapshot",
    "SpecVersion",
    "resolve_url",
]

_MIGRATIONS = Path(__file__).parent / "migrations"


@dataclass(frozen=True, slots=True)
class IngestRun:
    """What one ``ingest`` of one source did."""

    source: str
    status: str
    started_at: datetime
    finished_at: datetime | None
    files: Sequence[str]
    read: int = 0
    loaded: int = 0
    rejected: int = 0
    new_customers: int = 0
    reasons: Mapping[str, int] = field(default_factory=dict)
    error: str | None = None
    actor: str = ""
    id: int | None = None


SETTLED_INGEST = (
    "the process stopped (killed or crashed) before the ingest was recorded; a source "
    "whose load had not committed keeps its previous data"
)
"""The error of an ingest that :meth:`Catalog.settle_ingests` found still running."""


@dataclass(frozen=True, slots=True)
class RunRecord:
    """One ``tagwise run`` as the catalog knows it."""

    id: int
    status: str
    as_of: date
    started_at: datetime
    finished_at: datetime | None
    tags: Sequence[str]
    customers: int
    tag_values: int
    changes: int
    timings: Mapping[str, float]
    error: str | None
    actor: str
    engine: str = "duckdb"
    """The compute engine of the run (its profile snapshot lives there)."""


@dataclass(frozen=True, slots=True)
class SegmentSnapshot:
    """A saved segment's members frozen under a label (``tagwise segment snapshot``)."""

    segment: str
    label: str
    version: int | None
    """The segment's applied version the members were evaluated from."""
    expr: str
    seq: int
    """The tag store's change-feed sequence the members reflect."""
    taken_at: datetime
    actor: str
    members: int
    bitmap: bytes = b""
    """The members' cids, a serialized roaring bitmap (empty when only listed)."""
    customer_ids: bytes = b""
    """The members' customer ids in cid order, as Parquet bytes (empty when only listed)."""
    id: int | None = None


@dataclass(frozen=True, slots=True)
class SegmentExport:
    """One member list written by ``tagwise segment export``."""

    segment: str
    version: int | None
    snapshot: str | None
    exported_at: datetime
    actor: str
    files: Sequence[str]
    members: int
    control_members: int | None = None
    holdout: float | None = None
    seed: str | None = None
    columns: Sequence[str] = ()
    id: int | None = None


HEAD = max(p.name.split("_", 1)[0] for p in (_MIGRATIONS / "versions").glob("[0-9]*_*.py"))
"""The newest migration's revision (file names start with it: ``0003_run_engine.py``)."""


def resolve_url(url: str, root: Path) -> str:
    """Make a relative SQLite path relative to the workspace root.

    Raises:
        ConfigError: the URL cannot be parsed.
    """
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigError(f"catalog.url `{url}` is not a database URL") from exc
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        path = Path(parsed.database or "")
        if not path.is_absolute():
            path = root / path
        path.parent.mkdir(parents=True, exist_ok=True)
        return parsed.set(database=str(path)).render_as_string(hide_password=False)
    return url


def _aware(moment: datetime) -> datetime:
    """A catalog timestamp with its zone (SQLite returns UTC ones without)."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


class Catalog:
    """Reads and writes the catalog database."""

    def __init__(self, url: str) -> None:
        self.url = url
        try:
            self.engine: Engine = sa.create_engine(url, future=True)
        except (ArgumentError, NoSuchModuleError, ImportError) as exc:
            hint = "pip install 'tagwise[postgres]'" if "postgres" in url else None
            raise ConfigError(f"cannot use catalog.url `{_safe(url)}`: {exc}", hint=hint) from exc

    @contextmanager
    def _begin(self) -> Iterator[Connection]:
        try:
            with self.engine.begin() as conn:
                yield conn
        except SQLAlchemyError as exc:
            raise CatalogError(
                f"catalog database `{_safe(self.url)}` failed: {_first_line(exc)}"
            ) from exc

    def migrate(self, revision: str = "head") -> str:
        """Upgrade the schema (to the latest revision by default); returns the revision.

        A catalog already at the newest revision costs one query (Alembic is not loaded).
        """
        if revision == "head":
            current = self.revision()
            if current == HEAD:
                return current
        from alembic import command  # noqa: PLC0415 (alembic is only needed here)
        from alembic.config import Config  # noqa: PLC0415

        config = Config()
        config.set_main_option("script_location", str(_MIGRATIONS))
        with self._begin() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, revision)
        return self.revision()

    def revision(self) -> str:
        """The Alembic revision the catalog is at ("" before the first migration)."""
        with self._begin() as conn:
            if not sa.inspect(conn).has_table("alembic_version"):
                return ""
            return str(conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar())

    def get_meta(self, key: str) -> str | None:
        """One workspace fact, or None."""
        with self._begin() as conn:
            query = sa.select(workspace_meta.c.value).where(workspace_meta.c.key == key)
            value = conn.execute(query).scalar()
        return None if value is None else str(value)

    def set_meta(self, key: str, value: str) -> None:
        """Set one workspace fact."""
        with self._begin() as conn:
            conn.execute(sa.delete(workspace_meta).where(workspace_meta.c.key == key))
            conn.execute(sa.insert(workspace_meta).values(key=key, value=value))

    def start_ingest(self, source: str, started_at: datetime, *, actor: str) -> int:
        """Record that ``actor`` (an actor's label, ``alice@cli``) started an ingest of
        ``source``; returns the ingest's id."""
        values = {
            "source": source,
            "status": "running",
            "started_at": started_at,
            "files": [],
            "read_rows": 0,
            "loaded_rows": 0,
            "rejected_rows": 0,
            "new_customers": 0,
            "reasons": {},
            "actor": actor,
        }
        with self._begin() as conn:
            key = conn.execute(sa.insert(ingest_runs).values(**values)).inserted_primary_key
        return int(key[0]) if key else 0

    def finish_ingest(self, run: IngestRun) -> None:
        """Record the outcome of a started ingest (``run.id``)."""
        values: dict[str, Any] = {
            "status": run.status,
            "finished_at": run.finished_at or datetime.now(UTC),
            "files": list(run.files),
            "read_rows": run.read,
            "loaded_rows": run.loaded,
            "rejected_rows": run.rejected,
            "new_customers": run.new_customers,
            "reasons": dict(run.reasons),
            "error": run.error,
        }
        with self._begin() as conn:
            conn.execute(sa.update(ingest_runs).where(ingest_runs.c.id == run.id).values(**values))

    def settle_ingests(self, *, before: datetime) -> int:
        """Mark ingests still ``running`` that started before ``before`` as
        ``interrupted``: their process was killed or crashed (the caller holds the
        warehouse, so no other process is ingesting). Returns how many were settled."""
        stale = [
            r.id
            for r in self.ingest_runs(limit=1000)
            if r.status == "running"
            and r.started_at.replace(tzinfo=r.started_at.tzinfo or UTC) < before
        ]
        if not stale:
            return 0
        with self._begin() as conn:
            conn.execute(
                sa.update(ingest_runs)
                .where(ingest_runs.c.id.in_(stale), ingest_runs.c.status == "running")
                .values(status="interrupted", finished_at=datetime.now(UTC), error=SETTLED_INGEST)
            )
        return len(stale)

    def ingest_runs(self, *, source: str | None = None, limit: int = 100) -> list[IngestRun]:
        """Latest ingest runs first."""
        query = sa.select(ingest_runs).order_by(ingest_runs.c.id.desc()).limit(limit)
        if source is not None:
            query = query.where(ingest_runs.c.source == source)
        with self._begin() as conn:
            rows = conn.execute(query).mappings().all()
        return [_to_run(row) for row in rows]

    # -- spec versions ---------------------------------------------------------------------

    def latest_versions(self, kind: str) -> dict[str, SpecVersion]:
        """The newest version of every ``kind`` item (deprecated ones included), by code."""
        newest = (
            sa.select(spec_versions.c.code, sa.func.max(spec_versions.c.version).label("v"))
            .where(spec_versions.c.kind == kind)
            .group_by(spec_versions.c.code)
            .subquery()
        )
        query = (
            sa.select(spec_versions)
            .join(
                newest,
                sa.and_(
                    spec_versions.c.code == newest.c.code, spec_versions.c.version == newest.c.v
                ),
            )
            .where(spec_versions.c.kind == kind)
        )
        with self._begin() as conn:
            rows = conn.execute(query).mappings().all()
        return {row["code"]: _to_version(row) for row in rows}

    def versions(self, kind: str, code: str) -> list[SpecVersion]:
        """Every version of one item, oldest first."""
        query = (
            sa.select(spec_versions)
            .where(spec_versions.c.kind == kind, spec_versions.c.code == code)
            .order_by(spec_versions.c.version)
        )
        with self._begin() as conn:
            return [_to_version(r) for r in conn.execute(query).mappings().all()]

    def add_versions(self, items: Sequence[SpecVersion]) -> None:
        """Record new versions in one transaction (all or nothing)."""
        if not items:
            return
        with self._begin() as conn:
            conn.execute(
                sa.insert(spec_versions),
                [
                    {
                        "kind": v.kind,
                        "code": v.code,
                        "version": v.version,
                        "status": v.status,
                        "definition": dict(v.definition),
                        "digest": v.digest,
                        "diff": v.diff,
                        "applied_at": v.applied_at,
                        "applied_by": v.applied_by,
                    }
                    for v in items
                ],
            )

    # -- runs ------------------------------------------------------------------------------

    def start_run(
        self, as_of: date, tags: Sequence[str], *, actor: str, engine: str = "duckdb"
    ) -> int:
        """Record that ``actor`` (an actor's label, ``alice@cli``) started a run; returns
        its id."""
        values = {
            "engine": engine,
            "status": "running",
            "as_of": as_of,
            "started_at": datetime.now(UTC),
            "tags": list(tags),
            "customers": 0,
            "tag_values": 0,
            "changes": 0,
            "timings": {},
            "actor": actor,
        }
        with self._begin() as conn:
            key = conn.execute(sa.insert(runs).values(**values)).inserted_primary_key
        return int(key[0]) if key else 0

    def finish_run(
        self,
        run_id: int,
        *,
        status: str,
        customers: int = 0,
        tag_values: int = 0,
        changes: int = 0,
        timings: Mapping[str, float] | None = None,
        error: str | None = None,
    ) -> None:
        """Record how a run ended."""
        values = {
            "status": status,
            "finished_at": datetime.now(UTC),
            "customers": customers,
            "tag_values": tag_values,
            "changes": changes,
            "timings": dict(timings or {}),
            "error": error,
        }
        with self._begin() as conn:
            conn.execute(sa.update(runs).where(runs.c.id == run_id).values(**values))

    def runs(self, *, limit: int = 20, status: str | None = None) -> list[RunRecord]:
        """Latest runs first."""
        query = sa.select(runs).order_by(runs.c.id.desc()).limit(limit)
        if status is not None:
            query = query.where(runs.c.status == status)
        with self._begin() as conn:
            return [_to_run_record(r) for r in conn.execute(query).mappings().all()]

    def run(self, run_id: int) -> RunRecord | None:
        """One run, or None."""
        with self._begin() as conn:
            row = conn.execute(sa.select(runs).where(runs.c.id == run_id)).mappings().first()
        return _to_run_record(row) if row else None

    def record_computations(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Record successful tag computations (tag, run_id, version, as_of, counts)."""
        if rows:
            with self._begin() as conn:
                conn.execute(sa.insert(tag_computations), [dict(r) for r in rows])

    def last_computations(self, *, as_of: date | None = None) -> dict[str, Mapping[str, Any]]:
        """The latest successful computation of every tag; with ``as_of``, the latest one
        as of that date or earlier (the greatest as-of date, then the newest)."""
        if as_of is None:
            newest = (
                sa.select(tag_computations.c.tag, sa.func.max(tag_computations.c.id).label("i"))
                .group_by(tag_computations.c.tag)
                .subquery()
            )
            query = sa.select(tag_computations).join(newest, tag_computations.c.id == newest.c.i)
            with self._begin() as conn:
                return {r["tag"]: dict(r) for r in conn.execute(query).mappings().all()}
        query = (
            sa.select(tag_computations)
            .where(tag_computations.c.as_of <= as_of)
            .order_by(tag_computations.c.as_of, tag_computations.c.id)
        )
        with self._begin() as conn:
            # ascending: the last row of each tag wins
            return {r["tag"]: dict(r) for r in conn.execute(query).mappings().all()}

    # -- segment snapshots -------------------------------------------------------------

    def add_snapshot(self, snapshot: SegmentSnapshot) -> int:
        """Record a snapshot; returns its id.

        Raises:
            Conflict: the segment already has a snapshot with that label.
        """
        if self.snapshot(snapshot.segment, snapshot.label, members=False) is not None:
            raise Conflict(
                f"segment `{snapshot.segment}` already has a snapshot `{snapshot.label}`",
                hint="snapshots never change; choose another --label",
            )
        values = {
            "segment": snapshot.segment,
            "label": snapshot.label,
            "version": snapshot.version,
            "expr": snapshot.expr,
            "seq": snapshot.seq,
            "taken_at": snapshot.taken_at,
            "actor": snapshot.actor,
            "members": snapshot.members,
            "bitmap": snapshot.bitmap,
            "customer_ids": snapshot.customer_ids,
        }
        with self._begin() as conn:
            key = conn.execute(sa.insert(segment_snapshots).values(**values)).inserted_primary_key
        return int(key[0]) if key else 0

    def snapshots(self, segment: str) -> list[SegmentSnapshot]:
        """A segment's snapshots, oldest first, without their members."""
        light = [c for c in segment_snapshots.c if c.name not in ("bitmap", "customer_ids")]
        query = (
            sa.select(*light)
            .where(segment_snapshots.c.segment == segment)
            .order_by(segment_snapshots.c.id)
        )
        with self._begin() as conn:
            return [_to_snapshot(r) for r in conn.execute(query).mappings().all()]

    def snapshot(self, segment: str, label: str, *, members: bool = True) -> SegmentSnapshot | None:
        """One snapshot (with its members unless ``members=False``), or None."""
        columns = [
            c for c in segment_snapshots.c if members or c.name not in ("bitmap", "customer_ids")
        ]
        query = sa.select(*columns).where(
            segment_snapshots.c.segment == segment, segment_snapshots.c.label == label
        )
        with self._begin() as conn:
            row = conn.execute(query).mappings().first()
        return _to_snapshot(row) if row else None

    def add_export(self, done: SegmentExport) -> int:
        """Record an export; returns its id."""
        values = {
            "segment": done.segment,
            "version": done.version,
            "snapshot": done.snapshot,
            "exported_at": done.exported_at,
            "actor": done.actor,
            "files": list(done.files),
            "members": done.members,
            "control_members": done.control_members,
            "holdout": done.holdout,
            "seed": done.seed,
            "columns": list(done.columns),
        }
        with self._begin() as conn:
            key = conn.execute(sa.insert(segment_exports).values(**values)).inserted_primary_key
        return int(key[0]) if key else 0

    def exports(self, segment: str, *, limit: int = 20) -> list[SegmentExport]:
        """A segment's latest exports first."""
        query = (
            sa.select(segment_exports)
            .where(segment_exports.c.segment == segment)
            .order_by(segment_exports.c.id.desc())
            .limit(limit)
        )
        with self._begin() as conn:
            rows = conn.execute(query).mappings().all()
        return [
            SegmentExport(
                id=r["id"],
                segment=r["segment"],
                version=r["version"],
                snapshot=r["snapshot"],
                exported_at=_aware(r["exported_at"]),
                actor=r["actor"],
                files=r["files"],
                members=r["members"],
                control_members=r["control_members"],
                holdout=r["holdout"],
                seed=r["seed"],
                columns=r["columns"],
            )
            for r in rows
        ]

    def close(self) -> None:
        """Release pooled connections."""
        self.engine.dispose()


def _to_run(row: Mapping[Any, Any]) -> IngestRun:
    return IngestRun(
        id=row["id"],
        source=row["source"],
        status=row["status"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        files=row["files"],
        read=row["read_rows"],
        loaded=row["loaded_rows"],
        rejected=row["rejected_rows"],
        new_customers=row["new_customers"],
        reasons=row["reasons"],
        error=row["error"],
        actor=row["actor"],
    )


def _safe(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<invalid url>"


def _first_line(exc: BaseException) -> str:
    return str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]


def _to_version(row: Mapping[Any, Any]) -> SpecVersion:
    return SpecVersion(
        kind=row["kind"],
        code=row["code"],
        version=row["version"],
        status=row["status"],
        definition=row["definition"],
        digest=row["digest"],
        diff=row["diff"],
        applied_at=row["applied_at"],
        applied_by=row["applied_by"],
    )


def _to_run_record(row: Mapping[Any, Any]) -> RunRecord:
    return RunRecord(
        id=row["id"],
        status=row["status"],
        as_of=row["as_of"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        tags=row["tags"],
        customers=row["customers"],
        tag_values=row["tag_values"],
        changes=row["changes"],
        timings=row["timings"],
        error=row["error"],
        actor=row["actor"],
        engine=row["engine"],
    )


def _to_snapshot(row: Mapping[Any, Any]) -> SegmentSnapshot:
    return SegmentSnapshot(
        id=row["id"],
        segment=row["segment"],
        label=row["label"],
        version=row["version"],
        expr=row["expr"],
        seq=row["seq"],
        taken_at=_aware(row["taken_at"]),
        actor=row["actor"],
        members=row["members"],
        bitmap=bytes(row.get("bitmap") or b""),
        customer_ids=bytes(row.get("customer_ids") or b""),
    )
