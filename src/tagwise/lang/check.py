"""Name resolution and typing of an expression against a :class:`Schema`.

``check`` walks the AST once, resolves every name against the schema and every call against
``functions.FUNCTIONS``, and types every node by the table in docs/language.md. Errors point
at the offending node (its ``span``) and carry a hint.

The result, :class:`TypedExpr`, records the type of every node by node *identity*: nodes are
frozen dataclasses that compare by value, so two equal ``null`` literals in different places
are different keys here. The ``TypedExpr`` holds the tree, which keeps every node (and so its
``id``) alive; look nodes up with :meth:`TypedExpr.type_of` while walking that same tree.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import NoReturn

from tagwise.errors import ExpressionTypeError, Span, UnknownName, UnsupportedError, did_you_mean
from tagwise.lang.ast import (
    NO_SPAN,
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
from tagwise.lang.functions import EXPANDED, FUNCTIONS, CallSite
from tagwise.lang.types import Schema, Type, common_type

__all__ = ["TypedExpr", "check", "check_condition"]


@dataclass(frozen=True, slots=True)
class TypedExpr:
    """A checked expression: the tree, its result type and the type of every node."""

    expr: Expr
    type: Type
    schema: Schema
    source: str = ""
    types: Mapping[int, Type] = field(default_factory=dict, repr=False, compare=False)
    """Node type by ``id(node)`` for the nodes of ``expr``; use :meth:`type_of`."""

    def type_of(self, node: Expr) -> Type:
        """The type of ``node``, which must be a node (the same object) of this tree."""
        return self.types[id(node)]


def check(expr: Expr, schema: Schema, *, source: str = "") -> TypedExpr:
    """Resolve names and type every node of ``expr``.

    Args:
        expr: the parsed expression.
        schema: the attributes, features and tags the expression may use.
        source: the expression's text, for error excerpts and messages.

    Raises:
        UnknownName: a name or function that the schema or function table lacks.
        ExpressionTypeError: operands of types the operator does not accept.
    """
    checker = _Checker(schema, source)
    result = checker.visit(expr)
    return TypedExpr(expr, result, schema, source, checker.types)


def check_condition(expr: Expr, schema: Schema, *, source: str = "") -> TypedExpr:
    """Like :func:`check`, and the result must be boolean (a rule, filter or segment).

    Raises:
        ExpressionTypeError: also when the result is not true/false.
    """
    typed = check(expr, schema, source=source)
    if typed.type not in _BOOLEANS:
        checker = _Checker(schema, source)
        checker.fail(
            expr,
            f"a condition must be true/false, got {typed.type}",
            checker.condition_hint(expr, typed.type),
        )
    return typed


_BOOLEANS = frozenset({Type.BOOLEAN, Type.NULL})
_NUMBERS = frozenset({Type.NUMBER, Type.NULL})
_STRINGS = frozenset({Type.STRING, Type.NULL})
_TEMPORAL = frozenset({Type.DATE, Type.TIMESTAMP})
_ORDERING = frozenset({CompareOp.LT, CompareOp.LE, CompareOp.GT, CompareOp.GE})

_LITERAL_TYPES: Mapping[type, Type] = {
    bool: Type.BOOLEAN,
    int: Type.NUMBER,
    float: Type.NUMBER,
    str: Type.STRING,
    date: Type.DATE,
    datetime: Type.TIMESTAMP,
    type(None): Type.NULL,
}

_ARITH_LEFT: Mapping[ArithOp, frozenset[Type]] = {
    ArithOp.ADD: frozenset({Type.NUMBER, Type.DATE, Type.TIMESTAMP, Type.DURATION, Type.NULL}),
    ArithOp.SUB: frozenset({Type.NUMBER, Type.DATE, Type.TIMESTAMP, Type.NULL}),
}
"""Left operand types an arithmetic operator accepts at all (default: numbers)."""


def is_whole_days(node: Expr) -> bool:
    """Whether a duration expression is statically a whole number of days (``30d``, ``-2w``).

    ``date ± duration`` stays a date exactly then; otherwise it is a timestamp.
    """
    if isinstance(node, Negate):
        return is_whole_days(node.operand)
    if isinstance(node, Duration):
        return node.unit != DurationUnit.HOURS
    return isinstance(node, Literal) and node.value is None


class _Checker:
    """One walk over the tree: ``visit_<Node>`` returns the node's type and records it."""

    def __init__(self, schema: Schema, source: str) -> None:
        self.schema = schema
        self.source = source
        self.types: dict[int, Type] = {}

    def visit(self, node: Expr) -> Type:
        method = getattr(self, f"visit_{type(node).__name__}", None)
        if method is None:
            raise UnsupportedError(f"the type checker does not support `{type(node).__name__}`")
        result: Type = method(node)
        self.types[id(node)] = result
        return result

    # -- errors and messages ---------------------------------------------------------

    def fail(self, node: Expr, message: str, hint: str | None = None) -> NoReturn:
        raise ExpressionTypeError(message, source=self.source, span=_span(node), hint=hint)

    def unknown(self, node: Expr, message: str, name: str, known: tuple[str, ...]) -> NoReturn:
        raise UnknownName(message, source=self.source, span=_span(node), hint=_suggest(name, known))

    def text(self, node: Expr) -> str:
        """The node's source text, or a short rendering of a leaf built in code."""
        span = _span(node)
        if self.source and span.end > span.start:
            return self.source[span.start : span.end]
        return _leaf_text(node)

    def describe(self, node: Expr) -> str:
        """Type and text, for messages: "number `spend_365d`"."""
        kind = self.types.get(id(node), Type.NULL)
        text = self.text(node)
        return f"{kind} `{text}`" if text else f"{kind} expression"

    def condition_hint(self, node: Expr, kind: Type) -> str | None:
        text = self.text(node) or "x"
        if kind == Type.LIST:
            return f"use has_tag('{text}', 'value')"
        examples = {Type.NUMBER: f"{text} > 0", Type.STRING: f"{text} = 'value'"}
        return f"compare it, e.g. `{examples.get(kind, f'{text} is not null')}`"

    # -- leaves ----------------------------------------------------------------------

    def visit_Literal(self, node: Literal) -> Type:
        return _LITERAL_TYPES[type(node.value)]

    def visit_Duration(self, node: Duration) -> Type:  # noqa: ARG002 (dispatch signature)
        return Type.DURATION

    def visit_Name(self, node: Name) -> Type:
        column = self.schema.get(node.name)
        if column is None:
            self.unknown(node, f"unknown name `{node.name}`", node.name, self.schema.names)
        return column.type

    # -- logic -----------------------------------------------------------------------

    def visit_Not(self, node: Not) -> Type:
        self.boolean(node.operand, "not")
        return Type.BOOLEAN

    def visit_And(self, node: And) -> Type:
        self.boolean(node.left, "and")
        self.boolean(node.right, "and")
        return Type.BOOLEAN

    def visit_Or(self, node: Or) -> Type:
        self.boolean(node.left, "or")
        self.boolean(node.right, "or")
        return Type.BOOLEAN

    def visit_IsNull(self, node: IsNull) -> Type:
        self.visit(node.operand)
        return Type.BOOLEAN

    def boolean(self, node: Expr, keyword: str) -> None:
        kind = self.visit(node)
        if kind not in _BOOLEANS:
            self.fail(
                node,
                f"`{keyword}` needs true/false operands, got {self.describe(node)}",
                self.condition_hint(node, kind),
            )

    # -- comparisons -----------------------------------------------------------------

    def visit_Compare(self, node: Compare) -> Type:
        self.comparable([node.left, node.right], ordered=node.op in _ORDERING, op=node.op)
        return Type.BOOLEAN

    def visit_Between(self, node: Between) -> Type:
        self.comparable([node.operand, node.low, node.high], ordered=True, op="between")
        return Type.BOOLEAN

    def visit_In(self, node: In) -> Type:
        self.comparable([node.operand, *node.items], ordered=False, op="in")
        return Type.BOOLEAN

    def visit_Like(self, node: Like) -> Type:
        for part in (node.operand, node.pattern):
            if self.visit(part) not in _STRINGS:
                self.fail(part, f"`like` needs strings, got {self.describe(part)}")
        return Type.BOOLEAN

    def comparable(self, nodes: Sequence[Expr], *, ordered: bool, op: str) -> Type:
        """Check that ``nodes`` share one comparable type; return it."""
        kinds = [self.visit(n) for n in nodes]
        joined, first = Type.NULL, nodes[0]
        for node, kind in zip(nodes, kinds, strict=True):
            self.comparable_kind(node, kind, nodes, ordered=ordered, op=op)
            common = common_type(joined, kind)
            if common is None:
                self.fail(
                    node,
                    f"cannot compare {self.describe(first)} with {self.describe(node)}",
                    _mismatch_hint(first, joined, node, kind),
                )
            if joined == Type.NULL:
                first = node
            joined = common
        return joined

    def comparable_kind(
        self, node: Expr, kind: Type, nodes: Sequence[Expr], *, ordered: bool, op: str
    ) -> None:
        if kind == Type.LIST:
            value = next(
                (n.value for n in nodes if isinstance(n, Literal) and isinstance(n.value, str)),
                "value",
            )
            code = node.name if isinstance(node, Name) else "code"
            self.fail(
                node,
                f"cannot compare the multi-value tag `{self.text(node)}` with `{op}`",
                f"use has_tag('{code}', {_quote(value)})",
            )
        if ordered and kind == Type.BOOLEAN:
            self.fail(
                node,
                f"cannot order {self.describe(node)} with `{op}`",
                "true/false compare only with = and !=",
            )

    # -- arithmetic ------------------------------------------------------------------

    def visit_Negate(self, node: Negate) -> Type:
        kind = self.visit(node.operand)
        if kind not in {Type.NUMBER, Type.DURATION, Type.NULL}:
            self.fail(node.operand, f"cannot negate {self.describe(node.operand)}")
        return kind

    def visit_Arith(self, node: Arith) -> Type:
        left, right = self.visit(node.left), self.visit(node.right)
        if left == right == Type.NULL and node.op in _ARITH_LEFT:
            return Type.NULL  # `null + null` may be a number, a moment or a duration
        if left in _NUMBERS and right in _NUMBERS:
            return Type.NUMBER
        result = _temporal_arith(node, left, right)
        if result is None:
            allowed = _ARITH_LEFT.get(node.op, _NUMBERS)
            bad = node.left if left not in allowed else node.right
            self.fail(
                bad,
                f"cannot apply `{node.op}` to {self.describe(node.left)} and "
                f"{self.describe(node.right)}",
                _arith_hint(node.op, left, right),
            )
        return result

    # -- calls -----------------------------------------------------------------------

    def visit_Call(self, node: Call) -> Type:
        fn = FUNCTIONS.get(node.name)
        if fn is None and node.name in EXPANDED:
            self.fail(
                node,
                f"`{node.name}` can only be used in a segment",
                f"a rule cannot read a saved segment; `{EXPANDED[node.name]}` works in "
                "`tagwise segment count` and in segments/*.yaml",
            )
        if fn is None:
            self.unknown(
                node, f"unknown function `{node.name}`", node.name, (*FUNCTIONS, *EXPANDED)
            )
        arg_types = tuple(self.visit(arg) for arg in node.args)
        count = len(node.args)
        if count < fn.min_args or (fn.max_args is not None and count > fn.max_args):
            self.fail(
                node,
                f"`{node.name}` cannot take {count} argument{'' if count == 1 else 's'}",
                f"call it as {fn.usage}",
            )
        site = CallSite(node, arg_types, self.schema, self.fail, self.unknown, self.describe)
        return fn.check(site)


def _temporal_arith(node: Arith, left: Type, right: Type) -> Type | None:
    """The type of ``date/timestamp ± duration`` (and ``duration + date``), else None."""
    if node.op not in {ArithOp.ADD, ArithOp.SUB}:
        return None
    if left in _TEMPORAL | {Type.NULL} and right in {Type.DURATION, Type.NULL}:
        moment, duration = left, node.right
    elif node.op == ArithOp.ADD and left in {Type.DURATION, Type.NULL} and right in _TEMPORAL:
        moment, duration = right, node.left
    elif node.op == ArithOp.ADD and left == Type.DURATION and right == Type.NULL:
        moment, duration = Type.NULL, node.left
    else:
        return None
    if moment == Type.DATE and is_whole_days(duration):
        return Type.DATE
    return Type.TIMESTAMP


def _mismatch_hint(first: Expr, first_kind: Type, node: Expr, kind: Type) -> str | None:
    pair = {first_kind, kind}
    if Type.STRING in pair and Type.DATE in pair:
        return "write a date as date '2024-01-01'"
    if Type.STRING in pair and Type.TIMESTAMP in pair:
        return "write a timestamp as timestamp '2024-01-01 10:00:00'"
    if pair == {Type.STRING, Type.NUMBER}:
        text = next(
            (n.value for n in (first, node) if isinstance(n, Literal) and isinstance(n.value, str)),
            None,
        )
        if text is not None and _is_number(text):
            return f"write the number without quotes: {text.strip()}"
    if Type.DURATION in pair and Type.NUMBER in pair:
        return "write a duration with its unit, e.g. 30d, 12h or 2w"
    return None


def _arith_hint(op: ArithOp, left: Type, right: Type) -> str | None:
    if left in _TEMPORAL and right in _TEMPORAL and op == ArithOp.SUB:
        return "days_since(d) counts the days from a date to the run date"
    if Type.STRING in {left, right} and op == ArithOp.ADD:
        return "strings cannot be added"
    return None


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _leaf_text(node: Expr) -> str:
    if isinstance(node, Name):
        return node.name
    if isinstance(node, Duration):
        return f"{node.amount}{node.unit}"
    return _literal_text(node.value) if isinstance(node, Literal) else ""


def _literal_text(value: object) -> str:
    if isinstance(value, str):
        return _quote(value)
    if isinstance(value, datetime):
        return f"timestamp '{value.isoformat(sep=' ')}'"
    if isinstance(value, date):
        return f"date '{value.isoformat()}'"
    if value is None or isinstance(value, bool):
        return {None: "null", True: "true", False: "false"}[value]
    return repr(value)


def _span(node: Expr) -> Span:
    span = getattr(node, "span", NO_SPAN)  # every concrete node has one; the base does not
    return span if isinstance(span, Span) else NO_SPAN


def _suggest(name: str, known: Sequence[str]) -> str | None:
    """A "did you mean" hint, or a few known names when nothing is close."""
    close = did_you_mean(name, known)
    if close:
        return close
    if not known:
        return None
    shown = ", ".join(f"`{k}`" for k in sorted(known)[:5])
    return f"known names: {shown}" + (", …" if len(known) > 5 else "")
