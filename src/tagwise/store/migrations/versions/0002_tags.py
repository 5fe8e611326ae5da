"""spec versions, runs and per-tag computations

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "spec_versions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("code", sa.String(200), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("definition", sa.JSON, nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("diff", sa.Text, nullable=False),
        sa.Column("applied_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("applied_by", sa.String(200), nullable=False),
        sa.UniqueConstraint("kind", "code", "version", name="uq_spec_versions_kind_code_version"),
    )
    op.create_index("ix_spec_versions_kind_code", "spec_versions", ["kind", "code"])
    op.create_table(
        "runs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("as_of", sa.Date, nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.Column("tags", sa.JSON, nullable=False),
        sa.Column("customers", sa.BigInteger, nullable=False),
        sa.Column("tag_values", sa.BigInteger, nullable=False),
        sa.Column("changes", sa.BigInteger, nullable=False),
        sa.Column("timings", sa.JSON, nullable=False),
        sa.Column("error", sa.Text),
        sa.Column("actor", sa.String(200), nullable=False),
    )
    op.create_table(
        "tag_computations",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("tag", sa.String(200), nullable=False),
        sa.Column("run_id", sa.Integer, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("as_of", sa.Date, nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("customers", sa.BigInteger, nullable=False),
        sa.Column("tag_values", sa.BigInteger, nullable=False),
        sa.Column("changes", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_tag_computations_tag", "tag_computations", ["tag"])


def downgrade() -> None:
    op.drop_index("ix_tag_computations_tag", table_name="tag_computations")
    op.drop_table("tag_computations")
    op.drop_table("runs")
    op.drop_index("ix_spec_versions_kind_code", table_name="spec_versions")
    op.drop_table("spec_versions")
