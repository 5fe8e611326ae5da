"""Compile a checked expression to a Python function over one customer's row (realtime path).

The tree is compiled once into nested closures, one ``eval_<Node>`` builder per AST node
class (a node without one raises :class:`UnsupportedError`); the result is called as
``fn(row, as_of)``. Row values are ``int``, ``float``, ``str``, ``bool``, ``date``,
``datetime``, ``timedelta``, ``list[str]`` or ``None``; a name missing from the row is null.

The semantics are SQL's, as DuckDB computes them (``tests/lang/test_backends.py`` checks the
two back-ends agree): three-valued logic, null in gives null out, ``/`` in floating point,
``%`` with the sign of the dividend, integer arithmetic exact. One known difference: DuckDB
raises an out-of-range error when 64-bit integer arithmetic overflows, where Python ints do
not overflow.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any, NoReturn

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
from tagwise.lang.functions import FUNCTIONS, Evaluator, PyCall, as_timestamp
from tagwise.lang.types import Type

__all__ = ["PythonCompiler", "like_regex", "to_python"]

Row = Mapping[str, Any]


def to_python(typed: TypedExpr) -> Callable[[Row, date], Any]:
    """Compile a checked expression to ``fn(row, as_of) -> value``.

    Raises:
        UnsupportedError: the tree holds a node the compiler does not know.
    """
    return PythonCompiler(typed).compile(typed.expr)


@lru_cache(maxsize=1024)
def like_regex(pattern: str) -> re.Pattern[str]:
    """The regex of a ``like`` pattern: ``%`` any run, ``_`` one character, no escapes."""
    parts = (".*" if ch == "%" else "." if ch == "_" else re.escape(ch) for ch in pattern)
    return re.compile("".join(parts), re.DOTALL)


def _kleene_and(left: Any, right: Any) -> bool | None:
    if left is False or right is False:
        return False
    return None if left is None or right is None else True


def _order_pair(left: Any, right: Any) -> tuple[Any, Any]:
    """A date compared with a timestamp is taken as midnight (Python refuses to compare)."""
    if (
        isinstance(left, datetime) != isinstance(right, datetime)
        and isinstance(left, date)
        and isinstance(right, date)
    ):
        return as_timestamp(left), as_timestamp(right)
    return left, right


def _compare(op: Callable[[Any, Any], bool], left: Any, right: Any) -> bool | None:
    if left is None or right is None:
        return None
    return op(*_order_pair(left, right))


def _divide(left: Any, right: Any) -> float | None:
    return None if right == 0 else float(left) / float(right)


def _modulo(left: Any, right: Any) -> Any:
    """SQL ``%``: the sign of the dividend (C ``fmod``), null for a zero divisor."""
    if right == 0:
        return None
    if isinstance(left, int) and isinstance(right, int):
        rest = abs(left) % abs(right)
        return -rest if left < 0 else rest
    return math.fmod(left, right)


_DURATION_UNITS: Mapping[DurationUnit, timedelta] = {
    DurationUnit.HOURS: timedelta(hours=1),
    DurationUnit.DAYS: timedelta(days=1),
    DurationUnit.WEEKS: timedelta(weeks=1),
}

_COMPARE: Mapping[CompareOp, Callable[[Any, Any], bool]] = {
    CompareOp.EQ: operator.eq,
    CompareOp.NE: operator.ne,
    CompareOp.LT: operator.lt,
    CompareOp.LE: operator.le,
    CompareOp.GT: operator.gt,
    CompareOp.GE: operator.ge,
}

_ARITH: Mapping[ArithOp, Callable[[Any, Any], Any]] = {
    ArithOp.ADD: operator.add,
    ArithOp.SUB: operator.sub,
    ArithOp.MUL: operator.mul,
    ArithOp.DIV: _divide,
    ArithOp.MOD: _modulo,
}


def _binary(fn: Callable[[Any, Any], Any], left: Evaluator, right: Evaluator) -> Evaluator:
    """An evaluator of ``fn(l, r)`` that is null when either side is null."""

    def evaluate(row: Row, as_of: date) -> Any:
        lhs, rhs = left(row, as_of), right(row, as_of)
        return None if lhs is None or rhs is None else fn(lhs, rhs)

    return evaluate


def _negated(test: Evaluator) -> Evaluator:
    def evaluate(row: Row, as_of: date) -> Any:
        value = test(row, as_of)
        return None if value is None else not value

    return evaluate


class PythonCompiler:
    """Builds the closures for the nodes of one checked tree: ``eval_<Node>`` per class."""

    def __init__(self, typed: TypedExpr) -> None:
        self.typed = typed

    def compile(self, node: Expr) -> Evaluator:
        """The evaluator of one node (and its children)."""
        method = getattr(self, f"eval_{type(node).__name__}", self.eval_Undefined)
        result: Evaluator = method(node)
        return result

    def eval_Undefined(self, node: Expr) -> NoReturn:
        """Every node class without an ``eval_`` method lands here."""
        raise UnsupportedError(f"the Python compiler does not support `{type(node).__name__}`")

    def maybe_negated(self, test: Evaluator, negated: bool) -> Evaluator:
        return _negated(test) if negated else test

    # -- leaves ----------------------------------------------------------------------

    def eval_Literal(self, node: Literal) -> Evaluator:
        value = node.value
        return lambda _row, _as_of: value

    def eval_Duration(self, node: Duration) -> Evaluator:
        value = node.amount * _DURATION_UNITS[node.unit]
        return lambda _row, _as_of: value

    def eval_Name(self, node: Name) -> Evaluator:
        name = node.name
        return lambda row, _as_of: row.get(name)

    # -- logic -----------------------------------------------------------------------

    def eval_Not(self, node: Not) -> Evaluator:
        return _negated(self.compile(node.operand))

    def eval_And(self, node: And) -> Evaluator:
        left, right = self.compile(node.left), self.compile(node.right)

        def evaluate(row: Row, as_of: date) -> bool | None:
            lhs = left(row, as_of)
            return False if lhs is False else _kleene_and(lhs, right(row, as_of))

        return evaluate

    def eval_Or(self, node: Or) -> Evaluator:
        left, right = self.compile(node.left), self.compile(node.right)

        def evaluate(row: Row, as_of: date) -> bool | None:
            lhs = left(row, as_of)
            if lhs is True:
                return True
            rhs = right(row, as_of)
            if rhs is True:
                return True
            return None if lhs is None or rhs is None else False

        return evaluate

    def eval_IsNull(self, node: IsNull) -> Evaluator:
        operand, negated = self.compile(node.operand), node.negated
        return lambda row, as_of: (operand(row, as_of) is None) != negated

    # -- comparisons -----------------------------------------------------------------

    def eval_Compare(self, node: Compare) -> Evaluator:
        op = _COMPARE[node.op]
        left, right = self.compile(node.left), self.compile(node.right)
        return lambda row, as_of: _compare(op, left(row, as_of), right(row, as_of))

    def eval_Between(self, node: Between) -> Evaluator:
        operand, low, high = (self.compile(n) for n in (node.operand, node.low, node.high))

        def evaluate(row: Row, as_of: date) -> bool | None:
            value = operand(row, as_of)
            return _kleene_and(
                _compare(operator.ge, value, low(row, as_of)),
                _compare(operator.le, value, high(row, as_of)),
            )

        return self.maybe_negated(evaluate, node.negated)

    def eval_In(self, node: In) -> Evaluator:
        operand = self.compile(node.operand)
        items = tuple(self.compile(item) for item in node.items)

        def evaluate(row: Row, as_of: date) -> bool | None:
            value = operand(row, as_of)
            found: bool | None = False
            for item in items:
                equal = _compare(operator.eq, value, item(row, as_of))
                if equal:
                    return True
                if equal is None:
                    found = None
            return found

        return self.maybe_negated(evaluate, node.negated)

    def eval_Like(self, node: Like) -> Evaluator:
        test = _binary(
            lambda s, p: like_regex(p).fullmatch(s) is not None,
            self.compile(node.operand),
            self.compile(node.pattern),
        )
        return self.maybe_negated(test, node.negated)

    # -- arithmetic ------------------------------------------------------------------

    def eval_Negate(self, node: Negate) -> Evaluator:
        operand = self.compile(node.operand)

        def evaluate(row: Row, as_of: date) -> Any:
            value = operand(row, as_of)
            return None if value is None else -value

        return evaluate

    def eval_Arith(self, node: Arith) -> Evaluator:
        left, right = self.compile(node.left), self.compile(node.right)
        if self.typed.type_of(node) == Type.TIMESTAMP:
            # date ± hours is a timestamp: Python's date + timedelta would drop the hours
            left, right = _timestamp_side(left), _timestamp_side(right)
        return _binary(_ARITH[node.op], left, right)

    # -- calls -----------------------------------------------------------------------

    def eval_Call(self, node: Call) -> Evaluator:
        args = tuple(self.compile(arg) for arg in node.args)
        call = PyCall(node, args, self.typed.schema, self.typed.type_of(node))
        return FUNCTIONS[node.name].to_python(call)


def _timestamp_side(side: Evaluator) -> Evaluator:
    """The side of a timestamp sum with any date taken as midnight (durations unchanged)."""

    def evaluate(row: Row, as_of: date) -> Any:
        value = side(row, as_of)
        return as_timestamp(value) if isinstance(value, date) else value

    return evaluate
