"""Behaviour every engine must share, one body per engine (the ``engine`` fixture): quantile
scores and their cut points, the language's rounding, overflow errors that name the tag.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlglot import exp

from tagwise.compile.quantiles import Cuts, score_of
from tagwise.compile.rules import plan_tags
from tagwise.engine.evaluate import evaluate_tags
from tagwise.errors import EngineError
from tagwise.lang import Column, Schema, Type, check, parse, to_python, to_sql
from tagwise.spec.tags import TagSpec

AS_OF = date(2026, 11, 1)
EXAMPLES = {"duckdb": 150, "postgres": 60, "spark": 3}
"""Hypothesis examples per engine (a Spark query takes about a second)."""


def tie_quantiles(values: dict[int, float | None], n: int, *, descending: bool) -> dict[int, int]:
    """The quantile rule of docs/tags.md by brute force: a value with ``below`` customers
    strictly before it and ``tied`` equal to it (itself included) among ``m`` scores
    ``1 + floor(n * (below + tied / 2) / m)``; nulls get no score."""
    known = {cid: v for cid, v in values.items() if v is not None}
    out = {}
    for cid, v in known.items():
        below = sum(1 for w in known.values() if (w > v if descending else w < v))
        tied = sum(1 for w in known.values() if w == v)
        out[cid] = 1 + math.floor(n * (below + tied / 2) / len(known))
    return out


def share_bound(values: list[float], n: int, k: int, *, descending: bool) -> float:
    """How far score ``k``'s count may lie from ``m / n``: half of the tie group that
    straddles each of its ideal boundaries ``(k - 1) m / n`` and ``k m / n`` (a group
    straddles ``t`` when its positions ``[start, end)`` in the ordered list hold ``t``
    strictly inside)."""
    ordered = sorted(values, reverse=descending)
    m = len(ordered)
    groups: list[tuple[int, int]] = []
    for i, v in enumerate(ordered):
        if i and ordered[i - 1] == v:
            groups[-1] = (groups[-1][0], i + 1)
        else:
            groups.append((i, i + 1))

    def straddling(t: float) -> int:
        return next((e - s for s, e in groups if s < t < e), 0)

    return (straddling((k - 1) * m / n) + straddling(k * m / n)) / 2


def quantile_run(
    engine: Any, values: dict[int, float | None], n: int, *, descending: bool
) -> tuple[dict[int, float], Cuts]:
    """Scores and cut points of ``quantiles: n`` over ``values`` on an engine."""
    table = engine.table({"x": "DOUBLE"}, [{"cid": c, "x": v} for c, v in values.items()])
    schema = Schema([Column("x", Type.NUMBER, "feature")])
    spec = TagSpec(
        code="q", name="价值_q", category="value", kind="score", score="x", quantiles=n,
        descending=descending,
    )  # fmt: skip
    plan = plan_tags([spec], schema)
    recorded: dict[str, Cuts] = {}
    with evaluate_tags(
        engine.engine, plan, profile=table, as_of=AS_OF, ids={"q": 1},
        record_cuts=recorded.update,
    ) as long_form:  # fmt: skip
        assert long_form is not None
        rows = engine.rows(long_form)
    return {int(cid): score for cid, _tag, _value, score in rows}, recorded["q"]


def _property(engine: Any, body: Callable[..., None], **strategies: Any) -> None:
    """Run a hypothesis property with the engine's number of examples."""
    limits = settings(
        max_examples=EXAMPLES[engine.name],
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    limits(given(**strategies)(body))()


_TIED = st.one_of(st.none(), st.integers(0, 4).map(float), st.sampled_from([-1.5, 2.25, 1e9]))
"""Raw values with many ties (and nulls)."""


def test_equal_values_get_equal_quantile_scores(engine) -> None:
    def body(raw: list[float | None], n: int, descending: bool) -> None:
        values = dict(enumerate(raw, start=1))
        scores, cuts = quantile_run(engine, values, n, descending=descending)
        known = {c: v for c, v in values.items() if v is not None}
        assert set(scores) == set(known)  # nulls stay null
        by_value: dict[float, set[float]] = {}
        for cid, score in scores.items():
            by_value.setdefault(known[cid], set()).add(score)
        assert all(len(s) == 1 for s in by_value.values())  # equal values, equal scores
        assert all(s in range(1, n + 1) for s in scores.values())
        order = sorted(by_value, reverse=descending)  # monotone in the value
        assert [next(iter(by_value[v])) for v in order] == sorted(
            next(iter(by_value[v])) for v in order
        )
        for k in range(1, n + 1):  # each share as close to 1/n as the ties allow
            count = sum(1 for s in scores.values() if s == k)
            bound = share_bound(list(known.values()), n, k, descending=descending)
            assert abs(count - len(known) / n) <= bound + 1e-9 or not known, (k, count)
        assert scores == {
            c: float(s) for c, s in tie_quantiles(values, n, descending=descending).items()
        }
        # the cut points are data values and give every score back (the realtime rule)
        assert all(c is None or c in known.values() for c in cuts) and len(cuts) == n - 1
        assert all(score_of(known[c], cuts, descending=descending) == s for c, s in scores.items())

    _property(
        engine,
        body,
        raw=st.lists(_TIED, min_size=1, max_size=40),
        n=st.integers(2, 10),
        descending=st.booleans(),
    )


def test_without_ties_each_score_holds_its_share(engine) -> None:
    values = {c: float(c * 7 % 23) for c in range(1, 24)}  # 23 distinct values
    scores, cuts = quantile_run(engine, values, 5, descending=False)
    counts = [sum(1 for s in scores.values() if s == k) for k in range(1, 6)]
    assert set(counts) <= {4, 5} and sum(counts) == 23  # 23 / 5 = 4.6 each, give or take one
    assert [c for c in cuts if c is not None] == sorted(c for c in cuts if c is not None)


ROUNDED = [
    ("round(15.85, 1)", 15.9),  # 15.8499999… in binary: the decimal as written
    ("round(-2.675, 2)", -2.68),
    ("round(0.125, 2)", 0.13),
    ("round(2.5)", 3.0),
    ("round(-0.001, 2)", 0.0),
    ("round(x, 3)", 1.006),  # x = 1.0055 from a column
]


def test_round_is_the_decimal_as_written_on_every_engine(engine) -> None:
    schema = Schema([Column("x", Type.NUMBER, "feature")])
    typed = [check(parse(text), schema) for text, _ in ROUNDED]
    table = engine.table({"x": "DOUBLE"}, [{"cid": 1, "x": 1.0055}])
    query = exp.select(*(to_sql(t, as_of=AS_OF).as_(f"r{i}") for i, t in enumerate(typed))).from_(
        table
    )
    (got,) = engine.rows(query)
    python = [to_python(t)({"x": 1.0055}, AS_OF) for t in typed]
    assert list(got) == python == [want for _, want in ROUNDED]
    assert [math.copysign(1, g) for g in got] == [math.copysign(1, w) for _, w in ROUNDED]


@pytest.mark.notimpl(["spark"], reason="Spark runs without ANSI mode: 64-bit overflow wraps")
def test_an_overflow_names_the_tag_and_the_engine(engine) -> None:
    table = engine.table({"n": "BIGINT"}, [{"cid": 1, "n": 3_000_000_000}, {"cid": 2, "n": 1}])
    schema = Schema([Column("n", Type.NUMBER, "feature")])
    specs = [
        TagSpec(code="fine", name="价值_fine", category="value", kind="score", score="n * 2"),
        TagSpec(code="huge", name="价值_huge", category="value", kind="score", score="n * n * n"),
        TagSpec(code="also", name="价值_also", category="value", kind="flag", rule="n > 1"),
    ]
    plan = plan_tags(specs, schema)
    with (
        pytest.raises(EngineError) as info,
        evaluate_tags(
            engine.engine, plan, profile=table, as_of=AS_OF, ids={"fine": 1, "huge": 2, "also": 3}
        ) as long_form,
    ):
        assert long_form is not None
        engine.rows(long_form)
    assert info.value.message == f"tag `huge` overflowed a 64-bit integer on {engine.name}"
    assert "double precision" in (info.value.hint or "")
