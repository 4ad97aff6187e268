"""The built-in ``files`` source: ``alejandria sync files PATH...``.

Archives media you already have on disk (images, audio, video, documents): one post per file,
its folder as the collection. A file is identified by its path; its bytes by their SHA-256, so
the same picture in two folders is stored once. It is also the smallest complete example of a
source plugin: resolve, fetch with a cursor, and streamed media.

What a folder holds is not always tidy: a name that is not UTF-8 is shown with ``\\xNN`` escapes
(and opened by its exact bytes, kept in a ``file:`` URI), only regular files are read (a FIFO or
``/dev/zero`` named directly would never end), a file over ``max_download_mb`` is refused before
it is read, and a file that changes between its hash and its copy into the store is refused
(the next sync archives it as it is then) instead of being stored under another file's hash.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import mimetypes
import os
import stat as stat_module
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import unquote_to_bytes, urlsplit

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
        limit_mb = getattr(context.settings, "max_download_mb", None)
        self.max_bytes: int | None = int(limit_mb) * 1024 * 1024 if limit_mb else None

    def resolve(self, targets: Sequence[str]) -> Iterator[SyncTarget]:
        """Files as given; folders walked recursively, skipping hidden files and folders."""
        for target in targets:
            root = Path(target).expanduser().resolve()
            if not root.is_dir():
                yield SyncTarget(scope=f"file:{shown(root)}", label=shown(Path(target)),
                                 locator=root.as_uri())
                continue
            for path, error in walk_files(root):
                label = shown(path.relative_to(root)) if path != root else shown(Path(target))
                if error is not None:
                    # reported by fetch, so the sync names it and exits non-zero
                    yield SyncTarget(scope=f"unreadable:{shown(path)}", label=label,
                                     locator=path.as_uri(),
                                     metadata={"error": error.strerror or str(error)})
                    continue
                yield SyncTarget(scope=f"file:{shown(path)}", label=label,
                                 locator=path.as_uri())

    def fetch(self, target: SyncTarget, cursor: JsonDict | None) -> Iterator[SyncItem]:
        path = path_of(target.locator)
        if "error" in target.metadata:
            raise ItemRejected(target.label, f"cannot read this folder "
                                             f"({target.metadata['error']}); it was skipped")
        try:
            stat = path.stat()
        except FileNotFoundError as exc:
            reason = ("a link to a file that does not exist" if path.is_symlink() else
                      "no such file")
            raise ItemRejected(target.label, reason) from exc
        if not stat_module.S_ISREG(stat.st_mode):
            raise ItemRejected(target.label, "not a regular file (a device, a pipe or a "
                                             "socket); only files are archived")
        if self.max_bytes is not None and stat.st_size > self.max_bytes:
            raise ItemRejected(target.label, f"the file is {stat.st_size / 2**20:.0f} MB, over "
                                             f"the limit of {self.max_bytes // 2**20} MB; "
                                             "raise ALEJANDRIA_MAX_DOWNLOAD_MB to archive it")
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
        yield CollectionIn(external_id=f"dir:{shown(folder)}", creator_external_id=creator_id,
                           title=shown(Path(folder.name)) if folder.name else shown(folder),
                           metadata={"path": shown(folder)})
        yield PostIn(
            external_id=f"file:{shown(path)}",
            creator_external_id=creator_id,
            title=shown(Path(path.stem)),
            published_at=datetime.fromtimestamp(stat.st_mtime, UTC),
            collections=(CollectionRef(external_id=f"dir:{shown(folder)}"),),
            media=(MediaIn(key=f"sha256:{sha256}", url=path.as_uri(),
                           filename=shown(Path(path.name)), mime_type=mime_type,
                           kind=kind_for_mime(mime_type), role="file"),),
            has_text=False,
            metadata={"path": shown(path), "size": stat.st_size},
        )
        yield checkpoint

    def open_media(self, media: MediaIn) -> contextlib.AbstractContextManager[BinaryIO]:
        if not media.url or not media.url.startswith("file://"):
            raise ItemRejected(media.filename or media.key, "not a local file")
        subject = media.filename or media.key
        expected = media.key.removeprefix("sha256:")
        try:
            handle = path_of(media.url).open("rb")
        except OSError as exc:
            raise ItemRejected(subject, f"cannot read file: {exc.strerror or exc}") from exc
        return io.BufferedReader(_HashChecked(handle, expected, subject), READ_SIZE)


def walk_files(root: Path) -> Iterator[tuple[Path, OSError | None]]:
    """What is under ``root`` in name order but folders, hidden entries left out, and each
    folder that could not be read with why: ``(path, None)`` or ``(folder, error)``. Pipes,
    sockets, devices and broken links are listed too, for ``fetch`` to refuse by name
    (``Path.rglob`` and an ``is_file`` filter skipped them, and unreadable folders, without a
    word)."""
    errors: list[OSError] = []
    for folder, folders, files in os.walk(root, onerror=errors.append):
        while errors:
            error = errors.pop(0)
            yield Path(error.filename or folder), error
        folders[:] = sorted(name for name in folders if not name.startswith("."))
        for name in sorted(files):
            if not name.startswith("."):  # a pipe or a broken link too: fetch names it
                yield Path(folder) / name, None
    for error in errors:
        yield Path(error.filename or root), error


def shown(path: Path) -> str:
    """A path as text that can be stored and printed: its bytes as UTF-8, those that are not
    UTF-8 as ``\\xNN`` (distinct names stay distinct)."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def path_of(uri: str) -> Path:
    """The path a ``file:`` URI names, byte for byte."""
    return Path(os.fsdecode(unquote_to_bytes(urlsplit(uri).path)))


class _HashChecked(io.RawIOBase):
    """Reads a file while hashing it; at its end, a file whose bytes are not those hashed when
    the sync looked at it (it changed in between) raises instead of ending, so the store throws
    the copy away rather than keep it under the key of other bytes."""

    def __init__(self, handle: BinaryIO, sha256: str, subject: str) -> None:
        self._handle = handle
        self._sha256 = sha256
        self._subject = subject
        self._digest = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        chunk = self._handle.read(READ_SIZE if size is None or size < 0 else size)
        if chunk:
            self._digest.update(chunk)
        elif self._digest.hexdigest() != self._sha256:
            raise ItemRejected(self._subject, "the file changed while it was archived; the "
                                              "next sync archives it as it is then")
        return chunk

    def readinto(self, buffer: Any) -> int:
        chunk = self.read(len(buffer))
        buffer[:len(chunk)] = chunk
        return len(chunk)

    def close(self) -> None:
        self._handle.close()
        super().close()


def _hash(path: Path, label: str) -> str:
    try:
        with path.open("rb") as handle:
            return hashlib.file_digest(handle, "sha256").hexdigest()
    except OSError as exc:
        raise ItemRejected(label, f"cannot read file: {exc.strerror or exc}") from exc
