"""The statistics of the Fellegi–Sunter model, counted without sampling at random.

The u of an exact level is the term frequency of the shared value among the other records
(王伟 counts for less than a rare name); the other u probabilities are counted on a
sample of random pairs: a fixed pseudo-random pairing of the records (a multiplicative
hash of ``rid``), so that the same records give the same sample on every engine (splink's
``estimate_u_using_random_sampling`` without its random generator). The m probabilities
are trained by :mod:`~tagwise.identity.training`; the prior comes from the number of
pairs that agree exactly on every field with an exact level, divided by the share of true
pairs expected to do so (:func:`prior`). All counts are integers, so the order in which
threads add them up cannot matter.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from tagwise.identity.comparisons import Level

if TYPE_CHECKING:
    from tagwise.identity.backends import Backend

__all__ = [
    "U_SAMPLE_PAIRS",
    "prior",
    "sample_pairs",
    "term_frequencies",
    "u_probabilities",
]

U_SAMPLE_PAIRS = 1_000_000
"""Random pairs that measure the u of non-exact levels (splink's default ``max_pairs``)."""


def term_frequencies(db: Backend, column: str, person: str | None = None) -> float:
    """Create ``tf_<column>(<column>, n, tf_<column>)``: for each value, how many people
    hold it and the share of the *other* people that do, ``(n - 1) / (N - 1)``. That share
    is the u of a pair agreeing on the value; counting the record itself (splink's
    default) would make a name seen twice look twice as common as it is.

    People, not records: with ``person`` (another field, such as the birthday for a name),
    the records of one value that agree on it count once, so the five duplicate records
    of one person do not make that person's rare name look common (a record without that
    field counts alone). Returns ``1 / (N - 1)``, the smallest possible u."""
    key = (
        "unique_id"
        if person is None
        else f"coalesce(CAST({person} AS VARCHAR), 'r' || CAST(unique_id AS VARCHAR))"
    )
    db.create(
        f"tf_{column}",
        f"SELECT {column}, count(DISTINCT {key}) AS n FROM records"  # noqa: S608 (fixed column names)
        f" WHERE {column} IS NOT NULL GROUP BY {column}",
    )
    (total,) = db.row(f"SELECT coalesce(sum(n), 0) FROM tf_{column}")  # noqa: S608 (fixed column names)
    others = max(int(total) - 1, 1)
    db.create(
        f"tf_{column}",
        f"SELECT {column}, n, CAST(n - 1 AS DOUBLE) / {others} AS tf_{column} FROM tf_{column}",  # noqa: S608 (fixed column names)
    )
    return 1.0 / others


def sample_pairs(db: Backend, count: int, fields: Sequence[str]) -> str:
    """Create ``sample``: up to :data:`U_SAMPLE_PAIRS` random pairs of records (nearly all
    non-matches), as splink's ``estimate_u_using_random_sampling`` draws them, but from a
    fixed multiplicative hash of the record id instead of a random generator, so that the
    same records give the same pairs on every engine. The records are split by the hash
    into two halves, each in hash order; record ``i`` of the first half is paired with
    records ``i, i + 1, …`` (cyclically) of the second, as many as the sample needs
    (``rid`` is a non-negative INTEGER, so the product fits in a BIGINT)."""
    del count  # the halves are counted below
    scrambled = "(CAST(unique_id AS BIGINT) * CAST(2654435761 AS BIGINT)) % 4294967291"
    db.create(
        "halves",
        f"SELECT *, row_number() OVER (PARTITION BY h % 2 ORDER BY h, unique_id) AS pos"  # noqa: S608 (fixed column names)
        f" FROM (SELECT *, {scrambled} AS h FROM records) AS hashed",
    )
    first, second = (
        int(db.row(f"SELECT count(*) FROM halves WHERE h % 2 = {half}")[0])  # noqa: S608 (fixed column names)
        for half in (0, 1)
    )
    if not first or not second:
        db.create(
            "sample",
            f"SELECT {', '.join(f'a.{c} AS {c}_l, a.{c} AS {c}_r' for c in fields)}"  # noqa: S608 (fixed column names)
            " FROM halves a WHERE FALSE",
        )
        return "sample"
    offsets = min(math.ceil(U_SAMPLE_PAIRS / first), first, second)
    db.create(
        "sample",
        f"""
        WITH a AS (SELECT * FROM halves WHERE h % 2 = 0),
            b AS (SELECT * FROM halves WHERE h % 2 = 1),
            o AS (SELECT pos - 1 AS k FROM a WHERE pos <= {offsets})
        SELECT {", ".join(f"a.{c} AS {c}_l, b.{c} AS {c}_r" for c in fields)}
        FROM a JOIN o ON o.k * {first} + a.pos <= {U_SAMPLE_PAIRS}
        JOIN b ON b.pos = (a.pos - 1 + o.k) % {second} + 1
        """,  # noqa: S608 (fixed column names)
    )
    return "sample"


def u_probabilities(
    db: Backend, column: str, levels: Sequence[Level], sample: str, *, tf: bool
) -> list[float]:
    """u of each level: an exact level's from the value frequencies (the chance that two
    random non-null values agree), the others' from the sample pairs. Integer counts, so
    the result does not depend on the order in which threads (or executors) add up."""
    agree, total = (
        db.row(f"SELECT coalesce(sum(n * (n - 1)), 0), coalesce(sum(n), 0) FROM tf_{column}")  # noqa: S608 (fixed column names)
        if tf
        else (0, 0)
    )
    cases = " ".join(f"WHEN {lv.sql} THEN {i}" for i, lv in enumerate(levels) if lv.sql != "ELSE")
    rows = db.rows(
        f"SELECT CASE {cases} ELSE {len(levels) - 1} END AS level, count(*) AS n FROM {sample}"  # noqa: S608 (fixed column names)
        f" WHERE {column}_l IS NOT NULL AND {column}_r IS NOT NULL"
        f" GROUP BY CASE {cases} ELSE {len(levels) - 1} END"
    )
    counts = {int(level): int(n) for level, n in rows}
    pairs = sum(counts.values())
    floor = 1.0 / (pairs + 1)  # a level never seen in the sample is rarer than one in it
    exact = max(float(agree) / float(total * (total - 1)), 1e-12) if total > 1 else floor
    u = [
        exact if lv.is_exact else max(counts.get(i, 0) / pairs if pairs else 0.0, floor)
        for i, lv in enumerate(levels)
    ]
    u[-1] = max(1.0 - sum(u[:-1]), floor)
    return u


def prior(db: Backend, count: int, exact: dict[str, float]) -> float:
    """Probability that two random records match: the pairs that agree exactly on every
    field of ``exact`` (field → the m of its exact level), divided by the share of true
    pairs expected to (the product of those m and of each field's share of record pairs
    where both values are present) and by the number of all pairs. Few pairs agree on many
    fields, so the estimate uses at most the three fields present in most records."""
    present = {
        column: float(db.row(f"SELECT count({column}) FROM records")[0]) / max(count, 1)  # noqa: S608 (fixed column names)
        for column in exact
    }
    chosen = sorted(exact, key=lambda c: (-present[c], list(exact).index(c)))[:3]
    if not chosen:
        return min(1.0 / max(count, 2), 0.5)
    both = " AND ".join(f"{c} IS NOT NULL" for c in chosen)
    twice = db.row(
        f"SELECT coalesce(sum(c * (c - 1)), 0) FROM (SELECT count(*) AS c FROM records"  # noqa: S608 (fixed column names)
        f" WHERE {both} GROUP BY hash({', '.join(chosen)})) AS groups"
    )[0]
    exact_pairs = int(twice) // 2
    all_pairs = count * (count - 1) / 2
    share = math.prod(exact[c] * present[c] ** 2 for c in chosen)
    return min(max(float(exact_pairs), 1.0) / max(share, 1e-6) / all_pairs, 0.5)
