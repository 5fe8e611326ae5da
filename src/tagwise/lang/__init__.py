"""The Tagwise expression language: one small SQL-like language for rules, filters and
segments, compiled to SQL (sqlglot) for batch work and to Python for one customer.

Phases, one module each: ``tokens`` → ``parser`` → ``ast`` → ``check`` → ``to_sql`` /
``to_python`` / ``to_text``; built-in functions are a table in ``functions``.
"""

from __future__ import annotations

from tagwise.lang.check import TypedExpr, check, check_condition
from tagwise.lang.parser import parse
from tagwise.lang.to_python import to_python
from tagwise.lang.to_sql import to_sql
from tagwise.lang.to_text import to_text
from tagwise.lang.types import Column, Schema, Type

__all__ = [
    "Column",
    "Schema",
    "Type",
    "TypedExpr",
    "check",
    "check_condition",
    "parse",
    "to_python",
    "to_sql",
    "to_text",
]
