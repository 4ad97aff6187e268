"""PDF ingest: ``archive.sync("pdf", folder)`` against a bare pypdfium2 text-extraction loop.

The corpus is real-world PDFs already on the machine (Debian's documentation), copied (and
un-gzipped) into one working folder that both contenders read, so they see the same bytes from
the same, warm page cache.

Run on its own (``python bench/pdf_bench.py``), it measures what reading untrusted PDFs in the
worker process costs: the sample books and the corpus parsed in this process and through the
isolation, in the same run, and their ratio (see ``time_isolation``).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import shutil
import tempfile
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
from harness import Server, machine, print_rows, stopwatch
from sqlalchemy import text

from alejandria import Archive
from alejandria.models import SyncReport
from alejandria.plugins import PluginManager
from alejandria.settings import Settings
from alejandria_source_pdf.images import MAX_FORM_DEPTH, MIN_IMAGE_SIDE
from alejandria_source_pdf.reader import InProcessReader, Reader
from alejandria_source_pdf.settings import PdfSettings

REPO_ROOT = Path(__file__).resolve().parent.parent
PREFERRED = (Path("/usr/share/developers-reference/developers-reference.pdf"),)
DOC_ROOT = Path("/usr/share/doc")
FALLBACK = REPO_ROOT / "examples" / "books"
#: What a PDF sync writes, parents first (media rows are left out: a few dozen images).
SNAPSHOT_TABLES = ("creators", "collections", "posts", "post_collections", "chunks")


@dataclass(frozen=True)
class Corpus:
    folder: Path
    files: tuple[Path, ...]  # the staged copies, in ``folder``
    origins: tuple[Path, ...]  # where each one came from
    pages: int
    size: int  # bytes of the staged (uncompressed) files


@dataclass(frozen=True)
class SyncRun:
    seconds: float
    resync_seconds: float
    report: SyncReport
    chunks: int


def _candidates() -> list[Path]:
    """Installed PDFs: the preferred ones, then /usr/share/doc round-robin over packages.

    Round-robin (each package's files in a stable pseudo-random order) keeps one package with
    hundreds of manuals (texlive-doc) from being the whole corpus.
    """
    found = [path for path in PREFERRED if path.is_file()]
    by_package: dict[str, list[Path]] = defaultdict(list)
    if DOC_ROOT.is_dir():
        for path in DOC_ROOT.rglob("*"):
            name = path.name.lower()
            if name.endswith((".pdf", ".pdf.gz")) and path.is_file():
                by_package[path.relative_to(DOC_ROOT).parts[0]].append(path)
    queues = [
        sorted(paths, key=lambda p: hashlib.md5(str(p).encode()).hexdigest())
        for _, paths in sorted(by_package.items())
    ]
    while any(queues):
        for queue in queues:
            if queue:
                found.append(queue.pop(0))
    if not found and FALLBACK.is_dir():
        found = sorted(p for p in FALLBACK.iterdir() if p.suffix.lower() == ".pdf")
    return found


def _page_count(path: Path) -> int:
    """Pages of a PDF PDFium opens without a password; 0 for anything else."""
    try:
        doc = pdfium.PdfDocument(path)
    except Exception:  # noqa: BLE001 - unreadable files are simply left out of the corpus
        return 0
    try:
        return len(doc)
    finally:
        doc.close()


def stage_corpus(folder: Path, max_pages: int) -> Corpus:
    """Copy PDFs into ``folder`` until they hold ``max_pages`` pages (the last may overshoot)."""
    folder.mkdir(parents=True, exist_ok=True)
    files: list[Path] = []
    origins: list[Path] = []
    pages = 0
    for origin in _candidates():
        if pages >= max_pages:
            break
        stem = origin.name[:-3] if origin.name.lower().endswith(".gz") else origin.name
        staged = folder / f"{len(files):03d}-{stem}"
        if origin.name.lower().endswith(".gz"):
            staged.write_bytes(gzip.decompress(origin.read_bytes()))
        else:
            shutil.copyfile(origin, staged)
        count = _page_count(staged)
        if count == 0:
            staged.unlink()
            continue
        files.append(staged)
        origins.append(origin)
        pages += count
    if not files:
        raise SystemExit("no PDFs found: install developers-reference or add examples/books/*.pdf")
    size = sum(path.stat().st_size for path in files)
    return Corpus(folder, tuple(files), tuple(origins), pages, size)


def extract_text(files: Iterable[Path]) -> int:
    """The baseline: open each document, get every page's text, close everything. Pages read."""
    pages = 0
    for path in files:
        doc = pdfium.PdfDocument(path)
        try:
            for index in range(len(doc)):
                page = doc[index]
                textpage = page.get_textpage()
                textpage.get_text_range()
                textpage.close()
                page.close()
                pages += 1
        finally:
            doc.close()
    return pages


def extract_text_and_images(files: Iterable[Path]) -> tuple[int, int]:
    """The baseline: ``extract_text`` plus what a bare loop does for the embedded images that
    ours stores, with pypdfium2's own helpers. Every image object of at least 64×64 px
    (descending into forms) is read, each distinct one once (by its still-encoded stream):
    JPEG and JPEG 2000 streams as they are, anything else decoded and written as a PNG
    (``compress_level=1``, as ours). Pages and images read."""
    pages = images = 0
    seen: set[bytes] = set()
    for path in files:
        doc = pdfium.PdfDocument(path)
        try:
            for index in range(len(doc)):
                page = doc[index]
                textpage = page.get_textpage()
                textpage.get_text_range()
                textpage.close()
                for image in page.get_objects(filter=(pdfium_c.FPDF_PAGEOBJ_IMAGE,),
                                              max_depth=MAX_FORM_DEPTH):
                    if min(image.get_px_size()) < MIN_IMAGE_SIDE:
                        continue
                    raw = bytes(image.get_data(decode_simple=False))
                    digest = hashlib.blake2b(raw, digest_size=16).digest()
                    if digest in seen:
                        continue
                    seen.add(digest)
                    if image.get_filters(skip_simple=True) in (["DCTDecode"], ["JPXDecode"]):
                        bytes(image.get_data(decode_simple=True))
                    else:
                        image.get_bitmap().to_pil().save(io.BytesIO(), format="PNG",
                                                         compress_level=1)
                    images += 1
                page.close()
                pages += 1
        finally:
            doc.close()
    return pages, images


def time_text_baseline(corpus: Corpus) -> float:
    """Seconds of the bare text-only loop over the corpus (no image work at all)."""
    with stopwatch() as elapsed:
        pages = extract_text(corpus.files)
    if pages != corpus.pages:
        raise RuntimeError(f"baseline read {pages} pages, expected {corpus.pages}")
    return elapsed()


def time_baseline(corpus: Corpus) -> float:
    """Seconds of the bare text + images loop over the corpus."""
    with stopwatch() as elapsed:
        pages, _images = extract_text_and_images(corpus.files)
    if pages != corpus.pages:
        raise RuntimeError(f"baseline read {pages} pages, expected {corpus.pages}")
    return elapsed()


def sync_into_fresh_database(server: Server, plugins: PluginManager, corpus: Corpus,
                             workdir: Path, *, resync: bool = True,
                             inspect: Callable[[str], None] | None = None) -> SyncRun:
    """Sync the corpus folder into a new database and data dir; time the sync, then a re-sync."""
    database = server.fresh_database()
    data_dir = workdir / f"data-{database}"
    try:
        # Ingest only: media processors (thumbnails of the embedded images) are measured by
        # bench/media.py, embeddings by bench/search_latency.py; with a job queue both run
        # on workers outside the sync.
        settings = Settings(database_url=server.url_for(database), data_dir=data_dir,
                            process_media=False, embed_after_sync=False)
        with Archive.open(settings=settings, plugins=plugins, migrate=False) as archive:
            with stopwatch() as elapsed:
                report = archive.sync("pdf", corpus.folder)
            seconds = elapsed()
            if report.errors:
                raise RuntimeError(f"pdf sync failed: {report.errors[:3]}")
            resync_seconds = float("nan")
            if resync:
                with stopwatch() as again:
                    second = archive.sync("pdf", corpus.folder)
                resync_seconds = again()
                if second.writes or second.skipped_unchanged != len(corpus.files):
                    raise RuntimeError(f"re-sync of unchanged files wrote: {second}")
            with archive.engine.connect() as conn:
                chunks = int(conn.execute(text("SELECT count(*) FROM chunks")).scalar_one())
        if inspect is not None:
            inspect(database)
    finally:
        server.drop(database)
        shutil.rmtree(data_dir, ignore_errors=True)
    return SyncRun(seconds, resync_seconds, report, chunks)


# -- the write floor: COPY of exactly the rows our sync wrote ----------------------------------

Snapshot = list[tuple[str, str, bytes]]  # (table, column list, COPY text data)


def snapshot(server: Server, database: str) -> Snapshot:
    """Every stored (non-generated) column of the tables a PDF sync writes, as COPY data."""
    taken: Snapshot = []
    with psycopg.connect(server.libpq_url(database)) as conn, conn.cursor() as cur:
        for table in SNAPSHOT_TABLES:
            row = cur.execute(
                "SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) FROM pg_attribute"
                " WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped"
                " AND attgenerated = ''", (table,)
            ).fetchone()
            columns = str(row[0]) if row else ""
            data = bytearray()
            with cur.copy(f"COPY {table} ({columns}) TO STDOUT") as copy:
                for block in copy:
                    data += block
            taken.append((table, columns, bytes(data)))
    return taken


def copy_snapshot(server: Server, snap: Snapshot) -> float:
    """COPY the snapshot into a fresh database in one transaction; seconds to commit."""
    database = server.fresh_database()
    try:
        with psycopg.connect(server.libpq_url(database)) as conn:
            with stopwatch() as elapsed, conn.transaction(), conn.cursor() as cur:
                for table, columns, data in snap:
                    with cur.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                        copy.write(data)
            return elapsed()
    finally:
        server.drop(database)


# -- isolation: the same files parsed in this process and through the worker -----------------


def read_like_a_sync(reader: Reader, files: Iterable[Path]) -> int:
    """Everything a sync reads of each file (metadata, outline, every page's text and images,
    PNGs encoded), through ``reader``; pages read. Closing the reader is part of the work."""
    pages = 0
    try:
        for path in files:
            with reader.open(path, path.name, find_images=True) as book:
                book.metadata()
                book.outline()
                read = [book.page(number) for number in range(1, book.page_count + 1)]
                for page in read:
                    page.images()
                pages += len(read)
    finally:
        reader.close()
    return pages


def time_isolation(files: tuple[Path, ...], repeat: int) -> tuple[float, float, float]:
    """Best seconds of reading ``files`` in this process; through a fresh isolated reader (its
    worker's start-up included, once, as a sync pays it); and through a reader whose worker is
    already running (what each further file costs). Runs alternate."""
    from alejandria_source_pdf.reader import reader_for

    def in_process() -> float:
        with stopwatch() as elapsed:
            read_like_a_sync(InProcessReader(), files)
        return elapsed()

    def isolated() -> float:
        with stopwatch() as elapsed:
            read_like_a_sync(reader_for(PdfSettings()), files)
        return elapsed()

    def isolated_warm() -> float:
        reader = reader_for(PdfSettings())
        with reader.open(files[0], files[0].name, find_images=False):
            pass  # the worker is running now
        with stopwatch() as elapsed:
            read_like_a_sync(_KeptOpen(reader), files)
        reader.close()
        return elapsed()

    if read_like_a_sync(InProcessReader(), files) != read_like_a_sync(
            reader_for(PdfSettings()), files):  # also the warm-up
        raise RuntimeError("the two readers read different numbers of pages")
    runs: list[list[float]] = [[], [], []]
    for _ in range(repeat):
        for times, run in zip(runs, (in_process, isolated, isolated_warm), strict=True):
            times.append(run())
    best = [min(times) for times in runs]
    return best[0], best[1], best[2]


class _KeptOpen:
    """A reader whose ``close()`` leaves the worker running (closed by the caller later)."""

    def __init__(self, reader: Reader) -> None:
        self._reader = reader

    def open(self, path: Path, subject: str, *, find_images: bool) -> Any:
        return self._reader.open(path, subject, find_images=find_images)

    def close(self) -> None:
        pass


def sample_books(folder: Path, copies: int) -> tuple[Path, ...]:
    """``copies`` copies of each sample book in ``examples/books``: a folder of small PDFs."""
    folder.mkdir(parents=True, exist_ok=True)
    books = sorted(p for p in FALLBACK.iterdir() if p.suffix.lower() == ".pdf")
    staged = []
    for copy in range(copies):
        for book in books:
            target = folder / f"{copy:03d}-{book.name}"
            shutil.copyfile(book, target)
            staged.append(target)
    return tuple(staged)


def main() -> None:
    parser = argparse.ArgumentParser(
        description="PDF parsing in this process against the isolated worker, same run.")
    parser.add_argument("--pages", type=int, default=600, help="pages of the real-world corpus")
    parser.add_argument("--copies", type=int, default=20,
                        help="copies of each sample book (a folder of many small PDFs)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    for key, value in machine().items():
        print(f"{key}: {value}")
    with tempfile.TemporaryDirectory(prefix="pdf-bench-") as workdir:
        small = sample_books(Path(workdir) / "samples", args.copies)
        corpus = stage_corpus(Path(workdir) / "corpus", args.pages)
        rows = [(f"PDFs parsed (best of {args.repeat})", "files", "pages", "in-process s",
                 "isolated s", "ratio", "worker warm s", "ratio")]
        for label, files in (("sample books, many small files", small),
                             ("real-world corpus", corpus.files)):
            pages = read_like_a_sync(InProcessReader(), files)
            ours, isolated, warm = time_isolation(files, args.repeat)
            rows.append((label, str(len(files)), str(pages), f"{ours:.3f}", f"{isolated:.3f}",
                         f"{isolated / ours:.2f}", f"{warm:.3f}", f"{warm / ours:.2f}"))
    print()
    print_rows(rows)


if __name__ == "__main__":
    main()
