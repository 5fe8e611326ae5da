"""segment snapshots (frozen member lists) and the log of segment exports

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "segment_snapshots",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("segment", sa.String(200), nullable=False),
        sa.Column("label", sa.String(200), nullable=False),
        sa.Column("version", sa.Integer),
        sa.Column("expr", sa.Text, nullable=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("taken_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("members", sa.BigInteger, nullable=False),
        sa.Column("bitmap", sa.LargeBinary, nullable=False),
        sa.Column("customer_ids", sa.LargeBinary, nullable=False),
        sa.UniqueConstraint("segment", "label", name="uq_segment_snapshots_segment_label"),
    )
    op.create_table(
        "segment_exports",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("segment", sa.String(200), nullable=False, index=True),
        sa.Column("version", sa.Integer),
        sa.Column("snapshot", sa.String(200)),
        sa.Column("exported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("files", sa.JSON, nullable=False),
        sa.Column("members", sa.BigInteger, nullable=False),
        sa.Column("control_members", sa.BigInteger),
        sa.Column("holdout", sa.Float),
        sa.Column("seed", sa.String(200)),
        sa.Column("columns", sa.JSON, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("segment_exports")
    op.drop_table("segment_snapshots")
