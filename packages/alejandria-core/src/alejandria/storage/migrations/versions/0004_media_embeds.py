"""media_embeds: videos posts embed (YouTube, Vimeo, HLS), downloaded after the sync

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "media_embeds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=50), nullable=False),
        sa.Column("key", sa.String(length=1000), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("referer", sa.Text(), nullable=True),
        sa.Column("position", sa.Integer(), server_default="0", nullable=False),
        sa.Column("status", sa.String(length=20), server_default="pending", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("media_id", sa.Integer(), nullable=True),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                  nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                  nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                  nullable=False),
        sa.CheckConstraint("status IN ('pending', 'done', 'failed')",
                           name=op.f("ck_media_embeds_status")),
        sa.ForeignKeyConstraint(["media_id"], ["media_files.id"],
                                name=op.f("fk_media_embeds_media_id_media_files"),
                                ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["post_id"], ["posts.id"],
                                name=op.f("fk_media_embeds_post_id_posts"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_media_embeds")),
        sa.UniqueConstraint("post_id", "key", name=op.f("uq_media_embeds_post_id_key")),
    )
    op.create_index("ix_media_embeds_pending", "media_embeds", ["status", "next_attempt_at"])


def downgrade() -> None:
    op.drop_index("ix_media_embeds_pending", table_name="media_embeds")
    op.drop_table("media_embeds")
