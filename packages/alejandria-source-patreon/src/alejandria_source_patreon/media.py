"""The files of a post: images, the post file, attachments, audio, inline images, videos.

A Patreon file's identity is the 32-hex hash in its CDN path
(``.../p/post/<post>/<hash>/<size params>/1.png?token-time=...&token-hash=...``): the token
query changes on every fetch and the size segment between renditions, the hash does not. So
the post file that repeats the first image, or an inline copy of an attached image, shares
its key and is stored once.
"""

from __future__ import annotations

import mimetypes
import re
from collections.abc import Iterable, Iterator
from urllib.parse import parse_qs, unquote, urlsplit

from alejandria.models import EMBED_ROLE, MediaIn, MediaKind
from alejandria_source_patreon.content import Body, InlineImage
from alejandria_source_patreon.inline_data import is_data_url, read_data_url
from alejandria_source_patreon.jsonapi import Document, Resource, attributes

_HASH = re.compile(r"^[0-9a-f]{32}$")
_YOUTUBE = re.compile(
    r"(?:youtube(?:-nocookie)?\.com/(?:watch\?(?:.*&)?v=|embed/|shorts/|live/|v/)|youtu\.be/)"
    r"([\w-]{11})")
_VIMEO = re.compile(r"vimeo\.com/(?:video/|channels/[\w-]+/|groups/[\w-]+/videos/)?(\d+)")


def file_key(url: str, fallback: str | None = None) -> str:
    """The stable identity of a Patreon file URL (see the module docstring)."""
    try:
        parts = urlsplit(url)
    except ValueError:  # not a URL (``http://[::1``): kept, for the client to refuse by name
        return fallback or f"url:{url[:200]}"
    if parts.path.rstrip("/").endswith("/file"):  # legacy /file?h=<post>&i=<attachment>
        query = parse_qs(parts.query)
        if query.get("h") and query.get("i"):
            return f"patreon:file:{query['h'][0]}:{query['i'][0]}"
    for segment in reversed(parts.path.split("/")):
        if _HASH.match(segment):
            return f"patreon:{segment}"
    if fallback:
        return fallback
    return f"url:{parts.netloc}{parts.path}"


def video_key(url: str) -> str | None:
    """``youtube:<id>`` / ``vimeo:<id>`` for a video page or player URL, else None."""
    if match := _YOUTUBE.search(url):
        return f"youtube:{match.group(1)}"
    if match := _VIMEO.search(url):
        return f"vimeo:{match.group(1)}"
    return None


def is_hls(url: str, name: str | None = None) -> bool:
    return urlsplit(url).path.endswith(".m3u8") or name == "video"


class _Collector:
    """Media in order, each key once (the first occurrence wins)."""

    def __init__(self, post_id: str, referer: str) -> None:
        self.post_id = post_id
        self.referer = referer
        self.items: list[MediaIn] = []
        self.keys: set[str] = set()

    def add(self, *, key: str, url: str, role: str, filename: str | None = None,
            mime_type: str | None = None, kind: MediaKind | None = None,
            caption: str | None = None, media_id: str | None = None,
            metadata: dict[str, object] | None = None, data: bytes | None = None) -> None:
        if key in self.keys or not (url or data is not None):
            return
        self.keys.add(key)
        if mime_type is None and filename:
            mime_type = mimetypes.guess_type(filename)[0]
        details: dict[str, object] = {"post_id": self.post_id, **(metadata or {})}
        if media_id:
            details["media_id"] = media_id
        if role == EMBED_ROLE:
            details["referer"] = self.referer
        self.items.append(MediaIn(key=key, url=url or None, filename=filename,
                                  mime_type=mime_type, kind=kind or _kind(mime_type), role=role,
                                  position=len(self.items), caption=caption,
                                  metadata=details, data=data))

    def inline(self, image: InlineImage, position: int) -> None:
        """An image of the post's HTML: fetched from its URL, or a ``data:`` image stored
        from its own bytes (``inline_data``)."""
        if not is_data_url(image.src):
            self.add(key=file_key(image.src), url=image.src, role="inline",
                     filename=_filename(image.src), caption=image.alt,
                     media_id=image.media_id)
            return
        inline = read_data_url(image.src, position)
        if inline.data is not None:
            self.add(key=inline.key, url="", data=inline.data, role="inline",
                     filename=inline.filename, mime_type=inline.media_type,
                     caption=image.alt, media_id=image.media_id)
        else:
            self.add(key=inline.key, url=f"data:{inline.media_type}", role="inline",
                     filename=inline.filename, caption=image.alt, media_id=image.media_id,
                     metadata={"refused": inline.refused})

    def media_resource(self, resource: Resource, role: str) -> None:
        attrs = attributes(resource)
        media_id = str(resource.get("id"))
        urls = attrs.get("image_urls") if isinstance(attrs.get("image_urls"), dict) else {}
        assert isinstance(urls, dict)
        url = attrs.get("download_url") or urls.get("original") or urls.get("default")
        display = attrs.get("display") if isinstance(attrs.get("display"), dict) else {}
        assert isinstance(display, dict)
        mime = attrs.get("mimetype")
        name = attrs.get("file_name")
        playback = display.get("url")
        viewer = display.get("viewer_playback_data")
        if not playback and isinstance(viewer, dict):
            playback = viewer.get("url")
        if not url and playback and is_hls(str(playback)):
            self.add(key=file_key(str(playback), f"patreon:media:{media_id}"), url=str(playback),
                     role=EMBED_ROLE, filename=name, kind=MediaKind.VIDEO, media_id=media_id)
            return
        if not url:
            return
        self.add(key=file_key(str(url), f"patreon:media:{media_id}"), url=str(url), role=role,
                 filename=str(name) if name else _filename(str(url)),
                 mime_type=str(mime) if mime else None, media_id=media_id,
                 metadata={"size": attrs.get("size_bytes")} if attrs.get("size_bytes") else None)


def post_media(document: Document, post: Resource, body: Body, referer: str) -> list[MediaIn]:
    """Every file of ``post``, each once, in reading order."""
    attrs = attributes(post)
    collect = _Collector(str(post.get("id")), referer)
    for image in document.related(post, "images"):
        collect.media_resource(image, "image")
    post_file = attrs.get("post_file")
    if isinstance(post_file, dict) and post_file.get("url"):
        url, name = str(post_file["url"]), post_file.get("name")
        if is_hls(url, str(name) if name else None):
            collect.add(key=file_key(url, f"patreon:video:{post.get('id')}"), url=url,
                        role=EMBED_ROLE, kind=MediaKind.VIDEO, filename=None)
        else:
            collect.add(key=file_key(url), url=url, role="post_file",
                        filename=str(name) if name else _filename(url),
                        media_id=str(post_file.get("media_id") or "") or None)
    for attachment in document.related(post, "attachments_media"):
        collect.media_resource(attachment, "attachment")
    for attachment in document.related(post, "attachments"):  # legacy /file?h=&i= links
        details = attributes(attachment)
        if details.get("url"):
            url = str(details["url"])
            collect.add(key=file_key(url, f"patreon:attachment:{attachment.get('id')}"),
                        url=url, role="attachment", filename=details.get("name") or None)
    for audio in document.related(post, "audio"):
        collect.media_resource(audio, "audio")
    for position, inline in enumerate(body.images):
        collect.inline(inline, position)
    for url in _embed_urls(attrs, body.frames):
        key = video_key(url)
        if key:
            collect.add(key=key, url=url, role=EMBED_ROLE, kind=MediaKind.VIDEO)
    return collect.items


def _embed_urls(attrs: dict[str, object], frames: Iterable[str]) -> Iterator[str]:
    embed = attrs.get("embed")
    if isinstance(embed, dict) and embed.get("url"):
        yield str(embed["url"])
    yield from frames


def _kind(mime_type: str | None) -> MediaKind | None:
    if not mime_type:
        return None
    major = mime_type.split("/", 1)[0]
    return MediaKind(major) if major in ("image", "audio", "video") else None


def _filename(url: str) -> str | None:
    try:
        path = urlsplit(url).path
    except ValueError:
        return None
    name = unquote(path.rsplit("/", 1)[-1])
    return name or None
