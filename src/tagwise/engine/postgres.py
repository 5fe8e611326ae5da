"""The PostgreSQL engine: features and rules run inside the database holding the sources.

For companies whose customer data already lives in PostgreSQL. Each declared source is the
table ``<schema>.<source>`` (``[engine] postgres_schema``) with the declared columns; rows
are tied to customers by the source's ``customer_key``. Tagwise keeps its own objects in
the schema ``<schema>_tagwise``:

* ``customer_keys`` (customer_id → cid), the warehouse's keys, published incrementally
  before each run (only identifiers go in; no source data comes out);
* ``profile_<run>`` snapshots (unlogged tables), the last runs' kept for explanations;
* the layers, as temporary tables of the session.

Only results leave the database: the long form of tag values is streamed out with
``COPY … TO STDOUT`` into the warehouse, whose tag store diffs and keeps them.

Dialect: the run's trees are written for DuckDB; :meth:`PostgresEngine.rewrite` replaces the
constructs PostgreSQL lacks (list functions, ``arg_min`` over structs). Text compares in
the database's collation: a ``C`` or ``C.UTF-8`` database orders text by code point, as
DuckDB and the Python back-end do (docs/engines.md).
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Collection, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import sqlglot
from sqlglot import exp

from tagwise.engine.base import Engine, Transform, logical_table, transformed
from tagwise.errors import ConfigError, EngineError
from tagwise.identity.store import latest_resolution_id, moved_keys_query
from tagwise.spec.sources import SourcesSpec
from tagwise.store.sql import lit, table

if TYPE_CHECKING:
    from tagwise.settings import EngineSettings, Settings
    from tagwise.store.warehouse import Warehouse

__all__ = ["PostgresEngine", "publish_sources"]

_EXPORT = "tw_export"
"""The warehouse's temporary table holding a run's exported long form."""


class PostgresEngine(Engine):
    """Features and rules in a PostgreSQL database (psycopg 3)."""

    name: ClassVar[str] = "postgres"
    dialect: ClassVar[str] = "postgres"
    inexact: ClassVar[Mapping[str, str]] = {
        "upper": "case mapping follows the database's collation: ß stays ß under C.UTF-8",
        "lower": "case mapping follows the database's collation",
    }

    def __init__(self, conn: Any, schema: str) -> None:
        self.conn = conn
        self.schema = schema
        self.own = f"{schema}_tagwise"
        self.spec = SourcesSpec(sources={})
        """The declared sources (set by :meth:`prepare`): customer keys and the master."""
        self._functions()

    def _functions(self) -> None:
        """What PostgreSQL lacks, in Tagwise's own schema (on the session's search path):
        ``%`` of doubles (the language's ``%`` is C ``fmod``; PostgreSQL has it for integers
        and numeric only), computed in numeric, exact to the double's 15 significant digits.
        Created once per database (no DDL, so no CREATE right, on later connections); the
        schema joins the session's search path once."""
        own = _q(self.own)
        exists = self.execute(
            "SELECT count(*) FROM pg_operator o JOIN pg_namespace n ON n.oid = o.oprnamespace "
            "WHERE n.nspname = %s AND o.oprname = '%%' "
            "AND o.oprleft = 'double precision'::regtype",
            [self.own],
        ).fetchone()[0]
        if not exists:
            self.execute(f"CREATE SCHEMA IF NOT EXISTS {own}")
            self.execute(
                f"CREATE OR REPLACE FUNCTION {own}.tw_fmod(a double precision, "
                "b double precision) RETURNS double precision LANGUAGE sql IMMUTABLE STRICT "
                "PARALLEL SAFE AS $$ SELECT CAST(CAST(a AS numeric) % CAST(b AS numeric) "
                "AS double precision) $$"
            )
            self.execute(
                f"CREATE OPERATOR {own}.% (LEFTARG = double precision, "
                f"RIGHTARG = double precision, FUNCTION = {own}.tw_fmod)"
            )
        if self.own not in self.execute("SELECT current_schemas(false)").fetchone()[0]:
            self.execute(
                "SELECT set_config('search_path', current_setting('search_path') || ', ' || "
                "quote_ident(%s), false)",
                [self.own],
            )

    @classmethod
    def connect(cls, settings: EngineSettings) -> PostgresEngine:
        """Open the database of ``[engine] postgres_url``.

        Raises:
            ConfigError: no URL, psycopg missing, or the database cannot be reached.
        """
        if not settings.postgres_url:
            raise ConfigError(
                "the postgres engine needs a database",
                hint='set `[engine] postgres_url = "postgresql://user@host/db"` in tagwise.toml',
            )
        if settings.postgres_schema in ("src", "meta"):  # the names of the logical layout
            raise ConfigError(
                f"`{settings.postgres_schema}` cannot be the postgres engine's schema",
                hint="set `[engine] postgres_schema` to another name, e.g. crm",
            )
        try:
            import psycopg  # noqa: PLC0415
        except ImportError as exc:
            raise ConfigError(
                "the postgres engine needs psycopg",
                hint="install the extra: pip install 'tagwise[postgres]'",
            ) from exc
        url = settings.postgres_url.replace("postgresql+psycopg://", "postgresql://", 1)
        try:
            conn = psycopg.connect(url, autocommit=True)
        except psycopg.Error as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ConfigError(
                f"cannot connect to the postgres engine's database: {first}",
                hint="check `[engine] postgres_url` and that the server is running",
            ) from exc
        return cls(conn, settings.postgres_schema)

    # -- SQL --------------------------------------------------------------------------

    def execute(self, sql: str, params: Collection[Any] | None = None) -> Any:
        """Run SQL; driver errors become :class:`EngineError` (one line)."""
        import psycopg  # noqa: PLC0415

        try:
            return self.conn.execute(sql, params)
        except psycopg.Error as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise EngineError(f"postgres engine query failed: {first}") from exc

    def rewrite(self, node: exp.Expr) -> exp.Expr:
        return node.transform(self._rewrite_node, copy=False)

    def _rewrite_node(self, node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Table) and not isinstance(node.this, exp.Subquery):
            return self._table(node)
        return transformed(node, TRANSFORMS)

    def _table(self, node: exp.Table) -> exp.Expr:
        """``src.<source>`` → ``<schema>.<source>`` with ``cid`` from the published keys."""
        return logical_table(
            node,
            source=lambda name: exp.table_(name, db=self.schema, quoted=True),
            keys=exp.table_("customer_keys", db=self.own, quoted=True),
            sources=self.spec,
            text="TEXT",
        )

    # -- a run ------------------------------------------------------------------------

    def prepare(self, wh: Warehouse, sources: SourcesSpec) -> None:
        """Publish the warehouse's new customer keys; check every source table exists."""
        self.spec = sources  # Tagwise's own schema exists: the constructor made it
        self._publish_keys(wh)
        missing = [
            name
            for name in sources.sources
            if self.execute("SELECT to_regclass(%s)", [f"{_q(self.schema)}.{_q(name)}"]).fetchone()[
                0
            ]
            is None
        ]
        if missing:
            raise ConfigError(
                f"source table `{self.schema}.{missing[0]}` does not exist in the postgres "
                f"engine's database"
                + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""),
                hint="create one table per declared source in `[engine] postgres_schema`",
            )

    def _publish_keys(self, wh: Warehouse) -> None:
        """Bring ``<schema>_tagwise.customer_keys`` up to date: new records are appended,
        and records whose customer changed since the last publication (identity
        resolution's history) get their new cid."""
        own = _q(self.own)
        columns = {
            str(r[0])
            for r in self.execute(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_schema = %s AND table_name = 'customer_keys'",
                [self.own],
            ).fetchall()
        }
        if columns and "rid" not in columns:  # published before identity resolution
            self.execute(f"DROP TABLE {own}.customer_keys")
        self.execute(
            f"CREATE TABLE IF NOT EXISTS {own}.customer_keys "
            "(customer_id TEXT PRIMARY KEY, cid INTEGER NOT NULL, rid INTEGER NOT NULL UNIQUE)"
        )
        self.execute(f"CREATE TABLE IF NOT EXISTS {own}.keys_state (resolution_id INTEGER)")
        state = self.execute(f"SELECT max(resolution_id) FROM {own}.keys_state").fetchone()[0]  # noqa: S608 (names quoted by _q()/table())
        published = -1 if state is None else int(state)
        highest = int(
            self.execute(f"SELECT coalesce(max(rid), 0) FROM {own}.customer_keys").fetchone()[0]  # noqa: S608 (names quoted by _q()/table())
        )
        # new keys only, as CSV written by DuckDB and streamed in with COPY (no Python loop)
        self._copy_in(
            wh,
            "SELECT customer_id, cid, rid FROM meta.customer_keys "  # noqa: S608 (names quoted by _q()/table())
            f"WHERE rid > {highest} ORDER BY rid",
            f"{own}.customer_keys (customer_id, cid, rid)",
        )
        changed = moved_keys_query(up_to_rid=highest, after_resolution=published)
        self.execute("CREATE TEMP TABLE IF NOT EXISTS tw_moved (customer_id TEXT, cid INTEGER)")
        self.execute("TRUNCATE tw_moved")
        self._copy_in(wh, changed, "tw_moved (customer_id, cid)")  # often no rows
        self.execute(
            f"UPDATE {own}.customer_keys k SET cid = m.cid FROM tw_moved m "  # noqa: S608 (names quoted by _q()/table())
            "WHERE k.customer_id = m.customer_id"
        )
        latest = latest_resolution_id(wh)
        self.execute(f"DELETE FROM {own}.keys_state")  # noqa: S608 (names quoted by _q()/table())
        self.execute(f"INSERT INTO {own}.keys_state VALUES ({latest})")  # noqa: S608 (names quoted by _q()/table())

    def _copy_in(self, wh: Warehouse, select: str, target: str) -> None:
        """Stream the rows of a warehouse query into a PostgreSQL table with COPY."""
        with _scratch_file() as path:
            wh.execute(f"COPY ({select}) TO {lit(str(path))} (FORMAT csv, HEADER false)")
            with (
                self.conn.cursor() as cur,
                cur.copy(f"COPY {target} FROM STDIN WITH (FORMAT csv)") as copy,
                path.open("rb") as data,
            ):
                while chunk := data.read(1 << 20):
                    copy.write(chunk)

    def write_profile(self, query: exp.Query, run_id: int) -> exp.Table:
        name = f"profile_{int(run_id)}"
        self.execute(f"DROP TABLE IF EXISTS {_q(self.own)}.{_q(name)}")
        self.execute(f"CREATE UNLOGGED TABLE {_q(self.own)}.{_q(name)} AS {self.render(query)}")
        self.execute(f"CREATE INDEX ON {_q(self.own)}.{_q(name)} (cid)")
        self.execute(f"ANALYZE {_q(self.own)}.{_q(name)}")
        return exp.table_(name, db=self.own, quoted=True)

    def create_scratch(self, name: str, query: exp.Query) -> exp.Table:
        self.execute(f"DROP TABLE IF EXISTS {_q(name)}")
        self.execute(f"CREATE TEMP TABLE {_q(name)} AS {self.render(query)}")
        self.execute(f"ANALYZE {_q(name)}")
        return exp.table_(name, quoted=True)

    def drop_scratch(self, names: Collection[str]) -> None:
        for name in names:
            self.execute(f"DROP TABLE IF EXISTS {_q(name)}")

    def count(self, relation: exp.Table) -> int:
        return int(self.execute(f"SELECT count(*) FROM {self.render(relation)}").fetchone()[0])  # noqa: S608 (names quoted by _q()/table())

    def fetch(self, query: exp.Query) -> list[tuple[Any, ...]]:
        return [tuple(r) for r in self.execute(self.render(query)).fetchall()]

    def export(self, query: exp.Query, wh: Warehouse) -> str:
        """Stream the long form out (``COPY … TO STDOUT`` as CSV, through a temporary
        file) into the warehouse's temporary table ``tw_export``."""
        with _scratch_file() as path:
            with path.open("wb") as out, self.conn.cursor() as cur:
                copy_sql = f"COPY ({self.render(query)}) TO STDOUT WITH (FORMAT csv)"
                try:
                    with cur.copy(copy_sql) as copy:
                        for chunk in copy:
                            out.write(chunk)
                except Exception as exc:
                    first = str(exc).strip().splitlines()[0] if str(exc).strip() else "failed"
                    raise EngineError(f"postgres engine query failed: {first}") from exc
            wh.execute(
                f"CREATE OR REPLACE TEMP TABLE {_EXPORT} AS SELECT * FROM read_csv("  # noqa: S608 (names quoted by _q()/table())
                f"{lit(str(path))}, header = false, allow_quoted_nulls = false, "
                "columns = {'cid': 'INTEGER', 'tag_id': 'INTEGER', 'value': 'VARCHAR', "
                "'score': 'DOUBLE'})"
            )
        return _EXPORT

    def profile_row(self, run_id: int, cid: int) -> dict[str, Any]:
        name = f"profile_{int(run_id)}"
        exists = self.execute("SELECT to_regclass(%s)", [f"{_q(self.own)}.{_q(name)}"]).fetchone()[
            0
        ]
        if exists is None:
            return {}
        cur = self.execute(f"SELECT * FROM {_q(self.own)}.{_q(name)} WHERE cid = %s", [cid])  # noqa: S608 (names quoted by _q()/table())
        row = cur.fetchone()
        if row is None:
            return {}
        return dict(zip([d.name for d in cur.description], row, strict=True))

    def drop_snapshot(self, run_id: int) -> None:
        self.execute(f"DROP TABLE IF EXISTS {_q(self.own)}.{_q(f'profile_{int(run_id)}')}")

    def keep_snapshots(self, runs: Collection[int]) -> None:
        keep = {f"profile_{int(r)}" for r in runs}
        rows = self.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = %s AND tablename LIKE 'profile%%'",
            [self.own],
        ).fetchall()
        for (name,) in rows:
            if name not in keep:
                self.execute(f"DROP TABLE IF EXISTS {_q(self.own)}.{_q(name)}")

    def close(self) -> None:
        self.conn.close()


def first_by_for_arg_min(node: exp.Expr) -> exp.Expr:
    """DuckDB's ``arg_min(value, {a: x, b: y})`` → ``(array_agg(value ORDER BY x, y))[1]``."""
    if isinstance(node, exp.ArgMin) and isinstance(node.expression, exp.Struct):
        return _first_by(node.this, node.expression)
    return node


def array_agg_for_any_value(node: exp.Expr) -> exp.Expr:
    """``any_value(x) [FILTER (WHERE rows)]`` (PostgreSQL 16+) → the first non-null value of
    ``array_agg``, which every supported version has."""
    if isinstance(node, exp.Filter) and isinstance(node.this, exp.AnyValue):
        return _any_value(node.this.this, node.expression.this)
    if isinstance(node, exp.AnyValue):
        return _any_value(node.this, None)
    return node


def array_remove_for_non_null_filter(node: exp.Expr) -> exp.Expr:
    """``list_filter(list, x -> x IS NOT NULL)`` → ``array_remove(list, NULL)``."""
    if isinstance(node, exp.ArrayFilter) and _keeps_non_null(node.expression):
        return exp.func("array_remove", node.this.copy(), exp.null())
    return node


def sorted_set(node: exp.Expr) -> exp.Expr:
    """``list_sort(list_distinct(list(v)))`` → ``array_agg(DISTINCT v ORDER BY v)``."""
    if _is_call(node, "list_sort") and _is_call(node.expressions[0], "list_distinct"):
        inner = node.expressions[0].expressions[0]
        if _is_call(inner, "list"):
            return _sorted_set(inner.expressions[0])
    return node


TRANSFORMS: tuple[Transform, ...] = (
    first_by_for_arg_min,
    array_agg_for_any_value,
    array_remove_for_non_null_filter,
    sorted_set,
)
"""What the DuckDB-shaped trees of a run need on PostgreSQL, tried in this order."""


def _is_call(node: exp.Expr, name: str) -> bool:
    return isinstance(node, exp.Anonymous) and str(node.this).lower() == name


def _keeps_non_null(fn: exp.Expr) -> bool:
    """Whether a lambda is ``x -> x IS NOT NULL`` (maybe parenthesized)."""
    if not isinstance(fn, exp.Lambda) or len(fn.expressions) != 1:
        return False
    body = fn.this.unnest() if isinstance(fn.this, exp.Expr) else fn.this
    if isinstance(body, exp.Not):
        test = body.this.unnest()
        return (
            isinstance(test, exp.Is)
            and isinstance(test.expression, exp.Null)
            and test.this.name == fn.expressions[0].name
        )
    return False


def _sorted_set(value: exp.Expr) -> exp.Expr:
    """``array_agg(DISTINCT v ORDER BY v)``: the distinct values, sorted."""
    template = sqlglot.parse_one("ARRAY_AGG(DISTINCT _v ORDER BY _v)", read="postgres")
    return template.transform(
        lambda n: value.copy() if isinstance(n, exp.Column) and n.name == "_v" else n
    )


def _any_value(value: exp.Expr, rows: exp.Expr | None) -> exp.Expr:
    """``any_value(x) [FILTER (WHERE rows)]`` (PostgreSQL 16+) as the first non-null value
    of ``array_agg``, which every supported version has."""
    present: exp.Expr = exp.Not(this=exp.Is(this=value.copy(), expression=exp.null()))
    if rows is not None:
        present = exp.and_(rows.copy(), present)
    values = exp.Filter(this=exp.ArrayAgg(this=value.copy()), expression=exp.Where(this=present))
    return exp.Bracket(
        this=exp.Paren(this=values), expressions=[exp.Literal.number(0)]
    )  # sqlglot: 0-based


def _first_by(value: exp.Expr, key: exp.Struct) -> exp.Expr:
    """DuckDB's ``arg_min(value, {a: x, b: y})`` (the value at the smallest key, fields
    compared in order) as ``(array_agg(value ORDER BY x, y))[1]``."""
    order = []
    for field in key.expressions:
        part = field.expression if isinstance(field, exp.PropertyEQ) else field
        if isinstance(part, exp.Neg):
            order.append(exp.Ordered(this=part.this.copy(), desc=True))
        else:
            order.append(exp.Ordered(this=part.copy()))
    aggregate = exp.ArrayAgg(this=exp.Order(this=value.copy(), expressions=order))
    return exp.Bracket(
        this=exp.Paren(this=aggregate), expressions=[exp.Literal.number(0)]
    )  # sqlglot: 0-based


def publish_sources(wh: Warehouse, url: str, schema: str, sources: SourcesSpec) -> dict[str, int]:
    """Copy the warehouse's ingested sources to ``schema`` of a PostgreSQL database, one table
    per source with the declared columns (no ``cid``, no lineage): how the demo and the
    differential tests give the postgres engine a database "whose data lives there".

    Returns:
        Rows per source.
    """
    import psycopg  # noqa: PLC0415

    counts: dict[str, int] = {}
    url = url.replace("postgresql+psycopg://", "postgresql://", 1)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA IF NOT EXISTS {_q(schema)}")
        for name in sources.sources:
            columns = [
                (c, t)
                for c, t in wh.columns(table("src", name))
                if c not in ("cid", "_file", "_line")
            ]
            defs = ", ".join(f"{_q(c)} {_pg_type(t)}" for c, t in columns)
            conn.execute(f"DROP TABLE IF EXISTS {_q(schema)}.{_q(name)}")
            conn.execute(f"CREATE TABLE {_q(schema)}.{_q(name)} ({defs})")
            names = ", ".join(_q(c) for c, _ in columns)
            with _scratch_file() as path:
                wh.execute(
                    f"COPY (SELECT {names} FROM {table('src', name)}) "  # noqa: S608 (names quoted by _q()/table())
                    f"TO {lit(str(path))} (FORMAT csv, HEADER false)"
                )
                with (
                    conn.cursor() as cur,
                    cur.copy(
                        f"COPY {_q(schema)}.{_q(name)} ({names}) FROM STDIN WITH (FORMAT csv)"
                    ) as copy,
                    path.open("rb") as data,
                ):
                    while chunk := data.read(1 << 20):
                        copy.write(chunk)
            conn.execute(f"ANALYZE {_q(schema)}.{_q(name)}")
            found = conn.execute(f"SELECT count(*) FROM {_q(schema)}.{_q(name)}").fetchone()  # noqa: S608 (names quoted by _q()/table())
            counts[name] = int(found[0]) if found else 0
    return counts


_PG_TYPES = {
    "VARCHAR": "TEXT",
    "BIGINT": "BIGINT",
    "INTEGER": "INTEGER",
    "DOUBLE": "DOUBLE PRECISION",
    "BOOLEAN": "BOOLEAN",
    "DATE": "DATE",
    "TIMESTAMP": "TIMESTAMP",
}


def _pg_type(duckdb_type: str) -> str:
    if duckdb_type.startswith("DECIMAL"):
        return duckdb_type.replace("DECIMAL", "NUMERIC")
    if duckdb_type not in _PG_TYPES:
        raise EngineError(f"no PostgreSQL type for the warehouse type {duckdb_type}")
    return _PG_TYPES[duckdb_type]


def _q(name: str) -> str:
    return exp.to_identifier(name, quoted=True).sql("postgres")


@contextlib.contextmanager
def _scratch_file() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="tagwise-") as folder:
        yield Path(folder) / "rows.csv"


def open_engine(settings: Settings, wh: Warehouse, root: Path) -> PostgresEngine:
    """The engine of ``[engine] name = "postgres"`` (see :meth:`PostgresEngine.connect`)."""
    del wh, root
    return PostgresEngine.connect(settings.engine)
