"""Evaluation of a segment expression to the bitmap of its members.

**Membership is "the condition is true"**, as in a SQL ``WHERE``: the language has SQL's
three-valued logic, so a customer for whom the condition is null (unknown) is not a
member, and neither is one for whom it is false. ``not (city_tier = '一线')`` therefore
leaves out the customers without a ``city_tier``: for them ``city_tier = '一线'`` is null,
and so is its negation. Write ``city_tier is null or city_tier != '一线'`` to include
them, or use ``has_tag``, which is never null: ``not has_tag('city_tier', '一线')``.

To get three-valued logic right with sets, every node is evaluated for a *polarity*:
:meth:`Evaluation.true` gives the customers for whom it is true, :meth:`Evaluation.false`
those for whom it is false (null is the rest of the universe). ``not`` swaps them, ``and``
intersects the true sets and unions the false ones, ``or`` the opposite, so only what a
tree needs is computed (a tree without ``not`` never computes a false set).

Leaves, from fastest to slowest:

* ``has_tag(...)``: one bitmap (or the union of a tag's values).
* any sub-expression over **one** indexed value column (an enum or flag tag, an indexed
  string attribute), however complex (``=``, ``in``, ``like``, ``coalesce``, ``not`` …): the
  Python back-end evaluates it once per distinct value, and the answer is the union of the
  bitmaps of the values for which it is true (or false).
* comparisons, ``between``, ``in`` and ``is null`` of one **number column** (a score tag, an
  indexed numeric attribute or feature) with number literals: ranges of the bit-sliced
  index; other expressions over one number column are evaluated once per distinct number
  when there are few.
* anything else over attributes and features only goes to the **warehouse**: the
  sub-expression is compiled with ``lang.to_sql`` and run against the profile relation
  (:mod:`tagwise.index.profile`); the cids come back as Arrow and become a bitmap.

A sub-expression that mixes a tag with another column in one comparison
(``r_score > f_score``) is refused with a message naming both.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import fields
from datetime import date
from typing import Any, TypeGuard

import numpy as np
from pyroaring import BitMap
from sqlglot import exp

from tagwise.errors import NotFound, UnsupportedError
from tagwise.index.bitmap import NumberColumn, SegmentIndex, ValueColumn, bitmap_of, union
from tagwise.index.profile import Profile
from tagwise.lang import TypedExpr
from tagwise.lang.ast import (
    And,
    Between,
    Call,
    Compare,
    CompareOp,
    Expr,
    In,
    IsNull,
    Literal,
    Name,
    Negate,
    Not,
    Or,
)
from tagwise.lang.to_python import PythonCompiler
from tagwise.lang.to_sql import to_sql
from tagwise.store.warehouse import Warehouse

__all__ = ["Evaluation", "names_of"]

_FLIPPED = {
    CompareOp.EQ: CompareOp.EQ,
    CompareOp.NE: CompareOp.NE,
    CompareOp.LT: CompareOp.GT,
    CompareOp.LE: CompareOp.GE,
    CompareOp.GT: CompareOp.LT,
    CompareOp.GE: CompareOp.LE,
}
_SMALL = 8
"""Below 1/_SMALL of the customers, a value predicate intersects each value with the
customers still in the running instead of uniting whole bitmaps first."""
_PER_KEY_LIMIT = 4096
"""Number columns with at most this many distinct numbers are evaluated number by number
when an expression is not a plain range."""


def names_of(node: Expr) -> Iterator[str]:
    """Every column a sub-expression reads (``has_tag``'s tag included)."""
    if isinstance(node, Name):
        yield node.name
        return
    if isinstance(node, Call) and node.name == "has_tag":
        first = node.args[0]
        if isinstance(first, Literal) and isinstance(first.value, str):
            yield first.value
        return
    for child in _children(node):
        yield from names_of(child)


def _is_membership(node: Expr) -> TypeGuard[Call]:
    """``coalesce(x, false)`` with a condition ``x``: never null, true exactly where ``x``
    is true (``tagwise.lang.expand`` writes ``in_segment`` so)."""
    return (
        isinstance(node, Call)
        and node.name == "coalesce"
        and len(node.args) == 2
        and isinstance(node.args[1], Literal)
        and node.args[1].value is False
    )


def _children(node: Expr) -> tuple[Expr, ...]:
    out: list[Expr] = []
    for item in fields(node):
        if item.name == "span":
            continue
        value = getattr(node, item.name)
        if isinstance(value, Expr):
            out.append(value)
        elif isinstance(value, tuple):
            out.extend(v for v in value if isinstance(v, Expr))
    return tuple(out)


class Evaluation:
    """One expression evaluated against one index (and the warehouse for the rest).

    Sub-results may be the index's own bitmaps: they are combined with operators that
    make new bitmaps (``&``, ``|``, ``-``) and never changed in place.
    """

    def __init__(
        self,
        typed: TypedExpr,
        index: SegmentIndex,
        *,
        profile: Profile,
        wh: Warehouse | None,
        as_of: date,
        indexed: Callable[[str], bool] | None = None,
    ) -> None:
        self.typed = typed
        self.index = index
        self.profile = profile
        self.wh = wh
        self.as_of = as_of
        self.universe = index.universe
        self.python = PythonCompiler(typed)
        self.indexed = indexed or (lambda name: index.get(name) is not None)
        """Whether a non-tag column is answered by the index (else the warehouse)."""
        self.answered: dict[str, str] = {}
        """Sub-expression text → how it was answered (``index`` or ``warehouse``)."""

    def members(self) -> BitMap:
        """The customers for whom the expression is true."""
        return self.true(self.typed.expr)

    def true(self, node: Expr) -> BitMap:
        """Customers for whom ``node`` is true (customers only: a cid that a merge absorbed
        may keep values until the next run, but it is no customer)."""
        return self._eval(node, want=True, within=None) & self.universe

    def false(self, node: Expr) -> BitMap:
        """Customers for whom ``node`` is false."""
        return self._eval(node, want=False, within=None) & self.universe

    # -- dispatch ----------------------------------------------------------------------

    def _eval(  # noqa: PLR0911 (one case per kind of node)
        self, node: Expr, *, want: bool, within: BitMap | None
    ) -> BitMap:
        """The customers for whom ``node`` is ``want``, among ``within`` (None: all).

        The second operand of an intersection is evaluated within the first's result, so
        each predicate of a long ``and`` works on the few customers still in the running.
        """
        if isinstance(node, Not):
            return self._eval(node.operand, want=not want, within=within)
        if isinstance(node, And | Or):
            if isinstance(node, And) == want:  # true of `and`, false of `or`: intersect
                left = self._eval(node.left, want=want, within=within)
                return self._eval(node.right, want=want, within=left)
            left = self._eval(node.left, want=want, within=within)
            return left | self._eval(node.right, want=want, within=within)
        if isinstance(node, Call) and node.name == "has_tag":
            found = self._has_tag(node)
            if want:
                return found if within is None else found & within
            return (self.universe if within is None else within) - found
        if _is_membership(node):
            # coalesce(x, false), what in_segment('s') expands to: true where x is true
            inside = self._eval(node.args[0], want=True, within=within)
            return inside if want else (self.universe if within is None else within) - inside
        names = set(names_of(node))
        if not names:
            return self._constant(node, want=want, within=within)
        if len(names) == 1:
            (name,) = names
            column = self._column(name)
            if column is not None:
                self._answered(node, "index")
                if isinstance(column, NumberColumn):
                    return self._number(node, column, want=want, within=within)
                return self._values(node, column, want=want, within=within)
        found = self._warehouse(node, names, want=want)
        return found if within is None else found & within

    def _small(self, within: BitMap | None) -> bool:
        """Whether so few customers are left that restricting each bitmap first pays."""
        return within is not None and len(within) * _SMALL < len(self.universe)

    def _column(self, name: str) -> ValueColumn | NumberColumn | None:
        """The index column answering ``name`` (an empty one for a tag without values);
        None when the warehouse answers."""
        schema_column = self.typed.schema.get(name)
        if schema_column is not None and schema_column.role == "tag":
            found = self.index.get(name)
            if found is not None:
                return found
            kind = str(schema_column.tag_kind)
            if kind == "score":
                return NumberColumn(name, "tag", kind)
            return ValueColumn(name, "tag", kind)
        return self.index.get(name) if self.indexed(name) else None

    def _answered(self, node: Expr, how: str) -> None:
        span = getattr(node, "span", None)
        source = self.typed.source
        if span is not None and source and span.end > span.start:
            self.answered[source[span.start : span.end]] = how

    # -- leaves ------------------------------------------------------------------------

    def _constant(self, node: Expr, *, want: bool, within: BitMap | None) -> BitMap:
        value = self.python.compile(node)({}, self.as_of)
        everyone = self.universe if within is None else within
        return everyone.copy() if value is want else BitMap()

    def _has_tag(self, node: Call) -> BitMap:
        code, *value = (str(a.value) for a in node.args if isinstance(a, Literal))
        column = self._column(code)
        self._answered(node, "index")
        if column is None:
            return BitMap()
        if isinstance(column, NumberColumn):
            return column.present
        if value:
            return column.bitmaps.get(value[0], BitMap())
        if column.kind == "flag":
            return column.bitmaps.get("true", BitMap())
        return column.present()

    def _values(
        self, node: Expr, column: ValueColumn, *, want: bool, within: BitMap | None
    ) -> BitMap:
        """A sub-expression over one value column: evaluated once per distinct value."""
        everyone = self.universe if within is None else within
        if column.kind == "multi":
            if isinstance(node, IsNull) and isinstance(node.operand, Name):
                present = column.present()
                return everyone & present if node.negated == want else everyone - present
            raise UnsupportedError(
                f"a multi-value tag is tested with has_tag or is null: `{self._text(node)}`",
            )
        fn = self.python.compile(node)
        name, kind = column.name, column.kind
        picked: list[BitMap] = []
        others: list[BitMap] = []
        for value, bm in column.bitmaps.items():
            hit = fn({name: _python_value(kind, value)}, self.as_of) is want
            (picked if hit else others).append(bm)
        if within is not None and self._small(within):
            out = union([bm & within for bm in picked])  # few customers left: cheap
        elif len(picked) > len(others) and column.is_disjoint():
            # most values qualify: the customers with a value, less the few that do not
            out = column.present() - BitMap.union(*others) if others else column.present()
        elif len(picked) == 1:
            out = picked[0]  # the index's own bitmap: results are never changed in place
        else:
            out = BitMap.union(*picked) if picked else BitMap()
        if within is not None:
            out = out & within
        if fn({}, self.as_of) is want:  # the customers without a value
            out = out | (everyone - column.present())
        return out

    def _number(
        self, node: Expr, column: NumberColumn, *, want: bool, within: BitMap | None
    ) -> BitMap:
        """A sub-expression over one number column: ranges of the bit-sliced index."""
        everyone = self.universe if within is None else within
        inner = within if self._small(within) else None
        ranged = _range(node, column, inner, want=want)
        if ranged is not None:
            return ranged & within if inner is None and within is not None else ranged
        if isinstance(node, IsNull) and isinstance(node.operand, Name):
            present = column.present
            return everyone & present if node.negated == want else everyone - present
        if len(column.keys) > _PER_KEY_LIMIT:
            found = self._warehouse(node, {column.name}, want=want)
            return found & everyone
        return self._per_key(node, column, want=want, within=within)

    def _per_key(
        self, node: Expr, column: NumberColumn, *, want: bool, within: BitMap | None
    ) -> BitMap:
        fn = self.python.compile(node)
        name = column.name
        hits = np.array(
            [fn({name: k}, self.as_of) is want for k in column.keys.tolist()], dtype=bool
        )
        out = BitMap()
        if hits.any():
            edges = np.flatnonzero(np.diff(np.r_[0, hits.astype(np.int8), 0]))
            for low, high in zip(edges[::2].tolist(), (edges[1::2] - 1).tolist(), strict=True):
                out |= column.rank_between(low, high, within)
        if fn({}, self.as_of) is want:
            out |= (self.universe if within is None else within) - column.present
        return out

    # -- the warehouse -----------------------------------------------------------------

    def _warehouse(self, node: Expr, names: set[str], *, want: bool) -> BitMap:
        tags = sorted(n for n in names if self._is_tag(n))
        if tags:
            others = sorted(names - set(tags))
            raise UnsupportedError(
                f"`{self._text(node)}` mixes tag `{tags[0]}` with "
                + (f"`{others[0]}`" if others else f"tag `{tags[1]}`")
                + " in one comparison; segments compare a tag with constants",
            )
        missing = sorted(n for n in names if n not in self.profile.columns)
        if missing or self.profile.relation is None or self.wh is None:
            name = missing[0] if missing else sorted(names)[0]
            raise NotFound(
                f"`{name}` has no values yet: no run has written a profile snapshot",
                hint="run `tagwise run` first",
            )
        self._answered(node, "warehouse")
        typed = self.typed
        sub = TypedExpr(node, typed.type_of(node), typed.schema, typed.source, typed.types)
        condition = to_sql(sub, as_of=self.as_of)
        if not want:
            condition = exp.Not(this=exp.Paren(this=condition))
        sql = (
            f"SELECT CAST(cid AS UINTEGER) AS cid FROM {self.profile.relation} "  # noqa: S608 (relation of quoted names; condition rendered by sqlglot)
            f"WHERE {condition.sql(dialect='duckdb')}"
        )
        found = self.wh.arrow(sql)
        return bitmap_of(found.column("cid").to_numpy()) & self.universe

    def _is_tag(self, name: str) -> bool:
        column = self.typed.schema.get(name)
        return column is not None and column.role == "tag"

    def _text(self, node: Expr) -> str:
        span = getattr(node, "span", None)
        source = self.typed.source
        if span is not None and source and span.end > span.start:
            return str(source[span.start : span.end])
        return type(node).__name__


def _python_value(kind: str, value: str) -> Any:
    """A stored value as the language sees it (flags and booleans are true/false)."""
    if kind in ("flag", "boolean"):
        return value == "true"
    return value


def _number_literal(node: Expr) -> float | bool | None:
    """The number a literal node holds; None for ``null``; False when it is no number."""
    if isinstance(node, Negate):
        inner = _number_literal(node.operand)
        return -inner if isinstance(inner, float) else False
    if isinstance(node, Literal):
        value = node.value
        if value is None:
            return None
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
    return False


def _range(  # noqa: PLR0911 (one case per node)
    node: Expr, column: NumberColumn, within: BitMap | None, *, want: bool
) -> BitMap | None:
    """The true (``want``) or false set of a plain range over the column, among
    ``within``, or None when ``node`` is no plain range. Customers without a number are in
    neither set."""

    def rest(found: BitMap) -> BitMap:
        present = column.present if within is None else column.present & within
        return present - found

    if isinstance(node, Compare):
        op, left, right = node.op, node.left, node.right
        if isinstance(right, Name):
            op, left, right = _FLIPPED[op], right, left
        number = _number_literal(right)
        if not isinstance(left, Name) or number is False:
            return None
        if number is None:  # `x > null` is null for everyone
            return BitMap()
        hit = column.compare(str(op), float(number), within)
        return hit if want else rest(hit)
    if isinstance(node, Between) and isinstance(node.operand, Name):
        low, high = _number_literal(node.low), _number_literal(node.high)
        if not isinstance(low, float) or not isinstance(high, float):
            return None
        inside = column.between(low, high, within)
        return inside if want != node.negated else rest(inside)
    if isinstance(node, In) and isinstance(node.operand, Name):
        items = [_number_literal(i) for i in node.items]
        if any(i is False for i in items):
            return None
        numbers = [float(i) for i in items if isinstance(i, float)]
        has_null = len(numbers) < len(items)
        hits = [column.compare("=", n, within) for n in numbers]
        hit = BitMap.union(*hits) if len(hits) > 1 else (hits[0] if hits else BitMap())
        if want != node.negated:
            return hit
        # a null item makes the answer null wherever it is not decided by a match
        return BitMap() if has_null else rest(hit)
    return None
