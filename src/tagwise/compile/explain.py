"""One customer, in Python: a plan's tag values for one profile row (:func:`tag_values`)
and why a tag has the value it has (:func:`explain`), for the realtime path and for people.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from tagwise.compile.plan import PlannedBranch, PlannedTag, Row, TagPlan, walk
from tagwise.compile.quantiles import Cuts, score_of
from tagwise.errors import NotFound
from tagwise.lang.ast import Call, CompareOp, Expr, Literal, Name
from tagwise.lang.ast import Compare as CompareNode
from tagwise.spec.tags import TagKind, TagSpec

__all__ = ["Explanation", "explain", "tag_values"]


def tag_values(plan: TagPlan, row: Row, *, as_of: date) -> dict[str, Any]:
    """The values of the plan's rule and score tags for one profile row, layer by layer.

    Each value is what the tag reads as in expressions (enum → str, flag → ``True`` or
    None, multi → a non-empty list or None, score → float or None). Quantile and SQL tags
    depend on all customers: their values are taken from ``row`` when present.
    """
    values = dict(row)
    for tag in plan.tags.values():
        if not tag.is_set_based:
            values[tag.code] = _evaluate(tag, values, as_of)[0]
    return {code: values.get(code) for code in plan.tags}


def _evaluate(tag: PlannedTag, row: Row, as_of: date) -> tuple[Any, list[PlannedBranch]]:
    """A tag's value on one row and the branches that matched."""
    if tag.score_fn is not None:
        raw = tag.score_fn(row, as_of)
        return (None if raw is None else float(raw)), []
    matched: list[PlannedBranch] = []
    for branch in tag.branches:
        if branch.test is None or branch.test(row, as_of) is True:
            matched.append(branch)
            if tag.spec.kind is not TagKind.MULTI:
                break
    kind = tag.spec.kind
    if kind is TagKind.MULTI:
        values = list(dict.fromkeys(b.value for b in matched))
        return (values or None), matched
    if kind is TagKind.FLAG:
        return (True if matched else None), matched
    return (matched[0].value if matched else None), matched


@dataclass(frozen=True, slots=True)
class Explanation:
    """Why one customer has (or lacks) a tag's value."""

    code: str
    value: str | None
    """The value stored: enum value, ``'true'`` for a flag, the band of a score tag."""
    values: tuple[str, ...] = ()
    """Every value of a multi tag (and the one value of other kinds)."""
    score: float | None = None
    branch: int | None = None
    """Index (0-based, in ``rule``) of the first matching branch; None when none matched."""
    branches: tuple[int, ...] = ()
    """Every matching branch (several for multi tags)."""
    condition: str | None = None
    """The text of the first matching condition (``else`` for the else branch)."""
    inputs: Mapping[str, Any] = field(default_factory=dict)
    """The value of every name the matching condition (or the score expression) read."""
    over_all_customers: bool = False
    """The value depends on all customers (quantiles, SQL) and is not re-computed here."""
    text: str = ""
    """One line for people: ``spend_365d = 123,456 >= 100,000 → 高消费``."""


def explain(
    tag: TagSpec, plan: TagPlan, row: Row, *, as_of: date, cuts: Cuts | None = None
) -> Explanation:
    """Re-evaluate one tag on one profile row (with that row's values of earlier tags).

    Args:
        tag: the definition that decided the value.
        plan: the plan holding it.
        row: the profile row (with the values of the tags it reads).
        as_of: the run's date.
        cuts: a quantile tag's cut points in the run that computed it
            (:func:`tagwise.store.tags.TagStore.cuts`); its score is re-derived
            from them.

    Raises:
        NotFound: the tag is not in the plan.
    """
    planned = plan.tags.get(tag.code)
    if planned is None:
        raise NotFound(f"tag `{tag.code}` is not in the plan")
    if planned.sql is not None:
        return Explanation(
            tag.code,
            None,
            over_all_customers=True,
            text=f"{tag.code} is computed by its SQL query over all customers",
        )
    if planned.spec.kind is TagKind.SCORE and planned.spec.quantiles is not None:
        return _explain_quantile(planned, row, as_of, cuts)
    if planned.spec.kind is TagKind.SCORE:
        return _explain_score(planned, row, as_of)
    return _explain_rule(planned, row, as_of)


def _explain_rule(tag: PlannedTag, row: Row, as_of: date) -> Explanation:
    value, matched = _evaluate(tag, row, as_of)
    readers = [b for b in matched if b.when is not None] or [
        b for b in tag.branches if b.when is not None
    ]
    inputs: dict[str, Any] = {}
    for branch in readers:
        assert branch.when is not None  # noqa: S101 (filtered above)
        inputs.update(_inputs(branch.when.expr, row))
    values: tuple[str, ...] = tuple(value) if isinstance(value, list) else ()
    shown = "true" if value is True else (value if isinstance(value, str) else None)
    if shown is not None:
        values = (shown,)
    first = matched[0] if matched else None
    result = ", ".join(values) if values else "no value"
    return Explanation(
        tag.code,
        shown,
        values=values,
        branch=first.index if first else None,
        branches=tuple(b.index for b in matched),
        condition=first.text if first else None,
        inputs=inputs,
        text=_because(first if len(matched) <= 1 else None, inputs, result, matched=bool(matched)),
    )


def _explain_score(tag: PlannedTag, row: Row, as_of: date) -> Explanation:
    assert tag.score is not None  # noqa: S101 (score tags have their expression)
    inputs = _inputs(tag.score.expr, row)
    listed = ", ".join(f"{k} = {_fmt(v)}" for k, v in inputs.items())
    score, _ = _evaluate(tag, row, as_of)
    band = _band(tag, score)
    text = f"{listed}: " if listed else ""
    text += f"{tag.score.source} = {_fmt(score)}"
    if band is not None:
        text += f" → {band}"
    return Explanation(
        tag.code,
        band,
        values=(band,) if band is not None else (),
        score=score,
        inputs=inputs,
        condition=tag.score.source,
        text=text,
    )


def _explain_quantile(tag: PlannedTag, row: Row, as_of: date, cuts: Cuts | None) -> Explanation:
    """``f_score is 3 of 5: orders_365d = 4 lies in [3, 6) (cut points 1, 3, 6, 12)``: the
    raw number re-evaluated, its score from the run's cut points."""
    assert tag.score is not None  # noqa: S101 (score tags have their expression)
    inputs = _inputs(tag.score.expr, row)
    raw, _ = _evaluate(tag, row, as_of)
    n, descending = tag.spec.quantiles or 0, tag.spec.descending
    source = tag.score.source
    if cuts is None:
        order = "descending " if descending else ""
        listed = ", ".join(f"{k} = {_fmt(v)}" for k, v in inputs.items())
        text = (
            f"{tag.code} is the {order}{n}-quantile of `{source}` over all customers "
            "(the run recorded no cut points)" + (f"; {listed}" if listed else "")
        )
        return Explanation(tag.code, None, inputs=inputs, over_all_customers=True, text=text)
    if raw is None:
        text = f"{source} = null: no score"
        return Explanation(tag.code, None, inputs=inputs, over_all_customers=True, text=text)
    score = score_of(raw, cuts, descending=descending)
    band = _band(tag, float(score))
    shown = ", ".join("none" if c is None else _fmt(c) for c in cuts)
    text = (
        f"{tag.code} is {score} of {n}: {source} = {_fmt(raw)} lies in "
        f"{_interval(score, cuts, descending=descending)} (cut points {shown})"
    )
    return Explanation(
        tag.code,
        band,
        values=(band,) if band is not None else (),
        score=float(score),
        inputs=inputs,
        condition=source,
        over_all_customers=True,
        text=text + (f" → {band}" if band is not None else ""),
    )


def _interval(score: int, cuts: Cuts, *, descending: bool) -> str:
    """The raw values that get ``score``: ``[3, 6)``, or ``(6, 30]`` when descending."""
    lower = cuts[score - 2] if score >= 2 else None  # c_(score-1)
    upper = cuts[score - 1] if score - 1 < len(cuts) else None  # c_score
    if descending:  # (c_score, c_(score-1)]
        low = "(-∞" if upper is None else f"({_fmt(upper)}"
        high = "∞)" if lower is None else f"{_fmt(lower)}]"
    else:  # [c_(score-1), c_score)
        low = "(-∞" if lower is None else f"[{_fmt(lower)}"
        high = "∞)" if upper is None else f"{_fmt(upper)})"
    return f"{low}, {high}"


def _band(tag: PlannedTag, score: float | None) -> str | None:
    if score is None:
        return None
    for band in tag.spec.bands:
        if band.min is None or score >= band.min:
            return band.value
    return None


def _inputs(tree: Expr, row: Row) -> dict[str, Any]:
    """Every name an expression reads (``has_tag`` codes included), first reading first."""
    found: dict[str, Any] = {}
    for node in walk(tree):
        if isinstance(node, Name):
            found.setdefault(node.name, row.get(node.name))
        elif isinstance(node, Call) and node.name == "has_tag" and node.args:
            first = node.args[0]
            if isinstance(first, Literal) and isinstance(first.value, str):
                found.setdefault(first.value, row.get(first.value))
    return found


def _because(
    branch: PlannedBranch | None, inputs: Mapping[str, Any], result: str, *, matched: bool
) -> str:
    """``spend_365d = 123,456 >= 100,000 → 高消费`` for one comparison with a constant;
    ``a = 1, b = 2 → v`` otherwise (also for several matching branches)."""
    tree = branch.when.expr if branch is not None and branch.when is not None else None
    if (
        isinstance(tree, CompareNode)
        and isinstance(tree.left, Name)
        and isinstance(tree.right, Literal)
    ):
        op = "≠" if tree.op == CompareOp.NE else str(tree.op)
        name = tree.left.name
        return f"{name} = {_fmt(inputs.get(name))} {op} {_fmt(tree.right.value)} → {result}"
    listed = ", ".join(f"{k} = {_fmt(v)}" for k, v in inputs.items())
    if branch is None and matched:
        return f"{listed} → {result}"
    if branch is None:
        return f"{listed}: no condition matched → {result}" if listed else f"→ {result}"
    if branch.when is None:
        return f"{listed}: no condition matched, else → {result}" if listed else f"else → {result}"
    return f"{listed} → {result}" if listed else f"{branch.text} → {result}"


def _fmt(value: Any) -> str:
    """A value for people: numbers with thousands separators, strings quoted."""
    for kind, render in _FORMATS:
        if isinstance(value, kind):
            return render(value)
    return str(value)


def _fmt_number(value: float) -> str:
    number = float(value)
    if number.is_integer():
        return f"{number:,.0f}"
    return f"{number:,.2f}".rstrip("0").rstrip(".")


_FORMATS: tuple[tuple[type | tuple[type, ...], Callable[[Any], str]], ...] = (
    (type(None), lambda _: "null"),
    (bool, lambda v: "true" if v else "false"),
    (int, lambda v: f"{v:,}"),
    ((float, Decimal), _fmt_number),
    (str, lambda v: f"'{v}'"),
    ((date, datetime), lambda v: v.isoformat()),
    ((list, tuple), lambda v: "[" + ", ".join(_fmt(x) for x in v) + "]"),
)
"""How :func:`_fmt` renders each Python type, first match (bool before int)."""
