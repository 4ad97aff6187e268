"""gallery-dl download trees: files with ``--write-metadata`` JSON sidecars, regrouped into
the posts they came from.

gallery-dl writes one sidecar per downloaded file, ``<file>.<ext>.json``, holding the post's
metadata plus that file's own (``num``, ``filename``, ``extension``; for Patreon ``hash``,
the 32-hex key in the file's CDN path, and ``type``). Files of the same post share the post's
id, so a post is the group of sidecars with one ``(category, id)``; its metadata is kept
whole in ``metadata["gallery_dl"]``.

Patreon posts (``category`` ``patreon``) are stored as the ``patreon`` source stores them:
the post id, the campaign id as creator (read from the campaign's avatar URL, which holds it:
gallery-dl keeps the campaign's attributes but not its id) and the CDN hash as each file's
key, so a later ``alejandria sync patreon`` knows them. Posts of other sites are stored as
``gallery-dl`` with ids ``<category>:<id>``.
"""

from __future__ import annotations

import mimetypes
import os
from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

from alejandria.imports.findings import CreatorKey, Findings
from alejandria.imports.jsonfiles import CorruptJson, read_json, show_path
from alejandria.imports.legacy import pick
from alejandria.imports.values import (
    html_to_text,
    identifier,
    looks_like_html,
    parse_date,
    patreon_campaign_id,
    patreon_hash_key,
    tag_list,
    text_value,
)
from alejandria.media.types import kind_for_mime
from alejandria.models import CreatorIn, JsonDict, MediaIn, Notice, PostIn

SIDECAR_SUFFIX = ".json"
#: Directory metadata gallery-dl writes with ``--write-info-json``: no file of its own.
DIRECTORY_METADATA = frozenset({"info.json"})
#: Metadata keys that describe one file, not its post.
PER_FILE_KEYS = frozenset({"num", "hash", "type", "filename", "extension", "file", "url",
                           "width", "height", "filesize", "size"})
#: gallery-dl's Patreon file ``type`` → the role the ``patreon`` source gives such a file.
PATREON_ROLES = {"image": "image", "image_large": "image", "attachment": "attachment",
                 "postfile": "post_file", "content": "inline"}
PATREON_BASE_URL = "https://www.patreon.com"
#: The category whose posts are stored as a live source's own (same ids): category → source.
LIVE_SOURCES = {"patreon": "patreon"}
_USER_FIELDS = ("user", "author", "artist", "creator", "uploader", "owner")
_POST_ID_FIELDS = ("post_id", "id", "tweet_id", "gallery_id")
_IGNORED_SUFFIXES = frozenset({".part", ".ytdl", ".tmp"})


@dataclass
class Sidecar:
    """A metadata file, the media file it describes (None when not found) and its content."""

    path: Path
    media: Path | None
    meta: JsonDict = field(default_factory=dict)

    @property
    def num(self) -> int:
        value = self.meta.get("num")
        return value if isinstance(value, int) and not isinstance(value, bool) else 0


def walk(root: Path) -> Iterator[tuple[Path, list[Path], int]]:
    """Each folder under ``root`` holding sidecars: (folder, its sidecars by name, how many
    other files it holds that no sidecar describes). Hidden entries are left out."""
    for folder, folders, files in os.walk(root):
        folders[:] = sorted(name for name in folders if not name.startswith("."))
        names = sorted(name for name in files if not name.startswith("."))
        sidecars = [name for name in names if name.endswith(SIDECAR_SUFFIX)
                    and name not in DIRECTORY_METADATA]
        described = {name[:-len(SIDECAR_SUFFIX)] for name in sidecars}
        stems = {name.rsplit(".", 1)[0] for name in described}
        lone = [name for name in names if not name.endswith(SIDECAR_SUFFIX)
                and name not in described and name.rsplit(".", 1)[0] not in stems
                and Path(name).suffix not in _IGNORED_SUFFIXES]
        if sidecars:
            yield Path(folder), [Path(folder) / name for name in sidecars], len(lone)


def media_of(sidecar: Path) -> Path | None:
    """The file a sidecar describes: ``x.jpg`` for ``x.jpg.json``; for ``x.json`` (a
    configured ``extension-format``), the sibling ``x.<ext>``; None when there is none."""
    named = sidecar.with_name(sidecar.name[:-len(SIDECAR_SUFFIX)])
    if named.is_file() or named.suffix:
        return named if named.is_file() else None
    for sibling in sorted(sidecar.parent.glob(f"{_glob_escape(named.name)}.*")):
        if sibling.suffix != SIDECAR_SUFFIX and sibling.is_file():
            return sibling
    return None


def expected_media(sidecar: Path) -> str:
    """What a sidecar's missing file would be called, for the report."""
    return show_path(sidecar.with_name(sidecar.name[:-len(SIDECAR_SUFFIX)]))


def _glob_escape(name: str) -> str:
    return "".join(f"[{char}]" if char in "*?[]" else char for char in name)


def category_of(meta: JsonDict) -> str:
    return text_value(meta.get("category")) or "unknown"


def read_sidecar(path: Path) -> Sidecar:
    """A sidecar's content; ``CorruptJson`` when it is not a JSON object."""
    meta = read_json(path)
    if not isinstance(meta, dict):
        raise CorruptJson(show_path(path), f"expected gallery-dl metadata (a JSON object), "
                                           f"found a JSON {type(meta).__name__}")
    return Sidecar(path=path, media=media_of(path), meta=meta)


@dataclass
class Grouped:
    """One post's sidecars, in ``num`` order."""

    category: str
    post_id: str | None
    sidecars: list[Sidecar]


def group(sidecars: Sequence[Sidecar]) -> list[Grouped]:
    """Sidecars regrouped by post, in the order their first file appears; a file whose
    metadata has no post id is a post of its own."""
    posts: dict[tuple[str, str], Grouped] = {}
    for sidecar in sidecars:
        category = category_of(sidecar.meta)
        post_id = identifier(pick(sidecar.meta, _POST_ID_FIELDS))
        key = (category, post_id if post_id is not None else f"file:{sidecar.path}")
        posts.setdefault(key, Grouped(category, post_id, [])).sidecars.append(sidecar)
    for grouped in posts.values():
        grouped.sidecars.sort(key=lambda sidecar: (sidecar.num, sidecar.path.name))
    return list(posts.values())


@dataclass
class PostBuilder:
    """Builds the creator and post of one group of sidecars."""

    findings: Findings
    #: The source name posts of other sites are stored under (the importer's own).
    own_source: str
    said: set[str] = field(default_factory=set)

    def build(self, grouped: Grouped) -> Iterator[CreatorIn | PostIn | Notice]:
        if grouped.category in LIVE_SOURCES and grouped.post_id is not None:
            yield from self._patreon(grouped, grouped.post_id)
        else:
            yield from self._other(grouped)

    # -- Patreon ---------------------------------------------------------------------------

    def _patreon(self, grouped: Grouped, post_id: str) -> Iterator[CreatorIn | PostIn | Notice]:
        first = grouped.sidecars[0].meta
        campaign = first.get("campaign") if isinstance(first.get("campaign"), dict) else {}
        user = first.get("creator") if isinstance(first.get("creator"), dict) else {}
        assert isinstance(campaign, dict) and isinstance(user, dict)
        campaign_id = (identifier(campaign.get("id")) or identifier(first.get("campaign_id"))
                       or patreon_campaign_id(campaign.get("avatar_photo_url")))
        user_id = identifier(user.get("id"))
        name = (text_value(campaign.get("name")) or text_value(user.get("full_name"))
                or text_value(user.get("vanity")) or f"Patreon creator {campaign_id or user_id}")
        if campaign_id is not None:
            creator_id = campaign_id
        else:
            creator_id = f"user:{user_id}" if user_id else "unknown"
            if creator_id not in self.said:
                self.said.add(creator_id)
                yield self.findings.skip(
                    f"creator {name}", "no Patreon campaign id in the metadata (campaign."
                    "avatar_photo_url names it): stored as creator "
                    f"{creator_id!r}; a later sync of the patreon source files these posts "
                    "under the campaign's own creator")
        yield CreatorIn(
            external_id=creator_id, name=name,
            url=text_value(campaign.get("url")) or text_value(user.get("url")),
            avatar_url=_stable_url(campaign.get("avatar_photo_url")),
            metadata={"campaign_id": campaign_id, "vanity": user.get("vanity"),
                      "user_id": user_id, "imported_from": "gallery-dl"})
        html, text = _body(first.get("content"))
        url = text_value(first.get("url")) or text_value(first.get("patreon_url"))
        media: list[MediaIn] = []
        for sidecar in grouped.sidecars:
            item = yield from self._media(sidecar, ("patreon", creator_id), post_id, True)
            if item is not None and item.key not in {known.key for known in media}:
                media.append(item.model_copy(update={"position": len(media)}))
        yield PostIn(
            external_id=post_id, creator_external_id=creator_id,
            title=(text_value(first.get("title")) or "").strip() or f"Post {post_id}",
            text=text, html=html, url=urljoin(PATREON_BASE_URL + "/", url) if url else None,
            published_at=parse_date(first.get("published_at")) or parse_date(first.get("date")),
            edited_at=parse_date(first.get("edited_at")), tags=tag_list(first.get("tags")),
            media=tuple(media), has_text=bool(text.strip()),
            metadata={"post_type": first.get("post_type"), "imported_from": "gallery-dl",
                      "gallery_dl": _post_level(first)})

    # -- other sites -----------------------------------------------------------------------

    def _other(self, grouped: Grouped) -> Iterator[CreatorIn | PostIn | Notice]:
        first = grouped.sidecars[0].meta
        category = grouped.category
        user_value = pick(first, _USER_FIELDS)
        if isinstance(user_value, dict):
            user_id = identifier(pick(user_value, ("id", "user_id", "account", "name")))
            user_name = text_value(pick(user_value, ("name", "full_name", "nick", "username",
                                                     "account")))
        else:
            user_id = user_name = identifier(user_value)
        creator_id = f"{category}:{user_id}" if user_id else category
        yield CreatorIn(external_id=creator_id, name=user_name or user_id or category,
                        metadata={"category": category, "imported_from": "gallery-dl"})
        if grouped.post_id is None:
            post_id = f"{category}:file:{show_path(grouped.sidecars[0].path)}"
        else:
            post_id = f"{category}:{grouped.post_id}"
        html, text = _body(pick(first, ("content", "description", "caption", "text")))
        title = text_value(first.get("title")) or (text.strip().splitlines() or [""])[0][:120]
        media: list[MediaIn] = []
        for sidecar in grouped.sidecars:
            item = yield from self._media(sidecar, (self.own_source, creator_id), post_id,
                                          False)
            if item is not None and item.key not in {known.key for known in media}:
                media.append(item.model_copy(update={"position": len(media)}))
        yield PostIn(
            external_id=post_id, creator_external_id=creator_id,
            title=title.strip() or f"{category} {grouped.post_id or 'file'}", text=text,
            html=html, url=text_value(first.get("post_url")),
            published_at=parse_date(pick(first, ("date", "published_at", "created_at"))),
            tags=tag_list(first.get("tags")), media=tuple(media), has_text=bool(text.strip()),
            metadata={"category": category, "imported_from": "gallery-dl",
                      "gallery_dl": _post_level(first)})

    # -- files -----------------------------------------------------------------------------

    def _media(self, sidecar: Sidecar, creator: CreatorKey, post_id: str,
               patreon: bool) -> Generator[Notice, None, MediaIn | None]:
        """The ``MediaIn`` of one sidecar's file, returned (None when it is missing)."""
        meta = sidecar.meta
        if sidecar.media is None:
            yield self.findings.missing_file(creator, f"post {post_id}",
                                             expected_media(sidecar.path))
            return None
        path = sidecar.media
        name, extension = text_value(meta.get("filename")), text_value(meta.get("extension"))
        filename = f"{name}.{extension}" if name and extension else path.name
        key = (patreon_hash_key(meta.get("hash")) if patreon else None) or \
            f"local:{show_path(path)}"
        kind_type = str(meta.get("type") or "")
        mime = mimetypes.guess_type(path.name)[0] or mimetypes.guess_type(filename)[0]
        details: JsonDict = {"imported_path": show_path(path)}
        details.update({name: meta[name] for name in ("num", "type", "hash") if name in meta})
        return MediaIn(
            key=key, url=path.resolve().as_uri(), filename=filename, mime_type=mime,
            kind=kind_for_mime(mime),
            role=PATREON_ROLES.get(kind_type, "attachment") if patreon else "file",
            metadata=details)


def _body(value: Any) -> tuple[str | None, str]:
    text = text_value(value)
    if text is None:
        return None, ""
    if looks_like_html(text):
        return text, html_to_text(text)
    return None, text


def _post_level(meta: JsonDict) -> JsonDict:
    """A sidecar's metadata less what belongs to its one file and the body (stored apart)."""
    return {key: value for key, value in meta.items()
            if key not in PER_FILE_KEYS and key != "content"}


def _stable_url(url: Any) -> str | None:
    """A CDN URL without its signature query (which changes on every fetch)."""
    if not isinstance(url, str) or not url:
        return None
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
