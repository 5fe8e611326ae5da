"""The built-in functions: one table row per function with its types, SQL and Python.

Each :class:`FunctionDef` is the single definition of a function's semantics: ``check``
types a call, ``to_sql`` builds the sqlglot expression and ``to_python`` builds the
evaluator for one customer. The property test in ``tests/lang/test_backends.py`` keeps the
two back-ends in agreement, nulls included.

To add a function, write its three parts and add a row to ``FUNCTIONS``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from functools import lru_cache
from types import MappingProxyType
from typing import Any, NoReturn

from sqlglot import exp

from tagwise.lang.ast import Call, Expr, Literal
from tagwise.lang.types import Column, Schema, Type, common_type

__all__ = [
    "EXPANDED",
    "FUNCTIONS",
    "IN_SEGMENT",
    "CallSite",
    "Evaluator",
    "FunctionDef",
    "PyCall",
    "SqlCall",
]

Evaluator = Callable[[Mapping[str, Any], date], Any]
"""A compiled expression: ``(row, as_of) -> value``."""


@dataclass(frozen=True, slots=True)
class CallSite:
    """What a function's ``check`` sees: the call, its argument types and error makers."""

    call: Call
    arg_types: tuple[Type, ...]
    schema: Schema
    fail: Callable[[Expr, str, str | None], NoReturn]
    """Raise an ``ExpressionTypeError`` at a node: ``fail(node, message, hint)``."""
    unknown: Callable[[Expr, str, str, tuple[str, ...]], NoReturn]
    """Raise an ``UnknownName`` with "did you mean": ``unknown(node, message, name, known)``."""
    describe: Callable[[Expr], str]
    """A node's type and text for messages: "number `spend_365d`"."""


@dataclass(frozen=True, slots=True)
class SqlCall:
    """What a function's ``to_sql`` sees: the call, its compiled arguments and the context."""

    call: Call
    args: tuple[exp.Expression, ...]
    schema: Schema
    as_of: exp.Expression
    """The run's date as a SQL ``DATE``."""
    column: Callable[[Column], exp.Expression]


@dataclass(frozen=True, slots=True)
class PyCall:
    """What a function's ``to_python`` sees: the call, its compiled arguments and types."""

    call: Call
    args: tuple[Evaluator, ...]
    schema: Schema
    result: Type


@dataclass(frozen=True, slots=True)
class FunctionDef:
    """A built-in function: arity, typing rule, SQL builder and Python evaluator builder."""

    name: str
    usage: str
    """How to call it, for messages: ``round(n)`` or ``round(n, digits)``."""
    min_args: int
    max_args: int | None
    """None for any number of arguments."""
    check: Callable[[CallSite], Type]
    """Type the call (arity is checked already); raise through the call site on errors."""
    to_sql: Callable[[SqlCall], exp.Expression]
    to_python: Callable[[PyCall], Evaluator]
    null_as: Type | None
    """The type a bare ``null`` argument is cast to in SQL (None: the call's type)."""


# -- typing rules --------------------------------------------------------------------


def _require(site: CallSite, index: int, accepted: frozenset[Type], what: str) -> None:
    arg, arg_type = site.call.args[index], site.arg_types[index]
    if arg_type not in accepted and arg_type != Type.NULL:
        site.fail(arg, f"`{site.call.name}` needs {what}, got {site.describe(arg)}", None)


def _takes(accepted: frozenset[Type], result: Type, what: str) -> Callable[[CallSite], Type]:
    def check(site: CallSite) -> Type:
        for index in range(len(site.call.args)):
            _require(site, index, accepted, what)
        return result

    return check


_NUMBER = frozenset({Type.NUMBER})
_STRING = frozenset({Type.STRING})
_TEMPORAL = frozenset({Type.DATE, Type.TIMESTAMP})


def _round_digits(call: Call) -> int:
    """The digits of ``round(n, digits)`` (0 for ``round(n)``), or -1 if not a valid literal."""
    if len(call.args) == 1:
        return 0
    digits = call.args[1]
    if isinstance(digits, Literal) and type(digits.value) is int and 0 <= digits.value <= 10:
        return digits.value
    return -1


def _check_round(site: CallSite) -> Type:
    _require(site, 0, _NUMBER, "a number")
    if _round_digits(site.call) < 0:
        site.fail(
            site.call.args[1],
            "the digits of `round` must be an integer literal from 0 to 10",
            "write round(n, 2)",
        )
    return Type.NUMBER


def _check_coalesce(site: CallSite) -> Type:
    result = Type.NULL
    for arg, t in zip(site.call.args, site.arg_types, strict=True):
        joined = common_type(result, t)
        if joined is None:
            site.fail(
                arg,
                f"`coalesce` needs arguments of one type: {result} and {site.describe(arg)}",
                None,
            )
        result = joined
    return result


def _check_has_tag(site: CallSite) -> Type:
    for arg in site.call.args:
        if not (isinstance(arg, Literal) and isinstance(arg.value, str)):
            site.fail(
                arg,
                "`has_tag` takes string literals, not " + site.describe(arg),
                "write has_tag('code') or has_tag('code', 'value')",
            )
    code_node = site.call.args[0]
    code = str(code_node.value)  # type: ignore[attr-defined]
    column = site.schema.get(code)
    if column is None:
        site.unknown(
            code_node, f"unknown tag `{code}`", code, tuple(c.name for c in site.schema.tags)
        )
    if column.tag_kind is None:
        site.fail(
            code_node,
            f"`{code}` is an {column.role}, not a tag",
            f"test it directly, e.g. `{code}` is not null",
        )
    if len(site.call.args) == 2 and column.tag_kind in {"flag", "score"}:
        site.fail(
            site.call.args[1],
            f"`{code}` is a {column.tag_kind} tag, which has no value to match",
            f"write has_tag('{code}')",
        )
    return Type.BOOLEAN


# -- SQL -----------------------------------------------------------------------------


def _sql_round(call: SqlCall) -> exp.Expression:
    """:func:`round_half_away` as one tree of IEEE double operations (``*``, ``/``,
    ``floor``, comparisons), which DuckDB, PostgreSQL and Spark compute bit for bit alike;
    their own ``round`` functions disagree on doubles (exact binary value or decimal form)."""
    digits = _round_digits(call.call)
    x = exp.cast(call.args[0], exp.DataType.Type.DOUBLE)
    scale = _double(10**digits)
    a = exp.Abs(this=x.copy())
    y = exp.Paren(this=exp.Mul(this=a.copy(), expression=scale.copy()))
    f = exp.cast(exp.Floor(this=y.copy()), exp.DataType.Type.DOUBLE)
    half = exp.Paren(this=exp.Add(this=f.copy(), expression=_double(0.5)))
    up = exp.or_(
        exp.GTE(this=exp.Paren(this=exp.Sub(this=y, expression=f.copy())), expression=_double(0.5)),
        exp.EQ(this=a.copy(), expression=exp.Div(this=half, expression=scale.copy())),
    )
    n = exp.Paren(
        this=exp.Add(this=f, expression=exp.Case().when(up, _double(1)).else_(_double(0)))
    )
    negative = exp.Div(
        this=exp.Paren(this=exp.Sub(this=_double(0), expression=n.copy())),
        expression=scale.copy(),
    )
    limit = exp.Div(this=_double(2**52), expression=scale.copy())
    return (
        exp.Case()
        .when(exp.GTE(this=a, expression=limit), x.copy())
        .when(exp.LT(this=x, expression=_double(0)), negative)
        .else_(exp.Div(this=n, expression=scale))
    )


def _double(value: float) -> exp.Expression:
    """A double constant written so every engine reads it exactly (integers and 0.5)."""
    text = str(int(value)) if float(value).is_integer() else repr(value)
    return exp.cast(exp.Literal.number(text), exp.DataType.Type.DOUBLE)


def _sql_days_since(call: SqlCall) -> exp.Expression:
    day = exp.cast(call.args[0], exp.DataType.Type.DATE)
    return exp.DateDiff(this=call.as_of, expression=day, unit=exp.var("DAY"))


def _sql_has_tag(call: SqlCall) -> exp.Expression:
    code, *value = (str(a.value) for a in call.call.args if isinstance(a, Literal))
    column = call.schema[code]
    value_sql = call.column(column)
    if column.tag_kind == "multi":
        # DuckDB-only spelling (ARRAY_CONTAINS / ARRAY_LENGTH on a VARCHAR[] list); sqlglot
        # renders other dialects' array functions, to be verified in the PostgreSQL port.
        test: exp.Expression = (
            exp.ArrayContains(this=value_sql, expression=exp.Literal.string(value[0]))
            if value
            else exp.GT(this=exp.ArraySize(this=value_sql), expression=exp.Literal.number(0))
        )
    elif column.tag_kind == "flag":
        test = value_sql
    elif value:
        test = exp.EQ(this=value_sql, expression=exp.Literal.string(value[0]))
    else:
        return exp.Not(this=exp.Is(this=value_sql, expression=exp.null()))
    return exp.Coalesce(this=test, expressions=[exp.false()])


def _sql_simple(cls: type[exp.Expression]) -> Callable[[SqlCall], exp.Expression]:
    def build(call: SqlCall) -> exp.Expression:
        return cls(this=call.args[0])

    return build


def _sql_coalesce(call: SqlCall) -> exp.Expression:
    return exp.Coalesce(this=call.args[0], expressions=list(call.args[1:]))


# -- Python --------------------------------------------------------------------------


def _strict(fn: Callable[..., Any]) -> Callable[[PyCall], Evaluator]:
    """An evaluator builder for a function that maps any null argument to null."""

    def build(call: PyCall) -> Evaluator:
        args = call.args

        def evaluate(row: Mapping[str, Any], as_of: date) -> Any:
            values = [arg(row, as_of) for arg in args]
            return None if any(v is None for v in values) else fn(*values)

        return evaluate

    return build


def round_half_away(value: float, digits: int = 0) -> float:
    """The language's ``round(x, digits)``: half away from zero on the decimal as written.

    With ``a = |x|``, ``c = 10**digits`` and ``y = a * c`` (one IEEE rounding), the integer
    ``n`` is ``floor(y) + 1`` when ``y - floor(y) >= 0.5`` or when ``a`` is the double
    nearest to the halfway point ``(floor(y) + 0.5) / c``, else ``floor(y)``; the result is
    ``±n / c``. So 15.85 (stored as 15.8499…) rounds to 15.9, as written, and so do 2.675,
    1.005 and 0.285. Every step is a double operation, so the SQL engines compute the same
    bits (:func:`_sql_round`). Numbers with ``a >= 2**52 / c`` (no digit left to round in a
    double), infinities and NaN come back unchanged; the result is always a float and
    never ``-0.0``.
    """
    x = float(value)
    scale = float(10**digits)
    a = abs(x)
    if not math.isfinite(x) or a >= 2.0**52 / scale:
        return x
    y = a * scale
    f = float(math.floor(y))
    n = f + 1.0 if y - f >= 0.5 or a == (f + 0.5) / scale else f
    return (0.0 - n) / scale if x < 0 else n / scale


# DuckDB (utf8proc) maps case one code point at a time (simple case mapping), where
# Python's str.upper/lower use full mappings ('ß' → 'SS'). Checked against DuckDB 2.0 for
# every assigned code point: these two are the only ones that need a table.
_UPPER_EXCEPTIONS = {"ß": "ẞ"}
_LOWER_EXCEPTIONS = {"İ": "i"}


@lru_cache(maxsize=4096)
def _upper_char(ch: str) -> str:
    for mapped in (_UPPER_EXCEPTIONS.get(ch, ""), ch.upper(), ch.title()):
        if len(mapped) == 1:
            return mapped
    return ch


@lru_cache(maxsize=4096)
def _lower_char(ch: str) -> str:
    mapped = _LOWER_EXCEPTIONS.get(ch, ch.lower())
    return mapped if len(mapped) == 1 else ch


def simple_upper(text: str) -> str:
    """Upper-case one code point at a time, as DuckDB's ``upper``."""
    return "".join(map(_upper_char, text))


def simple_lower(text: str) -> str:
    """Lower-case one code point at a time, as DuckDB's ``lower``."""
    return "".join(map(_lower_char, text))


def _as_date(value: date) -> date:
    return value.date() if isinstance(value, datetime) else value


def as_timestamp(value: date) -> datetime:
    """A date as midnight of that day; a timestamp unchanged."""
    return value if isinstance(value, datetime) else datetime.combine(value, time())


def _py_days_since(call: PyCall) -> Evaluator:
    (arg,) = call.args

    def evaluate(row: Mapping[str, Any], as_of: date) -> Any:
        value = arg(row, as_of)
        return None if value is None else (as_of - _as_date(value)).days

    return evaluate


def _py_round(call: PyCall) -> Evaluator:
    digits = _round_digits(call.call)
    arg = call.args[0]

    def evaluate(row: Mapping[str, Any], as_of: date) -> Any:
        value = arg(row, as_of)
        return None if value is None else round_half_away(value, digits)

    return evaluate


def _py_coalesce(call: PyCall) -> Evaluator:
    args = call.args
    to_timestamp = call.result == Type.TIMESTAMP

    def evaluate(row: Mapping[str, Any], as_of: date) -> Any:
        for arg in args:
            value = arg(row, as_of)
            if value is not None:
                return as_timestamp(value) if to_timestamp else value
        return None

    return evaluate


def _py_has_tag(call: PyCall) -> Evaluator:
    code, *value = (str(a.value) for a in call.call.args if isinstance(a, Literal))
    test = _HAS_TAG_TESTS[(call.schema[code].tag_kind or "", bool(value))]
    wanted = value[0] if value else None

    def evaluate(row: Mapping[str, Any], _as_of: date) -> bool:
        return test(row.get(code), wanted)

    return evaluate


_HAS_TAG_TESTS: dict[tuple[str, bool], Callable[[Any, str | None], bool]] = {
    ("enum", False): lambda v, _: v is not None,
    ("enum", True): lambda v, want: v == want,
    ("flag", False): lambda v, _: v is True,
    ("multi", False): lambda v, _: bool(v),
    ("multi", True): lambda v, want: v is not None and want in v,
    ("score", False): lambda v, _: v is not None,
}
"""has_tag per (tag kind, has a value): true or false, never null."""


# -- the table -----------------------------------------------------------------------


def _date_part(name: str, cls: type[exp.Expression], attr: str) -> FunctionDef:
    return FunctionDef(
        name,
        f"{name}(d)",
        1,
        1,
        _takes(_TEMPORAL, Type.NUMBER, "a date or timestamp"),
        _sql_simple(cls),
        _strict(lambda d: getattr(d, attr)),
        Type.TIMESTAMP,
    )


def _string_fn(
    name: str, cls: type[exp.Expression], fn: Callable[[str], Any], result: Type
) -> FunctionDef:
    return FunctionDef(
        name,
        f"{name}(s)",
        1,
        1,
        _takes(_STRING, result, "a string"),
        _sql_simple(cls),
        _strict(fn),
        Type.STRING,
    )


_DEFS = (
    FunctionDef(
        "coalesce", "coalesce(a, b, …)", 1, None, _check_coalesce, _sql_coalesce, _py_coalesce, None
    ),
    _string_fn("lower", exp.Lower, simple_lower, Type.STRING),
    _string_fn("upper", exp.Upper, simple_upper, Type.STRING),
    _string_fn("length", exp.Length, len, Type.NUMBER),
    FunctionDef(
        "abs",
        "abs(n)",
        1,
        1,
        _takes(_NUMBER, Type.NUMBER, "a number"),
        _sql_simple(exp.Abs),
        _strict(abs),
        Type.NUMBER,
    ),
    FunctionDef(
        "round",
        "round(n) or round(n, digits)",
        1,
        2,
        _check_round,
        _sql_round,
        _py_round,
        Type.NUMBER,
    ),
    _date_part("year", exp.Year, "year"),
    _date_part("month", exp.Month, "month"),
    _date_part("day", exp.Day, "day"),
    FunctionDef(
        "days_since",
        "days_since(d)",
        1,
        1,
        _takes(_TEMPORAL, Type.NUMBER, "a date or timestamp"),
        _sql_days_since,
        _py_days_since,
        Type.DATE,
    ),
    FunctionDef(
        "has_tag",
        "has_tag('code') or has_tag('code', 'value')",
        1,
        2,
        _check_has_tag,
        _sql_has_tag,
        _py_has_tag,
        Type.STRING,
    ),
)

FUNCTIONS: Mapping[str, FunctionDef] = MappingProxyType({f.name: f for f in _DEFS})
"""Every built-in function by its lower-case name."""

IN_SEGMENT = "in_segment"
"""``in_segment('name')``: whether the customer is a member of a saved segment."""

EXPANDED: Mapping[str, str] = MappingProxyType({IN_SEGMENT: "in_segment('segment name')"})
"""Functions that are not evaluated but replaced before checking, by name, with their usage.

``in_segment('name')`` is replaced by the saved segment's own expression
(:func:`tagwise.lang.expand.expand_segments`, for segments only), so neither back-end ever
sees it; a rule that calls it is refused by the checker.
"""
