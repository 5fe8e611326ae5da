"""Segment evaluation as a workspace operation: parse, check, evaluate, count, sample,
break down (the logic behind ``Workspace.segment_*``; the workspace only wires it).

The pipeline of one expression:

1. :func:`segment_ast` parses it (a later step expands saved segments here).
2. :meth:`Segments.check` resolves names against the attributes, features and tags, and
   refuses draft and deprecated tags; a string compared with an enum tag that the tag
   never declares is an unknown value ("did you mean"), and a declared value that no
   customer holds now is a warning.
3. :class:`~tagwise.index.evaluate.Evaluation` turns it into a bitmap against the index
   (current values, caught up from the change feed on first use) or, with ``as_of``, an
   index of the values held on that date built from history.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, fields
from datetime import date
from pathlib import Path

import pyarrow as pa
from pyroaring import BitMap

from tagwise.errors import ExpressionError, NotFound, Span, SpecError, UnknownName, did_you_mean
from tagwise.identity.store import customer_keys_of, customer_universe
from tagwise.index.bitmap import NumberColumn, SegmentIndex, ValueColumn, cid_array
from tagwise.index.evaluate import Evaluation
from tagwise.index.follow import Opened, Sources, catch_up, index_of_table, open_index
from tagwise.index.profile import Profile, profile_relation
from tagwise.index.storage import save
from tagwise.lang import Column, Schema, TypedExpr, check_condition, parse
from tagwise.lang.ast import Call, Compare, Expr, In, Literal, Name
from tagwise.lang.types import TAG_TYPES
from tagwise.results import CustomerTags, IndexedTagValue, SegmentBreakdownRow, SegmentCount
from tagwise.settings import Settings
from tagwise.spec.tags import Status, TagSpec
from tagwise.specs import Specs
from tagwise.store.tags import TagStore
from tagwise.store.warehouse import Warehouse

__all__ = ["Checked", "Segments", "segment_ast"]

_BREAKDOWN_LIMIT = 50
"""Distinct numbers a score tag may have to be a breakdown (one row per number)."""


def segment_ast(expr: str) -> Expr:
    """The syntax tree of a segment expression.

    Raises:
        ExpressionError: the text does not parse (position and hint).
    """
    return parse(expr)


@dataclass(frozen=True, slots=True)
class Checked:
    """A checked segment expression and what the checks noticed."""

    typed: TypedExpr
    warnings: list[str] = field(default_factory=list)


class Segments:
    """Segment evaluation over one workspace's stores."""

    def __init__(
        self,
        *,
        root: Path,
        settings: Settings,
        store: TagStore,
        wh: Warehouse,
        specs: Callable[[], Specs],
    ) -> None:
        self.root = root
        self.settings = settings
        self.store = store
        self.wh = wh
        self._load_specs = specs
        self._specs: Specs | None = None
        self._opened: Opened | None = None

    def specs(self) -> Specs:
        """The workspace's specs, read once per operation (:meth:`fresh` forgets them)."""
        if self._specs is None:
            self._specs = self._load_specs()
        return self._specs

    def fresh(self) -> Segments:
        """Forget what the last operation read (specs), so the next one sees edits."""
        self._specs = None
        return self

    # -- the index ---------------------------------------------------------------------

    @property
    def folder(self) -> Path:
        """Where the index file lives."""
        path = Path(self.settings.index.path)
        return path if path.is_absolute() else self.root / path

    def index(self) -> SegmentIndex:
        """The index of the current values, caught up with the stores: opened from its
        file on first use, then followed in memory (and saved when it moved)."""
        sources = self._sources(self.profile())
        if self._opened is None:
            self._opened = open_index(self.folder, sources)
        elif catch_up(self._opened.index, sources):
            save(self._opened.index, self.folder)
            self._opened = Opened(self._opened.index, "caught up")
        else:
            self._opened = Opened(self._opened.index, "loaded")
        return self._opened.index

    @property
    def opened(self) -> Opened | None:
        """How the index was last opened (loaded, caught up or rebuilt)."""
        return self._opened

    def _sources(self, profile: Profile) -> Sources:
        return Sources(self.store, self.wh, profile, tuple(self.settings.index.columns))

    def profile(self, as_of: date | None = None) -> Profile:
        """The profile relation of the latest run (as of ``as_of``) that left a snapshot."""
        specs = self.specs()
        master = specs.sources.customers if specs.sources else None
        schema = self.profile_schema(specs)
        attributes = {c.name: c.type for c in schema if c.role == "attribute"}
        features = {c.name: c.type for c in schema if c.role == "feature"}
        snapshot, run_id = None, None
        for run in self.store.committed_runs():
            if as_of is not None and run.as_of > as_of:
                continue
            path = self.wh.snapshot_path(run.run_id)
            if path.exists():
                snapshot, run_id = path, run.run_id
                break
        return profile_relation(
            master=master.name if master else None,
            attributes=attributes,
            features=features,
            snapshot=snapshot,
            run_id=run_id,
        )

    @staticmethod
    def profile_schema(specs: Specs) -> Schema:
        """The attributes and features of the specs (empty without a customer master)."""
        from tagwise.compile.features import profile_schema, source_schema  # noqa: PLC0415

        if specs.sources is None or specs.sources.customers is None:
            return Schema([])
        if specs.features is None:
            return source_schema(specs.sources.customers)
        try:
            return profile_schema(specs.features, specs.sources)
        except SpecError:
            return source_schema(specs.sources.customers)

    # -- checking ----------------------------------------------------------------------

    def check(
        self, ast: Expr, *, source: str, index: SegmentIndex | None, when: str = "now"
    ) -> Checked:
        """Resolve and type ``ast``; refuse draft/deprecated tags and unknown values.

        Raises:
            UnknownName: an unknown name, tag or value (with "did you mean").
            ExpressionError: a draft or deprecated tag, or a condition that is not one.
        """
        specs = self.specs()
        tags = dict(specs.tags.tags) if specs.tags else {}
        schema = self.profile_schema(specs)
        columns = list(schema)
        for code, spec in tags.items():
            if code not in schema:
                columns.append(Column(code, TAG_TYPES[spec.kind], "tag", spec.kind))
        full = Schema(columns)
        _refuse_unpublished(ast, tags, source)
        typed = check_condition(ast, full, source=source)
        warnings = list(_value_problems(ast, tags, source, index, when))  # raises first
        if index is not None:
            empty = sorted({c for c, _ in _tag_refs(ast) if c in tags and index.get(c) is None})
            warnings += [f"tag `{c}` has no values {when} (has a run computed it?)" for c in empty]
        return Checked(typed, warnings)

    # -- evaluation --------------------------------------------------------------------

    def evaluation(
        self, expr: str, ast: Expr, *, as_of: date | None
    ) -> tuple[Evaluation, int, list[str]]:
        """The evaluation of an expression (not run yet), the feed commit it reflects and
        the checks' warnings."""
        self.check(ast, source=expr, index=None)  # a wrong expression opens no index
        if as_of is None:
            index = self.index()
            profile = self.profile()
            seq = index.stamps.seq
        else:
            index = index_of_table(self.store.as_of_table(as_of), customer_universe(self.wh))
            profile = self.profile(as_of)
            seq = self.store.last_seq()
        when = "now" if as_of is None else f"on {as_of.isoformat()}"
        checked = self.check(ast, source=expr, index=index, when=when)
        evaluation = Evaluation(
            checked.typed,
            index,
            profile=profile,
            wh=self.wh,
            as_of=as_of or date.today(),
            indexed=(lambda _n: as_of is None),
        )
        return evaluation, seq, checked.warnings

    def members(self, expr: str, ast: Expr, *, as_of: date | None = None) -> BitMap:
        """The cids of the customers meeting the expression."""
        evaluation, _, _ = self.evaluation(expr, ast, as_of=as_of)
        return evaluation.members()

    def count(
        self, expr: str, ast: Expr, *, as_of: date | None, by: str | None, sample: int
    ) -> SegmentCount:
        """Count, share, sample and breakdown of the members."""
        evaluation, seq, warnings = self.evaluation(expr, ast, as_of=as_of)
        members = evaluation.members()
        total = len(evaluation.universe)
        breakdown = self.breakdown(members, evaluation.index, by) if by else None
        return SegmentCount(
            expression=expr,
            count=len(members),
            share=round(len(members) / total, 6) if total else 0.0,
            total=total,
            as_of=as_of,
            seq=seq,
            sample=self.customer_ids(_spread(members, sample)).to_pylist(),
            by=by,
            breakdown=breakdown,
            answered=evaluation.answered,
            warnings=warnings,
        )

    def breakdown(self, members: BitMap, index: SegmentIndex, by: str) -> list[SegmentBreakdownRow]:
        """Members per value of a tag (or indexed column), most first; ``None`` value: the
        members without one (multi tags: a member counts once per value it holds).

        Raises:
            NotFound: no such tag.
        """
        specs = self.specs()
        known = sorted({*(specs.tags.tags if specs.tags else {}), *index.columns})
        column = index.get(by)
        if column is None and by not in known:
            raise NotFound(
                f"cannot break down by `{by}`: no such tag",
                hint=did_you_mean(by, known) or "`tagwise tags list` shows the tags",
            )
        size = len(members)
        counts: list[tuple[str | None, int]] = []
        holding = BitMap()
        if isinstance(column, ValueColumn):
            for value, bm in column.bitmaps.items():
                counts.append((value, members.intersection_cardinality(bm)))
            holding = column.present()
        elif isinstance(column, NumberColumn):
            if len(column.keys) > _BREAKDOWN_LIMIT:
                raise NotFound(
                    f"cannot break down by `{by}`: it has {len(column.keys):,} distinct numbers",
                    hint="break down by an enum tag, or a banded score",
                )
            for rank, key in enumerate(column.keys.tolist()):
                counts.append(
                    (f"{key:g}", members.intersection_cardinality(column.rank_between(rank, rank)))
                )
            holding = column.present
        counts.append((None, size - members.intersection_cardinality(holding)))
        rows = [(v, n) for v, n in counts if n]
        rows.sort(key=lambda r: (-r[1], r[0] is None, r[0] or ""))
        return [
            SegmentBreakdownRow(value=v, count=n, share=round(n / size, 6) if size else 0.0)
            for v, n in rows
        ]

    def tag_index(self) -> SegmentIndex:
        """The index with its tag values caught up, without reading the specs or the
        profile (what one customer's tags need; attributes/features are left as they are)."""
        if self._opened is None:
            return self.index()
        index = self._opened.index
        stamps = index.stamps
        sources = Sources(self.store, self.wh, Profile(None, stamps.profile_run), stamps.columns)
        if catch_up(index, sources):
            save(index, self.folder)
        return index

    def customer_tags(self, customer_id: str, cid: int) -> CustomerTags:
        """One customer's current tag values from the index (no scan of the store)."""
        index = self.tag_index()
        tags = [
            IndexedTagValue(tag=tag, values=[], score=found)
            if isinstance(found, float)
            else IndexedTagValue(tag=tag, values=found, score=None)
            for tag, found in sorted(index.profile(cid).items())
        ]
        return CustomerTags(customer_id=customer_id, cid=cid, seq=index.stamps.seq, tags=tags)

    def customer_ids(self, cids: BitMap) -> pa.Array:
        """cid → customer id, vectorised (Arrow in, Arrow out; ascending cids)."""
        return customer_keys_of(self.wh, pa.array(cid_array(cids)))


def _spread(members: BitMap, count: int) -> BitMap:
    """Up to ``count`` members spread evenly in cid order (deterministic)."""
    size = len(members)
    if count <= 0 or size == 0:
        return BitMap()
    if size <= count:
        return members.copy()
    return BitMap(members[i * size // count] for i in range(count))


def _walk(node: Expr) -> Iterator[Expr]:
    yield node
    for part in fields(node):
        value = getattr(node, part.name)
        if isinstance(value, Expr):
            yield from _walk(value)
        elif isinstance(value, tuple):
            for item in value:
                if isinstance(item, Expr):
                    yield from _walk(item)


def _tag_refs(ast: Expr) -> Iterator[tuple[str, Span]]:
    """(tag code, where) of every name and every ``has_tag`` code."""
    for node in _walk(ast):
        if isinstance(node, Name):
            yield node.name, node.span
        elif isinstance(node, Call) and node.name == "has_tag" and node.args:
            first = node.args[0]
            if isinstance(first, Literal) and isinstance(first.value, str):
                yield first.value, first.span


def _refuse_unpublished(ast: Expr, tags: dict[str, TagSpec], source: str) -> None:
    for code, span in _tag_refs(ast):
        spec = tags.get(code)
        if spec is None or spec.status is Status.PUBLISHED:
            continue
        state = "a draft" if spec.status is Status.DRAFT else "deprecated"
        raise ExpressionError(
            f"tag `{code}` is {state}; segments use published tags only",
            source=source,
            span=span,
            hint=(
                f"publish `{code}` (status: published) and `tagwise apply`"
                if spec.status is Status.DRAFT
                else f"use the tag that replaces `{code}`"
            ),
        )


def _value_literals(ast: Expr) -> Iterator[tuple[str, str, Span]]:
    """(tag-or-column, string literal, where) of every ``x = 'v'``, ``x in ('v', …)`` and
    ``has_tag('x', 'v')``."""
    for node in _walk(ast):
        if isinstance(node, Compare):
            pairs = [(node.left, node.right), (node.right, node.left)]
            for name, value in pairs:
                if (
                    isinstance(name, Name)
                    and isinstance(value, Literal)
                    and isinstance(value.value, str)
                ):
                    yield name.name, value.value, value.span
        elif isinstance(node, In) and isinstance(node.operand, Name):
            for item in node.items:
                if isinstance(item, Literal) and isinstance(item.value, str):
                    yield node.operand.name, item.value, item.span
        elif isinstance(node, Call) and node.name == "has_tag" and len(node.args) == 2:
            code, value = node.args
            if isinstance(code, Literal) and isinstance(value, Literal):
                yield str(code.value), str(value.value), value.span


def _value_problems(
    ast: Expr, tags: dict[str, TagSpec], source: str, index: SegmentIndex | None, when: str
) -> Iterator[str]:
    for code, value, span in _value_literals(ast):
        spec = tags.get(code)
        if spec is None:
            continue
        declared = tuple(spec.values) or tuple(b.value for b in spec.bands)
        if declared and value not in declared:
            raise UnknownName(
                f"tag `{code}` has no value `{value}`",
                source=source,
                span=span,
                hint=did_you_mean(value, declared)
                or "its values: " + ", ".join(f"`{v}`" for v in declared[:8]),
            )
        column = index.get(code) if index is not None else None
        if isinstance(column, ValueColumn) and value not in column.bitmaps:
            yield f"no customer holds `{value}` of tag `{code}` {when}"
