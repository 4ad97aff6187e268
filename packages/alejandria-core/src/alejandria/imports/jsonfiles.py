"""JSON files read whole or refused with why: the old system's files were sometimes corrupt
or cut off mid-write, and an importer must name such a file instead of importing half of it
or stopping at it."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from alejandria.errors import ItemRejected


class CorruptJson(ItemRejected):
    """A JSON file that cannot be read: empty, cut off, not JSON, not UTF-8 or unreadable.
    ``subject`` is the file's path, ``reason`` what is wrong and where."""


def read_json(path: Path) -> Any:
    """The JSON value in ``path``; ``CorruptJson`` naming the file and the fault."""
    shown = show_path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise CorruptJson(shown, "no such file") from None
    except OSError as exc:
        raise CorruptJson(shown, f"cannot read it ({exc.strerror or exc})") from None
    if not raw.strip():
        raise CorruptJson(shown, "the file is empty (truncated?); restore it from a backup "
                                 "or delete it, then import again")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CorruptJson(shown, f"not UTF-8 text (byte {exc.start}): not a JSON file, or "
                                 "damaged") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        # cut off: the parser ran out of text (inside a string, which then never ends)
        if exc.pos >= len(text.rstrip()) or exc.msg.startswith("Unterminated string"):
            raise CorruptJson(shown, f"truncated: the JSON ends unfinished at line {exc.lineno}"
                                     f" (byte {len(raw)}); the file was cut off while being "
                                     "written. Restore it from a backup, or fix its end by "
                                     "hand, then import again") from None
        raise CorruptJson(shown, f"corrupt JSON at line {exc.lineno}, column {exc.colno}: "
                                 f"{exc.msg}; fix or restore the file, then import "
                                 "again") from None
    except RecursionError:
        raise CorruptJson(shown, "the JSON is nested too deeply to read") from None


def fingerprint(*paths: Path) -> list[list[int | str]]:
    """Size and modification time of each path (``-1`` for one that is gone): what a cursor
    compares to tell that nothing was touched since the last import."""
    found: list[list[int | str]] = []
    for path in paths:
        try:
            stat = path.stat()
        except OSError:
            found.append([show_path(path), -1, -1])
        else:
            found.append([show_path(path), stat.st_size, stat.st_mtime_ns])
    return found


def show_path(path: Path) -> str:
    """A path as storable, printable text (bytes that are not UTF-8 as ``\\xNN``)."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")
