"""``alejandria export``: the archive as a plain folder anyone can read without Alejandria.

::

    <folder>/index.html                 every post, by creator, linked
    <folder>/posts.json                 the same as data
    <folder>/<Creator>/<YYYY-MM-DD Title>/post.json    the post: text, HTML, tags, media list
    <folder>/<Creator>/<YYYY-MM-DD Title>/post.html    readable in any browser, pictures local
    <folder>/<Creator>/<YYYY-MM-DD Title>/<file name>  its media, named as the source named
                                                       them (or by kind), transcripts as .vtt

Names are cleaned so they are valid on Linux, macOS and Windows alike; two posts or files
that would share a name get " (2)", " (3)" and so on.
"""

from __future__ import annotations

import html
import json
import mimetypes
import os
import re
import shutil
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select

from alejandria.backup import BackupError
from alejandria.context import ArchiveContext
from alejandria.storage.schema import (
    collections,
    creators,
    media_files,
    post_collections,
    post_media,
    posts,
)
from alejandria.storage.transcripts import TranscriptStore, to_webvtt

#: ``progress(done, total)`` in posts.
Progress = Callable[[int, int], None]

_UNSAFE = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*\u202a-\u202e\u2066-\u2069]+')
_RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(1, 10)),
             *(f"lpt{i}" for i in range(1, 10))}
NAME_LIMIT = 100


@dataclass
class ExportReport:
    folder: Path
    posts: int = 0
    files: int = 0
    bytes: int = 0
    missing: int = 0
    #: Where each media file was first written: a post sharing it gets a hard link to that
    #: copy (one PDF split into chapter posts is stored once).
    placed: dict[str, Path] = field(default_factory=dict, repr=False)

    def as_dict(self) -> dict[str, object]:
        return {"folder": str(self.folder), "posts": self.posts, "files": self.files,
                "bytes": self.bytes, "missing": self.missing}


def safe_name(text: str, *, fallback: str = "untitled", limit: int = NAME_LIMIT) -> str:
    """``text`` as a file name valid everywhere: no separators, controls or reserved names."""
    name = unicodedata.normalize("NFC", text)
    name = _UNSAFE.sub(" ", name)
    name = " ".join(name.split()).strip(" .")
    if len(name) > limit:
        stem, dot, ext = name.rpartition(".")
        if dot and 0 < len(ext) <= 8:
            name = stem[:limit - len(ext) - 1].rstrip(" .") + "." + ext
        else:
            name = name[:limit].rstrip(" .")
    if not name:
        name = fallback
    if name.split(".")[0].lower() in _RESERVED:
        name = f"_{name}"
    return name


class _Names:
    """Hands out names unique in one folder (case-insensitively: macOS and Windows)."""

    def __init__(self) -> None:
        self._used: set[str] = set()

    def take(self, name: str) -> str:
        stem, dot, ext = name.rpartition(".") if "." in name[1:] else (name, "", "")
        candidate, number = name, 1
        while candidate.lower() in self._used:
            number += 1
            candidate = f"{stem} ({number}){dot}{ext}"
        self._used.add(candidate.lower())
        return candidate


def export_archive(context: ArchiveContext, folder: Path, *, link: bool = False,
                   progress: Progress | None = None) -> ExportReport:
    """Write every post with its media into ``folder`` (new, or empty); ``link``: hard-link
    media files instead of copying them (same filesystem only; copies where it cannot)."""
    folder = folder.expanduser()
    if folder.exists() and any(folder.iterdir()):
        raise BackupError(f"{folder} is not empty: export into a new or empty folder")
    folder.mkdir(parents=True, exist_ok=True)
    report = ExportReport(folder)
    engine = context.engine
    transcripts = TranscriptStore(engine)
    with engine.connect() as conn:
        rows = conn.execute(
            select(posts, creators.c.name.label("creator_name"))
            .join(creators, creators.c.id == posts.c.creator_id)
            .order_by(creators.c.name, posts.c.published_at.nulls_last(), posts.c.id)).all()
        in_collections: dict[int, list[str]] = {}
        for post_id, title in conn.execute(
                select(post_collections.c.post_id, collections.c.title)
                .join(collections, collections.c.id == post_collections.c.collection_id)):
            in_collections.setdefault(post_id, []).append(title)
        attached: dict[int, list[Any]] = {}
        for media_row in conn.execute(
                select(post_media, media_files.c.sha256, media_files.c.kind,
                       media_files.c.mime_type, media_files.c.size)
                .join(media_files, media_files.c.id == post_media.c.media_id)
                .order_by(post_media.c.post_id, post_media.c.position, post_media.c.id)):
            attached.setdefault(media_row.post_id, []).append(media_row)
    creator_names = _Names()
    creator_dirs: dict[str, tuple[str, _Names]] = {}
    index: list[dict[str, Any]] = []
    for done, row in enumerate(rows, 1):
        if row.creator_name not in creator_dirs:
            creator_dirs[row.creator_name] = (
                creator_names.take(safe_name(row.creator_name, fallback="creator")), _Names())
        creator_dir, post_names = creator_dirs[row.creator_name]
        date = row.published_at.date().isoformat() if row.published_at else "undated"
        post_dir_name = post_names.take(safe_name(f"{date} {row.title}"))
        post_dir = folder / creator_dir / post_dir_name
        post_dir.mkdir(parents=True)
        files = _write_media(context, post_dir, attached.get(row.id, []), transcripts, link,
                             report)
        data = {
            "id": row.id, "source": row.source, "external_id": row.external_id,
            "creator": row.creator_name, "title": row.title, "url": row.url,
            "published_at": row.published_at.isoformat() if row.published_at else None,
            "edited_at": row.edited_at.isoformat() if row.edited_at else None,
            "tags": list(row.tags or []), "language": row.language,
            "collections": in_collections.get(row.id, []),
            "text": row.content_text, "html": row.content_html, "media": files,
            "metadata": row.metadata,
        }
        (post_dir / "post.json").write_text(
            json.dumps(data, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
        (post_dir / "post.html").write_text(_post_html(data, files), encoding="utf-8")
        index.append({"title": row.title, "creator": row.creator_name,
                      "published_at": data["published_at"], "source": row.source,
                      "folder": f"{creator_dir}/{post_dir_name}"})
        report.posts += 1
        if progress is not None:
            progress(done, len(rows))
    (folder / "posts.json").write_text(json.dumps(index, ensure_ascii=False, indent=2),
                                       encoding="utf-8")
    (folder / "index.html").write_text(_index_html(index), encoding="utf-8")
    return report


def _write_media(context: ArchiveContext, post_dir: Path, rows: list[Any],
                 transcripts: TranscriptStore, link: bool,
                 report: ExportReport) -> list[dict[str, Any]]:
    names = _Names()
    names.take("post.json")
    names.take("post.html")
    files: list[dict[str, Any]] = []
    for position, row in enumerate(rows, 1):
        name = names.take(_media_name(row, position))
        entry: dict[str, Any] = {"file": name, "sha256": row.sha256, "kind": row.kind,
                                 "mime_type": row.mime_type, "size": row.size,
                                 "role": row.role, "caption": row.caption,
                                 "original_url": row.original_url}
        exported = report.placed.get(row.sha256)
        source = context.media.local_file(row.sha256) if exported is None else exported
        try:
            if source is not None:
                _place(source, post_dir / name, link or exported is not None)
            else:  # a remote store: read through it
                with (post_dir / name).open("wb") as out:
                    for chunk in context.media.read(row.sha256):
                        out.write(chunk)
        except FileNotFoundError:
            (post_dir / name).unlink(missing_ok=True)
            report.missing += 1
            entry["file"] = None
            entry["note"] = "missing from the media store when exported"
            files.append(entry)
            continue
        report.placed.setdefault(row.sha256, post_dir / name)
        report.files += 1
        report.bytes += row.size
        segments = transcripts.segments(row.media_id)
        if segments:
            vtt = names.take(f"{name}.vtt")
            (post_dir / vtt).write_text(to_webvtt(segments), encoding="utf-8")
            entry["transcript"] = vtt
        files.append(entry)
    return files


def _media_name(row: Any, position: int) -> str:
    candidates = [row.filename]
    if row.original_url:
        candidates.append(PurePosixPath(urlsplit(row.original_url).path).name)
    for candidate in candidates:
        if candidate and candidate.strip():
            name = safe_name(candidate)
            break
    else:
        name = f"{row.kind}-{position}"
    if "." not in name[1:] and row.mime_type:
        name += mimetypes.guess_extension(row.mime_type) or ""
    return name


def _place(source: Path, dest: Path, link: bool) -> None:
    if link:
        try:
            os.link(source, dest)
            return
        except OSError:
            pass
    shutil.copyfile(source, dest)


_PAGE = """<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>body{{font:16px/1.5 system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem}}
img,video,audio{{max-width:100%}} .meta{{color:#666}}</style></head>
<body>{body}</body></html>
"""


def _post_html(data: dict[str, Any], files: list[dict[str, Any]]) -> str:
    from alejandria.text.html import sanitize_html

    local = {item["original_url"]: item["file"] for item in files
             if item.get("original_url") and item.get("file")}
    meta = " · ".join(html.escape(str(part)) for part in
                      (data["creator"], data["published_at"] or "", data["source"]) if part)
    parts = [f"<h1>{html.escape(data['title'])}</h1>", f'<p class="meta">{meta}</p>']
    if data["url"]:
        url = html.escape(data["url"], quote=True)
        parts.append(f'<p class="meta"><a href="{url}">{url}</a></p>')
    if data["html"]:
        parts.append(sanitize_html(data["html"], image_src=local.get))
    elif data["text"]:
        parts += [f"<p>{html.escape(paragraph)}</p>"
                  for paragraph in data["text"].split("\n\n") if paragraph.strip()]
    listed = [item for item in files if item.get("file")]
    if listed:
        parts.append("<h2>Files</h2><ul>")
        for item in listed:
            href = html.escape(item["file"], quote=True)
            preview = ""
            if item["kind"] == "image":
                preview = f'<br><img src="{href}" alt="" loading="lazy">'
            elif item["kind"] in ("audio", "video"):
                preview = f'<br><{item["kind"]} controls src="{href}"></{item["kind"]}>'
            parts.append(f'<li><a href="{href}">{html.escape(item["file"])}</a>{preview}</li>')
        parts.append("</ul>")
    if data["tags"]:
        parts.append(f'<p class="meta">Tags: {html.escape(", ".join(data["tags"]))}</p>')
    return _PAGE.format(lang=html.escape(data["language"] or "en"),
                        title=html.escape(data["title"]), body="\n".join(parts))


def _index_html(index: list[dict[str, Any]]) -> str:
    from urllib.parse import quote

    parts = ["<h1>Archive export</h1>"]
    creator = None
    for item in index:
        if item["creator"] != creator:
            if creator is not None:
                parts.append("</ul>")
            creator = item["creator"]
            parts.append(f"<h2>{html.escape(creator)}</h2><ul>")
        href = html.escape(quote(item["folder"]) + "/post.html", quote=True)
        date = html.escape((item["published_at"] or "")[:10])
        parts.append(f'<li>{date} <a href="{href}">{html.escape(item["title"])}</a></li>')
    if creator is not None:
        parts.append("</ul>")
    return _PAGE.format(lang="en", title="Archive export", body="\n".join(parts))


__all__ = ["ExportReport", "export_archive", "safe_name"]
