"""Media of a remote store (S3): a redirect to a short-lived presigned URL, when safe.

A browser then fetches the bytes from the store itself (Range, caching and bandwidth are the
store's), which frees the app. Only what a browser shows passively goes there: images (not
SVG), audio and video, shown inline. Everything else, and every download (``?download``),
is proxied by the app with our own headers (``attachment``, the sandboxing CSP), because a
response from the store's origin carries none of them. Pages allow the store's origin in
``img-src``/``media-src`` (``media_origin``), so an ``<img>`` or ``<video>`` that follows the
redirect is not blocked by the page's CSP. ``ALEJANDRIA_MEDIA_PRESIGN_TTL_S=0`` proxies all.
"""

from __future__ import annotations

from typing import Any

from litestar import Response
from litestar.types import Scope

from alejandria.library.media import StoredFile
from alejandria_web.media.responses import etag_listed, filename_params

#: Types a browser renders passively and the store may serve directly.
_PASSIVE_PREFIXES = ("image/", "audio/", "video/")
_ORIGIN_KEY = "media_store_origin"


def presigned_redirect(request: Any, stored: StoredFile, *, download: bool,
                       ttl_s: int) -> Response[Any] | None:
    """A 307 to a presigned URL of ``stored``, or None when it is to be proxied."""
    info = stored.info
    media_type = (info.mime_type or "").split(";", 1)[0].strip().lower()
    if (ttl_s <= 0 or download or not media_type.startswith(_PASSIVE_PREFIXES)
            or "xml" in media_type):
        return None
    etag = info.sha256
    cache = f"private, max-age={max(0, ttl_s // 2)}"
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None and etag_listed(if_none_match, etag):
        return Response(None, status_code=304,
                        headers={"etag": f'"{etag}"', "cache-control": cache})
    disposition = "inline" + (filename_params(info.filename) if info.filename else "")
    url = stored.presigned_url(ttl_s, content_type=media_type, disposition=disposition)
    if url is None:
        return None
    return Response(None, status_code=307,
                    headers={"location": url, "cache-control": cache,
                             "referrer-policy": "no-referrer"})


def media_origin(scope: Scope) -> str | None:
    """The origin presigned media URLs point at (for the pages' CSP), or None when the app
    never redirects there; found once per app."""
    app = scope.get("app")
    state = getattr(app, "state", None)
    if state is None:
        return None
    if _ORIGIN_KEY not in state:
        origin = None
        archive = state.get("archive")
        if archive is not None and archive.settings.media_presign_ttl_s > 0:
            media = archive.media
            origin = media.origin() if media.remote else None
        state[_ORIGIN_KEY] = origin
    value = state[_ORIGIN_KEY]
    return value if isinstance(value, str) else None
