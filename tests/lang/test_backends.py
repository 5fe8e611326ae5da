"""The two back-ends agree: ``to_sql`` on DuckDB and ``to_python`` give the same value for
every generated expression and customer row, nulls included (DESIGN principle 1).

Plus focused cases of the semantics in docs/language.md, the checker's errors, and the
contract that every AST node class has both back-ends.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import duckdb
import pytest
from hypothesis import HealthCheck, Phase, assume, find, given, settings
from hypothesis import strategies as st
from sqlglot import exp
from tests.lang.typed_strategies import (
    DUCKDB_TYPES,
    SCHEMA,
    any_exprs,
    as_of_dates,
    conditions,
    rows,
)

from tagwise.errors import ExpressionTypeError, UnknownName, UnsupportedError
from tagwise.lang import ast
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
from tagwise.lang.check import TypedExpr, check, check_condition
from tagwise.lang.functions import FUNCTIONS, round_half_away
from tagwise.lang.parser import parse
from tagwise.lang.to_python import PythonCompiler, to_python
from tagwise.lang.to_sql import SqlCompiler, to_sql
from tagwise.lang.types import Type

AS_OF = date(2024, 3, 1)
COLUMNS = [c.name for c in SCHEMA]
PROPERTY = settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.fixture(scope="module")
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect()
    columns = ", ".join(f"{_ident(n)} {DUCKDB_TYPES[n]}" for n in COLUMNS)
    connection.execute(f"CREATE TABLE customers (row_id INTEGER, {columns})")
    yield connection
    connection.close()


def _ident(name: str) -> str:
    return exp.to_identifier(name, quoted=True).sql("duckdb")


def load(con: duckdb.DuckDBPyConnection, batch: list[dict[str, Any]]) -> None:
    con.execute("DELETE FROM customers")
    marks = ", ".join("?" for _ in range(len(COLUMNS) + 1))
    con.executemany(
        f"INSERT INTO customers VALUES ({marks})",
        [[i, *(row[n] for n in COLUMNS)] for i, row in enumerate(batch)],
    )


def sql_of(typed: TypedExpr, as_of: date = AS_OF) -> str:
    return to_sql(typed, as_of=as_of).sql(dialect="duckdb")


def sql_values(con: duckdb.DuckDBPyConnection, typed: TypedExpr, as_of: date) -> list[Any]:
    query = f"SELECT {sql_of(typed, as_of)} FROM customers ORDER BY row_id"
    try:
        return [r[0] for r in con.execute(query).fetchall()]
    except duckdb.OutOfRangeException as exc:
        # 64-bit overflow: DuckDB raises, Python ints grow (documented in to_python.py)
        assume("Overflow" not in str(exc))
        raise


def same(sql: Any, py: Any) -> bool:
    """Equal as the language sees it: numbers within 1e-9, date and timestamp kept apart."""
    if sql is None or py is None:
        return sql is None and py is None
    if isinstance(sql, Decimal):
        sql = float(sql)
    if isinstance(sql, bool) or isinstance(py, bool):
        return type(sql) is type(py) and sql == py
    if isinstance(sql, int | float) and isinstance(py, int | float):
        return math.isclose(sql, py, rel_tol=1e-9, abs_tol=1e-12)
    if isinstance(sql, date) or isinstance(py, date):
        return type(sql) is type(py) and sql == py
    return type(sql) is type(py) and sql == py


# -- the central property --------------------------------------------------------------


@PROPERTY
@given(expr=any_exprs, batch=st.lists(rows, min_size=1, max_size=20), as_of=as_of_dates)
def test_sql_and_python_agree_on_every_row(con, expr: Expr, batch, as_of: date) -> None:
    typed = check(expr, SCHEMA)
    load(con, batch)
    fn = to_python(typed)
    for row, got in zip(batch, sql_values(con, typed, as_of), strict=True):
        want = fn(row, as_of)
        assert same(got, want), f"{sql_of(typed, as_of)}\nrow={row}\nsql={got!r} python={want!r}"


@PROPERTY
@given(expr=conditions, batch=st.lists(rows, min_size=1, max_size=20), as_of=as_of_dates)
def test_sql_filter_keeps_the_rows_python_finds_true(con, expr: Expr, batch, as_of) -> None:
    typed = check_condition(expr, SCHEMA)
    load(con, batch)
    query = f"SELECT row_id FROM customers WHERE {sql_of(typed, as_of)}"
    try:
        kept = {r[0] for r in con.execute(query).fetchall()}
    except duckdb.OutOfRangeException as exc:
        assume("Overflow" not in str(exc))
        raise
    fn = to_python(typed)
    assert kept == {i for i, row in enumerate(batch) if fn(row, as_of) is True}


# -- focused semantics -----------------------------------------------------------------

T, F, NULL = Literal(True), Literal(False), Literal(None)
KLEENE = [T, F, NULL]


def evaluate_both(con, expr: Expr, row: dict[str, Any] | None = None) -> Any:
    """The value of ``expr`` from both back-ends, asserting they agree."""
    row = dict.fromkeys(COLUMNS) | (row or {})
    typed = check(expr, SCHEMA)
    load(con, [row])
    (got,) = sql_values(con, typed, AS_OF)
    want = to_python(typed)(row, AS_OF)
    assert same(got, want), (sql_of(typed), got, want)
    return want


def _v(lit: Literal) -> bool | None:
    return lit.value  # type: ignore[return-value]


@pytest.mark.parametrize("left", KLEENE)
@pytest.mark.parametrize("right", KLEENE)
def test_and_or_truth_tables(con, left: Literal, right: Literal) -> None:
    a, b = _v(left), _v(right)
    want_and = False if False in (a, b) else None if None in (a, b) else True
    want_or = True if True in (a, b) else None if None in (a, b) else False
    assert evaluate_both(con, And(left, right)) is want_and
    assert evaluate_both(con, Or(left, right)) is want_or


@pytest.mark.parametrize(("operand", "want"), [(T, False), (F, True), (NULL, None)])
def test_not_truth_table(con, operand: Literal, want: bool | None) -> None:
    assert evaluate_both(con, Not(operand)) is want


@pytest.mark.parametrize(
    ("operand", "items", "want"),
    [
        (1, (1, 2), True),
        (3, (1, 2), False),
        (1, (1, None), True),
        (3, (1, None), None),
        (None, (1, 2), None),
        (None, (None,), None),
    ],
)
def test_in_and_not_in_with_nulls(con, operand, items, want) -> None:
    node = In(Literal(operand), tuple(Literal(i) for i in items))
    assert evaluate_both(con, node) is want
    negated = None if want is None else not want
    assert evaluate_both(con, In(node.operand, node.items, negated=True)) is negated


@pytest.mark.parametrize(
    ("op", "left", "right", "want"),
    [
        (ArithOp.DIV, 7, 0, None),
        (ArithOp.DIV, 7, 2, 3.5),
        (ArithOp.DIV, 0.0, 0, None),
        (ArithOp.MOD, 7, 0, None),
        (ArithOp.MOD, -7, 3, -1),
        (ArithOp.MOD, 7, -3, 1),
        (ArithOp.MOD, -7.5, 2, -1.5),
        (ArithOp.MUL, 100000, 100000, 10_000_000_000),
        (ArithOp.ADD, 0.1, 0.2, 0.1 + 0.2),
    ],
)
def test_division_and_modulo(con, op, left, right, want) -> None:
    assert evaluate_both(con, Arith(op, Literal(left), Literal(right))) == want


def test_one_equals_one_point_zero(con) -> None:
    assert evaluate_both(con, Compare(CompareOp.EQ, Literal(1), Literal(1.0))) is True


@pytest.mark.parametrize(
    ("text", "pattern", "want"),
    [
        ("x@qq.com", "%@qq.com", True),
        ("x@qqXcom", "%@qq.com", False),  # `.` is no wildcard
        ("上海", "_海", True),
        ("上海", "_", False),
        ("a%b", "a%", True),
        ("ab", "a_", True),
        ("a", "a_", False),
        ("A", "a", False),  # case-sensitive
        ("a*b", "a*b", True),
        ("aab", "a*b", False),
        ("[x]", "[x]", True),
        ("x", "[x]", False),
        ("a\\b", "a\\b", True),  # backslash is no escape
        ("a\nb", "a%b", True),
        ("(a|b)", "(a|b)", True),
        ("a", "(a|b)", False),
        ("$^", "$^", True),
    ],
)
def test_like(con, text: str, pattern: str, want: bool) -> None:
    assert evaluate_both(con, Like(Literal(text), Literal(pattern))) is want
    assert evaluate_both(con, Like(Literal(text), Literal(pattern), negated=True)) is (not want)


def test_like_with_null(con) -> None:
    assert evaluate_both(con, Like(NULL, Literal("%"))) is None
    assert evaluate_both(con, Like(Literal("a"), NULL, negated=True)) is None


@pytest.mark.parametrize(
    ("args", "want"),
    [
        ((2.5,), 3),
        ((-2.5,), -3),
        ((0.5,), 1),
        ((-0.5,), -1),
        ((1.5,), 2),
        # the decimal as written: the doubles nearest these ties lie just below them
        ((0.615, 2), 0.62),
        ((1.005, 2), 1.01),
        ((2.675, 2), 2.68),
        ((15.85, 1), 15.9),
        ((-15.85, 1), -15.9),
        ((0.285, 2), 0.29),
        ((0.125, 2), 0.13),  # an exact binary tie
        ((-0.125, 2), -0.13),
        ((0.12499999999999999, 2), 0.12),  # the double below 0.125 is no tie
        ((0.49999999999999994,), 0),
        ((-0.001, 2), 0),
        ((7, 2), 7),
        ((4503599627370497.0, 0), 4503599627370497.0),  # no digit left to round
    ],
)
def test_round_half_away_from_zero(con, args, want) -> None:
    got = evaluate_both(con, Call("round", tuple(Literal(a) for a in args)))
    assert got == want and type(got) is float
    assert math.copysign(1, got) == math.copysign(1, want)  # never -0.0


def test_round_is_the_decimal_as_written_for_every_short_decimal() -> None:
    """Every decimal of up to 4 places written near 0..20 rounds as the decimal module
    rounds the text (half away from zero), at every smaller number of digits."""
    for units in range(0, 200_001, 7):
        text = f"{units // 10_000}.{units % 10_000:04d}"
        for digits in range(4):
            want = float(Decimal(text).quantize(Decimal(1).scaleb(-digits), ROUND_HALF_UP))
            assert round_half_away(float(text), digits) == want, (text, digits)


@pytest.mark.parametrize(
    ("value", "as_of_days"),
    [
        (date(2024, 1, 31), 30),  # AS_OF is 2024-03-01: Feb 2024 has 29 days
        (date(2024, 2, 29), 1),
        (date(2024, 3, 1), 0),
        (date(2024, 3, 2), -1),
        (datetime(2024, 2, 29, 23, 59, 59), 1),  # whole days from the timestamp's date
        (date(2023, 3, 1), 366),
    ],
)
def test_days_since_across_month_ends(con, value, as_of_days) -> None:
    assert evaluate_both(con, Call("days_since", (Literal(value),))) == as_of_days


def test_date_plus_days_stays_a_date_and_hours_make_a_timestamp(con) -> None:
    d = Literal(date(2024, 1, 31))
    assert evaluate_both(con, Arith(ArithOp.ADD, d, Duration(30, DurationUnit.DAYS))) == date(
        2024, 3, 1
    )
    assert evaluate_both(con, Arith(ArithOp.SUB, d, Duration(1, DurationUnit.WEEKS))) == date(
        2024, 1, 24
    )
    assert evaluate_both(con, Arith(ArithOp.ADD, d, Duration(12, DurationUnit.HOURS))) == (
        datetime(2024, 1, 31, 12)
    )
    assert evaluate_both(con, Compare(CompareOp.EQ, d, Literal(datetime(2024, 1, 31)))) is True


def has_tag(*args: str) -> Call:
    return Call("has_tag", tuple(Literal(a) for a in args))


@pytest.mark.parametrize(
    ("row", "call", "want"),
    [
        ({"churn_risk": "高"}, has_tag("churn_risk"), True),
        ({"churn_risk": None}, has_tag("churn_risk"), False),
        ({"churn_risk": "高"}, has_tag("churn_risk", "高"), True),
        ({"churn_risk": "低"}, has_tag("churn_risk", "高"), False),
        ({"churn_risk": None}, has_tag("churn_risk", "高"), False),
        ({"vip": True}, has_tag("vip"), True),
        ({"vip": False}, has_tag("vip"), False),
        ({"vip": None}, has_tag("vip"), False),
        ({"interests": ["运动", "美妆"]}, has_tag("interests"), True),
        ({"interests": []}, has_tag("interests"), False),
        ({"interests": None}, has_tag("interests"), False),
        ({"interests": ["运动", "美妆"]}, has_tag("interests", "运动"), True),
        ({"interests": ["美妆"]}, has_tag("interests", "运动"), False),
        ({"interests": []}, has_tag("interests", "运动"), False),
        ({"interests": None}, has_tag("interests", "运动"), False),
        ({"propensity": 0.0}, has_tag("propensity"), True),
        ({"propensity": None}, has_tag("propensity"), False),
    ],
)
def test_has_tag_per_kind_is_never_null(con, row, call, want) -> None:
    assert evaluate_both(con, call, row) is want


def test_case_mapping_is_per_code_point_as_in_duckdb(con) -> None:
    text = Literal("straße İΣΑΣ ǅ ﬁ 上海")
    assert evaluate_both(con, Call("upper", (text,))) == "STRAẞE İΣΑΣ Ǆ ﬁ 上海"
    assert evaluate_both(con, Call("lower", (text,))) == "straße iσασ ǆ ﬁ 上海"
    assert evaluate_both(con, Call("length", (Literal("e\u0301上海"),))) == 4


def test_user_strings_stay_one_literal(con) -> None:
    """`name = 'x'' OR 1=1 --'` compares with one string; it never widens the filter."""
    attack = "x' OR 1=1 --"
    typed = check_condition(Compare(CompareOp.EQ, Name("城市"), Literal(attack)), SCHEMA)
    load(con, [dict.fromkeys(COLUMNS) | {"城市": c} for c in ("上海", "北京", None)])
    kept = con.execute(f"SELECT row_id FROM customers WHERE {sql_of(typed)}").fetchall()
    assert kept == []
    values = con.execute(f"SELECT {sql_of(typed)} FROM customers ORDER BY row_id").fetchall()
    assert values == [(False,), (False,), (None,)]


def test_names_are_quoted_identifiers(con) -> None:
    typed = check(Name("城市"), SCHEMA)
    assert sql_of(typed) == '"城市"'
    custom = to_sql(typed, as_of=AS_OF, column=lambda c: exp.column(c.name, table="c", quoted=True))
    assert custom.sql("duckdb") == '"c"."城市"'


# -- checker errors --------------------------------------------------------------------


def span(start: int, end: int) -> ast.Span:
    return ast.Span(start, end, 1, start + 1)


def test_unknown_name_suggests_the_closest() -> None:
    with pytest.raises(UnknownName) as info:
        check(Name("spend_356d", span(0, 10)), SCHEMA, source="spend_356d")
    assert info.value.message == "unknown name `spend_356d`"
    assert info.value.hint == "did you mean `spend_365d`?"
    assert info.value.span == span(0, 10)
    assert info.value.code == "unknown-name"


def test_unknown_name_far_from_all_lists_known_names() -> None:
    with pytest.raises(UnknownName) as info:
        check(Name("zzzz"), SCHEMA)
    assert info.value.hint is not None
    assert info.value.hint.startswith("known names: `churn_risk`")


def test_unknown_function_suggests_a_function() -> None:
    with pytest.raises(UnknownName) as info:
        check(Call("lowr", (Name("城市"),)), SCHEMA)
    assert info.value.message == "unknown function `lowr`"
    assert info.value.hint == "did you mean `lower`?"


def test_comparing_number_with_string_points_at_the_string() -> None:
    source = "spend_365d > 'high'"
    node = Compare(
        CompareOp.GT, Name("spend_365d", span(0, 10)), Literal("high", span(13, 19)), span(0, 19)
    )
    with pytest.raises(ExpressionTypeError) as info:
        check(node, SCHEMA, source=source)
    assert info.value.message == "cannot compare number `spend_365d` with string `'high'`"
    assert info.value.span == span(13, 19)
    assert "^^^^^^" in info.value.render()


def test_string_compared_with_date_hints_at_date_literals() -> None:
    node = Compare(CompareOp.GE, Name("registered_on"), Literal("2024-01-01"))
    with pytest.raises(ExpressionTypeError) as info:
        check(node, SCHEMA)
    assert info.value.hint == "write a date as date '2024-01-01'"


def test_multi_tag_compared_with_equals_hints_at_has_tag() -> None:
    node = Compare(CompareOp.EQ, Name("interests"), Literal("运动"))
    with pytest.raises(ExpressionTypeError) as info:
        check(node, SCHEMA)
    assert info.value.hint == "use has_tag('interests', '运动')"


@pytest.mark.parametrize(
    ("node", "fragment"),
    [
        (And(Name("spend_365d"), T), "`and` needs true/false operands, got number"),
        (Arith(ArithOp.ADD, Name("城市"), Literal(1)), "cannot apply `+` to string"),
        (
            Arith(ArithOp.MUL, Name("registered_on"), Duration(1, DurationUnit.DAYS)),
            "cannot apply `*`",
        ),
        (Compare(CompareOp.LT, Name("vip"), T), "cannot order boolean"),
        (Like(Name("spend_365d"), Literal("1%")), "`like` needs strings"),
        (Negate(Name("城市")), "cannot negate string"),
        (Call("lower", (Literal(1),)), "`lower` needs a string, got number"),
        (Call("lower", ()), "`lower` cannot take 0 arguments"),
        (Call("round", (Literal(1.5), Literal(11))), "digits of `round`"),
        (Call("round", (Literal(1.5), Name("order_count"))), "digits of `round`"),
        (Call("coalesce", (Literal(1), Literal("a"))), "`coalesce` needs arguments of one type"),
        (has_tag("城市"), "`城市` is an attribute, not a tag"),
        (has_tag("vip", "yes"), "`vip` is a flag tag"),
        (has_tag("propensity", "0.5"), "`propensity` is a score tag"),
        (Call("has_tag", (Name("churn_risk"),)), "`has_tag` takes string literals"),
        (In(Name("spend_365d"), (Literal(1), Literal("2"))), "cannot compare number"),
        (Between(Name("tenure"), Literal(1), Literal(2)), "cannot compare duration"),
    ],
)
def test_type_errors(node: Expr, fragment: str) -> None:
    with pytest.raises(ExpressionTypeError, match=None) as info:
        check(node, SCHEMA)
    assert fragment in info.value.message


def test_has_tag_of_unknown_tag_suggests_a_tag() -> None:
    with pytest.raises(UnknownName) as info:
        check(has_tag("churn_rsk"), SCHEMA)
    assert info.value.hint == "did you mean `churn_risk`?"


def test_condition_must_be_boolean() -> None:
    with pytest.raises(ExpressionTypeError) as info:
        check_condition(Name("spend_365d"), SCHEMA)
    assert info.value.message == "a condition must be true/false, got number"
    assert info.value.hint == "compare it, e.g. `spend_365d > 0`"
    assert check_condition(NULL, SCHEMA).type == Type.NULL


def test_every_node_is_typed_by_identity() -> None:
    a, b = Literal(None), Literal(None)  # equal, distinct nodes
    expr = Compare(CompareOp.EQ, Arith(ArithOp.ADD, Name("registered_on"), a), b)
    typed = check(expr, SCHEMA)
    assert typed.type == Type.BOOLEAN
    assert typed.type_of(expr.left) == Type.DATE
    assert typed.type_of(a) == typed.type_of(b) == Type.NULL


# -- contracts -------------------------------------------------------------------------


def node_classes() -> list[type[Expr]]:
    return [
        c
        for _, c in inspect.getmembers(ast, inspect.isclass)
        if issubclass(c, Expr) and c is not Expr
    ]


@pytest.mark.parametrize("cls", node_classes(), ids=lambda c: c.__name__)
def test_every_node_class_has_both_back_ends(cls: type[Expr]) -> None:
    assert hasattr(SqlCompiler, f"visit_{cls.__name__}")
    assert hasattr(PythonCompiler, f"eval_{cls.__name__}")


def test_an_unknown_node_is_unsupported() -> None:
    class Weird(Expr):
        __slots__ = ()

    weird = Weird()
    with pytest.raises(UnsupportedError, match="Weird"):
        check(weird, SCHEMA)
    typed = TypedExpr(weird, Type.NUMBER, SCHEMA, "", {id(weird): Type.NUMBER})
    with pytest.raises(UnsupportedError, match="Weird"):
        to_sql(typed, as_of=AS_OF)
    with pytest.raises(UnsupportedError, match="Weird"):
        to_python(typed)


def _contains(expr: Expr, want: type | str) -> bool:
    if (isinstance(want, str) and isinstance(expr, Call) and expr.name == want) or (
        isinstance(want, type) and isinstance(expr, want)
    ):
        return True
    children = [getattr(expr, f) for f in getattr(expr, "__dataclass_fields__", {})]
    flat = [c for x in children for c in (x if isinstance(x, tuple) else (x,))]
    return any(_contains(c, want) for c in flat if isinstance(c, Expr))


@pytest.mark.parametrize(
    "want",
    [*node_classes(), *sorted(FUNCTIONS)],
    ids=lambda w: w if isinstance(w, str) else w.__name__,
)
def test_the_generator_covers_every_node_and_function(want) -> None:
    find(
        any_exprs,
        lambda e: _contains(e, want),
        settings=settings(max_examples=2000, database=None, phases=[Phase.generate]),
    )


def test_durations_compare_across_units(con) -> None:
    day, hours = Duration(1, DurationUnit.DAYS), Duration(24, DurationUnit.HOURS)
    assert evaluate_both(con, Compare(CompareOp.EQ, day, hours)) is True
    assert (
        evaluate_both(
            con,
            Compare(CompareOp.LT, Negate(Duration(2, DurationUnit.WEEKS)), Name("tenure")),
            {"tenure": timedelta(days=-13)},
        )
        is True
    )


def test_between_with_nulls(con) -> None:
    five = Literal(5)
    assert evaluate_both(con, Between(five, NULL, Literal(3))) is False
    assert evaluate_both(con, Between(five, NULL, Literal(9))) is None
    assert evaluate_both(con, Between(five, Literal(1), Literal(9), negated=True)) is False
    assert evaluate_both(con, IsNull(NULL)) is True
    assert evaluate_both(con, IsNull(five, negated=True)) is True


# -- from text (the parser) ------------------------------------------------------------

CUSTOMER = dict.fromkeys(COLUMNS) | {
    "spend_365d": 12000.0,
    "城市": "上海",
    "email": "li@qq.com",
    "registered_on": date(2024, 1, 31),
    "last_order_at": datetime(2024, 1, 15, 10, 30),
    "churn_risk": "低",
    "interests": ["运动"],
}


def typed_text(text: str) -> TypedExpr:
    return check(parse(text), SCHEMA, source=text)


@pytest.mark.parametrize(
    ("text", "want"),
    [
        (
            "spend_365d >= 10000 and 城市 in ('上海', '北京') and not has_tag('churn_risk', '高')",
            True,
        ),
        ("days_since(last_order_at) between 31 and 90 or `城市` = '钻石会员'", True),
        ("registered_on >= date '2024-01-01' and email like '%@qq.com'", True),
        ("has_tag('interests', '运动') and not has_tag('vip')", True),
        ("spend_365d / 0 is null and -7 % 3 = -1", True),
        ("round(2.5) = 3 and round(-2.5) = -3 and round(0.125, 2) = 0.13", True),
        ("registered_on + 30d = date '2024-03-01'", True),
        ("order_count > 0", None),
        ("order_count > 0 or 城市 = '上海'", True),
        ("upper(email) = 'LI@QQ.COM' and length(城市) = 2", True),
        ("year(last_order_at) * 100 + month(last_order_at) = 202401", True),
        ("coalesce(order_count, 0) = 0 and day(registered_on) = 31", True),
        ("abs(-3) = 3 and tenure is null and last_order_at < timestamp '2024-01-15 10:31'", True),
    ],
)
def test_parsed_expressions_on_one_customer(con, text: str, want: bool | None) -> None:
    typed = typed_text(text)
    assert typed.type == Type.BOOLEAN
    load(con, [CUSTOMER])
    (got,) = sql_values(con, typed, AS_OF)
    assert got is want
    assert to_python(typed)(CUSTOMER, AS_OF) is want


def test_parsed_unknown_name_renders_with_carets() -> None:
    text = "spend_356d >= 10000 and 城市 = '上海'"
    with pytest.raises(UnknownName) as info:
        typed_text(text)
    assert info.value.render() == (
        "error[unknown-name]: unknown name `spend_356d` (line 1, col 1)\n"
        "  spend_356d >= 10000 and 城市 = '上海'\n"
        "  ^^^^^^^^^^\n"
        "  hint: did you mean `spend_365d`?"
    )


@pytest.mark.parametrize(
    ("text", "message", "at", "hint"),
    [
        (
            "spend_365d > 'high'",
            "cannot compare number `spend_365d` with string `'high'`",
            "'high'",
            None,
        ),
        (
            "registered_on >= '2024-01-01'",
            "cannot compare date `registered_on` with string `'2024-01-01'`",
            "'2024-01-01'",
            "write a date as date '2024-01-01'",
        ),
        (
            "interests = '运动'",
            "cannot compare the multi-value tag `interests` with `=`",
            "interests",
            "use has_tag('interests', '运动')",
        ),
        (
            "order_count = '100'",
            "cannot compare number `order_count` with string `'100'`",
            "'100'",
            "write the number without quotes: 100",
        ),
        (
            "城市 = '上海' and spend_365d",
            "`and` needs true/false operands, got number `spend_365d`",
            "spend_365d",
            "compare it, e.g. `spend_365d > 0`",
        ),
        (
            "lower(城市, 1) = 'a'",
            "`lower` cannot take 2 arguments",
            "lower(城市, 1)",
            "call it as lower(s)",
        ),
    ],
)
def test_parsed_type_errors_point_at_the_offending_text(text, message, at, hint) -> None:
    with pytest.raises(ExpressionTypeError) as info:
        typed_text(text)
    err = info.value
    assert err.message == message
    assert text[err.span.start : err.span.end] == at
    assert err.hint == hint


def test_parsed_condition_must_be_boolean() -> None:
    text = "spend_365d * 2"
    with pytest.raises(ExpressionTypeError) as info:
        check_condition(parse(text), SCHEMA, source=text)
    assert info.value.message == "a condition must be true/false, got number"
    assert info.value.hint == "compare it, e.g. `spend_365d * 2 > 0`"


def test_parsed_injection_stays_a_literal(con) -> None:
    typed = check_condition(parse("城市 = 'x'' OR 1=1 --'"), SCHEMA)
    load(con, [CUSTOMER, CUSTOMER | {"城市": None}])
    assert con.execute(f"SELECT row_id FROM customers WHERE {sql_of(typed)}").fetchall() == []
    assert sql_of(typed) == "\"城市\" = 'x'' OR 1=1 --'"
