"""A customer's profile with provenance: attributes, features, tags and why each is there.

Explanations are derived, not stored (DESIGN.md): each value records its run and the
definition version; the run's profile snapshot is re-read and the rule re-evaluated with
the Python back-end, which reports the branch that matched and the values it read.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from datetime import date
from typing import TYPE_CHECKING, Any

from tagwise.errors import TagwiseError
from tagwise.identity.store import identity_history, lineage, members, record_of
from tagwise.spec.tags import TagKind, TagSpec
from tagwise.specs import Specs, source_tables
from tagwise.store.sql import table

if TYPE_CHECKING:
    from tagwise.compile.plan import TagPlan
    from tagwise.engine.base import Engine
    from tagwise.workspace import Workspace

__all__ = ["customer_profile"]

_VALUE_KEYS = ("tag", "value", "score", "source", "version", "run", "since", "locked", "shadow")


def customer_profile(ws: Workspace, customer_id: str, *, as_of: date | None) -> dict[str, Any]:
    """Everything ``tagwise customer show`` prints, as one JSON-ready dict."""
    _, cid = record_of(ws.warehouse, customer_id)
    explainer = _Explainer(ws, cid, as_of=as_of)
    master = explainer.specs.sources.customers if explainer.specs.sources else None
    attributes = explainer.row("src", master.name) if master else {}
    for hidden in ("_file", "_line"):
        attributes.pop(hidden, None)
    values = _values(ws, cid, as_of)
    records = [asdict(m) for m in members(ws.warehouse, master, cid)] if master else []
    key = master.customer_key if master else None
    return {
        "customer_id": attributes.get(key, customer_id) if key else customer_id,
        "cid": cid,
        "as_of": as_of.isoformat() if as_of else None,
        "attributes": attributes,
        "records": records,
        "attribute_sources": lineage(ws.warehouse, cid) if len(records) > 1 else {},
        "identity_history": [asdict(e) for e in identity_history(ws.warehouse, cid)],
        "features": explainer.features(values),
        "tags": explainer.tags(values),
        "changes": _changes(ws, int(cid)),
    }


class _Explainer:
    """One customer's explanations: specs, plan, snapshots and runs are read once.

    A current value is explained on the snapshot of the latest run that computed its tag
    (which confirmed it); a past one (``as_of``) on the run that set it.
    """

    def __init__(self, ws: Workspace, cid: int, *, as_of: date | None) -> None:
        self.ws = ws
        self.cid = cid
        self.specs: Specs = ws.specs(check=False)
        self.latest: Mapping[str, int] = (
            {}
            if as_of
            else {c: int(v["run_id"]) for c, v in ws.catalog.last_computations().items()}
        )
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

    def features(self, values: list[dict[str, Any]]) -> dict[str, Any]:
        """Feature values from the latest ok run's snapshot (else the newest value's run)."""
        runs = self.ws.catalog.runs(limit=1, status="ok")
        run = (
            runs[0].id
            if runs
            else max((v["run"] for v in values if v["run"] is not None), default=None)
        )
        profile = self.profile(run) if run is not None else {}
        names = list(self.specs.features.features) if self.specs.features else []
        return {n: profile[n] for n in names if n in profile}

    def tags(self, values: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Values grouped per tag, each with its provenance and why."""
        grouped: dict[str, list[dict[str, Any]]] = {}
        for v in values:
            grouped.setdefault(v["tag"], []).append(v)
        return [self._entry(code, rows) for code, rows in grouped.items()]

    def _entry(self, code: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
        first = rows[0]
        spec = self._spec(code, first["version"])
        run = self.latest.get(code, first["run"])
        why = None
        if spec is not None and first["source"] in ("rule", "sql") and run is not None:
            why = self._why(spec, first["version"], int(run))
        return {
            "tag": code,
            "name": spec.name if spec else code,
            "category": spec.category if spec else None,
            "kind": spec.kind.value if spec else None,
            "values": [r["value"] for r in rows if r["value"] is not None],
            "score": first["score"],
            "source": first["source"],
            "version": first["version"],
            "run": first["run"],
            "since": first["since"],
            "locked": bool(first["locked"]),
            "shadow": first["shadow"],
            "why": why,
        }

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
        """Current values as expressions read them (quantile and SQL tags are not
        re-computed per customer): a multi tag is the list of its values."""
        if self._set_based is None:
            rows = [(v.tag, v.value, v.score) for v in self.ws.tag_store.current(cid=self.cid)]
            kinds = {c: t.kind for c, t in self.specs.tags.tags.items()} if self.specs.tags else {}
            out: dict[str, Any] = {}
            for tag, value, score in rows:
                if kinds.get(tag) is TagKind.MULTI:
                    out.setdefault(tag, []).append(value)
                else:
                    out[tag] = score if score is not None else value
            self._set_based = out
        return self._set_based


def _values(ws: Workspace, cid: int, as_of: date | None) -> list[dict[str, Any]]:
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


def _changes(ws: Workspace, cid: int, limit: int = 20) -> list[dict[str, Any]]:
    return [
        {
            "run": c.run_id,
            "as_of": c.as_of,
            "tag": c.tag,
            "old": c.old_value,
            "new": c.new_value,
            "old_score": c.old_score,
            "new_score": c.new_score,
        }
        for c in ws.tag_store.changes(cid=cid, limit=limit)
    ]
