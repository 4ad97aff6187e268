"""Personal-filter search overhead: full-text search with a user's list, status, note and
highlight filters against the same search without them (issue #17).

    python bench/personal_filters.py                 # 100,000 posts, 200 keyword queries
    python bench/personal_filters.py --posts 5000    # a quick look (about 1.5 minutes)
    python bench/personal_filters.py --explain       # then EXPLAIN ANALYZE at each filter's p95

The data. The corpus and the keyword queries are ``search_latency.py``'s, built by its own
functions with its seed (``make_corpus``, ``make_queries``): the same posts and the same 1-3
word queries of middling frequency, which match from one to thousands of chunks. Only the rows
full-text search reads are loaded (by COPY, GIN indexes rebuilt, VACUUM ANALYZE); the vectors
and their HNSW indexes are skipped, since no personal filter touches them.

One user (role ``user``, made with ``archive.accounts.create``) then gets personal data through
``archive.personal(user)``, the real API, on posts drawn uniformly at random (a fixed seed):

- three lists of ``LIST_SIZES`` posts (200, 800 and 2,000 at 100k posts);
- ``STATUSES`` reading statuses (5,000 at 100k: 3,000 ``completed``, 2,000 ``in_progress``);
- ``NOTES`` Markdown notes (300) and ``HIGHLIGHTS`` text highlights (500, on 400 posts);

scaled down with ``--posts`` below 100,000 (in proportion, at least a few of each).

What is compared. Every contender is one ``Archive.search(q, mode="fulltext", limit=20,
actor=user)`` per keyword query; only the filter differs:

- *none*: no filter: the backend's unfiltered statement, which joins no post until the page
  of 20 is known. Every ratio is to this row's p50 and p95.
- *source* (not personal): ``source=`` the corpus's one source. It keeps every post, so the
  row shows what taking the filtered statement costs by itself (it joins ``posts`` and
  ``creators`` to every matching chunk and checks ``FILTERS``); the personal rows add their
  sub-select to that.
- ``in_list`` (the 2,000-post list, and the 200-post one), ``status="completed"``,
  ``has_note=True``, ``highlighted=True``, and ``status="unread"`` (the negative case: a post
  with no row is unread, so it keeps ~95% of the matches and has to look up every one).

*Bare* runs the very statement the backend sends (``backend.sql[(match, filtered)]``,
compiled to psycopg's parameter style, with the same parameters) on one psycopg connection kept
open, fetching the rows: the SQL's own cost without our Python (dispatch, the query model,
snippet offsets, the hit models). It is run for *none* and for every filter, so "bare ratio"
says how much of a filter's overhead is the statement itself.

Why the comparison is honest. All contenders run in one process on the same query strings,
after one unmeasured pass of each over every query (which also checks that each filtered hit
does satisfy its filter), then take turns per query, the order rotating (``measure`` of
``search_latency``), so the load of other work on the shared cores hits all alike. The search
cache is off.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
from harness import Server, machine, print_rows, stopwatch
from search_latency import (
    EMBEDDER,
    LIMIT,
    MEDIA_PER_POST,
    Corpus,
    FixedEmbedderPlugin,
    Mixture,
    Queries,
    Series,
    Vocabulary,
    copy_text_rows,
    make_corpus,
    make_queries,
    matches,
    measure,
    ms,
)
from sqlalchemy import text

from alejandria import Archive
from alejandria.builtins import build_plugin_manager
from alejandria.models import Actor, SearchQuery
from alejandria.search.common import HEADLINE_OPTIONS, SqlSearchBackend
from alejandria.settings import Settings

FULL_POSTS = 100_000
#: Personal data at 100,000 posts (scaled in proportion below that).
LIST_SIZES = (200, 800, 2_000)
COMPLETED = 3_000
IN_PROGRESS = 2_000
NOTES = 300
HIGHLIGHTS = 500
HIGHLIGHTED_POSTS = 400
USER = "reader"
SEED_OFFSET = 17  # the personal data's random stream: the corpus's seed plus this


def scaled(count: int, posts: int, least: int = 5) -> int:
    return max(least, round(count * min(1.0, posts / FULL_POSTS)))


# -- loading (full-text rows only) ---------------------------------------------------------


def load_text(server: Server, database: str, corpus: Corpus) -> dict[str, float]:
    """``search_latency.load`` less the vectors: its rows and GIN indexes
    (``copy_text_rows``), then VACUUM ANALYZE. Seconds of each step."""
    seconds: dict[str, float] = {}
    with psycopg.connect(server.libpq_url(database), autocommit=True) as conn:
        copy_text_rows(conn, corpus, seconds)
        with stopwatch() as elapsed:
            conn.execute("VACUUM ANALYZE")
        seconds["VACUUM ANALYZE"] = elapsed()
    return seconds


# -- the user's personal data --------------------------------------------------------------


def personal_data(archive: Archive, actor: Actor, corpus: Corpus, posts: int,
                  rng: np.random.Generator) -> dict[str, Any]:
    """Lists, statuses, notes and highlights through ``archive.personal``; what was made."""
    mine = archive.personal(actor)
    ids = [int(row[0]) for row in corpus.posts]
    bodies = {int(row[0]): str(row[5]) for row in corpus.posts}

    def draw(count: int) -> list[int]:
        return [ids[int(i)] for i in rng.choice(len(ids), size=min(count, len(ids)),
                                                replace=False)]

    made: dict[str, Any] = {"lists": {}}
    for n, size in enumerate(LIST_SIZES):
        name = f"list-{n + 1}"
        mine.lists.create(name)
        members = draw(scaled(size, posts))
        for post_id in members:
            mine.lists.add_post(name, post_id)
        made["lists"][name] = set(members)
    statuses = draw(scaled(COMPLETED, posts) + scaled(IN_PROGRESS, posts))
    completed = statuses[:scaled(COMPLETED, posts)]
    for post_id in completed:
        mine.status.set(post_id, "completed")
    for post_id in statuses[len(completed):]:
        mine.status.set(post_id, "in_progress")
    made["completed"] = set(completed)
    made["with status"] = set(statuses)
    noted = draw(scaled(NOTES, posts))
    for post_id in noted:
        mine.notes.set(post_id, f"Nota sobre el post {post_id}: **releer** la parte "
                                f"central y comparar con el [original](https://example.org).")
    made["noted"] = set(noted)
    highlighted = draw(scaled(HIGHLIGHTED_POSTS, posts))
    count = scaled(HIGHLIGHTS, posts)
    for n in range(count):
        post_id = highlighted[n % len(highlighted)]
        words = bodies[post_id].split("\n\n")[0].split(" ")
        start = 2 + 6 * (n // len(highlighted))
        quote = " ".join(words[start:start + 5])
        mine.highlights.add(post_id, quote)
    made["highlighted"] = set(highlighted)
    made["highlights"] = count
    return made


# -- contenders ------------------------------------------------------------------------------


#: name -> the filter's keyword arguments to ``Archive.search``.
def filters(list_names: list[str]) -> dict[str, dict[str, Any]]:
    small, large = list_names[0], list_names[-1]
    return {
        "none": {},
        "source (not personal)": {"source": "bench-search"},
        f"in_list={large}": {"in_list": large},
        f"in_list={small}": {"in_list": small},
        "status=completed": {"status": "completed"},
        "has_note=True": {"has_note": True},
        "highlighted=True": {"highlighted": True},
        "status=unread": {"status": "unread"},
    }


class Bare:
    """The backend's own statement on one open psycopg connection."""

    def __init__(self, archive: Archive, url: str) -> None:
        backend = archive.plugins.search_backends()["fulltext"].factory(archive.search_context())
        assert isinstance(backend, SqlSearchBackend)
        self.languages = backend.languages
        self.statements = {key: str(clause.compile(dialect=archive.engine.dialect))
                           for key, clause in backend.sql.items()}
        self.conn = psycopg.connect(url, autocommit=True)

    def run(self, query: SearchQuery) -> int:
        params: dict[str, Any] = {
            **{f"lang{i}": language for i, language in enumerate(self.languages)},
            "query": query.text, **query.filter_params(), "limit": query.limit,
            "offset": query.offset, "headline_options": HEADLINE_OPTIONS,
        }
        sql = self.statements[(query.match, query.filtered)]
        return len(self.conn.execute(sql, params).fetchall())

    def close(self) -> None:
        self.conn.close()


def check(name: str, hits: set[int], made: dict[str, Any], kwargs: dict[str, Any]) -> None:
    """Each hit of a filtered search satisfies its filter (else the bench measured nothing)."""
    wanted: set[int] | None = None
    if "in_list" in kwargs:
        wanted = made["lists"][kwargs["in_list"]]
    elif kwargs.get("status") == "completed":
        wanted = made["completed"]
    elif kwargs.get("has_note"):
        wanted = made["noted"]
    elif kwargs.get("highlighted"):
        wanted = made["highlighted"]
    if wanted is not None and not hits <= wanted:
        raise RuntimeError(f"{name}: hits outside the filter: {sorted(hits - wanted)[:5]}")
    if kwargs.get("status") == "unread" and hits & made["with status"]:
        raise RuntimeError(f"{name}: hits with a status: {sorted(hits & made['with status'])}")


# -- the run ----------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--posts", type=int, default=FULL_POSTS, help="synthetic posts")
    parser.add_argument("--queries", type=int, default=200, help="keyword queries")
    parser.add_argument("--seed", type=int, default=20240601, help="search_latency's seed")
    parser.add_argument("--no-bare", action="store_true", help="skip the bare statements")
    parser.add_argument("--explain", action="store_true",
                        help="print EXPLAIN ANALYZE of each filter's statement at its p95 query")
    parser.add_argument("--database-url", help="use this Postgres (a database we may CREATE "
                        "DATABASE from) instead of an embedded pgserver")
    parser.add_argument("--workdir", type=Path, help="keep working files here (default: a "
                        "temp dir, removed at the end)")
    return parser.parse_args(argv)


def say(message: str) -> None:
    print(message, flush=True)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="alejandria-personal-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    info = machine()
    say(f"Machine: {info['cpu']}; {info['cores']} cores; {info['memory']}; "
        f"Python {info['python']}; {info['os']}")
    rng = np.random.default_rng(args.seed)
    try:
        with Server.start(workdir, args.database_url) as server:
            pg = server.describe()
            say(f"Postgres {pg['version']} ({pg['where']}; fsync={pg['fsync']}, "
                f"shared_buffers={pg['shared_buffers']})")
            with stopwatch() as elapsed:
                vocabulary = Vocabulary.make(rng)
                mixture = Mixture(rng)
                media = max(1, round(args.posts * MEDIA_PER_POST))
                corpus = make_corpus(args.posts, media, vocabulary, mixture, rng)
                queries = make_queries(corpus, vocabulary, mixture, args.queries, rng)
            say(f"Data: {corpus.describe()} (generated in {elapsed():.1f} s; vectors unused)")
            database = server.fresh_database()
            for step, seconds in load_text(server, database, corpus).items():
                say(f"  {step}: {seconds:.1f} s")
            run(args, server, database, workdir, corpus, queries.keywords, queries)
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


def run(args: argparse.Namespace, server: Server, database: str, workdir: Path,
        corpus: Corpus, keywords: list[str], queries: Queries) -> None:
    settings = Settings(data_dir=workdir / "archive", database_url=server.url_for(database),
                        load_plugins=False, embedder=EMBEDDER, cache_url=None, broker_url=None,
                        embed_after_sync=False)
    plugins = build_plugin_manager(load_entrypoints=False)
    plugins.register(FixedEmbedderPlugin(queries), "bench-fixed-embedder")
    with Archive.open(settings=settings, plugins=plugins, migrate=False) as archive:
        user = archive.accounts.create(USER, "a long bench passphrase 2024", role="user")
        actor = user.actor
        with stopwatch() as elapsed:
            made = personal_data(archive, actor, corpus, args.posts,
                                 np.random.default_rng(args.seed + SEED_OFFSET))
        with psycopg.connect(server.libpq_url(database), autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE")
        lists = ", ".join(f"{name} {len(members):,} posts"
                          for name, members in made["lists"].items())
        say(f"Personal data of one user (through archive.personal, {elapsed():.0f} s): lists "
            f"{lists}; {len(made['with status']):,} statuses ({len(made['completed']):,} "
            f"completed, the rest in_progress); {len(made['noted']):,} notes; "
            f"{made['highlights']:,} highlights on {len(made['highlighted']):,} posts")
        hits = matches(archive.engine, archive.settings.search_languages, "chunks", keywords)
        say(f"Queries: {len(keywords)} keyword queries (search_latency's); chunks matched per "
            f"query: median {np.median(hits):,.0f}, p95 {np.percentile(hits, 95):,.0f}, "
            f"max {max(hits):,}")

        cases = filters(list(made["lists"]))
        for name, kwargs in cases.items():  # every filtered hit satisfies its filter
            for keyword in keywords:
                found = archive.search(keyword, mode="fulltext", limit=LIMIT, actor=actor,
                                       **kwargs)
                check(name, {hit.post_id for hit in found}, made, kwargs)

        contenders: dict[str, Callable[[int], int]] = {}
        requests: dict[str, list[SearchQuery]] = {}
        bare = None if args.no_bare else Bare(archive, server.libpq_url(database))

        def ours(kwargs: dict[str, Any]) -> Callable[[int], int]:
            return lambda i: len(archive.search(keywords[i], mode="fulltext", limit=LIMIT,
                                                actor=actor, **kwargs))

        def bare_of(name: str) -> Callable[[int], int]:
            assert bare is not None
            return lambda i: bare.run(requests[name][i])

        for name, kwargs in cases.items():
            contenders[name] = ours(kwargs)
            requests[name] = [SearchQuery(text=k, mode="fulltext", limit=LIMIT, actor=actor,
                                          **kwargs) for k in keywords]
            if bare is not None:
                contenders[f"bare {name}"] = bare_of(name)
        with stopwatch() as elapsed:
            series = measure(len(keywords), contenders)
        say(f"  measured {len(contenders)} contenders x {len(keywords)} queries in "
            f"{elapsed():.0f} s")
        if bare is not None:
            bare.close()
        report(series, cases, bare is not None)
        if args.explain:
            for name in cases:
                if name == "none":
                    continue
                seconds = series.seconds[name]
                index = int(np.argsort(seconds)[min(len(seconds) - 1,
                                                    int(0.95 * len(seconds)))])
                say("\n".join(explain(archive, requests[name][index], name)))


def report(series: Series, cases: dict[str, dict[str, Any]], with_bare: bool) -> None:
    base = series.seconds["none"]
    rows: list[tuple[str, ...]] = [("filter", "p50 ms", "p95 ms", "x none p50", "x none p95",
                                    "bare p50", "bare p95", "bare x none p95", "answered")]
    for name in cases:
        ours = series.seconds[name]
        row = [name, f"{ms(ours, 50):.1f}", f"{ms(ours, 95):.1f}",
               f"{ms(ours, 50) / ms(base, 50):.2f}", f"{ms(ours, 95) / ms(base, 95):.2f}"]
        if with_bare:
            bare, bare_base = series.seconds[f"bare {name}"], series.seconds["bare none"]
            row += [f"{ms(bare, 50):.1f}", f"{ms(bare, 95):.1f}",
                    f"{ms(bare, 95) / ms(bare_base, 95):.2f}"]
        else:
            row += ["-", "-", "-"]
        row.append(f"{series.answered[name]}/{len(ours)}")
        rows.append(tuple(row))
    say(f"\nFull-text search latency per query, limit {LIMIT}, one user's filters (x none = "
        f"ratio to the same search without a filter; bare = the backend's statement on a "
        f"psycopg connection; answered = queries with at least one hit):")
    print_rows(rows)


def explain(archive: Archive, request: SearchQuery, name: str) -> list[str]:
    backend = archive.plugins.search_backends()["fulltext"].factory(archive.search_context())
    assert isinstance(backend, SqlSearchBackend)
    params: dict[str, Any] = {
        **{f"lang{i}": language for i, language in enumerate(backend.languages)},
        "query": request.text, **request.filter_params(), "limit": request.limit,
        "offset": request.offset, "headline_options": HEADLINE_OPTIONS,
    }
    sql = backend.sql[(request.match, request.filtered)]
    with archive.engine.connect() as conn:
        plan = conn.execute(text("EXPLAIN (ANALYZE, BUFFERS) " + sql.text), params).all()
    return [f"--- {name}: {request.text!r} (its p95 query) ---",
            *(str(row[0]) for row in plan)]


if __name__ == "__main__":
    sys.exit(main())
