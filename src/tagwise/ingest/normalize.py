"""Standardization and validation of raw values, as DuckDB macros and SQL per column.

Raw text is standardized on the way in: full-width characters become half-width and
whitespace is trimmed and collapsed (``tw_text``); a string column keeps the line breaks of a
quoted multi-line CSV field (``tw_string``: CRLF and CR become LF, each line is trimmed and
collapsed, leading and trailing blank lines are dropped); dates and timestamps accept the common
Chinese business formats (``2024-01-05``, ``2024/1/5``, ``20240105``, ``2024年1月5日``, with
or without a time); phone numbers become E.164 (``+8613800138000``); emails are trimmed
and lower-cased; gender spellings (男/女/M/F/male/female/1/2) become ``M``/``F``/``U``;
booleans accept true/false/yes/no/是/否/1/0; numbers accept thousands separators and
currency signs. A value that is present but does not parse is a problem of the row.

The macros are static SQL (no user text); :func:`column_plan` builds, for one declared
column, the SQL of its standardized value and of each check, quoting every name.
"""

from __future__ import annotations

from dataclasses import dataclass

from tagwise.spec.sources import ColumnSpec, ColumnType
from tagwise.store.sql import ident, lit, lit_list

__all__ = ["DATE_FORMATS", "MACROS", "TIMESTAMP_FORMATS", "ColumnPlan", "column_plan"]

_ALNUM = [c for c in range(0x21, 0x7F) if chr(c).isalnum()]
_FULL_ALNUM = "".join(chr(c + 0xFEE0) for c in _ALNUM) + "\u3000\u00a0"
_HALF_ALNUM = "".join(chr(c) for c in _ALNUM) + "  "
_NEEDS_CLEANING = r"[\x{FF01}-\x{FF5E}\x{3000}\x{00A0}\x{FEFF}]|\s\s|[\t\n\r\v\f]|^\s|\s$"
"""RE2 pattern of values that tw_text would change: full-width or odd whitespace."""
_FULL_PUNCT = "".join(chr(c + 0xFEE0) for c in range(0x21, 0x7F) if c not in _ALNUM)
_HALF_PUNCT = "".join(chr(c) for c in range(0x21, 0x7F) if c not in _ALNUM)

DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%Y年%m月%d日", "%Y.%m.%d")
"""Accepted date layouts (month and day may have one digit)."""

_TIMES = (" %H:%M:%S", "", " %H:%M", "T%H:%M:%S", " %H:%M:%S.%f", "T%H:%M:%S.%f")
TIMESTAMP_FORMATS = tuple(d + t for d in DATE_FORMATS for t in _TIMES)
"""Accepted timestamp layouts: a date layout, optionally followed by a time (common first)."""

_MALE = ("男", "m", "male", "1", "男性", "先生")
_FEMALE = ("女", "f", "female", "2", "女性", "女士")
_UNKNOWN = ("u", "unknown", "0", "未知", "保密", "其他")
_TRUE = ("true", "t", "yes", "y", "1", "是", "对", "有")
_FALSE = ("false", "f", "no", "n", "0", "否", "不是", "无")


def _tuple(values: tuple[str, ...]) -> str:
    return "(" + ", ".join(lit(v) for v in values) + ")"


MACROS = f"""
-- translate() with a long character list is slow in DuckDB; most values hold no full-width
-- character, so a cheap regexp decides whether to run it at all
CREATE OR REPLACE TEMP MACRO tw_half(v) AS CASE
    WHEN regexp_matches(v, '[\\x{{FF01}}-\\x{{FF5E}}\\x{{3000}}\\x{{00A0}}\\x{{FEFF}}]')
    THEN translate(replace(v, '\ufeff', ''), {lit(_FULL_ALNUM)}, {lit(_HALF_ALNUM)})
    ELSE v END;
-- the fast path: one regexp finds values that need no cleaning at all (the vast majority)
CREATE OR REPLACE TEMP MACRO tw_text(v) AS CASE
    WHEN regexp_matches(v, {lit(_NEEDS_CLEANING)})
    THEN nullif(trim(regexp_replace(tw_half(v), '\\s+', ' ', 'g')), '')
    ELSE nullif(v, '') END;
-- a string keeps its line breaks (a quoted multi-line CSV field): each line is cleaned
CREATE OR REPLACE TEMP MACRO tw_lines(t) AS nullif(trim(regexp_replace(regexp_replace(
    regexp_replace(t, '\\r\\n?', chr(10), 'g'), '[^\\S\\n]+', ' ', 'g'), ' ?\\n ?', chr(10), 'g'),
    ' ' || chr(10)), '');
CREATE OR REPLACE TEMP MACRO tw_string(v) AS CASE
    WHEN regexp_matches(v, '[\\r\\n]') THEN tw_lines(tw_half(v)) ELSE tw_text(v) END;
CREATE OR REPLACE TEMP MACRO tw_present(v) AS
    coalesce(regexp_matches(v, '[^\\s\\x{{3000}}\\x{{00A0}}\\x{{FEFF}}]'), FALSE);
CREATE OR REPLACE TEMP MACRO tw_ascii_of(t) AS CASE
    WHEN regexp_matches(t, '[\\x{{FF01}}-\\x{{FF5E}}]')
    THEN translate(t, {lit(_FULL_PUNCT)}, {lit(_HALF_PUNCT)}) ELSE t END;
CREATE OR REPLACE TEMP MACRO tw_ascii(v) AS tw_ascii_of(tw_text(v));
CREATE OR REPLACE TEMP MACRO tw_parse_ts(t) AS
    CAST(try_strptime(t, {lit_list(TIMESTAMP_FORMATS)}) AS TIMESTAMP);
CREATE OR REPLACE TEMP MACRO tw_day_of(t) AS try_cast(
    regexp_extract(t, '^[0-9]{{4}}[^0-9]?[0-9]{{1,2}}[^0-9]?([0-9]{{1,2}})', 1) AS INTEGER);
-- strptime rolls 2023-02-30 over to March: keep a parse only if the day is the one written
CREATE OR REPLACE TEMP MACRO tw_checked_ts(t, ts) AS CASE WHEN day(ts) = tw_day_of(t) THEN ts END;
CREATE OR REPLACE TEMP MACRO tw_timestamp(v) AS
    tw_checked_ts(tw_ascii(v), tw_parse_ts(tw_ascii(v)));
CREATE OR REPLACE TEMP MACRO tw_date(v) AS CAST(tw_timestamp(v) AS DATE);
CREATE OR REPLACE TEMP MACRO tw_digits(v) AS regexp_replace(tw_ascii(v), '[\\s\\-().]', '', 'g');
CREATE OR REPLACE TEMP MACRO tw_phone_e164(d, cc) AS CASE
    WHEN regexp_full_match(d, '\\+[1-9][0-9]{{6,14}}') THEN d
    WHEN regexp_full_match(d, '00[1-9][0-9]{{6,14}}') THEN '+' || d[3:]
    WHEN cc = '86' AND regexp_full_match(d, '861[3-9][0-9]{{9}}') THEN '+' || d
    WHEN cc = '86' AND regexp_full_match(d, '1[3-9][0-9]{{9}}') THEN '+86' || d
    WHEN cc = '86' AND regexp_full_match(d, '0[1-9][0-9]{{8,10}}') THEN '+86' || d[2:]
    WHEN cc <> '86' AND regexp_full_match(d, '0?[1-9][0-9]{{5,11}}') THEN '+' || cc || ltrim(d, '0')
    END;
CREATE OR REPLACE TEMP MACRO tw_phone(v, cc) AS tw_phone_e164(tw_digits(v), cc);
CREATE OR REPLACE TEMP MACRO tw_email(v) AS CASE
    WHEN regexp_full_match(lower(replace(tw_ascii(v), ' ', '')),
        '[a-z0-9._%+\\-]+@[a-z0-9\\-]+(\\.[a-z0-9\\-]+)*\\.[a-z]{{2,}}')
    THEN lower(replace(tw_ascii(v), ' ', '')) END;
CREATE OR REPLACE TEMP MACRO tw_gender(v) AS CASE
    WHEN lower(tw_text(v)) IN {_tuple(_MALE)} THEN 'M'
    WHEN lower(tw_text(v)) IN {_tuple(_FEMALE)} THEN 'F'
    WHEN lower(tw_text(v)) IN {_tuple(_UNKNOWN)} THEN 'U' END;
CREATE OR REPLACE TEMP MACRO tw_bool(v) AS CASE
    WHEN lower(tw_text(v)) IN {_tuple(_TRUE)} THEN TRUE
    WHEN lower(tw_text(v)) IN {_tuple(_FALSE)} THEN FALSE END;
CREATE OR REPLACE TEMP MACRO tw_number_text(v) AS
    regexp_replace(tw_ascii(v), '^[¥￥$]|[,\\s]|元$', '', 'g');
CREATE OR REPLACE TEMP MACRO tw_number(v) AS CASE
    WHEN isfinite(try_cast(tw_number_text(v) AS DOUBLE))
    THEN try_cast(tw_number_text(v) AS DOUBLE) END;
CREATE OR REPLACE TEMP MACRO tw_integer(v) AS coalesce(
    CASE WHEN regexp_full_match(tw_number_text(v), '[+-]?[0-9]+')
         THEN try_cast(tw_number_text(v) AS BIGINT) END,
    CASE WHEN tw_number(v) = floor(tw_number(v)) AND abs(tw_number(v)) < 9.0e15
         THEN CAST(tw_number(v) AS BIGINT) END);
"""  # noqa: S608 (fixed macro text)
"""Standardizing macros, installed on every warehouse connection that ingests."""


_INTEGER_TYPES = {
    "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT",
    "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT", "UHUGEINT",
}  # fmt: skip
_FLOAT_TYPES = {"FLOAT", "DOUBLE", "REAL"}

_TEXT_MACROS = {
    ColumnType.STRING: ("tw_string({v})", "VARCHAR"),
    ColumnType.INTEGER: ("tw_integer({v})", "BIGINT"),
    ColumnType.NUMBER: ("tw_number({v})", "DOUBLE"),
    ColumnType.BOOLEAN: ("tw_bool({v})", "BOOLEAN"),
    ColumnType.DATE: ("tw_date({v})", "DATE"),
    ColumnType.TIMESTAMP: ("tw_timestamp({v})", "TIMESTAMP"),
    ColumnType.PHONE: ("tw_phone({v}, {cc})", "VARCHAR"),
    ColumnType.EMAIL: ("tw_email({v})", "VARCHAR"),
    ColumnType.GENDER: ("tw_gender({v})", "VARCHAR"),
}

_INVALID = {
    ColumnType.STRING: "not text",
    ColumnType.INTEGER: "not an integer",
    ColumnType.NUMBER: "not a number",
    ColumnType.BOOLEAN: "not a yes/no value",
    ColumnType.DATE: "not a valid date",
    ColumnType.TIMESTAMP: "not a valid date and time",
    ColumnType.PHONE: "not a valid phone number",
    ColumnType.EMAIL: "not a valid email address",
    ColumnType.GENDER: "not a recognized gender",
}
"""The reason recorded when a present value does not parse as the declared type."""


@dataclass(frozen=True, slots=True)
class ColumnPlan:
    """The SQL for one declared column over a raw relation, in two levels.

    The inner level computes each expensive expression once per row (``value``,
    ``present``); the checks are cheap predicates over those results, referenced by the
    column aliases ``value_alias`` and ``present_alias``.
    """

    name: str
    value: str
    """Standardized, typed value (inner level)."""
    present: str
    """True when the raw value is not empty (inner level)."""
    raw: str
    """The raw value as text, for the quarantine (inner level)."""
    checks: tuple[tuple[str, str], ...]
    """(condition over the aliases that is true when the row is bad, reason) (outer level)."""
    warnings: tuple[tuple[str, str], ...] = ()
    """(condition that is true when the value was kept as null, reason): a value that does
    not parse, or is outside the column's ``values``/``min``/``max``, in a column whose
    ``on_invalid`` is null (outer level)."""
    kept: str | None = None
    """Outer-level expression of the loaded value when it differs from the parsed one (a
    value outside the range of an ``on_invalid: null`` column is loaded as null)."""

    @property
    def loaded(self) -> str:
        """The outer select item of the loaded value, named ``value_alias``."""
        if self.kept is None:
            return self.value_alias
        return f"{self.kept} AS {self.value_alias}"

    @property
    def warning_reason_alias(self) -> str:
        """Quoted name of the reason of a value kept as null (NULL otherwise)."""
        return ident(f"_warnwhy_{self.name}")

    @property
    def warning_alias(self) -> str:
        """Quoted name of the raw text of a value kept as null (NULL otherwise)."""
        return ident(f"_warn_{self.name}")

    @property
    def value_alias(self) -> str:
        """Quoted name of the value column between the levels."""
        return ident(self.name)

    @property
    def present_alias(self) -> str:
        """Quoted name of the presence flag between the levels."""
        return ident(f"_present_{self.name}")

    @property
    def raw_alias(self) -> str:
        """Quoted name of the raw text between the levels."""
        return ident(f"_raw_{self.name}")


def column_plan(
    name: str, spec: ColumnSpec, *, raw_column: str, physical: str, country_code: str
) -> ColumnPlan:
    """Plan one column read from ``raw_column`` whose type in the raw relation is ``physical``."""
    raw = ident(raw_column)
    is_text = physical.upper() == "VARCHAR"
    parsed = _value(spec.type, raw, physical.upper(), country_code)
    present = f"tw_present({raw})" if is_text else f"({raw} IS NOT NULL)"
    policy = spec.invalid_policy()
    value = parsed if policy == "reject" else f"CASE WHEN {present} THEN {parsed} END"
    v, p = ident(name), ident(f"_present_{name}")
    checks: list[tuple[str, str]] = []
    warnings: list[tuple[str, str]] = []
    if spec.required:
        checks.append((f"NOT {p}", "missing required value"))
    ranges = _range_checks(spec, v)
    kept = None
    if policy == "reject":
        checks.append((f"{p} AND {v} IS NULL", _INVALID[spec.type]))
        checks.extend(ranges)
    else:
        warnings.append((f"{p} AND {v} IS NULL", _INVALID[spec.type]))
        warnings.extend(ranges)
        if ranges:  # the outer level reads the parsed value: FROM columns win over aliases
            outside = " OR ".join(f"coalesce({c}, FALSE)" for c, _ in ranges)
            kept = f"CASE WHEN {outside} THEN NULL ELSE {v} END"
    raw_text = raw if is_text else f"CAST({raw} AS VARCHAR)"
    return ColumnPlan(
        name=name,
        value=value,
        present=present,
        raw=raw_text,
        checks=tuple(checks),
        warnings=tuple(warnings),
        kept=kept,
    )


def _value(ctype: ColumnType, raw: str, physical: str, country_code: str) -> str:
    native = _native(ctype, raw, physical)
    if native is not None:
        return native
    text = raw if physical == "VARCHAR" else f"CAST({raw} AS VARCHAR)"
    template, _ = _TEXT_MACROS[ctype]
    return template.format(v=text, cc=lit(country_code))


def _native(ctype: ColumnType, raw: str, physical: str) -> str | None:
    """SQL for a raw column whose engine type already fits the declared type."""
    base = physical.split("(", maxsplit=1)[0]
    kind = (
        "int" if base in _INTEGER_TYPES
        else "float" if base in _FLOAT_TYPES or base == "DECIMAL"
        else "temporal" if base == "DATE" or base.startswith("TIMESTAMP")
        else "bool" if base == "BOOLEAN"
        else None
    )  # fmt: skip
    template = _NATIVE.get((ctype, kind)) if kind else None
    return template.format(v=raw) if template else None


_NATIVE: dict[tuple[ColumnType, str], str] = {
    (ColumnType.INTEGER, "int"): "CAST({v} AS BIGINT)",
    (ColumnType.INTEGER, "float"): "CASE WHEN {v} = floor({v}) THEN CAST({v} AS BIGINT) END",
    (ColumnType.NUMBER, "int"): "CAST({v} AS DOUBLE)",
    (
        ColumnType.NUMBER,
        "float",
    ): "CASE WHEN isfinite(CAST({v} AS DOUBLE)) THEN CAST({v} AS DOUBLE) END",
    (ColumnType.BOOLEAN, "bool"): "{v}",
    (ColumnType.DATE, "temporal"): "CAST({v} AS DATE)",
    (ColumnType.TIMESTAMP, "temporal"): "CAST({v} AS TIMESTAMP)",
    (ColumnType.STRING, "int"): "CAST({v} AS VARCHAR)",
    (ColumnType.STRING, "float"): "CAST({v} AS VARCHAR)",
    (ColumnType.STRING, "bool"): "CAST({v} AS VARCHAR)",
}
"""Declared type × engine type → SQL that needs no text parsing (typed Parquet, databases)."""


def _range_checks(spec: ColumnSpec, value: str) -> list[tuple[str, str]]:
    checks: list[tuple[str, str]] = []
    if spec.values is not None:
        allowed = "(" + ", ".join(lit(v) for v in spec.values) + ")"
        checks.append((f"({value}) NOT IN {allowed}", "not an allowed value"))
    if spec.min is not None:
        checks.append((f"({value}) < {lit(spec.min)}", f"below the minimum {spec.min:g}"))
    if spec.max is not None:
        checks.append((f"({value}) > {lit(spec.max)}", f"above the maximum {spec.max:g}"))
    return checks
