"""The built-in ``files`` source: ``alejandria sync files PATH...``.

Archives media you already have on disk (images, audio, video, documents): one post per file,
its folder as the collection. A file is identified by its path; its bytes by their SHA-256, so
the same picture in two folders is stored once. It is also the smallest complete example of a
source plugin: resolve, fetch with a cursor, and streamed media.
"""

from __future__ import annotations

import contextlib
import hashlib
import mimetypes
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO
from urllib.parse import unquote, urlparse

from alejandria.errors import ItemRejected
from alejandria.media.types import kind_for_mime
from alejandria.models import (
    Checkpoint,
    CollectionIn,
    CollectionRef,
    CreatorIn,
    JsonDict,
    MediaIn,
    PostIn,
    SyncItem,
    SyncTarget,
)
from alejandria.plugin_types import BaseSource, SourceContext

READ_SIZE = 1 << 20
DEFAULT_CREATOR = "Local files"


class FilesSource(BaseSource):
    """Options: ``creator`` (who the files are by; default "Local files")."""

    def __init__(self, context: SourceContext) -> None:
        self.creator = str(context.options.get("creator") or DEFAULT_CREATOR)

    def resolve(self, targets: Sequence[str]) -> Iterator[SyncTarget]:
        """Files as given; folders walked recursively, skipping hidden files and folders."""
        for target in targets:
            root = Path(target).expanduser().resolve()
            if not root.is_dir():
                yield SyncTarget(scope=f"file:{root}", label=target, locator=str(root))
                continue
            for path in sorted(root.rglob("*")):
                relative = path.relative_to(root)
                if path.is_file() and not any(p.startswith(".") for p in relative.parts):
                    yield SyncTarget(scope=f"file:{path}", label=str(relative),
                                     locator=str(path))

    def fetch(self, target: SyncTarget, cursor: JsonDict | None) -> Iterator[SyncItem]:
        path = Path(target.locator)
        try:
            stat = path.stat()
        except FileNotFoundError as exc:
            raise ItemRejected(target.label, "no such file") from exc
        if cursor and (cursor.get("size"), cursor.get("mtime_ns")) == (stat.st_size,
                                                                       stat.st_mtime_ns):
            return
        sha256 = _hash(path, target.label)
        checkpoint = Checkpoint(cursor={"size": stat.st_size, "mtime_ns": stat.st_mtime_ns,
                                        "sha256": sha256})
        if cursor and cursor.get("sha256") == sha256:
            yield checkpoint  # touched, same bytes: nothing to write
            return
        mime_type = mimetypes.guess_type(path.name)[0]
        creator_id = self.creator.casefold()
        folder = path.parent
        yield CreatorIn(external_id=creator_id, name=self.creator)
        yield CollectionIn(external_id=f"dir:{folder}", creator_external_id=creator_id,
                           title=folder.name or str(folder), metadata={"path": str(folder)})
        yield PostIn(
            external_id=f"file:{path}",
            creator_external_id=creator_id,
            title=path.stem,
            published_at=datetime.fromtimestamp(stat.st_mtime, UTC),
            collections=(CollectionRef(external_id=f"dir:{folder}"),),
            media=(MediaIn(key=f"sha256:{sha256}", url=path.as_uri(), filename=path.name,
                           mime_type=mime_type, kind=kind_for_mime(mime_type), role="file"),),
            has_text=False,
            metadata={"path": str(path), "size": stat.st_size},
        )
        yield checkpoint

    def open_media(self, media: MediaIn) -> contextlib.AbstractContextManager[BinaryIO]:
        if not media.url or not media.url.startswith("file://"):
            raise ItemRejected(media.filename or media.key, "not a local file")
        return Path(unquote(urlparse(media.url).path)).open("rb")


def _hash(path: Path, label: str) -> str:
    try:
        with path.open("rb") as handle:
            return hashlib.file_digest(handle, "sha256").hexdigest()
    except OSError as exc:
        raise ItemRejected(label, f"cannot read file: {exc.strerror or exc}") from exc
