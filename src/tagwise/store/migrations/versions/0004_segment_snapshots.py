"""segment snapshots: frozen member lists of saved segments

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


def downgrade() -> None:
    op.drop_table("segment_snapshots")
