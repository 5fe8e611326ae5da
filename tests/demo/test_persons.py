"""The generator of corrupted persons (FEBRL-like) against independent checks of its data."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd
import pytest

from tagwise.demo.persons import COLUMNS, Kind, generate_persons


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    persons = generate_persons(6_000, seed=4)
    df = persons.records.to_pandas()
    df["person"] = persons.person
    df["kinds"] = persons.kinds
    df["corruptions"] = persons.corruptions
    return df


def _damerau(a: str, b: str) -> int:
    """Optimal string alignment distance (a transposition is one edit), brute force."""
    d = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(len(a) + 1):
        d[i][0] = i
    for j in range(len(b) + 1):
        d[0][j] = j
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
    return d[len(a)][len(b)]


def test_same_seed_same_records_other_seed_other_records() -> None:
    a, b, c = (generate_persons(2_000, seed=s) for s in (1, 1, 2))
    assert a.records.equals(b.records)
    assert np.array_equal(a.person, b.person) and np.array_equal(a.kinds, b.kinds)
    assert not a.records.equals(c.records)


def test_shape_and_duplicates_per_person(frame: pd.DataFrame) -> None:
    assert list(frame.columns[: len(COLUMNS)]) == list(COLUMNS)
    assert frame["rid"].tolist() == list(range(len(frame)))
    sizes = frame.groupby("person").size()
    assert sizes.min() >= 1 and sizes.max() <= 6  # an original and up to five duplicates
    assert set(range(1, 7)) <= set(sizes.unique())
    # one original per person (the uncorrupted record)
    originals = frame[frame.kinds == 0].groupby("person").size()
    assert (originals == 1).all() and len(originals) == len(sizes)


def test_every_corruption_kind_occurs_alone(frame: pd.DataFrame) -> None:
    for kind in Kind:
        assert ((frame.kinds == int(kind)) & (frame.corruptions == 1)).sum() > 50, kind
    assert set(frame.corruptions[frame.kinds == 0]) == {0}
    assert set(frame.corruptions[frame.kinds > 0]) == {1, 2, 3}


def _with_original(frame: pd.DataFrame, kind: Kind) -> pd.DataFrame:
    original = frame[frame.kinds == 0].set_index("person")
    dups = frame[(frame.kinds == int(kind)) & (frame.corruptions == 1)]
    return dups.join(original, on="person", rsuffix="_o")


def test_a_typo_or_transposition_is_one_edit_in_one_text_field(frame: pd.DataFrame) -> None:
    fields = ("given_name", "surname", "address_1", "suburb")
    for kind in (Kind.TYPO, Kind.TRANSPOSITION):
        rows = _with_original(frame, kind)
        for _, row in rows.iterrows():
            changed = [f for f in fields if row[f] != row[f + "_o"]]
            assert len(changed) <= 1
            # a transposition of doubled letters or of a one-letter word may change nothing
            for f in changed:
                assert _damerau(row[f], row[f + "_o"]) == 1, (kind, row[f], row[f + "_o"])
        changed_rows = sum(any(r[f] != r[f + "_o"] for f in fields) for _, r in rows.iterrows())
        assert changed_rows >= 0.95 * len(rows)


def test_swapped_missing_abbreviated_and_dates(frame: pd.DataFrame) -> None:
    swapped = _with_original(frame, Kind.SWAPPED_NAMES)
    assert (swapped.given_name.fillna("") == swapped.surname_o.fillna("")).all()
    assert (swapped.surname.fillna("") == swapped.given_name_o.fillna("")).all()
    missing = _with_original(frame, Kind.MISSING)
    nulls = missing[[c for c in COLUMNS[1:] if c != "state"]].isna().sum(axis=1)
    assert (nulls == 1).all()
    abbreviated = _with_original(frame, Kind.ABBREVIATION)
    assert (abbreviated.address_1 != abbreviated.address_1_o).all()
    street = abbreviated.address_1.str.split(" ").str[0]
    assert (street == abbreviated.address_1_o.str.split(" ").str[0]).all()
    dates = _with_original(frame, Kind.DATE)
    assert (dates.date_of_birth != dates.date_of_birth_o).all()

    def valid(text: str) -> bool:
        try:
            datetime.strptime(text, "%Y%m%d")
        except ValueError:
            return False
        return len(text) == 8

    assert all(valid(t) for t in frame[frame.kinds == 0].date_of_birth)
    impossible = sum(not valid(t) for t in dates.date_of_birth)
    assert 0 < impossible < len(dates)  # some corrupted dates cannot be dates at all


def test_scores_are_counted_against_the_truth() -> None:
    persons = generate_persons(3_000, seed=9)
    person = persons.person
    left, right = [], []
    for p in np.unique(person):
        members = np.flatnonzero(person == p)
        for i in range(len(members)):
            for j in range(i + 1, len(members)):
                left.append(members[i])
                right.append(members[j])
    perfect = persons.score(left, right)
    assert perfect.precision == 1.0 and perfect.recall == 1.0
    assert perfect.true == len(left) == persons.true_pair_count()
    stranger = int(np.flatnonzero(person != person[0])[0])
    mixed = persons.score([left[0], 0], [right[0], stranger])
    assert (mixed.found, mixed.correct, mixed.precision) == (2, 1, 0.5)
    for kind in Kind:
        by_kind = persons.score_kind(kind, left, right)
        once = (persons.kinds == int(kind)) & (persons.corruptions == 1)
        assert by_kind.recall == 1.0 and by_kind.true == once.sum()
