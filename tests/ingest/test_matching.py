"""Probabilistic record matching (splink on DuckDB) against generated people with a truth."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from pydantic import ValidationError
from tests.ingest.people import People, generate

from tagwise.errors import EngineError, SourceError
from tagwise.identity.matching import MatchReport, match_pairs
from tagwise.settings import MatchingSettings
from tagwise.spec.sources import MatchField, MatchKind
from tagwise.store.warehouse import Warehouse

DEFAULT = MatchingSettings()
RECORDS = "SELECT rid, name, birthday, city, address FROM stage.people"


def load(wh: Warehouse, table: pa.Table, name: str) -> None:
    wh.con.register("__arrow", table)
    wh.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM __arrow")
    wh.con.unregister("__arrow")


def truth_table(people: People) -> pa.Table:
    n = len(people.person)
    return pa.table(
        {
            "rid": pa.array(np.arange(n, dtype=np.int32)),
            "person": pa.array(people.person),
            "household": pa.array(people.household),
        }
    )


def pairs(wh: Warehouse, table: str, minimum: float = 0.0) -> set[tuple[int, int]]:
    rows = wh.rows(f"SELECT rid_l, rid_r FROM {table} WHERE probability >= ?", [minimum])
    return {(int(a), int(b)) for a, b in rows}


@pytest.fixture(scope="module")
def people() -> People:
    return generate(10_000, seed=11)


@pytest.fixture(scope="module")
def matched(tmp_path_factory, people) -> Iterator[tuple[Warehouse, MatchReport]]:
    wh = Warehouse(tmp_path_factory.mktemp("matching") / "warehouse.duckdb")
    load(wh, people.records, "stage.people")
    load(wh, truth_table(people), "stage.truth")
    report = match_pairs(wh, RECORDS, settings=DEFAULT, target="stage.match_pairs")
    yield wh, report
    wh.close()


@pytest.fixture
def small(tmp_path: Path) -> Iterator[Warehouse]:
    """A warehouse holding 2,000 generated records as ``stage.people``."""
    wh = Warehouse(tmp_path / "warehouse.duckdb")
    load(wh, generate(2_000, seed=5).records, "stage.people")
    yield wh
    wh.close()


def test_merges_are_precise_and_complete(matched, people) -> None:
    wh, report = matched
    truth = people.true_pairs()
    merged = pairs(wh, "stage.match_pairs", DEFAULT.upper)
    hits = len(merged & truth)
    assert hits / len(merged) >= 0.99
    assert hits / len(truth) >= 0.95
    assert report.merges == len(merged)
    assert report.pairs == wh.scalar("SELECT count(*) FROM stage.match_pairs")
    assert report.records == 10_000
    assert report.candidates >= report.pairs > report.merges


def test_the_pair_budget_drops_only_the_largest_blocks(matched, people) -> None:
    """The budget of pairs per record drops some of the largest blocks of the wide rules
    (no key is over max_block_size here); without it nothing is dropped, and the merged
    pairs the budget keeps are nearly all those found without it."""
    wh, report = matched
    unlimited = DEFAULT.model_copy(update={"max_pairs_per_record": 1e6})
    every = match_pairs(wh, RECORDS, settings=unlimited, target="stage.unlimited")
    assert every.skipped_blocks == 0
    assert every.candidates > report.candidates
    assert report.skipped_blocks > 0
    kept = pairs(wh, "stage.match_pairs", DEFAULT.upper)
    found = pairs(wh, "stage.unlimited", DEFAULT.upper)
    truth = people.true_pairs()
    assert len(kept & truth) >= 0.995 * len(found & truth)


def test_target_holds_ordered_unique_pairs_at_or_above_lower(matched) -> None:
    wh, _ = matched
    assert wh.columns("stage.match_pairs") == [
        ("rid_l", "INTEGER"),
        ("rid_r", "INTEGER"),
        ("probability", "DOUBLE"),
        ("weight", "DOUBLE"),
    ]
    row = wh.rows(
        "SELECT count(*), count(DISTINCT (rid_l, rid_r)), bool_and(rid_l < rid_r),"
        " min(probability), max(probability) FROM stage.match_pairs"
    )[0]
    count, distinct, ordered, low, high = row
    assert count == distinct and ordered
    assert DEFAULT.lower <= low and high < 1.0


def test_namesakes_and_family_members_are_not_merged(matched) -> None:
    """Same name with another birthday, or same household (address, often surname) with
    another birthday: different people, never merged."""
    wh, _ = matched
    lookalikes = """
        SELECT a.rid AS l, b.rid AS r FROM stage.people a JOIN stage.people b ON a.rid < b.rid
        JOIN stage.truth ta ON ta.rid = a.rid JOIN stage.truth tb ON tb.rid = b.rid
        WHERE ta.person <> tb.person AND a.birthday <> b.birthday AND ({})
    """
    namesakes = lookalikes.format(
        "regexp_replace(a.name, '\\s', '', 'g') = regexp_replace(b.name, '\\s', '', 'g')"
    )
    family = lookalikes.format("ta.household = tb.household")
    for sql in (namesakes, family):
        assert wh.scalar(f"SELECT count(*) FROM ({sql})") > 20  # the data has them
        merged = wh.scalar(
            f"SELECT count(*) FROM ({sql}) x JOIN stage.match_pairs p"
            f" ON p.rid_l = x.l AND p.rid_r = x.r WHERE p.probability >= {DEFAULT.upper}"
        )
        assert merged == 0


def test_raising_upper_moves_pairs_to_review_with_the_same_scores(matched) -> None:
    wh, report = matched
    strict = DEFAULT.model_copy(update={"upper": 0.99999})
    stricter = match_pairs(wh, RECORDS, settings=strict, target="stage.strict_pairs")
    assert stricter.pairs == report.pairs
    assert 0 < stricter.merges < report.merges
    moved = wh.scalar(
        "SELECT count(*) FROM stage.match_pairs WHERE probability >= 0.99 AND probability < 0.99999"
    )
    assert report.merges - stricter.merges == moved > 0
    differ = "SELECT * FROM stage.match_pairs EXCEPT SELECT * FROM stage.strict_pairs"
    assert wh.scalar(f"SELECT count(*) FROM ({differ})") == 0


def test_raising_lower_drops_the_weakest_pairs(matched) -> None:
    wh, report = matched
    narrow = DEFAULT.model_copy(update={"lower": 0.95})
    fewer = match_pairs(wh, RECORDS, settings=narrow, target="stage.narrow_pairs")
    kept = wh.scalar("SELECT count(*) FROM stage.match_pairs WHERE probability >= 0.95")
    assert fewer.pairs == kept < report.pairs
    assert fewer.merges == report.merges


def test_same_input_gives_the_same_pairs(matched) -> None:
    wh, report = matched
    again = match_pairs(wh, RECORDS, settings=DEFAULT, target="stage.again")
    assert (again.pairs, again.merges, again.candidates) == (
        report.pairs,
        report.merges,
        report.candidates,
    )
    both = "SELECT * FROM stage.match_pairs EXCEPT ALL SELECT * FROM stage.again"
    assert wh.scalar(f"SELECT count(*) FROM ({both})") == 0


def test_splink_tables_stay_out_of_the_warehouse(matched) -> None:
    wh, _ = matched
    leftovers = wh.rows(
        "SELECT table_name FROM duckdb_tables() WHERE table_name LIKE '%splink%'"
        " OR table_name LIKE '\\_\\_%' ESCAPE '\\'"
        " UNION ALL SELECT view_name FROM duckdb_views() WHERE NOT internal"
    )
    assert leftovers == []


def noisy_spellings(first_rid: int) -> pa.Table:
    """Two persons, each as two records spelled differently: spaces (also full-width),
    full-width digits, the city and district prefix, 市 after the city."""
    return pa.table(
        {
            "rid": pa.array(range(first_rid, first_rid + 4), pa.int32()),
            "name": ["欧阳娜娜", "欧阳 娜娜 ", "司马光", "司马　光"],
            "birthday": pa.array(
                [date(1988, 3, 9), date(1988, 3, 9), date(1960, 5, 1), None], pa.date32()
            ),
            "city": ["北京", "北京市", " 上海", "上海"],
            "address": [
                "朝阳区建国路88号3单元502室",
                "北京市朝阳区 建国路８８号３单元５０２室",
                "浦东新区世纪大道１００号",
                "上海市世纪大道100号",
            ],
        }
    )


def test_spelling_noise_is_standardized(tmp_path: Path, people) -> None:
    wh = Warehouse(tmp_path / "warehouse.duckdb")
    extra = noisy_spellings(20_001).cast(people.records.schema)
    load(wh, pa.concat_tables([people.records, extra]), "stage.people")
    match_pairs(wh, RECORDS, settings=DEFAULT, target="stage.noisy")
    assert {(20_001, 20_002), (20_003, 20_004)} <= pairs(wh, "stage.noisy", DEFAULT.upper)
    wh.close()


@pytest.mark.parametrize(
    "query",
    [
        "SELECT rid, name, NULL AS birthday, city, address FROM stage.people",
        "SELECT rid, NULL AS name, birthday, NULL AS city, address FROM stage.people",
        "SELECT rid, NULL::VARCHAR AS name, NULL::DATE AS birthday, NULL AS city, NULL AS address"
        " FROM stage.people",
        "SELECT rid, name, birthday, city, address FROM stage.people WHERE rid < 1",
        "SELECT rid, name, birthday, city, address FROM stage.people WHERE false",
    ],
    ids=["no-birthdays", "only-birthday-and-address", "all-null", "one-record", "empty"],
)
def test_missing_values_are_neutral(small: Warehouse, query: str) -> None:
    report = match_pairs(small, query, settings=DEFAULT, target="stage.sparse")
    assert report.pairs == small.scalar("SELECT count(*) FROM stage.sparse")
    assert small.scalar("SELECT count(*) FROM stage.sparse WHERE probability IS NULL") == 0
    if "all-null" in query or "WHERE" in query:
        assert report.pairs == 0


def test_a_junk_blocking_key_is_skipped(small: Warehouse) -> None:
    """Fifty records at a placeholder birthday in one city would make 1,225 pairs."""
    small.execute(
        "INSERT INTO stage.people SELECT 100000 + i, '测试' || i::VARCHAR, DATE '1900-01-01',"
        " '上海', '人民路' || i::VARCHAR || '号' FROM range(50) t(i)"
    )
    one_rule = DEFAULT.model_copy(update={"blocking": (("birthday", "city"),)})
    report = match_pairs(small, RECORDS, settings=one_rule, target="stage.loose")
    guarded = one_rule.model_copy(update={"max_block_size": 20})
    kept = match_pairs(small, RECORDS, settings=guarded, target="stage.guarded")
    assert (report.skipped_blocks, kept.skipped_blocks) == (0, 1)
    assert report.candidates - kept.candidates == 50 * 49 // 2


def test_disabled_matching_leaves_an_empty_target(small: Warehouse) -> None:
    off = DEFAULT.model_copy(update={"enabled": False})
    report = match_pairs(small, RECORDS, settings=off, target="stage.off")
    assert (report.pairs, report.candidates) == (0, 0)
    assert small.columns("stage.off")[0] == ("rid_l", "INTEGER")
    assert small.scalar("SELECT count(*) FROM stage.off") == 0


@pytest.mark.parametrize(
    ("query", "fragment", "hint"),
    [
        (
            "SELECT rid, name, birthday AS birth_day, city, address FROM stage.people",
            "has no column `birthday`",
            "did you mean `birth_day`?",
        ),
        (
            "SELECT rid, name, 1.5 AS birthday, city, address FROM stage.people",
            "`birthday` of the records query is DECIMAL",
            "TRY_CAST",
        ),
        (
            "SELECT name AS rid, name, birthday, city, address FROM stage.people",
            "`rid` of the records query is VARCHAR",
            "INTEGER",
        ),
        (
            "SELECT rid % 10 AS rid, name, birthday, city, address FROM stage.people",
            "repeated values of `rid`",
            "once",
        ),
        ("SELECT * FROM stage.nobody", "the records query failed", "SELECT"),
        ("SELEC rid", "the records query failed", "SELECT"),
    ],
    ids=["missing", "birthday-type", "rid-type", "repeated-rid", "unknown-table", "syntax"],
)
def test_a_wrong_records_query_is_one_clear_error(small: Warehouse, query, fragment, hint) -> None:
    with pytest.raises(SourceError) as info:
        match_pairs(small, query, settings=DEFAULT, target="stage.out")
    assert fragment in info.value.message
    assert hint in (info.value.hint or "")
    assert "\n" not in str(info.value)


def test_an_invalid_target_is_refused(small: Warehouse) -> None:
    with pytest.raises(SourceError, match="invalid target table"):
        match_pairs(small, RECORDS, settings=DEFAULT, target="a.b.c")


def test_an_engine_failure_is_one_line_with_a_hint(small: Warehouse) -> None:
    small.execute("SET memory_limit = '2MB'; SET temp_directory = ''")
    with pytest.raises(EngineError) as info:
        match_pairs(small, RECORDS, settings=DEFAULT, target="stage.out")
    assert info.value.message.startswith("record matching failed: Out of Memory")
    assert "memory_limit" in (info.value.hint or "")
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("values", "fragment"),
    [
        ({"lower": 0.95, "upper": 0.9}, "lower (0.95) must not be above upper (0.9)"),
        ({"upper": 1.0}, "less than 1"),
        ({"lower": 0.0}, "greater than 0"),
        ({"blocking": [["name", "Birth Date"]]}, "snake_case match_on field name"),
        ({"blocking": [["name"], []]}, "each rule at least one field"),
        ({"blocking": []}, "at least one rule"),
        ({"max_block_size": 1}, "greater than or equal to 2"),
    ],
)
def test_invalid_settings_are_refused(values, fragment) -> None:
    with pytest.raises(ValidationError) as info:
        MatchingSettings(**values)
    message = info.value.errors()[0]["msg"]
    assert fragment in message
    assert "\n" not in message


def test_a_date_field_given_as_text_is_read_as_a_date(small: Warehouse) -> None:
    """Text that is an ISO date is the date; any other text is a missing value (lint
    reports a master whose declared type cannot be a date), never a failure."""
    as_text = (
        "SELECT rid, name, CASE WHEN rid % 7 = 0 THEN 'not a date' ELSE birthday::VARCHAR END"
        " AS birthday, city, address FROM stage.people"
    )
    match_pairs(small, as_text, settings=DEFAULT, target="stage.text")
    match_pairs(
        small,
        "SELECT rid, name, CASE WHEN rid % 7 = 0 THEN NULL ELSE birthday END AS birthday,"
        " city, address FROM stage.people",
        settings=DEFAULT,
        target="stage.dates",
    )
    assert pairs(small, "stage.text") == pairs(small, "stage.dates")


def test_rules_naming_fields_that_are_not_compared_are_left_out(small: Warehouse) -> None:
    two = (
        MatchField("name", ("name",), MatchKind.NAME),
        MatchField("birthday", ("birthday",), MatchKind.DATE),
    )
    query = "SELECT rid, name, birthday FROM stage.people"
    report = match_pairs(small, query, settings=DEFAULT, target="stage.two", fields=two)
    assert report.blocking == (("name", "birthday"), ("name",), ("birthday", "name:2"))
    only_city = MatchingSettings(blocking=(("city", "address"),))
    with pytest.raises(SourceError) as info:
        match_pairs(small, query, settings=only_city, target="stage.none", fields=two)
    assert "no blocking rule" in info.value.message
    assert "birthday, name" in (info.value.hint or "")


def test_blocking_rules_from_toml_lists() -> None:
    settings = MatchingSettings.model_validate({"blocking": [["name", "name", "city"]]})
    assert settings.blocking == (("name", "city"),)
