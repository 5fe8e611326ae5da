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
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

__all__ = ["METADATA", "ingest_runs", "workspace_meta"]

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
