"""Import benchmark: ``alejandria import legacy`` against a bare loop doing the same file work.

A generated legacy tree (the old system's ``config/creators.json`` and per-creator
``*_posts_detailed.json``) of ``--posts`` posts over ``--creators`` creators, each post with
``--files`` media files of ``--file-kb`` KB of random bytes (one in ten files a copy of
another, as old archives hold), is imported by both contenders:

- ours: ``run_import`` into a fresh database, as ``alejandria import legacy`` runs it: the
  inventory (every JSON file read and every post mapped), the sync pipeline (posts, creators,
  media rows, the media store: hash, copy, fsync, atomic rename, dedup) and the validation
  report's queries. Media processing, video downloads and embeddings are off: they have
  their own benchmarks.
- bare loop (fsync per file): the same work without a database: parse every JSON file, then
  for each media file stream it through SHA-256 into a temporary file in a content-addressed
  folder, fsync it and rename it into place (skipped when that hash is there already).
  Nothing else: no post mapping, no rows, no report.
- bare loop (one syncfs): the same loop, made durable the way the media store does it: no
  fsync per file, one ``syncfs`` of the filesystem at the end (Linux; elsewhere it fsyncs
  every file). The fastest honest baseline, and the one the ratio that counts is against.

Reported: posts/s and media MB/s of each, and bare/ours (how close ours comes to the bare
file work; 1.0 would mean the database and the mapping cost nothing). Per-file fsyncs are
what suffers most when other work shares the disk: on a busy machine the first loop can be
slower than ours. Best of
``--repeat`` runs each, interleaved, after one unmeasured warm-up of both (which also puts the
tree in the page cache). Ours is checked: every post and file archived, and a second import
writes nothing.

    . .venv/bin/activate
    MYPYPATH=bench python bench/import_bench.py          # 300 posts x 2 files x 64 KB
    python bench/import_bench.py --quick                 # 60 posts
"""

from __future__ import annotations

import argparse
import ctypes
import hashlib
import json
import os
import random
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from harness import Server, Timing, machine, print_rows, stopwatch

from alejandria.api import Archive
from alejandria.builtins import build_plugin_manager
from alejandria.imports.service import run_import
from alejandria.settings import Settings

MB = 1_000_000
READ_SIZE = 1 << 20


@dataclass
class Corpus:
    root: Path
    posts: int
    files: int  # media entries referenced
    distinct: int  # distinct file contents
    bytes: int  # bytes of the distinct contents


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="60 posts instead of 300")
    parser.add_argument("--posts", type=int, help="posts in the tree (default 300)")
    parser.add_argument("--creators", type=int, default=3, help="creators (default 3)")
    parser.add_argument("--files", type=int, default=2, help="files per post (default 2)")
    parser.add_argument("--file-kb", type=int, default=64, help="KB per file (default 64)")
    parser.add_argument("--repeat", type=int, default=3, help="measured runs of each")
    parser.add_argument("--database-url", help="use this Postgres instead of an embedded one")
    args = parser.parse_args(argv)
    args.posts = args.posts or (60 if args.quick else 300)
    return args


def make_tree(root: Path, posts: int, creators: int, files: int, file_kb: int) -> Corpus:
    """The old system's project folder, as ``alejandria import legacy`` reads it."""
    rng = random.Random(7)
    media = root / "data" / "media"
    media.mkdir(parents=True)
    (root / "config").mkdir()
    (root / "data" / "processed").mkdir()
    people = [{"id": str(5000 + n), "name": f"Creator {n}",
               "url": f"https://www.patreon.com/creator{n}"} for n in range(creators)]
    (root / "config" / "creators.json").write_text(json.dumps(people))
    contents: list[bytes] = []
    referenced = 0
    for n, person in enumerate(people):
        records = []
        for number in range(n, posts, creators):
            entries = []
            for index in range(files):
                name = f"{number}_{index}.bin"
                if contents and rng.random() < 0.1:
                    data = rng.choice(contents)  # a copy of a file of another post
                else:
                    data = rng.randbytes(file_kb * 1024)
                    contents.append(data)
                (media / name).write_bytes(data)
                entries.append({"local_path": f"data/media/{name}", "type": "image"})
                referenced += 1
            records.append({
                "post_id": str(90_000 + number), "title": f"Post {number}",
                "content": f"<p>Texto de la entrada {number}, con <b>negritas</b>.</p>",
                "published_at": f"2024-01-{1 + number % 28:02d}T12:00:00Z",
                "url": f"https://www.patreon.com/posts/post-{90_000 + number}",
                "tags": ["bench"], "media": entries})
        (root / "data" / "processed" / f"{person['id']}_posts_detailed.json").write_text(
            json.dumps(records, ensure_ascii=False, indent=2))
    return Corpus(root=root, posts=posts, files=referenced, distinct=len(contents),
                  bytes=sum(len(data) for data in contents))


def baseline(corpus: Corpus, store: Path, *, per_file: bool = True) -> float:
    """Seconds for the bare loop: parse the JSON, hash + copy + rename each file, made
    durable by an fsync per file (``per_file``) or by one syncfs at the end."""
    shutil.rmtree(store, ignore_errors=True)
    store.mkdir(parents=True)
    with stopwatch() as elapsed:
        json.loads((corpus.root / "config" / "creators.json").read_text())
        posts = stored = 0
        written: list[Path] = []
        for posts_file in sorted((corpus.root / "data" / "processed").glob("*.json")):
            for record in json.loads(posts_file.read_text()):
                posts += 1
                for entry in record["media"]:
                    stored += _store_file(corpus.root / entry["local_path"], store, per_file,
                                          written)
        if not per_file:
            _sync_all(store, written)
    if (posts, stored) != (corpus.posts, corpus.distinct):
        raise RuntimeError(f"the baseline read {posts} posts and stored {stored} files, "
                           f"expected {corpus.posts} and {corpus.distinct}")
    return elapsed()


def _store_file(path: Path, store: Path, per_file: bool, written: list[Path]) -> int:
    """Stream ``path`` through SHA-256 into a temporary file, fsync it (``per_file``), rename
    it into ``store/ab/cd/<sha256>``; 1 when stored, 0 when those bytes were there already."""
    digest = hashlib.sha256()
    temporary = store / f".tmp-{os.getpid()}"
    with path.open("rb") as source, temporary.open("wb") as target:
        while chunk := source.read(READ_SIZE):
            digest.update(chunk)
            target.write(chunk)
        target.flush()
        if per_file:
            os.fsync(target.fileno())
    name = digest.hexdigest()
    final = store / name[:2] / name[2:4] / name
    if final.exists():
        temporary.unlink()
        return 0
    final.parent.mkdir(parents=True, exist_ok=True)
    temporary.rename(final)
    written.append(final)
    return 1


def _sync_all(store: Path, written: list[Path]) -> None:
    """One ``syncfs`` of the store's filesystem; where there is none, fsync every file."""
    try:
        syncfs = ctypes.CDLL(None, use_errno=True).syncfs
    except (OSError, AttributeError):
        syncfs = None
    if syncfs is not None:
        fd = os.open(store, os.O_RDONLY)
        try:
            if syncfs(fd) == 0:
                return
        finally:
            os.close(fd)
    for path in written:
        with path.open("rb") as handle:
            os.fsync(handle.fileno())


def ours(server: Server, workdir: Path, corpus: Corpus) -> float:
    """Seconds for ``run_import`` into a fresh database (opening it is not timed)."""
    database = server.fresh_database()
    settings = Settings(data_dir=workdir / f"data-{database}",
                        database_url=server.url_for(database), process_media=False,
                        download_embeds=False)
    settings = settings.model_copy(update={"embed_after_sync": False})
    targets = [str(corpus.root / "data" / "processed" / "*_posts_detailed.json")]
    options = {"creators": str(corpus.root / "config" / "creators.json"),
               "media_root": str(corpus.root)}
    try:
        with Archive.open(settings=settings, plugins=build_plugin_manager(),
                          migrate=False) as archive:
            with stopwatch() as elapsed:
                report = run_import(archive.context, "legacy", targets, options=options)
            totals = report.totals
            if not report.ok or report.sync is None or totals["posts_archived"] != corpus.posts \
                    or totals["media_archived"] != corpus.files \
                    or report.sync.media_stored != corpus.distinct:
                raise RuntimeError(f"the import did not do the work: {report.lines()}")
            again = run_import(archive.context, "legacy", targets, options=options)
            if again.sync is None or again.sync.writes:
                raise RuntimeError(f"a second import wrote: {again.lines()}")
        return elapsed()
    finally:
        server.drop(database)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    info = machine()
    print(f"Machine: {info['cpu']}; {info['cores']} cores; {info['memory']}; "
          f"Python {info['python']}; {info['os']}")
    workdir = Path(tempfile.mkdtemp(prefix="alejandria-import-bench-"))
    try:
        corpus = make_tree(workdir / "old", args.posts, args.creators, args.files,
                           args.file_kb)
        print(f"Legacy tree: {corpus.posts} posts of {args.creators} creators, "
              f"{corpus.files} media entries, {corpus.distinct} distinct files, "
              f"{corpus.bytes / MB:.1f} MB; best of {args.repeat} runs each after a warm-up")
        with Server.start(workdir, args.database_url) as server:
            print(f"Postgres: {server.describe()}")
            timings = {"ours": Timing(), "fsync": Timing(), "syncfs": Timing()}
            baseline(corpus, workdir / "bare-store")  # warm-up
            ours(server, workdir, corpus)
            for _ in range(args.repeat):  # interleaved, so drift hits all alike
                timings["fsync"].runs.append(baseline(corpus, workdir / "bare-store"))
                timings["syncfs"].runs.append(baseline(corpus, workdir / "bare-store",
                                                       per_file=False))
                timings["ours"].runs.append(ours(server, workdir, corpus))
        print("  runs, s: " + "; ".join(f"{name}: {', '.join(f'{s:.3f}' for s in t.runs)}"
                                        for name, t in timings.items()))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    mine, fsync, syncfs = (timings[name].best for name in ("ours", "fsync", "syncfs"))
    rows = [("measure", "ours", "bare (syncfs)", "bare/ours", "bare (fsync/file)",
             "bare/ours")]
    for name, amount in (("posts/s", corpus.posts), ("media MB/s", corpus.bytes / MB)):
        rows.append((name, f"{amount / mine:,.1f}", f"{amount / syncfs:,.1f}",
                     f"{syncfs / mine:.2f}", f"{amount / fsync:,.1f}", f"{fsync / mine:.2f}"))
    print_rows(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
