"""Media benchmarks: hashing into the media store, and thumbnails of large JPEGs.

1. Hashing MB/s of ``MediaStore.put_stream`` over ``--hash-mb`` MB of random files, against
   ``sha256sum`` over the same files and against a bare ``hashlib.sha256`` loop of 1 MiB reads.
   The store also writes and fsyncs every file, so a ratio near 1 means that costs little.
2. Images/s of ``ThumbnailProcessor`` (150, 300 and 600 px WebP of each photo) on ``--photos``
   camera-sized JPEGs (4000×3000, quality 90, gradients with sensor-like noise, about 4 MB
   each), against a naive Pillow loop: ``open → thumbnail((s, s)) → save WebP`` per size.
   Target: ours ≥ 3× the naive loop. An extra row runs the naive loop with our WebP encoder
   setting, to show how much of the gain comes from decoding once at reduced scale.

Every number is the best of ``--repeat`` runs (``time.perf_counter``) after an unmeasured
warm-up that also puts the files in the page cache. It fails loudly if a contender did not do
the work (different digests, missing or wrong-sized thumbnails).

    . .venv/bin/activate
    python bench/media.py             # 500 MB, 20 photos, best of 3
    python bench/media.py --quick     # 100 MB, 5 photos
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import harness
import PIL
from PIL import Image, features

from alejandria.media.processors.thumbnails import QUALITY, SIZES, WEBP_METHOD, ThumbnailProcessor
from alejandria.plugin_types import ProcessorContext
from alejandria.settings import Settings
from alejandria.storage.media_store import MediaStore

MB = 1_000_000
FILE_MB = 10
PHOTO_SIZE = (4000, 3000)


def best_of(repeat: int, run: Callable[[], None], reset: Callable[[], None] | None = None) -> float:
    """Seconds of the fastest of ``repeat`` runs, after one unmeasured warm-up run."""
    best = float("inf")
    for attempt in range(repeat + 1):
        if reset is not None:
            reset()
        start = time.perf_counter()
        run()
        elapsed = time.perf_counter() - start
        if attempt > 0:
            best = min(best, elapsed)
    return best


def machine() -> str:
    info = harness.machine()
    return (
        f"{info['cpu']}, {info['cores']} cores; Python {info['python']}, "
        f"Pillow {PIL.__version__} (libjpeg-turbo {features.version('libjpeg_turbo')}, "
        f"libwebp {features.version('webp')})"
    )


def table(rows: list[tuple[str, str, str, str]]) -> None:
    header = ("row", "ours", "baseline", "ours/baseline")
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(4)]
    for row in [header, tuple("-" * w for w in widths), *rows]:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)))


# --- hashing -------------------------------------------------------------------------------


def make_random_files(folder: Path, total_mb: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for number in range(max(1, total_mb // FILE_MB)):
        path = folder / f"blob-{number:03d}.bin"
        with path.open("wb") as out:
            for _ in range(FILE_MB):
                out.write(os.urandom(MB))
        files.append(path)
    return files


def hashlib_digests(files: list[Path]) -> list[str]:
    digests = []
    for path in files:
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            while chunk := handle.read(1024 * 1024):
                digest.update(chunk)
        digests.append(digest.hexdigest())
    return digests


def bench_hashing(workdir: Path, total_mb: int, repeat: int) -> list[tuple[str, str, str, str]]:
    files = make_random_files(workdir / "blobs", total_mb)
    size_mb = sum(path.stat().st_size for path in files) / MB
    store_root = workdir / "store"
    expected = hashlib_digests(files)
    ours_digests: list[str] = []

    def reset_store() -> None:
        shutil.rmtree(store_root, ignore_errors=True)
        ours_digests.clear()

    def ours() -> None:
        store = MediaStore(store_root)
        for path in files:
            with path.open("rb") as handle:
                ours_digests.append(store.put_stream(handle)[0])

    def sha256sum() -> None:
        subprocess.run(["sha256sum", *map(os.fspath, files)], check=True,
                       stdout=subprocess.DEVNULL)

    def bare() -> None:
        hashlib_digests(files)

    ours_s = best_of(repeat, ours, reset_store)
    if ours_digests != expected:
        raise SystemExit("the media store's digests differ from hashlib's")
    ours_rate = size_mb / ours_s
    rows = []
    bare_rate = size_mb / best_of(repeat, bare)
    if shutil.which("sha256sum"):
        sum_rate = size_mb / best_of(repeat, sha256sum)
        rows.append(("hashing MB/s vs sha256sum", f"{ours_rate:.0f}", f"{sum_rate:.0f}",
                     f"{ours_rate / sum_rate:.2f}"))
    else:
        print("sha256sum not found: that row is left out")
    rows.append(("hashing MB/s vs hashlib 1 MiB loop", f"{ours_rate:.0f}", f"{bare_rate:.0f}",
                 f"{ours_rate / bare_rate:.2f}"))
    print(f"hashing: {len(files)} files, {size_mb:.0f} MB of random bytes "
          f"(ours also writes and fsyncs every file into {store_root})")
    return rows


# --- thumbnails ----------------------------------------------------------------------------


def make_photos(folder: Path, count: int) -> list[Path]:
    """Camera-sized JPEGs: two gradients and per-photo sensor-like noise, quality 90."""
    folder.mkdir(parents=True, exist_ok=True)
    width, height = PHOTO_SIZE
    linear = Image.linear_gradient("L").resize((width, height))
    radial = Image.radial_gradient("L").resize((width, height))
    photos = []
    for number in range(count):
        noise = Image.effect_noise((width, height), 12 + number % 5)
        channels = [linear, noise, radial]
        rotated = channels[number % 3:] + channels[:number % 3]
        path = folder / f"photo-{number:03d}.jpg"
        Image.merge("RGB", rotated).save(path, format="JPEG", quality=90)
        photos.append(path)
    return photos


def naive_thumbnails(photos: list[Path], out: Path, method: int | None) -> None:
    out.mkdir(parents=True, exist_ok=True)
    params = {} if method is None else {"method": method}
    for path in photos:
        for size in SIZES:
            with Image.open(path) as image:
                image.thumbnail((size, size))
                image.save(out / f"{path.stem}-{size}.webp", format="WEBP", quality=QUALITY,
                           **params)


def bench_thumbnails(workdir: Path, count: int, repeat: int) -> list[tuple[str, str, str, str]]:
    photos = make_photos(workdir / "photos", count)
    megabytes = sum(path.stat().st_size for path in photos) / MB / len(photos)
    data_dir = workdir / "data"
    processor = ThumbnailProcessor(
        ProcessorContext(settings=Settings(data_dir=data_dir), name="thumbnails")
    )
    media = {path: {"sha256": hashlib_digests([path])[0]} for path in photos}
    written: list[dict[str, str]] = []

    def reset() -> None:
        shutil.rmtree(data_dir, ignore_errors=True)
        written.clear()

    def ours() -> None:
        for path in photos:
            written.append(processor.process(path, media[path])["thumbnails"])

    naive_dir = workdir / "naive"
    ours_s = best_of(repeat, ours, reset)
    for thumbnails in written:
        for key, relative in thumbnails.items():
            with Image.open(data_dir / relative) as thumbnail:
                if max(thumbnail.size) != int(key):
                    raise SystemExit(f"thumbnail {relative} is {thumbnail.size}, not {key} px")
    if len(written) != len(photos):
        raise SystemExit("the thumbnail processor skipped photos")
    naive_s = best_of(repeat, lambda: naive_thumbnails(photos, naive_dir, None))
    if len(list(naive_dir.iterdir())) != len(photos) * len(SIZES):
        raise SystemExit("the naive loop did not write every thumbnail")
    same_encoder_s = best_of(repeat, lambda: naive_thumbnails(photos, naive_dir, WEBP_METHOD))

    def rate(seconds: float) -> float:
        return len(photos) / seconds

    print(f"thumbnails: {len(photos)} JPEGs of {PHOTO_SIZE[0]}×{PHOTO_SIZE[1]}, "
          f"{megabytes:.1f} MB each, quality 90; each makes {len(SIZES)} WebP thumbnails "
          f"({', '.join(map(str, SIZES))} px, quality {QUALITY}; ours uses WebP method "
          f"{WEBP_METHOD}, the naive loop Pillow's default, 4)")
    return [
        ("thumbnails, images/s vs naive loop", f"{rate(ours_s):.1f}", f"{rate(naive_s):.1f}",
         f"{naive_s / ours_s:.2f} (target ≥ 3)"),
        (f"  (vs naive loop with WebP method {WEBP_METHOD})", f"{rate(ours_s):.1f}",
         f"{rate(same_encoder_s):.1f}", f"{same_encoder_s / ours_s:.2f}"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hash-mb", type=int, default=500, help="MB of random files to hash")
    parser.add_argument("--photos", type=int, default=20, help="4000×3000 JPEGs to thumbnail")
    parser.add_argument("--repeat", type=int, default=3, help="measured runs per contender")
    parser.add_argument("--quick", action="store_true", help="100 MB and 5 photos")
    parser.add_argument("--only", choices=("hash", "thumbnails"), help="run one part")
    parser.add_argument("--workdir", type=Path, help="keep the working files here")
    args = parser.parse_args()
    if args.quick:
        args.hash_mb, args.photos = 100, 5
    print(machine())
    with tempfile.TemporaryDirectory(prefix="alejandria-bench-media-") as temp:
        workdir = args.workdir or Path(temp)
        rows = []
        if args.only in (None, "hash"):
            rows += bench_hashing(workdir, args.hash_mb, args.repeat)
        if args.only in (None, "thumbnails"):
            rows += bench_thumbnails(workdir, args.photos, args.repeat)
    print(f"best of {args.repeat} runs each, after one warm-up\n")
    table(rows)


if __name__ == "__main__":
    main()
