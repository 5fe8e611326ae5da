"""Rule tags: from tag definitions to tag values (docs/tags.md, "Tags" and "Runs").

Three steps, one public function each:

* :func:`plan_tags` checks every expression against the profile's schema extended with the
  tags themselves, resolves tag-to-tag references and orders the tags in dependency
  **layers** (a cycle is an error naming it). :func:`check_tags` returns every problem
  instead of raising the first.
* :func:`evaluate_tags` computes a plan set-based in the warehouse: one ``SELECT`` per
  layer into a wide scratch table (one row per customer, one column per tag), then one
  ``UNION ALL`` into the long table ``(cid, tag, value, score)``.
* :func:`explain` re-evaluates one tag on one profile row with the Python back-end and
  says which branch matched and what the condition read.

In SQL and Python alike a tag reads as its kind's value: enum → string, flag → ``true`` or
null, multi → a non-empty list or null, score → the number (the quantile for quantile tags).

SQL tags (``sql:``) are parsed with sqlglot and accepted only as one read-only query over
``src.<source>`` tables and ``profile`` (:func:`parse_sql_tag`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import difflib
import uuid
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.errors import OptimizeError, SqlglotError
from sqlglot.optimizer.qualify import qualify

from tagwise.errors import EngineError, ExpressionError, Location, NotFound, SpecError, TagwiseError
from tagwise.lang import Column, Schema, Type, TypedExpr, check, parse, to_python, to_sql
from tagwise.lang.ast import Call, CompareOp, Expr, Literal, Name
from tagwise.lang.ast import Compare as CompareNode
from tagwise.spec.tags import Status, TagKind, TagSpec
from tagwise.store.warehouse import Warehouse

__all__ = [
    "Explanation",
    "Locate",
    "PlannedBranch",
    "PlannedTag",
    "Sources",
    "SqlTag",
    "TagPlan",
    "check_tags",
    "dependencies",
    "evaluate_tags",
    "explain",
    "parse_sql_tag",
    "plan_tags",
    "tag_values",
]

Locate = Callable[[str, str | None], Location | None]
"""Where a tag (``code``) or one of its fields (``"rule.0.when"``, ``"score"``) is defined."""

Row = Mapping[str, Any]
Sources = Mapping[str, Collection[str]] | Collection[str]
"""Declared sources: names, or names with their columns (an empty collection: unknown)."""
PyFn = Callable[[Row, date], Any]

_DIALECT = "duckdb"
_PROFILE = "profile"
"""The name a SQL tag uses for the run's profile table."""
_KEYS = ("cid", "customer_id")


# -- the plan --------------------------------------------------------------------------


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
class SqlTag:
    """A checked SQL tag: the query and whether it returns ``cid`` or ``customer_id``."""

    query: exp.Query
    key: str


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


def plan_tags(
    tags: Sequence[TagSpec],
    schema: Schema,
    *,
    locate: Locate | None = None,
    sources: Sources | None = None,
) -> TagPlan:
    """Check tag definitions and order them in dependency layers.

    Deprecated tags are left out (they are no longer computed).

    Args:
        tags: the definitions.
        schema: the profile's attributes and features.
        locate: where a tag or one of its fields is defined, for error locations.
        sources: the declared sources a SQL tag may read (``src.<source>``): their names, or
            a mapping from name to columns to check columns as well.

    Raises:
        SpecError: the first problem; the message counts the others.
    """
    planner = _Planner(tags, schema, locate=locate, sources=sources or {})
    plan = planner.plan()
    if planner.errors:
        first, more = planner.errors[0], len(planner.errors) - 1
        if more:
            raise type(first)(
                f"{first.message} (and {more} more)", hint=first.hint, location=first.location
            ) from first
        raise first
    return plan


def check_tags(
    tags: Sequence[TagSpec],
    schema: Schema,
    *,
    locate: Locate | None = None,
    sources: Sources | None = None,
) -> list[TagwiseError]:
    """Every problem of the tag definitions (see :func:`plan_tags`), each a located SpecError."""
    planner = _Planner(tags, schema, locate=locate, sources=sources or {})
    planner.plan()
    return list(planner.errors)


class _Planner:
    """Checks every tag once, collecting errors, then layers the tags that can be layered."""

    def __init__(
        self,
        tags: Sequence[TagSpec],
        schema: Schema,
        *,
        locate: Locate | None,
        sources: Sources,
    ) -> None:
        self.specs = [t for t in tags if t.status is not Status.DEPRECATED]
        self.profile = schema
        self.locate = locate or (lambda _code, _field: None)
        self.sources = _source_columns(sources)
        self.errors: list[SpecError] = []
        self.schema = self._schema()
        self.codes = frozenset(c.name for c in self.schema.tags if c.name not in schema)

    def plan(self) -> TagPlan:
        unique = {spec.code: spec for spec in reversed(self.specs)}  # the first of a code
        checked = {
            spec.code: self._check(spec) for spec in self.specs if unique.get(spec.code) is spec
        }
        checked = {code: checked[code] for code in checked if code in self.codes}
        layers = self._layers({code: deps for code, (_, deps) in checked.items()})
        planned: dict[str, PlannedTag] = {}
        for number, codes in enumerate(layers):
            for code in codes:
                tag, deps = checked[code]
                planned[code] = dataclasses.replace(tag, layer=number, depends_on=deps)
        return TagPlan(self.schema, planned, layers)

    def fail(self, code: str, where: str | None, message: str, hint: str | None = None) -> None:
        prefix = f"tag `{code}`" + (f" `{where}`" if where else "")
        self.errors.append(
            SpecError(f"{prefix}: {message}", hint=hint, location=self.locate(code, where))
        )

    # -- schema ------------------------------------------------------------------------

    def _schema(self) -> Schema:
        columns = list(self.profile)
        seen: set[str] = set()
        for spec in self.specs:
            if spec.code in self.profile:
                role = self.profile[spec.code].role
                self.fail(spec.code, "code", f"the code is also the name of an {role}")
            elif spec.code in seen:
                self.fail(spec.code, "code", "two tags have this code")
            else:
                seen.add(spec.code)
                kind = spec.kind.value
                columns.append(Column(spec.code, _TAG_TYPES[spec.kind], "tag", kind))  # type: ignore[arg-type]
        return Schema(columns)

    # -- one tag -----------------------------------------------------------------------

    def _check(self, spec: TagSpec) -> tuple[PlannedTag, frozenset[str]]:
        deps: set[str] = set()
        tag = PlannedTag(spec, self.schema[spec.code], 0, frozenset())
        if spec.sql is not None:
            tag = dataclasses.replace(tag, sql=self._sql(spec, spec.sql))
        elif spec.score is not None:
            typed = self._expression(spec, "score", spec.score, deps, want=Type.NUMBER)
            fn = to_python(typed) if typed is not None else None
            tag = dataclasses.replace(tag, score=typed, score_fn=fn)
        else:
            tag = dataclasses.replace(tag, branches=self._branches(spec, deps))
        self._values(spec)
        return tag, frozenset(deps)

    def _branches(self, spec: TagSpec, deps: set[str]) -> tuple[PlannedBranch, ...]:
        if isinstance(spec.rule, str):
            return self._branch(spec, 0, "rule", spec.rule, value="true", deps=deps)
        out: list[PlannedBranch] = []
        for i, branch in enumerate(spec.rule or ()):
            if branch.is_else:
                out.append(PlannedBranch(i, branch.result, None))
            else:
                text = branch.when or ""
                out.extend(
                    self._branch(spec, i, f"rule.{i}.when", text, value=branch.result, deps=deps)
                )
        return tuple(out)

    def _branch(
        self, spec: TagSpec, index: int, where: str, text: str, *, value: str, deps: set[str]
    ) -> tuple[PlannedBranch, ...]:
        typed = self._expression(spec, where, text, deps, want=Type.BOOLEAN)
        if typed is None:
            return ()
        return (PlannedBranch(index, value, typed, to_python(typed)),)

    def _expression(
        self, spec: TagSpec, where: str, text: str, deps: set[str], *, want: Type
    ) -> TypedExpr | None:
        try:
            tree = parse(text)
        except ExpressionError as exc:
            self._expression_error(spec.code, where, exc)
            return None
        deps.update(_tag_names(tree, self.codes))
        try:
            typed = check(tree, self.schema, source=text)
        except ExpressionError as exc:
            self._expression_error(spec.code, where, exc)
            return None
        if typed.type not in (want, Type.NULL):
            what = "a condition must be true/false" if want == Type.BOOLEAN else "must be a number"
            self.fail(spec.code, where, f"{what}, got {typed.type} `{text}`")
            return None
        return typed

    def _expression_error(self, code: str, where: str, exc: ExpressionError) -> None:
        position = f"(line {exc.span.line}, col {exc.span.col})"
        self.fail(code, where, f"{exc.message} {position}", exc.hint)
        self.errors[-1].__cause__ = exc

    def _values(self, spec: TagSpec) -> None:
        if not spec.values:
            return
        assigned: list[tuple[str, str]] = []
        if isinstance(spec.rule, tuple):
            assigned = [
                (f"rule.{i}.{'else' if b.is_else else 'value'}", b.result)
                for i, b in enumerate(spec.rule)
            ]
        assigned += [(f"bands.{i}.value", b.value) for i, b in enumerate(spec.bands)]
        for where, value in assigned:
            if value not in spec.values:
                self.fail(
                    spec.code,
                    where,
                    f"value `{value}` is not in `values`",
                    _suggest(value, spec.values),
                )

    def _sql(self, spec: TagSpec, text: str) -> SqlTag | None:
        try:
            return parse_sql_tag(text, sources=self.sources, profile=self.profile)
        except SpecError as exc:
            self.fail(spec.code, "sql", exc.message, exc.hint)
            return None

    # -- layers ------------------------------------------------------------------------

    def _layers(self, deps: Mapping[str, frozenset[str]]) -> tuple[tuple[str, ...], ...]:
        depth: dict[str, int] = {}
        cyclic: set[str] = set()
        for cycle in _cycles(deps):
            cyclic.update(cycle[:-1])
            self.fail(cycle[0], None, "tags form a cycle: " + " → ".join(cycle))
        for code in deps:
            _depth(code, deps, depth, cyclic)
        by_layer: dict[int, list[str]] = {}
        for code in deps:  # definition order within a layer
            if depth.get(code, -1) >= 0:
                by_layer.setdefault(depth[code], []).append(code)
        return tuple(tuple(by_layer[n]) for n in sorted(by_layer))


_TAG_TYPES: Mapping[TagKind, Type] = {
    TagKind.ENUM: Type.STRING,
    TagKind.FLAG: Type.BOOLEAN,
    TagKind.MULTI: Type.LIST,
    TagKind.SCORE: Type.NUMBER,
}


def _depth(
    code: str, deps: Mapping[str, frozenset[str]], depth: dict[str, int], cyclic: set[str]
) -> int:
    """Layer of a tag: 0 without tag inputs, else one more than its deepest input; -1 when
    it is on or behind a cycle."""
    if code in depth:
        return depth[code]
    if code in cyclic:
        depth[code] = -1
        return -1
    depth[code] = -1  # guards against cycles not reported (cannot happen: all are found)
    inputs = [_depth(d, deps, depth, cyclic) for d in deps.get(code, ()) if d in deps]
    depth[code] = -1 if any(i < 0 for i in inputs) else 1 + max(inputs, default=-1)
    return depth[code]


def _cycles(deps: Mapping[str, frozenset[str]]) -> list[list[str]]:
    """Each elementary cycle found by a depth-first search, as ``[a, b, a]``, once."""
    found: dict[tuple[str, ...], list[str]] = {}
    state: dict[str, int] = {}  # 1 on the stack, 2 done
    stack: list[str] = []

    def visit(code: str) -> None:
        state[code] = 1
        stack.append(code)
        for dep in sorted(deps.get(code, ())):
            if dep not in deps:
                continue
            if state.get(dep) == 1:
                cycle = stack[stack.index(dep) :]
                start = cycle.index(min(cycle))
                key = tuple(cycle[start:] + cycle[:start])
                found.setdefault(key, [*key, key[0]])
            elif dep not in state:
                visit(dep)
        stack.pop()
        state[code] = 2

    for code in deps:
        if code not in state:
            visit(code)
    return list(found.values())


def dependencies(spec: TagSpec, codes: Collection[str]) -> set[str]:
    """The codes (among ``codes``) of the tags that ``spec``'s expressions read.

    Expressions that do not parse are skipped (:func:`check_tags` reports them).
    """
    texts = [spec.score] if spec.score is not None else []
    if isinstance(spec.rule, str):
        texts.append(spec.rule)
    elif spec.rule is not None:
        texts += [b.when for b in spec.rule if b.when is not None]
    found: set[str] = set()
    for text in texts:
        try:
            found |= _tag_names(parse(text), codes)
        except ExpressionError:
            continue
    return found


def _walk(node: Expr) -> Iterator[Expr]:
    yield node
    for f in dataclasses.fields(node):
        value = getattr(node, f.name)
        children = value if isinstance(value, tuple) else (value,)
        for child in children:
            if isinstance(child, Expr):
                yield from _walk(child)


def _tag_names(tree: Expr, codes: Collection[str]) -> set[str]:
    """Tag codes an expression reads: as names or as ``has_tag('code', …)``."""
    found: set[str] = set()
    for node in _walk(tree):
        if isinstance(node, Name) and node.name in codes:
            found.add(node.name)
        elif isinstance(node, Call) and node.name == "has_tag" and node.args:
            first = node.args[0]
            if isinstance(first, Literal) and first.value in codes:
                found.add(str(first.value))
    return found


def _suggest(name: str, known: Collection[str]) -> str | None:
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return f"did you mean `{close[0]}`?" if close else None


# -- SQL tags ----------------------------------------------------------------------------

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
        statements = [s for s in sqlglot.parse(text, read=_DIALECT) if s is not None]
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
    columns = _source_columns(sources)
    _check_tables(query, columns)
    key = _output_key(query)
    if profile is not None and columns and all(columns.values()):
        _check_columns(query, columns, profile)
    return SqlTag(query, key)


def _source_columns(sources: Sources) -> Mapping[str, Collection[str]]:
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
                f"table functions are not allowed: `{table.this.sql(_DIALECT)}`",
                hint="a SQL tag reads `src.<source>` tables and `profile` only",
            )
        name, db = table.name, table.db
        ok = (
            (not db and (name == _PROFILE or name in ctes)) or (db == "src" and name in sources)
        ) and not table.catalog
        if not ok:
            shown = ".".join(p for p in (table.catalog, db, name) if p)
            raise SpecError(f"unknown table `{shown}`", hint=_suggest(shown, known))


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
    copy = _rename_profile(query.copy(), exp.table_("profile", db="_run"))
    try:
        qualify(copy, schema=tables, dialect=_DIALECT, validate_qualify_columns=True)
    except OptimizeError as exc:
        raise SpecError(f"unknown column: {str(exc).splitlines()[0]}") from exc


def _rename_profile(query: exp.Query, table: exp.Table) -> exp.Query:
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


# -- evaluation --------------------------------------------------------------------------

_LONG_COLUMNS = (("cid", "INTEGER"), ("tag", "VARCHAR"), ("value", "VARCHAR"), ("score", "DOUBLE"))


def evaluate_tags(wh: Warehouse, plan: TagPlan, *, profile: str, as_of: date, target: str) -> None:
    """Compute every tag of ``plan`` into the new long table ``target``.

    ``target`` gets one row per customer and value: ``(cid, tag, value, score)``; a flag's
    value is ``'true'``, a score tag has its number in ``score`` and its band (or null) in
    ``value``; a tag without a value has no row.

    Args:
        wh: the warehouse.
        plan: the checked tags (:func:`plan_tags`).
        profile: the profile table, as SQL (``"snap"."profile_3"``).
        as_of: the run's date.
        target: the table to create, as SQL (``"stage"."tag_values_3"``).

    Raises:
        EngineError: the warehouse failed (a SQL tag's query, a full disk …).
    """
    prefix = f"_tagwise_layer_{uuid.uuid4().hex[:12]}_"
    layer_tables = [exp.to_identifier(f"{prefix}{i}", quoted=True) for i in range(len(plan.layers))]
    builder = _LayerSql(plan, profile=exp.to_table(profile, dialect=_DIALECT), as_of=as_of)
    target_table = exp.to_table(target, dialect=_DIALECT)
    try:
        for number, table in enumerate(layer_tables):
            select = builder.layer(number, layer_tables)
            create = exp.Create(this=exp.Table(this=table), kind="TABLE", expression=select)
            create.set("properties", exp.Properties(expressions=[exp.TemporaryProperty()]))
            wh.execute(create.sql(_DIALECT))
        wh.execute(_create_long(target_table).sql(_DIALECT))
        long_form = builder.long_form(layer_tables)
        if long_form is not None:
            insert = exp.Insert(this=target_table, expression=long_form)
            wh.execute(insert.sql(_DIALECT))
    except EngineError:
        # the failed statement may have aborted the caller's transaction, in which case the
        # scratch tables vanish with its rollback: keep the first error, not the drop's
        with contextlib.suppress(EngineError):
            _drop(wh, layer_tables)
        raise
    _drop(wh, layer_tables)


def _drop(wh: Warehouse, tables: Sequence[exp.Identifier]) -> None:
    for table in tables:
        drop = exp.Drop(tables=[exp.Table(this=table)], kind="TABLE", exists=True)
        wh.execute(drop.sql(_DIALECT))


def _create_long(table: exp.Table) -> exp.Create:
    columns = [
        exp.ColumnDef(this=exp.to_identifier(name, quoted=True), kind=exp.DataType.build(kind))
        for name, kind in _LONG_COLUMNS
    ]
    return exp.Create(this=exp.Schema(this=table, expressions=columns), kind="TABLE")


class _LayerSql:
    """Builds the sqlglot trees of a plan's layers and of the long form."""

    def __init__(self, plan: TagPlan, *, profile: exp.Table, as_of: date) -> None:
        self.plan = plan
        self.profile = profile
        self.as_of = as_of

    def ref(self, column: Column) -> exp.Expression:
        """A column of the joined layer: profile columns from ``p``, tags from their layer."""
        if column.role == "tag":
            layer = self.plan.tags[column.name].layer
            return exp.column(column.name, table=f"l{layer}", quoted=True)
        return exp.column(column.name, table="p", quoted=True)

    def layer(self, number: int, tables: Sequence[exp.Identifier]) -> exp.Select:
        """``SELECT p.cid, <one column per tag> FROM profile p LEFT JOIN <inputs>``."""
        codes = self.plan.layers[number]
        tags = [self.plan.tags[c] for c in codes]
        cid = exp.column("cid", table="p", quoted=True)
        select = exp.select(cid.as_("cid", quoted=True)).from_(
            self.profile.copy().as_("p", quoted=True)
        )
        inputs = sorted({self.plan.tags[d].layer for t in tags for d in t.depends_on})
        for layer in inputs:
            select = select.join(
                exp.Table(this=tables[layer]).as_(f"l{layer}", quoted=True),
                on=exp.EQ(this=exp.column("cid", table=f"l{layer}", quoted=True), expression=cid),
                join_type="LEFT",
            )
        for tag in tags:
            if tag.sql is not None:
                alias = f"s_{tag.code}"
                select = select.join(
                    self.sql_tag(tag).subquery(alias, copy=False),
                    on=exp.EQ(this=exp.column("cid", table=alias, quoted=True), expression=cid),
                    join_type="LEFT",
                )
        columns = [self.tag_column(tag).as_(tag.code, quoted=True) for tag in tags]
        return select.select(*columns, copy=False)

    def condition(self, typed: TypedExpr) -> exp.Expression:
        return exp.Paren(this=to_sql(typed, as_of=self.as_of, column=self.ref))

    def tag_column(self, tag: PlannedTag) -> exp.Expression:
        kind = tag.spec.kind
        if tag.sql is not None:
            raw: exp.Expression = exp.column("value", table=f"s_{tag.code}", quoted=True)
            if kind is not TagKind.SCORE:
                return raw
        elif kind is TagKind.SCORE:
            assert tag.score is not None  # noqa: S101 (a planned score tag has its expression)
            raw = to_sql(tag.score, as_of=self.as_of, column=self.ref)
        else:
            return _RULES[kind](self, tag)
        return self.score(tag, exp.cast(raw, exp.DataType.Type.DOUBLE))

    def enum(self, tag: PlannedTag) -> exp.Expression:
        case = exp.Case()
        for branch in tag.branches:
            if branch.when is None:
                return case.else_(exp.Literal.string(branch.value))
            case = case.when(self.condition(branch.when), exp.Literal.string(branch.value))
        return case if case.args.get("ifs") else exp.cast(exp.null(), "VARCHAR")

    def flag(self, tag: PlannedTag) -> exp.Expression:
        (branch,) = tag.branches
        assert branch.when is not None  # noqa: S101 (a flag is one condition)
        return exp.Case().when(self.condition(branch.when), exp.true())

    def multi(self, tag: PlannedTag) -> exp.Expression:
        """The list of values whose condition is true (null when none): one item per value,
        ``CASE WHEN c1 OR c2 THEN 'v' END``, nulls filtered out."""
        by_value: dict[str, list[exp.Expression]] = {}
        for branch in tag.branches:
            assert branch.when is not None  # noqa: S101 (multi tags have no else)
            by_value.setdefault(branch.value, []).append(self.condition(branch.when))
        items = [
            exp.Case().when(exp.or_(*conds), exp.Literal.string(value))
            for value, conds in by_value.items()
        ]
        var = exp.to_identifier("_v")
        kept = exp.Lambda(
            this=exp.Not(this=exp.Paren(this=exp.Is(this=var.copy(), expression=exp.null()))),
            expressions=[var],
        )
        empty = exp.cast(exp.Array(expressions=[]), "VARCHAR[]")
        listed = exp.ArrayFilter(this=exp.Array(expressions=items), expression=kept)
        return exp.Nullif(this=exp.cast(listed, "VARCHAR[]"), expression=empty)

    def score(self, tag: PlannedTag, raw: exp.Expression) -> exp.Expression:
        """The raw number, or its 1..N quantile among customers with a number: ``ntile`` over
        the non-null scores, ties broken by cid."""
        n = tag.spec.quantiles
        if n is None:
            return raw
        is_null = exp.Is(this=exp.Paren(this=raw.copy()), expression=exp.null())
        order = exp.Order(
            expressions=[
                exp.Ordered(this=raw.copy(), desc=tag.spec.descending),
                exp.Ordered(this=exp.column("cid", table="p", quoted=True)),
            ]
        )
        window = exp.Window(
            this=exp.Ntile(this=exp.Literal.number(n)), partition_by=[is_null], order=order
        )
        quantile = exp.cast(window, exp.DataType.Type.DOUBLE)
        return exp.Case().when(is_null.copy(), exp.null()).else_(quantile)

    def sql_tag(self, tag: PlannedTag) -> exp.Select:
        """``SELECT cid, agg(value) AS value FROM (<the tag's query>) q GROUP BY cid``, with
        ``profile`` pointing at the run's profile and customer_id mapped to cid."""
        assert tag.sql is not None  # noqa: S101 (only called for SQL tags)
        query = _rename_profile(tag.sql.query.copy(), self.profile)
        value = exp.column("value", table="q", quoted=True)
        select = exp.select().from_(query.subquery("q", copy=False))
        if tag.sql.key == "customer_id":
            key = exp.column("cid", table="k", quoted=True)
            on = exp.EQ(
                this=exp.column("customer_id", table="k", quoted=True),
                expression=exp.cast(exp.column("customer_id", table="q", quoted=True), "VARCHAR"),
            )
            select = select.join(exp.table_("customer_keys", db="meta").as_("k"), on=on)
        else:
            key = exp.column("cid", table="q", quoted=True)
        aggregate = _SQL_AGGREGATES[tag.spec.kind](value)
        return (
            select.select(key.as_("cid", quoted=True), aggregate.as_("value", quoted=True))
            .where(exp.Not(this=exp.Paren(this=exp.Is(this=value.copy(), expression=exp.null()))))
            .group_by(key.copy())
        )

    def long_form(self, tables: Sequence[exp.Identifier]) -> exp.Query | None:
        """One ``SELECT cid, 'code', value, score FROM layer`` per tag, ``UNION ALL``."""
        parts = [
            self.long_part(self.plan.tags[code], tables[number])
            for number, codes in enumerate(self.plan.layers)
            for code in codes
        ]
        if not parts:
            return None
        query: exp.Query = parts[0]
        for part in parts[1:]:
            query = exp.union(query, part, distinct=False)
        return query

    def long_part(self, tag: PlannedTag, table: exp.Identifier) -> exp.Select:
        column = exp.column(tag.code, quoted=True)
        score: exp.Expression = exp.null()
        where: exp.Expression = exp.Not(
            this=exp.Paren(this=exp.Is(this=column, expression=exp.null()))
        )
        kind = tag.spec.kind
        if kind is TagKind.ENUM:
            value: exp.Expression = column.copy()
        elif kind is TagKind.FLAG:
            value, where = exp.Literal.string("true"), column.copy()
        elif kind is TagKind.MULTI:
            value = exp.Unnest(expressions=[column.copy()])
        else:
            value, score = _bands(tag, column.copy()), column.copy()
        return (
            exp.select(
                exp.column("cid", quoted=True),
                exp.Literal.string(tag.code).as_("tag", quoted=True),
                exp.cast(value, "VARCHAR").as_("value", quoted=True),
                exp.cast(score, exp.DataType.Type.DOUBLE).as_("score", quoted=True),
            )
            .from_(exp.Table(this=table))
            .where(where)
        )


def _bands(tag: PlannedTag, score: exp.Expression) -> exp.Expression:
    """``CASE WHEN score >= min1 THEN v1 … END``: the first band from the top."""
    if not tag.spec.bands:
        return exp.null()
    case = exp.Case()
    for band in tag.spec.bands:
        if band.min is None:
            return case.else_(exp.Literal.string(band.value))
        low = exp.cast(exp.Literal.number(repr(float(band.min))), exp.DataType.Type.DOUBLE)
        case = case.when(exp.GTE(this=score.copy(), expression=low), exp.Literal.string(band.value))
    return case


_RULES: Mapping[TagKind, Callable[[_LayerSql, PlannedTag], exp.Expression]] = {
    TagKind.ENUM: _LayerSql.enum,
    TagKind.FLAG: _LayerSql.flag,
    TagKind.MULTI: _LayerSql.multi,
}

_SQL_AGGREGATES: Mapping[TagKind, Callable[[exp.Expression], exp.Expression]] = {
    # several rows for one customer: the smallest value (deterministic), all values (multi),
    # any true (flag), the largest number (score)
    TagKind.ENUM: lambda v: exp.Min(this=exp.cast(v, "VARCHAR")),
    TagKind.MULTI: lambda v: exp.Anonymous(
        this="list_sort",
        expressions=[
            exp.Anonymous(
                this="list_distinct",
                expressions=[exp.Anonymous(this="list", expressions=[exp.cast(v, "VARCHAR")])],
            )
        ],
    ),
    TagKind.FLAG: lambda v: exp.Case().when(
        exp.LogicalOr(this=exp.cast(v, exp.DataType.Type.BOOLEAN)), exp.true()
    ),
    TagKind.SCORE: lambda v: exp.Max(this=exp.cast(v, exp.DataType.Type.DOUBLE)),
}


# -- one customer (Python) -------------------------------------------------------------


def tag_values(plan: TagPlan, row: Row, *, as_of: date) -> dict[str, Any]:
    """The values of the plan's rule and score tags for one profile row, layer by layer.

    Each value is what the tag reads as in expressions (enum → str, flag → ``True`` or
    None, multi → a non-empty list or None, score → float or None). Quantile and SQL tags
    depend on all customers: their values are taken from ``row`` when present.
    """
    values = dict(row)
    for tag in plan.tags.values():
        if not tag.is_set_based:
            values[tag.code] = _evaluate(tag, values, as_of)[0]
    return {code: values.get(code) for code in plan.tags}


def _evaluate(tag: PlannedTag, row: Row, as_of: date) -> tuple[Any, list[PlannedBranch]]:
    """A tag's value on one row and the branches that matched."""
    if tag.score_fn is not None:
        raw = tag.score_fn(row, as_of)
        return (None if raw is None else float(raw)), []
    matched: list[PlannedBranch] = []
    for branch in tag.branches:
        if branch.test is None or branch.test(row, as_of) is True:
            matched.append(branch)
            if tag.spec.kind is not TagKind.MULTI:
                break
    kind = tag.spec.kind
    if kind is TagKind.MULTI:
        values = list(dict.fromkeys(b.value for b in matched))
        return (values or None), matched
    if kind is TagKind.FLAG:
        return (True if matched else None), matched
    return (matched[0].value if matched else None), matched


@dataclass(frozen=True, slots=True)
class Explanation:
    """Why one customer has (or lacks) a tag's value."""

    code: str
    value: str | None
    """The value stored: enum value, ``'true'`` for a flag, the band of a score tag."""
    values: tuple[str, ...] = ()
    """Every value of a multi tag (and the one value of other kinds)."""
    score: float | None = None
    branch: int | None = None
    """Index (0-based, in ``rule``) of the first matching branch; None when none matched."""
    branches: tuple[int, ...] = ()
    """Every matching branch (several for multi tags)."""
    condition: str | None = None
    """The text of the first matching condition (``else`` for the else branch)."""
    inputs: Mapping[str, Any] = field(default_factory=dict)
    """The value of every name the matching condition (or the score expression) read."""
    over_all_customers: bool = False
    """The value depends on all customers (quantiles, SQL) and is not re-computed here."""
    text: str = ""
    """One line for people: ``spend_365d = 123,456 >= 100,000 → 高消费``."""


def explain(tag: TagSpec, plan: TagPlan, row: Row, *, as_of: date) -> Explanation:
    """Re-evaluate one tag on one profile row (with that row's values of earlier tags).

    Raises:
        NotFound: the tag is not in the plan.
    """
    planned = plan.tags.get(tag.code)
    if planned is None:
        raise NotFound(f"tag `{tag.code}` is not in the plan")
    if planned.sql is not None:
        return Explanation(
            tag.code,
            None,
            over_all_customers=True,
            text=f"{tag.code} is computed by its SQL query over all customers",
        )
    if planned.spec.kind is TagKind.SCORE:
        return _explain_score(planned, row, as_of)
    return _explain_rule(planned, row, as_of)


def _explain_rule(tag: PlannedTag, row: Row, as_of: date) -> Explanation:
    value, matched = _evaluate(tag, row, as_of)
    readers = [b for b in matched if b.when is not None] or [
        b for b in tag.branches if b.when is not None
    ]
    inputs: dict[str, Any] = {}
    for branch in readers:
        assert branch.when is not None  # noqa: S101 (filtered above)
        inputs.update(_inputs(branch.when.expr, row))
    values: tuple[str, ...] = tuple(value) if isinstance(value, list) else ()
    shown = "true" if value is True else (value if isinstance(value, str) else None)
    if shown is not None:
        values = (shown,)
    first = matched[0] if matched else None
    result = ", ".join(values) if values else "no value"
    return Explanation(
        tag.code,
        shown,
        values=values,
        branch=first.index if first else None,
        branches=tuple(b.index for b in matched),
        condition=first.text if first else None,
        inputs=inputs,
        text=_because(first if len(matched) <= 1 else None, inputs, result, matched=bool(matched)),
    )


def _explain_score(tag: PlannedTag, row: Row, as_of: date) -> Explanation:
    assert tag.score is not None  # noqa: S101 (score tags have their expression)
    inputs = _inputs(tag.score.expr, row)
    listed = ", ".join(f"{k} = {_fmt(v)}" for k, v in inputs.items())
    if tag.spec.quantiles is not None:
        order = "descending " if tag.spec.descending else ""
        text = (
            f"{tag.code} is the {order}{tag.spec.quantiles}-quantile of "
            f"`{tag.score.source}` over all customers"
        )
        return Explanation(
            tag.code,
            None,
            inputs=inputs,
            over_all_customers=True,
            text=text + (f"; {listed}" if listed else ""),
        )
    score, _ = _evaluate(tag, row, as_of)
    band = _band(tag, score)
    text = f"{listed}: " if listed else ""
    text += f"{tag.score.source} = {_fmt(score)}"
    if band is not None:
        text += f" → {band}"
    return Explanation(
        tag.code,
        band,
        values=(band,) if band is not None else (),
        score=score,
        inputs=inputs,
        condition=tag.score.source,
        text=text,
    )


def _band(tag: PlannedTag, score: float | None) -> str | None:
    if score is None:
        return None
    for band in tag.spec.bands:
        if band.min is None or score >= band.min:
            return band.value
    return None


def _inputs(tree: Expr, row: Row) -> dict[str, Any]:
    """Every name an expression reads (``has_tag`` codes included), first reading first."""
    found: dict[str, Any] = {}
    for node in _walk(tree):
        if isinstance(node, Name):
            found.setdefault(node.name, row.get(node.name))
        elif isinstance(node, Call) and node.name == "has_tag" and node.args:
            first = node.args[0]
            if isinstance(first, Literal) and isinstance(first.value, str):
                found.setdefault(first.value, row.get(first.value))
    return found


def _because(
    branch: PlannedBranch | None, inputs: Mapping[str, Any], result: str, *, matched: bool
) -> str:
    """``spend_365d = 123,456 >= 100,000 → 高消费`` for one comparison with a constant;
    ``a = 1, b = 2 → v`` otherwise (also for several matching branches)."""
    tree = branch.when.expr if branch is not None and branch.when is not None else None
    if (
        isinstance(tree, CompareNode)
        and isinstance(tree.left, Name)
        and isinstance(tree.right, Literal)
    ):
        op = "≠" if tree.op == CompareOp.NE else str(tree.op)
        name = tree.left.name
        return f"{name} = {_fmt(inputs.get(name))} {op} {_fmt(tree.right.value)} → {result}"
    listed = ", ".join(f"{k} = {_fmt(v)}" for k, v in inputs.items())
    if branch is None and matched:
        return f"{listed} → {result}"
    if branch is None:
        return f"{listed}: no condition matched → {result}" if listed else f"→ {result}"
    if branch.when is None:
        return f"{listed}: no condition matched, else → {result}" if listed else f"else → {result}"
    return f"{listed} → {result}" if listed else f"{branch.text} → {result}"


def _fmt(value: Any) -> str:
    """A value for people: numbers with thousands separators, strings quoted."""
    for kind, render in _FORMATS:
        if isinstance(value, kind):
            return render(value)
    return str(value)


def _fmt_number(value: float) -> str:
    number = float(value)
    if number.is_integer():
        return f"{number:,.0f}"
    return f"{number:,.2f}".rstrip("0").rstrip(".")


_FORMATS: tuple[tuple[type | tuple[type, ...], Callable[[Any], str]], ...] = (
    (type(None), lambda _: "null"),
    (bool, lambda v: "true" if v else "false"),
    (int, lambda v: f"{v:,}"),
    ((float, Decimal), _fmt_number),
    (str, lambda v: f"'{v}'"),
    ((date, datetime), lambda v: v.isoformat()),
    ((list, tuple), lambda v: "[" + ", ".join(_fmt(x) for x in v) + "]"),
)
"""How :func:`_fmt` renders each Python type, first match (bool before int)."""
