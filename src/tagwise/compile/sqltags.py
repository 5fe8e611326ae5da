"""SQL tags (``sql:``): one read-only DuckDB query over ``src.<source>`` tables and
``profile``, returning ``(cid, value)`` or ``(customer_id, value)``.

:func:`parse_sql_tag` parses the text with sqlglot and refuses anything but one ``SELECT``:
writes, file and environment access, unknown tables and, when the columns are known, unknown
columns. :func:`rename_profile` points the query's ``profile`` at a run's profile table.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date

import sqlglot
from sqlglot import exp
from sqlglot.errors import OptimizeError, SqlglotError
from sqlglot.optimizer.qualify import qualify

from tagwise.errors import SpecError, did_you_mean
from tagwise.lang import Schema

__all__ = [
    "AS_OF",
    "DIALECT",
    "Sources",
    "SqlTag",
    "bind_as_of",
    "parse_sql_tag",
    "rename_profile",
    "source_columns",
]

Sources = Mapping[str, Collection[str]] | Collection[str]
"""Declared sources: names, or names with their columns (an empty collection: unknown)."""

DIALECT = "duckdb"
"""The dialect of SQL tags and of the SQL the engine writes for them."""
_PROFILE = "profile"
"""The name a SQL tag uses for the run's profile table."""
_KEYS = ("cid", "customer_id")


@dataclass(frozen=True, slots=True)
class SqlTag:
    """A checked SQL tag: the query and whether it returns ``cid`` or ``customer_id``."""

    query: exp.Query
    key: str


_FORBIDDEN_NODES: tuple[type[exp.Expression], ...] = (
    exp.Create,
    exp.Drop,
    exp.Insert,
    exp.Update,
    exp.Delete,
    exp.Merge,
    exp.Copy,
    exp.Attach,
    exp.Detach,
    exp.Command,
    exp.Pragma,
    exp.Set,
    exp.Use,
    exp.Install,
    exp.Alter,
    exp.TruncateTable,
    exp.Into,
    exp.Describe,
    exp.Summarize,
    exp.Export,
    exp.Transaction,
    exp.Commit,
    exp.Rollback,
    exp.Grant,
    exp.Revoke,
    exp.Comment,
    exp.Analyze,
)
"""Statements and clauses a read-only query never holds (SELECT … INTO writes a table)."""

_FILE_FUNCTIONS = ("read_", "glob", "getenv", "query", "sniff_", "parquet_", "iceberg_", "delta_")
"""Prefixes of DuckDB functions that read files, the environment or run SQL text."""


def parse_sql_tag(text: str, *, sources: Sources, profile: Schema | None = None) -> SqlTag:
    """Check a SQL tag: one read-only query over ``src.<source>`` and ``profile``.

    Args:
        text: the ``sql:`` of the tag (DuckDB dialect).
        sources: the declared sources, or sources with their columns: columns are checked
            when every source lists them.
        profile: the profile's columns (with ``cid``), for the column check.

    Raises:
        SpecError: not one statement, not a SELECT, a write or file access, an unknown table
            or column, or other output columns than ``(cid, value)``.
    """
    try:
        statements = [s for s in sqlglot.parse(text, read=DIALECT) if s is not None]
    except SqlglotError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise SpecError(f"cannot parse the SQL: {first}") from exc
    if len(statements) != 1:
        raise SpecError(
            f"a SQL tag is exactly one statement, got {len(statements)}",
            hint="remove the `;` and everything after it",
        )
    query = statements[0]
    if not isinstance(query, exp.Query) or isinstance(query, exp.Subquery):
        what = query.key if isinstance(query, _FORBIDDEN_NODES) else text.split(maxsplit=1)[0]
        raise SpecError(f"only SELECT is allowed, got `{what.upper()}`")
    _refuse_writes_and_files(query)
    _check_parameters(query)
    columns = source_columns(sources)
    _check_tables(query, columns)
    key = _output_key(query)
    if profile is not None and columns and all(columns.values()):
        _check_columns(query, columns, profile)
    return SqlTag(query, key)


AS_OF = "as_of"
"""The one parameter a SQL tag may use: ``:as_of``, the run's as-of date (a DATE)."""


def _check_parameters(query: exp.Query) -> None:
    for placeholder in query.find_all(exp.Placeholder):
        if placeholder.name != AS_OF:
            raise SpecError(
                f"unknown parameter `:{placeholder.name or '?'}` in the SQL",
                hint="the only parameter is `:as_of`, the run's as-of date",
            )


def bind_as_of(query: exp.Query, as_of: date) -> exp.Query:
    """Replace ``:as_of`` with the run's date as a DATE literal (never as text)."""

    def replace(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Placeholder) and node.name == AS_OF:
            return exp.cast(exp.Literal.string(as_of.isoformat()), exp.DataType.Type.DATE)
        return node

    bound = query.transform(replace, copy=False)
    if not isinstance(bound, exp.Query):  # transform keeps the root's class
        msg = "binding :as_of changed the query's root"
        raise TypeError(msg)
    return bound


def source_columns(sources: Sources) -> Mapping[str, Collection[str]]:
    """Declared sources as a mapping from name to columns (empty when unknown)."""
    if isinstance(sources, Mapping):
        return sources
    return dict.fromkeys(sources, ())


def _refuse_writes_and_files(query: exp.Query) -> None:
    for node in query.walk():
        if isinstance(node, _FORBIDDEN_NODES):
            raise SpecError(f"only SELECT is allowed, found `{node.key.upper()}`")
        if isinstance(node, exp.Func):
            name = (node.name if isinstance(node, exp.Anonymous) else node.sql_name()).lower()
            if name.startswith(_FILE_FUNCTIONS):
                raise SpecError(
                    f"function `{name}` is not allowed",
                    hint="a SQL tag reads `src.<source>` tables and `profile` only",
                )


def _check_tables(query: exp.Query, sources: Mapping[str, Collection[str]]) -> None:
    ctes = {cte.alias_or_name for cte in query.find_all(exp.CTE)}
    known = [_PROFILE, *(f"src.{s}" for s in sources)]
    for table in query.find_all(exp.Table):
        if not isinstance(table.this, exp.Identifier):
            raise SpecError(
                f"table functions are not allowed: `{table.this.sql(DIALECT)}`",
                hint="a SQL tag reads `src.<source>` tables and `profile` only",
            )
        name, db = table.name, table.db
        ok = (
            (not db and (name == _PROFILE or name in ctes)) or (db == "src" and name in sources)
        ) and not table.catalog
        if not ok:
            shown = ".".join(p for p in (table.catalog, db, name) if p)
            raise SpecError(f"unknown table `{shown}`", hint=did_you_mean(shown, known))


def _output_key(query: exp.Query) -> str:
    names = query.named_selects
    keys = [n for n in names if n in _KEYS]
    if len(names) != 2 or "value" not in names or len(keys) != 1 or "*" in names:
        shown = ", ".join(f"`{n}`" for n in names) or "none"
        raise SpecError(
            f"a SQL tag returns two columns `cid` (or `customer_id`) and `value`, got {shown}",
            hint="name them, e.g. SELECT cid, count(*) AS value …",
        )
    return keys[0]


def _check_columns(
    query: exp.Query, sources: Mapping[str, Collection[str]], profile: Schema
) -> None:
    tables: dict[str, object] = {
        "src": {s: dict.fromkeys(cols, "UNKNOWN") for s, cols in sources.items()},
        "_run": {_PROFILE: {"cid": "INTEGER", **dict.fromkeys(profile.names, "UNKNOWN")}},
    }
    copy = rename_profile(query.copy(), exp.table_("profile", db="_run"))
    try:
        qualify(copy, schema=tables, dialect=DIALECT, validate_qualify_columns=True)
    except OptimizeError as exc:
        raise SpecError(f"unknown column: {str(exc).splitlines()[0]}") from exc


def rename_profile(query: exp.Query, table: exp.Table) -> exp.Query:
    """Point every ``profile`` table reference at ``table`` (keeping or adding its alias)."""
    ctes = {cte.alias_or_name for cte in query.find_all(exp.CTE)}
    if _PROFILE in ctes:
        return query

    def rename(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Table) and node.name == _PROFILE and not node.db:
            alias = node.args.get("alias") or exp.TableAlias(
                this=exp.to_identifier(_PROFILE, quoted=True)
            )
            renamed = table.copy()
            renamed.set("alias", alias)
            return renamed
        return node

    result = query.transform(rename, copy=False)
    assert isinstance(result, exp.Query)  # noqa: S101 (transform keeps the root's class)
    return result
