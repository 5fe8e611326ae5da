"""The comparisons of probabilistic matching: levels over the standardized columns, each
with its fixed m probability (splink's ``comparison_levels``)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["COMPARISONS", "TF_COLUMNS", "Level"]


@dataclass(frozen=True, slots=True)
class Level:
    """One comparison level: its condition over ``<column>_l`` / ``<column>_r`` and its m."""

    label: str
    """Shown in splink's charts and in reviews."""
    sql: str
    """Condition in DuckDB SQL over the standardized columns; ``ELSE`` for the last level."""
    m: float
    """Probability that a true pair lands in this level (fixed, not trained)."""
    is_exact: bool = False
    """Exact agreement: the u of the pair is the term frequency of the shared value."""
    is_neutral: bool = False
    """Evidence already counted by another comparison: weight 0 (m is set equal to u)."""


def _same(*parts: str) -> str:
    return " AND ".join(f"{part}(birthday_l) = {part}(birthday_r)" for part in parts)


_BIRTHDAY_ONE_FIELD = (
    f"({_same('year', 'month')}) OR ({_same('year', 'day')}) OR ({_same('month', 'day')})"
    f" OR ({_same('year')} AND month(birthday_l) = day(birthday_r)"
    " AND day(birthday_l) = month(birthday_r))"
)


_CITY_COMPATIBLE = "(city_l = city_r OR city_l IS NULL OR city_r IS NULL)"


_ADDRESS_CLOSE = (
    "levenshtein(address_l, address_r) <= 2 AND least(length(address_l), length(address_r)) >= 6"
)


COMPARISONS: dict[str, tuple[Level, ...]] = {
    "name": (
        Level("exact", "name_l = name_r", 0.92, is_exact=True),
        Level("one character differs", "damerau_levenshtein(name_l, name_r) <= 1", 0.075),
        Level("different", "ELSE", 0.005),
    ),
    "birthday": (
        Level("exact", "birthday_l = birthday_r", 0.95, is_exact=True),
        Level("one field differs, or day and month swapped", _BIRTHDAY_ONE_FIELD, 0.04),
        Level("different", "ELSE", 0.01),
    ),
    "address": (
        Level(
            "exact (without the administrative prefix), same city",
            f"address_l = address_r AND {_CITY_COMPATIBLE}",
            0.84,
            is_exact=True,
        ),
        Level(
            "up to two characters differ (Levenshtein), same city",
            f"{_ADDRESS_CLOSE} AND {_CITY_COMPATIBLE}",
            0.05,
        ),
        Level("different", "ELSE", 0.11),
    ),
    "city": (
        Level(
            "exact, and the address agrees (counted there)",
            f"city_l = city_r AND (address_l = address_r OR ({_ADDRESS_CLOSE}))",
            0.0,
            is_neutral=True,
        ),
        Level("exact", "city_l = city_r", 0.9, is_exact=True),
        Level("different", "ELSE", 0.1),
    ),
}
"""The comparison of each standardized column, most specific level first (a NULL on
either side is a neutral level before these). The m values are the shares of true pairs
in each level for typical channel data: a one-character typo in a few percent of names,
a birthday off by one field in a few percent, people who moved. The same street address
in two cities is no agreement, and a city adds nothing to an agreeing address (the two
are not independent: all records at one address share the city)."""


TF_COLUMNS = tuple(c for c, levels in COMPARISONS.items() if any(lv.is_exact for lv in levels))
"""The columns with an exact level: their u is a term frequency."""
