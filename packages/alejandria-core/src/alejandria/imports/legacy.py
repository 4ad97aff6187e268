"""The old system's files: ``config/creators.json`` and ``data/processed/*_posts_detailed.json``.

Successive versions of the old scripts wrote the same things under different names
(``content``/``body``, ``published_at``/``date``, ``local_path``/``file_path``, ...). Each
field below lists the names it is read from, the first present wins; fields known to carry
nothing to import are kept in ``metadata``; any other key is reported once per import and
kept in ``metadata["unmapped"]``, so nothing is dropped without a word and nothing is read
as something it may not be.
"""

from __future__ import annotations

import mimetypes
import re
from collections.abc import Generator, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alejandria.imports.findings import CreatorKey, Findings
from alejandria.imports.jsonfiles import CorruptJson, read_json, show_path
from alejandria.imports.values import (
    html_to_text,
    identifier,
    looks_like_html,
    parse_date,
    patreon_file_key,
    patreon_post_id,
    tag_list,
    text_value,
)
from alejandria.media.types import kind_for_mime
from alejandria.models import CreatorIn, JsonDict, MediaIn, MediaKind, Notice, PostIn

#: Field → the names the old scripts wrote it under, in order of preference.
CREATOR_FIELDS: dict[str, tuple[str, ...]] = {
    "key": ("id", "creator_id", "slug", "vanity", "username"),
    "campaign_id": ("campaign_id", "patreon_campaign_id"),
    "name": ("name", "full_name", "display_name", "creator_name", "title"),
    "url": ("url", "patreon_url", "profile_url", "link"),
    "avatar": ("avatar_url", "avatar", "image_url", "thumbnail_url"),
}
#: Creator keys that hold nothing to import; kept in ``metadata`` as they are.
CREATOR_KEPT = frozenset({"active", "scraper_enabled", "enabled", "description", "summary",
                          "notes", "tags", "category", "created_at", "updated_at",
                          "last_scraped", "last_scraped_at", "last_update", "post_count"})
POST_FIELDS: dict[str, tuple[str, ...]] = {
    "id": ("post_id", "id", "patreon_id", "postId"),
    "title": ("title", "post_title", "name"),
    "html": ("content_html", "html", "body_html"),
    #: HTML or plain text, told apart by the value itself.
    "content": ("content", "body", "description"),
    "text": ("content_text", "text", "plain_text", "body_text"),
    "published": ("published_at", "published", "publish_date", "date", "created_at",
                  "post_date"),
    "edited": ("edited_at", "updated_at", "modified_at", "edited"),
    "url": ("url", "post_url", "patreon_url", "link"),
    "tags": ("tags", "labels"),
    "media": ("media", "media_files", "files", "downloaded_media"),
    "creator": ("creator_id", "creator", "campaign_id", "author_id"),
    "type": ("post_type", "type"),
}
POST_KEPT = frozenset({"like_count", "likes", "comment_count", "comments_count", "comments",
                       "view_count", "is_paid", "access", "tier", "tiers",
                       "min_cents_pledged_to_view", "scraped_at", "scraped", "collection",
                       "collections", "teaser_text", "excerpt", "summary", "media_count",
                       "image_count", "video_count", "audio_count", "processed_at"})
MEDIA_FIELDS: dict[str, tuple[str, ...]] = {
    "path": ("local_path", "path", "file_path", "filepath", "local_file", "downloaded_path"),
    "url": ("url", "download_url", "original_url", "src", "source_url"),
    "filename": ("filename", "file_name", "name"),
    "kind": ("type", "media_type", "kind"),
    "mime": ("mime_type", "mimetype", "content_type"),
    "caption": ("caption", "alt", "description", "title"),
}
MEDIA_KEPT = frozenset({"size", "size_bytes", "width", "height", "duration", "hash", "sha256",
                        "md5", "id", "media_id", "downloaded", "downloaded_at", "status",
                        "position", "index", "order"})
#: ``<creator>_posts_detailed.json``: the creator the old scripts named a posts file after.
POSTS_FILE = re.compile(r"^(?P<creator>.+?)_posts(?:_detailed)?\.json$", re.IGNORECASE)
_KINDS = {"image": MediaKind.IMAGE, "photo": MediaKind.IMAGE, "video": MediaKind.VIDEO,
          "audio": MediaKind.AUDIO, "document": MediaKind.DOCUMENT, "pdf": MediaKind.DOCUMENT}


@dataclass(frozen=True)
class LegacyCreator:
    """A creator of ``creators.json``: ``key`` is how the posts files name it, ``item`` what
    is stored (its external id the Patreon campaign id when the file gives one)."""

    key: str
    item: CreatorIn


def pick(record: Mapping[str, Any], names: tuple[str, ...]) -> Any:
    """The value of the first of ``names`` present and not empty in ``record``."""
    for name in names:
        value = record.get(name)
        if value not in (None, "", [], {}):
            return value
    return None


def _known(fields: Mapping[str, tuple[str, ...]], kept: frozenset[str]) -> frozenset[str]:
    return frozenset(name for names in fields.values() for name in names) | kept


_CREATOR_KNOWN = _known(CREATOR_FIELDS, CREATOR_KEPT)
_POST_KNOWN = _known(POST_FIELDS, POST_KEPT)
_MEDIA_KNOWN = _known(MEDIA_FIELDS, MEDIA_KEPT)


def read_creators(path: Path, findings: Findings) -> tuple[list[LegacyCreator], list[Notice]]:
    """The creators of ``creators.json`` (a list, ``{"creators": [...]}`` or an object keyed
    by id); ``CorruptJson`` when the file cannot be read."""
    data = read_json(path)
    shown = show_path(path)
    if isinstance(data, dict) and isinstance(data.get("creators"), list | dict):
        data = data["creators"]
    if isinstance(data, dict):
        data = [{"id": key, **value} if isinstance(value, dict) else value
                for key, value in data.items()]
    if not isinstance(data, list):
        raise CorruptJson(shown, "expected a list of creators (or {\"creators\": [...]}), "
                                 f"found a JSON {type(data).__name__}")
    creators: list[LegacyCreator] = []
    notices: list[Notice] = []
    for number, record in enumerate(data, 1):
        if not isinstance(record, dict):
            notices.append(findings.skip(f"{shown}: creator #{number}",
                                         "not a JSON object; left out"))
            continue
        key = identifier(pick(record, CREATOR_FIELDS["key"]))
        campaign = identifier(pick(record, CREATOR_FIELDS["campaign_id"]))
        if key is None and campaign is None:
            notices.append(findings.skip(f"{shown}: creator #{number}",
                                         "has no id (id, creator_id, campaign_id); left out"))
            continue
        unknown = set(record) - _CREATOR_KNOWN
        if (notice := findings.unknown("creator", unknown, shown)) is not None:
            notices.append(notice)
        external_id = campaign or key
        assert external_id is not None
        metadata: JsonDict = {name: record[name] for name in record if name in CREATOR_KEPT}
        metadata["legacy_id"] = key
        if unknown:
            metadata["unmapped"] = {name: record[name] for name in sorted(unknown)}
        avatar = text_value(pick(record, CREATOR_FIELDS["avatar"]))
        creators.append(LegacyCreator(key=key or external_id, item=CreatorIn(
            external_id=external_id,
            name=text_value(pick(record, CREATOR_FIELDS["name"])) or key or external_id,
            url=text_value(pick(record, CREATOR_FIELDS["url"])), avatar_url=avatar,
            metadata=metadata)))
    return creators, notices


def creator_for_file(path: Path, container: Any, creators: Mapping[str, LegacyCreator]
                     ) -> LegacyCreator | str | None:
    """Whose posts ``path`` holds: the creator its content names (``{"creator": ...}`` or
    the first post's ``creator_id``), else the one its name starts with
    (``<id>_posts_detailed.json``), matched against ``creators.json`` by id, campaign id or
    the vanity name in its URL. A key not in ``creators.json``: that key (a creator of its own
    is made from it); None when neither the content nor the name says."""
    named: str | None = None
    if isinstance(container, dict):
        creator = container.get("creator")
        named = identifier(creator.get("id") if isinstance(creator, dict) else creator)
        named = named or identifier(container.get("creator_id"))
    posts = posts_of(container)
    if named is None and posts and isinstance(posts[0], dict):
        named = identifier(pick(posts[0], POST_FIELDS["creator"]))
    if named is None and (match := POSTS_FILE.match(path.name)):
        named = match.group("creator")
    if named is None:
        return None
    wanted = named.casefold()
    for creator in creators.values():
        vanity = (creator.item.url or "").rstrip("/").rsplit("/", 1)[-1].casefold()
        if wanted in (creator.key.casefold(), creator.item.external_id.casefold()) or (
                vanity and wanted == vanity):
            return creator
    return named


def posts_of(container: Any) -> list[Any] | None:
    """The post records of a posts file: a list, or ``{"posts"|"data"|"items": [...]}``."""
    if isinstance(container, list):
        return container
    if isinstance(container, dict):
        for name in ("posts", "data", "items"):
            if isinstance(container.get(name), list):
                return list(container[name])
    return None


@dataclass
class PostReader:
    """Turns the records of one posts file into ``PostIn``s of one creator."""

    path: Path
    creator: CreatorKey
    media_root: Path
    findings: Findings
    patreon: bool

    def posts(self, records: list[Any]) -> Iterator[PostIn | Notice]:
        shown = show_path(self.path)
        seen: set[str] = set()
        for number, record in enumerate(records, 1):
            subject = f"{shown}: post #{number}"
            if not isinstance(record, dict):
                yield self.findings.skip(subject, "not a JSON object; left out")
                continue
            url = text_value(pick(record, POST_FIELDS["url"]))
            post_id = identifier(pick(record, POST_FIELDS["id"])) or patreon_post_id(url)
            if post_id is None:
                yield self.findings.skip(subject, "has no id (post_id, id) and no Patreon "
                                                  "post URL to read one from; left out")
                continue
            if post_id in seen:
                yield self.findings.skip(f"{subject} (id {post_id})",
                                         "the same post again in this file; the first kept")
                continue
            seen.add(post_id)
            yield from self._post(record, post_id, url, shown)

    def _post(self, record: dict[str, Any], post_id: str, url: str | None,
              shown: str) -> Iterator[PostIn | Notice]:
        unknown = set(record) - _POST_KNOWN
        if (notice := self.findings.unknown("post", unknown, shown)) is not None:
            yield notice
        html, text = _body(record)
        metadata: JsonDict = {name: record[name] for name in sorted(record)
                              if name in POST_KEPT}
        metadata["imported_from"] = "legacy"
        post_type = text_value(pick(record, POST_FIELDS["type"]))
        if post_type:
            metadata["post_type"] = post_type
        if unknown:
            metadata["unmapped"] = {name: record[name] for name in sorted(unknown)}
        dates = {}
        for field in ("published", "edited"):
            raw = pick(record, POST_FIELDS[field])
            dates[field] = parse_date(raw)
            if raw is not None and dates[field] is None:
                metadata[f"unreadable_{field}"] = raw
                yield self.findings.skip(f"{shown}: post {post_id}",
                                         f"{field} date {raw!r} unreadable; stored without it")
        title = text_value(pick(record, POST_FIELDS["title"]))
        media: list[MediaIn] = []
        for position, entry in enumerate(_media_entries(record)):
            found = yield from self._media(entry, position, post_id, shown)
            if found is not None and found.key not in {item.key for item in media}:
                media.append(found)
        yield PostIn(
            external_id=post_id, creator_external_id=self.creator[1],
            title=title.strip() if title else f"Post {post_id}", text=text, html=html,
            url=url, published_at=dates["published"], edited_at=dates["edited"],
            tags=tag_list(pick(record, POST_FIELDS["tags"])), media=tuple(media),
            has_text=bool(text.strip()), metadata=metadata)

    def _media(self, entry: Any, position: int, post_id: str,
               shown: str) -> Generator[Notice, None, MediaIn | None]:
        """One ``media[]`` entry (an object, or a bare path) as a ``MediaIn``, returned;
        None for one without a file on disk (recorded as missing)."""
        if isinstance(entry, str):
            entry = {"local_path": entry}
        if not isinstance(entry, dict):
            yield self.findings.skip(f"{shown}: post {post_id}",
                                     f"media entry #{position + 1} is not an object; left out")
            return None
        unknown = set(entry) - _MEDIA_KNOWN
        if (notice := self.findings.unknown("media", unknown, shown)) is not None:
            yield notice
        local = text_value(pick(entry, MEDIA_FIELDS["path"]))
        label = f"post {post_id}"
        if local is None:
            yield self.findings.skip(f"{shown}: {label}", f"media entry #{position + 1} has "
                                     "no local_path (nothing on disk to import); left out")
            return None
        path = Path(local).expanduser()
        path = path if path.is_absolute() else self.media_root / path  # media_root: absolute
        if not path.is_file():
            yield self.findings.missing_file(self.creator, f"{shown}: {label}", show_path(path))
            return None
        url = text_value(pick(entry, MEDIA_FIELDS["url"]))
        filename = text_value(pick(entry, MEDIA_FIELDS["filename"])) or path.name
        mime = text_value(pick(entry, MEDIA_FIELDS["mime"])) or mimetypes.guess_type(
            filename)[0] or mimetypes.guess_type(path.name)[0]
        declared = str(pick(entry, MEDIA_FIELDS["kind"]) or "").casefold()
        kind = _KINDS.get(declared) or kind_for_mime(mime)
        key = (patreon_file_key(url) if self.patreon else None) or f"local:{show_path(path)}"
        metadata: JsonDict = {name: entry[name] for name in sorted(entry) if name in MEDIA_KEPT}
        if url:
            metadata["source_url"] = url
        if unknown:
            metadata["unmapped"] = {name: entry[name] for name in sorted(unknown)}
        return MediaIn(key=key, url=path.as_uri(), filename=filename, mime_type=mime,
                       kind=kind, role=declared if declared in _KINDS else "attachment",
                       position=position,
                       caption=text_value(pick(entry, MEDIA_FIELDS["caption"])),
                       metadata=metadata)


def _media_entries(record: Mapping[str, Any]) -> list[Any]:
    entries = pick(record, POST_FIELDS["media"])
    return list(entries) if isinstance(entries, list) else []


def _body(record: Mapping[str, Any]) -> tuple[str | None, str]:
    """(HTML or None, search text) from whichever body fields the record has."""
    html = text_value(pick(record, POST_FIELDS["html"]))
    content = text_value(pick(record, POST_FIELDS["content"]))
    text = text_value(pick(record, POST_FIELDS["text"]))
    if content is not None and looks_like_html(content):
        html = html or content
    elif content is not None:
        text = text or content
    if text is None and html is not None:
        text = html_to_text(html)
    return html, text or ""
