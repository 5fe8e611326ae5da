"""Compile a checked expression to a sqlglot expression (batch path).

The compiler has one ``visit_<Node>`` per AST node class (ibis style); a node without one
raises :class:`UnsupportedError`. It returns sqlglot nodes only: user text becomes
``exp.Literal`` and quoted identifiers, never SQL text. SQL text appears at the engine
boundary through ``expression.sql(dialect=…)``.

The SQL is portable where the engines agree:

* ``/`` is ``CAST(a AS DOUBLE) / NULLIF(b, 0)`` and ``%`` is ``a % NULLIF(b, 0)``, so a zero
  divisor gives null instead of an error.
* Integer literals outside comparisons are ``CAST(n AS BIGINT)``: DuckDB types a bare ``5``
  as a 32-bit INTEGER and ``100000 * 100000`` would overflow. Decimal literals are
  ``CAST(x AS DOUBLE)`` so that arithmetic is the IEEE arithmetic of the Python back-end
  (DuckDB reads ``0.1`` as an exact DECIMAL).
* ``like`` carries ``ESCAPE ''``: the language has no escape character, and PostgreSQL's
  default escape is a backslash.
* A bare ``null`` whose type the engine cannot infer (``year(null)``, ``null + 3d``) is cast
  to the type the checker implies.

DuckDB-only constructs, to revisit in the PostgreSQL and Spark ports: ``has_tag`` on multi
tags (``ARRAY_CONTAINS`` / ``ARRAY_LENGTH`` over a ``VARCHAR[]`` list, see functions.py) and
the ``VARCHAR[]`` cast of a null list.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any, NoReturn

from sqlglot import exp

from tagwise.errors import UnsupportedError
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
from tagwise.lang.check import TypedExpr
from tagwise.lang.functions import FUNCTIONS, SqlCall
from tagwise.lang.types import Column, Type, common_type

__all__ = ["SqlCompiler", "default_column", "to_sql"]

ColumnSql = Callable[[Column], exp.Expression]
"""How a column is referenced in SQL (a table alias, a renamed column …)."""


def default_column(column: Column) -> exp.Expression:
    """The column as a quoted identifier: ``"spend_365d"``."""
    return exp.column(column.name, quoted=True)


def to_sql(typed: TypedExpr, *, as_of: date, column: ColumnSql | None = None) -> exp.Expression:
    """Compile a checked expression to a sqlglot expression.

    Args:
        typed: the result of ``check`` or ``check_condition``.
        as_of: the run's date (for ``days_since``).
        column: how to reference a column; a quoted identifier by default.

    Raises:
        UnsupportedError: the tree holds a node the compiler does not know.
    """
    return SqlCompiler(typed, as_of=as_of, column=column or default_column).visit(typed.expr)


def sql_type(kind: Type) -> exp.DataType:
    """The SQL type of a language type (``list<string>`` is DuckDB's ``VARCHAR[]``)."""
    return exp.DataType.build(_SQL_TYPES[kind])


_SQL_TYPES: Mapping[Type, str] = {
    Type.NUMBER: "DOUBLE",
    Type.STRING: "VARCHAR",
    Type.BOOLEAN: "BOOLEAN",
    Type.DATE: "DATE",
    Type.TIMESTAMP: "TIMESTAMP",
    Type.DURATION: "INTERVAL",
    Type.LIST: "ARRAY<VARCHAR>",
}

_COMPARE: Mapping[CompareOp, type[exp.Expression]] = {
    CompareOp.EQ: exp.EQ,
    CompareOp.NE: exp.NEQ,
    CompareOp.LT: exp.LT,
    CompareOp.LE: exp.LTE,
    CompareOp.GT: exp.GT,
    CompareOp.GE: exp.GTE,
}

_ARITH: Mapping[ArithOp, type[exp.Expression]] = {
    ArithOp.ADD: exp.Add,
    ArithOp.SUB: exp.Sub,
    ArithOp.MUL: exp.Mul,
}

_UNITS: Mapping[DurationUnit, tuple[str, int]] = {
    DurationUnit.HOURS: ("HOUR", 1),
    DurationUnit.DAYS: ("DAY", 1),
    DurationUnit.WEEKS: ("DAY", 7),
}
"""Interval unit and multiplier per duration unit (weeks as days: every engine has DAY)."""

_OPERATORS = (exp.Binary, exp.Unary, exp.Predicate)
"""Operator nodes (AND and OR are binary too; so is Paren, a unary that needs no more)."""


def _wrap(node: exp.Expression) -> exp.Expression:
    """Parenthesize an operator operand: sqlglot prints trees without adding parentheses."""
    if isinstance(node, _OPERATORS) and not isinstance(node, exp.Paren):
        return exp.Paren(this=node)
    return node


def _float(value: float) -> exp.Expression:
    text = (
        exp.Literal.number(repr(value)) if math.isfinite(value) else exp.Literal.string(repr(value))
    )
    return exp.cast(text, exp.DataType.Type.DOUBLE)


def _temporal(value: date, kind: str) -> exp.Expression:
    text = value.isoformat(sep=" ") if isinstance(value, datetime) else value.isoformat()
    return exp.cast(exp.Literal.string(text), kind)


_LITERALS: Mapping[type, Callable[[Any], exp.Expression]] = {
    type(None): lambda _: exp.null(),
    bool: lambda v: exp.true() if v else exp.false(),
    int: lambda v: exp.cast(exp.Literal.number(v), exp.DataType.Type.BIGINT),
    float: _float,
    str: exp.Literal.string,
    date: lambda v: _temporal(v, "DATE"),
    datetime: lambda v: _temporal(v, "TIMESTAMP"),
}


class SqlCompiler:
    """Compiles the nodes of one checked tree: ``visit_<Node>`` per AST node class."""

    def __init__(self, typed: TypedExpr, *, as_of: date, column: ColumnSql) -> None:
        self.typed = typed
        self.as_of = _temporal(as_of, "DATE")
        """The run's date as a SQL DATE literal."""
        self.column = column

    def visit(self, node: Expr) -> exp.Expression:
        """Compile one node (and its children)."""
        method = getattr(self, f"visit_{type(node).__name__}", self.visit_Undefined)
        if self.typed.type_of(node) == Type.NULL:
            return exp.null()  # `null`, `-null`, `coalesce(null)`: null whatever the input
        result: exp.Expression = method(node)
        return result

    def visit_Undefined(self, node: Expr) -> NoReturn:
        """Every node class without a ``visit_`` method lands here."""
        raise UnsupportedError(f"the SQL compiler does not support `{type(node).__name__}`")

    def typed_null(self, node: Expr, want: Type) -> exp.Expression:
        """Compile a node; a null-typed one (a bare ``null``) is cast to ``want``."""
        compiled = self.visit(node)
        if self.typed.type_of(node) == Type.NULL and want != Type.NULL:
            return exp.cast(compiled, sql_type(want))
        return compiled

    def operand(self, node: Expr, want: Type) -> exp.Expression:
        """A compiled operand of an operator: parenthesized, a bare null cast to ``want``."""
        return _wrap(self.typed_null(node, want))

    def comparand(self, node: Expr, want: Type) -> exp.Expression:
        """Like ``operand``; an integer literal stays bare (no overflow in a comparison)."""
        if isinstance(node, Literal) and type(node.value) is int:
            return exp.Literal.number(node.value)
        return self.operand(node, want)

    def common(self, *nodes: Expr) -> Type:
        """The type several comparable nodes share (the checker has verified they do)."""
        result = Type.NULL
        for node in nodes:
            result = common_type(result, self.typed.type_of(node)) or result
        return result

    # -- leaves ----------------------------------------------------------------------

    def visit_Literal(self, node: Literal) -> exp.Expression:
        return _LITERALS[type(node.value)](node.value)

    def visit_Duration(self, node: Duration) -> exp.Expression:
        unit, factor = _UNITS[node.unit]
        amount = exp.Literal.string(str(node.amount * factor))
        return exp.Interval(this=amount, unit=exp.var(unit))

    def visit_Name(self, node: Name) -> exp.Expression:
        return self.column(self.typed.schema[node.name])

    # -- logic -----------------------------------------------------------------------

    def visit_Not(self, node: Not) -> exp.Expression:
        return exp.Not(this=self.operand(node.operand, Type.BOOLEAN))

    def visit_And(self, node: And) -> exp.Expression:
        return exp.And(
            this=self.operand(node.left, Type.BOOLEAN),
            expression=self.operand(node.right, Type.BOOLEAN),
        )

    def visit_Or(self, node: Or) -> exp.Expression:
        return exp.Or(
            this=self.operand(node.left, Type.BOOLEAN),
            expression=self.operand(node.right, Type.BOOLEAN),
        )

    def visit_IsNull(self, node: IsNull) -> exp.Expression:
        test = exp.Is(this=self.operand(node.operand, Type.NULL), expression=exp.null())
        return exp.Not(this=exp.Paren(this=test)) if node.negated else test

    # -- comparisons -----------------------------------------------------------------

    def visit_Compare(self, node: Compare) -> exp.Expression:
        want = self.common(node.left, node.right)
        return _COMPARE[node.op](
            this=self.comparand(node.left, want), expression=self.comparand(node.right, want)
        )

    def visit_Between(self, node: Between) -> exp.Expression:
        want = self.common(node.operand, node.low, node.high)
        test = exp.Between(
            this=self.comparand(node.operand, want),
            low=self.comparand(node.low, want),
            high=self.comparand(node.high, want),
        )
        return exp.Not(this=exp.Paren(this=test)) if node.negated else test

    def visit_In(self, node: In) -> exp.Expression:
        want = self.common(node.operand, *node.items)
        test = exp.In(
            this=self.comparand(node.operand, want),
            expressions=[self.comparand(item, want) for item in node.items],
        )
        return exp.Not(this=exp.Paren(this=test)) if node.negated else test

    def visit_Like(self, node: Like) -> exp.Expression:
        like = exp.Like(
            this=self.operand(node.operand, Type.STRING),
            expression=self.operand(node.pattern, Type.STRING),
        )
        test = exp.Escape(this=like, expression=exp.Literal.string(""))
        return exp.Not(this=exp.Paren(this=test)) if node.negated else test

    # -- arithmetic ------------------------------------------------------------------

    def visit_Negate(self, node: Negate) -> exp.Expression:
        return exp.Neg(this=self.operand(node.operand, Type.NULL))

    def visit_Arith(self, node: Arith) -> exp.Expression:
        if self.typed.type_of(node) == Type.NUMBER:
            return self.number_arith(node)
        return self.temporal_arith(node)

    def number_arith(self, node: Arith) -> exp.Expression:
        if node.op in _ARITH:
            return _ARITH[node.op](
                this=self.operand(node.left, Type.NUMBER),
                expression=self.operand(node.right, Type.NUMBER),
            )
        divisor = exp.Nullif(
            this=self.typed_null(node.right, Type.NUMBER), expression=exp.Literal.number(0)
        )
        if node.op == ArithOp.DIV:
            dividend = exp.cast(self.typed_null(node.left, Type.NUMBER), exp.DataType.Type.DOUBLE)
            return exp.Div(this=dividend, expression=divisor)
        return exp.Mod(this=self.operand(node.left, Type.NUMBER), expression=divisor)

    def temporal_arith(self, node: Arith) -> exp.Expression:
        """``date/timestamp ± duration``: a date result stays a DATE (engines give TIMESTAMP)."""
        result = self.typed.type_of(node)
        wants = (result, Type.DURATION)
        if self.typed.type_of(node.left) == Type.DURATION or self.typed.type_of(node.right) in {
            Type.DATE,
            Type.TIMESTAMP,
        }:
            wants = wants[::-1]  # `duration + date`: the checker allows it for `+` only
        total = _ARITH[node.op](
            this=self.operand(node.left, wants[0]), expression=self.operand(node.right, wants[1])
        )
        return exp.cast(total, exp.DataType.Type.DATE) if result == Type.DATE else total

    # -- calls -----------------------------------------------------------------------

    def visit_Call(self, node: Call) -> exp.Expression:
        fn = FUNCTIONS[node.name]
        want = fn.null_as or self.typed.type_of(node)
        args = tuple(self.typed_null(arg, want) for arg in node.args)
        call = SqlCall(node, args, self.typed.schema, self.as_of, self.column)
        return fn.to_sql(call)
