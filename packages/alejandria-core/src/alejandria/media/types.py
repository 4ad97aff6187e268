"""Media kinds from MIME types and file names (content sniffing arrives with the media pipeline)."""

from __future__ import annotations

import mimetypes

from alejandria.models import MediaIn, MediaKind

_DOCUMENT_TYPES = {
    "application/pdf", "application/epub+zip", "application/msword", "text/plain",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}


def kind_for_mime(mime_type: str | None) -> MediaKind:
    if not mime_type:
        return MediaKind.OTHER
    major = mime_type.split("/", 1)[0]
    if major in ("image", "video", "audio"):
        return MediaKind(major)
    if mime_type in _DOCUMENT_TYPES:
        return MediaKind.DOCUMENT
    return MediaKind.OTHER


def describe_media(media: MediaIn) -> tuple[str | None, MediaKind]:
    """The best MIME type and kind we can tell without reading the bytes."""
    mime_type = media.mime_type
    if mime_type is None and media.filename:
        mime_type = mimetypes.guess_type(media.filename)[0]
    kind = media.kind or kind_for_mime(mime_type)
    return mime_type, kind
