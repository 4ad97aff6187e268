"""Media: metadata, the stored file (HTTP Range, ETag from the SHA-256, long cache),
thumbnails and transcripts. Files are found by their id in the database and read from the
content-addressed store: no part of a request becomes a filesystem path."""

from __future__ import annotations

from typing import Any, Literal

from litestar import Response

from alejandria_web.api.common import GET, AnyRequest, actor, archive
from alejandria_web.media.remote import presigned_redirect
from alejandria_web.media.responses import file_response
from alejandria_web.security.access import Access

THUMBNAIL_SIZES = (150, 300, 600)


@GET("/api/v1/media/{media_id:int}", Access.READ, summary="A media file's metadata")
def get_media(request: AnyRequest, media_id: int) -> dict[str, Any]:
    return archive(request).library.media(media_id, actor=actor(request)).as_json()


@GET("/api/v1/media/{media_id:int}/content", Access.READ, http_method=["GET", "HEAD"],
     summary="The file itself (Range requests, ETag, cached for a year)")
def media_content(request: AnyRequest, media_id: int,
                  download: bool = False) -> Response[Any]:
    the_archive = archive(request)
    stored = the_archive.library.media_file(media_id, actor=actor(request))
    info = stored.info
    if stored.path is not None:
        return file_response(request, stored.path, media_type=info.mime_type,
                             etag=info.sha256, filename=info.filename, size=info.size,
                             attachment=download)
    redirect = presigned_redirect(request, stored, download=download,
                                  ttl_s=the_archive.settings.media_presign_ttl_s)
    if redirect is not None:
        return redirect
    return file_response(request, None, media_type=info.mime_type, etag=info.sha256,
                         filename=info.filename, size=info.size, attachment=download,
                         reader=stored.read)


@GET("/api/v1/media/{media_id:int}/thumbnail/{size:int}", Access.READ,
     summary="A WebP thumbnail, 150, 300 or 600 px on its longest side")
def media_thumbnail(request: AnyRequest, media_id: int, size: int) -> Response[Any]:
    from alejandria_web.errors import ApiError

    if size not in THUMBNAIL_SIZES:
        raise ApiError(404, "not_found", "thumbnails come in 150, 300 and 600 px")
    path = archive(request).library.thumbnail(media_id, size, actor=actor(request))
    info = archive(request).library.media(media_id, actor=actor(request))
    return file_response(request, path, media_type="image/webp",
                         etag=f"{info.sha256}-{size}")


@GET("/api/v1/media/{media_id:int}/transcript", Access.READ,
     summary="The transcript, as JSON segments or WebVTT (?format=vtt)")
def media_transcript(request: AnyRequest, media_id: int,
                     format: Literal["json", "vtt"] = "json") -> Response[Any]:
    segments = archive(request).transcript(media_id, actor=actor(request))
    if format == "vtt":
        # Litestar adds "; charset=utf-8" to a text/* type itself
        return Response(to_vtt((s.start_s, s.end_s, s.text) for s in segments),
                        media_type="text/vtt")
    return Response({"media_id": media_id, "segments": [
        {"start_s": s.start_s, "end_s": s.end_s, "text": s.text} for s in segments]})


def _timestamp(seconds: float) -> str:
    millis = max(0, round(seconds * 1000))
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}.{millis:03d}"


def to_vtt(segments: Any) -> str:
    """WebVTT cues; a cue's text cannot end the cue early (no blank lines, no ``-->``)."""
    lines = ["WEBVTT", ""]
    for index, (start, end, text) in enumerate(segments, start=1):
        clean = " ".join(str(text).replace("-->", "->").split())
        clean = clean.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        lines += [str(index), f"{_timestamp(start)} --> {_timestamp(end)}", clean, ""]
    return "\n".join(lines)


ROUTES = [get_media, media_content, media_thumbnail, media_transcript]
