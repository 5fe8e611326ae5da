"""SQLAlchemy tables of the catalog.

The schema is owned by the Alembic migrations in ``store/migrations/versions``; these
declarations mirror the latest revision and are what queries are written against. A test
checks that the migrated database and these tables agree.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Date,
    DateTime,
    Float,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

__all__ = [
    "METADATA",
    "ingest_runs",
    "runs",
    "segment_exports",
    "segment_snapshots",
    "spec_versions",
    "tag_computations",
    "workspace_meta",
]

METADATA = MetaData()

workspace_meta = Table(
    "workspace_meta",
    METADATA,
    Column("key", String(100), primary_key=True),
    Column("value", Text, nullable=False),
)
"""Small key/value facts about the workspace (name, created_at, tagwise version)."""

ingest_runs = Table(
    "ingest_runs",
    METADATA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("source", String(200), nullable=False, index=True),
    Column("status", String(20), nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
    Column("files", JSON, nullable=False),
    Column("read_rows", BigInteger, nullable=False, default=0),
    Column("loaded_rows", BigInteger, nullable=False, default=0),
    Column("rejected_rows", BigInteger, nullable=False, default=0),
    Column("new_customers", BigInteger, nullable=False, default=0),
    Column("reasons", JSON, nullable=False),
    Column("error", Text),
    Column("actor", String(200), nullable=False),
)
"""One row per source per ``tagwise ingest``: what was read, loaded and rejected, or why not."""

spec_versions = Table(
    "spec_versions",
    METADATA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(20), nullable=False),
    Column("code", String(200), nullable=False),
    Column("version", Integer, nullable=False),
    Column("status", String(20), nullable=False),
    Column("definition", JSON, nullable=False),
    Column("digest", String(64), nullable=False),
    Column("diff", Text, nullable=False),
    Column("applied_at", DateTime(timezone=True), nullable=False),
    Column("applied_by", String(200), nullable=False),
    UniqueConstraint("kind", "code", "version", name="uq_spec_versions_kind_code_version"),
)
"""Immutable versions of categories, features and tags, one row per ``tagwise apply`` change."""

runs = Table(
    "runs",
    METADATA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("status", String(20), nullable=False),
    Column("as_of", Date, nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
    Column("tags", JSON, nullable=False),
    Column("customers", BigInteger, nullable=False),
    Column("tag_values", BigInteger, nullable=False),
    Column("changes", BigInteger, nullable=False),
    Column("timings", JSON, nullable=False),
    Column("error", Text),
    Column("actor", String(200), nullable=False),
    Column("engine", String(20), nullable=False, server_default="duckdb"),
)
"""One row per ``tagwise run``: running, ok, failed or interrupted, with counts and timings."""

tag_computations = Table(
    "tag_computations",
    METADATA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("tag", String(200), nullable=False, index=True),
    Column("run_id", Integer, nullable=False),
    Column("version", Integer, nullable=False),
    Column("as_of", Date, nullable=False),
    Column("computed_at", DateTime(timezone=True), nullable=False),
    Column("customers", BigInteger, nullable=False),
    Column("tag_values", BigInteger, nullable=False),
    Column("changes", BigInteger, nullable=False),
)
"""Each successful computation of each tag (drives ``run --due`` and ``tags show``)."""

segment_snapshots = Table(
    "segment_snapshots",
    METADATA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("segment", String(200), nullable=False),
    Column("label", String(200), nullable=False),
    Column("version", Integer),
    Column("expr", Text, nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("taken_at", DateTime(timezone=True), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("members", BigInteger, nullable=False),
    Column("bitmap", LargeBinary, nullable=False),
    Column("customer_ids", LargeBinary, nullable=False),
    UniqueConstraint("segment", "label", name="uq_segment_snapshots_segment_label"),
)
"""Frozen member lists of saved segments (``tagwise segment snapshot``): the members' cids
as a serialized roaring bitmap and their customer ids (Parquet bytes, same order), with the
segment version and expression, the tag store's change-feed ``seq`` they reflect, when and
by whom. A snapshot is never changed: later runs do not touch it."""

segment_exports = Table(
    "segment_exports",
    METADATA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("segment", String(200), nullable=False, index=True),
    Column("version", Integer),
    Column("snapshot", String(200)),
    Column("exported_at", DateTime(timezone=True), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("files", JSON, nullable=False),
    Column("members", BigInteger, nullable=False),
    Column("control_members", BigInteger),
    Column("holdout", Float),
    Column("seed", String(200)),
    Column("columns", JSON, nullable=False),
)
"""Every member list that left the system (``tagwise segment export``): which segment and
version (or snapshot), the files, how many members (and in the control group), the
holdout, the columns, when and by whom."""
