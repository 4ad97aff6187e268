"""Ingest benchmark: our pipeline against the fastest honest baseline, same process, same data.

    python bench/ingest.py            # full: ~3,000 PDF pages, 5,000 synthetic posts, best of 3
    python bench/ingest.py --quick    # ~600 pages, 1,000 posts
    python bench/ingest.py --profile pdf   # then one cProfile'd run of ours (pdf or repo)

See bench/README.md for what each number means.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import pdf_bench
import repo_bench
from harness import Server, Timing, best_of, machine, print_rows

from alejandria.builtins import build_plugin_manager
from alejandria.plugins import PluginManager

PDF_TARGET = 0.85
REPO_TARGET = 0.3


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller corpus and dataset")
    parser.add_argument("--pages", type=int, help="PDF pages to stage (default 3000, quick 600)")
    parser.add_argument("--posts", type=int, help="synthetic posts (default 5000, quick 1000)")
    parser.add_argument("--repeat", type=int, default=3, help="measured runs; best is reported")
    parser.add_argument("--database-url", help="use this Postgres (a database we may CREATE "
                        "DATABASE from) instead of an embedded pgserver")
    parser.add_argument("--only", choices=("pdf", "repo"), help="run one part only")
    parser.add_argument("--profile", choices=("pdf", "repo"),
                        help="after measuring, profile one run of ours and print the top costs")
    parser.add_argument("--workdir", type=Path, help="keep working files here (default: a temp "
                        "dir, removed at the end)")
    args = parser.parse_args(argv)
    args.pages = args.pages or (600 if args.quick else 3000)
    args.posts = args.posts or (1000 if args.quick else 5000)
    return args


def runs(timing: Timing) -> str:
    return ", ".join(f"{seconds:.3f}" for seconds in timing.runs)


def profile(call: Callable[[], object], top: int = 25) -> None:
    profiler = cProfile.Profile()
    profiler.enable()
    call()
    profiler.disable()
    for order in ("tottime", "cumulative"):
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).strip_dirs().sort_stats(order).print_stats(top)
        print(f"\n--- profile of ours, top {top} by {order} ---")
        print("\n".join(line for line in out.getvalue().splitlines()[4:] if line.strip()))


def bench_pdf(args: argparse.Namespace, server: Server, workdir: Path,
              table: list[tuple[str, ...]]) -> None:
    corpus = pdf_bench.stage_corpus(workdir / "corpus", args.pages)
    plugins = build_plugin_manager()
    if "pdf" not in plugins.sources():
        raise SystemExit("the pdf source is not installed: pip install -e "
                         "packages/alejandria-source-pdf")
    places = sorted({str(origin.parent) for origin in corpus.origins})
    print(f"PDF corpus: {len(corpus.files)} files, {corpus.pages} pages, "
          f"{corpus.size / 1e6:.1f} MB, from {len(places)} folders: {', '.join(places)[:240]}")
    # Warm-up, not measured: PDFium and the page cache, imports and SQL compilation caches.
    pdf_bench.time_baseline(corpus)
    warm = pdf_bench.Corpus(workdir / "warm", corpus.files[:1], corpus.origins[:1], 0, 0)
    warm.folder.mkdir()
    shutil.copyfile(corpus.files[0], warm.folder / corpus.files[0].name)
    pdf_bench.sync_into_fresh_database(server, plugins, warm, workdir, resync=False)

    baseline = best_of(args.repeat, lambda: pdf_bench.time_baseline(corpus))
    text_only = best_of(args.repeat, lambda: pdf_bench.time_text_baseline(corpus))
    synced: list[pdf_bench.SyncRun] = []
    snaps: list[pdf_bench.Snapshot] = []

    def ours_once() -> float:
        inspect = None if snaps else (lambda db: snaps.append(pdf_bench.snapshot(server, db)))
        synced.append(pdf_bench.sync_into_fresh_database(server, plugins, corpus, workdir,
                                                         inspect=inspect))
        return synced[-1].seconds

    ours = best_of(args.repeat, ours_once)
    copy = best_of(args.repeat, lambda: pdf_bench.copy_snapshot(server, snaps[0]))
    report = synced[0].report
    ours_rate, base_rate = corpus.pages / ours.best, corpus.pages / baseline.best
    floor_rate = corpus.pages / (baseline.best + copy.best)
    ratio = ours_rate / base_rate
    table.append(("PDF ingest (pages/s)", f"{ours_rate:,.0f}", f"{base_rate:,.0f}",
                  f"{ratio:.2f}", f">= {PDF_TARGET}", "ok" if ratio >= PDF_TARGET else "BELOW"))
    text_rate = corpus.pages / text_only.best
    table.append(("  vs bare text-only loop (pages/s)", f"{ours_rate:,.0f}", f"{text_rate:,.0f}",
                  f"{ours_rate / text_rate:.2f}", "info", ""))
    table.append(("  vs extract + COPY floor (pages/s)", f"{ours_rate:,.0f}",
                  f"{floor_rate:,.0f}", f"{ours_rate / floor_rate:.2f}", "info", ""))
    resync = min(run.resync_seconds for run in synced)
    table.append(("PDF re-sync, unchanged (s)", f"{resync:.3f}", "-", "-", "near 0", ""))
    print(f"  baseline (bare pypdfium2 text + images loop) runs, s: {runs(baseline)}")
    print(f"  ours (archive.sync('pdf', folder)) runs, s:  {runs(ours)}")
    rows = sum(data.count(b"\n") for _, _, data in snaps[0])
    print(f"  COPY of the {rows} rows ours wrote (posts, chunks, ...) runs, s: {runs(copy)}")
    print(f"  ours wrote: {report.collections_written} books, {report.posts_written} posts, "
          f"{synced[0].chunks} page chunks, {report.media_stored} images stored "
          f"({report.media_reused} reused); re-sync runs, s: "
          + ", ".join(f"{run.resync_seconds:.3f}" for run in synced))
    if args.profile == "pdf":
        profile(lambda: pdf_bench.sync_into_fresh_database(server, plugins, corpus, workdir,
                                                           resync=False))


def bench_repo(args: argparse.Namespace, server: Server, workdir: Path,
               table: list[tuple[str, ...]]) -> None:
    dataset = repo_bench.make_dataset(args.posts)
    rows = repo_bench.copy_rows(dataset)
    size = sum(len(post.text) for post in dataset.posts)
    print(f"Synthetic posts: {len(dataset.posts)} posts ({size / len(dataset.posts):,.0f} chars "
          f"avg), {len(rows.chunks)} chunks, {len(dataset.creators)} creators, "
          f"{len(dataset.collections)} collections, checkpoint every "
          f"{repo_bench.CHECKPOINT_EVERY} posts")
    plugin = repo_bench.DatasetPlugin(repo_bench.make_dataset(200, seed=1))
    plugins: PluginManager = build_plugin_manager(load_entrypoints=False)
    plugins.register(plugin, "bench-memory")

    def measure(write: Callable[[str], float], check: list[tuple[object, ...]]) -> float:
        database = server.fresh_database()
        try:
            seconds = write(database)
            if not check:
                check.append(repo_bench.fingerprint(server, database))
            return seconds
        finally:
            server.drop(database)

    def ours_once(database: str) -> float:
        return repo_bench.sync_dataset(server, plugins, plugin.dataset, workdir, database)

    def copy_once(database: str) -> float:
        return repo_bench.copy_into(server, database, rows)

    # Warm-up, not measured: a small dataset through both paths.
    measure(ours_once, [()])
    measure(lambda db: repo_bench.copy_into(server, db, repo_bench.copy_rows(plugin.dataset)),
            [()])
    plugin.dataset = dataset
    ours_print: list[tuple[object, ...]] = []
    copy_print: list[tuple[object, ...]] = []
    ours, copy = Timing(), Timing()
    for _ in range(args.repeat):  # interleaved, so drift hits both alike
        ours.runs.append(measure(ours_once, ours_print))
        copy.runs.append(measure(copy_once, copy_print))
    if ours_print != copy_print:
        raise RuntimeError(f"ours and COPY wrote different rows:\n{ours_print}\n{copy_print}")
    count = len(rows.posts) + len(rows.chunks)
    ours_rate, copy_rate = count / ours.best, count / copy.best
    ratio = ours_rate / copy_rate
    table.append(("Repository (posts+chunks rows/s)", f"{ours_rate:,.0f}", f"{copy_rate:,.0f}",
                  f"{ratio:.2f}", f">= {REPO_TARGET}", "ok" if ratio >= REPO_TARGET else "BELOW"))
    print(f"  rows: {len(rows.posts)} posts + {len(rows.chunks)} chunks = {count}; "
          f"identical in both databases (counts and digests, search vectors included)")
    print(f"  COPY runs, s: {runs(copy)}")
    print(f"  ours (archive.sync with a source plugin) runs, s: {runs(ours)}")
    if args.profile == "repo":
        profile(lambda: measure(ours_once, [()]))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="alejandria-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    info = machine()
    print(f"Machine: {info['cpu']}; {info['cores']} cores; {info['memory']}; "
          f"Python {info['python']}; {info['os']}")
    table: list[tuple[str, ...]] = [("measure", "ours", "baseline", "ratio", "target", "")]
    try:
        with Server.start(workdir, args.database_url) as server:
            pg = server.describe()
            print(f"Postgres {pg['version']} ({pg['where']}; fsync={pg['fsync']}, "
                  f"synchronous_commit={pg['synchronous_commit']}, "
                  f"shared_buffers={pg['shared_buffers']})")
            print(f"Best of {args.repeat} runs each, after one warm-up run.\n")
            if args.only in (None, "pdf"):
                bench_pdf(args, server, workdir, table)
            if args.only in (None, "repo"):
                bench_repo(args, server, workdir, table)
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    print()
    print_rows(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
