"""source_credentials keyed by (source, account), so one source can hold several accounts;
media_passages (the text extracted from stored documents) and an index on attachment chunks

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("source_credentials",
                  sa.Column("account", sa.String(length=100), server_default="default",
                            nullable=False))
    op.drop_constraint("pk_source_credentials", "source_credentials", type_="primary")
    op.create_primary_key("pk_source_credentials", "source_credentials", ["source", "account"])
    op.create_table(
        "media_passages",
        sa.Column("media_id", sa.Integer(), nullable=False),
        sa.Column("ordinal", sa.Integer(), nullable=False),
        sa.Column("page", sa.Integer(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("ts_config", postgresql.REGCONFIG(), nullable=False),
        sa.ForeignKeyConstraint(["media_id"], ["media_files.id"],
                                name=op.f("fk_media_passages_media_id_media_files"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("media_id", "ordinal", name=op.f("pk_media_passages")),
    )
    op.create_index("ix_chunks_media_id", "chunks", ["media_id"],
                    postgresql_where=sa.text("media_id IS NOT NULL"))


def downgrade() -> None:
    op.drop_index("ix_chunks_media_id", table_name="chunks")
    op.drop_table("media_passages")
    op.execute("DELETE FROM source_credentials WHERE account <> 'default'")
    op.drop_constraint("pk_source_credentials", "source_credentials", type_="primary")
    op.create_primary_key("pk_source_credentials", "source_credentials", ["source"])
    op.drop_column("source_credentials", "account")
