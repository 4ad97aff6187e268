"""``users``, ``tokens`` and ``audit``: accounts from the command line.

The CLI runs as the installation's own admin (whoever holds the data dir and database), so
these commands act with no acting user; the role rules apply to the service calls made for a
signed-in user (the web app, ``Actor``). Passwords and tokens are never taken as arguments
(they would land in the shell history): a password comes from stdin or a hidden prompt.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import click

from alejandria.cli.context import CLI_CLIENT, open_archive
from alejandria.cli.output import echo, fail, print_json, stdout_console

F = TypeVar("F", bound=Callable[..., Any])

_DURATION = re.compile(r"^\s*(\d+)\s*([mhdw])\s*$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_duration(value: str) -> timedelta:
    """``90d``, ``12h``, ``30m``, ``2w``."""
    match = _DURATION.match(value.lower())
    if not match:
        raise click.BadParameter(f"{value!r} is not a duration like 90d, 12h, 30m or 2w")
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


def parse_since(value: str) -> datetime:
    """A duration back from now (``7d``) or an ISO date/time."""
    if _DURATION.match(value.lower()):
        return datetime.now(UTC) - parse_duration(value)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is neither a duration (7d) nor an ISO date") \
            from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _read_password(password_stdin: bool, generate: bool) -> tuple[str, bool]:
    """(password, generated)."""
    from alejandria.accounts.passwords import generate_password

    if password_stdin and generate:
        fail("give --password-stdin or --generate-password, not both")
    if generate:
        return generate_password(), True
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            fail("no password on stdin")
        return password, False
    if not sys.stdin.isatty():
        fail("no terminal to ask for a password: use --password-stdin or --generate-password")
    return click.prompt("password", hide_input=True, confirmation_prompt=True, err=True), False


def _password_options(function: F) -> F:
    function = click.option("--generate-password", "generate", is_flag=True,
                            help="Make a random password and print it once.")(function)
    return click.option("--password-stdin", is_flag=True,
                        help="Read the password from the first line of stdin.")(function)


def _checked(password: str) -> str:
    from alejandria.accounts.passwords import check_strength

    try:
        check_strength(password)
    except ValueError as exc:
        fail(str(exc))
    return password


# -- users ------------------------------------------------------------------------------------

@click.group()
def users() -> None:
    """Create and manage the people who log in (roles: admin, user, readonly)."""


@users.command("create")
@click.argument("name")
@click.option("--email", default=None, help="Their e-mail address (optional).")
@click.option("--role", type=click.Choice(["admin", "user", "readonly"]), default="user",
              show_default=True)
@_password_options
@click.option("--json", "as_json", is_flag=True, help="Print the new user as JSON.")
@click.pass_context
def users_create(ctx: click.Context, name: str, email: str | None, role: str,
                 password_stdin: bool, generate: bool, as_json: bool) -> None:
    """Create the user NAME (the password is asked for, read from stdin, or generated)."""
    password, generated = _read_password(password_stdin, generate)
    with open_archive(ctx) as archive:
        user = archive.accounts.create(name, _checked(password), email=email, role=role,
                                       client=CLI_CLIENT)
    if as_json:
        print_json({**user.as_json(), **({"password": password} if generated else {})})
        return
    echo(f"created {user.role} {user.username} (id {user.id})", err=True)
    if generated:
        click.echo(password)


@users.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the list as JSON.")
@click.pass_context
def users_list(ctx: click.Context, as_json: bool) -> None:
    """Every user with role, state, 2FA and last login."""
    with open_archive(ctx) as archive:
        listed = archive.accounts.list()
    if as_json:
        print_json([user.as_json() for user in listed])
        return
    console = stdout_console()
    if not listed:
        console.print("no users yet: alejandria users create NAME --role admin")
    for user in listed:
        last = "never" if user.last_login is None else f"{user.last_login:%Y-%m-%d %H:%M}"
        console.print(f"{user.id:>4} {user.username:<20} {user.role:<9} "
                      f"{'active' if user.active else 'disabled':<9} "
                      f"{'2fa' if user.totp_enabled else '-':<4} last login {last}",
                      markup=False)


@users.command("set-role")
@click.argument("name")
@click.argument("role", type=click.Choice(["admin", "user", "readonly"]))
@click.pass_context
def users_set_role(ctx: click.Context, name: str, role: str) -> None:
    """Give NAME the role ROLE (the last active admin keeps theirs)."""
    with open_archive(ctx) as archive:
        user = archive.accounts.set_role(name, role, client=CLI_CLIENT)
    echo(f"{user.username} is now {user.role}", err=True)


@users.command("disable")
@click.argument("name")
@click.pass_context
def users_disable(ctx: click.Context, name: str) -> None:
    """Stop NAME from logging in; their tokens stop working too."""
    with open_archive(ctx) as archive:
        archive.accounts.disable(name, client=CLI_CLIENT)
    echo(f"disabled {name}", err=True)


@users.command("enable")
@click.argument("name")
@click.pass_context
def users_enable(ctx: click.Context, name: str) -> None:
    """Let a disabled user log in again."""
    with open_archive(ctx) as archive:
        archive.accounts.enable(name, client=CLI_CLIENT)
    echo(f"enabled {name}", err=True)


@users.command("set-password")
@click.argument("name")
@_password_options
@click.pass_context
def users_set_password(ctx: click.Context, name: str, password_stdin: bool,
                       generate: bool) -> None:
    """Set a new password for NAME."""
    password, generated = _read_password(password_stdin, generate)
    with open_archive(ctx) as archive:
        archive.accounts.set_password(name, _checked(password), client=CLI_CLIENT)
    echo(f"password of {name} changed", err=True)
    if generated:
        click.echo(password)


@users.command("reset-2fa")
@click.argument("name")
@click.pass_context
def users_reset_2fa(ctx: click.Context, name: str) -> None:
    """Turn off NAME's two-factor login (a lost phone); they can enrol again."""
    with open_archive(ctx) as archive:
        archive.accounts.reset_2fa(name, client=CLI_CLIENT)
    echo(f"two-factor login of {name} is off", err=True)


# -- tokens -----------------------------------------------------------------------------------

@click.group()
def tokens() -> None:
    """API tokens for scripts (scopes: read, write, admin; never above the owner's role)."""


@tokens.command("create")
@click.argument("user")
@click.option("--scope", type=click.Choice(["read", "write", "admin"]), default="read",
              show_default=True)
@click.option("--expires", default=None, help="Lifetime, e.g. 90d, 12h (default: none).")
@click.option("--name", default="", help="A label to tell tokens apart.")
@click.option("--json", "as_json", is_flag=True, help="Print the token and its data as JSON.")
@click.pass_context
def tokens_create(ctx: click.Context, user: str, scope: str, expires: str | None, name: str,
                  as_json: bool) -> None:
    """Create a token for USER and print it: it is shown this once only."""
    lifetime = None if expires is None else parse_duration(expires)
    with open_archive(ctx) as archive:
        new = archive.tokens.create(user, scope, name=name, expires_in=lifetime, client=CLI_CLIENT)
    if as_json:
        print_json({"token": new.token, **new.info.as_json()})
        return
    click.echo(new.token)
    echo(f"token {new.info.id} ({new.info.scope}) for {new.info.username}: store it now, it "
         "is not shown again", err=True)


@tokens.command("list")
@click.argument("user", required=False)
@click.option("--all", "include_revoked", is_flag=True, help="Include revoked tokens.")
@click.option("--json", "as_json", is_flag=True, help="Print the list as JSON.")
@click.pass_context
def tokens_list(ctx: click.Context, user: str | None, include_revoked: bool,
                as_json: bool) -> None:
    """Tokens of USER (or everyone's): prefix, scope, dates; never the token."""
    with open_archive(ctx) as archive:
        listed = archive.tokens.list(user, include_revoked=include_revoked)
    if as_json:
        print_json([token.as_json() for token in listed])
        return
    console = stdout_console()
    if not listed:
        console.print("no tokens")
    for token in listed:
        expires = "never" if token.expires_at is None else f"{token.expires_at:%Y-%m-%d}"
        used = "never" if token.last_used_at is None else f"{token.last_used_at:%Y-%m-%d %H:%M}"
        state = " revoked" if token.revoked_at else ""
        console.print(f"{token.id:>4} {token.prefix}… {token.username:<16} {token.scope:<6} "
                      f"expires {expires}, used {used}{state} {token.name}", markup=False)


@tokens.command("revoke")
@click.argument("token_id", type=int)
@click.pass_context
def tokens_revoke(ctx: click.Context, token_id: int) -> None:
    """Revoke the token TOKEN_ID (see tokens list)."""
    with open_archive(ctx) as archive:
        archive.tokens.revoke(token_id, client=CLI_CLIENT)
    echo(f"revoked token {token_id}", err=True)


# -- audit ------------------------------------------------------------------------------------

@click.command("audit")
@click.option("--user", default=None, help="Only what this user did or what was done to them.")
@click.option("--since", default=None, help="A duration back (7d, 12h) or an ISO date.")
@click.option("--limit", type=int, default=100, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the entries as JSON.")
@click.pass_context
def audit(ctx: click.Context, user: str | None, since: str | None, limit: int,
          as_json: bool) -> None:
    """The audit log: logins, 2FA, tokens, user and role changes (newest first)."""
    moment = None if since is None else parse_since(since)
    with open_archive(ctx) as archive:
        user_id = None if user is None else archive.accounts.get(user).id
        entries = archive.audit.entries(user_id=user_id, since=moment, limit=limit)
    if as_json:
        print_json([entry.as_json() for entry in entries])
        return
    console = stdout_console()
    if not entries:
        console.print("no audit entries")
    for entry in entries:
        who = "-" if entry.actor_id is None else f"user {entry.actor_id}"
        target = f"{entry.entity_type} {entry.entity_id}" if entry.entity_id else ""
        console.print(f"{entry.at:%Y-%m-%d %H:%M:%S} {entry.action:<14} {who:<10} "
                      f"{entry.client or '':<15} {target} {entry.changes or ''}", markup=False)


COMMANDS = [users, tokens, audit]
