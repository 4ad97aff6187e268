"""A download that survives a broken connection: a raw binary stream over a response that,
when the body breaks off, asks for the rest with ``Range`` from the first missing byte.

``MediaStore.put_stream`` reads it like any file (the pipeline stores what
``Source.open_media`` returns); what it stores is exactly the file's bytes, or nothing: a
download that cannot be finished raises ``SourceError`` and the next sync fetches it again.
The bytes are the file as served: asked for with ``Accept-Encoding: identity`` and never
decoded (a ``.gz`` stays gzip), so an offset into them is an offset on the wire. The size cap
and the low-speed rule of ``limits`` hold across resumes (``TooLarge``, ``SourceError``).
The read path is one ``read1`` per chunk, as on a plain urllib3 response: a sync streams
thousands of files through here.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

from urllib3.exceptions import HTTPError

from alejandria.errors import SourceError
from alejandria.net.limits import SpeedGuard, TransferLimits
from alejandria.net.transport import Response, failure, finish

#: What ``readall`` asks for at a time.
CHUNK_SIZE = 1024 * 1024


class ResumableStream(io.RawIOBase):
    """A streamed body as a raw binary file (``read`` may return fewer bytes than asked for).

    When the connection breaks off midway, ``reopen(offset)`` is asked for a response from
    byte ``offset`` on (a GET with ``Range: bytes=<offset>-``), up to ``max_retries`` times,
    after ``back_off(breaks, why)`` waited. A ``206`` that starts there goes on where the body
    stopped; a ``200`` (the server ignores ``Range``) sends the whole file again and the bytes
    already read are skipped. ``subject`` names the file in messages. ``limits`` caps the size
    (``TooLarge`` past ``max_download_bytes``); ``guard`` abandons a transfer that is too slow.
    """

    def __init__(self, response: Response, reopen: Callable[[int], Response], *,
                 subject: str, max_retries: int, back_off: Callable[[int, str], None],
                 limits: TransferLimits | None = None, guard: SpeedGuard | None = None) -> None:
        self._limits = limits or TransferLimits()
        self._guard = guard
        self._response = response
        self._reopen = reopen
        self._subject = subject
        self._max_retries = max_retries
        self._back_off = back_off
        self._delivered = 0  #: bytes handed to the reader so far
        self._skip = 0  #: bytes of the current response already delivered from an earlier one
        self._breaks = 0
        self._complete = False

    @property
    def breaks(self) -> int:
        """How many times the download broke off and was resumed."""
        return self._breaks

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            return self.readall()
        if size == 0:
            return b""
        while True:
            try:
                chunk = self._response.read1(size)
            except HTTPError as exc:
                self._resume(exc)
                continue
            if self._guard is not None and chunk:
                self._guard.received(len(chunk))
            if not chunk:
                if self._skip:
                    raise SourceError(f"{self._subject}: the file changed while it was "
                                      "downloaded; the next sync fetches it again")
                self._complete = True
                return b""
            if self._skip:
                if len(chunk) <= self._skip:
                    self._skip -= len(chunk)
                    continue
                chunk, self._skip = chunk[self._skip:], 0
            self._delivered += len(chunk)
            if self._delivered > self._limits.max_download_bytes:
                raise self._limits.download_too_large(self._subject)
            return chunk

    def readall(self) -> bytes:
        return b"".join(iter(lambda: self.read(CHUNK_SIZE), b""))

    def readinto(self, buffer: Any) -> int:
        chunk = self.read(len(buffer))
        buffer[:len(chunk)] = chunk
        return len(chunk)

    def close(self) -> None:
        if not self.closed:
            finish(self._response, complete=self._complete)
        super().close()

    def _resume(self, exc: HTTPError) -> None:
        """Ask for the rest of the body after it broke off (or give up with the reason)."""
        finish(self._response, complete=False)
        self._breaks += 1
        if self._breaks > self._max_retries:
            raise SourceError(f"{self._subject}: the download broke off ({failure(exc)}) "
                              f"{self._breaks} times; the next sync fetches it again") from None
        self._back_off(self._breaks - 1,
                       f"the download of {self._subject} broke off at byte {self._delivered}")
        response = self._reopen(self._delivered)
        if self._guard is not None:
            self._guard.restart()
        resumed = response.status == 206 and response.headers.get(
            "Content-Range", "").startswith(f"bytes {self._delivered}-")
        if response.status != 206 or resumed:
            self._skip = 0 if resumed else self._delivered
            self._response = response
            return
        finish(response, complete=False)
        raise SourceError(f"{self._subject}: the server resumed the download at the wrong "
                          "place; the next sync fetches it again")
