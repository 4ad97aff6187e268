"""What this Postgres can do: pgvector for semantic search, unaccent, the server version."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.engine import Connection


@dataclass(frozen=True)
class DatabaseCapabilities:
    server_version: str
    server_version_num: int
    vector_available: bool
    vector_installed: bool
    vector_version: str | None

    @property
    def semantic_search_reason(self) -> str | None:
        """None when vectors can be stored; otherwise why not, in words a user can act on."""
        if self.vector_installed:
            return None
        if self.vector_available:
            return ("the pgvector extension is available but not enabled in this database; "
                    "run 'alejandria db upgrade' as a user allowed to CREATE EXTENSION")
        return ("this Postgres server has no pgvector extension, so semantic search is "
                "unavailable (full-text and transcript search work); install pgvector on the "
                "server or unset ALEJANDRIA_DATABASE_URL to use the embedded Postgres")


def detect_capabilities(conn: Connection) -> DatabaseCapabilities:
    version = conn.execute(text("SHOW server_version")).scalar_one()
    version_num = int(conn.execute(text("SHOW server_version_num")).scalar_one())
    available = conn.execute(
        text("SELECT 1 FROM pg_available_extensions WHERE name = 'vector'")
    ).first() is not None
    installed = conn.execute(
        text("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
    ).scalar_one_or_none()
    return DatabaseCapabilities(
        server_version=str(version),
        server_version_num=version_num,
        vector_available=available,
        vector_installed=installed is not None,
        vector_version=installed,
    )
