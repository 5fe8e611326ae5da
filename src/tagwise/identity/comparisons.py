"""The comparisons of probabilistic matching: levels over the standardized fields, per
comparison kind (splink's ``comparison_levels``), with the m each level starts from.

Each ``match_on`` field has a kind (:class:`~tagwise.spec.sources.MatchKind`); its levels
are written over ``<field>_l`` / ``<field>_r``, most specific first (a NULL on either side
is a neutral level before these). The m values here are where training starts
(:mod:`~tagwise.identity.training` re-estimates them by expectation maximisation on the
candidate pairs); the u values are measured (:mod:`~tagwise.identity.statistics`).
Damerau–Levenshtein distances count a transposition of two letters as one edit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from tagwise.identity.standardize import swapped
from tagwise.spec.sources import MatchField, MatchKind

__all__ = ["DEFAULT_FIELDS", "Level", "comparisons", "dependencies", "tf_fields"]


@dataclass(frozen=True, slots=True)
class Level:
    """One comparison level: its condition over ``<field>_l`` / ``<field>_r`` and its m."""

    label: str
    """Shown in splink's charts, in reviews and in ``tagwise identity model``."""
    sql: str
    """Condition in DuckDB SQL over the standardized fields; ``ELSE`` for the last level."""
    m: float
    """Probability that a true pair lands in this level, before training."""
    is_exact: bool = False
    """Exact agreement: the u of the pair is the term frequency of the shared value."""
    is_neutral: bool = False
    """Evidence already counted by another comparison: weight 0 (m is set equal to u)."""


DEFAULT_FIELDS = (
    MatchField("name", ("name",), MatchKind.NAME),
    MatchField("birthday", ("birthday",), MatchKind.DATE),
    MatchField("city", ("city",), MatchKind.CITY),
    MatchField("address", ("address",), MatchKind.ADDRESS),
)
"""The fields of a records query with the columns name, birthday, city and address."""


def _dl(field: str, edits: int, *, right: str | None = None) -> str:
    """At most ``edits`` Damerau–Levenshtein edits between ``<field>_l`` and
    ``<field>_r`` (or the column ``right``). The length and Levenshtein tests first are
    implied by it (a transposition is two Levenshtein edits) and much cheaper: most pairs
    fail them, so the slow distance runs on few."""
    left, right = f"{field}_l", right or f"{field}_r"
    return (
        f"abs(length({left}) - length({right})) <= {edits}"
        f" AND levenshtein({left}, {right}) <= {2 * edits}"
        f" AND damerau_levenshtein({left}, {right}) <= {edits}"
    )


def _shortest(field: str, length: int) -> str:
    return f"least(length({field}_l), length({field}_r)) >= {length}"


def _date(field: str) -> tuple[Level, ...]:
    def same(*parts: str) -> str:
        return " AND ".join(f"{part}({field}_l) = {part}({field}_r)" for part in parts)

    one_field = (
        f"({same('year', 'month')}) OR ({same('year', 'day')}) OR ({same('month', 'day')})"
        f" OR ({same('year')} AND month({field}_l) = day({field}_r)"
        f" AND day({field}_l) = month({field}_r))"
    )
    return (
        Level("exact", f"{field}_l = {field}_r", 0.88, is_exact=True),
        Level("one field differs, or day and month swapped", one_field, 0.08),
        Level("different", "ELSE", 0.04),
    )


def _name(field: str, *, swapped: bool = False) -> tuple[Level, ...]:
    """A name; with ``swapped`` (two parts), each level also holds with the other
    record's parts the other way round (``<field>__swapped_r``)."""
    other = f"{field}__swapped_r"

    def either(condition: str, turned: str) -> str:
        return f"(({condition}) OR ({turned}))" if swapped else condition

    part_of = (
        f"{_shortest(field, 3)} AND (strpos({field}_l, {field}_r) > 0"
        f" OR strpos({field}_r, {field}_l) > 0)"
    )
    levels = [Level("exact", f"{field}_l = {field}_r", 0.85, is_exact=True)]
    if swapped:
        levels.append(Level("given name and surname swapped", f"{field}_l = {other}", 0.03))
    return (
        *levels,
        Level(
            "one edit (a typo or two letters swapped)",
            either(_dl(field, 1), _dl(field, 1, right=other)),
            0.08,
        ),
        Level(
            "two edits, names of five or more characters",
            f"{either(_dl(field, 2), _dl(field, 2, right=other))} AND {_shortest(field, 5)}",
            0.03,
        ),
        Level("one is part of the other (a part missing)", part_of, 0.02),
        Level("different", "ELSE", 0.02),
    )


def _string(field: str) -> tuple[Level, ...]:
    return (
        Level("exact", f"{field}_l = {field}_r", 0.9, is_exact=True),
        Level("one edit", _dl(field, 1), 0.05),
        Level(
            "two edits, six or more characters", f"{_dl(field, 2)} AND {_shortest(field, 6)}", 0.02
        ),
        Level("different", "ELSE", 0.03),
    )


def _exact(field: str) -> tuple[Level, ...]:
    return (
        Level("exact", f"{field}_l = {field}_r", 0.95, is_exact=True),
        Level("different", "ELSE", 0.05),
    )


def _id(field: str) -> tuple[Level, ...]:
    return (
        Level("exact", f"{field}_l = {field}_r", 0.95, is_exact=True),
        Level("one typo (an edit or two characters swapped)", _dl(field, 1), 0.04),
        Level("different", "ELSE", 0.01),
    )


def _numeric(field: str) -> tuple[Level, ...]:
    def within(share: float) -> str:
        return f"abs({field}_l - {field}_r) <= {share!r} * greatest(abs({field}_l), abs({field}_r))"

    return (
        Level("exact", f"{field}_l = {field}_r", 0.9, is_exact=True),
        Level("within 1 %", within(0.01), 0.05),
        Level("within 10 %", within(0.1), 0.03),
        Level("different", "ELSE", 0.02),
    )


def _city_typo(city: str) -> str:
    """A typo apart: one edit, or two in names of six or more characters."""
    return f"(({_dl(city, 1)}) OR ({_dl(city, 2)} AND {_shortest(city, 6)}))"


def _city_compatible(city: str | None) -> str:
    if city is None:
        return "TRUE"
    return f"({city}_l = {city}_r OR {city}_l IS NULL OR {city}_r IS NULL OR {_city_typo(city)})"


def _address_close(field: str) -> str:
    return f"{_dl(field, 2)} AND {_shortest(field, 6)}"


def _address(field: str, city: str | None) -> tuple[Level, ...]:
    where = ", same city (or a typo apart)" if city is not None else ""
    return (
        Level(
            f"exact (without the administrative prefix){where}",
            f"{field}_l = {field}_r AND {_city_compatible(city)}",
            0.8,
            is_exact=True,
        ),
        Level(
            f"up to two edits{where}",
            f"{_address_close(field)} AND {_city_compatible(city)}",
            0.08,
        ),
        Level("different", "ELSE", 0.12),
    )


def _city(field: str, address: str | None) -> tuple[Level, ...]:
    levels = []
    if address is not None:
        agrees = f"({address}_l = {address}_r OR ({_address_close(address)}))"
        levels.append(
            Level(
                "agrees, and the address agrees (counted there)",
                f"({field}_l = {field}_r OR {_city_typo(field)}) AND {agrees}",
                0.0,
                is_neutral=True,
            )
        )
    return (
        *levels,
        Level("exact", f"{field}_l = {field}_r", 0.85, is_exact=True),
        Level(
            "a typo apart (two edits for six or more characters)",
            f"{_city_typo(field)} AND {_shortest(field, 4)}",
            0.05,
        ),
        Level("different", "ELSE", 0.10),
    )


_BY_KIND = {
    MatchKind.DATE: _date,
    MatchKind.EXACT: _exact,
    MatchKind.STRING: _string,
    MatchKind.ID: _id,
    MatchKind.NUMERIC: _numeric,
}


def comparisons(fields: Sequence[MatchField]) -> dict[str, tuple[Level, ...]]:
    """The levels of each field. An address is compared within the first city field (the
    same street address in two cities is no agreement), and a city adds nothing to an
    agreeing address (all records at one address share the city)."""
    city = next((f.name for f in fields if f.kind is MatchKind.CITY), None)
    address = next((f.name for f in fields if f.kind is MatchKind.ADDRESS), None)
    out: dict[str, tuple[Level, ...]] = {}
    for field in fields:
        kind, name = field.kind, field.name
        if kind is MatchKind.ADDRESS:
            out[name] = _address(name, city if name == address else None)
        elif kind is MatchKind.CITY:
            out[name] = _city(name, address if name == city else None)
        elif kind is MatchKind.NAME:
            out[name] = _name(name, swapped=swapped(field))
        else:
            out[name] = _BY_KIND[kind](name)
    return out


def dependencies(fields: Sequence[MatchField]) -> dict[str, tuple[str, ...]]:
    """The fields whose levels depend on another field's agreement: the first city's
    neutral level is decided by the first address (``city`` → ``("address",)``)."""
    city = next((f.name for f in fields if f.kind is MatchKind.CITY), None)
    address = next((f.name for f in fields if f.kind is MatchKind.ADDRESS), None)
    return {city: (address,)} if city is not None and address is not None else {}


def tf_fields(levels: dict[str, tuple[Level, ...]]) -> tuple[str, ...]:
    """The fields with an exact level: their u is a term frequency."""
    return tuple(f for f, lv in levels.items() if any(level.is_exact for level in lv))
