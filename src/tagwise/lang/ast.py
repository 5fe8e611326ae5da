"""AST of the Tagwise expression language.

Nodes are frozen, slotted dataclasses: immutable, hashable, comparable. Children are
fields. Every node carries the ``span`` of its first to last token, so later phases
(``check``, ``to_sql``) can point at the exact sub-expression in an error.

Equality ignores spans (``compare=False``), so ``parse(to_text(e)) == e`` holds although
the re-printed text has other offsets.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

from tagwise.errors import Span

__all__ = [
    "NO_SPAN",
    "And",
    "Arith",
    "ArithOp",
    "Between",
    "Call",
    "Compare",
    "CompareOp",
    "Duration",
    "DurationUnit",
    "Expr",
    "In",
    "IsNull",
    "Like",
    "Literal",
    "Name",
    "Negate",
    "Not",
    "Or",
]

NO_SPAN = Span(0, 0, 1, 1)
"""Span of nodes built in code rather than parsed."""


class CompareOp(StrEnum):
    """Comparison operators (``<>`` is parsed as ``!=``)."""

    EQ = "="
    NE = "!="
    LT = "<"
    LE = "<="
    GT = ">"
    GE = ">="


class ArithOp(StrEnum):
    """Arithmetic operators."""

    ADD = "+"
    SUB = "-"
    MUL = "*"
    DIV = "/"
    MOD = "%"


class DurationUnit(StrEnum):
    """Units of duration literals: ``30d``, ``12h``, ``2w``."""

    HOURS = "h"
    DAYS = "d"
    WEEKS = "w"


@dataclass(frozen=True, slots=True)
class Expr:
    """Base class of every node."""


@dataclass(frozen=True, slots=True)
class Literal(Expr):
    """A constant: number (int or float), 'string', true/false, null, or date '2024-01-01'.

    ``value`` is an ``int``, ``float``, ``str``, ``bool``, ``None``, ``datetime.date`` (for
    ``date '…'``) or ``datetime.datetime`` (for ``timestamp '…'``).
    """

    value: int | float | str | bool | date | datetime | None
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(frozen=True, slots=True)
class Duration(Expr):
    """A duration literal such as ``30d``; ``amount`` is a non-negative integer."""

    amount: int
    unit: DurationUnit
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(frozen=True, slots=True)
class Name(Expr):
    """A reference to an attribute, feature or tag: ``spend_365d`` or `` `会员等级` ``."""

    name: str
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(frozen=True, slots=True)
class Negate(Expr):
    """Unary minus: ``-x``."""

    operand: Expr
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(frozen=True, slots=True)
class Not(Expr):
    """Logical negation with SQL three-valued logic (``not null`` is null)."""

    operand: Expr
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(frozen=True, slots=True)
class And(Expr):
    """``left and right`` (Kleene logic: false wins over null)."""

    left: Expr
    right: Expr
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(frozen=True, slots=True)
class Or(Expr):
    """``left or right`` (Kleene logic: true wins over null)."""

    left: Expr
    right: Expr
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(frozen=True, slots=True)
class Compare(Expr):
    """``left op right``; null on either side gives null."""

    op: CompareOp
    left: Expr
    right: Expr
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(frozen=True, slots=True)
class Arith(Expr):
    """``left op right`` for + - * / %; null in gives null out, ``x / 0`` is null."""

    op: ArithOp
    left: Expr
    right: Expr
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(frozen=True, slots=True)
class Between(Expr):
    """``operand [not] between low and high`` (inclusive; same nulls as >= and <=)."""

    operand: Expr
    low: Expr
    high: Expr
    negated: bool = False
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(frozen=True, slots=True)
class In(Expr):
    """``operand [not] in (item, …)`` with SQL null semantics; ``items`` is non-empty."""

    operand: Expr
    items: tuple[Expr, ...]
    negated: bool = False
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(frozen=True, slots=True)
class Like(Expr):
    """``operand [not] like pattern``: ``%`` any run, ``_`` one character, case-sensitive."""

    operand: Expr
    pattern: Expr
    negated: bool = False
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(frozen=True, slots=True)
class IsNull(Expr):
    """``operand is [not] null``; never null itself."""

    operand: Expr
    negated: bool = False
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(frozen=True, slots=True)
class Call(Expr):
    """A call of a built-in function (``lang/functions.py``); ``name`` is lower-case."""

    name: str
    args: tuple[Expr, ...]
    span: Span = field(default=NO_SPAN, compare=False)
