"""Embeddings for semantic search: the embedders shipped with core, which one serves, and the
backfill that embeds what lacks vectors."""
