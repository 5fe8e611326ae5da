"""Hypothesis strategies for the back-end agreement tests: one fixed schema, customer rows
for it, and well-typed expressions over it.

Every AST node class and every built-in function can be generated. Values stay small enough
that 64-bit integer arithmetic of a depth-3 tree rarely overflows (DuckDB raises then; the
test rejects those rare examples) and dates stay far from year 1 and 9999.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from functools import cache
from typing import Any

from hypothesis import strategies as st

from tagwise.lang.ast import (
    And,
    Arith,
    ArithOp,
    Between,
    Call,
    Compare,
    CompareOp,
    Duration,
    DurationUnit,
    Expr,
    In,
    IsNull,
    Like,
    Literal,
    Name,
    Negate,
    Not,
    Or,
)
from tagwise.lang.types import Column, Schema, Type

N, S, B, D, TS, DUR, L = (
    Type.NUMBER,
    Type.STRING,
    Type.BOOLEAN,
    Type.DATE,
    Type.TIMESTAMP,
    Type.DURATION,
    Type.LIST,
)

SCHEMA = Schema(
    [
        Column("spend_365d", N, "feature"),
        Column("order_count", N, "feature"),
        Column("城市", S, "attribute"),
        Column("email", S, "attribute"),
        Column("is_member", B, "attribute"),
        Column("registered_on", D, "attribute"),
        Column("last_order_at", TS, "feature"),
        Column("tenure", DUR, "feature"),
        Column("churn_risk", S, "tag", "enum"),
        Column("vip", B, "tag", "flag"),
        Column("interests", L, "tag", "multi"),
        Column("propensity", N, "tag", "score"),
    ]
)

DUCKDB_TYPES = {
    "spend_365d": "DOUBLE",
    "order_count": "BIGINT",
    "城市": "VARCHAR",
    "email": "VARCHAR",
    "is_member": "BOOLEAN",
    "registered_on": "DATE",
    "last_order_at": "TIMESTAMP",
    "tenure": "INTERVAL",
    "churn_risk": "VARCHAR",
    "vip": "BOOLEAN",
    "interests": "VARCHAR[]",
    "propensity": "DOUBLE",
}
"""The warehouse column type of each schema column (explicit, never inferred)."""

# -- values ----------------------------------------------------------------------------

# Chinese, LIKE wildcards, quotes, regex metacharacters, a newline, and the letters whose
# case mapping differs between Python's full and DuckDB's simple mapping.
ALPHABET = "aBz上海北京 %_'\\.*[]()$^+?|{}\nßİΣé"
WORDS = ["上海", "北京", "", "a%b", "it's", "A_b", "x@qq.com", "会员", "ΣΑΣ", "straße"]

MONTH_ENDS = [
    date(2023, 12, 31),
    date(2024, 1, 31),
    date(2024, 2, 28),
    date(2024, 2, 29),
    date(2024, 3, 1),
    date(2024, 4, 30),
    date(2024, 12, 31),
    date(2025, 2, 28),
]
TAG_VALUES = ["高", "中", "低", "it's"]
INTERESTS = ["运动", "美妆", "母婴", "a%", ""]

strings = st.one_of(st.sampled_from(WORDS), st.text(ALPHABET, max_size=6))
ints = st.one_of(st.sampled_from([0, 1, -1, 2, 3, -7, 10, 100]), st.integers(-1000, 1000))
floats = st.one_of(
    st.sampled_from([0.0, -0.0, 0.5, 2.5, -2.5, 0.1, 0.615, 1.005, 1e3]),
    st.floats(-1e4, 1e4, allow_nan=False, allow_infinity=False),
)
dates = st.one_of(
    st.builds(lambda d, k: d + timedelta(days=k), st.sampled_from(MONTH_ENDS), st.integers(-3, 3)),
    st.dates(date(2000, 1, 1), date(2030, 12, 31)),
)
timestamps = st.builds(
    datetime.combine, dates, st.sampled_from([time(), time(0, 0, 1), time(12), time(23, 59, 59)])
)
durations = st.builds(
    lambda d, h: timedelta(days=d, hours=h),
    st.integers(-400, 400),
    st.sampled_from([0, 0, 1, 12, 23]),
)
as_of_dates = st.sampled_from(MONTH_ENDS)


def _maybe(values: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), values, values)


ROW_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "spend_365d": floats,
    "order_count": ints,
    "城市": strings,
    "email": strings,
    "is_member": st.booleans(),
    "registered_on": dates,
    "last_order_at": timestamps,
    "tenure": durations,
    "churn_risk": st.sampled_from(TAG_VALUES),
    "vip": st.booleans(),
    "interests": st.lists(st.sampled_from(INTERESTS), max_size=3),
    "propensity": st.floats(0, 1),
}

rows = st.fixed_dictionaries({name: _maybe(values) for name, values in ROW_VALUES.items()})
"""One customer's row: every column, each possibly null."""

# -- expressions -----------------------------------------------------------------------

LITERALS: dict[Type, st.SearchStrategy[Any]] = {
    N: st.one_of(st.sampled_from([0, 1, -1, 2, 3, 7, 100]), st.integers(-1000, 1000), floats),
    S: st.one_of(strings, st.sampled_from(["%", "_", "%海", "上_", "%'%", "a%b", "%.%"])),
    B: st.booleans(),
    D: dates,
    TS: timestamps,
}
COMPARABLE = [N, S, B, D, TS, DUR]


def names(kind: Type) -> list[Name]:
    return [Name(c.name) for c in SCHEMA if c.type == kind]


def leaves(kind: Type) -> st.SearchStrategy[Expr]:
    """Literals, names and null of one type (depth 0)."""
    literal = LITERALS.get(kind, st.nothing())
    options: list[st.SearchStrategy[Expr]] = [
        st.one_of(st.none(), literal, literal, literal).map(Literal)
    ]
    options += [st.sampled_from(names(kind))] if names(kind) else []
    if kind == DUR:
        options.append(st.builds(Duration, st.integers(0, 60), st.sampled_from(DurationUnit)))
    if kind == B:
        options.append(has_tags())
    return st.one_of(options)


def has_tags() -> st.SearchStrategy[Expr]:
    def call(*args: str) -> Call:
        return Call("has_tag", tuple(Literal(a) for a in args))

    return st.one_of(
        st.sampled_from(["churn_risk", "vip", "interests", "propensity"]).map(call),
        st.builds(call, st.just("churn_risk"), st.sampled_from([*TAG_VALUES, "无"])),
        st.builds(call, st.just("interests"), st.sampled_from([*INTERESTS, "无"])),
    )


def whole_days() -> st.SearchStrategy[Expr]:
    """Durations that keep `date ± d` a date: 3d, 2w, -(3d), null."""
    plain = st.builds(
        Duration, st.integers(0, 60), st.sampled_from([DurationUnit.DAYS, DurationUnit.WEEKS])
    )
    return st.one_of(plain, plain.map(Negate), st.just(Literal(None)))


@cache
def exprs(kind: Type, depth: int = 3) -> st.SearchStrategy[Expr]:
    """Well-typed expressions of ``kind`` with at most ``depth`` levels of nesting."""
    if depth == 0:
        return leaves(kind)
    return st.one_of(leaves(kind), _COMPOSITES[kind](depth - 1))


def _call(name: str, *args: st.SearchStrategy[Expr]) -> st.SearchStrategy[Expr]:
    return st.tuples(*args).map(lambda a: Call(name, a))


def _coalesce(kind: Type, depth: int) -> st.SearchStrategy[Expr]:
    return st.lists(exprs(kind, depth), min_size=1, max_size=3).map(
        lambda a: Call("coalesce", tuple(a))
    )


def _numbers(d: int) -> st.SearchStrategy[Expr]:
    num, temporal = exprs(N, d), st.one_of(exprs(D, d), exprs(TS, d))
    return st.one_of(
        exprs(N, d).map(Negate),
        st.builds(Arith, st.sampled_from(ArithOp), num, num),
        _call("abs", num),
        _call("round", num),
        _call("round", num, st.integers(0, 10).map(Literal)),
        _call("length", exprs(S, d)),
        *(_call(fn, temporal) for fn in ("year", "month", "day", "days_since")),
        _coalesce(N, d),
    )


def _strings(d: int) -> st.SearchStrategy[Expr]:
    return st.one_of(_call("lower", exprs(S, d)), _call("upper", exprs(S, d)), _coalesce(S, d))


def _comparisons(d: int) -> st.SearchStrategy[Expr]:
    def of(kind: Type) -> st.SearchStrategy[Expr]:
        same = exprs(kind, d) if kind not in (D, TS) else st.one_of(exprs(D, d), exprs(TS, d))
        ops = [CompareOp.EQ, CompareOp.NE] if kind == B else list(CompareOp)
        items = st.lists(same, min_size=1, max_size=3).map(tuple)
        options = [
            st.builds(Compare, st.sampled_from(ops), same, same),
            st.builds(In, same, items, st.booleans()),
        ]
        if kind != B:
            options.append(st.builds(Between, same, same, same, st.booleans()))
        return st.one_of(options)

    return st.sampled_from(COMPARABLE).flatmap(of)


def _booleans(d: int) -> st.SearchStrategy[Expr]:
    boolean = exprs(B, d)
    return st.one_of(
        boolean.map(Not),
        st.builds(And, boolean, boolean),
        st.builds(Or, boolean, boolean),
        _comparisons(d),
        st.builds(Like, exprs(S, d), exprs(S, d), st.booleans()),
        st.builds(
            IsNull, st.sampled_from([*COMPARABLE, L]).flatmap(lambda k: exprs(k, d)), st.booleans()
        ),
        _coalesce(B, d),
    )


def _plus_minus(
    moment: st.SearchStrategy[Expr], duration: st.SearchStrategy[Expr]
) -> st.SearchStrategy[Expr]:
    return st.one_of(
        st.builds(Arith, st.sampled_from([ArithOp.ADD, ArithOp.SUB]), moment, duration),
        st.builds(lambda dur, m: Arith(ArithOp.ADD, dur, m), duration, moment),
    )


def _dates(d: int) -> st.SearchStrategy[Expr]:
    return st.one_of(_coalesce(D, d), _plus_minus(exprs(D, d), whole_days()))


def _timestamps(d: int) -> st.SearchStrategy[Expr]:
    hours = st.builds(Duration, st.integers(0, 60), st.just(DurationUnit.HOURS))
    return st.one_of(
        st.lists(st.one_of(exprs(TS, d), exprs(D, d)), min_size=1, max_size=3).map(
            lambda a: Call("coalesce", tuple(a))
        ),
        _plus_minus(exprs(TS, d), exprs(DUR, d)),
        _plus_minus(exprs(D, d), st.one_of(hours, st.just(Name("tenure")))),
    )


def _durations(d: int) -> st.SearchStrategy[Expr]:
    return st.one_of(exprs(DUR, d).map(Negate), _coalesce(DUR, d))


def _lists(d: int) -> st.SearchStrategy[Expr]:
    return _coalesce(L, d)


_COMPOSITES = {
    N: _numbers,
    S: _strings,
    B: _booleans,
    D: _dates,
    TS: _timestamps,
    DUR: _durations,
    L: _lists,
}

ALL_TYPES = [N, S, B, D, TS, DUR, L]
any_exprs = st.sampled_from(ALL_TYPES).flatmap(exprs)
"""A well-typed expression of any type (its type is whatever ``check`` says)."""
conditions = exprs(B)
"""A well-typed boolean expression."""
