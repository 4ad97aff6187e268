"""``lists``, ``note``, ``status`` and ``highlights``: one user's personal data from a script.

The CLI is the installation, and ``--as USER`` picks whose data a command reads or changes; it
then acts as that user, so a readonly user's data is shown and not changed (the role table of
docs/accounts.md holds here too). Lists are named by their name.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from alejandria.cli.context import open_archive
from alejandria.cli.output import echo, fail, print_json, stdout_console

if TYPE_CHECKING:
    from alejandria.accounts.personal.service import Personal

F = TypeVar("F", bound=Callable[..., Any])


def _as_user(function: F) -> F:
    return click.option("--as", "username", required=True, metavar="USER",
                        help="Whose lists, notes, statuses and highlights.")(function)


def _json_option(function: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON.")(function)


class _Personal:
    """``with _Personal(ctx, "ana") as personal:`` opens the archive for one user."""

    def __init__(self, ctx: click.Context, username: str) -> None:
        self.archive = open_archive(ctx)
        self.username = username

    def __enter__(self) -> Personal:
        try:
            return self.archive.personal(self.username)
        except BaseException:
            self.archive.close()
            raise

    def __exit__(self, _type: object, exc: BaseException | None, _tb: object) -> None:
        self.archive.close()
        if isinstance(exc, ValueError):  # a colour, a quote, a label the service refused
            fail(str(exc))


# -- lists ------------------------------------------------------------------------------------

@click.group("lists")
def lists() -> None:
    """A user's lists of posts (private to them)."""


@lists.command("create")
@click.argument("name")
@click.option("--description", default=None)
@click.option("--color", default=None, help="#RRGGBB")
@_as_user
@_json_option
@click.pass_context
def lists_create(ctx: click.Context, name: str, description: str | None, color: str | None,
                 username: str, as_json: bool) -> None:
    """Create the list NAME."""
    with _Personal(ctx, username) as personal:
        made = personal.lists.create(name, description=description, color=color)
    if as_json:
        print_json(made.as_json())
    else:
        echo(f"created list {made.name!r} (id {made.id})", err=True)


@lists.command("list")
@_as_user
@_json_option
@click.pass_context
def lists_list(ctx: click.Context, username: str, as_json: bool) -> None:
    """The user's lists, in their order, with how many posts each holds."""
    with _Personal(ctx, username) as personal:
        found = personal.lists.list()
    if as_json:
        print_json([item.as_json() for item in found])
        return
    console = stdout_console()
    if not found:
        console.print("no lists")
    for item in found:
        console.print(f"{item.id:>4} {item.name:<30} {item.posts:>5} posts "
                      f"{item.color or '':<7} {item.description or ''}", markup=False)


@lists.command("show")
@click.argument("name")
@_as_user
@_json_option
@click.pass_context
def lists_show(ctx: click.Context, name: str, username: str, as_json: bool) -> None:
    """The posts of the list NAME, in its order."""
    with _Personal(ctx, username) as personal:
        found = personal.lists.posts_in(name)
    if as_json:
        print_json([item.as_json() for item in found])
        return
    console = stdout_console()
    for item in found:
        console.print(f"{item.post_id:>6} {item.title}", markup=False)


@lists.command("add")
@click.argument("name")
@click.argument("post_ids", type=int, nargs=-1, required=True)
@_as_user
@click.pass_context
def lists_add(ctx: click.Context, name: str, post_ids: tuple[int, ...], username: str) -> None:
    """Add posts (by id) to the list NAME."""
    with _Personal(ctx, username) as personal:
        for post_id in post_ids:
            personal.lists.add_post(name, post_id)
    echo(f"added {len(post_ids)} post(s) to {name!r}", err=True)


@lists.command("remove")
@click.argument("name")
@click.argument("post_id", type=int)
@_as_user
@click.pass_context
def lists_remove(ctx: click.Context, name: str, post_id: int, username: str) -> None:
    """Take a post out of the list NAME."""
    with _Personal(ctx, username) as personal:
        personal.lists.remove_post(name, post_id)
    echo(f"removed post {post_id} from {name!r}", err=True)


@lists.command("rename")
@click.argument("name")
@click.argument("new_name")
@_as_user
@click.pass_context
def lists_rename(ctx: click.Context, name: str, new_name: str, username: str) -> None:
    """Rename the list NAME."""
    with _Personal(ctx, username) as personal:
        personal.lists.rename(name, new_name)
    echo(f"renamed {name!r} to {new_name!r}", err=True)


@lists.command("delete")
@click.argument("name")
@_as_user
@click.pass_context
def lists_delete(ctx: click.Context, name: str, username: str) -> None:
    """Delete the list NAME (its posts stay in the archive)."""
    with _Personal(ctx, username) as personal:
        personal.lists.delete(name)
    echo(f"deleted list {name!r}", err=True)


# -- notes ------------------------------------------------------------------------------------

@click.group("note")
def note() -> None:
    """A user's private note on a post (Markdown)."""


@note.command("set")
@click.argument("post_id", type=int)
@click.option("--text", "markdown", default=None, help="The note (else read from stdin).")
@_as_user
@click.pass_context
def note_set(ctx: click.Context, post_id: int, markdown: str | None, username: str) -> None:
    """Write the note on POST_ID: Markdown from --text or stdin."""
    if markdown is None:
        if sys.stdin.isatty():
            fail("give the note with --text or on stdin")
        markdown = sys.stdin.read()
    with _Personal(ctx, username) as personal:
        personal.notes.set(post_id, markdown)
    echo(f"note on post {post_id} saved", err=True)


@note.command("show")
@click.argument("post_id", type=int)
@click.option("--html", is_flag=True, help="Print the rendered (sanitised) HTML.")
@_as_user
@_json_option
@click.pass_context
def note_show(ctx: click.Context, post_id: int, html: bool, username: str,
              as_json: bool) -> None:
    """Print the note on POST_ID (its Markdown)."""
    with _Personal(ctx, username) as personal:
        found = personal.notes.get(post_id)
    if as_json:
        print_json(found.as_json())
    else:
        click.echo(found.html if html else found.markdown)


@note.command("delete")
@click.argument("post_id", type=int)
@_as_user
@click.pass_context
def note_delete(ctx: click.Context, post_id: int, username: str) -> None:
    """Delete the note on POST_ID."""
    with _Personal(ctx, username) as personal:
        personal.notes.delete(post_id)
    echo(f"note on post {post_id} deleted", err=True)


# -- status -----------------------------------------------------------------------------------

@click.group("status")
def status() -> None:
    """A user's reading status of posts: unread, in_progress, completed, or their own labels."""


@status.command("set")
@click.argument("post_id", type=int)
@click.argument("value")
@_as_user
@click.pass_context
def status_set(ctx: click.Context, post_id: int, value: str, username: str) -> None:
    """Set the status of POST_ID (unread clears it)."""
    with _Personal(ctx, username) as personal:
        personal.status.set(post_id, value)
    echo(f"post {post_id} is {value}", err=True)


@status.command("show")
@click.argument("post_id", type=int)
@_as_user
@click.pass_context
def status_show(ctx: click.Context, post_id: int, username: str) -> None:
    """Print the status of POST_ID."""
    with _Personal(ctx, username) as personal:
        click.echo(personal.status.get(post_id))


@status.command("labels")
@_as_user
@_json_option
@click.pass_context
def status_labels(ctx: click.Context, username: str, as_json: bool) -> None:
    """Every status the user may set."""
    with _Personal(ctx, username) as personal:
        labels = personal.status.labels()
    if as_json:
        print_json(labels)
    else:
        click.echo("\n".join(labels))


@status.command("define")
@click.argument("label")
@_as_user
@click.pass_context
def status_define(ctx: click.Context, label: str, username: str) -> None:
    """Add a status label of the user's own."""
    with _Personal(ctx, username) as personal:
        personal.status.define(label)
    echo(f"status {label!r} defined", err=True)


# -- highlights -------------------------------------------------------------------------------

@click.group("highlights")
def highlights() -> None:
    """A user's highlights on post text, document pages and transcripts."""


@highlights.command("add")
@click.argument("post_id", type=int)
@click.option("--quote", required=True, help="The exact text to highlight.")
@click.option("--page", type=int, default=None, help="On this page of the post's document.")
@click.option("--color", default="#ffeb3b", show_default=True)
@click.option("--comment", default=None)
@_as_user
@_json_option
@click.pass_context
def highlights_add(ctx: click.Context, post_id: int, quote: str, page: int | None, color: str,
                   comment: str | None, username: str, as_json: bool) -> None:
    """Highlight QUOTE in POST_ID's text (its first occurrence)."""
    with _Personal(ctx, username) as personal:
        made = personal.highlights.add(post_id, quote, page=page, color=color,
                                       comment=comment)
    if as_json:
        print_json(made.as_json())
    else:
        echo(f"highlight {made.id} at {made.start}-{made.end} of post {post_id}", err=True)


@highlights.command("list")
@click.argument("post_id", type=int, required=False)
@click.option("--orphaned", is_flag=True, help="Only those whose text is gone upstream.")
@_as_user
@_json_option
@click.pass_context
def highlights_list(ctx: click.Context, post_id: int | None, orphaned: bool, username: str,
                    as_json: bool) -> None:
    """The user's highlights (of POST_ID)."""
    with _Personal(ctx, username) as personal:
        found = personal.highlights.list(post_id, orphaned=True if orphaned else None)
    if as_json:
        print_json([item.as_json() for item in found])
        return
    console = stdout_console()
    if not found:
        console.print("no highlights")
    for item in found:
        where = f"p.{item.page}" if item.page is not None else item.target
        state = " (orphaned)" if item.orphaned else ""
        console.print(f"{item.id:>5} post {item.post_id:<6} {where:<10} {item.exact!r}{state}"
                      f" {item.comment or ''}", markup=False)


@highlights.command("delete")
@click.argument("highlight_id", type=int)
@_as_user
@click.pass_context
def highlights_delete(ctx: click.Context, highlight_id: int, username: str) -> None:
    """Delete the highlight HIGHLIGHT_ID."""
    with _Personal(ctx, username) as personal:
        personal.highlights.delete(highlight_id)
    echo(f"deleted highlight {highlight_id}", err=True)


# -- everything of mine -----------------------------------------------------------------------

@click.group("me")
def me() -> None:
    """A user's own data as a whole."""


@me.command("export")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the JSON here (readable by its owner only) instead of printing it.")
@_as_user
@click.pass_context
def me_export(ctx: click.Context, output: Path | None, username: str) -> None:
    """The user's lists, statuses, notes and highlights as one JSON document, each post named
    by its source and the site's id so another archive finds it again."""
    with _Personal(ctx, username) as personal:
        document = personal.export()
    if output is None:
        print_json(document)
        return
    text = json.dumps(document, ensure_ascii=False, indent=2)
    partial = output.with_name(f".{output.name}.partial")
    try:
        partial.unlink(missing_ok=True)  # a left-over one may have other permissions
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text + "\n")
        os.replace(partial, output)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        fail(f"cannot write {output}: {exc.strerror or exc} (choose a folder you can write "
             "to)")
    echo(f"wrote {output}: {_count(document['lists'], 'list')}, "
         f"{_count(document['posts'], 'post')} with a status or note, "
         f"{_count(document['highlights'], 'highlight')}", err=True)


def _count(items: list[Any], noun: str) -> str:
    return f"{len(items)} {noun}{'' if len(items) == 1 else 's'}"


COMMANDS = [lists, note, status, highlights, me]
