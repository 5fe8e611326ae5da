"""Compute engines: where the features and rules of a run execute (docs/engines.md).

A run builds sqlglot trees against one *logical* layout: ``src.<source>`` tables that carry
the customer's ``cid``, ``meta.customer_keys`` (customer_id → cid) and the profile. An
engine runs those trees:

* :meth:`Engine.rewrite` maps the logical tables to the engine's physical relations and
  replaces constructs its dialect lacks; :meth:`Engine.render` is the SQL text;
* :meth:`Engine.write_profile` persists the run's profile snapshot and returns the relation
  the rules read; :meth:`Engine.create_scratch` / :meth:`Engine.drop_scratch` hold the
  dependency layers;
* :meth:`Engine.export` makes the long form of tag values readable by the warehouse, which
  keeps the tag store (current values, history) whatever the engine;
* :meth:`Engine.profile_row` reads one customer's snapshot row back for explanations.

One engine = one module (``duckdb``, ``postgres``, ``spark``), each with an ``open_engine``;
:mod:`tagwise.engine.registry` lists them and imports the chosen one lazily, so
``import tagwise`` never needs an optional driver.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Collection, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from sqlglot import exp

if TYPE_CHECKING:
    from tagwise.spec.sources import SourcesSpec
    from tagwise.store.warehouse import Warehouse

__all__ = ["Engine", "Transform", "logical_table", "transformed"]

Transform = Callable[[exp.Expr], exp.Expr]
"""A rewrite of one node for an engine's dialect (returns the node itself when it does not
apply). An adapter lists its transforms in a table (``TRANSFORMS`` of its module), in the order
they are tried."""


def transformed(node: exp.Expr, transforms: tuple[Transform, ...]) -> exp.Expr:
    """The first transform's replacement of ``node`` (the node itself when none applies)."""
    for transform in transforms:
        replaced = transform(node)
        if replaced is not node:
            return replaced
    return node


class Engine(ABC):
    """Runs a run's compiled queries; see the module docstring."""

    name: ClassVar[str]
    dialect: ClassVar[str]
    """sqlglot dialect of the SQL this engine executes."""
    inexact: ClassVar[Mapping[str, str]] = {}
    """Language functions whose result on this engine may differ from the reference
    semantics (the Python back-end), with the reason: the engine's declared gaps
    (docs/engines.md). The differential tests read this table; a gap that closes fails
    them until it is removed here."""

    def render(self, node: exp.Expr) -> str:
        """SQL text of a tree in this engine's dialect, after :meth:`rewrite`."""
        return self.rewrite(node.copy()).sql(self.dialect)

    def rewrite(self, node: exp.Expr) -> exp.Expr:
        """Map logical tables to relations and replace what the dialect lacks (default:
        nothing; the logical layout is the physical one)."""
        return node

    def prepare(self, wh: Warehouse, sources: SourcesSpec) -> None:  # noqa: B027 (optional hook)
        """Get ready for a run (e.g. publish new customer keys to the engine)."""

    @abstractmethod
    def write_profile(self, query: exp.Query, run_id: int) -> exp.Table:
        """Persist the run's profile snapshot; return the relation the rules read."""

    @abstractmethod
    def create_scratch(self, name: str, query: exp.Query) -> exp.Table:
        """A temporary table holding ``query`` (dropped with :meth:`drop_scratch`)."""

    @abstractmethod
    def drop_scratch(self, names: Collection[str]) -> None:
        """Drop temporary tables; missing ones are fine."""

    @abstractmethod
    def count(self, relation: exp.Table) -> int:
        """Rows of a relation of this engine."""

    @abstractmethod
    def fetch(self, query: exp.Query) -> list[tuple[Any, ...]]:
        """The rows of a small query (a quantile tag's cut points: one row per score) on
        the driver; never customer-sized."""

    @abstractmethod
    def export(self, query: exp.Query, wh: Warehouse) -> str:
        """A relation of the warehouse (SQL text) holding the rows of ``query``: the long
        form ``(cid, tag_id, value, score)`` that the tag store reads."""

    @abstractmethod
    def profile_row(self, run_id: int, cid: int) -> dict[str, Any]:
        """One customer's row of a run's snapshot ({} when there is none)."""

    @abstractmethod
    def drop_snapshot(self, run_id: int) -> None:
        """Delete the snapshot of a run that failed."""

    @abstractmethod
    def keep_snapshots(self, runs: Collection[int]) -> None:
        """Delete every snapshot except those of ``runs``."""

    def close(self) -> None:  # noqa: B027 (optional hook)
        """Release connections (the DuckDB engine shares the warehouse's)."""


def logical_table(
    node: exp.Table,
    *,
    source: Callable[[str], exp.Table],
    keys: exp.Table,
    sources: SourcesSpec,
    text: str,
) -> exp.Expr:
    """Map a table of the logical layout to an engine's relation.

    ``src.<source>`` becomes ``source(name)`` joined to ``keys`` on the source's customer key
    (declared in ``sources``), which adds the ``cid`` column; a source
    without a customer key is ``source(name)`` itself; ``meta.customer_keys`` becomes
    ``keys``. Other tables are left alone. ``text`` is the dialect's text type.

    The customer master keeps one row per customer: the row of the customer's
    surviving record (``rid = cid``). An engine's master table may hold every record of a
    merged customer (the company's own table); the warehouse's ``src.<master>`` is the
    golden record, which ``tagwise sources publish`` / ``export`` copy, keyed by survivors.
    """
    name = exp.to_identifier(node.alias_or_name, quoted=True)
    if node.db == "meta" and node.name == "customer_keys":
        return keys.copy().as_(name)
    if node.db != "src":
        return node
    relation = source(node.name)
    spec = sources.sources.get(node.name)
    if spec is None or spec.customer_key is None:
        return relation.as_(name)
    key = spec.customer_key
    star = exp.Column(this=exp.Star(), table=exp.to_identifier("s", quoted=True))
    on: exp.Expr = exp.EQ(
        this=exp.column("customer_id", table="k", quoted=True),
        expression=exp.cast(exp.column(key, table="s", quoted=True), text),
    )
    if spec.role == "customers":
        survivor = exp.EQ(
            this=exp.column("rid", table="k", quoted=True),
            expression=exp.column("cid", table="k", quoted=True),
        )
        on = exp.and_(on, survivor)
    keyed = (
        exp.select(exp.column("cid", table="k", quoted=True), star)
        .from_(relation.as_("s", quoted=True))
        .join(keys.copy().as_("k", quoted=True), on=on)
    )
    return exp.Subquery(this=keyed, alias=exp.TableAlias(this=name))
