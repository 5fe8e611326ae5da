"""Why one customer is in a segment or not: each predicate, met or not, with what it read.

A segment's expression is a tree of ``and`` / ``or`` / ``not`` over *predicates* (a
comparison, ``in``, ``between``, ``like``, ``is null``, ``has_tag``, a boolean name or any
other non-logical expression). Each predicate is checked on its own and evaluated with the
Python back-end (``lang/to_python``) on the customer's values, the same semantics as the
batch path; ``in_segment('x')`` is a predicate too, and the predicates of ``x`` follow it,
one level deeper. The whole expression's value says whether the customer is a member.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from tagwise.lang import Schema, check, parse, to_python
from tagwise.lang.ast import And, Call, Expr, Literal, Name, Not, Or
from tagwise.lang.expand import expand_segments
from tagwise.lang.functions import IN_SEGMENT
from tagwise.lang.to_text import to_text

__all__ = ["Predicate", "SegmentExplanation", "explain_segment"]


@dataclass(frozen=True, slots=True)
class Predicate:
    """One predicate of a segment and its value for one customer."""

    text: str
    met: bool | None
    """True, false, or None when a value it needs is missing (then it is not met)."""
    values: Mapping[str, Any] = field(default_factory=dict)
    """The value of every attribute, feature or tag the predicate read."""
    segment: str | None = None
    """The saved segment the predicate belongs to (None: the expression explained)."""
    depth: int = 0
    """How many ``in_segment`` calls down the predicate is."""


@dataclass(frozen=True, slots=True)
class SegmentExplanation:
    """Whether a customer is a member by the expression, and each predicate."""

    is_member: bool
    predicates: tuple[Predicate, ...]


def explain_segment(
    text: str,
    *,
    schema: Schema,
    definitions: Mapping[str, str],
    row: Mapping[str, Any],
    as_of: date,
) -> SegmentExplanation:
    """Evaluate ``text`` and each of its predicates on one customer's ``row``.

    Raises:
        ExpressionError: the expression is wrong (as ``segment count`` would say).
    """
    explainer = _Explainer(schema, definitions, row, as_of)
    whole = explainer.value(parse(text), text)
    found: list[Predicate] = []
    explainer.walk(parse(text), text, None, 0, found)
    return SegmentExplanation(is_member=whole is True, predicates=tuple(found))


class _Explainer:
    def __init__(
        self, schema: Schema, definitions: Mapping[str, str], row: Mapping[str, Any], as_of: date
    ) -> None:
        self.schema = schema
        self.definitions = definitions
        self.row = row
        self.as_of = as_of

    def value(self, node: Expr, source: str) -> Any:
        expanded = expand_segments(node, source=source, definitions=self.definitions)
        typed = check(expanded, self.schema, source=source)
        return to_python(typed)(self.row, self.as_of)

    def walk(
        self, node: Expr, source: str, segment: str | None, depth: int, out: list[Predicate]
    ) -> None:
        if isinstance(node, And | Or):
            self.walk(node.left, source, segment, depth, out)
            self.walk(node.right, source, segment, depth, out)
            return
        if isinstance(node, Not):
            self.walk(node.operand, source, segment, depth, out)
            return
        met = self.value(node, source)  # true, false or null (in_segment: never null)
        inner = _segment_name(node)
        out.append(
            Predicate(
                text=_text(node, source),
                met=None if met is None else bool(met),
                values={n: self.row.get(n) for n in _names(node, self.schema)},
                segment=segment,
                depth=depth,
            )
        )
        if inner is not None:
            nested = self.definitions[inner]
            self.walk(parse(nested), nested, inner, depth + 1, out)


def _segment_name(node: Expr) -> str | None:
    if isinstance(node, Call) and node.name == IN_SEGMENT and len(node.args) == 1:
        arg = node.args[0]
        if isinstance(arg, Literal) and isinstance(arg.value, str):
            return arg.value
    return None


def _text(node: Expr, source: str) -> str:
    span = getattr(node, "span", None)
    if span is not None and span.end > span.start:
        return source[span.start : span.end]
    return to_text(node)


def _names(node: Expr, schema: Schema) -> list[str]:
    """Attributes, features and tags a predicate reads (not through ``in_segment``)."""
    found: dict[str, None] = {}
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, Name) and current.name in schema:
            found.setdefault(current.name)
        if isinstance(current, Call) and current.name == "has_tag" and current.args:
            first = current.args[0]
            if isinstance(first, Literal) and isinstance(first.value, str):
                found.setdefault(first.value)
        if _segment_name(current) is not None:
            continue
        for name in getattr(current, "__dataclass_fields__", {}):
            value = getattr(current, name)
            children = value if isinstance(value, tuple) else (value,)
            stack.extend(c for c in children if isinstance(c, Expr))
    return sorted(found)
