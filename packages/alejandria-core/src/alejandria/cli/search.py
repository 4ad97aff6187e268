"""``alejandria search``: full-text, semantic, transcript and hybrid search."""

from __future__ import annotations

from datetime import UTC, datetime

import click
from rich.markup import escape

from alejandria.cli.context import open_archive
from alejandria.cli.output import fail, highlighted, print_json, stdout_console
from alejandria.models import MediaKind


def _aware(value: datetime | None) -> datetime | None:
    """A date typed on the command line, in this machine's time zone (UTC at the ends of
    the calendar, 0001-01-01 or 9999-12-31, where shifting by the local offset overflows)."""
    if value is None:
        return None
    try:
        return value.astimezone()
    except (OverflowError, ValueError, OSError):
        return value.replace(tzinfo=UTC)


@click.command()
@click.argument("query")
@click.option("--mode", default="auto", show_default=True,
              help="auto (full-text for one or two words, else hybrid), fulltext, semantic, "
                   "transcripts, hybrid, or any installed search backend.")
@click.option("--source", default=None, help="Only posts from this source.")
@click.option("--creator", default=None, help="Only posts by this creator (name or id).")
@click.option("--collection", default=None, help="Only posts in this collection (title or id).")
@click.option("--after", "published_after", type=click.DateTime(), default=None,
              help="Only posts published on or after this date (YYYY-MM-DD).")
@click.option("--before", "published_before", type=click.DateTime(), default=None,
              help="Only posts published before this date (YYYY-MM-DD).")
@click.option("--media", "media_kind", default=None,
              type=click.Choice([kind.value for kind in MediaKind]),
              help="Only posts holding a media file of this kind.")
@click.option("--as", "username", default=None, metavar="USER",
              help="Search as this user (needed by --list, --status, --note, --highlighted).")
@click.option("--list", "in_list", default=None, help="Only posts in this list of the user's.")
@click.option("--status", default=None,
              help="Only posts with this reading status (unread, in_progress, completed, ...).")
@click.option("--note/--no-note", "has_note", default=None,
              help="Only posts with (or without) the user's note.")
@click.option("--highlighted/--not-highlighted", "with_highlights", default=None,
              help="Only posts with (or without) the user's highlights.")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 500))
@click.option("--offset", default=0, show_default=True, type=click.IntRange(0))
@click.option("--json", "as_json", is_flag=True, help="Print hits as a JSON array.")
@click.pass_context
def search(ctx: click.Context, query: str, mode: str, source: str | None, creator: str | None,
           collection: str | None, published_after: datetime | None,
           published_before: datetime | None, media_kind: str | None, username: str | None,
           in_list: str | None, status: str | None, has_note: bool | None,
           with_highlights: bool | None, limit: int, offset: int, as_json: bool) -> None:
    """Search the archive. Any text is a valid QUERY ("quoted phrases", -exclusions, or)."""
    personal = (in_list, status, has_note, with_highlights)
    if username is None and any(value is not None for value in personal):
        fail("--list, --status, --note and --highlighted are a user's own: add --as USER")
    with open_archive(ctx) as archive:
        actor = None if username is None else archive.accounts.get(username).actor
        hits = archive.search(query, mode=mode, source=source, creator=creator,
                              collection=collection, published_after=_aware(published_after),
                              published_before=_aware(published_before),
                              media_kind=media_kind, limit=limit, offset=offset, actor=actor,
                              in_list=in_list, status=status, has_note=has_note,
                              highlighted=with_highlights)
    if as_json:
        print_json([hit.model_dump(mode="json") for hit in hits])
        return
    console = stdout_console()
    if not hits:
        from alejandria.search.service import has_words

        console.print("no matches" if has_words(query) else
                      "no matches: the query has no words to search for (letters or digits)")
        return
    for rank, hit in enumerate(hits, 1):
        where = f" · page {hit.page}" if hit.page is not None else ""
        if hit.start_s is not None:
            minutes, seconds = divmod(int(hit.start_s), 60)
            where += f" · media {hit.media_id} at {minutes}:{seconds:02d}"
        book = f" · {escape(hit.collection)}" if hit.collection else ""
        console.print(f"[bold]{rank}. {escape(hit.title)}[/]  [dim]{escape(hit.creator)}{book}"
                      f"{where} · {hit.source} #{hit.post_id}[/]")
        console.print(f"   {highlighted(hit.snippet, hit.highlights)}")


COMMANDS = [search]
