"""Reading untrusted PDFs in a worker process, so that a file costs only itself.

A PDF can make PDFium allocate gigabytes (a 3 MB file whose content stream inflates to
3 GiB) and abort the process, or parse for minutes. ``IsolatedReader`` runs PDFium in a
long-lived worker (``worker``) with a memory limit, and gives each step (opening the file,
then each page) a time limit. When the worker dies or overruns, that file is rejected with a
reason naming the limit and the setting that raises it, the worker is replaced, and the next
file goes on. One worker serves every file of a sync (or of an extractor), one at a time, so
many small PDFs do not each pay for starting Python and importing PDFium.

The worker sends decoded pixels back; PNG encoding happens here, in threads, as before.
"""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import tempfile
import threading
import time
import weakref
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Self

from alejandria.errors import ItemRejected
from alejandria_source_pdf import wire
from alejandria_source_pdf.chapters import OutlineEntry
from alejandria_source_pdf.extract import PageContent
from alejandria_source_pdf.images import (
    FILE_TYPES,
    PIXEL_LAYOUTS,
    FoundImage,
    ImageEncoder,
    PendingImage,
    Pixels,
    encoded_file,
)
from alejandria_source_pdf.settings import ENV_PREFIX, PdfSettings

log = logging.getLogger(__name__)

WORKER_MODULE = "alejandria_source_pdf.worker"
#: Starting Python and importing PDFium, on a busy machine; not part of any file's time.
STARTUP_TIMEOUT_S = 60.0
#: How long a worker asked to stop (its input closed) gets before it is killed.
STOP_WAIT_S = 2.0
#: Signals that mean "out of memory": PDFium aborts when an allocation fails under the limit,
#: and the kernel's OOM killer sends SIGKILL.
_MEMORY_SIGNALS = frozenset({signal.SIGABRT, signal.SIGKILL})
MEMORY_SETTING = ENV_PREFIX + "MAX_MEMORY_MB"
#: What interpreting a message the worker should not have sent raises.
_MALFORMED = (KeyError, TypeError, ValueError, UnicodeDecodeError)
TIMEOUT_SETTING = ENV_PREFIX + "TIMEOUT_S"


@dataclass(frozen=True, slots=True)
class Limits:
    """What one PDF may cost: the worker's memory, the time of one step, image pixels."""

    max_memory_mb: int
    timeout_s: float
    max_pixels: int

    @classmethod
    def from_settings(cls, settings: PdfSettings) -> Limits:
        from alejandria.settings import MAX_IMAGE_PIXELS

        return cls(max_memory_mb=settings.max_memory_mb, timeout_s=settings.timeout_s,
                   max_pixels=MAX_IMAGE_PIXELS)

    @property
    def max_decode_bytes(self) -> int:
        """What decoding one image may take: half the worker's memory, the rest is PDFium's
        document, the page and Python."""
        return (self.max_memory_mb << 20) // 2


def memory_reason(limits: Limits, where: str) -> str:
    return (f"the PDF could not be read within {limits.max_memory_mb} MB of memory ({where}); "
            f"it may be damaged or hostile; raise {MEMORY_SETTING} if it is a genuine large "
            "book")


def timeout_reason(limits: Limits, where: str) -> str:
    return (f"the PDF could not be read within {limits.timeout_s:g} s ({where}); it may be "
            f"damaged or hostile; raise {TIMEOUT_SETTING} if it is a genuine large book")


def crash_reason(status: int | None, where: str) -> str:
    if status is not None and status < 0:
        try:
            how = f"killed by {signal.Signals(-status).name}"
        except ValueError:
            how = f"killed by signal {-status}"
    else:
        how = f"exit status {status}"
    return f"the PDF reader crashed ({where}, {how}); the file may be damaged or hostile"


class WorkerError(Exception):
    """The worker could not be started."""


class WorkerProcess:
    """One running worker: start it, send it requests, read its answers before a deadline."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 - closed by the finalizer
        self.process = subprocess.Popen(
            [sys.executable, "-P", "-m", WORKER_MODULE,
             "--max-memory-mb", str(limits.max_memory_mb)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr,
        )
        assert self.process.stdout is not None
        self._answers = wire.DeadlineReader(self.process.stdout.fileno(),
                                            max_blob=limits.max_memory_mb << 20)
        self._finalizer = weakref.finalize(self, _stop, self.process, self._stderr)
        try:
            hello = self.receive(time.monotonic() + STARTUP_TIMEOUT_S)
        except wire.WireError as exc:
            self.kill()
            raise WorkerError(f"the PDF reader did not start: {exc}; {self.stderr_tail()}"
                              ) from exc
        if hello.type != "ready":
            self.kill()
            raise WorkerError(f"the PDF reader did not start: it said {hello.header!r}")

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def send(self, header: dict[str, Any]) -> None:
        assert self.process.stdin is not None
        wire.write(self.process.stdin, header)

    def receive(self, deadline: float) -> wire.Message:
        return self._answers.read(deadline)

    def exit_status(self) -> int | None:
        """The status of a worker whose output ended (killed when it does not exit)."""
        try:
            return self.process.wait(STOP_WAIT_S)
        except subprocess.TimeoutExpired:
            self.kill()
            return None

    def kill(self) -> None:
        if self.alive():
            self.process.kill()
        self.process.wait()
        self._finalizer()

    def stop(self) -> None:
        self._finalizer()

    def stderr_tail(self, size: int = 2000) -> str:
        """The end of what the worker printed (PDFium's complaints, a traceback)."""
        try:
            self._stderr.seek(0, 2)
            end = self._stderr.tell()
            self._stderr.seek(max(0, end - size))
            return self._stderr.read().decode("utf-8", "replace").strip()
        except (OSError, ValueError):
            return ""


def _stop(process: subprocess.Popen[bytes], stderr: IO[bytes]) -> None:
    """Ask the worker to exit (its input ends), kill it if it does not, reap it."""
    for stream in (process.stdin, process.stdout):
        try:
            if stream is not None:
                stream.close()
        except OSError:
            pass
    try:
        process.wait(STOP_WAIT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    stderr.close()


class IsolatedReader:
    """Opens PDFs in a worker process; one book at a time (others wait their turn).

    The worker starts with the first book and serves the next ones; one that died, timed out
    or went idle is replaced by a fresh one at the next book.
    """

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self._worker: WorkerProcess | None = None
        self._lock = threading.Lock()

    @property
    def worker_pid(self) -> int | None:
        """The pid of the current worker (None before the first book or after a failure)."""
        return self._worker.pid if self._worker is not None else None

    def open(self, path: Path, subject: str, *, find_images: bool) -> IsolatedBook:
        request = {
            "path": str(path), "subject": subject, "find_images": find_images,
            "max_pixels": self.limits.max_pixels,
            "max_decode_bytes": self.limits.max_decode_bytes,
            "memory_setting": MEMORY_SETTING,
        }
        self._lock.acquire()
        try:
            return self._open(request, subject)
        except BaseException:
            self._lock.release()
            raise

    def _open(self, request: dict[str, Any], subject: str) -> IsolatedBook:
        for attempt in range(2):
            worker = self._running_worker(subject)
            try:
                worker.send(request)
            except OSError:
                self.discard()  # it died while idle: the file was never tried
                continue
            try:
                return IsolatedBook(self, worker, subject)
            except _WorkerGone:
                if attempt:
                    raise ItemRejected(subject, "the PDF reader keeps exiting") from None
        raise ItemRejected(subject, "the PDF reader keeps exiting")

    def _running_worker(self, subject: str) -> WorkerProcess:
        if self._worker is not None and not self._worker.alive():
            self.discard()
        if self._worker is None:
            try:
                self._worker = WorkerProcess(self.limits)
            except (OSError, WorkerError) as exc:
                raise ItemRejected(subject, str(exc)) from exc
        return self._worker

    def discard(self) -> None:
        """Kill the current worker; the next book starts a new one."""
        worker, self._worker = self._worker, None
        if worker is not None:
            worker.kill()

    def release(self) -> None:
        """Called by a book when it is closed: the worker may serve the next one."""
        self._lock.release()

    def close(self) -> None:
        """Stop the worker (it is stopped anyway when this reader is collected)."""
        worker, self._worker = self._worker, None
        if worker is not None:
            worker.stop()


class _WorkerGone(Exception):
    """The worker had exited (idle, or killed) before it saw the request: the file was not
    tried, so a fresh worker tries it."""


class IsolatedBook:
    """A PDF read by the worker: the same questions as ``PdfBook``, answered from its messages.

    The worker streams the whole document; pages must be asked for in increasing order.
    """

    def __init__(self, reader: IsolatedReader, worker: WorkerProcess, subject: str) -> None:
        self.subject = subject
        self._reader = reader
        self._worker = worker
        self._limits = worker.limits
        self._received = 0
        self._finished = False
        self._closed = False
        self._encoder = ImageEncoder()
        self._images: list[PendingImage] = []
        self._next_page = 1
        started = self._receive("opening it")
        if started.type != "started":
            raise self._broken(started, "opening it")
        first = self._receive("opening it")
        try:
            if first.type != "book":
                raise ValueError(first.type)
            header = first.header
            self.page_count = int(header["page_count"])
            self._metadata = {str(key): str(value)
                              for key, value in dict(header["metadata"]).items()}
            self._outline = [OutlineEntry(level=int(level), title=str(title),
                                          page=None if page is None else int(page))
                             for level, title, page in header["outline"]]
        except _MALFORMED:
            raise self._broken(first, "opening it") from None
        if self.page_count == 0:
            self._expect_end()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        """Stop encoding; a worker still sending this book is killed. Frees the reader."""
        if self._closed:
            return
        self._closed = True
        self._encoder.close()
        if not self._finished:
            self._reader.discard()
        self._reader.release()

    def metadata(self) -> dict[str, str]:
        return dict(self._metadata)

    def outline(self) -> list[OutlineEntry]:
        return list(self._outline)

    def page(self, number: int) -> PageContent:
        """Text and images of page ``number`` (1-based); images are encoded in the background."""
        if not self._next_page <= number <= self.page_count:
            raise ValueError(f"page {number} was asked for after page {self._next_page - 1} "
                             f"of {self.page_count}")
        while True:
            where = f"page {self._next_page}"
            message = self._receive(where)
            try:
                if message.type == "image":
                    self._add_image(message)
                    continue
                if message.type != "page" or not message.blobs:
                    raise ValueError(message.type)
                got = int(message.header["number"])
                content = PageContent(
                    number=got,
                    text=message.blobs[0].decode("utf-8", "surrogatepass"),
                    pending_images=tuple(self._images),
                    notes=tuple(str(note) for note in message.header.get("notes", ())),
                )
            except _MALFORMED:
                raise self._broken(message, where) from None
            self._images = []
            self._next_page = got + 1
            if got == self.page_count:
                self._expect_end()
            if got == number:
                return content

    # -- messages ------------------------------------------------------------------------

    def _receive(self, where: str) -> wire.Message:
        """The next message, or ``ItemRejected`` saying why there is none."""
        deadline = time.monotonic() + self._limits.timeout_s
        try:
            message = self._worker.receive(deadline)
        except wire.Timeout:
            self._fail()
            raise ItemRejected(self.subject, timeout_reason(self._limits, where)) from None
        except wire.Closed:
            status = self._worker.exit_status()
            if self._received == 0:  # it was gone before it saw the request
                self._fail()
                raise _WorkerGone from None
            raise self._died(status, where) from None
        except wire.WireError as exc:
            self._fail()
            raise ItemRejected(self.subject, crash_reason(None, f"{where}: {exc}")) from None
        self._received += 1
        if message.type == "rejected":
            self._finished = True  # the worker is fine and waits for the next file
            raise ItemRejected(self.subject, str(message.header.get("reason", "")))
        if message.type == "failed":  # a MemoryError in Python code: the worker exits
            self._worker.exit_status()
            self._fail()
            raise ItemRejected(self.subject, memory_reason(self._limits, where))
        return message

    def _died(self, status: int | None, where: str) -> ItemRejected:
        log.debug("%s: the PDF worker died (%s) on %s; it printed: %s",
                  self.subject, status, where, self._worker.stderr_tail())
        self._fail()
        if status is not None and status < 0 and -status in _MEMORY_SIGNALS:
            return ItemRejected(self.subject, memory_reason(self._limits, where))
        return ItemRejected(self.subject, crash_reason(status, where))

    def _broken(self, message: wire.Message, where: str) -> ItemRejected:
        self._fail()
        return ItemRejected(self.subject, crash_reason(
            None, f"{where}: unexpected {message.type or 'message'!r}"))

    def _fail(self) -> None:
        """This worker is done for: the next book gets a fresh one."""
        self._finished = False
        self._reader.discard()

    def _expect_end(self) -> None:
        message = self._receive("closing it")
        if message.type != "end":
            raise self._broken(message, "closing it")
        self._finished = True

    def _add_image(self, message: wire.Message) -> None:
        header = message.header
        found = _found_image(header, message.blobs)
        if found is None:
            log.debug("%s: ignoring an image the worker described as %r", self.subject, header)
            return
        pending = self._encoder.submit(found)
        if pending is not None:
            self._images.append(pending)


def _found_image(header: dict[str, Any], blobs: list[wire.Blob]) -> FoundImage | None:
    """The image a worker's ``image`` message describes; None when it makes no sense."""
    index, key, kind = int(header["index"]), str(header["key"]), header.get("kind")
    if kind == "same":
        return FoundImage(index, key)
    if not blobs:
        return None
    if kind == "file":
        file_type = (str(header["extension"]), str(header["mime_type"]))
        if file_type not in FILE_TYPES:
            return None
        encoded = encoded_file(bytes(blobs[0]), *file_type)
        return FoundImage(index, key, file=encoded) if encoded is not None else None
    if kind == "pixels":
        layout = (str(header["mode"]), str(header["raw_mode"]))
        width, height, stride = int(header["width"]), int(header["height"]), int(header["stride"])
        if layout not in PIXEL_LAYOUTS or len(blobs[0]) != stride * height or min(
                width, height, stride) <= 0:
            return None
        return FoundImage(index, key, pixels=Pixels(width, height, stride, *layout, blobs[0]))
    return None
