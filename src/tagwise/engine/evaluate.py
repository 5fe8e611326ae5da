"""Evaluating a checked tag plan on an engine: the layers as scratch tables, the long form.

The plan and the SQL of each layer are engine-neutral (:mod:`tagwise.compile.rules`,
:mod:`tagwise.compile.layers`); this module executes them through the :class:`Engine`
interface, names the tag whose expression overflowed, and reads the quantile cut points
once the layers exist.
"""

from __future__ import annotations

import contextlib
import re
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import date

from sqlglot import exp

from tagwise.compile.layers import LayerSql
from tagwise.compile.plan import TagPlan
from tagwise.compile.quantiles import Cuts, cut_points
from tagwise.engine.base import Engine
from tagwise.errors import EngineError

__all__ = ["evaluate_tags"]


@contextlib.contextmanager
def evaluate_tags(
    engine: Engine,
    plan: TagPlan,
    *,
    profile: exp.Table,
    as_of: date,
    ids: Mapping[str, int],
    record_cuts: Callable[[Mapping[str, Cuts]], None] | None = None,
) -> Iterator[exp.Query | None]:
    """Compute every layer of ``plan`` into scratch tables of ``engine``; yield the long form.

    The yielded query (None when the plan has no tags) has one row per customer and value:
    ``(cid, tag_id, value, score)``; a flag's value is ``'true'``, a score tag has its
    number in ``score`` and its band (or null) in ``value``; a tag without a value has no
    row. It is a ``UNION ALL`` with one branch per tag, so a filter on ``tag_id`` reads only
    the matching branches. The scratch tables are dropped when the block ends.

    Args:
        engine: where the layers are computed.
        plan: the checked tags (:func:`plan_tags`).
        profile: the profile relation of the engine
            (:meth:`~tagwise.engine.base.Engine.write_profile`).
        as_of: the run's date.
        ids: each tag's id in the tag store (:meth:`tagwise.store.tags.TagStore.tag_ids`).
        record_cuts: given the cut points of every quantile tag (by code) once the layers
            exist (:mod:`tagwise.compile.quantiles`), before the block runs.

    Raises:
        EngineError: the engine failed (a SQL tag's query, a full disk …).
    """
    prefix = f"_tagwise_layer_{uuid.uuid4().hex[:12]}_"
    names = [f"{prefix}{i}" for i in range(len(plan.layers))]
    builder = LayerSql(plan, profile=profile, as_of=as_of, ids=ids)
    layer_tables = [exp.to_identifier(name, quoted=True) for name in names]
    try:
        for number in range(len(names)):
            _create_layer(engine, builder, number, layer_tables)
        if record_cuts is not None:
            record_cuts(_cuts(engine, plan, builder, layer_tables))
        yield builder.long_form(layer_tables)
    finally:
        # a failed statement may have aborted the caller's transaction, in which case the
        # scratch tables vanish with its rollback: keep the first error, not the drop's
        with contextlib.suppress(EngineError):
            engine.drop_scratch(names)


def _create_layer(
    engine: Engine, builder: LayerSql, number: int, tables: Sequence[exp.Identifier]
) -> None:
    """One layer's scratch table; an overflow names the tag whose expression overflowed."""
    try:
        engine.create_scratch(tables[number].name, builder.layer(number, tables))
    except EngineError as exc:
        if not _is_overflow(exc):
            raise
        raise _overflow(engine, builder, builder.plan.layers[number], tables, exc) from exc


def _is_overflow(exc: BaseException) -> bool:
    """Whether an engine error is a numeric overflow (DuckDB's ``Overflow in …``,
    PostgreSQL's ``bigint out of range`` / ``value out of range: overflow``)."""
    return any(p.search(str(exc)) for p in _OVERFLOW)


_OVERFLOW = (re.compile(r"overflow", re.IGNORECASE), re.compile(r"out of range", re.IGNORECASE))


def _overflow(
    engine: Engine,
    builder: LayerSql,
    codes: Sequence[str],
    tables: Sequence[exp.Identifier],
    exc: EngineError,
) -> EngineError:
    """The error naming the first tag of a layer whose column overflows on its own (each
    tag is computed again alone: this only runs after a failure)."""
    culprit = codes[0] if len(codes) == 1 else None
    for code in codes if culprit is None else ():
        try:
            engine.fetch(builder.probe(builder.plan.tags[code], tables))
        except EngineError as probe:
            if _is_overflow(probe):
                culprit = code
                break
    cause = str(exc.__cause__ or exc)
    what = "a double" if re.search(r"double", cause, re.IGNORECASE) else "a 64-bit integer"
    named = (
        f"tag `{culprit}`" if culprit else "one of the tags " + ", ".join(f"`{c}`" for c in codes)
    )
    return EngineError(
        f"{named} overflowed {what} on {engine.name}",
        hint="integer arithmetic is 64-bit: write a factor as a decimal (`amount * 1.0 * n`) "
        "to compute in double precision, or make the numbers smaller",
    )


def _cuts(
    engine: Engine, plan: TagPlan, builder: LayerSql, tables: Sequence[exp.Identifier]
) -> dict[str, Cuts]:
    """The cut points of every quantile tag of the plan, one small query each."""
    found: dict[str, Cuts] = {}
    for tag in plan.tags.values():
        n = tag.spec.quantiles
        if n is None:
            continue
        groups = [
            (int(score), float(low), float(high))
            for score, low, high in engine.fetch(builder.cuts(tag, tables))
        ]
        found[tag.code] = cut_points(groups, n, descending=tag.spec.descending)
    return found
