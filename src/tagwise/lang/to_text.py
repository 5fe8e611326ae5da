"""AST → canonical text: the form ``tagwise lint --fix`` writes and round-trip tests read.

Keywords are lower-case, binary operators have one space on each side, and parentheses
appear only where precedence or left associativity needs them, so that
``parse(to_text(e)) == e`` for every AST and ``to_text`` of a parsed canonical text gives
the text back.
"""

from __future__ import annotations

import math
from datetime import date, datetime

from tagwise.lang.ast import (
    And,
    Arith,
    ArithOp,
    Between,
    Call,
    Compare,
    Duration,
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
from tagwise.lang.tokens import is_bare_name

__all__ = ["to_text"]

# Precedence levels of the grammar rules, lowest first; a child whose level is below what
# its position needs is put in parentheses.
_OR, _AND, _NOT, _PREDICATE, _ADDITIVE, _TERM, _UNARY, _PRIMARY = range(1, 9)


def to_text(expr: Expr) -> str:
    """The canonical text of ``expr``, e.g. ``spend_365d >= 10000 and city = '上海'``.

    Raises:
        ValueError: the AST holds something the language cannot write: a string with a
            line break, an empty name, a NaN or infinite number, a timestamp with a time
            zone, a negative duration or a function name that is not a lower-case bare name.
    """
    return _format(expr)[0]


def _wrap(expr: Expr, level: int) -> str:
    """The text of ``expr`` in a position that needs at least ``level``."""
    text, own = _format(expr)
    return text if own >= level else f"({text})"


def _format(expr: Expr) -> tuple[str, int]:  # noqa: PLR0911 - one case per node class
    """The text of ``expr`` and its precedence level."""
    match expr:
        case Or() | And() | Arith():
            return _format_chain(expr)
        case Not(operand):
            return f"not {_wrap(operand, _NOT)}", _NOT
        case Negate(operand):
            return _format_negate(operand), _UNARY
        case Compare(op, left, right):
            return f"{_wrap(left, _ADDITIVE)} {op.value} {_wrap(right, _ADDITIVE)}", _PREDICATE
        case IsNull(operand, negated):
            return f"{_wrap(operand, _ADDITIVE)} is {'not ' if negated else ''}null", _PREDICATE
        case Between(operand, low, high, negated):
            bounds = f"{_wrap(low, _ADDITIVE)} and {_wrap(high, _ADDITIVE)}"
            return f"{_wrap(operand, _ADDITIVE)} {_not(negated)}between {bounds}", _PREDICATE
        case In(operand, items, negated):
            return f"{_wrap(operand, _ADDITIVE)} {_not(negated)}in ({_list(items)})", _PREDICATE
        case Like(operand, pattern, negated):
            pattern_text = _wrap(pattern, _ADDITIVE)
            return f"{_wrap(operand, _ADDITIVE)} {_not(negated)}like {pattern_text}", _PREDICATE
        case Call(name, args):
            return f"{_function_name(name)}({_list(args)})", _PRIMARY
        case Name(name):
            return _name(name), _PRIMARY
        case Duration(amount, unit):
            return _duration(amount, unit.value), _PRIMARY
        case Literal(value):
            return _literal(value)
    raise TypeError(f"not an expression node: {expr!r}")


def _format_chain(expr: Or | And | Arith) -> tuple[str, int]:
    """``a op b op c`` of one level, walking the left spine in a loop, not recursively."""
    level = _binary_op(expr)[1]
    rights: list[tuple[str, Expr]] = []
    node: Expr = expr
    while isinstance(node, Or | And | Arith) and _binary_op(node)[1] == level:
        rights.append((_binary_op(node)[0], node.right))
        node = node.left
    text = _wrap(node, level)
    for op, right in reversed(rights):
        text += f" {op} {_wrap(right, level + 1)}"
    return text, level


def _binary_op(expr: Or | And | Arith) -> tuple[str, int]:
    if isinstance(expr, Or):
        return "or", _OR
    if isinstance(expr, And):
        return "and", _AND
    return expr.op.value, _ADDITIVE if expr.op in (ArithOp.ADD, ArithOp.SUB) else _TERM


def _format_negate(operand: Expr) -> str:
    # `-(5)`, not `-5`: that is the literal -5. `-(-x)`, not `--x`: that is a comment.
    text, level = _format(operand)
    is_number = isinstance(operand, Literal) and type(operand.value) in (int, float)
    return f"-({text})" if level < _PRIMARY or is_number else f"-{text}"


def _not(negated: bool) -> str:
    return "not " if negated else ""


def _list(items: tuple[Expr, ...]) -> str:
    return ", ".join(_wrap(item, _OR) for item in items)


def _name(name: str) -> str:
    if is_bare_name(name):
        return name
    if not name:
        raise ValueError("a name cannot be empty")
    return "`" + name.replace("`", "``") + "`"


def _function_name(name: str) -> str:
    if not is_bare_name(name) or name != name.lower():
        raise ValueError(f"function name {name!r} is not a lower-case bare name")
    return name


def _duration(amount: int, unit: str) -> str:
    if amount < 0:
        raise ValueError(f"a duration cannot be negative: {amount}{unit}")
    return f"{amount}{unit}"


def _literal(value: object) -> tuple[str, int]:
    if value is None or isinstance(value, bool):
        return {None: "null", True: "true", False: "false"}[value], _PRIMARY
    if isinstance(value, int | float):
        text = _number(value)
        return text, _UNARY if text.startswith("-") else _PRIMARY
    if isinstance(value, str):
        return _string(value), _PRIMARY
    if isinstance(value, datetime):
        return _timestamp(value), _PRIMARY
    if isinstance(value, date):
        return f"date '{value.isoformat()}'", _PRIMARY
    raise TypeError(f"not a literal value: {value!r}")


def _number(value: int | float) -> str:
    if isinstance(value, int):
        return str(value)
    if not math.isfinite(value):
        raise ValueError(f"{value!r} cannot be written as a number")
    return repr(value)


def _string(value: str) -> str:
    if "\n" in value or "\r" in value:
        raise ValueError("a string literal cannot hold a line break")
    return "'" + value.replace("'", "''") + "'"


def _timestamp(value: datetime) -> str:
    if value.tzinfo is not None:
        raise ValueError("a timestamp literal has no time zone")
    return f"timestamp '{value.isoformat(sep=' ')}'"
