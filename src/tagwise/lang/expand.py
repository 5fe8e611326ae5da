"""Replace ``in_segment('name')`` by the saved segment's own expression (AST substitution).

A segment may use another saved segment. Before an expression is checked and evaluated,
:func:`expand_segments` replaces each ``in_segment('x')`` by ``coalesce((x's expression),
false)``, recursively, so the back-ends (SQL, Python, the bitmap index) never see the call.
The ``coalesce`` keeps membership two-valued: a customer for whom ``x``'s expression is
null is not a member of ``x``, so ``not in_segment('x')`` holds for them, exactly as
"not in the member list" does.

The substituted nodes take the span of the call they replace, so an error found later
(a type error inside the nested segment, say) points at ``in_segment('x')`` in the text the
user wrote, not at an offset of another segment's text.

Errors: an unknown segment is an :class:`UnknownName` with "did you mean"; segments that use
each other in a cycle are one :class:`ExpressionError` naming the cycle (``a → b → a``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import fields, replace

from tagwise.errors import ExpressionError, ExpressionTypeError, Span, UnknownName, did_you_mean
from tagwise.lang.ast import Call, Expr, Literal
from tagwise.lang.functions import EXPANDED, IN_SEGMENT
from tagwise.lang.parser import parse

__all__ = ["expand_segments", "segments_used"]


def expand_segments(
    expr: Expr, *, source: str, definitions: Mapping[str, str], within: str | None = None
) -> Expr:
    """``expr`` with every ``in_segment('x')`` replaced by ``x``'s expanded expression.

    Args:
        expr: the parsed expression.
        source: its text (for error positions).
        definitions: every saved segment's expression text, by segment name.
        within: the name of the segment ``expr`` defines, if any (``a`` may not use ``a``).

    Raises:
        UnknownName: ``in_segment`` names no saved segment.
        ExpressionTypeError: ``in_segment`` is not called with one string literal.
        ExpressionError: the segments use each other in a cycle, or a nested segment's
            expression cannot be parsed.
    """
    expander = _Expander(definitions, source)
    return expander.expand(expr, (within,) if within else ())


def segments_used(expr: Expr) -> list[str]:
    """The names of the segments ``expr`` calls directly, in order of appearance, once each."""
    found: dict[str, None] = {}
    for node in _walk(expr):
        if isinstance(node, Call) and node.name == IN_SEGMENT and len(node.args) == 1:
            arg = node.args[0]
            if isinstance(arg, Literal) and isinstance(arg.value, str):
                found.setdefault(arg.value)
    return list(found)


class _Expander:
    """One expansion: parsed and expanded segments are cached by name (a segment used
    twice is parsed once).

    Inside a nested segment, errors point at the call in the user's text that led there
    (the *anchor*) and name the segment they are in.
    """

    def __init__(self, definitions: Mapping[str, str], source: str) -> None:
        self.definitions = definitions
        self.source = source
        self.done: dict[str, Expr] = {}

    def expand(self, node: Expr, path: tuple[str, ...], anchor: Span | None = None) -> Expr:
        if isinstance(node, Call) and node.name == IN_SEGMENT:
            return self._call(node, path, anchor)
        changes: dict[str, object] = {}
        for f in fields(node):
            value = getattr(node, f.name)
            if isinstance(value, Expr):
                new = self.expand(value, path, anchor)
                if new is not value:
                    changes[f.name] = new
            elif isinstance(value, tuple) and any(isinstance(v, Expr) for v in value):
                items = tuple(self.expand(v, path, anchor) for v in value)
                if any(a is not b for a, b in zip(items, value, strict=True)):
                    changes[f.name] = items
        return replace(node, **changes) if changes else node

    def _call(self, call: Call, path: tuple[str, ...], anchor: Span | None) -> Expr:
        name = self._name(call, path, anchor)
        if name in path:
            cycle = " → ".join((*path[path.index(name) :], name))
            raise ExpressionError(
                f"segments use each other in a cycle: {cycle}",
                source=self.source,
                span=anchor or call.span,
                hint="a segment cannot contain itself; remove one of the in_segment calls",
            )
        inner = self._segment(name, path, anchor or call.span)
        span = anchor or call.span
        return Call("coalesce", (_respan(inner, span), Literal(False, span)), span)

    def _name(self, call: Call, path: tuple[str, ...], anchor: Span | None) -> str:
        where = f"segment `{path[-1]}`: " if anchor is not None and path else ""
        arg = call.args[0] if len(call.args) == 1 else None
        if not (isinstance(arg, Literal) and isinstance(arg.value, str)):
            raise ExpressionTypeError(
                f"{where}`in_segment` takes one string literal, the name of a saved segment",
                source=self.source,
                span=anchor or call.span,
                hint=f"write {EXPANDED[IN_SEGMENT]}",
            )
        name = arg.value
        if name not in self.definitions:
            raise UnknownName(
                f"{where}unknown segment `{name}`",
                source=self.source,
                span=anchor or arg.span,
                hint=did_you_mean(name, self.definitions)
                or "`tagwise segment list` shows the saved segments",
            )
        return name

    def _segment(self, name: str, path: tuple[str, ...], anchor: Span) -> Expr:
        if name in self.done:
            return self.done[name]
        try:
            tree = parse(self.definitions[name])
        except ExpressionError as exc:
            raise type(exc)(
                f"segment `{name}` cannot be read: {exc.message}",
                source=self.source,
                span=anchor,
                hint="`tagwise lint` points at the problem in its file",
            ) from exc
        expanded = self.expand(tree, (*path, name), anchor)
        self.done[name] = expanded
        return expanded


def _respan(node: Expr, span: Span) -> Expr:
    """``node`` and everything under it with ``span`` (equality ignores spans)."""
    changes: dict[str, object] = {}
    for f in fields(node):
        value = getattr(node, f.name)
        if f.name == "span":
            changes["span"] = span
        elif isinstance(value, Expr):
            changes[f.name] = _respan(value, span)
        elif isinstance(value, tuple) and any(isinstance(v, Expr) for v in value):
            changes[f.name] = tuple(_respan(v, span) if isinstance(v, Expr) else v for v in value)
    return replace(node, **changes)


def _walk(node: Expr) -> Iterator[Expr]:
    yield node
    for f in fields(node):
        value = getattr(node, f.name)
        children = value if isinstance(value, tuple) else (value,)
        for child in children:
            if isinstance(child, Expr):
                yield from _walk(child)
