"""Saved SQL per engine: the profile query and the layer queries of the demo's taxonomy, as
each engine runs them, in ``tests/snapshots/<case>/<engine>.sql`` (pretty-printed).

A change to the generated SQL fails here until the files are regenerated with
``TAGWISE_UPDATE_SNAPSHOTS=1 pytest tests/engine/test_snapshots.py``, so a reviewer reads
the SQL diff of every engine. Rendering needs no server: the engines only rewrite trees.
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import pytest
from sqlglot import exp

import tagwise.demo
from tagwise.compile.features import profile_select
from tagwise.compile.layers import LayerSql
from tagwise.engine.base import Engine
from tagwise.engine.duckdb import DuckDBEngine
from tagwise.engine.postgres import PostgresEngine
from tagwise.engine.spark import SparkEngine
from tagwise.settings import Settings
from tagwise.specs import Specs, load_specs

SNAPSHOTS = Path(__file__).parents[1] / "snapshots"
AS_OF = date(2026, 11, 1)
UPDATE = os.environ.get("TAGWISE_UPDATE_SNAPSHOTS") == "1"


def _specs() -> Specs:
    root = Path(tagwise.demo.__file__).parent / "templates"
    specs = load_specs(root, Settings())
    assert not specs.errors and specs.plan is not None
    return specs


def _engines(specs: Specs) -> dict[str, Engine]:
    """Each engine as a renderer: its rewrite of the logical layout, no connection."""
    assert specs.sources is not None
    postgres = PostgresEngine.__new__(PostgresEngine)  # __init__ connects; rendering need not
    postgres.schema, postgres.own, postgres.spec = "shop", "shop_tagwise", specs.sources
    spark = SparkEngine(None, "/lake/shop", Path("/work/spark"))
    spark.spec = specs.sources
    return {"duckdb": DuckDBEngine(None), "postgres": postgres, "spark": spark}  # type: ignore[arg-type]


def _cases(specs: Specs) -> dict[str, exp.Query]:
    plan = specs.plan
    assert plan is not None and specs.features is not None and specs.sources is not None
    cases: dict[str, exp.Query] = {
        "profile": profile_select(
            specs.features, specs.sources, as_of=AS_OF, attributes=plan.reads()
        )
    }
    ids = {code: i for i, code in enumerate(plan.tags, start=1)}
    builder = LayerSql(plan, profile=exp.table_("profile_1"), as_of=AS_OF, ids=ids)
    tables = [exp.to_identifier(f"layer_{i}", quoted=True) for i in range(len(plan.layers))]
    for number in range(len(plan.layers)):
        cases[f"layer_{number}"] = builder.layer(number, tables)
    return cases


SPECS = _specs()
CASES = _cases(SPECS)
ENGINES = _engines(SPECS)


@pytest.mark.parametrize("engine_name", sorted(ENGINES))
@pytest.mark.parametrize("case", sorted(CASES))
def test_generated_sql_equals_the_saved_file(case: str, engine_name: str) -> None:
    engine = ENGINES[engine_name]
    sql = engine.rewrite(CASES[case].copy()).sql(engine.dialect, pretty=True) + "\n"
    path = SNAPSHOTS / case / f"{engine_name}.sql"
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(sql, encoding="utf-8")
    assert path.exists(), f"no saved SQL at {path}: run with TAGWISE_UPDATE_SNAPSHOTS=1"
    assert sql == path.read_text(encoding="utf-8"), (
        f"the {engine_name} SQL of `{case}` changed: review it, then regenerate with "
        "TAGWISE_UPDATE_SNAPSHOTS=1"
    )


def test_every_saved_file_belongs_to_a_case() -> None:
    saved = {(p.parent.name, p.stem) for p in SNAPSHOTS.glob("*/*.sql")}
    assert saved == {(c, e) for c in CASES for e in ENGINES}
