"""change notifications: a statement-level trigger on each table a reader's view reads, so
that caches in every process learn of committed changes (``alejandria.storage.changes``)

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: Every table of the schema at this revision but the quiet ones (``changes.QUIET_TABLES``);
#: a later migration that adds a table adds its trigger (a test checks).
TABLES = ("creators", "collections", "posts", "post_collections", "media_files",
          "post_media", "transcriptions", "chunks", "users", "user_lists", "user_list_posts",
          "user_statuses", "user_post_data", "user_highlights", "media_derivatives",
          "media_embeds", "post_versions", "api_tokens")

#: A token's last-used time is written as it is used (at most once a minute), a user's last
#: login, TOTP step, password and preferences at sign-in or in their account: no change to
#: what a token check or a post's view reads, and each would empty every cache.
EVENTS = {"api_tokens": "INSERT OR DELETE OR TRUNCATE OR UPDATE OF id, user_id, name, prefix, "
                        "token_hash, scope, expires_at, revoked_at, created_at",
          "users": "INSERT OR DELETE OR TRUNCATE OR UPDATE OF id, username, role, active"}

FUNCTION = """
CREATE OR REPLACE FUNCTION alejandria_notify_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- delivered at commit, once per table and transaction
    PERFORM pg_notify('alejandria_changes', TG_TABLE_NAME);
    RETURN NULL;
END
$$
"""


def upgrade() -> None:
    op.execute(FUNCTION)
    for table in TABLES:
        events = EVENTS.get(table, "INSERT OR UPDATE OR DELETE OR TRUNCATE")
        op.execute(f"CREATE TRIGGER alejandria_changes AFTER {events} ON {table} "
                   f"FOR EACH STATEMENT EXECUTE FUNCTION alejandria_notify_change()")


def downgrade() -> None:
    for table in TABLES:
        op.execute(f"DROP TRIGGER IF EXISTS alejandria_changes ON {table}")
    op.execute("DROP FUNCTION IF EXISTS alejandria_notify_change()")
