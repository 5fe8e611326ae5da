"""initial catalog: workspace facts and ingest runs

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "workspace_meta",
        sa.Column("key", sa.String(100), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    op.create_table(
        "ingest_runs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.Column("files", sa.JSON, nullable=False),
        sa.Column("read_rows", sa.BigInteger, nullable=False),
        sa.Column("loaded_rows", sa.BigInteger, nullable=False),
        sa.Column("rejected_rows", sa.BigInteger, nullable=False),
        sa.Column("new_customers", sa.BigInteger, nullable=False),
        sa.Column("reasons", sa.JSON, nullable=False),
        sa.Column("error", sa.Text),
        sa.Column("actor", sa.String(200), nullable=False),
    )
    op.create_index("ix_ingest_runs_source", "ingest_runs", ["source"])


def downgrade() -> None:
    op.drop_index("ix_ingest_runs_source", table_name="ingest_runs")
    op.drop_table("ingest_runs")
    op.drop_table("workspace_meta")
