"""A customer's profile with provenance: attributes, features, tags and why each is there.

Explanations are derived, not stored (DESIGN.md): each value records its run and the
definition version; the run's profile snapshot is re-read and the rule re-evaluated with
the Python back-end, which reports the branch that matched and the values it read.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import TYPE_CHECKING, Any

from tagwise.errors import NotFound, TagwiseError
from tagwise.spec.tags import TagSpec
from tagwise.specs import source_tables
from tagwise.store.sql import table

if TYPE_CHECKING:
    from tagwise.workspace import Workspace

__all__ = ["customer_profile"]


def customer_profile(ws: Workspace, customer_id: str, *, as_of: date | None) -> dict[str, Any]:
    """Everything ``tagwise customer show`` prints, as one JSON-ready dict."""
    wh = ws.warehouse
    cid = wh.scalar("SELECT cid FROM meta.customer_keys WHERE customer_id = ?", [customer_id])
    if cid is None:
        raise NotFound(
            f"customer `{customer_id}` does not exist",
            hint="customer ids are the customer master's keys, e.g. C00000001",
        )
    specs = ws.specs(check=False)
    master = specs.sources.customers if specs.sources else None
    attributes = _row(ws, table("src", master.name), int(cid)) if master else {}
    for hidden in ("_file", "_line"):
        attributes.pop(hidden, None)
    values = _values(ws, int(cid), as_of)
    profiles: dict[int, dict[str, Any]] = {}
    latest_run = max((v["run"] for v in values if v["run"] is not None), default=None)
    if not as_of:
        runs = ws.catalog.runs(limit=1, status="ok")
        latest_run = runs[0].id if runs else latest_run
    latest = (
        {} if as_of else {c: int(v["run_id"]) for c, v in ws.catalog.last_computations().items()}
    )
    tags = _explained(ws, int(cid), values, profiles, latest)
    features = _features(specs, profiles.get(latest_run or -1) or _latest_profile(ws, cid))
    return {
        "customer_id": customer_id,
        "cid": int(cid),
        "as_of": as_of.isoformat() if as_of else None,
        "attributes": attributes,
        "features": features,
        "tags": tags,
        "changes": _changes(ws, int(cid)),
    }


def _row(ws: Workspace, name: str, cid: int) -> dict[str, Any]:
    if not _exists(ws, name):
        return {}
    result = ws.warehouse.execute(f"SELECT * FROM {name} WHERE cid = ?", [cid])
    row = result.fetchone()
    if row is None:
        return {}
    return dict(zip([d[0] for d in result.description], row, strict=True))


def _exists(ws: Workspace, quoted: str) -> bool:
    schema, _, name = quoted.partition(".")
    return ws.warehouse.has_table(schema.strip('"'), name.strip('"'))


def _values(ws: Workspace, cid: int, as_of: date | None) -> list[dict[str, Any]]:
    if not ws.warehouse.has_table("tags", "current"):
        return []
    if as_of is None:
        sql = (
            "SELECT tag, value, score, source, version, run_id, valid_from, locked, "
            "shadow_value FROM tags.current WHERE cid = ? ORDER BY tag, value"
        )
        params: list[Any] = [cid]
    else:
        sql = (
            "SELECT tag, value, score, source, version, run_id, valid_from, FALSE, NULL "
            "FROM tags.history WHERE cid = ? AND valid_from <= ? AND "
            "(valid_to IS NULL OR valid_to > ?) ORDER BY tag, value"
        )
        params = [cid, as_of, as_of]
    keys = ("tag", "value", "score", "source", "version", "run", "since", "locked", "shadow")
    return [dict(zip(keys, r, strict=True)) for r in ws.warehouse.rows(sql, params)]


def _explained(
    ws: Workspace,
    cid: int,
    values: list[dict[str, Any]],
    profiles: dict[int, dict[str, Any]],
    latest: Mapping[str, int],
) -> list[dict[str, Any]]:
    """Tag values grouped per tag, each with why; a current value is explained on the
    snapshot of the latest run that computed its tag (which confirmed it), a past one on
    the run that set it."""
    specs = ws.specs(check=False)
    defined = specs.tags.tags if specs.tags else {}
    grouped: dict[str, list[dict[str, Any]]] = {}
    for v in values:
        grouped.setdefault(v["tag"], []).append(v)
    out = []
    for code, rows in grouped.items():
        first = rows[0]
        spec = _spec_of(ws, code, first["version"]) or defined.get(code)
        entry = {
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
            "why": None,
        }
        run = latest.get(code, first["run"])
        if spec is not None and first["source"] in ("rule", "sql") and run is not None:
            entry["why"] = _why(ws, spec, int(run), cid, profiles)
        out.append(entry)
    return out


def _spec_of(ws: Workspace, code: str, version: int | None) -> TagSpec | None:
    if version is None:
        return None
    for v in ws.catalog.versions("tag", code):
        if v.version == version:
            return TagSpec.model_validate(dict(v.definition))
    return None


def _why(
    ws: Workspace, spec: TagSpec, run_id: int, cid: int, profiles: dict[int, dict[str, Any]]
) -> str:
    from tagwise.engine.features import profile_schema  # noqa: PLC0415
    from tagwise.engine.rules import explain, plan_tags, tag_values  # noqa: PLC0415

    if run_id not in profiles:
        profiles[run_id] = _row(ws, table("snap", f"profile_{run_id}"), cid)
    row = profiles[run_id]
    if not row:
        return f"the profile snapshot of run {run_id} is no longer kept"
    specs = ws.specs(check=False)
    run = ws.catalog.run(run_id)
    if specs.features is None or specs.sources is None or specs.tags is None or run is None:
        return "the specs needed to explain this value cannot be loaded"
    tags = {**specs.tags.tags, spec.code: spec}
    try:
        schema = profile_schema(specs.features, specs.sources)
        plan = plan_tags(list(tags.values()), schema, sources=source_tables(specs.sources))
        full = {**row, **_set_based_values(ws, cid)}
        full.update(tag_values(plan, full, as_of=run.as_of))
        return explain(spec, plan, full, as_of=run.as_of).text
    except TagwiseError as exc:
        return f"cannot re-evaluate with the current specs: {exc.message}"


def _set_based_values(ws: Workspace, cid: int) -> Mapping[str, Any]:
    """Current values as expressions read them (for quantile and SQL tags)."""
    rows = ws.warehouse.rows("SELECT tag, value, score FROM tags.current WHERE cid = ?", [cid])
    out: dict[str, Any] = {}
    for tag, value, score in rows:
        out[tag] = score if score is not None else value
    return out


def _latest_profile(ws: Workspace, cid: object) -> dict[str, Any]:
    runs = ws.catalog.runs(limit=1, status="ok")
    if not runs:
        return {}
    return _row(ws, table("snap", f"profile_{runs[0].id}"), int(str(cid)))


def _features(specs: Any, profile: Mapping[str, Any]) -> dict[str, Any]:
    names = list(specs.features.features) if specs.features else []
    return {n: profile.get(n) for n in names if n in profile}


def _changes(ws: Workspace, cid: int, limit: int = 20) -> list[dict[str, Any]]:
    if not ws.warehouse.has_table("tags", "changes"):
        return []
    rows = ws.warehouse.rows(
        "SELECT run_id, as_of, tag, old_value, new_value, old_score, new_score "
        "FROM tags.changes WHERE cid = ? ORDER BY run_id DESC, tag LIMIT ?",
        [cid, limit],
    )
    keys = ("run", "as_of", "tag", "old", "new", "old_score", "new_score")
    return [dict(zip(keys, r, strict=True)) for r in rows]
