"""Standardization of the compared fields before matching, and the block keys.

Names lose whitespace (also full-width) and get full-width letters made half-width and
lower case; cities lose whitespace and a trailing 市; addresses get full-width digits and
letters made half-width, lose whitespace and the leading administrative prefix (own
city, province, city, district), so ``北京市朝阳区建国路８８号 3单元502室`` and
``建国路88号3单元502室`` agree. Each blocking rule becomes one hashed key column.

The SQL is DuckDB's; :func:`tagwise.identity.dialect.to_spark` derives Spark's.
Patterns are written in the regular-expression syntax RE2 and Java share, but for the
differences that dialect's transforms handle.
"""

from __future__ import annotations

from collections.abc import Sequence

from tagwise.spec.sources import MatchField, MatchKind
from tagwise.store.sql import lit

__all__ = [
    "block_key",
    "key_part",
    "part_column",
    "rule_fields",
    "standard_columns",
    "standardized",
]


def key_part(item: str) -> tuple[str, int | None]:
    """A blocking rule's item: ``field`` (the whole standardized value) or ``field:N``
    (its first N characters), as (field, N or None)."""
    field, _, prefix = item.partition(":")
    return field, int(prefix) if prefix else None


def rule_fields(rule: Sequence[str]) -> tuple[str, ...]:
    """The fields a blocking rule's items read."""
    return tuple(dict.fromkeys(key_part(item)[0] for item in rule))


def _key_sql(item: str) -> str:
    field, prefix = key_part(item)
    return field if prefix is None else f"substr(CAST({field} AS VARCHAR), 1, {prefix})"


def swapped(field: MatchField) -> bool:
    """Whether ``field`` is a name of two parts (given name, surname), compared in both
    orders: ``<name>__swapped`` holds its parts the other way round."""
    return field.kind is MatchKind.NAME and len(field.columns) == 2


def compared_columns(fields: Sequence[MatchField]) -> tuple[str, ...]:
    """The standardized columns the comparison levels read (``<name>__swapped`` too)."""
    return tuple(
        column
        for f in fields
        for column in ((f.name, f"{f.name}__swapped") if swapped(f) else (f.name,))
    )


def standard_columns(fields: Sequence[MatchField]) -> tuple[str, ...]:
    """The standardized columns, before the block keys."""
    return ("unique_id", *compared_columns(fields))


def part_column(field: MatchField, index: int) -> str:
    """The records query's column of part ``index`` of ``field``: the field's name when it
    has one column, ``<name>__<index + 1>`` when it joins several."""
    return field.name if len(field.columns) == 1 else f"{field.name}__{index + 1}"


_WHITESPACE = r"[\t\n\f\r \p{Z}]+"
"""Whitespace: RE2's ``\\s`` and every Unicode separator (written out: Java's ``\\s`` would
also take the vertical tab)."""
# a leading province, city and district (浦东新区, 朝阳区, 某某县), but not the 小区 or
# 开发区 that may start an address: the character before 区 must not be one of those
_ADMIN_PREFIX = (
    r"^(?:\p{Han}{2,6}?省)?(?:\p{Han}{2,6}?市)?"
    r"(?:\p{Han}{0,5}?[^小社园校景发业范验税贸矿厂营\P{Han}](?:新区|区|县))?"
)
_FULL_WIDTH_CLASS = "[０-９Ａ-Ｚａ-ｚ]"
_FULL_WIDTH = "".join(chr(c) for c in (*range(0xFF10, 0xFF1A), *range(0xFF21, 0xFF3B)))
_FULL_WIDTH += "".join(chr(c) for c in range(0xFF41, 0xFF5B))
_HALF_WIDTH = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
# the record's own city is cut from the front of its address, unless it names a road
# (中山路 in 中山, 北京路 in 北京)
_ROAD_START = "^(路|街|大街|大道|道|巷|里|弄|胡同)"


def standardized(
    source: str, fields: Sequence[MatchField], blocking: Sequence[Sequence[str]]
) -> str:
    """The SELECT of ``unique_id``, one column per field and ``block_0 …`` over ``source``."""
    city = next((f.name for f in fields if f.kind is MatchKind.CITY), None)
    clean = ", ".join(_clean(f) for f in fields)
    final = ", ".join(_final(f, city) for f in fields)
    keys = ", ".join(
        f"CASE WHEN {_all_present(rule_fields(rule))} THEN hash("
        f"{', '.join(_key_sql(item) for item in rule)}) END AS {block_key(i)}"
        for i, rule in enumerate(blocking)
    )
    return f"""
        WITH clean AS (
            SELECT rid AS unique_id, {clean} FROM {source}
        ), standard AS (
            SELECT unique_id, {final} FROM clean
        )
        SELECT *, {keys} FROM standard
    """  # noqa: S608 (fixed column names, literals by lit())


def _text(column: str) -> str:
    """Half-width, without whitespace, lower case."""
    return f"lower({_replace(_half_width(column), _WHITESPACE, '')})"


def _final(field: MatchField, city: str | None) -> str:
    """The standardized column(s) of a field from its cleaned value (or parts)."""
    name = field.name
    if field.kind is MatchKind.ADDRESS:
        return f"{_address(name, city)} AS {name}"
    if swapped(field):
        a, b = f"{name}__p1", f"{name}__p2"
        return (
            f"CASE WHEN {a} IS NULL THEN {b} WHEN {b} IS NULL THEN {a} ELSE {a} || {b} END"
            f" AS {name}, CASE WHEN {a} IS NOT NULL AND {b} IS NOT NULL THEN {b} || {a} END"
            f" AS {name}__swapped"
        )
    return name


def _clean(field: MatchField) -> str:
    """One field's cleaned value from its part(s) (NULL when empty), as ``<field>``; a
    name of two parts as ``<field>__p1`` and ``<field>__p2``."""
    parts = [part_column(field, i) for i in range(len(field.columns))]
    kind, name = field.kind, field.name
    if kind is MatchKind.DATE:
        return f"CAST({parts[0]} AS DATE) AS {name}"
    if kind is MatchKind.NUMERIC:
        return f"CAST({parts[0]} AS DOUBLE) AS {name}"
    if kind is MatchKind.CITY:
        city = _replace(_replace(parts[0], _WHITESPACE, ""), "(?s)^(.{2,})市$", "\\1")
        return f"nullif(lower({city}), '') AS {name}"
    if kind is MatchKind.NAME:
        spaceless = [_replace(_half_width(p), _WHITESPACE, "") for p in parts]
        cleaned = [f"nullif(lower(translate({p}, '•・', '··')), '')" for p in spaceless]
        if swapped(field):
            return f"{cleaned[0]} AS {name}__p1, {cleaned[1]} AS {name}__p2"
        return f"nullif(concat_ws('', {', '.join(cleaned)}), '') AS {name}"
    cleaned = [_text(p) for p in parts]
    joined = cleaned[0] if len(cleaned) == 1 else f"concat_ws('', {', '.join(cleaned)})"
    if kind is MatchKind.ID:
        joined = _replace(joined, "[-_./]", "")
    return f"nullif({joined}, '') AS {name}"


def _address(address: str, city: str | None) -> str:
    """The address without the administrative prefix (province, city, district) nor,
    when a city field is compared, the record's own city at its start."""
    if city is not None:
        rest = f"substr({address}, length({city}) + 1)"
        cut = (
            f"CASE WHEN starts_with({address}, {city}) AND NOT {_matches(rest, _ROAD_START)}"
            f" THEN {_replace(rest, '^市', '')} ELSE {address} END"
        )
    else:
        cut = address
    return f"nullif({_replace(cut, _ADMIN_PREFIX, '')}, '')"


def _half_width(column: str) -> str:
    # translate() is slow on long mappings, so only for the few values that need it
    return (
        f"CASE WHEN {_matches(column, _FULL_WIDTH_CLASS)}"
        f" THEN translate({column}, {lit(_FULL_WIDTH)}, {lit(_HALF_WIDTH)})"
        f" ELSE {column} END"
    )


def _all_present(columns: Sequence[str]) -> str:
    return " AND ".join(f"{c} IS NOT NULL" for c in columns)


def block_key(index: int) -> str:
    """The column of the block key of rule ``index``."""
    return f"block_{index}"


def _replace(value: str, pattern: str, replacement: str) -> str:
    """Every match of ``pattern`` in ``value`` replaced (``\\1`` refers to a group)."""
    return f"regexp_replace({value}, {lit(pattern)}, {lit(replacement)}, 'g')"


def _matches(value: str, pattern: str) -> str:
    """Whether ``pattern`` occurs in ``value``."""
    return f"regexp_matches({value}, {lit(pattern)})"
