"""Messages between the parser worker and the process that started it, over its pipes.

A message is a JSON header and zero or more binary blobs (page text, image bytes), framed
with lengths. JSON rather than pickle: the worker parses untrusted files, and what it sends
back is data, never code the parent would run. The parent reads with a deadline, so a worker
that hangs is noticed without a thread per read.
"""

from __future__ import annotations

import json
import os
import select
import struct
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import IO, Any

#: Header length and number of blobs; each blob is preceded by its length.
_FRAME = struct.Struct(">II")
_BLOB = struct.Struct(">Q")
#: The largest header the parent accepts (an outline of 100,000 entries is a few MB).
MAX_HEADER_BYTES = 256 << 20
MAX_BLOBS = 1 << 16
_READ_SIZE = 1 << 20


class WireError(Exception):
    """The other side broke the framing: a bug or a worker that misbehaves."""


class Closed(WireError):
    """The pipe ended: the other side exited (or crashed)."""


class Timeout(WireError):
    """No complete message before the deadline."""


#: A blob as received: large ones arrive in a bytearray of their own.
Blob = bytes | bytearray


@dataclass(frozen=True, slots=True)
class Message:
    header: dict[str, Any]
    blobs: list[Blob] = field(default_factory=list)

    @property
    def type(self) -> str:
        return str(self.header.get("type", ""))


def write(stream: IO[bytes], header: dict[str, Any], blobs: Sequence[Any] = ()) -> None:
    """Send one message; ``blobs`` are bytes-like (a ctypes array goes out without a copy)."""
    encoded = json.dumps(header, separators=(",", ":")).encode("ascii")
    stream.write(_FRAME.pack(len(encoded), len(blobs)) + encoded)
    for blob in blobs:
        view = memoryview(blob).cast("B")
        stream.write(_BLOB.pack(view.nbytes))
        stream.write(view)
    stream.flush()


def read_blocking(stream: IO[bytes], max_blob: int) -> Message:
    """Receive one message, waiting as long as it takes (the worker's side)."""

    def exactly(size: int) -> bytes:
        data = stream.read(size)
        if data is None or len(data) < size:
            raise Closed("the pipe was closed")
        return data

    header_size, count = _FRAME.unpack(exactly(_FRAME.size))
    _check(header_size, count)
    header = _header(exactly(header_size))
    blobs: list[Blob] = []
    for _ in range(count):
        (size,) = _BLOB.unpack(exactly(_BLOB.size))
        if size > max_blob:
            raise WireError(f"a blob of {size} bytes is more than the {max_blob} allowed")
        blobs.append(exactly(size))
    return Message(header, blobs)


class DeadlineReader:
    """Reads messages from a pipe's file descriptor, each before a deadline."""

    def __init__(self, fd: int, max_blob: int) -> None:
        self._fd = fd
        self._max_blob = max_blob
        self._buffer = bytearray()

    def read(self, deadline: float) -> Message:
        """The next message; ``Timeout`` when ``time.monotonic()`` passes ``deadline`` first."""
        header_size, count = _FRAME.unpack(self._exactly(_FRAME.size, deadline))
        _check(header_size, count)
        header = _header(self._exactly(header_size, deadline))
        blobs: list[Blob] = []
        for _ in range(count):
            (size,) = _BLOB.unpack(self._exactly(_BLOB.size, deadline))
            if size > self._max_blob:
                raise WireError(f"a blob of {size} bytes is more than the {self._max_blob} "
                                "allowed")
            blobs.append(self._exactly(size, deadline))
        return Message(header, blobs)

    def _exactly(self, size: int, deadline: float) -> Blob:
        if size >= _READ_SIZE:
            return self._into_own_buffer(size, deadline)
        while len(self._buffer) < size:
            self._wait(deadline)
            chunk = os.read(self._fd, _READ_SIZE)
            if not chunk:
                raise Closed("the worker closed its output")
            self._buffer += chunk
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        return data

    def _into_own_buffer(self, size: int, deadline: float) -> bytearray:
        """A large blob read straight into its own buffer: no copies on the way."""
        target = bytearray(size)
        filled = min(len(self._buffer), size)
        target[:filled] = self._buffer[:filled]
        del self._buffer[:filled]
        view = memoryview(target)
        while filled < size:
            self._wait(deadline)
            got = os.readv(self._fd, [view[filled:]])
            if got == 0:
                raise Closed("the worker closed its output")
            filled += got
        view.release()
        return target

    def _wait(self, deadline: float) -> None:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise Timeout("no message before the deadline")
        ready, _, _ = select.select([self._fd], [], [], remaining)
        if not ready:
            raise Timeout("no message before the deadline")


def _check(header_size: int, count: int) -> None:
    if header_size > MAX_HEADER_BYTES or count > MAX_BLOBS:
        raise WireError(f"a message of {header_size} header bytes and {count} blobs")


def _header(data: Blob) -> dict[str, Any]:
    try:
        header = json.loads(data)
    except ValueError as exc:
        raise WireError(f"an unreadable header: {exc}") from exc
    if not isinstance(header, dict):
        raise WireError("a header that is not an object")
    return header
