"""vector storage where pgvector exists

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

from alejandria.storage.vector_schema import ensure_vector_storage

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    ensure_vector_storage(op.get_bind())


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS chunk_embeddings")
