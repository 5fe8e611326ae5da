"""The Spark dialect of the matching SQL: each transform does what its docstring says."""

from __future__ import annotations

import pytest

from tagwise.identity.dialect import to_spark
from tagwise.identity.standardize import standardized
from tagwise.settings import MatchingSettings


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


def test_the_standardization_translates_without_a_duckdb_only_construct_left() -> None:
    spark = to_spark(standardized("raw", MatchingSettings()))
    for duckdb_only in ("regexp_matches", "starts_with", "{Han}", "\\\\1", ", 'g')"):
        assert duckdb_only not in spark
