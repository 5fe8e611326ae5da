"""Hypothesis strategies for arbitrary (not necessarily well-typed) expression ASTs."""

from __future__ import annotations

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

NAME_POOL = [
    "a", "x", "spend_365d", "_", "_tmp", "城市", "会员等级", "Ünïcode",
    # need backquotes: spaces, punctuation, a leading digit, keywords in any case
    "order count", "会员 等级", "上海（总部）", "a-b", "1st_order", "it's", "a`b", "`", "--x",
    "and", "OR", "Not", "in", "is", "NULL", "between", "like", "True", "false", "date",
    "TimeStamp",
]  # fmt: skip
STRING_POOL = ["", "上海", "钻石会员", "it's", "''", "'", "%@qq.com", "a_%", "-- no comment", "`"]
FUNCTION_POOL = ["f", "lower", "coalesce", "has_tag", "days_since", "round", "函数", "g_2"]

names = st.sampled_from(NAME_POOL) | st.text(min_size=1, max_size=6)
"""Pool names plus arbitrary text (a backquoted name may hold anything but be empty)."""

strings = st.sampled_from(STRING_POOL) | st.text(
    st.characters(blacklist_characters="\r\n", blacklist_categories=("Cs",)), max_size=8
)
"""Strings that the language can write: anything but a line break."""

numbers = st.integers(-(10**20), 10**20) | st.floats(allow_nan=False, allow_infinity=False)

literals = st.builds(
    Literal,
    numbers
    | strings
    | st.booleans()
    | st.none()
    | st.dates()
    | st.datetimes(),  # naive: a timestamp literal has no time zone
)
durations = st.builds(Duration, st.integers(0, 10**6), st.sampled_from(DurationUnit))
leaves: st.SearchStrategy[Expr] = literals | durations | st.builds(Name, names)


def _extend(children: st.SearchStrategy[Expr]) -> st.SearchStrategy[Expr]:
    items = st.lists(children, min_size=1, max_size=3).map(tuple)
    return st.one_of(
        st.builds(Or, children, children),
        st.builds(And, children, children),
        st.builds(Not, children),
        st.builds(Negate, children),
        st.builds(Compare, st.sampled_from(CompareOp), children, children),
        st.builds(Arith, st.sampled_from(ArithOp), children, children),
        st.builds(Between, children, children, children, st.booleans()),
        st.builds(In, children, items, st.booleans()),
        st.builds(Like, children, children, st.booleans()),
        st.builds(IsNull, children, st.booleans()),
        st.builds(Call, st.sampled_from(FUNCTION_POOL), st.lists(children, max_size=3).map(tuple)),
    )


exprs: st.SearchStrategy[Expr] = st.recursive(leaves, _extend, max_leaves=24)
"""Arbitrary ASTs: every node class, any nesting, any operand kinds."""
