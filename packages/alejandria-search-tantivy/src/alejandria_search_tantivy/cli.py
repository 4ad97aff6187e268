"""``alejandria bm25 status|catch-up|rebuild``."""

from __future__ import annotations

import json

import click

from alejandria.api import Archive
from alejandria_search_tantivy.service import catch_up, status


@click.group()
def bm25() -> None:
    """The BM25 full-text index (alejandria-search-tantivy)."""


@bm25.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
def bm25_status(as_json: bool) -> None:
    """Where the index is, whether it holds this database's state, what is pending."""
    with Archive.open() as archive:
        found = status(archive)
    if as_json:
        click.echo(json.dumps(found.__dict__))
        return
    state = "current" if found.current else "not built for this database"
    click.echo(f"{found.path}: {state}, {found.documents} chunks, "
               f"{found.pending} posts pending")


@bm25.command("catch-up")
def bm25_catch_up() -> None:
    """Index the posts changed since the last catch-up (searches do this too)."""
    _run(rebuild=False)


@bm25.command("rebuild")
def bm25_rebuild() -> None:
    """Throw the index away and build it again from the database."""
    _run(rebuild=True)


def _run(*, rebuild: bool) -> None:
    with Archive.open() as archive:
        report = catch_up(archive, rebuild=rebuild)
    if report.busy:
        raise click.ClickException("another process is writing the BM25 index; try again "
                                   "when it finishes (alejandria bm25 status)")
    built = " (built from scratch)" if report.rebuilt else ""
    click.echo(f"indexed {report.posts} posts, {report.chunks} chunks in "
               f"{report.seconds:.1f} s{built}")
