"""Workspace settings: defaults → ``tagwise.toml`` → ``TAGWISE_*`` environment → arguments.

Each setting is declared once here with a type, a default and a description; the docs
table and ``tagwise config`` derive from these declarations. Nothing is read at import time:
:meth:`Settings.load` builds the settings for one workspace.
"""

from __future__ import annotations

import re
import tomllib
from contextvars import ContextVar
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from tagwise.engine.registry import ENGINES, MATCHING_ENGINES
from tagwise.errors import ConfigError, Location

__all__ = [
    "CONFIG_FILE",
    "CatalogSettings",
    "EngineSettings",
    "IdentitySettings",
    "IndexSettings",
    "IngestSettings",
    "MatchingSettings",
    "NamingSettings",
    "Settings",
    "WarehouseSettings",
]

CONFIG_FILE = "tagwise.toml"
"""Name of the file that marks a folder as a workspace."""

if TYPE_CHECKING:  # mypy cannot read a Literal built at run time; pydantic can
    EngineName = str
    MatchingEngine = str
else:
    EngineName = Literal[tuple(ENGINES)]
    """An engine of :data:`tagwise.engine.registry.ENGINES`."""
    MatchingEngine = Literal[("auto", *MATCHING_ENGINES)]
    """``auto`` or an engine where record matching runs."""

_toml_data: ContextVar[dict[str, Any]] = ContextVar("_toml_data", default={})  # noqa: B039


class _Group(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CatalogSettings(_Group):
    """Where the catalog (taxonomy, versions, runs, users, audit) lives."""

    url: str = Field(
        default="sqlite:///.tagwise/catalog.sqlite",
        description="SQLAlchemy URL of the catalog; a relative SQLite path is relative to the "
        "workspace. Use postgresql+psycopg://user@host/db for a team server.",
    )

    @field_validator("url")
    @classmethod
    def _known_backend(cls, value: str) -> str:
        if not value.startswith(("sqlite", "postgresql")):
            msg = "catalog.url must be a sqlite:/// or postgresql+psycopg:// URL"
            raise ValueError(msg)
        return value


class WarehouseSettings(_Group):
    """The embedded DuckDB warehouse that holds sources, features and tag values."""

    path: str = Field(
        default=".tagwise/warehouse.duckdb",
        description="DuckDB database file, relative to the workspace.",
    )
    threads: int | None = Field(
        default=None, ge=1, description="DuckDB worker threads (default: all cores)."
    )
    memory_limit: str | None = Field(
        default="1500MB",
        description="DuckDB memory limit such as '1500MB', '8GB' or '50%'; work beyond it "
        "spills to disk. The default keeps a 1M-customer workspace under 2 GB; raise it for "
        "tens of millions of customers; null: DuckDB's default (80% of RAM).",
    )


class IndexSettings(_Group):
    """The segment index: roaring bitmaps of tag values, attributes and features."""

    path: str = Field(
        default=".tagwise/index",
        description="Folder of the segment index file, relative to the workspace.",
    )
    columns: list[str] = Field(
        default_factory=list,
        description="Attributes and features answered by the index instead of the warehouse "
        "(numbers get a bit-sliced index, strings and true/false one bitmap per value), e.g. "
        '["spend_365d", "city"]. Tags are always indexed.',
    )


class EngineSettings(_Group):
    """Where features and rules run; the tag store stays in the warehouse (docs/engines.md)."""

    name: EngineName = Field(
        default="duckdb",
        description="Compute engine of `tagwise run`: duckdb (the warehouse), postgres "
        "(sources are tables of a PostgreSQL database) or spark (sources are Parquet "
        "datasets); `tagwise run --engine` overrides.",
    )
    postgres_url: str | None = Field(
        default=None,
        description="postgres engine: SQLAlchemy/libpq URL of the database holding the "
        "sources, e.g. postgresql://user@host/db (install the extra: tagwise[postgres]).",
    )
    postgres_schema: str = Field(
        default="public",
        pattern=r"^[A-Za-z_][A-Za-z0-9_]*$",
        description="postgres engine: schema of the source tables (one table per source, "
        "named like the source); Tagwise adds its own schema `<schema>_tagwise`.",
    )

    spark_master: str = Field(
        default="local[*]",
        description="spark engine: master URL: local[*], spark://host:7077, yarn, k8s://… "
        "(install the extra: tagwise[spark]; Java 17).",
    )
    spark_sources: str | None = Field(
        default=None,
        description="spark engine: folder or URI holding one Parquet dataset per declared "
        "source (`<spark_sources>/<source>`), e.g. s3a://lake/crm.",
    )
    spark_format: Literal["parquet", "csv"] = Field(
        default="parquet",
        description="spark engine: format of the source datasets; CSV files have a header "
        "row with the declared column names and are read with the declared types.",
    )
    spark_work: str = Field(
        default=".tagwise/spark",
        description="spark engine: folder or URI for customer keys, profile snapshots and "
        "results; relative to the workspace.",
    )
    spark_partitions: int = Field(
        default=8, ge=1, description="spark engine: spark.sql.shuffle.partitions."
    )
    spark_conf: dict[str, str] = Field(
        default_factory=dict,
        description='spark engine: extra Spark settings, e.g. {"spark.executor.memory" = "8g"}.',
    )


class IngestSettings(_Group):
    """How raw rows are standardized on the way in."""

    country_code: str = Field(
        default="86",
        pattern=r"^[1-9][0-9]{0,2}$",
        description="Calling code added to national phone numbers when normalizing to E.164.",
    )
    data_dir: str = Field(
        default="data", description="Folder that relative source paths are resolved against."
    )


class NamingSettings(_Group):
    """Naming rules for tags, checked by ``tagwise lint`` and on apply (docs/tags.md)."""

    code_pattern: str = Field(
        default=r"^[a-z][a-z0-9_]{1,62}$",
        description="Regular expression every tag code must match (codes are unique snake_case).",
    )
    require_prefix: bool = Field(
        default=True,
        description="Display names start with their category's prefix and `_` (价值_消费等级).",
    )
    max_name_length: int = Field(
        default=20, ge=1, description="Longest display name, in characters (prefix included)."
    )
    vague_words: tuple[str, ...] = Field(
        default=("重要", "一般", "好", "优质", "高端", "核心", "潜力"),
        description="Words a display name may use only when the tag's rule has a numeric "
        "threshold.",
    )
    require_description: bool = Field(
        default=True, description="Every tag has a non-empty `description`."
    )
    require_owner: bool = Field(default=True, description="Every tag has a non-empty `owner`.")

    @field_validator("code_pattern")
    @classmethod
    def _valid_pattern(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            msg = f"naming.code_pattern is not a valid regular expression: {exc}"
            raise ValueError(msg) from exc
        return value


class MatchingSettings(_Group):
    """Probabilistic matching of records that share no strong identifier (splink).

    Records are compared on the master's ``match_on`` fields; each candidate pair gets a
    match probability (:mod:`tagwise.identity.matching`).
    """

    enabled: bool = Field(
        default=True,
        description="Match records without a shared strong identifier on the customer "
        "master's `match_on` fields.",
    )
    upper: float = Field(
        default=0.99,
        gt=0,
        lt=1,
        description="Pairs whose match probability is at or above this are merged.",
    )
    lower: float = Field(
        default=0.80,
        gt=0,
        lt=1,
        description="Pairs from this match probability up to `upper` go to the review "
        "queue; pairs below it are dropped.",
    )
    blocking: tuple[tuple[str, ...], ...] = Field(
        default=(
            ("name", "birthday"),
            ("name", "city"),
            ("name", "address"),
            ("birthday", "city"),
            ("birthday", "address"),
            ("city", "address"),
            ("name",),
            ("address",),
            ("birthday", "name:2"),
            ("birthday", "address:4"),
            ("city", "address:4"),
            ("name:2", "address:4"),
        ),
        description="Blocking rules over `match_on` fields: only records that agree on every "
        "item of at least one rule are compared (after standardization); an item is a field "
        "or `field:N`, its first N characters. The defaults pair every two of name, "
        "birthday, city and address, so a pair with typos in any two of them is still "
        "compared, and add name and address alone and rules on the first characters for "
        "pairs with more damage; rules naming a field the master does not compare are left "
        "out.",
    )
    max_block_size: int = Field(
        default=1000,
        ge=2,
        description="A blocking key shared by more records than this (a placeholder such "
        "as 1900-01-01 or 不详) pairs nobody; keeps one junk value from making millions of "
        "pairs.",
    )
    max_pairs_per_record: float = Field(
        default=1.0,
        gt=0,
        description="A blocking rule compares at most this many pairs per record: beyond "
        "that budget its largest blocks pair nobody by that rule (keeps a rule that suits "
        "one kind of data, such as the first characters of an address, from comparing "
        "millions of pairs on another).",
    )
    max_single_block_size: int = Field(
        default=100,
        ge=2,
        description="The same for the key of a one-field rule: a name, birthday or "
        "address alone shared by more records than this pairs nobody by that rule (the "
        "rules of two fields still compare those records).",
    )
    engine: MatchingEngine = Field(
        default="auto",
        description="Where splink runs: duckdb (an in-memory DuckDB beside the warehouse), "
        "spark (the session of `[engine] spark_master`; records and pairs pass as Parquet "
        "under `[engine] spark_work`), or auto: spark when `[engine] name` is spark, else "
        "duckdb. Both give the same pairs.",
    )

    @field_validator("lower")
    @classmethod
    def _not_above_upper(cls, value: float, info: ValidationInfo) -> float:
        upper = info.data.get("upper")
        if upper is not None and value > upper:
            msg = f"lower ({value}) must not be above upper ({upper})"
            raise ValueError(msg)
        return value

    @field_validator("blocking")
    @classmethod
    def _rules_not_empty(cls, value: tuple[tuple[str, ...], ...]) -> tuple[tuple[str, ...], ...]:
        if not value or not all(value):
            msg = "blocking needs at least one rule, and each rule at least one field"
            raise ValueError(msg)
        for rule in value:
            for name in rule:
                if not re.match(r"^[a-z][a-z0-9_]*(:[1-9][0-9]?)?$", name):
                    msg = (
                        f"blocking item `{name}` must be a snake_case match_on field name, "
                        "or field:N for its first N characters"
                    )
                    raise ValueError(msg)
        return tuple(tuple(dict.fromkeys(rule)) for rule in value)

    def block_limit(self, rule: tuple[str, ...] | list[str]) -> int:
        """The most records one block key of ``rule`` may hold."""
        if len(rule) == 1 and ":" not in rule[0]:
            return min(self.max_single_block_size, self.max_block_size)
        return self.max_block_size


class IdentitySettings(_Group):
    """How customer records are resolved into customers (``tagwise resolve``)."""

    strong: tuple[str, ...] = Field(
        default=(
            "phone",
            "email",
            "member_id",
            "wechat_unionid",
            "wechat_openid",
            "id_number",
            "device_id",
        ),
        description="Identity types whose shared value merges records; other declared "
        "types are collected and reported but never merge.",
    )
    personal: tuple[str, ...] = Field(
        default=("id_number", "member_id", "wechat_unionid", "wechat_openid"),
        description="Identity types that belong to one person: the family rules "
        "(`conflict_columns`, `name_distance`) that protect shared identifiers such as a "
        "family phone do not stop them from linking one person's duplicate records; only "
        "the cap applies.",
    )
    max_records: dict[str, int] = Field(
        default={"phone": 4, "email": 4, "device_id": 3, "wechat_openid": 2, "member_id": 2},
        description="Cap per identity type: a value shared by more people (a family phone, "
        "a shop's device, a placeholder such as 13800000000) links nobody and is reported. "
        "People, not records, are counted: records whose names are within a typo and whose "
        "conflict columns agree are one person.",
    )
    default_max_records: int = Field(
        default=4, ge=2, description="Cap of the types not listed in `max_records`."
    )
    conflict_columns: tuple[str, ...] = Field(
        default=("birthday",),
        description="Customer-master columns that must agree: a shared identifier whose "
        "records hold two different non-null values of one of them links nobody and is "
        "reported (a phone shared by family members).",
    )
    name_distance: int = Field(
        default=2,
        ge=0,
        description="Records sharing an identifier whose names (the master's `match_on` name) "
        "differ in at least this many edits (Damerau–Levenshtein: a transposition of two "
        "letters is one edit) are different people: the identifier links nobody and is "
        "reported (a family phone whose members' birthdays are missing); a one-character "
        "typo still links. 0: names are not compared.",
    )
    matching: MatchingSettings = Field(default_factory=MatchingSettings)

    def cap(self, kind: str) -> int:
        """The most records one value of ``kind`` may link."""
        return self.max_records.get(kind, self.default_max_records)


class _TomlSource(PydanticBaseSettingsSource):
    """Feeds the parsed ``tagwise.toml`` of the workspace being loaded."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        del field  # the interface passes it; the value depends on the name only
        return _toml_data.get().get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(_toml_data.get())


class Settings(BaseSettings):
    """All settings of one workspace."""

    model_config = SettingsConfigDict(
        env_prefix="TAGWISE_", env_nested_delimiter="__", extra="forbid", frozen=True
    )

    name: str = Field(default="tagwise", description="Workspace name shown in reports.")
    catalog: CatalogSettings = Field(default_factory=CatalogSettings)
    warehouse: WarehouseSettings = Field(default_factory=WarehouseSettings)
    engine: EngineSettings = Field(default_factory=EngineSettings)
    ingest: IngestSettings = Field(default_factory=IngestSettings)
    naming: NamingSettings = Field(default_factory=NamingSettings)
    identity: IdentitySettings = Field(default_factory=IdentitySettings)
    index: IndexSettings = Field(default_factory=IndexSettings)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Explicit arguments beat the environment, which beats ``tagwise.toml``.

        ``.env`` files and secret directories are not sources of workspace settings.
        """
        del dotenv_settings, file_secret_settings
        return init_settings, env_settings, _TomlSource(settings_cls)

    @classmethod
    def load(cls, root: Path, **overrides: Any) -> Settings:
        """Read the settings of the workspace at ``root``.

        Raises:
            ConfigError: the file is not valid TOML or a value is invalid.
        """
        path = root / CONFIG_FILE
        data = _read_toml(path)
        token = _toml_data.set(data)
        try:
            return cls(**overrides)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"])
            raise ConfigError(
                f"invalid setting `{where}`: {first['msg']}",
                location=Location(path),
                hint=f"fix `{where}` in {CONFIG_FILE} or the TAGWISE_* environment",
            ) from exc
        finally:
            _toml_data.reset(token)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        return {}
    except tomllib.TOMLDecodeError as exc:
        # Python 3.11 has the position only in the message: "... (at line 1, column 11)"
        found = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        line, col = (int(found[1]), int(found[2])) if found else (None, None)
        message = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
        raise ConfigError(
            f"{CONFIG_FILE} is not valid TOML: {message}",
            location=Location(path, line, col),
        ) from exc
