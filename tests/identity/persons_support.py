"""Shared by the tests and the benchmark: generated persons in a warehouse, Tagwise's
matching on them and a plain splink deduplication of the same fields as the baseline.

The four fields Tagwise matches on, derived from the generated columns the way a user
declares them in sources.yaml: ``name`` = given name + surname, ``birthday`` = the date of
birth read as ``YYYYMMDD`` (impossible dates are null), ``city`` = suburb, ``address`` =
street number + street.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from tagwise.demo.persons import PairScore, Persons
from tagwise.identity.matching import MatchReport, match_pairs
from tagwise.settings import MatchingSettings
from tagwise.spec.sources import MatchField, MatchKind
from tagwise.store.warehouse import Warehouse

TABLE = "stage.persons"
RECORDS = (
    "SELECT rid, given_name AS name__1, surname AS name__2,"
    " CAST(try_strptime(date_of_birth, '%Y%m%d') AS DATE) AS birthday,"
    " suburb AS city, street_number AS address__1, address_1 AS address__2"
    f" FROM {TABLE}"
)
"""The records query of the four fields over the generated columns (as resolution builds
it from ``match_on``)."""
FIELDS = (
    MatchField("name", ("given_name", "surname"), MatchKind.NAME),
    MatchField("birthday", ("date_of_birth",), MatchKind.DATE),
    MatchField("city", ("suburb",), MatchKind.CITY),
    MatchField("address", ("street_number", "address_1"), MatchKind.ADDRESS),
)
"""The ``match_on`` of those fields."""
SPLINK_THRESHOLD = 0.99
"""The baseline's merge threshold: the same as Tagwise's default ``upper``."""


@dataclass(frozen=True)
class Outcome:
    """Found pairs of one matcher and how long it took."""

    left: np.ndarray
    right: np.ndarray
    seconds: float
    details: dict[str, Any]

    def score(self, persons: Persons) -> PairScore:
        """Pairwise precision and recall against the truth."""
        return persons.score(self.left, self.right)


def load(wh: Warehouse, persons: Persons) -> None:
    """The generated records as :data:`TABLE`."""
    wh.con.register("__persons", persons.records)
    try:
        wh.execute(f"CREATE OR REPLACE TABLE {TABLE} AS SELECT * FROM __persons")
    finally:
        wh.con.unregister("__persons")


def tagwise_pairs(
    wh: Warehouse, settings: MatchingSettings | None = None, *, minimum: float | None = None
) -> tuple[Outcome, Outcome, MatchReport]:
    """Tagwise's matching with ``settings`` (default: the shipped ones): the merged pairs
    (``>= upper``) and the merged or queued ones (``>= lower``)."""
    chosen = settings or MatchingSettings()
    started = time.perf_counter()
    report = match_pairs(wh, RECORDS, settings=chosen, target="stage.tagwise_pairs", fields=FIELDS)
    seconds = time.perf_counter() - started
    out = []
    for threshold in (chosen.upper, minimum if minimum is not None else chosen.lower):
        rows = wh.con.execute(
            "SELECT rid_l, rid_r FROM stage.tagwise_pairs WHERE probability >= ?", [threshold]
        ).fetchnumpy()
        out.append(Outcome(rows["rid_l"], rows["rid_r"], seconds, {"threshold": threshold}))
    return out[0], out[1], report


def splink_pairs(persons: Persons, *, threshold: float = SPLINK_THRESHOLD) -> Outcome:
    """A plain splink 5 deduplication of the same four fields, trained the way splink's
    documentation recommends: the prior from a deterministic rule, u by random sampling,
    m by expectation maximisation under two blocking rules; off-the-shelf comparisons
    (names by Jaro-Winkler with term frequencies, the date of birth as written)."""
    import duckdb  # noqa: PLC0415
    import splink.comparison_library as cl  # noqa: PLC0415
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on  # noqa: PLC0415

    con = duckdb.connect()
    con.execute("SET threads = 2")
    con.register("__persons", persons.records)
    con.execute(
        "CREATE TABLE people AS SELECT rid AS unique_id,"
        " nullif(concat_ws(' ', given_name, surname), '') AS name,"
        " date_of_birth AS birthday, suburb AS city,"
        " nullif(concat_ws(' ', street_number, address_1), '') AS address FROM __persons"
    )
    con.unregister("__persons")
    started = time.perf_counter()
    db_api = DuckDBAPI(connection=con)
    spec = SettingsCreator(
        link_type="dedupe_only",
        comparisons=[
            cl.NameComparison("name").configure(term_frequency_adjustments=True),
            cl.DateOfBirthComparison("birthday", input_is_string=True, datetime_format="%Y%m%d"),
            cl.ExactMatch("city").configure(term_frequency_adjustments=True),
            cl.LevenshteinAtThresholds("address", [1, 3]),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("name"),
            block_on("birthday"),
            block_on("address"),
            block_on("city", "substr(name, 1, 2)"),
        ],
        retain_intermediate_calculation_columns=False,
        retain_matching_columns=False,
    )
    linker = Linker(db_api.register("people"), spec)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("name", "birthday", "address")], recall=0.7
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=1)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("name"))
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("birthday"))
    scored = linker.inference.predict(threshold_match_probability=threshold)
    rows = con.execute(f"SELECT unique_id_l, unique_id_r FROM {scored.physical_name}").fetchnumpy()
    seconds = time.perf_counter() - started
    con.close()
    left, right = rows["unique_id_l"], rows["unique_id_r"]
    lo, hi = np.minimum(left, right), np.maximum(left, right)
    return Outcome(lo, hi, seconds, {"threshold": threshold})


def as_table(persons: Persons) -> pa.Table:
    """The truth as a table: rid, person, kinds."""
    return pa.table(
        {
            "rid": pa.array(np.arange(len(persons.person), dtype=np.int32)),
            "person": pa.array(persons.person),
            "kinds": pa.array(persons.kinds),
        }
    )
