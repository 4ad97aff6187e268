"""Backup benchmark: incremental backups of a generated media store against bare baselines.

An archive is made on a fresh database (``harness.Server``: embedded pgserver, or
``--database-url``) whose media store holds ``--files`` generated files (``--mb`` MB in all,
sizes from 8 KB to 4 MB, a few large ones as in a real archive), with one ``media_files`` row
each. Then, in the same run:

1. **First (full) backup.** ``create_backup`` (pg_dump, every blob copied with SHA-256
   verification, one ``syncfs`` before the manifest) against ``cp -a`` of the store followed by
   ``sync -f`` (as durable, nothing verified) and a bare Python loop that copies each file
   in 1 MiB chunks and fsyncs it (durable, nothing verified). Also our blob copy alone
   (``copy_blobs``, no database), the part the baselines do.
2. **Second backup, nothing new.** ``create_backup`` again against a bare loop that stats
   each destination file and skips it when it exists (the least any incremental copy does).
3. **Third backup, 1% new files.** ``create_backup`` after adding 1% more files (and rows)
   against the bare stat-and-copy loop doing the same.

Ratios are baseline time / ours (above 1: ours is faster). Best of ``--repeat`` runs, each into
a fresh destination for (1). The source files are in the page cache for every contender
(generated just before); the destination is the same disk.

    . .venv/bin/activate
    python bench/backup_bench.py              # 2000 files, 300 MB
    python bench/backup_bench.py --quick      # 500 files, 60 MB
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import harness
from sqlalchemy import text

from alejandria.api import Archive
from alejandria.backup.blobs import BlobCopy, copy_blobs
from alejandria.backup.create import create_backup
from alejandria.settings import Settings

MB = 1_000_000
CHUNK = 1024 * 1024


def sizes_for(files: int, total: int, rng: random.Random) -> list[int]:
    """File sizes: mostly pictures (8 KB-1 MB), some 2-4 MB files, scaled to ``total``."""
    raw = [rng.randint(2_000_000, 4_000_000) if rng.random() < 0.05
           else rng.randint(8_000, 1_000_000) for _ in range(files)]
    scale = total / sum(raw)
    return [max(1024, int(size * scale)) for size in raw]


def write_files(root: Path, sizes: list[int], seed: int) -> list[tuple[str, int]]:
    """Write random files into the store layout ``root/ab/cd/<sha256>``."""
    rng = random.Random(seed)
    written: list[tuple[str, int]] = []
    for size in sizes:
        data = rng.randbytes(size)
        digest = hashlib.sha256(data).hexdigest()
        path = root / digest[:2] / digest[2:4] / digest
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        written.append((digest, size))
    return written


def add_rows(archive: Archive, files: list[tuple[str, int]]) -> None:
    with archive.engine.begin() as conn:
        conn.execute(text("INSERT INTO media_files (sha256, kind, size) VALUES "
                          "(:sha, 'image', :size)"),
                     [{"sha": sha, "size": size} for sha, size in files])


def store_files(root: Path) -> list[Path]:
    return sorted(path for path in root.glob("??/??/*") if path.is_file())


def python_copy_fsync(source: Path, dest: Path) -> None:
    """The bare loop: copy each file in 1 MiB chunks and fsync it (and its folder)."""
    made: set[Path] = set()
    for path in store_files(source):
        target = dest / path.relative_to(source)
        if target.parent not in made:
            target.parent.mkdir(parents=True, exist_ok=True)
            made.add(target.parent)
        with path.open("rb") as src, target.open("wb") as out:
            while chunk := src.read(CHUNK):
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
    for folder in made:
        fd = os.open(folder, os.O_RDONLY)
        os.fsync(fd)
        os.close(fd)


def stat_and_copy(source: Path, dest: Path) -> int:
    """The least incremental copy: stat each destination, copy (and fsync) what is absent."""
    copied = 0
    for path in store_files(source):
        target = dest / path.relative_to(source)
        try:
            target.stat()
            continue
        except FileNotFoundError:
            pass
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
        fd = os.open(target, os.O_RDONLY)
        os.fsync(fd)
        os.close(fd)
        copied += 1
    return copied


def timed(run: Callable[[], object]) -> float:
    with harness.stopwatch() as elapsed:
        run()
    return elapsed()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--mb", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="500 files, 60 MB")
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--workdir", type=Path, default=None,
                        help="Where the store and backups go (default: a temp dir)")
    args = parser.parse_args()
    if args.quick:
        args.files, args.mb = 500, 60
    work = Path(tempfile.mkdtemp(prefix="alejandria-backup-bench-", dir=args.workdir))
    try:
        run(args, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run(args: argparse.Namespace, work: Path) -> None:
    rng = random.Random(7)
    with harness.Server.start(work / "server", args.database_url) as server:
        data_dir = work / "data"
        settings = Settings(data_dir=data_dir, database_url=server.url_for(
            server.fresh_database()), embedded_linger_s=0, embed_after_sync=False)
        store = settings.media_dir
        files = write_files(store, sizes_for(args.files, args.mb * MB, rng), seed=1)
        total_bytes = sum(size for _sha, size in files)
        with Archive.open(settings=settings, migrate=False) as archive:
            add_rows(archive, files)
            print(f"machine: {harness.machine()}")
            print(f"server: {server.describe()}")
            print(f"store: {len(files)} files, {total_bytes / MB:.0f} MB; best of "
                  f"{args.repeat}\n")
            rows = [["run", "ours (s)", "baseline", "baseline (s)", "baseline / ours"]]

            # 1. first, full backup
            ours_full: list[float] = []
            ours_blobs: list[float] = []
            cp_full: list[float] = []
            loop_full: list[float] = []
            for attempt in range(args.repeat):
                dest = work / f"full-{attempt}"
                ours_full.append(timed(lambda dest=dest: create_backup(  # type: ignore[misc]
                    archive.context, to=dest, prune_after=False)))
                blobs_dest = work / f"blobs-{attempt}"
                copies = [BlobCopy(sha, archive.media.local_file(sha),
                                   blobs_dest / sha[:2] / sha[2:4] / sha, size)
                          for sha, size in files]
                ours_blobs.append(timed(lambda copies=copies, d=blobs_dest:  # type: ignore[misc]
                                        copy_blobs(copies, d / "tmp")))
                cp_dest = work / f"cp-{attempt}"
                cp_full.append(timed(lambda cp_dest=cp_dest: (  # type: ignore[misc]
                    subprocess.run(["cp", "-a", str(store), str(cp_dest)], check=True),
                    subprocess.run(["sync", "-f", str(cp_dest)], check=True))))
                loop_dest = work / f"loop-{attempt}"
                loop_full.append(timed(lambda loop_dest=loop_dest:  # type: ignore[misc]
                                       python_copy_fsync(store, loop_dest)))
                for folder in (blobs_dest, cp_dest, loop_dest):
                    shutil.rmtree(folder)
                if attempt < args.repeat - 1:
                    shutil.rmtree(dest)
            first, blobs, cp, loop = (min(ours_full), min(ours_blobs), min(cp_full),
                                      min(loop_full))
            rows.append(["1. full backup", f"{first:.2f}", "cp -a + sync -f", f"{cp:.2f}",
                         f"{cp / first:.2f}"])
            rows.append(["1. full backup", f"{first:.2f}", "python copy+fsync loop",
                         f"{loop:.2f}", f"{loop / first:.2f}"])
            rows.append(["1. blob copy alone", f"{blobs:.2f}", "cp -a + sync -f", f"{cp:.2f}",
                         f"{cp / blobs:.2f}"])
            rows.append(["1. blob copy alone", f"{blobs:.2f}", "python copy+fsync loop",
                         f"{loop:.2f}", f"{loop / blobs:.2f}"])

            # 2. second backup, nothing new: the stat-and-skip loop over a full copy
            location = work / f"full-{args.repeat - 1}"
            baseline_dest = work / "incremental-baseline"
            stat_and_copy(store, baseline_dest)
            second = []
            for n in range(args.repeat):
                later = datetime.now(UTC) + timedelta(seconds=n + 1)
                with harness.stopwatch() as elapsed:
                    create_backup(archive.context, to=location, prune_after=False, now=later)
                second.append(elapsed())
            skip = [timed(lambda: stat_and_copy(store, baseline_dest))
                    for _ in range(args.repeat)]
            rows.append(["2. nothing new", f"{min(second):.2f}", "stat-and-skip loop",
                         f"{min(skip):.2f}", f"{min(skip) / min(second):.2f}"])
            pool = location / "blobs"
            present = [BlobCopy(sha, archive.media.local_file(sha),
                                pool / sha[:2] / sha[2:4] / sha, size) for sha, size in files]
            pass_alone = min(timed(lambda: copy_blobs(present, location / "tmp"))
                             for _ in range(args.repeat))
            rows.append(["2. blob pass alone", f"{pass_alone:.2f}", "stat-and-skip loop",
                         f"{min(skip):.2f}", f"{min(skip) / pass_alone:.2f}"])

            # 3. 1% new files
            new = write_files(store, sizes_for(max(1, args.files // 100),
                                               args.mb * MB // 100, rng), seed=2)
            add_rows(archive, new)
            third = timed(lambda: create_backup(archive.context, to=location,
                                                prune_after=False,
                                                now=datetime.now(UTC) + timedelta(hours=1)))
            baseline_new = timed(lambda: stat_and_copy(store, baseline_dest))
            rows.append([f"3. {len(new)} new files", f"{third:.2f}", "stat-and-copy loop",
                         f"{baseline_new:.2f}", f"{baseline_new / third:.2f}"])
        harness.print_rows(rows)
        print("\nours = create_backup (pg_dump + hashed blob copy + manifest) unless "
              "'blob copy alone'; baselines verify nothing and dump no database.")


if __name__ == "__main__":
    main()
