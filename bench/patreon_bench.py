"""Patreon sync benchmark: ``archive.sync("patreon", ...)`` against a bare httpx loop.

Both contenders talk to the same local Patreon (``alejandria_source_patreon.testing``, a real
HTTP server on loopback, forked into a process of its own) holding ``--posts`` posts with
``--files`` files of ``--file-kb`` KB each, and fetch the same listing pages and the same files:

- ours: the whole sync into a fresh database: listing, JSON:API parsing, post building, the
  pipeline's writes and the media store (hash, fsync, atomic rename). Media processing,
  video downloads and embeddings are off: they have their own benchmarks.
- baseline: one ``httpx.Client``: follow ``links.next`` to the end, then GET every file URL the
  pages name and read its body into memory. Nothing parsed beyond ``json()``, nothing stored.
  This is the issue's baseline, and the target applies to it.
- urllib3 loop (loopback only): the same loop on one ``urllib3.PoolManager``, the client the
  source uses, which costs half the CPU per file of httpx, printed so the gain from the client
  is visible apart from the rest.
- durable urllib3 loop (loopback only; issue #23's baseline, target >= 0.8): the urllib3 loop
  storing every file the way a content-addressed archive must: streamed 1 MiB at a time into
  one buffer, SHA-256, written to a temp file, renamed to ``ab/cd/<sha256>``, and one
  ``syncfs`` at the end (the fastest durable form: ours syncs the store before each
  checkpoint's rows). The fastest honest loop doing the same work with the files.

Reported: posts/s and media MB/s of each, and ours/baseline (target >= 0.5; >= 0.8 against
the durable loop). Best of
``--repeat`` runs each, interleaved, after one unmeasured warm-up of both. Two scenarios:
loopback as it is (no latency: what each file costs us in CPU, disk and database), and with
``--latency-ms`` added to every file response (default 20 ms, a CDN's time to first byte),
where fetching the next files while storing one pays off.

    . .venv/bin/activate
    MYPYPATH=bench python bench/patreon_bench.py            # 300 posts x 3 files x 256 KB
    python bench/patreon_bench.py --quick                   # 60 posts
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import itertools
import multiprocessing
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import urllib3
from harness import (
    Server,
    machine,
    print_rows,
    race,
    rename_into,
    runs_line,
    stopwatch,
    syncfs,
)

from alejandria.api import Archive
from alejandria.builtins import build_plugin_manager
from alejandria.settings import Settings
from alejandria_source_patreon.testing import (
    EPOCH,
    FakeCampaign,
    FakeFile,
    FakePost,
    PatreonFixture,
)

TARGET = 0.5
#: ours against the durable urllib3 loop (issue #23)
DURABLE_TARGET = 0.8
MB = 1_000_000


@dataclass(frozen=True)
class Site:
    """Where a local Patreon answers (in a process of its own, see ``serve_in_child``)."""

    base_url: str
    session_id: str


@contextmanager
def serve_in_child(campaign: FakeCampaign, page_size: int,
                   media_delay_s: float) -> Iterator[Site]:
    """The local Patreon serving ``campaign`` in a forked process: a real Patreon is never in
    its client's process, and in the bench's process the server's threads took the GIL from
    ours (a sync's fetch threads, pipeline and writer) more than from a one-thread loop."""
    context = multiprocessing.get_context("fork")
    parent, child = context.Pipe()
    session_id = "bench-" + os.urandom(8).hex()

    def serve() -> None:
        with PatreonFixture(page_size=page_size, session_id=session_id) as site:
            site.media_delay_s = media_delay_s
            site.add_campaign(campaign)
            child.send(site.base_url)
            child.recv()  # until the bench is done

    process = context.Process(target=serve, daemon=True)
    process.start()
    try:
        if not parent.poll(30):
            raise RuntimeError("the local Patreon did not start")
        yield Site(base_url=parent.recv(), session_id=session_id)
    finally:
        parent.send("stop")
        process.join(timeout=10)
        if process.is_alive():
            process.kill()


@dataclass
class Corpus:
    posts: int
    files: int
    bytes: int


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="60 posts instead of 300")
    parser.add_argument("--posts", type=int, help="posts on the creator (default 300)")
    parser.add_argument("--files", type=int, default=3, help="files per post (default 3)")
    parser.add_argument("--file-kb", type=int, default=256, help="KB per file (default 256)")
    parser.add_argument("--page-size", type=int, default=20, help="posts per listing page")
    parser.add_argument("--repeat", type=int, default=3, help="measured runs of each")
    parser.add_argument("--latency-ms", type=float, default=20.0,
                        help="CDN latency of the second scenario (default 20)")
    parser.add_argument("--database-url", help="use this Postgres instead of an embedded one")
    args = parser.parse_args(argv)
    args.posts = args.posts or (60 if args.quick else 300)
    return args


def make_campaign(posts: int, files: int, file_kb: int) -> tuple[FakeCampaign, Corpus]:
    """One creator; each post has ``files`` images of random bytes (never equal)."""
    campaign = FakeCampaign(id="5001", vanity="bench", name="Bench Creator",
                            tiers={"t1": ("Tier", 500)})
    size = 0
    for number in range(posts):
        images = [FakeFile(f"img-{number}-{n}.jpg", os.urandom(file_kb * 1024), "image/jpeg")
                  for n in range(files)]
        size += sum(len(image.data) for image in images)
        campaign.posts.append(FakePost(
            str(100_000 + number), f"Post {number}", EPOCH + timedelta(hours=number),
            post_type="image_file", images=images, tags=["bench"],
            content=f"<p>Texto de la entrada {number}. " + "Palabras de relleno. " * 40 + "</p>"))
    return campaign, Corpus(posts=posts, files=posts * files, bytes=size)


def baseline(site: Site, corpus: Corpus) -> float:
    """Seconds for a bare httpx loop over the same pages and files."""
    headers = {"Cookie": f"session_id={site.session_id}"}
    with stopwatch() as elapsed, httpx.Client(headers=headers, timeout=60) as client:
        posts, urls = list_files(site, lambda url: client.get(url).json())
        received = sum(len(client.get(file_url).content) for file_url in urls)
    check_loop("httpx", corpus, posts, received)
    return elapsed()


def urllib3_loop(site: Site, corpus: Corpus) -> float:
    """Seconds for the same loop on urllib3 (the source's client)."""
    pool = urllib3.PoolManager(headers={"Cookie": f"session_id={site.session_id}"}, timeout=60)
    with stopwatch() as elapsed:
        posts, urls = list_files(site, lambda url: pool.request("GET", url).json())
        received = sum(len(pool.request("GET", file_url).data) for file_url in urls)
    pool.clear()
    check_loop("urllib3", corpus, posts, received)
    return elapsed()


def durable_loop(site: Site, corpus: Corpus, workdir: Path, runs: Iterator[int]) -> float:
    """Seconds for the urllib3 loop storing each file durably under its SHA-256, in a new
    folder of ``workdir`` each run."""
    root = workdir / f"durable-{next(runs)}"
    pool = urllib3.PoolManager(headers={"Cookie": f"session_id={site.session_id}"}, timeout=60)
    tmp = root / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    buffer = bytearray(1024 * 1024)
    view = memoryview(buffer)
    made: set[Path] = set()
    received = 0
    with stopwatch() as elapsed:
        posts, urls = list_files(site, lambda url: pool.request("GET", url).json())
        for number, file_url in enumerate(urls):
            digest = hashlib.sha256()
            temp = tmp / f"incoming-{number}"
            out = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            response = pool.request("GET", file_url, preload_content=False)
            try:
                while read := response.readinto(buffer):
                    chunk = view[:read]
                    digest.update(chunk)
                    received += read
                    while chunk:
                        chunk = chunk[os.write(out, chunk):]
            finally:
                os.close(out)
                response.release_conn()
            rename_into(root, temp, digest.hexdigest(), made)
        syncfs(root)
    pool.clear()
    check_loop("durable urllib3", corpus, posts, received)
    return elapsed()


def list_files(site: Site, get_json: Any) -> tuple[int, list[str]]:
    """Follow ``links.next`` to the end: the posts counted and every file URL named."""
    urls: list[str] = []
    url: str | None = (f"{site.base_url}/api/posts?filter[campaign_id]=5001"
                       "&include=images&sort=-published_at")
    posts = 0
    while url:
        page: dict[str, Any] = get_json(url)
        posts += len(page["data"])
        urls.extend(item["attributes"]["download_url"] for item in page["included"]
                    if item["type"] == "media")
        url = (page.get("links") or {}).get("next")
    return posts, urls


def check_loop(name: str, corpus: Corpus, posts: int, received: int) -> None:
    if posts != corpus.posts or received != corpus.bytes:
        raise RuntimeError(f"the {name} loop fetched {posts} posts and {received} bytes, "
                           f"expected {corpus.posts} and {corpus.bytes}")


def ours(site: Site, server: Server, workdir: Path, corpus: Corpus) -> float:
    """Seconds for ``archive.sync`` into a fresh database (opening it is not timed)."""
    database = server.fresh_database()
    data_dir = workdir / f"data-{database}"
    settings = Settings(data_dir=data_dir, database_url=server.url_for(database),
                        process_media=False, download_embeds=False)
    settings = settings.model_copy(update={"embed_after_sync": False})
    options = {"base_url": site.base_url, "requests_per_second": 0}
    try:
        with Archive.open(settings=settings, plugins=build_plugin_manager(),
                          migrate=False) as archive:
            with stopwatch() as elapsed:
                report = archive.sync("patreon", "5001", options=options,
                                      credentials={"session_id": site.session_id},
                                      remember=False)
            if not report.ok or report.posts_written != corpus.posts \
                    or report.media_stored != corpus.files:
                raise RuntimeError(f"the sync did not do the work: {report}")
            again = archive.sync("patreon", "5001", options=options,
                                 credentials={"session_id": site.session_id}, remember=False)
            if again.writes:
                raise RuntimeError(f"a second sync wrote: {again}")
        return elapsed()
    finally:
        # The stored files stay until the end: deleting them here made the next run slower.
        # ext4 skips recently deleted inodes when it allocates one (``recently_deleted`` took
        # 12% of the machine's CPU under perf), a cost no first sync on a real disk pays.
        server.drop(database)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    info = machine()
    print(f"Machine: {info['cpu']}; {info['cores']} cores; {info['memory']}; "
          f"Python {info['python']}; {info['os']}")
    campaign, corpus = make_campaign(args.posts, args.files, args.file_kb)
    print(f"Local Patreon: {corpus.posts} posts, {corpus.files} files, "
          f"{corpus.bytes / MB:.1f} MB, {args.page_size} posts a page; best of {args.repeat} "
          "runs each after a warm-up")
    workdir = Path(tempfile.mkdtemp(prefix="alejandria-patreon-bench-"))
    rows = [("scenario", "measure", "ours", "httpx loop", "ratio", "target", "urllib3 loop",
             "ratio", "durable loop", "ratio", "target")]
    durable_runs = itertools.count()
    try:
        with ExitStack() as stack:
            # the servers are forked first: the bench's process has no threads yet
            sites = {latency: stack.enter_context(serve_in_child(campaign, args.page_size,
                                                                 latency))
                     for latency in (0.0, args.latency_ms / 1000)}
            server = stack.enter_context(Server.start(workdir, args.database_url))
            for scenario, latency in (("loopback", 0.0), (f"+{args.latency_ms:g} ms/file",
                                                          args.latency_ms / 1000)):
                site = sites[latency]
                contenders: dict[str, Callable[[], float]] = {
                    "httpx": functools.partial(baseline, site, corpus)}
                if not latency:  # with latency every loop waits alike: only the target's
                    contenders["urllib3"] = functools.partial(urllib3_loop, site, corpus)
                    contenders["durable"] = functools.partial(
                        durable_loop, site, corpus, workdir, durable_runs)
                contenders["ours"] = functools.partial(ours, site, server, workdir, corpus)
                timings = race(contenders, args.repeat)
                print(runs_line(scenario, timings))
                mine = timings["ours"].best
                ratio = timings["httpx"].best / mine
                fastest = timings.get("urllib3")
                durable = timings.get("durable")
                for name, amount in (("posts/s", corpus.posts),
                                     ("media MB/s", corpus.bytes / MB)):
                    rows.append((scenario, name, f"{amount / mine:,.1f}",
                                 f"{amount / timings['httpx'].best:,.1f}", f"{ratio:.2f}",
                                 f">= {TARGET} {'ok' if ratio >= TARGET else 'BELOW'}",
                                 f"{amount / fastest.best:,.1f}" if fastest else "-",
                                 f"{fastest.best / mine:.2f}" if fastest else "-",
                                 f"{amount / durable.best:,.1f}" if durable else "-",
                                 f"{durable.best / mine:.2f}" if durable else "-",
                                 (f">= {DURABLE_TARGET} "
                                  f"{'ok' if durable.best / mine >= DURABLE_TARGET else 'BELOW'}")
                                 if durable else "-"))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print_rows(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
