"""to_text: canonical text from the case files, and parse(to_text(e)) == e for any AST."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import date, datetime

import pytest
from hypothesis import given, settings
from tests.lang.ast_strategies import exprs
from tests.lang.cases import lines, normalize_cases

from tagwise.lang import parse, to_text
from tagwise.lang.ast import (
    Arith,
    ArithOp,
    Call,
    Duration,
    DurationUnit,
    Expr,
    Literal,
    Name,
    Negate,
    Not,
    Or,
)


@pytest.mark.parametrize("text", lines("roundtrip.txt"))
def test_roundtrip_cases(text: str) -> None:
    assert to_text(parse(text)) == text


@pytest.mark.parametrize(("source", "canonical"), normalize_cases())
def test_normalize_cases(source: str, canonical: str) -> None:
    assert to_text(parse(source)) == canonical
    assert to_text(parse(canonical)) == canonical


def shape(node: object) -> object:
    """``node`` as nested tuples, with the type of each literal value (``1`` is not ``1.0``)."""
    if isinstance(node, Literal):
        return ("Literal", type(node.value).__name__, node.value)
    if isinstance(node, Expr):
        fields = [f.name for f in dataclasses.fields(node) if f.name != "span"]
        return (type(node).__name__, *(shape(getattr(node, f)) for f in fields))
    if isinstance(node, tuple):
        return tuple(shape(item) for item in node)
    return node


def walk(node: Expr) -> Iterator[Expr]:
    yield node
    for field in dataclasses.fields(node):
        value = getattr(node, field.name)
        for child in value if isinstance(value, tuple) else (value,):
            if isinstance(child, Expr):
                yield from walk(child)


@settings(max_examples=300, deadline=None)
@given(exprs)
def test_parse_of_to_text_gives_the_ast_back(expr: Expr) -> None:
    text = to_text(expr)
    parsed = parse(text)
    assert parsed == expr
    assert shape(parsed) == shape(expr)
    assert to_text(parsed) == text


@settings(max_examples=100, deadline=None)
@given(exprs)
def test_every_span_covers_its_own_text(expr: Expr) -> None:
    text = to_text(expr)
    for node in walk(parse(text)):
        span = node.span  # type: ignore[attr-defined]
        assert parse(text[span.start : span.end]) == node
        before = text[: span.start]
        assert span.line == before.count("\n") + 1
        assert span.col == len(before) - (before.rfind("\n") + 1) + 1


@pytest.mark.parametrize(
    ("expr", "text"),
    [
        (Negate(Literal(5)), "-(5)"),
        (Negate(Literal(2.5)), "-(2.5)"),
        (Negate(Literal(-5)), "-(-5)"),
        (Negate(Negate(Name("x"))), "-(-x)"),
        (Negate(Duration(3, DurationUnit.WEEKS)), "-3w"),
        (Arith(ArithOp.SUB, Name("a"), Literal(-1)), "a - -1"),
        (Arith(ArithOp.SUB, Name("a"), Negate(Name("b"))), "a - -b"),
        (Not(Not(Name("a"))), "not not a"),
        (Or(Name("a"), Or(Name("b"), Name("c"))), "a or (b or c)"),
        (Literal(1e20), "1e+20"),
        (Literal(0.1), "0.1"),
        (Literal(-0.0), "-0.0"),
        (Literal(date(2024, 1, 5)), "date '2024-01-05'"),
        (Literal(datetime(2024, 1, 5, 10, 0, 0, 123)), "timestamp '2024-01-05 10:00:00.000123'"),
        (Name("and"), "`and`"),
        (Name("a`b"), "`a``b`"),
        (Call("f", ()), "f()"),
    ],
)
def test_to_text_of_ast_nodes(expr: Expr, text: str) -> None:
    assert to_text(expr) == text
    assert parse(text) == expr


def test_to_text_never_writes_a_comment() -> None:
    text = to_text(Negate(Negate(Negate(Literal(-1)))))
    assert "--" not in text
    assert parse(text) == Negate(Negate(Negate(Literal(-1))))


def test_long_chains_print_without_deep_recursion() -> None:
    expr: Expr = Name("x0")
    for i in range(1, 3000):
        expr = Or(expr, Name(f"x{i}"))
    assert to_text(expr) == " or ".join(f"x{i}" for i in range(3000))


@pytest.mark.parametrize(
    "expr",
    [
        Literal("two\nlines"),
        Literal(float("nan")),
        Literal(float("inf")),
        Name(""),
        Duration(-1, DurationUnit.DAYS),
        Call("Lower", ()),
        Call("order count", ()),
        Literal(datetime.fromisoformat("2024-01-05T10:00:00+08:00")),
    ],
)
def test_to_text_rejects_what_the_language_cannot_write(expr: Expr) -> None:
    with pytest.raises(ValueError):
        to_text(expr)
