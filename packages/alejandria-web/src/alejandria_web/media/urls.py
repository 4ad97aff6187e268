"""The app's addresses of stored media, for core to put into what it renders."""

from __future__ import annotations


def content_url(media_id: int) -> str:
    """A stored file's bytes (``GET /api/v1/media/{id}/content``; sessions and tokens both
    reach it)."""
    return f"/api/v1/media/{media_id}/content"
