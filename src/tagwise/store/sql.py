"""Quoting at the SQL boundary.

Every identifier and literal that reaches an engine as SQL text goes through these
functions (sqlglot's quoting for the engine's dialect), so text from users, files or
headers can never change a statement's meaning.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlglot import exp

__all__ = ["ident", "lit", "lit_list", "table"]

DIALECT = "duckdb"


def ident(name: str) -> str:
    """A quoted identifier."""
    return exp.to_identifier(name, quoted=True).sql(DIALECT)


def table(schema: str, name: str) -> str:
    """A quoted ``schema.table`` name."""
    return f"{ident(schema)}.{ident(name)}"


def lit(value: str | int | float | bool | None) -> str:
    """A literal of the value's SQL type."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return exp.Literal.number(value).sql(DIALECT)
    return exp.Literal.string(value).sql(DIALECT)


def lit_list(values: Iterable[str | int | float]) -> str:
    """A list literal ``[...]``."""
    return "[" + ", ".join(lit(v) for v in values) + "]"
