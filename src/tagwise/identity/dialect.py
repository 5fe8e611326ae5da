"""The Spark dialect of the matching SQL, derived from its DuckDB text by tree transforms.

The matching SQL (:mod:`~tagwise.identity.standardize`, :mod:`~tagwise.identity.statistics`)
is written once, in DuckDB's dialect, and runs on DuckDB as written. For Spark, sqlglot
parses it, the transforms of :data:`SPARK` rewrite what sqlglot's dialects cannot know
(regular-expression syntax inside string literals, and which hash function is wanted),
and sqlglot writes the tree in Spark's dialect (``regexp_matches`` → ``RLIKE``,
``starts_with`` → ``startswith``, literal escapes, ``NULLS LAST`` where the defaults
differ). Each transform is a small function of one node, applied with
:meth:`sqlglot.exp.Expression.transform`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache

import sqlglot
from sqlglot import exp

__all__ = ["SPARK", "Transform", "to_spark"]

Transform = Callable[[exp.Expression], exp.Expression]
"""A rewrite of one node (returns the node itself when it does not apply)."""


def _regex_literals(node: exp.Expression) -> list[exp.Literal]:
    """The pattern literals of a regular-expression function node."""
    if isinstance(node, exp.RegexpReplace | exp.RegexpLike):
        pattern = node.args.get("expression")
        if isinstance(pattern, exp.Literal) and pattern.is_string:
            return [pattern]
    return []


def java_han_script(node: exp.Expression) -> exp.Expression:
    """``\\p{Han}`` → ``\\p{IsHan}`` in patterns: RE2 (DuckDB) names the Han script
    ``Han``, Java's regular expressions (Spark) want ``IsHan`` (``\\p{Han}`` fails there:
    "Unknown character property name"). The same for ``\\P{Han}``."""
    for literal in _regex_literals(node):
        literal.set("this", re.sub(r"\\([pP])\{Han\}", r"\\\1{IsHan}", literal.this))
    return node


def java_group_references(node: exp.Expression) -> exp.Expression:
    """``\\1`` → ``$1`` in replacements: RE2 refers to a group with a backslash, Java's
    ``Matcher.replaceAll`` with a dollar (a backslash there escapes the next character)."""
    if isinstance(node, exp.RegexpReplace):
        replacement = node.args.get("replacement")
        if isinstance(replacement, exp.Literal) and replacement.is_string:
            replacement.set("this", re.sub(r"\\(\d)", r"$\1", replacement.this))
    return node


def global_replace_only(node: exp.Expression) -> exp.Expression:
    """Refuse a ``regexp_replace`` without the ``'g'`` option: DuckDB replaces only the
    first match then, Spark always replaces every match, and sqlglot writes both the same.

    Raises:
        ValueError: the DuckDB text replaces the first match only (a programming error).
    """
    if isinstance(node, exp.RegexpReplace):
        modifiers = node.args.get("modifiers")
        if not (isinstance(modifiers, exp.Literal) and "g" in modifiers.this):
            raise ValueError(f"regexp_replace without 'g' has no Spark equivalent: {node.sql()}")
    return node


def xxhash64_hash(node: exp.Expression) -> exp.Expression:
    """DuckDB's ``hash(…)`` (64 bits) → Spark's ``xxhash64(…)``: Spark's ``hash`` is a
    32-bit murmur3, whose collisions at a million block keys would join many more blocks
    (a collision only adds comparisons, never loses a pair, but costs time)."""
    if isinstance(node, exp.Anonymous) and str(node.this).lower() == "hash":
        return exp.Anonymous(this="xxhash64", expressions=node.expressions)
    return node


SPARK: tuple[Transform, ...] = (
    global_replace_only,
    java_han_script,
    java_group_references,
    xxhash64_hash,
)
"""The transforms from the matching's DuckDB text to Spark, applied in this order."""


@cache
def to_spark(sql: str) -> str:
    """The DuckDB statement ``sql`` in Spark's dialect (see the module text)."""
    tree = sqlglot.parse_one(sql, read="duckdb")
    for transform in SPARK:
        tree = tree.transform(transform, copy=False)
    return tree.sql(dialect="spark")
