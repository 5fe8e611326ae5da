"""Rule tags: from tag definitions to tag values (docs/tags.md, "Tags" and "Runs").

Three steps, one public function each:

* :func:`plan_tags` checks every expression against the profile's schema extended with the
  tags themselves, resolves tag-to-tag references and orders the tags in dependency
  **layers** (a cycle is an error naming it). :func:`check_tags` returns every problem
  instead of raising the first.
* :func:`tagwise.engine.evaluate.evaluate_tags` (in the engine layer: it executes)
  computes a plan set-based in the warehouse, one ``SELECT`` per layer.
* :func:`explain` re-evaluates one tag on one profile row with the Python back-end and
  says which branch matched and what the condition read.

In SQL and Python alike a tag reads as its kind's value: enum → string, flag → ``true`` or
null, multi → a non-empty list or null, score → the number (the quantile for quantile tags).

SQL tags (``sql:``) are parsed with sqlglot and accepted only as one read-only query over
``src.<source>`` tables and ``profile`` (:func:`parse_sql_tag`).

The pieces live by topic: the plan's data in :mod:`~tagwise.compile.plan`, SQL tags in
:mod:`~tagwise.compile.sqltags`, the SQL of layers in :mod:`~tagwise.compile.layers` and the
Python evaluation in :mod:`~tagwise.compile.explain`; this module plans and runs, and
re-exports every public name.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Collection, Mapping, Sequence

from tagwise.compile.explain import Explanation, explain, tag_values
from tagwise.compile.plan import PlannedBranch, PlannedTag, TagPlan, walk
from tagwise.compile.sqltags import (
    Sources,
    SqlTag,
    parse_sql_tag,
    source_columns,
)
from tagwise.errors import (
    ExpressionError,
    Location,
    SpecError,
    TagwiseError,
    did_you_mean,
)
from tagwise.lang import Column, Schema, Type, TypedExpr, check, parse, to_python
from tagwise.lang.ast import Call, Expr, Literal, Name
from tagwise.spec.tags import Status, TagKind, TagSpec

__all__ = [
    "Explanation",
    "Locate",
    "PlannedBranch",
    "PlannedTag",
    "Sources",
    "SqlTag",
    "TagPlan",
    "check_tags",
    "checked_plan",
    "dependencies",
    "explain",
    "parse_sql_tag",
    "plan_tags",
    "tag_values",
]

Locate = Callable[[str, str | None], Location | None]
"""Where a tag (``code``) or one of its fields (``"rule.0.when"``, ``"score"``) is defined."""


# -- the plan --------------------------------------------------------------------------


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
    return checked_plan(tags, schema, locate=locate, sources=sources)[1]


def checked_plan(
    tags: Sequence[TagSpec],
    schema: Schema,
    *,
    locate: Locate | None = None,
    sources: Sources | None = None,
) -> tuple[TagPlan, list[TagwiseError]]:
    """The plan of the tags that check (see :func:`plan_tags`) and every problem found.

    With no problems, the plan is the one :func:`plan_tags` returns.
    """
    planner = _Planner(tags, schema, locate=locate, sources=sources or {})
    plan = planner.plan()
    return plan, list(planner.errors)


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
        self.sources = source_columns(sources)
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
                    did_you_mean(value, spec.values),
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


def _tag_names(tree: Expr, codes: Collection[str]) -> set[str]:
    """Tag codes an expression reads: as names or as ``has_tag('code', …)``."""
    found: set[str] = set()
    for node in walk(tree):
        if isinstance(node, Name) and node.name in codes:
            found.add(node.name)
        elif isinstance(node, Call) and node.name == "has_tag" and node.args:
            first = node.args[0]
            if isinstance(first, Literal) and first.value in codes:
                found.add(str(first.value))
    return found
