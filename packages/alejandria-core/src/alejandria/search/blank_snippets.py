"""What a hit without text shows instead of a blank snippet: the files it holds.

A post made of an image, an audio file or a video (``sync files``, a Patreon image post) has
no body for ``ts_headline`` to quote, and a hit on its title showed an empty line. Such hits
are described by their files instead, in one query for the whole page of hits: kind, name,
size in pixels or duration ("image · sunset.jpg · 1920×1080; audio · episode-3.mp3 · 42:10").
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Engine, text

from alejandria.models import SearchHit

#: Files named per hit; more are counted ("+2 more files").
SHOWN_FILES = 3

_FILES = text("""
    SELECT pm.post_id, pm.media_id, mf.kind, COALESCE(NULLIF(pm.caption, ''), pm.filename,
           pm.key) AS name, mf.width, mf.height, mf.duration_s, mf.page_count
    FROM post_media pm JOIN media_files mf ON mf.id = pm.media_id
    WHERE pm.post_id = ANY(:post_ids)
    ORDER BY pm.post_id, pm.position, pm.id
""")


def fill_blank_snippets(engine: Engine, hits: Sequence[SearchHit]) -> list[SearchHit]:
    """``hits`` with every blank snippet replaced by a description of the post's files (the
    hit's own media file first); hits with a snippet are returned as they are."""
    blank = {hit.post_id for hit in hits if not hit.snippet.strip()}
    if not blank:
        return list(hits)
    files: dict[int, list[tuple[int, str]]] = {}
    with engine.connect() as conn:
        for row in conn.execute(_FILES, {"post_ids": sorted(blank)}):
            files.setdefault(row.post_id, []).append((row.media_id, _describe(row)))
    return [hit if hit.snippet.strip() else
            hit.model_copy(update={"snippet": _snippet(files.get(hit.post_id, []), hit.media_id),
                                   "highlights": ()})
            for hit in hits]


def _snippet(described: list[tuple[int, str]], media_id: int | None) -> str:
    if not described:
        return "(no text and no files)"
    ordered = sorted(described, key=lambda item: item[0] != media_id)  # the hit's file first
    shown = [line for _, line in ordered[:SHOWN_FILES]]
    more = len(ordered) - SHOWN_FILES
    if more > 0:
        shown.append(f"+{more} more file{'s' if more > 1 else ''}")
    return "; ".join(shown)


def _describe(row: object) -> str:
    kind = str(getattr(row, "kind", "file"))
    parts = [kind, _short(str(getattr(row, "name", "") or "").rsplit("/", 1)[-1])]
    width, height = getattr(row, "width", None), getattr(row, "height", None)
    duration, pages = getattr(row, "duration_s", None), getattr(row, "page_count", None)
    if width and height:
        parts.append(f"{width}×{height}")
    if duration:
        minutes, seconds = divmod(int(duration), 60)
        hours, minutes = divmod(minutes, 60)
        parts.append(f"{hours}:{minutes:02d}:{seconds:02d}" if hours else
                     f"{minutes}:{seconds:02d}")
    if pages:
        parts.append(f"{pages} page{'s' if pages > 1 else ''}")
    return " · ".join(part for part in parts if part)


def _short(name: str, limit: int = 80) -> str:
    return name if len(name) <= limit else name[:limit - 1] + "…"
