"""Nested saved segments through the bitmap index equal brute force on the demo's data.

Random families of saved segments (each may use the ones before it with ``in_segment``,
negated or not, beside predicates with nulls, numeric ranges on a score tag and on a
feature, and multi tags) are written to ``segments/``; ``Workspace.segment_members`` of the
last one must equal its members computed independently: each segment's set from the
Python back-end over every customer's row, nested segments replaced by their sets.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tagwise
from tagwise.cli.app import run
from tagwise.lang import Column, Schema, Type, check_condition, parse, to_python
from tagwise.lang.expand import segments_used

LEAVES = [
    "churn_risk = '高'",
    "city_tier in ('一线', '新一线')",
    "has_tag('interests', '美食')",
    "gender_label = '女'",
    "r_score >= 3",
    "spend_365d between 1000 and 8000",
    "not has_tag('high_value')",
    "recency_band != '365天以上'",
]


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    root = tmp_path_factory.mktemp("nested") / "shop"
    assert run(["demo", str(root), "--customers", "400", "--json"]) == 0
    for path in (root / "segments").iterdir():
        path.unlink()  # only the generated segments
    ws = tagwise.open(root)
    yield ws, rows_of(root, ws)
    ws.close()


def rows_of(root: Path, ws) -> dict[int, dict]:
    """Every customer's values as expressions read them, read directly from the stores."""
    specs = ws.specs()
    kinds = {c: t.kind.value for c, t in specs.tags.tags.items()}
    con = duckdb.connect(str(root / ".tagwise" / "warehouse.duckdb"), read_only=True)
    try:
        cids = [c for (c,) in con.execute("SELECT DISTINCT cid FROM meta.customer_keys").fetchall()]
        values = con.execute("SELECT cid, tag, value, score FROM tags.current").fetchall()
    finally:
        con.close()
    snapshot = sorted((root / ".tagwise" / "snapshots").glob("profile_*.parquet"))[-1]
    spend = dict(duckdb.sql(f"SELECT cid, spend_365d FROM read_parquet('{snapshot}')").fetchall())
    rows = {cid: {"spend_365d": spend.get(cid)} for cid in cids}
    for cid, tag, value, score in values:
        kind = kinds.get(tag)
        if kind == "multi":
            rows[cid].setdefault(tag, []).append(value)
        elif kind == "flag":
            rows[cid][tag] = True
        elif kind == "score":
            rows[cid][tag] = score
        else:
            rows[cid][tag] = value
    return rows


@st.composite
def families(draw):
    count = draw(st.integers(1, 4))
    out: dict[str, str] = {}
    for i in range(count):
        parts = [draw(st.sampled_from(LEAVES))]
        for _ in range(draw(st.integers(0, 2))):
            if i and draw(st.booleans()):
                used = f"in_segment('层{draw(st.integers(0, i - 1))}')"
            else:
                used = draw(st.sampled_from(LEAVES))
            negated = "not " if draw(st.booleans()) else ""
            parts.append(f"{draw(st.sampled_from(['and', 'or']))} {negated}{used}")
        out[f"层{i}"] = "(" + " ".join(parts) + ")"
    return out


def brute_force(name: str, family: dict[str, str], rows: dict[int, dict], schema, memo) -> set:
    if name in memo:
        return memo[name]
    text = family[name]
    inner = segments_used(parse(text))
    for used in inner:
        text = text.replace(f"in_segment('{used}')", f"m_{used}")
    extended = Schema([*schema, *(Column(f"m_{u}", Type.BOOLEAN, "attribute") for u in inner)])
    fn = to_python(check_condition(parse(text), extended, source=text))
    sets = {u: brute_force(u, family, rows, schema, memo) for u in inner}
    memo[name] = {
        cid
        for cid, row in rows.items()
        if fn({**row, **{f"m_{u}": cid in sets[u] for u in inner}}, None) is True
    }
    return memo[name]


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(family=families(), negate=st.booleans())
def test_nested_segments_through_the_index_equal_brute_force(shop, family, negate) -> None:
    ws, rows = shop
    (ws.root / "segments" / "generated.yaml").write_text(
        yaml.safe_dump(
            {"segments": [{"name": n, "expr": e} for n, e in family.items()]},
            allow_unicode=True,
        ),
        encoding="utf-8",
    )
    schema = ws.specs().segment_schema
    last = list(family)[-1]
    want = brute_force(last, family, rows, schema, {})
    text = f"not in_segment('{last}')" if negate else f"in_segment('{last}')"
    got = set(ws.segment_members(text))
    assert got == (set(rows) - want if negate else want), family
