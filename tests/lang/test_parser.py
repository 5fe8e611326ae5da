"""The parser: precedence, every literal kind, node spans and specific errors."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.lang.cases import error_cases

from tagwise import lang
from tagwise.errors import ExpressionError, ParseError, Span, TokenizeError
from tagwise.lang import parse, to_text
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
from tagwise.lang.parser import MAX_DEPTH

a, b, c, x, y = (Name(n) for n in "abcxy")
L = Literal


def lt(left: Expr, right: Expr) -> Compare:
    return Compare(CompareOp.LT, left, right)


def eq(left: Expr, right: Expr) -> Compare:
    return Compare(CompareOp.EQ, left, right)


def arith(op: str, left: Expr, right: Expr) -> Arith:
    return Arith(ArithOp(op), left, right)


# -- structure ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("a or b and c", Or(a, And(b, c))),
        ("a and b or c", Or(And(a, b), c)),
        ("(a or b) and c", And(Or(a, b), c)),
        ("a or b or c", Or(Or(a, b), c)),
        ("a and b and c", And(And(a, b), c)),
        ("not a = b", Not(eq(a, b))),
        ("not a and b", And(Not(a), b)),
        ("not not a", Not(Not(a))),
        ("(not a) = b", eq(Not(a), b)),
        ("-a * b", arith("*", Negate(a), b)),
        ("-(a * b)", Negate(arith("*", a, b))),
        ("a - b - c", arith("-", arith("-", a, b), c)),
        ("a - (b - c)", arith("-", a, arith("-", b, c))),
        ("a / b * c % 2", arith("%", arith("*", arith("/", a, b), c), L(2))),
        ("a + b * c", arith("+", a, arith("*", b, c))),
        ("a * b + c", arith("+", arith("*", a, b), c)),
        ("a + 1 < b * 2", lt(arith("+", a, L(1)), arith("*", b, L(2)))),
        ("x between 1 and 2 and y", And(Between(x, L(1), L(2)), y)),
        (
            "x not between a + 1 and b * 2",
            Between(x, arith("+", a, L(1)), arith("*", b, L(2)), True),
        ),
        ("y and x between 1 and 2", And(y, Between(x, L(1), L(2)))),
        ("x in (1, a + b, 'z')", In(x, (L(1), arith("+", a, b), L("z")))),
        ("x not in (a or b)", In(x, (Or(a, b),), True)),
        ("not x in (1)", Not(In(x, (L(1),)))),
        ("x like 'a%'", Like(x, L("a%"))),
        ("x not like y", Like(x, y, True)),
        ("x is null", IsNull(x)),
        ("x IS NOT NULL", IsNull(x, True)),
        ("x + 1 is null or y", Or(IsNull(arith("+", x, L(1))), y)),
        ("f()", Call("f", ())),
        ("LOWER(x)", Call("lower", (x,))),
        ("coalesce(a, b or c, 1)", Call("coalesce", (a, Or(b, c), L(1)))),
        ("f(g(x))", Call("f", (Call("g", (x,)),))),
        ("f", Name("f")),
        ("`会员等级` = '钻石会员'", eq(Name("会员等级"), L("钻石会员"))),
        ("城市 = '上海'", eq(Name("城市"), L("上海"))),
        ("`and` or `Or`", Or(Name("and"), Name("Or"))),
        ("a <> b", Compare(CompareOp.NE, a, b)),
        ("a >= b", Compare(CompareOp.GE, a, b)),
        ("((a))", a),
    ],
)
def test_structure(source: str, expected: Expr) -> None:
    assert parse(source) == expected


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("-5", L(-5)),
        ("- 5", L(-5)),
        ("-0.5", L(-0.5)),
        ("-x", Negate(x)),
        ("-(5)", Negate(L(5))),
        ("-(-5)", Negate(L(-5))),
        ("- -5", Negate(L(-5))),
        ("-(-x)", Negate(Negate(x))),
        ("- -x", Negate(Negate(x))),
        ("-30d", Negate(Duration(30, DurationUnit.DAYS))),
        ("-'a'", Negate(L("a"))),
        ("-f(x)", Negate(Call("f", (x,)))),
        ("a - 5", arith("-", a, L(5))),
        ("a - -5", arith("-", a, L(-5))),
        ("a*-5", arith("*", a, L(-5))),
        ("-5 * a", arith("*", L(-5), a)),
    ],
)
def test_unary_minus_folds_into_numeric_literals(source: str, expected: Expr) -> None:
    assert parse(source) == expected


@pytest.mark.parametrize(
    ("source", "value"),
    [
        ("42", 42),
        ("1_000_000", 1_000_000),
        ("1.5", 1.5),
        ("12.", 12.0),
        (".5", 0.5),
        ("2.5E-2", 0.025),
        ("'it''s'", "it's"),
        ("'上海'", "上海"),
        ("TRUE", True),
        ("false", False),
        ("Null", None),
        ("date '2024-01-05'", date(2024, 1, 5)),
        ("timestamp '2024-01-05 10:00'", datetime(2024, 1, 5, 10)),
        ("timestamp '2024-01-05T10:00:00.25'", datetime(2024, 1, 5, 10, 0, 0, 250000)),
    ],
)
def test_literals(source: str, value: object) -> None:
    node = parse(source)
    assert isinstance(node, Literal)
    assert node.value == value
    assert type(node.value) is type(value)


@pytest.mark.parametrize(
    ("source", "amount", "unit"),
    [
        ("30d", 30, DurationUnit.DAYS),
        ("12h", 12, DurationUnit.HOURS),
        ("2w", 2, DurationUnit.WEEKS),
    ],
)
def test_durations(source: str, amount: int, unit: DurationUnit) -> None:
    assert parse(source) == Duration(amount, unit)


# -- spans -------------------------------------------------------------------------------


def text_of(source: str, node: Expr) -> str:
    return source[node.span.start : node.span.end]  # type: ignore[attr-defined]


def test_spans_of_a_binary_chain() -> None:
    source = "a - b - c"
    node = parse(source)
    assert isinstance(node, Arith) and isinstance(node.left, Arith)
    assert node.span == Span(0, 9, 1, 1)
    assert node.left.span == Span(0, 5, 1, 1)
    assert node.left.right.span == Span(4, 5, 1, 5)
    assert node.right.span == Span(8, 9, 1, 9)


def test_spans_include_parentheses_of_operands_but_not_their_own() -> None:
    source = "(a + b) * c"
    node = parse(source)
    assert isinstance(node, Arith) and isinstance(node.left, Arith)
    assert text_of(source, node) == "(a + b) * c"
    assert node.left.span == Span(1, 6, 1, 2)
    assert text_of(source, node.left) == "a + b"


def test_spans_of_folded_and_negated_literals() -> None:
    source = "-5 + -(5)"
    node = parse(source)
    assert isinstance(node, Arith) and isinstance(node.right, Negate)
    assert node.left.span == Span(0, 2, 1, 1)
    assert node.right.span == Span(5, 9, 1, 6)
    assert node.right.operand.span == Span(7, 8, 1, 8)


def test_spans_after_chinese_characters_and_on_line_2() -> None:
    source = "城市 = '上海' and\n  `会员 等级` between 1 and 3"
    node = parse(source)
    assert isinstance(node, And)
    assert isinstance(node.left, Compare) and isinstance(node.right, Between)
    assert node.span == Span(0, len(source), 1, 1)
    assert node.left.span == Span(0, 9, 1, 1)
    assert node.left.right.span == Span(5, 9, 1, 6)
    between = node.right
    assert between.span == Span(16, len(source), 2, 3)
    assert between.operand.span == Span(16, 23, 2, 3)
    assert text_of(source, between.operand) == "`会员 等级`"
    assert between.low.span == Span(32, 33, 2, 19)
    assert between.high.span == Span(38, 39, 2, 25)


def test_spans_of_calls_in_lists_and_predicates() -> None:
    source = "x not in (f(1), 'b') and y is not null"
    node = parse(source)
    assert isinstance(node, And) and isinstance(node.left, In)
    assert text_of(source, node.left) == "x not in (f(1), 'b')"
    assert text_of(source, node.left.items[0]) == "f(1)"
    assert text_of(source, node.right) == "y is not null"


def test_span_of_a_temporal_literal_and_a_not() -> None:
    source = "not d >= date '2024-01-01'"
    node = parse(source)
    assert isinstance(node, Not) and isinstance(node.operand, Compare)
    assert node.span == Span(0, len(source), 1, 1)
    assert node.operand.right.span == Span(9, len(source), 1, 10)


# -- errors ------------------------------------------------------------------------------


@pytest.mark.parametrize(("source", "rendered"), error_cases())
def test_error_cases(source: str, rendered: str) -> None:
    with pytest.raises(ExpressionError) as info:
        parse(source)
    assert info.value.render() == rendered


def parse_error(source: str) -> ParseError:
    with pytest.raises(ParseError) as info:
        parse(source)
    assert info.value.source == source
    return info.value


def test_error_for_a_missing_operand_points_at_the_end() -> None:
    err = parse_error("a and\n")
    assert err.code == "parse"
    assert err.message == "expected an expression after `and`"
    assert err.span == Span(6, 6, 2, 1)
    assert err.hint is None


def test_error_for_a_keyword_as_operand() -> None:
    err = parse_error("x = IN")
    assert err.message == "expected an expression after `=`"
    assert (err.span.line, err.span.col) == (1, 5)
    assert err.hint == "`in` is a keyword; write a name `in` in backquotes"


def test_error_for_an_unclosed_parenthesis_names_where_it_opened() -> None:
    err = parse_error("城市 = '上海' and\n  (a or b")
    assert err.message == "missing `)` to close `(` at line 2, col 3"
    assert err.span == Span(23, 23, 2, 10)


def test_error_for_chained_comparisons() -> None:
    err = parse_error("1 <= x < 10")
    assert err.message == "comparisons cannot be chained; use `a < b and b < c`"
    assert err.span == Span(7, 8, 1, 8)
    assert err.hint == "write `1 <= x and x < 10`"


def test_error_for_an_empty_in_list() -> None:
    err = parse_error("x in ()")
    assert err.message == "empty `in ()` list"
    assert err.span == Span(5, 7, 1, 6)


def test_error_for_between_without_and() -> None:
    err = parse_error("x between 1, 2")
    assert err.message == "expected `and` in `between`"
    assert err.span == Span(11, 12, 1, 12)
    assert err.hint == "write `x between low and high`"


def test_error_for_trailing_tokens() -> None:
    err = parse_error("a = 1 x")
    assert err.message == "unexpected `x` after the end of the expression"
    assert err.span == Span(6, 7, 1, 7)
    err = parse_error("a = 1)")
    assert err.message == "unexpected `)`"


def test_error_for_an_empty_expression() -> None:
    for source in ("", "  ", "-- only a comment"):
        err = parse_error(source)
        assert err.message == "empty expression"
        assert err.span.start == len(source)


def test_tokenize_errors_come_through_parse() -> None:
    with pytest.raises(TokenizeError) as info:
        parse("city ＝ '上海'")
    assert info.value.code == "tokenize"
    assert info.value.hint == "use the ASCII `=`"


def test_nesting_is_limited_with_a_parse_error_not_a_recursion_error() -> None:
    deep = "(" * (MAX_DEPTH + 1) + "1" + ")" * (MAX_DEPTH + 1)
    err = parse_error(deep)
    assert "nested" in err.message
    assert err.span.col == MAX_DEPTH + 1
    ok = "(" * MAX_DEPTH + "1" + ")" * MAX_DEPTH
    assert parse(ok) == L(1)
    assert parse("not " * MAX_DEPTH + "a") is not None
    parse_error("- " * (MAX_DEPTH + 1) + "a")


def test_long_flat_chains_do_not_recurse() -> None:
    source = " or ".join(f"x = {i}" for i in range(3000))
    node = parse(source)
    assert isinstance(node, Or)
    assert node.span == Span(0, len(source), 1, 1)


FUZZ_ALPHABET = [
    *"ab1_.eE'`\"-+*/%=!<>(),\n \t　（）＝城市",
    " and ", " or ", " not ", " in ", " is ", " null ", " between ", " like ", "date ", "30d",
]  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(FUZZ_ALPHABET), max_size=20).map("".join) | st.text(max_size=20))
def test_any_text_parses_or_raises_an_expression_error(source: str) -> None:
    try:
        expr = parse(source)
    except ExpressionError as err:
        assert err.source == source
        assert 0 <= err.span.start <= err.span.end <= len(source)
        assert err.render().startswith(f"error[{err.code}]: ")
    else:
        assert parse(to_text(expr)) == expr


def test_public_api_is_sorted() -> None:
    assert {"parse", "to_text"} <= set(lang.__all__)
    assert lang.__all__ == sorted(lang.__all__)
