"""A customer's profile with provenance: attributes, features, tags and why each is there.

A profile is one moment: the **state run** R, the latest committed run that computed tags
(with ``--as-of D``: the latest such run as of D or earlier). Its features are R's profile
snapshot. Each tag's value is explained on the snapshot of the run that set it or last
confirmed it (the latest run up to R's moment that computed the tag), and is labelled with
that run and its as-of date, which the CLI shows when it is not R. A ``run --due`` with
nothing due records no run, so it never moves the state.

Explanations are derived, not stored (DESIGN.md): each value records its run and the
definition version; the run's profile snapshot is re-read and the rule re-evaluated with
the Python back-end, which reports the branch that matched and the values it read.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict
from datetime import date
from typing import TYPE_CHECKING, Any

from tagwise.errors import TagwiseError
from tagwise.identity.store import identity_history, lineage, members, record_of
from tagwise.results import CustomerProfile, ProfileTag, TagChange
from tagwise.spec.tags import TagKind, TagSpec
from tagwise.specs import Specs, source_tables
from tagwise.store.sql import table

if TYPE_CHECKING:
    from tagwise.compile.plan import TagPlan
    from tagwise.engine.base import Engine
    from tagwise.store.catalog import RunRecord
    from tagwise.workspace import Workspace

__all__ = ["customer_profile", "state_run"]

_VALUE_KEYS = ("tag", "value", "score", "source", "version", "run", "since", "locked", "shadow")

_RUNS_SEEN = 10_000
"""Runs the state is looked for among (newest first)."""


def customer_profile(ws: Workspace, customer_id: str, *, as_of: date | None) -> CustomerProfile:
    """Everything ``tagwise customer show`` prints, as of one state run."""
    _, cid = record_of(ws.warehouse, customer_id)
    state = state_run(ws.catalog.runs(limit=_RUNS_SEEN, status="ok"), as_of)
    explainer = _Explainer(ws, cid, state=state, as_of=as_of)
    master = explainer.specs.sources.customers if explainer.specs.sources else None
    attributes = explainer.row("src", master.name) if master else {}
    for hidden in ("_file", "_line"):
        attributes.pop(hidden, None)
    records = [asdict(m) for m in members(ws.warehouse, master, cid)] if master else []
    key = master.customer_key if master else None
    return CustomerProfile.model_validate(
        {
            "customer_id": attributes.get(key, customer_id) if key else customer_id,
            "cid": cid,
            "as_of": as_of or (state.as_of if state else None),
            "historical": as_of is not None,
            "run_id": state.id if state else None,
            "run_as_of": state.as_of if state else None,
            "attributes": attributes,
            "records": records,
            "attribute_sources": lineage(ws.warehouse, cid) if len(records) > 1 else {},
            "identity_history": [asdict(e) for e in identity_history(ws.warehouse, cid)],
            "features": explainer.features(),
            "tags": explainer.tags(),
            "changes": _changes(ws, int(cid)),
        }
    )


def state_run(runs: Sequence[RunRecord], as_of: date | None) -> RunRecord | None:
    """The run whose state a profile shows: among committed runs that computed tags, the
    newest (with ``as_of``: the one with the greatest as-of date not after it, then the
    newest); ``None`` when there is none."""
    computed = [r for r in runs if r.status == "ok" and r.tags]
    if as_of is not None:
        computed = [r for r in computed if r.as_of <= as_of]
        return max(computed, key=lambda r: (r.as_of, r.id), default=None)
    return max(computed, key=lambda r: r.id, default=None)


class _Explainer:
    """One customer's explanations as of a state run: specs, plan, snapshots and runs are
    read once.

    A value is explained on the snapshot of the latest run, up to the moment shown, that
    computed its tag (it set or confirmed the value): for current values the tag's last
    computation, for ``as_of`` the last one as of that date or earlier.
    """

    def __init__(
        self, ws: Workspace, cid: int, *, state: RunRecord | None, as_of: date | None
    ) -> None:
        self.ws = ws
        self.cid = cid
        self.state = state
        self.specs: Specs = ws.specs(check=False)
        computations = ws.catalog.last_computations(as_of=as_of)
        self.latest: Mapping[str, int] = {c: int(v["run_id"]) for c, v in computations.items()}
        self.values = _tag_values(ws, cid, as_of)
        self._profiles: dict[int, dict[str, Any]] = {}
        self._runs: dict[int, date | None] = {}
        self._plans: dict[tuple[str, int | None], TagPlan | None] = {}
        self._computed: dict[tuple[int, int], dict[str, Any]] = {}
        self._set_based: dict[str, Any] | None = None
        self._versions = ws.catalog.latest_versions("tag")

    def row(self, schema: str, name: str) -> dict[str, Any]:
        """The customer's row of ``schema.name``, or {} when there is none."""
        if not self.ws.warehouse.has_table(schema, name):
            return {}
        found = self.ws.warehouse.dicts(
            f"SELECT * FROM {table(schema, name)} WHERE cid = ?",  # noqa: S608 (quoted by table())
            [self.cid],
        )
        return found[0] if found else {}

    def profile(self, run_id: int) -> dict[str, Any]:
        """The customer's row of a run's profile snapshot (cached)."""
        if run_id not in self._profiles:
            self._profiles[run_id] = self._engine(run_id).profile_row(run_id, self.cid)
        return self._profiles[run_id]

    def _engine(self, run_id: int) -> Engine:
        """The engine that computed a run (its snapshot lives there)."""
        found = self.ws.catalog.run(run_id)
        return self.ws.engine(found.engine if found is not None else None)

    def features(self) -> dict[str, Any] | None:
        """Feature values in the state run's snapshot (``None``: no state run, or its
        snapshot is gone or has no row for the customer)."""
        profile = self.profile(self.state.id) if self.state is not None else {}
        if not profile:
            return None
        names = list(self.specs.features.features) if self.specs.features else []
        return {n: profile[n] for n in names if n in profile}

    def tags(self) -> list[ProfileTag]:
        """Values grouped per tag, each with its provenance and why."""
        grouped: dict[str, list[dict[str, Any]]] = {}
        for v in self.values:
            grouped.setdefault(v["tag"], []).append(v)
        return [self._entry(code, rows) for code, rows in grouped.items()]

    def _entry(self, code: str, rows: list[dict[str, Any]]) -> ProfileTag:
        first = rows[0]
        spec = self._spec(code, first["version"])
        computed = first["source"] in ("rule", "sql")
        run = self.latest.get(code, first["run"]) if computed else None
        why = None
        if spec is not None and computed and run is not None:
            why = self._why(spec, first["version"], int(run))
        return ProfileTag(
            tag=code,
            name=spec.name if spec else code,
            category=spec.category if spec else None,
            kind=spec.kind.value if spec else None,
            values=[r["value"] for r in rows if r["value"] is not None],
            score=first["score"],
            source=first["source"],
            version=first["version"],
            run_id=run,
            as_of=self._as_of(run) if run is not None else None,
            set_by_run_id=first["run"],
            since=first["since"],
            locked=bool(first["locked"]),
            shadow=first["shadow"],
            why=why,
        )

    def _spec(self, code: str, version: int | None) -> TagSpec | None:
        """The definition of the version that decided a value (files when it is current)."""
        defined = self.specs.tags.tags.get(code) if self.specs.tags else None
        latest = self._versions.get(code)
        if version is None or (latest is not None and latest.version == version and defined):
            return defined
        for v in self.ws.catalog.versions("tag", code):
            if v.version == version:
                return TagSpec.model_validate(dict(v.definition))
        return defined

    def _why(self, spec: TagSpec, version: int | None, run_id: int) -> str:
        from tagwise.compile.rules import explain  # noqa: PLC0415

        row = self.profile(run_id)
        if not row:
            return f"the profile snapshot of run {run_id} is no longer kept"
        as_of = self._as_of(run_id)
        plan = self._plan(spec, version)
        if as_of is None or plan is None:
            return "the specs needed to explain this value cannot be loaded"
        try:
            full = self._computed_row(run_id, plan, as_of)
            cuts = self.ws.tag_store.cuts(run_id, spec.code) if spec.quantiles else None
            return explain(spec, plan, full, as_of=as_of, cuts=cuts).text
        except TagwiseError as exc:
            return f"cannot re-evaluate with the current specs: {exc.message}"

    def _as_of(self, run_id: int) -> date | None:
        if run_id not in self._runs:
            run = self.ws.catalog.run(run_id)
            self._runs[run_id] = run.as_of if run else None
        return self._runs[run_id]

    def _plan(self, spec: TagSpec, version: int | None) -> TagPlan | None:
        """The plan of the current specs, with ``spec`` in place when it is an older version;
        built once per distinct definition."""
        from tagwise.compile.features import profile_schema  # noqa: PLC0415
        from tagwise.compile.rules import plan_tags  # noqa: PLC0415

        specs = self.specs
        current = specs.tags.tags.get(spec.code) if specs.tags else None
        key = ("", None) if spec == current else (spec.code, version)
        if key not in self._plans:
            if specs.features is None or specs.sources is None or specs.tags is None:
                self._plans[key] = None
            else:
                tags = {**specs.tags.tags, spec.code: spec}
                schema = profile_schema(specs.features, specs.sources)
                self._plans[key] = plan_tags(
                    list(tags.values()), schema, sources=source_tables(specs.sources)
                )
        return self._plans[key]

    def _computed_row(self, run_id: int, plan: TagPlan, as_of: date) -> dict[str, Any]:
        """The snapshot row plus every tag as expressions read it, per plan and run."""
        from tagwise.compile.rules import tag_values  # noqa: PLC0415

        key = (id(plan), run_id)  # plans live as long as this explainer (self._plans)
        if key not in self._computed:
            full = {**self.profile(run_id), **self._set_based_values()}
            full.update(tag_values(plan, full, as_of=as_of))
            self._computed[key] = full
        return self._computed[key]

    def _set_based_values(self) -> dict[str, Any]:
        """The values shown, as expressions read them (quantile and SQL tags are not
        re-computed per customer): a multi tag is the list of its values."""
        if self._set_based is None:
            kinds = {c: t.kind for c, t in self.specs.tags.tags.items()} if self.specs.tags else {}
            out: dict[str, Any] = {}
            for row in self.values:
                tag, value, score = row["tag"], row["value"], row["score"]
                if kinds.get(tag) is TagKind.MULTI:
                    out.setdefault(tag, []).append(value)
                else:
                    out[tag] = score if score is not None else value
            self._set_based = out
        return self._set_based


def _tag_values(ws: Workspace, cid: int, as_of: date | None) -> list[dict[str, Any]]:
    """A customer's tag values, current or (``as_of``) those held on that date, ordered by
    tag and value: tag, value, score, source, version, run (that set it), since, locked,
    shadow."""
    store = ws.tag_store
    found = store.current(cid=cid) if as_of is None else store.as_of(as_of, cid=cid)
    return [
        dict(
            zip(
                _VALUE_KEYS,
                (
                    *(v.tag, v.value, v.score, v.source, v.version, v.run_id, v.since),
                    *(v.locked, v.shadow_value),
                ),
                strict=True,
            )
        )
        for v in found
    ]


def _changes(ws: Workspace, cid: int, limit: int = 20) -> list[TagChange]:
    """A customer's latest changes, newest first (the rules' and people's)."""
    return [
        TagChange.model_validate(
            {
                "run_id": c.run_id,
                "as_of": c.as_of,
                "tag": c.tag,
                "old_value": c.old_value,
                "new_value": c.new_value,
                "old_score": c.old_score,
                "new_score": c.new_score,
            }
        )
        for c in ws.tag_store.changes(cid=cid, limit=limit)
    ]
