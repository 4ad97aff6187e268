"""media_derivatives: what each processor derived from each media file

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "media_derivatives",
        sa.Column("media_id", sa.Integer(), nullable=False),
        sa.Column("processor", sa.String(length=100), nullable=False),
        sa.Column("version", sa.String(length=50), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("result", postgresql.JSONB(astext_type=sa.Text()), server_default="{}",
                  nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                  nullable=False),
        sa.CheckConstraint("status IN ('done', 'failed', 'skipped')",
                           name=op.f("ck_media_derivatives_status")),
        sa.ForeignKeyConstraint(["media_id"], ["media_files.id"],
                                name=op.f("fk_media_derivatives_media_id_media_files"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("media_id", "processor", name=op.f("pk_media_derivatives")),
    )


def downgrade() -> None:
    op.drop_table("media_derivatives")
