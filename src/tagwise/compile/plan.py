"""The plan: checked tags in dependency layers, as :func:`~tagwise.compile.rules.plan_tags`
returns it and as the SQL (:mod:`tagwise.compile.layers`) and Python
(:mod:`tagwise.compile.explain`) evaluations read it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlglot import exp

from tagwise.compile.sqltags import SqlTag
from tagwise.lang import Column, Schema, TypedExpr
from tagwise.lang.ast import Expr, Name
from tagwise.spec.tags import TagSpec

__all__ = ["PlannedBranch", "PlannedTag", "PyFn", "Row", "TagPlan", "walk"]

Row = Mapping[str, Any]
"""One profile row: column (and tag) name to value."""
PyFn = Callable[[Row, date], Any]
"""An expression compiled to Python (``to_python``): its value on one row at a date."""


@dataclass(frozen=True, slots=True)
class PlannedBranch:
    """One checked branch of a rule: a condition (None for ``else``) and its value."""

    index: int
    """Position in the tag's ``rule`` list (0-based; 0 for a flag's single condition)."""
    value: str
    when: TypedExpr | None
    test: PyFn | None = field(default=None, compare=False, repr=False)
    """The condition compiled to Python (``to_python``)."""

    @property
    def text(self) -> str:
        """The condition as written, or ``else``."""
        return self.when.source if self.when is not None else "else"


@dataclass(frozen=True, slots=True)
class PlannedTag:
    """A checked tag, ready to evaluate."""

    spec: TagSpec
    column: Column
    """How the tag reads in expressions of later tags."""
    layer: int
    depends_on: frozenset[str]
    """Codes of the tags its expressions read."""
    branches: tuple[PlannedBranch, ...] = ()
    score: TypedExpr | None = None
    score_fn: PyFn | None = field(default=None, compare=False, repr=False)
    sql: SqlTag | None = None

    @property
    def code(self) -> str:
        """The tag's code."""
        return self.spec.code

    @property
    def is_set_based(self) -> bool:
        """Whether a value depends on all customers (quantiles, SQL), not one row alone."""
        return self.sql is not None or self.spec.quantiles is not None


@dataclass(frozen=True, slots=True)
class TagPlan:
    """Checked tags in dependency layers; tags of one layer read only earlier layers."""

    schema: Schema
    """The profile's columns plus one column per tag."""
    tags: Mapping[str, PlannedTag]
    """By code, in layer order."""
    layers: tuple[tuple[str, ...], ...]

    def only(self, codes: Collection[str]) -> TagPlan:
        """The plan of the tags ``codes``, which must hold every tag they read (a run's
        selection with its dependencies): the same layers without the other tags.

        Raises:
            ValueError: a chosen tag reads a tag that is not chosen.
        """
        chosen = set(codes)
        missing = {d for c in chosen for d in self.tags[c].depends_on} - chosen
        if missing:
            raise ValueError(f"the chosen tags read unchosen tags: {sorted(missing)}")
        layers = tuple(
            kept for layer in self.layers if (kept := tuple(c for c in layer if c in chosen))
        )
        tags = {
            code: dataclasses.replace(self.tags[code], layer=number)
            for number, layer in enumerate(layers)
            for code in layer
        }
        return TagPlan(self.schema, tags, layers)

    def reads(self) -> frozenset[str]:
        """The profile columns (attributes and features) that the tags' rules, scores and
        SQL read; a run's profile snapshot needs no other attribute."""
        names: set[str] = set()
        for tag in self.tags.values():
            typed = [b.when for b in tag.branches if b.when is not None]
            typed += [tag.score] if tag.score is not None else []
            names.update(n.name for t in typed for n in walk(t.expr) if isinstance(n, Name))
            if tag.sql is not None:
                if any(True for _ in tag.sql.query.find_all(exp.Star)):
                    names.update(self.schema.names)  # `SELECT *` may read any column
                names.update(c.name for c in tag.sql.query.find_all(exp.Column))
        return frozenset(
            n for n in names if (c := self.schema.get(n)) is not None and c.role != "tag"
        )


def walk(node: Expr) -> Iterator[Expr]:
    """Every node of an expression tree, depth first, the root first."""
    yield node
    for f in dataclasses.fields(node):
        value = getattr(node, f.name)
        children = value if isinstance(value, tuple) else (value,)
        for child in children:
            if isinstance(child, Expr):
                yield from walk(child)
