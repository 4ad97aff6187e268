"""Vector storage, present only where the pgvector extension can be enabled.

Called by migration 0002 and again by every ``db upgrade``, so a server that gains pgvector
later gets vector storage on its next upgrade, and one without it migrates all the same.
"""

from __future__ import annotations

import logging

from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

log = logging.getLogger(__name__)

CREATE_CHUNK_EMBEDDINGS = """
CREATE TABLE IF NOT EXISTS chunk_embeddings (
    chunk_id bigint NOT NULL REFERENCES chunks(id) ON DELETE CASCADE,
    model varchar(200) NOT NULL,
    dimensions integer NOT NULL,
    text_hash varchar(64) NOT NULL,
    embedding vector NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT pk_chunk_embeddings PRIMARY KEY (chunk_id, model)
)
"""

#: Transcripts are embedded in windows of about 30 s (their text kept here for snippets), per
#: transcription and model, so a hit can jump to the moment the words were said.
CREATE_TRANSCRIPT_EMBEDDINGS = """
CREATE TABLE IF NOT EXISTS transcript_embeddings (
    transcription_id integer NOT NULL REFERENCES transcriptions(id) ON DELETE CASCADE,
    model varchar(200) NOT NULL,
    ordinal integer NOT NULL,
    media_id integer NOT NULL REFERENCES media_files(id) ON DELETE CASCADE,
    start_s double precision NOT NULL,
    end_s double precision NOT NULL,
    text text NOT NULL,
    text_hash varchar(64) NOT NULL,
    dimensions integer NOT NULL,
    embedding vector NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT pk_transcript_embeddings PRIMARY KEY (transcription_id, model, ordinal)
)
"""


def ensure_vector_storage(conn: Connection) -> bool:
    """Enable pgvector and create ``chunk_embeddings`` if possible; True when vectors work."""
    available = conn.execute(
        text("SELECT 1 FROM pg_available_extensions WHERE name = 'vector'")
    ).first()
    if available is None:
        log.info("pgvector is not available on this server: semantic search is disabled")
        return False
    installed = conn.execute(text("SELECT 1 FROM pg_extension WHERE extname = 'vector'")).first()
    if installed is None:
        try:
            with conn.begin_nested():
                conn.execute(text("CREATE EXTENSION IF NOT EXISTS vector"))
        except DBAPIError as exc:
            log.warning("cannot enable pgvector (%s): semantic search is disabled",
                        str(exc.orig).strip().splitlines()[0])
            return False
    conn.execute(text(CREATE_CHUNK_EMBEDDINGS))
    conn.execute(text(CREATE_TRANSCRIPT_EMBEDDINGS))
    return True
