"""The Spark dialect of the matching SQL: each transform does what its docstring says."""

from __future__ import annotations

import pytest
from tests.identity.persons_support import FIELDS

from tagwise.identity.comparisons import DEFAULT_FIELDS, comparisons
from tagwise.identity.dialect import to_spark
from tagwise.identity.standardize import standardized
from tagwise.settings import MatchingSettings
from tagwise.spec.sources import MatchField, MatchKind


def test_the_han_script_is_named_as_java_names_it() -> None:
    spark = to_spark(r"SELECT regexp_replace(a, '^\p{Han}[^\P{Han}x]', '', 'g') FROM t")
    assert r"\\p{IsHan}" in spark and r"\\P{IsHan}" in spark
    assert "{Han}" not in spark


def test_group_references_in_replacements_use_a_dollar() -> None:
    spark = to_spark(r"SELECT regexp_replace(city, '^(.{2,})市$', '\1', 'g') FROM t")
    assert "'$1'" in spark
    # the pattern keeps its own backslashes: only the replacement changes
    assert to_spark(r"SELECT regexp_replace(a, '\d', 'x', 'g') FROM t").count("$") == 0


def test_hash_becomes_xxhash64_and_keeps_its_arguments() -> None:
    spark = to_spark("SELECT hash(name, birthday) AS k FROM t")
    assert "XXHASH64(NAME, BIRTHDAY)" in spark.upper()
    assert "HASH(" not in spark.upper().replace("XXHASH64(", "")


def test_sqlglot_writes_the_functions_spark_spells_differently() -> None:
    spark = to_spark("SELECT starts_with(a, b), regexp_matches(a, 'x') FROM t").upper()
    assert "STARTSWITH(A, B)" in spark
    assert "A RLIKE 'X'" in spark


def test_a_first_match_only_replacement_is_refused() -> None:
    with pytest.raises(ValueError, match="without 'g'"):
        to_spark("SELECT regexp_replace(a, 'x', 'y') FROM t")


@pytest.mark.parametrize("fields", [DEFAULT_FIELDS, FIELDS], ids=["default", "derived"])
def test_the_standardization_translates_without_a_duckdb_only_construct_left(fields) -> None:
    spark = to_spark(standardized("raw", fields, MatchingSettings().blocking))
    for duckdb_only in ("regexp_matches", "starts_with", "{Han}", "\\\\1", ", 'g')"):
        assert duckdb_only not in spark


def test_every_comparison_level_translates() -> None:
    """Each kind's levels (the SQL splink and training run on Spark) parse and write in
    Spark's dialect with Spark's names for the functions."""
    every = [MatchField(kind.value, (kind.value,), kind) for kind in MatchKind] + list(FIELDS[:1])
    for field, levels in comparisons(every).items():
        for level in levels:
            if level.sql == "ELSE":
                continue
            spark = to_spark(f"SELECT CASE WHEN {level.sql} THEN 1 END FROM t")
            assert "STRPOS" not in spark.upper(), (field, spark)
            assert "damerau_levenshtein" in spark.lower() or "DAMERAU" not in level.sql
