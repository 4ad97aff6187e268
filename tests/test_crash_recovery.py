"""A sync killed with SIGKILL loses nothing and duplicates nothing when it is run again."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from alejandria.storage.media_store import MediaStore

from .conftest import write_book

BOOKS = 40
CHAPTERS = 4


def _counts(url: str) -> dict[str, int]:
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return {table: conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
                    for table in ("collections", "posts", "chunks", "media_files", "post_media")}
    finally:
        engine.dispose()


@pytest.mark.slow
def test_sigkill_mid_sync_then_rerun_completes_exactly_once(
        tmp_path, cli_env, alejandria, alejandria_database_url):
    folder = tmp_path / "library"
    folder.mkdir()
    for book in range(BOOKS):
        chapters = [(f"Capítulo {c}", [f"Libro {book}, capítulo {c}. " + "Texto largo. " * 200]
                     * 3) for c in range(CHAPTERS)]
        write_book(folder / f"book-{book:02d}.pdf", title=f"Libro {book}", author="Ana",
                   chapters=chapters, image_seed=book)

    process = subprocess.Popen([sys.executable, "-m", "alejandria.cli.main", "sync", "pdf",
                                str(folder)], env=cli_env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while _counts(alejandria_database_url)["collections"] < 3:
        assert process.poll() is None, f"sync ended before the kill: {process.stderr.read()}"
        assert time.monotonic() < deadline
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.communicate()
    partial = _counts(alejandria_database_url)
    assert 3 <= partial["collections"] < BOOKS, "the kill did not land mid-sync"

    rerun = alejandria("sync", "pdf", folder, "--json")

    assert rerun.returncode == 0, rerun.stderr
    assert rerun.json()["skipped_unchanged"] == partial["collections"]
    assert _counts(alejandria_database_url) == {
        "collections": BOOKS, "posts": BOOKS * CHAPTERS, "chunks": BOOKS * CHAPTERS * 3,
        # each book: its picture and its PDF, both linked from every chapter
        "media_files": BOOKS * 2, "post_media": BOOKS * CHAPTERS * 2,
    }
    store = MediaStore(tmp_path / "data" / "media")
    stored = [p for p in store.root.glob("??/??/*") if p.is_file()]
    assert len(stored) == BOOKS * 2
    assert all(store.verify(p.name) for p in stored)
