"""The worker process that parses PDFs for ``isolation``, one request at a time.

Started as ``python -P -m alejandria_source_pdf.worker --max-memory-mb N``. It limits its own
address space first (``RLIMIT_AS``), so a file that makes PDFium allocate more aborts this
process, not the sync. Requests come on stdin; answers go out on the original stdout, which is
then pointed at stderr so that nothing PDFium prints can corrupt them. One thread only: glibc
reserves address space per thread, which would eat into the limit.

For each ``read`` request it sends ``started`` at once, then ``book`` (page count, metadata,
outline), then per page its
``image`` messages and a ``page`` message (text and notes), then ``end``; or ``rejected`` with a
reason the user can act on (encrypted, damaged). After a ``MemoryError`` it says so and exits:
the parent starts a fresh worker for the next file.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import signal
import sys
from pathlib import Path
from typing import IO, Any

from alejandria.errors import ItemRejected
from alejandria_source_pdf import wire
from alejandria_source_pdf.extract import PdfBook
from alejandria_source_pdf.images import FoundImage, ImageLimits, SkippedImage

#: A worker nobody sends work to for this long exits (the parent starts another on demand).
IDLE_EXIT_S = 300
#: The largest request the worker accepts (a path and a few numbers).
MAX_REQUEST_BYTES = 1 << 20
#: Exit status after a MemoryError (the parent reads the "failed" message first).
EXIT_MEMORY = 3


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="alejandria_source_pdf.worker")
    parser.add_argument("--max-memory-mb", type=int, required=True)
    args = parser.parse_args(argv)
    limit_address_space(args.max_memory_mb << 20)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    signal.signal(signal.SIGALRM, lambda *_: os._exit(0))  # idle for IDLE_EXIT_S
    requests, answers = _pipes()
    try:
        return _serve_forever(requests, answers)
    except BrokenPipeError:
        return 0  # the parent went away mid-answer: nobody is left to tell


def _serve_forever(requests: IO[bytes], answers: IO[bytes]) -> int:
    wire.write(answers, {"type": "ready", "pid": os.getpid()})
    while True:
        signal.alarm(IDLE_EXIT_S)
        try:
            request = wire.read_blocking(requests, MAX_REQUEST_BYTES)
        except wire.Closed:
            return 0  # the parent is done with us
        finally:
            signal.alarm(0)
        wire.write(answers, {"type": "started"})  # the parent now knows the file is tried
        try:
            serve(request.header, answers)
        except MemoryError:
            _say(answers, {"type": "failed", "why": "memory"})
            return EXIT_MEMORY
        except Exception as exc:  # noqa: BLE001 - a bug or a PDFium surprise: that file only
            wire.write(answers, {"type": "rejected",
                                 "reason": f"unexpected error reading the PDF: {exc}"})


def limit_address_space(limit: int) -> None:
    """Lower this process's address-space limit to ``limit`` bytes (never raise it).

    Where the system refuses (some BSDs, macOS), the worker runs without it and says so on
    stderr: the time limit and the crash isolation still hold.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    new = min(x for x in (limit, soft, hard) if x != resource.RLIM_INFINITY)
    try:
        resource.setrlimit(resource.RLIMIT_AS, (new, hard))
    except (OSError, ValueError) as exc:
        print(f"alejandria_source_pdf.worker: no memory limit: {exc}", file=sys.stderr)


def serve(request: dict[str, Any], answers: IO[bytes]) -> None:
    """Answer one ``read`` request: the whole document, page by page, each message sent at
    once (so a crash is placed on the right page)."""
    limits = ImageLimits(max_pixels=int(request["max_pixels"]),
                         max_decode_bytes=request.get("max_decode_bytes"),
                         memory_setting=str(request.get("memory_setting", "")))
    try:
        with PdfBook(Path(request["path"]), str(request["subject"]),
                     find_images=bool(request["find_images"]), image_limits=limits) as book:
            wire.write(answers, {
                "type": "book",
                "page_count": book.page_count,
                "metadata": book.metadata(),
                "outline": [[entry.level, entry.title, entry.page] for entry in book.outline()],
            })
            for number in range(1, book.page_count + 1):
                _send_page(book, number, answers)
    except ItemRejected as exc:
        if isinstance(exc.__cause__, MemoryError):
            raise exc.__cause__ from None
        wire.write(answers, {"type": "rejected", "reason": exc.reason})
        return
    wire.write(answers, {"type": "end"})


def _send_page(book: PdfBook, number: int, answers: IO[bytes]) -> None:
    parts = book.scan(number)
    text = str(next(parts))
    notes: list[str] = []
    for part in parts:
        if isinstance(part, SkippedImage):
            notes.append(part.note)
            continue
        if not isinstance(part, FoundImage):
            continue
        header: dict[str, Any] = {"type": "image", "index": part.index, "key": part.key}
        blobs: list[Any] = []
        if part.file is not None:
            header.update(kind="file", extension=part.file.extension,
                          mime_type=part.file.mime_type)
            blobs.append(part.file.data)
        elif part.pixels is not None:
            pixels = part.pixels
            header.update(kind="pixels", width=pixels.width, height=pixels.height,
                          stride=pixels.stride, mode=pixels.mode, raw_mode=pixels.raw_mode)
            blobs.append(pixels.data)  # PDFium's own buffer, written without a copy
            del pixels
        else:
            header.update(kind="same")
        wire.write(answers, header, blobs)
        del part, blobs  # frees the bitmap before the next image is decoded
    wire.write(answers, {"type": "page", "number": number, "notes": notes},
               [text.encode("utf-8", "surrogatepass")])


def _pipes() -> tuple[IO[bytes], IO[bytes]]:
    """Requests from stdin; answers on a copy of stdout, with fd 1 itself sent to stderr."""
    answers_fd = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return sys.stdin.buffer, os.fdopen(answers_fd, "wb", buffering=1 << 16)


def _say(answers: IO[bytes], header: dict[str, Any]) -> None:
    """A last word that may itself fail for want of memory."""
    with contextlib.suppress(MemoryError, OSError):
        wire.write(answers, header)


if __name__ == "__main__":
    sys.exit(main())
