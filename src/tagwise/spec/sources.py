"""``sources.yaml``: where raw data lives and the schema it must have.

Example::

    sources:
      customers:
        role: customers              # the customer master: assigns each customer a cid
        path: customers.csv          # relative to the workspace data folder; globs allowed
        customer_key: customer_id
        primary_key: [customer_id]
        columns:
          customer_id: {type: string, required: true, from: 客户编号}
          phone: {type: phone, from: 手机号}
      orders:
        path: orders.parquet
        customer_key: customer_id    # rows whose customer is unknown are quarantined
        primary_key: [order_id]
        columns: ...
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from tagwise.errors import NotFound, SpecError, did_you_mean
from tagwise.spec.load import Document, load_yaml, raise_all, spec_errors

__all__ = [
    "MATCH_FIELDS",
    "ColumnSpec",
    "ColumnType",
    "GoldenSpec",
    "MatchField",
    "MatchFieldSpec",
    "MatchKind",
    "SourceFormat",
    "SourceSpec",
    "SourcesSpec",
    "Survivorship",
    "load_sources",
    "match_type_problems",
]

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


class ColumnType(StrEnum):
    """Declared column types; the standardizing ones normalize the raw text."""

    STRING = "string"
    INTEGER = "integer"
    NUMBER = "number"
    BOOLEAN = "boolean"
    DATE = "date"
    TIMESTAMP = "timestamp"
    PHONE = "phone"
    EMAIL = "email"
    GENDER = "gender"


class SourceFormat(StrEnum):
    """How a source is read."""

    CSV = "csv"
    PARQUET = "parquet"
    JSONL = "jsonl"
    SQL = "sql"


_SUFFIX_FORMATS = {
    ".csv": SourceFormat.CSV,
    ".tsv": SourceFormat.CSV,
    ".txt": SourceFormat.CSV,
    ".parquet": SourceFormat.PARQUET,
    ".pq": SourceFormat.PARQUET,
    ".jsonl": SourceFormat.JSONL,
    ".ndjson": SourceFormat.JSONL,
    ".json": SourceFormat.JSONL,
}


_COMPRESSED = {".gz"}
"""Compression suffixes DuckDB reads transparently for CSV and JSON lines."""


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class ColumnSpec(_Spec):
    """One declared column of a source."""

    type: ColumnType = ColumnType.STRING
    from_: str | None = Field(default=None, alias="from")
    """The column's name in the file when it differs (e.g. a Chinese header)."""
    required: bool = False
    values: tuple[str, ...] | None = None
    """Allowed values (after standardization); anything else is rejected."""
    min: float | None = None
    max: float | None = None
    on_invalid: Literal["reject", "null"] | None = None
    """What to do with a value that does not parse or breaks ``values``/``min``/``max``:
    reject the row, or load it as null and record a warning with the raw value in the
    quarantine. Default: reject when the
    column is required (or a key), null otherwise, so that a bad optional value (an
    impossible birthday) does not lose the customer."""

    def invalid_policy(self) -> Literal["reject", "null"]:
        """``on_invalid``, or its default for this column."""
        if self.on_invalid is not None:
            return self.on_invalid
        return "reject" if self.required else "null"

    description: str = ""


class Survivorship(StrEnum):
    """How the golden record picks one value of an attribute among a customer's records."""

    FIRST_NON_NULL = "first_non_null"
    """The oldest record's value (records are numbered in order of arrival)."""
    MOST_RECENT = "most_recent"
    """The value of the record with the latest ``order_by``."""
    MOST_FREQUENT = "most_frequent"
    """The value most records agree on (ties: the oldest record's)."""
    SOURCE_PRIORITY = "source_priority"
    """The value of the record whose ``priority.column`` comes first in ``priority.order``."""


class PrioritySpec(_Spec):
    """Which records are trusted first: by the value of one column (e.g. the channel)."""

    column: str
    order: tuple[str, ...]


class GoldenSpec(_Spec):
    """Survivorship rules of the customer master's golden record."""

    default: Survivorship = Survivorship.FIRST_NON_NULL
    rules: dict[str, Survivorship] = Field(default_factory=dict)
    """Per column; the others use ``default``."""
    order_by: str | None = None
    """The date/timestamp column that decides ``most_recent``."""
    priority: PrioritySpec | None = None

    def rule(self, column: str) -> Survivorship:
        """The rule of one column."""
        return self.rules.get(column, self.default)


MATCH_FIELDS = ("name", "birthday", "city", "address")
"""The fields of the default blocking rules; ``match_on`` may declare any others."""


class MatchKind(StrEnum):
    """How probabilistic matching compares one field (its standardization and levels)."""

    NAME = "name"
    """A person's name: exact, one or two edits apart, parts in another order."""
    DATE = "date"
    """A date: exact, one of year / month / day differs or day and month swapped."""
    EXACT = "exact"
    """Agreement only (with term frequencies: a rare value counts for more)."""
    STRING = "string"
    """Free text: exact, one or two edits apart (Damerau–Levenshtein)."""
    NUMERIC = "numeric"
    """A number: exact, within 1 %, within 10 %."""
    ID = "id"
    """An id-like code (a card number, a postcode): exact, or one typo apart."""
    ADDRESS = "address"
    """A street address: exact or two edits apart, in a compatible city."""
    CITY = "city"
    """A city: counts only when the address does not already agree."""


_DEFAULT_KINDS = {
    "name": MatchKind.NAME,
    "birthday": MatchKind.DATE,
    "city": MatchKind.CITY,
    "address": MatchKind.ADDRESS,
}
_MULTI_PART = {MatchKind.NAME, MatchKind.ADDRESS, MatchKind.STRING, MatchKind.EXACT, MatchKind.ID}
"""Kinds that a field may derive from several columns (their texts are joined)."""


class MatchFieldSpec(_Spec):
    """One field of ``match_on`` in its long form: the column(s) and the comparison kind."""

    column: str | None = None
    columns: tuple[str, ...] = ()
    """Several columns joined into one field (given name + surname; street number +
    street + postcode), in this order."""
    kind: MatchKind | None = None
    """Default: by the field's name (name, birthday → date, city, address), else by the
    column's type (date, number → numeric, phone / email → id, text → string)."""

    @model_validator(mode="after")
    def _one_source(self) -> MatchFieldSpec:
        if (self.column is None) == (not self.columns):
            msg = "a match_on field needs `column` or `columns` (not both)"
            raise ValueError(msg)
        return self

    @property
    def parts(self) -> tuple[str, ...]:
        """The column(s) of the field."""
        return (self.column,) if self.column is not None else self.columns


@dataclass(frozen=True, slots=True)
class MatchField:
    """A resolved ``match_on`` field: its name, the master's column(s) and its kind."""

    name: str
    columns: tuple[str, ...]
    kind: MatchKind


_IDENTITY_TYPE = re.compile(r"^[a-z][a-z0-9_]*$")


class SourceSpec(_Spec):
    """One source: location, format and declared schema."""

    name: str
    role: Literal["customers", "records"] = "records"
    format: SourceFormat | None = None
    path: str | list[str] | None = None
    url: str | None = None
    """SQLAlchemy URL, for ``format: sql``."""
    table: str | None = None
    query: str | None = None
    encoding: str = "utf-8"
    delimiter: str = ","
    customer_key: str | None = None
    primary_key: tuple[str, ...] = ()
    columns: dict[str, ColumnSpec]
    time_column: str | None = None
    """The date/timestamp column that feature windows and ``days_since_*`` count on."""
    description: str = ""
    owner: str = ""
    identity: dict[str, str] = Field(default_factory=dict)
    """Columns holding identifiers, mapped to identity types (phone, email, member_id,
    wechat_openid, wechat_unionid, device_id, id_number, or any snake_case name)."""
    golden: GoldenSpec | None = None
    """Customer master only: survivorship rules of the golden record."""
    match_on: dict[str, str | MatchFieldSpec] | None = None
    """Customer master only: the fields probabilistic matching compares, each a column
    (``name: full_name``) or ``{column | columns, kind}``; absent: no probabilistic
    matching."""

    @field_validator("time_column")
    @classmethod
    def _time_column(cls, value: str | None, info: ValidationInfo) -> str | None:
        columns = info.data.get("columns")
        if value is None or columns is None:  # columns invalid: that error is reported
            return value
        if value not in columns:
            msg = f"time_column `{value}` is not declared under columns"
            raise ValueError(msg)
        if columns[value].type not in {ColumnType.DATE, ColumnType.TIMESTAMP}:
            msg = f"time_column `{value}` must have type date or timestamp"
            raise ValueError(msg)
        return value

    @model_validator(mode="after")
    def _consistent(self) -> SourceSpec:
        for name in self.columns:
            if not _NAME.match(name):
                msg = (
                    f"column name `{name}` must be snake_case ascii "
                    "(use `from:` for the file's own name)"
                )
                raise ValueError(msg)
        for key in (*self.primary_key, *([self.customer_key] if self.customer_key else [])):
            if key not in self.columns:
                msg = f"key column `{key}` is not declared under columns"
                raise ValueError(msg)
        if self.role == "customers" and (
            self.customer_key is None or self.primary_key != (self.customer_key,)
        ):
            msg = "the customers source needs customer_key and primary_key: [<customer_key>]"
            raise ValueError(msg)
        self._check_identity()
        if self.resolved_format is SourceFormat.SQL:
            if not self.url or not (self.table or self.query):
                msg = "a sql source needs url and table (or query)"
                raise ValueError(msg)
        elif not self.path:
            msg = "a file source needs path"
            raise ValueError(msg)
        if len(self.delimiter) != 1:
            msg = "delimiter must be one character"
            raise ValueError(msg)
        return self

    def _check_identity(self) -> None:
        for column, kind in self.identity.items():
            if column not in self.columns:
                msg = f"identity column `{column}` is not declared under columns"
                raise ValueError(msg)
            if not _IDENTITY_TYPE.match(kind):
                msg = f"identity type `{kind}` of column `{column}` must be snake_case ascii"
                raise ValueError(msg)
        if self.identity and self.customer_key is None:
            msg = "identity columns need a customer_key (whose customer they identify)"
            raise ValueError(msg)
        if self.role != "customers" and (self.golden is not None or self.match_on is not None):
            msg = "golden and match_on belong to the customers source"
            raise ValueError(msg)
        for field, declared in (self.match_on or {}).items():
            if not _NAME.match(field):
                msg = f"match_on field `{field}` must be snake_case ascii"
                raise ValueError(msg)
            parts = (declared,) if isinstance(declared, str) else declared.parts
            for column in parts:
                if column not in self.columns:
                    msg = f"match_on column `{column}` is not declared under columns"
                    raise ValueError(msg)
            kind = self._match_kind(field, declared)
            if len(parts) > 1 and kind not in _MULTI_PART:
                msg = (
                    f"match_on field `{field}` of kind {kind.value} takes one column "
                    f"(several columns join into a name, address, string, exact or id field)"
                )
                raise ValueError(msg)
        if self.golden is not None:
            self._check_golden(self.golden)

    def _check_golden(self, golden: GoldenSpec) -> None:
        for column in golden.rules:
            if column not in self.columns:
                msg = f"golden rule for `{column}`, which is not declared under columns"
                raise ValueError(msg)
        used = {golden.default, *golden.rules.values()}
        if golden.order_by is not None:
            declared = self.columns.get(golden.order_by)
            if declared is None or declared.type not in {ColumnType.DATE, ColumnType.TIMESTAMP}:
                msg = f"golden order_by `{golden.order_by}` must be a declared date/timestamp"
                raise ValueError(msg)
        elif Survivorship.MOST_RECENT in used:
            msg = "golden rule most_recent needs `order_by: <date or timestamp column>`"
            raise ValueError(msg)
        if golden.priority is not None:
            if golden.priority.column not in self.columns:
                msg = f"golden priority column `{golden.priority.column}` is not declared"
                raise ValueError(msg)
        elif Survivorship.SOURCE_PRIORITY in used:
            msg = "golden rule source_priority needs `priority: {column: ..., order: [...]}`"
            raise ValueError(msg)

    def _match_kind(self, field: str, declared: str | MatchFieldSpec) -> MatchKind:
        if isinstance(declared, MatchFieldSpec) and declared.kind is not None:
            return declared.kind
        if field in _DEFAULT_KINDS:
            return _DEFAULT_KINDS[field]
        column = declared if isinstance(declared, str) else declared.parts[0]
        kind = self.columns[column].type
        if kind in {ColumnType.DATE, ColumnType.TIMESTAMP}:
            return MatchKind.DATE
        if kind in {ColumnType.INTEGER, ColumnType.NUMBER}:
            return MatchKind.NUMERIC
        if kind in {ColumnType.PHONE, ColumnType.EMAIL}:
            return MatchKind.ID
        return MatchKind.STRING

    @property
    def match_fields(self) -> tuple[MatchField, ...]:
        """The ``match_on`` fields, resolved (empty: no probabilistic matching)."""
        return tuple(
            MatchField(
                field,
                (declared,) if isinstance(declared, str) else declared.parts,
                self._match_kind(field, declared),
            )
            for field, declared in (self.match_on or {}).items()
        )

    @property
    def resolved_format(self) -> SourceFormat | None:
        """The declared format, or the one implied by the path's suffix (None if unknown)."""
        if self.format is not None:
            return self.format
        if self.url:
            return SourceFormat.SQL
        first = self.path[0] if isinstance(self.path, list) else (self.path or "")
        suffixes = [s.lower() for s in Path(first).suffixes]
        if suffixes and suffixes[-1] in _COMPRESSED:
            suffixes.pop()
        return _SUFFIX_FORMATS.get(suffixes[-1]) if suffixes else None

    @property
    def paths(self) -> list[str]:
        """Declared path patterns as a list."""
        if self.path is None:
            return []
        return list(self.path) if isinstance(self.path, list) else [self.path]

    def file_column(self, name: str) -> str:
        """The column's name in the raw data."""
        return self.columns[name].from_ or name


class SourcesSpec(_Spec):
    """All sources of a workspace, in declaration order."""

    sources: dict[str, SourceSpec]
    file: Path | None = None

    @property
    def customers(self) -> SourceSpec | None:
        """The customer master, if one is declared."""
        return next((s for s in self.sources.values() if s.role == "customers"), None)

    def ordered(self, names: list[str] | None = None) -> list[SourceSpec]:
        """Sources to ingest, the customer master first (others need its cids).

        Raises:
            SpecError: a requested name is not declared.
        """
        wanted = names or list(self.sources)
        for name in wanted:
            if name not in self.sources:
                raise NotFound(
                    f"source `{name}` is not declared in sources.yaml",
                    hint=did_you_mean(name, self.sources)
                    or f"declared sources: {', '.join(self.sources)}",
                )
        specs = [self.sources[n] for n in wanted]
        return sorted(specs, key=lambda s: s.role != "customers")


_KIND_TYPES = {
    MatchKind.DATE: ({ColumnType.DATE, ColumnType.TIMESTAMP}, "date"),
    MatchKind.NUMERIC: ({ColumnType.INTEGER, ColumnType.NUMBER}, "number"),
}
"""Kinds that need a declared type: the types that satisfy them and the type to declare."""


def match_type_problems(sources: SourcesSpec) -> list[SpecError]:
    """``match_on`` fields whose kind the declared column type cannot satisfy (a birthday
    declared as text but compared as a date). ``tagwise lint`` reports them; matching
    reads such values as missing wherever they do not parse, so ingest never fails on
    them."""
    master = sources.customers
    if master is None:
        return []
    doc = load_yaml(sources.file) if sources.file is not None and sources.file.exists() else None
    problems = []
    for field in master.match_fields:
        wanted = _KIND_TYPES.get(field.kind)
        if wanted is None:
            continue
        types, name = wanted
        for column in field.columns:
            declared = master.columns[column].type
            if declared not in types:
                at = ("sources", master.name, "match_on", field.name)
                problems.append(
                    SpecError(
                        f"match_on field `{field.name}` compares {field.kind.value}s, but "
                        f"column `{column}` is declared as {declared.value}",
                        location=doc.location(at) if doc is not None else None,
                        hint=f"declare `{column}` with `type: {name}` (a value that does not "
                        f"parse loads as null with a warning) or give the field another kind",
                    )
                )
    return problems


def load_sources(path: Path) -> SourcesSpec:
    """Load and validate ``sources.yaml``.

    Raises:
        SpecError: with file, line and column of each problem (a
            :class:`~tagwise.spec.load.SpecProblems` when there are several).
    """
    doc = load_yaml(path)
    raw = doc.data or {}
    if not isinstance(raw, dict) or not isinstance(raw.get("sources", {}), dict):
        raise SpecError("expected a mapping `sources:` of source names", location=doc.location(()))
    problems = [
        SpecError(f"unknown top-level key `{key}`", location=doc.location((key,)))
        for key in sorted(set(raw) - {"sources"})
    ]
    specs: dict[str, SourceSpec] = {}
    for name, body in (raw.get("sources") or {}).items():
        try:
            specs[str(name)] = _source(doc, str(name), body)
        except SpecError as exc:  # every source's problems, not only the first source's
            problems.append(exc)
    customers = [s.name for s in specs.values() if s.role == "customers"]
    if len(customers) > 1:
        problems.append(
            SpecError(
                f"only one source may have role customers, found {', '.join(customers)}",
                location=doc.location(("sources", customers[1], "role")),
            )
        )
    raise_all(problems)
    return SourcesSpec(sources=specs, file=path)


def _source(doc: Document, name: str, body: Any) -> SourceSpec:
    at = ("sources", name)
    if not _NAME.match(name):
        raise SpecError(f"source name `{name}` must be snake_case ascii", location=doc.location(at))
    if not isinstance(body, dict):
        raise SpecError(f"source `{name}` must be a mapping", location=doc.location(at))
    try:
        return SourceSpec.model_validate({**body, "name": name})
    except ValidationError as exc:
        fields = [
            *SourceSpec.model_fields,
            *ColumnSpec.model_fields,
            *GoldenSpec.model_fields,
            *MatchFieldSpec.model_fields,
            "from",
        ]
        raise_all(spec_errors(exc, doc, prefix=at, known=fields))
        raise  # unreachable: a validation error has at least one problem
