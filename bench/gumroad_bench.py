"""Gumroad sync benchmark: ``archive.sync("gumroad")`` against a bare httpx download loop.

Both contenders talk to the same local Gumroad (``alejandria_source_gumroad.testing``: real
HTTP servers on loopback in this process: the site, and the signed-URL file host the file links
redirect to) holding ``--purchases`` purchases of ``--files`` files of ``--file-kb`` KB each:

- ours: the whole library sync into a fresh database: the library page, each purchase's
  download page and product page, the mapping, the pipeline's writes and the media store
  (hash, fsync, atomic rename). Media processing and embeddings are off (benchmarked apart).
- baseline (the issue's): one ``httpx.Client`` with the session cookie: GET the library, each
  download page (its props cut out of the page with ``str.find`` and ``json.loads``, nothing
  else parsed), then every file link, following the redirect to the file host, the body read
  into memory. Nothing stored, no product pages.
- urllib3 loop: the same loop on one ``urllib3.PoolManager`` (the client the source uses),
  the fastest honest loop, printed so the client's share is visible apart from the rest.

Reported: purchases/s and media MB/s of each, and ours/baseline (target >= 0.5). Best of
``--repeat`` runs each, interleaved, after a warm-up of each. Two scenarios: loopback as it
is, and with ``--latency-ms`` before every file (a CDN's time to first byte), where fetching
the next files while storing one pays off.

    . .venv/bin/activate
    MYPYPATH=bench python bench/gumroad_bench.py          # 100 purchases x 3 files x 256 KB
    python bench/gumroad_bench.py --quick                 # 30 purchases
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import urllib3
from harness import Server, machine, print_rows, race, runs_line, stopwatch

from alejandria.api import Archive
from alejandria.builtins import build_plugin_manager
from alejandria.settings import Settings
from alejandria_source_gumroad.testing import (
    FakeFile,
    FakeProduct,
    FakePurchase,
    FakeSeller,
    GumroadFixture,
)

TARGET = 0.5
MB = 1_000_000
PROPS = 'data-component-name="'


@dataclass
class Corpus:
    purchases: int
    files: int
    bytes: int


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="30 purchases instead of 100")
    parser.add_argument("--purchases", type=int, help="purchases in the library (default 100)")
    parser.add_argument("--files", type=int, default=3, help="files per product (default 3)")
    parser.add_argument("--file-kb", type=int, default=256, help="KB per file (default 256)")
    parser.add_argument("--repeat", type=int, default=3, help="measured runs of each")
    parser.add_argument("--latency-ms", type=float, default=20.0,
                        help="file host latency of the second scenario (default 20)")
    parser.add_argument("--database-url", help="use this Postgres instead of an embedded one")
    args = parser.parse_args(argv)
    args.purchases = args.purchases or (30 if args.quick else 100)
    return args


def make_library(purchases: int, files: int, file_kb: int) -> tuple[list[FakePurchase], Corpus]:
    """Five sellers; each product has ``files`` files of random bytes (never equal)."""
    sellers = [FakeSeller(f"sel_{n}", f"seller{n}", f"Seller {n}") for n in range(5)]
    library: list[FakePurchase] = []
    size = 0
    for number in range(purchases):
        items = [FakeFile(f"ZmlsZS{number}x{n}", f"File {number}-{n}", "BIN",
                          os.urandom(file_kb * 1024)) for n in range(files)]
        size += sum(len(item.data) for item in items)
        product = FakeProduct(f"prd_{number}", f"p{number}", f"Product {number}",
                              sellers[number % len(sellers)],
                              description_html=f"<p>Product {number}. " + "Words. " * 40
                                               + "</p>", files=items)
        library.append(FakePurchase(f"pur_{number}", product))
    return library, Corpus(purchases=purchases, files=purchases * files, bytes=size)


def props_of(page: str) -> dict[str, Any]:
    """The JSON props of a React-on-Rails page, cut out without an HTML parser."""
    start = page.index(">", page.index(PROPS)) + 1
    value: dict[str, Any] = json.loads(page[start:page.index("</script>", start)])
    return value


def loop(site: GumroadFixture, corpus: Corpus, get_text: Callable[[str], str],
         get_bytes: Callable[[str], bytes], name: str) -> None:
    """The bare loop over the library, its download pages and their files."""
    library = props_of(get_text(f"{site.base_url}/library"))
    received = purchases = 0
    for card in library["results"]:
        page = props_of(get_text(card["purchase"]["download_url"]))
        purchases += 1
        for item in page["content"]["content_items"]:
            received += len(get_bytes(site.base_url + item["download_url"]))
    if purchases != corpus.purchases or received != corpus.bytes:
        raise RuntimeError(f"the {name} loop fetched {purchases} purchases and {received} "
                           f"bytes, expected {corpus.purchases} and {corpus.bytes}")


def httpx_loop(site: GumroadFixture, corpus: Corpus) -> float:
    """Seconds for the bare httpx loop (the cookie on the site only, as a browser would)."""
    with stopwatch() as elapsed, httpx.Client(timeout=60, follow_redirects=True) as client:
        client.cookies.set("_gumroad_app_session", site.app_session)
        loop(site, corpus, lambda url: client.get(url).text,
             lambda url: client.get(url).content, "httpx")
    return elapsed()


def urllib3_loop(site: GumroadFixture, corpus: Corpus) -> float:
    """Seconds for the same loop on urllib3 (the source's client); the cookie header goes
    on every request (urllib3 has no cookie jar): the fixture's file host ignores it."""
    pool = urllib3.PoolManager(headers={"Cookie": site.cookie}, timeout=60)
    with stopwatch() as elapsed:
        loop(site, corpus, lambda url: pool.request("GET", url).data.decode(),
             lambda url: pool.request("GET", url).data, "urllib3")
    pool.clear()
    return elapsed()


def ours(site: GumroadFixture, server: Server, workdir: Path, corpus: Corpus) -> float:
    """Seconds for ``archive.sync("gumroad")`` into a fresh database (opening not timed)."""
    database = server.fresh_database()
    settings = Settings(data_dir=workdir / f"data-{database}",
                        database_url=server.url_for(database), process_media=False,
                        download_embeds=False, allow_private_hosts=site.other_hosts)
    settings = settings.model_copy(update={"embed_after_sync": False})
    options = {"base_url": site.base_url, "requests_per_second": 0}
    credentials = {"app_session": site.app_session}
    try:
        with Archive.open(settings=settings, plugins=build_plugin_manager(),
                          migrate=False) as archive:
            with stopwatch() as elapsed:
                report = archive.sync("gumroad", options=options, credentials=credentials,
                                      remember=False)
            if not report.ok or report.media_stored != corpus.files \
                    or report.posts_written != corpus.purchases:
                raise RuntimeError(f"the sync did not do the work: {report}")
        return elapsed()
    finally:
        server.drop(database)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    info = machine()
    print(f"Machine: {info['cpu']}; {info['cores']} cores; {info['memory']}; "
          f"Python {info['python']}; {info['os']}")
    library, corpus = make_library(args.purchases, args.files, args.file_kb)
    print(f"Local Gumroad: {corpus.purchases} purchases, {corpus.files} files, "
          f"{corpus.bytes / MB:.1f} MB; best of {args.repeat} runs each after a warm-up")
    workdir = Path(tempfile.mkdtemp(prefix="alejandria-gumroad-bench-"))
    rows = [("scenario", "measure", "ours", "httpx loop", "ratio", "target", "urllib3 loop",
             "ratio")]
    try:
        with Server.start(workdir, args.database_url) as server, \
                GumroadFixture(format="react") as site:
            site.add(*library)
            for scenario, latency in (("loopback", 0.0), (f"+{args.latency_ms:g} ms/file",
                                                          args.latency_ms / 1000)):
                site.file_delay_s = latency
                contenders: dict[str, Callable[[], float]] = {
                    "httpx": lambda: httpx_loop(site, corpus)}
                if not latency:  # with latency every loop waits alike: only the target's
                    contenders["urllib3"] = lambda: urllib3_loop(site, corpus)
                contenders["ours"] = lambda: ours(site, server, workdir, corpus)
                timings = race(contenders, args.repeat)
                print(runs_line(scenario, timings))
                mine = timings["ours"].best
                ratio = timings["httpx"].best / mine
                fastest = timings.get("urllib3")
                for measure, amount in (("purchases/s", corpus.purchases),
                                        ("media MB/s", corpus.bytes / MB)):
                    rows.append((scenario, measure, f"{amount / mine:,.1f}",
                                 f"{amount / timings['httpx'].best:,.1f}", f"{ratio:.2f}",
                                 f">= {TARGET} {'ok' if ratio >= TARGET else 'BELOW'}",
                                 f"{amount / fastest.best:,.1f}" if fastest else "-",
                                 f"{fastest.best / mine:.2f}" if fastest else "-"))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print_rows(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
