"""A workspace: settings, specs and stores, and the operations the CLI and API call."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, replace
from datetime import UTC, date, datetime
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from tagwise._version import __version__
from tagwise.engine.base import Engine
from tagwise.errors import (
    ConfigError,
    Conflict,
    Interrupted,
    NotFound,
    SpecError,
    TagwiseError,
    did_you_mean,
)
from tagwise.identity import store as identity_store
from tagwise.identity.decisions import decide
from tagwise.identity.layout import RECORDS, is_dirty
from tagwise.identity.layout import layout as identity_layout
from tagwise.identity.resolve import ResolveReport, resolve
from tagwise.identity.store import record_of
from tagwise.index.segments import Segments, segment_ast
from tagwise.model.actor import Actor
from tagwise.results import (
    ChangeCount,
    CustomerProfile,
    CustomerTags,
    DecisionResult,
    ExportResult,
    IngestError,
    IngestResult,
    LintResult,
    MatchingModel,
    ModelLevelResult,
    PlanResult,
    Problem,
    QualityResult,
    QuarantineResult,
    ResolveResult,
    ReviewPair,
    ReviewQueue,
    ReviewRecord,
    RunList,
    RunResult,
    RunSummary,
    SegmentCount,
    SegmentDetail,
    SegmentExplainResult,
    SegmentExportResult,
    SegmentList,
    SegmentOverlapResult,
    SegmentSaveResult,
    SegmentSnapshotResult,
    SourceResult,
    SourceRows,
    TagComputation,
    TagCounts,
    TagDetail,
    TagList,
    TagOverview,
    TagVersion,
    TrainingSession,
    ValueCount,
)
from tagwise.settings import CONFIG_FILE, Settings
from tagwise.spec.plan import KINDS, Plan, make_plan, versions_to_apply
from tagwise.spec.sources import SourceSpec, SourcesSpec, load_sources
from tagwise.specs import SEGMENTS_DIR, Specs, load_specs
from tagwise.store.catalog import Catalog, IngestRun, SpecVersion, resolve_url
from tagwise.store.layout import upgrade
from tagwise.store.tags import LAYOUT as TAGS_LAYOUT
from tagwise.store.tags import TagStore
from tagwise.store.warehouse import Warehouse

if TYPE_CHECKING:
    import pyarrow as pa
    from pyroaring import BitMap

    from tagwise.audience.keys import KeyMap
    from tagwise.engine.pipeline import RunReport
    from tagwise.ingest.pipeline import SourceReport
    from tagwise.lang.ast import Expr

__all__ = ["Actor", "Workspace", "find_root", "init", "open_workspace"]

SOURCES_FILE = "sources.yaml"
FEATURES_FILE = "features.yaml"
STATE_DIR = ".tagwise"
DEFAULT_CATALOG = "sqlite:///.tagwise/catalog.sqlite"


class Workspace:
    """A folder holding ``tagwise.toml``, the YAML specs and the embedded stores.

    Every operation runs on behalf of an :class:`Actor`: the one it is given
    (``actor=``), else the workspace's :attr:`actor` (by default the operating-system user,
    via the Python API). The catalog records the actor of what it writes; reads take the
    argument too, so that every interface calls every operation the same way, and record
    nothing.
    """

    def __init__(
        self, root: Path, settings: Settings | None = None, *, actor: Actor | None = None
    ) -> None:
        self.root = root.resolve()
        self.settings = settings or Settings.load(self.root)
        self.actor: Actor = actor or Actor.os_user(via="python")
        """The default actor of this workspace's operations."""
        self._catalog: Catalog | None = None
        self._warehouse: Warehouse | None = None
        self._engines: dict[str, Engine] = {}
        self._segment_evaluator: Segments | None = None
        self._keys: KeyMap | None = None
        self._opened_at = datetime.now(UTC)

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Workspace {self.settings.name!r} at {self.root}>"

    @property
    def catalog(self) -> Catalog:
        """The catalog, migrated to the latest schema on first use."""
        if self._catalog is None:
            catalog = Catalog(resolve_url(self.settings.catalog.url, self.root))
            catalog.migrate()
            self._catalog = catalog
        return self._catalog

    @property
    def warehouse(self) -> Warehouse:
        """The DuckDB warehouse (opened on first use; one writer process at a time)."""
        if self._warehouse is None:
            path = Path(self.settings.warehouse.path)
            self._warehouse = Warehouse(
                path if path.is_absolute() else self.root / path, self.settings.warehouse
            )
            # the registry of the warehouse's parts, upgraded in this order on open
            upgrade(self._warehouse, [TAGS_LAYOUT, identity_layout(self._master)])
            self._reconcile_runs()
            self.catalog.settle_ingests(before=self._opened_at)  # killed or crashed ones
        return self._warehouse

    def _master(self) -> SourceSpec | None:
        try:
            return self.sources().customers
        except (TagwiseError, OSError):
            return None  # no or broken sources.yaml: there are no records to upgrade

    def _reconcile_runs(self) -> None:
        """Settle runs the catalog still thinks are running.

        Holding the warehouse means no other process is running one, so such a run either
        committed its values (the warehouse's ``meta.runs`` has it; the process stopped
        before telling the catalog) or stopped before its commit and changed nothing.
        """
        stale = [
            r
            for r in self.catalog.runs(status="running", limit=1000)
            if r.started_at.replace(tzinfo=r.started_at.tzinfo or UTC) < self._opened_at
        ]
        if not stale or self._warehouse is None:
            return
        done = {
            r.run_id: (r.tag_values, r.changes) for r in TagStore(self._warehouse).committed_runs()
        }
        for run in stale:
            if run.id in done:
                values, changes = done[run.id]
                self.catalog.finish_run(
                    run.id,
                    status="ok",
                    tag_values=values,
                    changes=changes,
                    error="recorded after the fact: the process stopped after committing",
                )
            else:
                self.catalog.finish_run(
                    run.id,
                    status="interrupted",
                    error="the process stopped before the run committed; nothing was changed",
                )

    def _acting(self, actor: Actor | None) -> Actor:
        """The actor of one operation: the one given, else the workspace's."""
        return actor or self.actor

    def runs(self, *, limit: int = 20, actor: Actor | None = None) -> RunList:
        """Latest runs first, with status, counts, timings, errors and who ran them."""
        del actor  # reads record nothing (see the class docstring)
        _ = self.warehouse  # settles interrupted runs first
        return RunList(
            runs=[
                RunSummary(
                    run_id=r.id,
                    status=r.status,
                    as_of=r.as_of,
                    started_at=r.started_at,
                    finished_at=r.finished_at,
                    tags=len(r.tags),
                    customers=r.customers,
                    tag_values=r.tag_values,
                    changes=r.changes,
                    timings=dict(r.timings),
                    error=r.error,
                    actor=r.actor,
                    engine=r.engine,
                )
                for r in self.catalog.runs(limit=limit)
            ]
        )

    @property
    def data_dir(self) -> Path:
        """Folder that relative source paths are resolved against."""
        path = Path(self.settings.ingest.data_dir)
        return path if path.is_absolute() else self.root / path

    def sources(self) -> SourcesSpec:
        """The validated ``sources.yaml``."""
        return load_sources(self.root / SOURCES_FILE)

    def ingest(
        self,
        names: Sequence[str] | None = None,
        *,
        progress: Callable[[str], None] | None = None,
        actor: Actor | None = None,
    ) -> IngestResult:
        """Load sources (all by default, the customer master first).

        A source that cannot be read is reported in ``errors`` and leaves its previous
        data untouched; the other sources still load.
        """
        # ingestion's modules load only here: `run` and the read commands do not need them
        from tagwise.ingest.normalize import MACROS  # noqa: PLC0415

        who = self._acting(actor)
        specs = self.sources().ordered(list(names) if names else None)
        self.warehouse.execute(MACROS)
        sources: list[SourceResult] = []
        errors: list[IngestError] = []
        for spec in specs:
            started = datetime.now(UTC)
            ingest_id = self.catalog.start_ingest(spec.name, started, actor=who.label)
            done = IngestRun(spec.name, "ok", started, None, files=[], id=ingest_id)
            try:
                sources.append(
                    self._ingest_one(spec, done, progress, loaded=[r.name for r in sources])
                )
            except Interrupted:
                raise  # Ctrl-C ends the whole ingest (what was loaded before it stays)
            except TagwiseError as exc:
                errors.append(IngestError(source=spec.name, **Problem.of(exc).model_dump()))
        identity = None
        if is_dirty(self.warehouse) and self.warehouse.has_table(*RECORDS):
            identity = self.resolve(progress=progress, actor=who)
        self._clean_tmp()
        return IngestResult(sources=sources, errors=errors, identity=identity)

    def _ingest_one(
        self,
        spec: SourceSpec,
        done: IngestRun,
        progress: Callable[[str], None] | None,
        *,
        loaded: list[str],
    ) -> SourceResult:
        """Ingest one source and record how it ended in the catalog (``done``: its started
        ingest); a source that cannot be read is recorded as failed, then raised; Ctrl-C
        is recorded as interrupted (``loaded``: the sources loaded before it)."""
        from tagwise.ingest.pipeline import (  # noqa: PLC0415
            IngestContext,
            ingest_source,
            interrupted,
        )

        ctx = IngestContext(
            root=self.root,
            data_dir=self.data_dir,
            country_code=self.settings.ingest.country_code,
            ingest_id=done.id or 0,
            progress=progress,
        )
        try:
            result = ingest_source(self.warehouse, spec, ctx)
        except KeyboardInterrupt as exc:  # Ctrl-C: the source keeps its previous data
            raise interrupted(
                self.catalog, spec, ctx, started=done.started_at, loaded=loaded
            ) from exc
        except TagwiseError as exc:
            self.catalog.finish_ingest(replace(done, status="failed", error=str(exc)))
            raise
        self.catalog.finish_ingest(
            replace(
                done,
                files=result.files,
                read=result.read,
                loaded=result.loaded,
                rejected=result.rejected,
                new_customers=result.new_customers,
                reasons=result.reasons,
            )
        )
        return _source_result(result)

    # -- identity ---------------------------------------------------------------------------

    def resolve(
        self, *, progress: Callable[[str], None] | None = None, actor: Actor | None = None
    ) -> ResolveResult:
        """Resolve the customer master's records into customers (also after every ingest
        that changes records or identifiers); see :mod:`tagwise.identity.resolve`."""
        del actor  # a resolution applies decisions already recorded with their actors
        return _resolve_result(
            resolve(
                self.warehouse, self.sources(), self.settings, root=self.root, progress=progress
            )
        )

    def merge_customers(
        self,
        first: str,
        second: str,
        *,
        reason: str = "",
        recompute: bool = True,
        actor: Actor | None = None,
    ) -> DecisionResult:
        """A person decides that two records are one customer: record it, resolve, and
        recompute the tags of the customers concerned."""
        return self._decide_pair(
            "merge",
            first,
            second,
            reason=reason or "merged by hand",
            recompute=recompute,
            who=self._acting(actor),
        )

    def separate_customers(
        self,
        first: str,
        second: str,
        *,
        reason: str = "",
        recompute: bool = True,
        actor: Actor | None = None,
    ) -> DecisionResult:
        """A person decides that two records are different customers (a review decision)."""
        return self._decide_pair(
            "separate",
            first,
            second,
            reason=reason or "kept apart by hand",
            recompute=recompute,
            who=self._acting(actor),
        )

    def _decide_pair(
        self, kind: str, first: str, second: str, *, reason: str, recompute: bool, who: Actor
    ) -> DecisionResult:
        (rid_a, _), (rid_b, _) = record_of(self.warehouse, first), record_of(self.warehouse, second)
        if rid_a == rid_b:
            raise Conflict(f"`{first}` and `{second}` are the same record")
        pairs = [(rid_a, rid_b)] if kind == "merge" else [(rid_a, rid_b), (rid_b, rid_a)]
        ids = decide(self.warehouse, kind, pairs, reason=reason, actor=who.label)
        return self._after_decision(ids, recompute=recompute, who=who)

    def unmerge_customer(
        self,
        record: str,
        *,
        reason: str = "",
        recompute: bool = True,
        actor: Actor | None = None,
    ) -> DecisionResult:
        """Undo a wrong merge: the record ``record`` leaves its customer (and stays apart
        from the customer's other records), both customers' tags are recomputed.

        Raises:
            NotFound: no such record.
            Conflict: the record is its customer's only record.
        """
        who = self._acting(actor)
        rid, cid = record_of(self.warehouse, record)
        others = identity_store.other_records(self.warehouse, rid, cid)
        if not others:
            raise Conflict(
                f"`{record}` is the only record of its customer; there is nothing to unmerge",
                hint="`tagwise customer show ID` lists a customer's records",
            )
        ids = decide(
            self.warehouse,
            "separate",
            [(rid, other) for other in others],
            reason=reason or "unmerged by hand",
            actor=who.label,
        )
        return self._after_decision(ids, recompute=recompute, who=who)

    def review_queue(self, *, limit: int = 50, actor: Actor | None = None) -> ReviewQueue:
        """Record pairs waiting for a person, most likely first, with the compared fields."""
        del actor  # reads record nothing (see the class docstring)
        master = self.sources().customers
        pairs = identity_store.review_queue(self.warehouse, master, limit=limit)
        total = identity_store.review_total(self.warehouse) if master is not None else 0
        return ReviewQueue(
            total=total,
            limit=limit,
            truncated=total > len(pairs),
            pairs=[
                ReviewPair(
                    probability=p.probability,
                    left=_review_record(p.left),
                    right=_review_record(p.right),
                )
                for p in pairs
            ],
        )

    def matching_model(self, *, actor: Actor | None = None) -> MatchingModel:
        """The matching model of the last resolution that trained one: the prior, the
        blocking rules, the training sessions and m and u per comparison level.

        Raises:
            NotFound: no resolution has trained a model (matching off, or never resolved).
        """
        del actor  # reads record nothing (see the class docstring)
        found = identity_store.matching_model(self.warehouse)
        if found is None:
            raise NotFound(
                "no resolution has trained a matching model yet",
                hint="declare match_on for the customer master and run `tagwise resolve`",
            )
        model = found.report
        return MatchingModel(
            resolution_id=found.resolution_id,
            resolved_at=found.resolved_at,
            prior=float(model.get("prior", 0.0)),
            blocking=[list(rule) for rule in model.get("blocking", [])],
            training=[
                TrainingSession(
                    rule=list(t.get("rule", [])),
                    pairs=int(t.get("pairs", 0)),
                    iterations=t.get("iterations"),
                    share_of_matches=t.get("lambda"),
                    skipped=t.get("skipped"),
                )
                for t in model.get("training", [])
            ],
            levels=[ModelLevelResult.model_validate(level) for level in model.get("levels", [])],
        )

    def _after_decision(self, ids: list[int], *, recompute: bool, who: Actor) -> DecisionResult:
        report = self.resolve(actor=who)
        recomputed = None
        last = self.catalog.runs(limit=1, status="ok")
        if recompute and report.changed and last:
            recomputed = self.run(as_of=last[0].as_of, actor=who)
        return DecisionResult(decisions=ids, identity=report, recomputed=recomputed)

    # -- specs ------------------------------------------------------------------------------

    def specs(self, *, check: bool = True) -> Specs:
        """Every spec file, loaded (and checked), with all problems collected."""
        return load_specs(self.root, self.settings, check=check)

    def lint(self, *, actor: Actor | None = None) -> LintResult:
        """Every problem in the spec files (none when all is well)."""
        del actor  # reads record nothing (see the class docstring)
        problems = [Problem.of(e) for e in self.specs().errors]
        return LintResult(ok=not problems, problems=problems)

    def plan(self, *, actor: Actor | None = None) -> PlanResult:
        """What ``apply`` would record: added, changed and removed definitions.

        Raises:
            SpecError: the specs have problems (``tagwise lint`` lists them all).
        """
        del actor  # reads record nothing (see the class docstring)
        specs = self._valid_specs()
        return _plan_result(make_plan(specs.items(), self._latest()))

    def apply(self, *, actor: Actor | None = None) -> PlanResult:
        """Record a new immutable version of every changed definition, applied by the
        actor.

        Raises:
            SpecError: the specs have problems.
            Conflict: a change is not allowed (a published tag's kind, back to draft).
        """
        who = self._acting(actor)
        specs = self._valid_specs()
        latest = self._latest()
        plan = make_plan(specs.items(), latest)
        self.catalog.add_versions(versions_to_apply(plan, specs.items(), latest, actor=who.label))
        return _plan_result(plan)

    def engine(self, name: str | None = None) -> Engine:
        """The compute engine called ``name`` (default: ``[engine] name``), opened once.

        Raises:
            ConfigError: an unknown engine, or its driver or settings are missing.
        """
        from tagwise.engine.registry import open_engine  # noqa: PLC0415 (the adapters load lazily)

        name = name or self.settings.engine.name
        if name not in self._engines:
            self._engines[name] = open_engine(name, self.settings, self.warehouse, self.root)
        return self._engines[name]

    def export_sources(
        self,
        folder: Path,
        *,
        fmt: str = "parquet",
        partitions: int = 8,
        actor: Actor | None = None,
    ) -> ExportResult:
        """Write the ingested sources as datasets ``folder/<source>`` for the spark engine.

        Raises:
            ConfigError: an unknown format.
        """
        from tagwise.engine.spark import export_sources  # noqa: PLC0415

        del actor  # writes files outside the stores: nothing to record
        if fmt not in ("parquet", "csv"):
            raise ConfigError(f"unknown format `{fmt}`", hint="use parquet or csv")
        sources = self._valid_specs().sources
        assert sources is not None  # noqa: S101 (load_specs always sets it)
        rows = export_sources(
            self.warehouse, folder.resolve(), sources, partitions=partitions, fmt=fmt
        )
        return _export_result(str(folder), rows)

    def publish_sources(
        self, url: str | None = None, schema: str | None = None, *, actor: Actor | None = None
    ) -> ExportResult:
        """Copy the ingested sources into tables of a PostgreSQL database (default: the
        postgres engine's settings); the target is ``database/schema``.

        Raises:
            ConfigError: no URL, or psycopg is missing.
        """
        del actor  # writes outside the stores: nothing to record
        url = url or self.settings.engine.postgres_url
        schema = schema or self.settings.engine.postgres_schema
        if not url:
            raise ConfigError(
                "no PostgreSQL database to publish to",
                hint="pass --url or set `[engine] postgres_url` in tagwise.toml",
            )
        from tagwise.engine.postgres import publish_sources  # noqa: PLC0415

        try:
            import psycopg  # noqa: PLC0415
        except ImportError as exc:
            raise ConfigError(
                "publishing needs psycopg",
                hint="install the extra: pip install 'tagwise[postgres]'",
            ) from exc
        sources = self._valid_specs().sources
        assert sources is not None  # noqa: S101 (load_specs always sets it)
        try:
            rows = publish_sources(self.warehouse, url, schema, sources)
        except psycopg.Error as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ConfigError(f"cannot publish to PostgreSQL: {first}", hint="check --url") from exc
        shown = sa.make_url(url).render_as_string(hide_password=True)
        return _export_result(f"{shown} schema {schema}", rows)

    def run(
        self,
        *,
        tags: Sequence[str] | None = None,
        as_of: date | None = None,
        due: bool = False,
        engine: str | None = None,
        progress: Callable[[str], None] | None = None,
        actor: Actor | None = None,
    ) -> RunResult:
        """Compute tags as of a date (default today) on an engine (default: the workspace's)
        and make them current, atomically.

        With ``due``, only tags whose refresh interval has passed; when none has, nothing
        is computed or recorded (no run, no snapshot): the result has no ``run_id``.
        """
        from tagwise.engine.pipeline import run_tags, select_tags  # noqa: PLC0415

        who = self._acting(actor)
        specs = self._valid_specs()
        when = as_of or date.today()
        if is_dirty(self.warehouse):  # an ingest stopped before resolving
            self.resolve(progress=progress, actor=who)
        chosen = select_tags(
            specs,
            codes=tags,
            due=due,
            last=self.catalog.last_computations(),
            now=datetime.now(UTC),
        )
        if due and not chosen:
            return RunResult(run_id=None, as_of=when, tags=[])
        report = run_tags(
            self.warehouse,
            self.catalog,
            specs,
            chosen,
            as_of=when,
            actor=who.label,
            engine=self.engine(engine),
            progress=progress,
        )
        return _run_result(report)

    def _valid_specs(self) -> Specs:
        specs = self.specs()
        if specs.errors:
            first = specs.errors[0]
            more = len(specs.errors) - 1
            raise SpecError(
                first.message + (f" (and {more} more problems)" if more else ""),
                location=first.location,
                hint="`tagwise lint` lists every problem" if more else first.hint,
            )
        return specs

    def _latest(self) -> dict[str, dict[str, SpecVersion]]:
        return {k: self.catalog.latest_versions(k) for k in KINDS}

    # -- reading tags -------------------------------------------------------------------------

    @property
    def tag_store(self) -> TagStore:
        """The tag store: current values, history, locks and the change feed."""
        return TagStore(self.warehouse)

    def tagged_customers(self) -> int:
        """Customers having at least one current value."""
        return self.tag_store.tagged_customers()

    def tag_distribution(
        self, code: str, *, limit: int = 20, actor: Actor | None = None
    ) -> list[ValueCount]:
        """Customers per current value of a tag, most common first."""
        del actor  # reads record nothing (see the class docstring)
        return [
            ValueCount(value=v, customers=n)
            for v, n in self.tag_store.distribution(code, limit=limit)
        ]

    def _coverage(self) -> dict[str, int]:
        """Customers having at least one current value, per tag."""
        return self.tag_store.coverage()

    def tags_overview(self, *, actor: Actor | None = None) -> TagList:
        """Every defined tag with its coverage and last computation."""
        del actor  # reads record nothing (see the class docstring)
        specs = self.specs(check=False)
        coverage = self._coverage()
        last = self.catalog.last_computations()
        total = self._profile_customers()
        out = []
        for code, tag in specs.tags.tags.items() if specs.tags else []:
            computed = last.get(code)
            out.append(
                TagOverview(
                    code=code,
                    name=tag.name,
                    category=tag.category,
                    kind=tag.kind.value,
                    status=tag.status.value,
                    refresh=tag.refresh.value,
                    sensitivity=tag.sensitivity.value,
                    owner=tag.owner,
                    customers=coverage.get(code, 0),
                    coverage=round(coverage.get(code, 0) / total, 4) if total else None,
                    last_run_id=computed["run_id"] if computed else None,
                    last_computed_at=computed["computed_at"] if computed else None,
                )
            )
        return TagList(tags=out)

    def tag_detail(self, code: str, *, actor: Actor | None = None) -> TagDetail:
        """Definition, value distribution, coverage, last run and its changes, versions.

        Raises:
            NotFound: no such tag in the spec files or the catalog.
        """
        del actor  # reads record nothing (see the class docstring)
        specs = self.specs(check=False)
        tag = specs.tags.tags.get(code) if specs.tags else None
        versions = self.catalog.versions("tag", code)
        if tag is None and not versions:
            known = list(specs.tags.tags) if specs.tags else []
            raise NotFound(
                f"tag `{code}` is not defined",
                hint=did_you_mean(code, known) or "`tagwise tags list` shows the tags",
            )
        definition = (
            tag.model_dump(mode="json", by_alias=True, exclude_defaults=True)
            if tag
            else dict(versions[-1].definition)
        )
        last = self.catalog.last_computations().get(code)
        total = self._profile_customers()
        customers = self._coverage().get(code, 0)
        return TagDetail(
            code=code,
            definition=definition,
            version=versions[-1].version if versions else None,
            versions=[
                TagVersion(
                    version=v.version,
                    status=v.status,
                    applied_at=v.applied_at,
                    applied_by=v.applied_by,
                )
                for v in versions
            ],
            distribution=[
                ValueCount(value=v, customers=n)
                for v, n in self.tag_store.distribution(code, limit=50)
            ],
            customers=customers,
            coverage=round(customers / total, 4) if total else None,
            last_computation=_computation(last) if last else None,
            last_run_changes=[
                ChangeCount(old_value=o, new_value=n, customers=c)
                for o, n, c in self._last_changes(code, last["run_id"])
            ]
            if last
            else [],
        )

    def _last_changes(self, code: str, run_id: int) -> list[tuple[str | None, str | None, int]]:
        """(old value, new value, customers) of a tag's changes in a run, most first."""
        return self.tag_store.run_changes(code, run_id, limit=20)

    def customer(
        self, customer_id: str, *, as_of: date | None = None, actor: Actor | None = None
    ) -> CustomerProfile:
        """A customer's profile as of one run: attributes, features and tags with
        provenance and why (see :mod:`tagwise.explain` for which run).

        With ``as_of``, the tags are those the customer had on that date (from history).

        Raises:
            NotFound: no customer with that id.
        """
        from tagwise.explain import customer_profile  # noqa: PLC0415

        del actor  # reads record nothing (see the class docstring)
        return customer_profile(self, customer_id, as_of=as_of)

    # -- segments (tagwise.index) -------------------------------------------------------

    @property
    def segment_evaluator(self) -> Segments:
        """Segment evaluation over this workspace's index and warehouse."""
        if self._segment_evaluator is None:
            self._segment_evaluator = Segments(
                root=self.root,
                settings=self.settings,
                store=self.tag_store,
                wh=self.warehouse,
                specs=lambda: self.specs(check=False),
            )
        return self._segment_evaluator

    def _segment_ast(self, expr: str) -> Expr:
        """The syntax tree of a segment expression (the one parse step of every segment
        operation), with each ``in_segment('name')`` replaced by that saved segment's
        expression (:mod:`tagwise.lang.expand`).

        Raises:
            ExpressionError: the text does not parse, names an unknown segment, or saved
                segments use each other in a cycle.
        """
        from tagwise.lang.expand import expand_segments  # noqa: PLC0415
        from tagwise.spec.segments import collect_segments  # noqa: PLC0415

        saved, _ = collect_segments(self.root / SEGMENTS_DIR)  # lint reports their problems
        return expand_segments(segment_ast(expr), source=expr, definitions=saved.expressions())

    def segment_members(
        self, expr: str, *, as_of: date | None = None, actor: Actor | None = None
    ) -> BitMap:
        """The cids of the customers for whom ``expr`` is true (as of a date: on the values
        held then).

        Raises:
            ExpressionError: the expression is wrong, or uses a draft or deprecated tag.
        """
        del actor  # reads record nothing (see the class docstring)
        return self.segment_evaluator.fresh().members(expr, self._segment_ast(expr), as_of=as_of)

    def segment_count(
        self,
        expr: str,
        *,
        as_of: date | None = None,
        by: str | None = None,
        sample: int = 10,
        actor: Actor | None = None,
    ) -> SegmentCount:
        """Count, share of all customers, a sample of members and a breakdown by a tag.

        Raises:
            ExpressionError: the expression is wrong, or uses a draft or deprecated tag.
            NotFound: the breakdown tag does not exist.
        """
        del actor  # reads record nothing (see the class docstring)
        return self.segment_evaluator.fresh().count(
            expr, self._segment_ast(expr), as_of=as_of, by=by, sample=sample
        )

    def customer_tags(self, customer_id: str, *, actor: Actor | None = None) -> CustomerTags:
        """A customer's current tag values from the segment index, in milliseconds: a key
        lookup and membership tests of bitmaps, no scan (``customer`` adds provenance).

        Raises:
            NotFound: no customer with that id.
        """
        del actor  # reads record nothing (see the class docstring)
        _, cid = record_of(self.warehouse, customer_id)
        return self.segment_evaluator.customer_tags(customer_id, cid)

    def customer_ids(self, cids: BitMap) -> pa.Array:
        """The customer id of each cid of a bitmap, in cid order (Arrow, vectorised: a
        ``take`` over the memory-mapped key map, :mod:`tagwise.audience.keys`)."""
        from tagwise.audience.keys import KeyMap  # noqa: PLC0415
        from tagwise.audience.snapshot import cid_array  # noqa: PLC0415

        if self._keys is None:
            self._keys = KeyMap(self.segment_evaluator.folder, self.warehouse)
        return self._keys.customer_ids(cid_array(cids))

    # -- segments: saved, exports, snapshots (logic in tagwise.audience) --------------------

    def segment_save(
        self,
        name: str,
        expr: str,
        *,
        description: str = "",
        owner: str = "",
        actor: Actor | None = None,
    ) -> SegmentSaveResult:
        """Check a segment's expression, write it to ``segments/<name>.yaml`` and record its
        version in the catalog (as ``apply`` would), by the actor.

        Raises:
            SpecError: the name is not allowed, or the specs have problems.
            ExpressionError: the expression is wrong (unknown name, cycle, type …).
            Conflict: the segment is defined in a file shared with other segments.
        """
        from tagwise.audience.segments import new_spec, save  # noqa: PLC0415

        spec = new_spec(name, expr, description=description, owner=owner)
        return save(self, self._valid_specs(), spec, actor=self._acting(actor))

    def segment_list(self, *, actor: Actor | None = None) -> SegmentList:
        """Every saved segment with its version and size now."""
        from tagwise.audience.segments import listing  # noqa: PLC0415

        del actor  # reads record nothing (see the class docstring)
        return listing(self, self._valid_specs())

    def segment_show(self, name: str, *, actor: Actor | None = None) -> SegmentDetail:
        """A saved segment: definition, size, size trend across runs, tags used, snapshots.

        Raises:
            NotFound: no such segment.
        """
        from tagwise.audience.segments import detail  # noqa: PLC0415

        del actor  # reads record nothing (see the class docstring)
        return detail(self, self._valid_specs(), name)

    def segment_export(
        self,
        name: str,
        *,
        out: str | Path,
        columns: Sequence[str] = (),
        holdout: float | str | None = None,
        seed: str | None = None,
        bom: bool = False,
        snapshot: str | None = None,
        actor: Actor | None = None,
    ) -> SegmentExportResult:
        """Write a segment's members (now, or those of a snapshot) to a CSV or Parquet file;
        with ``holdout`` (a share: 0.1 or "10%"), a deterministic control group, split by a
        hash of the customer id and ``seed`` (default: the segment name), goes to
        ``FILE.control.EXT`` beside it. Files are written whole or not at all; the catalog
        logs the export with the actor.

        Raises:
            NotFound: no such segment, snapshot or column.
            Conflict: the segment's file has changes not applied.
            ConfigError: an unknown file type, a bad share, a folder that does not exist.
        """
        from tagwise.audience.holdout import parse_share  # noqa: PLC0415
        from tagwise.audience.segments import export  # noqa: PLC0415

        share = parse_share(holdout) if isinstance(holdout, str) else holdout
        if share is not None:
            share = parse_share(str(share))
        return export(
            self,
            self._valid_specs(),
            name,
            out=Path(out),
            columns=columns,
            holdout=share,
            seed=seed,
            bom=bom,
            snapshot_label=snapshot,
            actor=self._acting(actor),
        )

    def segment_overlap(
        self, names: Sequence[str], *, actor: Actor | None = None
    ) -> SegmentOverlapResult:
        """Members shared by each pair of saved segments, and their Jaccard similarity.

        Raises:
            NotFound: a name is not a saved segment.
        """
        from tagwise.audience.segments import overlap_of  # noqa: PLC0415

        del actor  # reads record nothing (see the class docstring)
        return overlap_of(self, self._valid_specs(), names)

    def segment_snapshot(
        self, name: str, *, label: str, actor: Actor | None = None
    ) -> SegmentSnapshotResult:
        """Freeze a segment's members now under ``label`` (recorded with the actor), so the
        exact audience can be exported later whatever the tags do.

        Raises:
            NotFound: no such segment.
            Conflict: the label is taken, or the segment's file has changes not applied.
        """
        from tagwise.audience.segments import snapshot  # noqa: PLC0415

        return snapshot(self, self._valid_specs(), name, label=label, actor=self._acting(actor))

    def segment_explain(
        self, name: str, customer_id: str, *, actor: Actor | None = None
    ) -> SegmentExplainResult:
        """Which predicates of a segment a customer meets and which not.

        Raises:
            NotFound: no such segment or customer.
        """
        from tagwise.audience.segments import explain  # noqa: PLC0415

        del actor  # reads record nothing (see the class docstring)
        return explain(self, self._valid_specs(), name, customer_id)

    def _profile_customers(self) -> int:
        latest = self.catalog.runs(limit=1, status="ok")
        return latest[0].customers if latest else 0

    def quarantine(
        self, source: str | None = None, *, limit: int = 50, actor: Actor | None = None
    ) -> QuarantineResult:
        """Rejected rows with their file, line, column, raw value and reason."""
        del actor  # reads record nothing (see the class docstring)
        where, params = ("WHERE source = ?", [source]) if source else ("", [])
        rows = self.warehouse.dicts(
            f'SELECT source, file, line, "column", raw_value, reason, problems, record '  # noqa: S608 (names quoted by ident()/table()/lit(), fixed tables)
            f"FROM meta.quarantine {where} ORDER BY source, file, line LIMIT {int(limit)}",
            params,
        )
        return QuarantineResult.model_validate({"rows": rows})

    def quality(
        self, names: Sequence[str] | None = None, *, actor: Actor | None = None
    ) -> QualityResult:
        """The data quality report of the sources (all by default) and of identity
        resolution, with each source's last ingest; see :mod:`tagwise.ingest.quality`.

        Raises:
            NotFound: a named source is not declared.
        """
        from tagwise.ingest.quality import quality_report  # noqa: PLC0415

        del actor  # reads record nothing (see the class docstring)
        report = quality_report(self.warehouse, self.sources(), self.settings, names)
        for source in report["sources"]:
            last = self.catalog.ingest_runs(source=source["name"], limit=1)
            source["last_ingest"] = (
                {"status": last[0].status, "at": last[0].finished_at or last[0].started_at}
                if last
                else None
            )
        return QualityResult.model_validate(report)

    def customer_count(self, *, actor: Actor | None = None) -> int:
        """Customers that have a cid."""
        del actor  # reads record nothing (see the class docstring)
        return identity_store.customer_count(self.warehouse)

    def _clean_tmp(self) -> None:
        shutil.rmtree(self.root / STATE_DIR / "tmp", ignore_errors=True)

    def close(self) -> None:
        """Close the engines and the stores."""
        for engine in self._engines.values():
            engine.close()
        self._engines.clear()
        self._segment_evaluator = None
        self._keys = None
        if self._warehouse is not None:
            self._warehouse.close()
            self._warehouse = None
        if self._catalog is not None:
            self._catalog.close()
            self._catalog = None


def _source_result(report: SourceReport) -> SourceResult:
    return SourceResult.model_validate(asdict(report))


def _resolve_result(report: ResolveReport) -> ResolveResult:
    data = asdict(report)
    del data["model"]  # `tagwise identity model` shows it
    return ResolveResult.model_validate(data)


def _run_result(report: RunReport) -> RunResult:
    counts = {k: TagCounts(values=v, changes=c) for k, (v, c) in report.per_tag.items()}
    data = {**asdict(report), "per_tag": counts}
    return RunResult.model_validate(data)


def _plan_result(plan: Plan) -> PlanResult:
    data = plan.to_dict()
    data["errors"] = [Problem.of(e) for e in plan.errors]
    return PlanResult.model_validate(data)


def _export_result(target: str, rows: Mapping[str, int]) -> ExportResult:
    return ExportResult(
        target=target, sources=[SourceRows(name=n, rows=r) for n, r in rows.items()]
    )


def _computation(row: Mapping[str, Any]) -> TagComputation:
    return TagComputation.model_validate({k: row[k] for k in TagComputation.model_fields})


def _review_record(record: Mapping[str, Any]) -> ReviewRecord:
    fields = {k: v for k, v in record.items() if k not in ("rid", "customer_id")}
    return ReviewRecord(rid=record["rid"], customer_id=record["customer_id"], fields=fields)


def find_root(start: Path | None = None) -> Path:
    """The nearest folder at or above ``start`` holding ``tagwise.toml``.

    Raises:
        NotFound: no workspace there or above.
    """
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / CONFIG_FILE).is_file():
            return folder
    raise NotFound(
        f"no {CONFIG_FILE} in `{here}` or its parents",
        hint="run `tagwise init DIR` to create a workspace, or pass --workspace PATH",
    )


def open_workspace(path: str | Path | None = None, *, actor: Actor | None = None) -> Workspace:
    """Open the workspace at ``path`` (or the nearest one above the current folder);
    ``actor`` is the default actor of its operations (default: the OS user, via Python)."""
    return Workspace(find_root(Path(path) if path is not None else None), actor=actor)


def _template(name: str) -> str:
    return resources.files("tagwise.demo").joinpath("templates", name).read_text("utf-8")


def init(
    path: str | Path,
    *,
    demo: bool = False,
    catalog_url: str | None = None,
    name: str | None = None,
    actor: Actor | None = None,
) -> Workspace:
    """Create a workspace: tagwise.toml, sources.yaml, features.yaml, tags/, segments/, stores.

    Raises:
        Conflict: the folder already holds a workspace.
    """
    root = Path(path).resolve()
    if (root / CONFIG_FILE).exists():
        raise Conflict(
            f"`{root}` already holds a workspace",
            hint="open it, or choose another folder",
        )
    for folder in (root, root / "tags", root / "segments", root / "data", root / STATE_DIR):
        folder.mkdir(parents=True, exist_ok=True)
    config = _template("tagwise.toml")
    config = config.replace("{name}", name or root.name).replace(
        "{catalog_url}", catalog_url or DEFAULT_CATALOG
    )
    (root / CONFIG_FILE).write_text(config, encoding="utf-8")
    sources = _template("sources.yaml" if demo else "sources.empty.yaml")
    (root / SOURCES_FILE).write_text(sources, encoding="utf-8")
    (root / FEATURES_FILE).write_text(
        _template("features.yaml" if demo else "features.empty.yaml"), encoding="utf-8"
    )
    if demo:
        _copy_starter_taxonomy(root)
    (root / STATE_DIR / ".gitignore").write_text("*\n", encoding="utf-8")
    ws = Workspace(root, actor=actor)
    ws.catalog.set_meta("name", ws.settings.name)
    ws.catalog.set_meta("created_at", datetime.now(UTC).isoformat())
    ws.catalog.set_meta("created_by_version", __version__)
    ws.warehouse  # noqa: B018 (creates the warehouse file and its schemas)
    return ws


def _copy_starter_taxonomy(root: Path) -> None:
    """The demo's taxonomy.yaml, tags/*.yaml and segments/*.yaml."""
    templates = resources.files("tagwise.demo").joinpath("templates")
    (root / "taxonomy.yaml").write_text(
        templates.joinpath("taxonomy.yaml").read_text("utf-8"), encoding="utf-8"
    )
    for item in templates.joinpath("tags").iterdir():
        if item.name.endswith(".yaml"):
            (root / "tags" / item.name).write_text(item.read_text("utf-8"), encoding="utf-8")
    for item in templates.joinpath("segments").iterdir():
        if item.name.endswith(".yaml"):
            (root / "segments" / item.name).write_text(item.read_text("utf-8"), encoding="utf-8")
