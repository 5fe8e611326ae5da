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
    "SourceFormat",
    "SourceSpec",
    "SourcesSpec",
    "Survivorship",
    "load_sources",
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
    on_invalid: Literal["reject", "null"] = "reject"
    """What to do with a value that does not parse: reject the row, or load it as null."""
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
"""Fields probabilistic matching compares, mapped to master columns by ``match_on``."""

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
    match_on: dict[str, str] | None = None
    """Customer master only: columns compared by probabilistic matching
    (name, birthday, city, address); absent: no probabilistic matching."""

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
        for field, column in (self.match_on or {}).items():
            if field not in MATCH_FIELDS:
                msg = f"match_on field `{field}` is not one of {', '.join(MATCH_FIELDS)}"
                raise ValueError(msg)
            if column not in self.columns:
                msg = f"match_on column `{column}` is not declared under columns"
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
            "from",
        ]
        raise_all(spec_errors(exc, doc, prefix=at, known=fields))
        raise  # unreachable: a validation error has at least one problem
