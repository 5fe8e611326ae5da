"""Record matching on Spark (splink's SparkAPI) against the same matching on DuckDB.

The two must find the same pairs with the same scores: the standardization, the blocking
keys, the u probabilities and the prior are computed by each engine from one SQL text.
The module shares one Spark session (``--dist loadfile`` keeps the file in one worker).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import duckdb
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.identity.persons_support import FIELDS
from tests.identity.persons_support import RECORDS as PERSONS
from tests.identity.persons_support import load as load_persons
from tests.ingest.people import generate
from tests.ingest.test_matching import RECORDS, load, noisy_spellings
from tests.spark_support import require_spark

from tagwise.demo.persons import generate_persons
from tagwise.engine.spark import spark_session
from tagwise.identity import resolve
from tagwise.identity.backends import DuckDBBackend, SparkBackend
from tagwise.identity.comparisons import DEFAULT_FIELDS
from tagwise.identity.matching import (
    MatchReport,
    SparkMatching,
    match_pairs,
)
from tagwise.settings import EngineSettings, MatchingSettings, Settings
from tagwise.store.warehouse import Warehouse

# a small max_block_size, so that the junk records below make oversized keys
GUARDED = MatchingSettings(max_block_size=30)
PAIR_COLUMNS = "rid_l, rid_r, probability, weight"


@pytest.fixture(scope="module", autouse=True)
def spark_available() -> None:
    require_spark()


@pytest.fixture(scope="module")
def spark(tmp_path_factory: pytest.TempPathFactory) -> SparkMatching:
    root = tmp_path_factory.mktemp("spark-matching")
    session, work = spark_session(EngineSettings(spark_master="local[2]", spark_partitions=4), root)
    return SparkMatching(session, work)


def junk() -> pa.Table:
    """Forty records at a placeholder birthday in one unknown city: an oversized block key
    for (birthday, city)."""
    return pa.table(
        {
            "rid": pa.array(range(50_000, 50_040), pa.int32()),
            "name": [f"测试{i}" for i in range(40)],
            "birthday": pa.array([date(1900, 1, 1)] * 40, pa.date32()),
            "city": ["不详"] * 40,
            "address": [f"人民路{i}号" for i in range(40)],
        }
    )


@pytest.fixture(scope="module")
def matched(
    tmp_path_factory: pytest.TempPathFactory, spark: SparkMatching
) -> Iterator[tuple[Warehouse, MatchReport, MatchReport]]:
    wh = Warehouse(tmp_path_factory.mktemp("both") / "warehouse.duckdb")
    people = generate(4_000, seed=23).records
    extra = [junk().cast(people.schema), noisy_spellings(60_001).cast(people.schema)]
    load(wh, pa.concat_tables([people, *extra]), "stage.people")
    on_duckdb = match_pairs(wh, RECORDS, settings=GUARDED, target="stage.on_duckdb")
    on_spark = match_pairs(wh, RECORDS, settings=GUARDED, target="stage.on_spark", spark=spark)
    yield wh, on_duckdb, on_spark
    wh.close()


def test_spark_finds_the_same_pairs_with_the_same_scores(matched) -> None:
    wh, _, _ = matched
    only_one = wh.rows(
        f"(SELECT {PAIR_COLUMNS} FROM stage.on_duckdb EXCEPT SELECT {PAIR_COLUMNS}"
        " FROM stage.on_spark) UNION ALL (SELECT rid_l, rid_r, NULL, NULL FROM stage.on_spark"
        " EXCEPT SELECT rid_l, rid_r, NULL, NULL FROM stage.on_duckdb)"
    )
    # pairs on one side only, or on both with scores differing beyond rounding
    different = [
        row
        for row in only_one
        if row[2] is None
        or not wh.scalar(
            "SELECT abs(probability - ?) <= 1e-12 AND abs(weight - ?) <= 1e-9"
            " FROM stage.on_spark WHERE rid_l = ? AND rid_r = ?",
            [row[2], row[3], row[0], row[1]],
        )
    ]
    assert different == []
    upper = GUARDED.upper
    merges, review = wh.rows(
        f"SELECT count(*) FILTER (WHERE probability >= {upper}),"
        f" count(*) FILTER (WHERE probability < {upper}) FROM stage.on_spark"
    )[0]
    assert merges > 300 and review > 0
    # the noisy spellings were standardized on Spark as on DuckDB
    found = set(wh.rows("SELECT rid_l, rid_r FROM stage.on_spark WHERE rid_l > 60000"))
    assert {(60_001, 60_002), (60_003, 60_004)} <= found


def test_both_report_the_same_counts(matched) -> None:
    wh, on_duckdb, on_spark = matched
    assert (on_duckdb.engine, on_spark.engine) == ("duckdb", "spark")
    counted = ("records", "candidates", "pairs", "merges", "skipped_blocks")
    assert {k: getattr(on_spark, k) for k in counted} == {k: getattr(on_duckdb, k) for k in counted}
    assert on_spark.records == 4_044
    assert on_spark.skipped_blocks >= 1  # (1900-01-01, 不详) is shared by 40 > 30 records
    assert on_spark.pairs == wh.scalar("SELECT count(*) FROM stage.on_spark")
    assert on_spark.merges == wh.scalar(
        f"SELECT count(*) FROM stage.on_spark WHERE probability >= {GUARDED.upper}"
    )


def test_derived_fields_give_the_same_pairs_and_model_on_spark(
    tmp_path: Path, spark: SparkMatching
) -> None:
    """Generated FEBRL-like persons matched on fields joined from several columns (a name
    compared in both orders, an address of number and street): the same pairs, scores
    and trained model on both engines."""
    wh = Warehouse(tmp_path / "warehouse.duckdb")
    load_persons(wh, generate_persons(2_500, seed=5))
    both = [
        match_pairs(wh, PERSONS, settings=GUARDED, target=f"stage.{t}", fields=FIELDS, spark=s)
        for t, s in (("d", None), ("s", spark))
    ]
    rows = [wh.rows(f"SELECT {PAIR_COLUMNS} FROM stage.{t} ORDER BY rid_l, rid_r") for t in "ds"]
    assert len(rows[0]) > 500
    assert [r[:2] for r in rows[0]] == [r[:2] for r in rows[1]]
    for a, b in zip(rows[0], rows[1], strict=True):
        assert abs(a[2] - b[2]) <= 1e-12 and abs(a[3] - b[3]) <= 1e-9, (a, b)
    assert both[0].model == both[1].model and both[0].prior == both[1].prior
    assert both[0].training == both[1].training
    wh.close()


def test_spark_leaves_no_views_or_files(matched, spark: SparkMatching) -> None:
    views = {t.name for t in spark.session.catalog.listTables()}
    assert not views & {"raw", "records", "oversized", "sample", "pairs", "tf_name"}
    assert not any(v.startswith("__splink") for v in views)
    assert not (spark.work / "matching").exists()


def test_an_empty_input_writes_an_empty_target(tmp_path: Path, spark: SparkMatching) -> None:
    wh = Warehouse(tmp_path / "warehouse.duckdb")
    load(wh, generate(50, seed=3).records, "stage.people")
    report = match_pairs(
        wh, f"{RECORDS} WHERE rid < 1", settings=GUARDED, target="stage.none", spark=spark
    )
    assert (report.records, report.pairs) == (1, 0)
    assert wh.columns("stage.none") == [
        ("rid_l", "INTEGER"),
        ("rid_r", "INTEGER"),
        ("probability", "DOUBLE"),
        ("weight", "DOUBLE"),
    ]
    wh.close()


# -- standardization, value by value ------------------------------------------------------

# characters that the standardization treats specially, and some that it must leave alone
TRICKY = (
    "北京上海朝阳浦东新区县市省路街道号单元室小社园校开发中山王伟李娜欧阳"
    "０１９ＡＺａｚ019AZaz•・· \t\u3000\u00a0\u2028\u0085\u000b-#"
)
texts = st.one_of(st.none(), st.text(alphabet=TRICKY, max_size=14))
rows_ = st.lists(
    st.tuples(
        texts,
        st.one_of(st.none(), st.sampled_from(["北京", "北京市", " 上海", "中山", "市"])),
        texts,
    ),
    min_size=1,
    max_size=60,
)


def standardized(backend: str, wh: Warehouse, spark: SparkMatching) -> list[tuple[Any, ...]]:
    select = "SELECT rid, name, birthday, city, address FROM stage.raw"
    query = "SELECT unique_id, name, city, address, block_0 IS NULL, block_2 IS NULL FROM records"
    if backend == "duckdb":
        duck = DuckDBBackend(duckdb.connect())
        try:
            duck.load(wh, select, DEFAULT_FIELDS, GUARDED.blocking)
            return sorted(duck.rows(query))
        finally:
            duck.close()
    db = SparkBackend(spark.session, spark.work / "standardize")
    try:
        db.load(wh, select, DEFAULT_FIELDS, GUARDED.blocking)
        return sorted(db.rows(query))
    finally:
        db.close()


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=rows_)
def test_standardization_is_the_same_on_both_engines(
    data: list[tuple[str | None, str | None, str | None]], tmp_path_factory, spark
) -> None:
    wh = Warehouse(tmp_path_factory.mktemp("standardize") / "warehouse.duckdb")
    try:
        table = pa.table(
            {
                "rid": pa.array(range(len(data)), pa.int32()),
                "name": [r[0] for r in data],
                "birthday": pa.array([date(1990, 1, 1)] * len(data), pa.date32()),
                "city": [r[1] for r in data],
                "address": [r[2] for r in data],
            }
        )
        load(wh, table, "stage.raw")
        assert standardized("spark", wh, spark) == standardized("duckdb", wh, spark)
    finally:
        wh.close()


def test_standardization_examples(tmp_path: Path, spark: SparkMatching) -> None:
    """Known answers, so that both engines cannot agree on a wrong one."""
    wh = Warehouse(tmp_path / "warehouse.duckdb")
    cases = [
        (
            "欧阳 娜娜\u3000",
            "北京市",
            "北京市朝阳区 建国路８８号",
            "欧阳娜娜",
            "北京",
            "建国路88号",
        ),
        ("ＭＡＲＹ•李", " 上海 ", "上海浦东新区世纪大道1号", "mary·李", "上海", "世纪大道1号"),
        ("王伟", "中山", "中山路5号", "王伟", "中山", "中山路5号"),
        ("  ", "市", "阳光小区3栋", None, "市", "阳光小区3栋"),
    ]
    load(
        wh,
        pa.table(
            {
                "rid": pa.array(range(len(cases)), pa.int32()),
                "name": [c[0] for c in cases],
                "birthday": pa.array([None] * len(cases), pa.date32()),
                "city": [c[1] for c in cases],
                "address": [c[2] for c in cases],
            }
        ),
        "stage.raw",
    )
    # no birthdays: no (name, birthday) key; a (name, address) key where both are present
    expected = [(i, c[3], c[4], c[5], True, c[3] is None) for i, c in enumerate(cases)]
    for backend in ("duckdb", "spark"):
        assert standardized(backend, wh, spark) == expected, backend
    wh.close()


# -- through the workspace -----------------------------------------------------------------


def test_resolve_on_spark_reproduces_the_duckdb_resolution(tmp_path: Path, cli) -> None:
    root = tmp_path / "shop"
    made = cli("demo", str(root), "--customers", "1500", "--duplicates", "0.1", "--json")
    assert made.code == 0, made.err
    before = keys_and_matches(root)
    config = (root / "tagwise.toml").read_text(encoding="utf-8")
    spark = '\n[identity.matching]\nengine = "spark"\n\n[engine]\nspark_partitions = 4\n'
    # a wrong master: one line saying what to set, nothing changed
    (root / "tagwise.toml").write_text(f'{config}{spark}spark_master = "local[two]"\n')
    wrong = cli("-w", str(root), "resolve")
    assert wrong.code != 0
    assert "`local[two]` is not a Spark master URL" in wrong.err
    assert "spark_master" in wrong.err and "Traceback" not in wrong.err
    assert len(wrong.err.strip().splitlines()) <= 2  # the error and its hint
    assert keys_and_matches(root) == before
    (root / "tagwise.toml").write_text(f'{config}{spark}spark_master = "local[2]"\n')
    resolved = cli("-w", str(root), "resolve", "--json")
    assert resolved.code == 0, resolved.err
    report = resolved.json()
    assert report["matching"] == "spark"
    assert (report["changed"], report["events"]) == (0, {})
    assert keys_and_matches(root) == before
    assert before[1]  # the demo's duplicates gave matching pairs to compare
    again = cli("-w", str(root), "resolve")
    assert again.code == 0, again.err
    assert "pairs reused" in again.out
    shutil.rmtree(root)


def keys_and_matches(root: Path) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    con = duckdb.connect(str(root / ".tagwise" / "warehouse.duckdb"), read_only=True)
    try:
        keys = con.execute("SELECT * FROM meta.customer_keys ORDER BY customer_id").fetchall()
        matches = con.execute(
            "SELECT rid_l, rid_r, round(probability, 9) FROM ident.matches ORDER BY 1, 2"
        ).fetchall()
    finally:
        con.close()
    return keys, matches


@pytest.mark.parametrize(
    ("compute", "matching", "on_spark"),
    [
        ("duckdb", "auto", False),
        ("postgres", "auto", False),
        ("spark", "auto", True),
        ("spark", "duckdb", False),
        ("duckdb", "spark", True),
    ],
)
def test_auto_matches_where_the_workspace_computes(
    tmp_path: Path, spark: SparkMatching, compute: str, matching: str, on_spark: bool
) -> None:
    chosen = Settings.model_validate(
        {
            "engine": {"name": compute, "spark_master": "local[2]", "spark_partitions": 4},
            "identity": {"matching": {"engine": matching}},
        }
    )
    context = SimpleNamespace(root=tmp_path)
    found = resolve._spark(context, chosen)  # type: ignore[arg-type]
    assert (found is not None) == on_spark
    if found is not None:
        assert found.session is spark.session  # the one session of this master
        assert found.work == tmp_path / ".tagwise" / "spark"
