"""personal data: list memberships as a join table (from user_post_data.lists), custom
statuses, rendered notes, highlights anchored by position and quote

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLOR = "color ~ '^#[0-9A-Fa-f]{6}$'"

#: Each list id in a user's ``lists`` array becomes a row, in the order the posts were
#: marked; an id that is not one of that user's own lists is dropped (never someone else's).
MOVE_MEMBERSHIPS = """
    INSERT INTO user_list_posts (list_id, post_id, position, added_at)
    SELECT l.id, d.post_id,
           row_number() OVER (PARTITION BY l.id ORDER BY d.created_at, d.id) - 1,
           d.created_at
    FROM user_post_data d
    CROSS JOIN LATERAL unnest(d.lists) AS member(list_id)
    JOIN user_lists l ON l.id = member.list_id AND l.user_id = d.user_id
    ON CONFLICT DO NOTHING
"""

RESTORE_MEMBERSHIPS = """
    INSERT INTO user_post_data (user_id, post_id, lists)
    SELECT l.user_id, m.post_id, array_agg(l.id ORDER BY l.id)
    FROM user_list_posts m JOIN user_lists l ON l.id = m.list_id
    GROUP BY l.user_id, m.post_id
    ON CONFLICT (user_id, post_id) DO UPDATE SET lists = excluded.lists
"""


def _created() -> sa.Column[object]:
    return sa.Column("created_at", sa.DateTime(timezone=True), nullable=False,
                     server_default=sa.func.now())


def upgrade() -> None:
    op.execute(f"UPDATE user_lists SET color = NULL WHERE NOT ({COLOR})")
    op.create_check_constraint("ck_user_lists_color", "user_lists", COLOR)
    op.create_table(
        "user_list_posts",
        sa.Column("list_id", sa.Integer(),
                  sa.ForeignKey("user_lists.id", ondelete="CASCADE",
                                name="fk_user_list_posts_list_id_user_lists"), nullable=False),
        sa.Column("post_id", sa.Integer(),
                  sa.ForeignKey("posts.id", ondelete="CASCADE",
                                name="fk_user_list_posts_post_id_posts"), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("list_id", "post_id", name="pk_user_list_posts"),
    )
    op.create_index("ix_user_list_posts_post_id", "user_list_posts", ["post_id"])
    op.execute(MOVE_MEMBERSHIPS)
    op.drop_column("user_post_data", "lists")
    op.add_column("user_post_data", sa.Column("notes_html", sa.Text()))
    op.create_table(
        "user_statuses",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("user_id", sa.Integer(),
                  sa.ForeignKey("users.id", ondelete="CASCADE",
                                name="fk_user_statuses_user_id_users"), nullable=False),
        sa.Column("name", sa.String(50), nullable=False),
        _created(),
        sa.PrimaryKeyConstraint("id", name="pk_user_statuses"),
        sa.UniqueConstraint("user_id", "name", name="uq_user_statuses_user_id_name"),
    )
    op.create_table(
        "user_highlights",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("user_id", sa.Integer(),
                  sa.ForeignKey("users.id", ondelete="CASCADE",
                                name="fk_user_highlights_user_id_users"), nullable=False),
        sa.Column("post_id", sa.Integer(),
                  sa.ForeignKey("posts.id", ondelete="CASCADE",
                                name="fk_user_highlights_post_id_posts"), nullable=False),
        sa.Column("target", sa.String(20), nullable=False, server_default="text"),
        sa.Column("page", sa.Integer()),
        sa.Column("media_id", sa.Integer(),
                  sa.ForeignKey("media_files.id", ondelete="CASCADE",
                                name="fk_user_highlights_media_id_media_files")),
        sa.Column("start", sa.Integer(), nullable=False),
        sa.Column("end", sa.Integer(), nullable=False),
        sa.Column("exact", sa.Text(), nullable=False),
        sa.Column("prefix", sa.Text(), nullable=False, server_default=""),
        sa.Column("suffix", sa.Text(), nullable=False, server_default=""),
        sa.Column("color", sa.String(7), nullable=False, server_default="#ffeb3b"),
        sa.Column("comment", sa.Text()),
        sa.Column("orphaned", sa.Boolean(), nullable=False, server_default="false"),
        _created(),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("id", name="pk_user_highlights"),
        sa.CheckConstraint("target IN ('text', 'page', 'transcript')",
                           name="ck_user_highlights_target"),
        sa.CheckConstraint(COLOR, name="ck_user_highlights_color"),
        sa.CheckConstraint("(target = 'page') = (page IS NOT NULL) AND "
                           "(target = 'transcript') = (media_id IS NOT NULL)",
                           name="ck_user_highlights_anchor"),
    )
    op.create_index("ix_user_highlights_user_id_post_id", "user_highlights",
                    ["user_id", "post_id"])
    op.create_index("ix_user_highlights_post_id", "user_highlights", ["post_id"])


def downgrade() -> None:
    op.drop_table("user_highlights")
    op.drop_table("user_statuses")
    op.drop_column("user_post_data", "notes_html")
    op.add_column("user_post_data", sa.Column("lists", postgresql.ARRAY(sa.Integer()),
                                              nullable=False, server_default="{}"))
    op.execute(RESTORE_MEMBERSHIPS)
    op.drop_table("user_list_posts")
    op.drop_constraint("ck_user_lists_color", "user_lists", type_="check")
