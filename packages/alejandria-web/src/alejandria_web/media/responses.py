"""One response for a file of the content-addressed media store: ``file_response``.

The store's files never change (the name is the SHA-256 of the bytes), so the SHA-256 is a
strong ETag and a response may be cached for good. On top of that:

* conditional requests: ``If-None-Match`` (``*``, lists, weak ``W/"..."`` tags) gives 304;
* byte ranges (RFC 9110 14): one range gives 206; several ranges give the whole file (200,
  which the RFC allows: a server MAY ignore ``Range``) unless none of them is satisfiable;
  a malformed ``bytes=`` range or one past the end gives 416 with ``Content-Range: bytes */N``;
  a range in another unit is ignored (the RFC's MUST); ``If-Range`` that is not our strong
  ETag (a weak tag, a date: we send no ``Last-Modified``) turns the range off (200);
* safe headers: ``X-Content-Type-Options: nosniff`` and a restrictive ``Content-Security-Policy``
  on every response; only media types from an allowlist that a browser shows passively
  (images except SVG, audio, video, PDF, plain text, JSON) are ``inline``, every other type
  (HTML, any XML and so SVG, JavaScript, CSS, Flash, unknown types) is an ``attachment``
  under ``sandbox; default-src 'none'``;
* HEAD: the GET headers (``Content-Length`` included) without a body. Litestar answers HEAD
  on a ``@get`` route with 405: declare the route ``@route(..., http_method=["GET", "HEAD"])``.

The body is read with ``os.pread`` in a worker thread, ``CHUNK_SIZE`` (1 MiB) a chunk:
opening the file, ``fstat`` and the first chunk are one thread hop, so a body of up to one
chunk is one hop and one ASGI message. A longer body also listens for the client's disconnect
(uvicorn drops the sends of a disconnected client silently: a player seeking away would
otherwise have the rest of a whole video read for nobody).

Litestar's ``CompressionMiddleware`` compresses whatever passes it, 206 responses included,
which breaks ranges: keep media routes out of it (``exclude``/``exclude_opt_key``).
"""

from __future__ import annotations

import os
import re
import stat
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal
from urllib.parse import quote

import anyio
import anyio.to_thread
from litestar import Request, Response
from litestar.background_tasks import BackgroundTask, BackgroundTasks
from litestar.datastructures.cookie import Cookie
from litestar.enums import MediaType
from litestar.response.base import ASGIResponse
from litestar.types import (
    HTTPResponseBodyEvent,
    Receive,
    Scope,
    Send,
    TypeEncodersMap,
)

__all__ = ["CHUNK_SIZE", "Reader", "file_response", "is_inline_type", "parse_range"]

#: ``reader(start, length)``: that many bytes of a stored file from ``start``, in chunks.
Reader = Callable[[int, int], Iterator[bytes]]

#: Bytes per read and per ASGI body message (the media store writes 1 MiB chunks too). In
#: process (httpx ASGITransport, 7 x 200 requests, a busy 2-core machine), a 1 MiB range took
#: a median 0.4-0.75 ms at 1 MiB a chunk, 0.77-0.87 at 512 KiB, 1.0 at 256 KiB (more thread
#: hops plus the disconnect listener); litestar's ``File``, 0.9-1.1 ms for a whole 1 MiB file
#: (four thread hops: stat, open, read, close), which is why it is not used underneath.
CHUNK_SIZE: Final = 1024 * 1024

DEFAULT_CACHE: Final = "private, max-age=31536000, immutable"

#: For media a browser shows itself (image, audio, video, text): nothing may load or run
#: except the file; ``style-src 'unsafe-inline'`` lets the browser's own viewer page style
#: itself (GitHub's user content uses the same policy). ``sandbox`` gives the document an
#: opaque origin, so even a mislabelled file cannot reach our cookies or API.
CSP_MEDIA: Final = ("default-src 'none'; img-src 'self'; media-src 'self'; "
                    "style-src 'unsafe-inline'; sandbox")
#: PDF without ``sandbox``: Chrome's PDF viewer is a plugin that a sandbox blocks outright
#: ("This page has been blocked by Chrome", crbug 413851), and without ``style-src
#: 'unsafe-inline'`` it draws in a corner (crbug 271452). PDF scripts run in the viewer's
#: own isolated context in Chrome (PDFium) and Firefox (pdf.js), never with our origin.
CSP_PDF: Final = ("default-src 'none'; img-src 'self'; media-src 'self'; "
                  "style-src 'unsafe-inline'; object-src 'self'")
#: For attachments: should a browser render one anyway, it runs nothing and loads nothing.
CSP_ATTACHMENT: Final = "sandbox; default-src 'none'"

#: Types shown inline besides ``image/*``, ``audio/*`` and ``video/*``. An allowlist rather
#: than a list of dangerous types: a type a browser renders actively that the list forgot
#: (``multipart/x-mixed-replace`` with an HTML part, an XML dialect) stays a download.
#: ``text/css`` is not here: a browser shows a CSS file it navigates to as text, so inline
#: would be harmless, but nothing in the archive needs it shown and it is a type of the web
#: platform's active content, so it fails closed with the rest.
INLINE_TYPES: Final = frozenset({
    "application/pdf", "application/json", "text/plain", "text/csv", "text/markdown",
    "text/vtt",
})
_INLINE_PREFIXES: Final = ("image/", "audio/", "video/")

_TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
#: ``type/subtype`` with optional parameters, visible ASCII only (no CR/LF, no controls).
_MEDIA_TYPE_RE: Final = re.compile(rf"({_TOKEN}/{_TOKEN})(?:[ \t]*;[ -~\t]*)?")
#: RFC 9110 etagc without obs-text: visible ASCII except the double quote.
_ETAG_RE: Final = re.compile(r"[!#-~]+")
#: Header values we pass through (``cache``): visible ASCII, spaces and tabs.
_HEADER_VALUE_RE: Final = re.compile(r"[ -~\t]*")
_INT_RANGE_RE: Final = re.compile(r"([0-9]+)-([0-9]*)")
_SUFFIX_RANGE_RE: Final = re.compile(r"-([0-9]+)")
_OPAQUE_TAG_RE: Final = re.compile(r'(?:W/)?"([^"]*)"')

_OPEN_FLAGS: Final = os.O_RDONLY | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)


def parse_range(header: str, size: int) -> tuple[int, int] | Literal["unsatisfiable"] | None:
    """The byte range a ``Range`` header asks of a representation of ``size`` bytes.

    Returns ``(first, last)`` (both inclusive, ``last`` clipped to ``size - 1``), ``None``
    when the header is to be ignored (another unit, several ranges of which one at least is
    satisfiable, an empty file) or ``"unsatisfiable"`` (malformed ``bytes=`` ranges, a
    first byte at or past the end, ``last < first``, a zero-length suffix).
    """
    unit, eq, range_set = header.partition("=")
    if not eq:
        return "unsatisfiable"
    if unit.strip(" \t").lower() != "bytes":
        return None
    specs = [s for s in (part.strip(" \t") for part in range_set.split(",")) if s]
    if not specs:
        return "unsatisfiable"
    satisfiable: list[tuple[int, int]] = []
    for spec in specs:
        if m := _INT_RANGE_RE.fullmatch(spec):
            first = int(m[1])
            last = int(m[2]) if m[2] else size - 1
            if m[2] and last < first:
                return "unsatisfiable"
            if first < size:
                satisfiable.append((first, min(last, size - 1)))
        elif m := _SUFFIX_RANGE_RE.fullmatch(spec):
            length = int(m[1])
            if length and size:
                satisfiable.append((max(0, size - length), size - 1))
        else:
            return "unsatisfiable"
    if size == 0:
        # Nothing of an empty file is addressable and "bytes 0--1/0" cannot be written: the
        # RFC lets us ignore the range, so an empty file is always a 200 with no body.
        return None
    if not satisfiable:
        return "unsatisfiable"
    if len(specs) > 1:
        return None
    return satisfiable[0]


def is_inline_type(media_type: str) -> bool:
    """Whether a browser may show this media type (an essence: ``type/subtype``) inline."""
    essence = media_type.lower()
    if "xml" in essence:  # SVG, XHTML, any +xml: XML can pull in XSLT and script
        return False
    return essence in INLINE_TYPES or essence.startswith(_INLINE_PREFIXES)


def file_response(request: Request[Any, Any, Any], path: Path | None, *,
                  media_type: str | None, etag: str, filename: str | None = None,
                  cache: str = DEFAULT_CACHE, size: int | None = None,
                  attachment: bool = False, reader: Reader | None = None) -> Response[Any]:
    """A response for the stored file at ``path``, honouring validators and ranges.

    ``reader(start, length)`` instead of ``path``: the bytes come from a remote media store
    (the app proxies them, ranges included); ``size`` is then required.

    ``etag`` is the file's SHA-256 (hex); ``media_type`` comes from the database (``None`` or
    a malformed value: ``application/octet-stream``, an attachment); ``filename`` names the
    download; ``cache`` is the ``Cache-Control`` of 200, 206 and 304; ``size`` is the file's
    size when known (from the database: it spares a ``stat`` for HEAD and 416, and the status
    is known at once); ``attachment`` makes even an inline type a download (``?download``).
    A size that differs from the file's is an error (500), since the body would not match its
    ``Content-Length``; so is a missing file.
    """
    if (path is None) == (reader is None):
        raise ValueError("give either a path or a reader")
    if reader is not None and size is None:
        raise ValueError("a reader needs the file's size")
    if not _ETAG_RE.fullmatch(etag):
        raise ValueError(f"not an entity tag: {etag!r}")
    if not _HEADER_VALUE_RE.fullmatch(cache):
        raise ValueError(f"not a header value: {cache!r}")
    if size is not None and size < 0:
        raise ValueError(f"negative size: {size}")
    strong_etag = f'"{etag}"'
    content_type = media_type.strip(" \t") if media_type else ""
    match = _MEDIA_TYPE_RE.fullmatch(content_type)
    if match is None:
        content_type, disposition, csp = "application/octet-stream", "attachment", CSP_ATTACHMENT
    elif attachment or not is_inline_type(match[1]):
        disposition, csp = "attachment", CSP_ATTACHMENT
    else:
        disposition = "inline"
        csp = CSP_PDF if match[1].lower() == "application/pdf" else CSP_MEDIA
    if filename:
        disposition += _filename_params(filename)
    common: tuple[tuple[str, str], ...] = (
        ("etag", strong_etag), ("x-content-type-options", "nosniff"),
        ("content-security-policy", csp), ("cross-origin-resource-policy", "same-site"))
    representation = (("cache-control", cache), ("accept-ranges", "bytes"),
                      ("content-type", content_type), ("content-disposition", disposition))

    head = request.method == "HEAD"
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None and _etag_listed(if_none_match, etag):
        # 304 carries what a cache refreshes (RFC 9110 15.4.5), no representation metadata.
        plan: _Plan | None = _Plan(304, (*common, ("cache-control", cache)))
        return _FileResponse(path, plan, size=size, planner=None, reader=reader)

    range_header = request.headers.get("range") if not head else None  # HEAD: RFC 9110 14.2
    if range_header is not None:
        if_range = request.headers.get("if-range")
        if if_range is not None and if_range.strip(" \t") != strong_etag:
            range_header = None
    planner = _Planner(common, representation, range_header, head)
    plan = planner(size) if size is not None else None
    return _FileResponse(path, plan, size=size, planner=planner, reader=reader)


def _etag_listed(if_none_match: str, etag: str) -> bool:
    """``If-None-Match`` matching uses the weak comparison: ``W/"x"`` matches ``"x"``."""
    if if_none_match.strip(" \t") == "*":
        return True
    return etag in _OPAQUE_TAG_RE.findall(if_none_match)


def _filename_params(filename: str) -> str:
    """``; filename="<ASCII fallback>"; filename*=UTF-8''<percent-encoded>`` (RFC 6266).

    Control characters (CR/LF among them) and format characters (bidi overrides that would
    show ``gpj.exe`` reversed as ``exe.jpg``, zero-width characters) are dropped; the fallback
    also loses quotes, backslashes and ``%`` (which some browsers decode) and spells
    non-ASCII letters without accents or as ``_``.
    """
    name = "".join(c for c in filename if unicodedata.category(c) not in {"Cc", "Cf"}).strip()
    if not name:
        return ""
    fallback = "".join(
        c if c.isascii() else "_"
        for c in unicodedata.normalize("NFKD", name) if not unicodedata.combining(c)
    )
    fallback = fallback.replace('"', "").replace("\\", "").replace("%", "_").strip() or "file"
    encoded = quote(name, safe="!#$&+-.^_`|~")
    return f"; filename=\"{fallback}\"; filename*=UTF-8''{encoded}"


@dataclass(frozen=True, slots=True)
class _Plan:
    """What to send: status, headers, and ``length`` body bytes from ``start``."""

    status: int
    headers: tuple[tuple[str, str], ...]
    start: int = 0
    length: int = 0


@dataclass(frozen=True, slots=True)
class _Planner:
    """The part of the answer that needs the file's size (status, ranges, lengths)."""

    common: tuple[tuple[str, str], ...]
    representation: tuple[tuple[str, str], ...]
    range_header: str | None
    head: bool

    def __call__(self, size: int) -> _Plan:
        selected = parse_range(self.range_header, size) if self.range_header else None
        if selected == "unsatisfiable":
            # No cache may keep a 416 (caches key on the URL, not on Range).
            return _Plan(416, (*self.common, ("cache-control", "no-store"),
                               ("accept-ranges", "bytes"), ("content-range", f"bytes */{size}"),
                               ("content-length", "0")))
        if selected is None:
            return _Plan(200, (*self.common, *self.representation, ("content-length", str(size))),
                         0, 0 if self.head else size)
        first, last = selected
        length = last - first + 1
        return _Plan(206, (*self.common, *self.representation,
                           ("content-range", f"bytes {first}-{last}/{size}"),
                           ("content-length", str(length))), first, length)


class _FileResponse(Response[None]):
    """The ``Response`` handlers return; its ASGI side does the file work."""

    __slots__ = ("path", "plan", "planner", "reader", "size")

    def __init__(self, path: Path | None, plan: _Plan | None, *, size: int | None,
                 planner: _Planner | None, reader: Reader | None = None) -> None:
        super().__init__(None, status_code=plan.status if plan else None)
        self.path = path
        self.plan = plan
        self.planner = planner
        self.size = size
        self.reader = reader

    def to_asgi_response(
        self,
        app: Any,
        request: Request[Any, Any, Any],
        *,
        background: BackgroundTask | BackgroundTasks | None = None,
        cookies: Iterable[Cookie] | None = None,
        encoded_headers: Iterable[tuple[bytes, bytes]] | None = None,
        headers: dict[str, str] | None = None,
        is_head_response: bool = False,
        media_type: MediaType | str | None = None,
        status_code: int | None = None,
        type_encoders: TypeEncodersMap | None = None,
    ) -> ASGIResponse:
        # Headers and cookies set by layers (app, router, handler) and on this response are
        # kept; ours are written over them when the plan is applied.
        merged = {**headers, **self.headers} if headers is not None else dict(self.headers)
        all_cookies = list(self.cookies) if cookies is None else [*self.cookies, *cookies]
        head = request.method == "HEAD" or is_head_response
        if self.reader is not None:
            assert self.plan is not None  # the size is known: so is the plan
            return _ASGIStreamResponse(
                self.reader, self.plan, head=head, headers=merged, cookies=all_cookies,
                background=self.background or background)
        assert self.path is not None
        return _ASGIFileResponse(
            self.path, self.plan, self.planner, self.size,
            head=head, headers=merged, cookies=all_cookies,
            background=self.background or background,
        )


class _ASGIFileResponse(ASGIResponse):
    __slots__ = ("_path", "_plan", "_planner", "_size")

    def __init__(self, path: Path, plan: _Plan | None, planner: _Planner | None,
                 size: int | None, *, head: bool, headers: dict[str, Any],
                 cookies: list[Cookie], background: BackgroundTask | BackgroundTasks | None
                 ) -> None:
        # is_head_response=True keeps the base class from adding its own Content-Type (with
        # "; charset=utf-8" for text/*, wrong for a stored file) and Content-Length: ours are
        # set in __call__, once the size is known.
        super().__init__(headers=headers, cookies=cookies, background=background,
                         is_head_response=True)
        self.is_head_response = head
        self._path = path
        self._plan = plan
        self._planner = planner
        self._size = size

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        fd, first = -1, b""
        if self._plan is None or self._plan.length:
            fd, plan, first = await anyio.to_thread.run_sync(self._open, self._plan)
        else:
            plan = self._plan  # 304, HEAD or 416 with a known size: no file access
        try:
            self.status_code = plan.status
            for name, value in plan.headers:
                self.headers[name] = value
            await self.start_response(send)
            if fd < 0:
                await send({"type": "http.response.body", "body": first, "more_body": False})
            else:
                await self._stream(send, receive, fd, first, plan)
        finally:
            if fd >= 0:
                os.close(fd)
        await self.after_response()

    def _open(self, plan: _Plan | None) -> tuple[int, _Plan, bytes]:
        """In a worker thread: open, check the size, plan, read the first chunk.

        The descriptor comes back open (>= 0) only when more chunks are to be read.
        """
        fd = os.open(self._path, _OPEN_FLAGS)
        keep = False
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise IsADirectoryError(f"{self._path} is not a regular file")
            if self._size is not None and st.st_size != self._size:
                raise OSError(f"{self._path} holds {st.st_size} bytes, expected {self._size}")
            if plan is None:
                assert self._planner is not None
                plan = self._planner(st.st_size)
            if not plan.length:
                return -1, plan, b""
            n = min(CHUNK_SIZE, plan.length)
            first = _pread_exact(fd, n, plan.start, self._path)
            keep = n < plan.length
            return (fd if keep else -1), plan, first
        finally:
            if not keep:
                os.close(fd)

    async def _stream(self, send: Send, receive: Receive, fd: int, first: bytes,
                      plan: _Plan) -> None:
        """Send ``first`` and the rest of the range, stopping when the client disconnects."""
        async with anyio.create_task_group() as tg:
            tg.start_soon(_cancel_on_disconnect, receive, tg.cancel_scope)
            await send({"type": "http.response.body", "body": first, "more_body": True})
            offset = plan.start + len(first)
            remaining = plan.length - len(first)
            while remaining:
                n = min(CHUNK_SIZE, remaining)
                chunk = await anyio.to_thread.run_sync(_pread_exact, fd, n, offset, self._path)
                offset += n
                remaining -= n
                event: HTTPResponseBodyEvent = {
                    "type": "http.response.body", "body": chunk, "more_body": bool(remaining)}
                await send(event)
            tg.cancel_scope.cancel()


class _ASGIStreamResponse(ASGIResponse):
    """The bytes of a remote store's file, read in a worker thread chunk by chunk (the
    store's ranged read), stopping when the client disconnects."""

    __slots__ = ("_plan", "_reader")

    def __init__(self, reader: Reader, plan: _Plan, *, head: bool, headers: dict[str, Any],
                 cookies: list[Cookie], background: BackgroundTask | BackgroundTasks | None
                 ) -> None:
        super().__init__(headers=headers, cookies=cookies, background=background,
                         is_head_response=True)
        self.is_head_response = head
        self._reader = reader
        self._plan = plan

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        plan = self._plan
        chunks: Iterator[bytes] | None = None
        if plan.length:  # open before the headers: a missing object is a 500, not a cut body
            chunks = await anyio.to_thread.run_sync(self._reader, plan.start, plan.length)
        self.status_code = plan.status
        for name, value in plan.headers:
            self.headers[name] = value
        await self.start_response(send)
        if chunks is None:
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        else:
            try:
                async with anyio.create_task_group() as tg:
                    tg.start_soon(_cancel_on_disconnect, receive, tg.cancel_scope)
                    remaining = plan.length
                    while remaining > 0:
                        chunk = await anyio.to_thread.run_sync(next, chunks, b"")
                        if not chunk:
                            raise OSError(f"the stored file ended {remaining} bytes early")
                        remaining -= len(chunk)
                        await send({"type": "http.response.body", "body": chunk,
                                    "more_body": remaining > 0})
                    tg.cancel_scope.cancel()
            finally:
                close = getattr(chunks, "close", None)
                if close is not None:
                    close()
        await self.after_response()


async def _cancel_on_disconnect(receive: Receive, scope: anyio.CancelScope) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            scope.cancel()
            return


def _pread_exact(fd: int, n: int, offset: int, path: Path) -> bytes:
    """``n`` bytes at ``offset``; a file shorter than that is an error (the headers promised
    ``n`` bytes: better a broken connection than a silently short body)."""
    data = _pread(fd, n, offset)
    while len(data) < n:
        more = _pread(fd, n - len(data), offset + len(data))
        if not more:
            raise OSError(f"{path} ended before byte {offset + n}")
        data += more
    return data


def _pread_seek(fd: int, n: int, offset: int) -> bytes:
    """``os.pread`` where there is none (Windows); a response reads its descriptor in turn."""
    os.lseek(fd, offset, os.SEEK_SET)
    return os.read(fd, n)


_pread = getattr(os, "pread", _pread_seek)


#: For other media responses (``remote``): the same rules.
filename_params = _filename_params
etag_listed = _etag_listed
