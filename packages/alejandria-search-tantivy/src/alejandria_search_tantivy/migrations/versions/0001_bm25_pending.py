"""What the BM25 index must re-read: a row per post whose chunks changed, kept by triggers.

Revision ID: bm25_0001
Revises:
Create Date: 2026-12-07

Statement-level triggers with transition tables: one insert per statement, whatever its row
count (a sync writes a checkpoint's chunks in one statement). ``ON CONFLICT DO UPDATE``, not
``DO NOTHING``: a post being re-indexed is row-locked by the catch-up, so a writer marking it
again waits, and inserts a fresh row once the catch-up has deleted the old one (``DO NOTHING``
would see the row and skip it, and the change would be lost).
"""

from alembic import op

revision = "bm25_0001"
down_revision = None
branch_labels = ("bm25",)
depends_on = None

MARK = """
CREATE FUNCTION bm25_mark_{name}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO bm25_pending (post_id)
    SELECT DISTINCT post_id FROM ({rows}) AS changed ORDER BY post_id
    ON CONFLICT (post_id) DO UPDATE SET marked_at = EXCLUDED.marked_at;
    RETURN NULL;
END $$
"""


def upgrade() -> None:
    op.execute("""
        CREATE TABLE bm25_pending (
            post_id integer PRIMARY KEY,
            marked_at timestamptz NOT NULL DEFAULT clock_timestamp()
        )""")
    op.execute("""
        CREATE TABLE bm25_state (
            id integer PRIMARY KEY CHECK (id = 1),
            token text NOT NULL
        )""")
    # no index yet: the first catch-up finds no index with this token and builds it
    op.execute("INSERT INTO bm25_state (id, token) VALUES (1, 'unbuilt')")
    op.execute(MARK.format(name="new", rows="SELECT post_id FROM bm25_new"))
    op.execute(MARK.format(name="old", rows="SELECT post_id FROM bm25_old"))
    op.execute(MARK.format(name="both", rows="SELECT post_id FROM bm25_new "
                                            "UNION SELECT post_id FROM bm25_old"))
    op.execute("""CREATE TRIGGER bm25_chunks_insert AFTER INSERT ON chunks
                  REFERENCING NEW TABLE AS bm25_new
                  FOR EACH STATEMENT EXECUTE FUNCTION bm25_mark_new()""")
    op.execute("""CREATE TRIGGER bm25_chunks_update AFTER UPDATE ON chunks
                  REFERENCING NEW TABLE AS bm25_new OLD TABLE AS bm25_old
                  FOR EACH STATEMENT EXECUTE FUNCTION bm25_mark_both()""")
    op.execute("""CREATE TRIGGER bm25_chunks_delete AFTER DELETE ON chunks
                  REFERENCING OLD TABLE AS bm25_old
                  FOR EACH STATEMENT EXECUTE FUNCTION bm25_mark_old()""")


def downgrade() -> None:
    for event in ("insert", "update", "delete"):
        op.execute(f"DROP TRIGGER IF EXISTS bm25_chunks_{event} ON chunks")
    for name in ("new", "old", "both"):
        op.execute(f"DROP FUNCTION IF EXISTS bm25_mark_{name}()")
    op.execute("DROP TABLE IF EXISTS bm25_state")
    op.execute("DROP TABLE IF EXISTS bm25_pending")
