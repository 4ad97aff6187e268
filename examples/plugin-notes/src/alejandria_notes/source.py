"""The ``notes`` source: Markdown and text files become posts, their folder a collection.

``alejandria sync notes ~/notes`` archives every ``*.md``, ``*.markdown`` and ``*.txt`` file
under ``~/notes`` (hidden files and folders are skipped). Each file is one sync target with its
own checkpoint; its cursor remembers the file's size and modification time, so a second sync
does not even open unchanged files.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Sequence
from pathlib import Path

from alejandria.errors import ItemRejected
from alejandria.models import (
    Checkpoint,
    CollectionIn,
    CollectionRef,
    CreatorIn,
    JsonDict,
    PostIn,
    SyncItem,
    SyncTarget,
)
from alejandria.plugin_types import BaseSource, SourceContext

#: The file name endings archived when a folder is walked. A file named on the command line is
#: archived whatever its name.
SUFFIXES = frozenset({".md", ".markdown", ".txt"})
#: The creator of every note unless the sync says otherwise (``-o author="Ana Pérez"``).
DEFAULT_AUTHOR = "Me"

#: A level-1 ATX heading (``# Title``, optionally closed by ``#``s), indented at most 3 spaces.
_HEADING = re.compile(r"^ {0,3}#[ \t]+(?P<title>.+?)(?:[ \t]+#+)?[ \t]*$")
#: The opening or closing line of a fenced code block (``` or ~~~).
_FENCE = re.compile(r"^ {0,3}(?P<fence>`{3,}|~{3,})")


class NotesSource(BaseSource):
    """Archives local notes: ``alejandria sync notes FOLDER_OR_FILE...``.

    ``BaseSource`` supplies ``authenticate`` (nothing to log in to) and ``open_media`` (notes
    carry no media); a source only has to ``resolve`` targets and ``fetch`` them.
    """

    def __init__(self, context: SourceContext) -> None:
        self.author = str(context.options.get("author") or DEFAULT_AUTHOR)

    def resolve(self, targets: Sequence[str]) -> Iterator[SyncTarget]:
        """One target per note file: folders are walked, files are taken as given.

        The scope is the file's absolute path, so it is the same from any working directory.
        A path that does not exist still becomes a target, so the sync reports it.
        """
        seen: set[Path] = set()
        for target in targets:
            path = Path(target).expanduser().resolve()
            if path.is_dir():
                found = [(note, str(note.relative_to(path.parent))) for note in _notes_in(path)]
            else:
                found = [(path, target)]
            for note, label in found:
                if note not in seen:
                    seen.add(note)
                    yield SyncTarget(scope=f"file:{note}", label=label, locator=str(note))

    def fetch(self, target: SyncTarget, cursor: JsonDict | None) -> Iterator[SyncItem]:
        """Yield the author, the folder, the note and a checkpoint; nothing if unchanged.

        ``cursor`` is what the last committed ``Checkpoint`` of this file said. The author is
        part of it because it changes what we yield: a new ``-o author=...`` re-reads all.
        """
        path = Path(target.locator)
        stat = _stat(path)
        state = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "author": self.author}
        if cursor == state:
            return  # unchanged since the last sync: nothing to read, nothing to write
        text = _read_text(path)
        folder = path.parent
        collection_id = f"folder:{folder}"
        yield CreatorIn(external_id=self.author, name=self.author)
        yield CollectionIn(
            external_id=collection_id,
            creator_external_id=self.author,
            title=folder.name or str(folder),
            metadata={"path": str(folder)},
        )
        yield PostIn(
            external_id=target.scope,
            creator_external_id=self.author,
            title=title_of(text, fallback=path.stem),
            text=text,
            url=path.as_uri(),
            collections=(CollectionRef(external_id=collection_id),),
            metadata={"path": str(path)},
        )
        # Everything above is committed together with this cursor, or not at all.
        yield Checkpoint(cursor=state)


def title_of(text: str, fallback: str) -> str:
    """The first level-1 heading (``# Title``) outside code blocks, else ``fallback``."""
    fence: str | None = None
    for line in text.splitlines():
        marker = _FENCE.match(line)
        if marker:
            found = marker.group("fence")
            if fence is None:
                fence = found
            elif found[0] == fence[0] and len(found) >= len(fence):
                fence = None
            continue
        heading = _HEADING.match(line) if fence is None else None
        if heading:
            return heading.group("title").strip()
    return fallback


def _notes_in(folder: Path) -> list[Path]:
    """Note files under ``folder``, recursively and sorted, skipping hidden files and folders."""
    found: list[Path] = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = [name for name in dirs if not name.startswith(".")]
        found.extend(
            Path(root) / name
            for name in files
            if not name.startswith(".") and Path(name).suffix.lower() in SUFFIXES
        )
    return sorted(found)


def _stat(path: Path) -> os.stat_result:
    try:
        stat = path.stat()
    except FileNotFoundError as exc:
        raise ItemRejected(str(path), "no such file or folder") from exc
    except OSError as exc:
        raise ItemRejected(str(path), f"cannot read: {exc.strerror or exc}") from exc
    if not path.is_file():
        raise ItemRejected(str(path), "not a regular file")
    return stat


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        reason = "not UTF-8 text (a binary file, or another encoding)"
        raise ItemRejected(str(path), reason) from exc
    except OSError as exc:
        raise ItemRejected(str(path), f"cannot read: {exc.strerror or exc}") from exc
