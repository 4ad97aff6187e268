"""``credentials set|list|delete``: a source's secrets (session cookies, tokens), encrypted.

Values are read from a hidden prompt or, for scripts, from ``ALEJANDRIA_<SOURCE>_<FIELD>``
(``--from-env``); they are never echoed, printed or logged.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import click

from alejandria.cli.context import CLI_CLIENT, open_archive
from alejandria.cli.output import echo, fail, print_json, stdout_console

if TYPE_CHECKING:
    from alejandria.plugin_types import SourceSpec

#: The one field asked for when a source declares no ``credentials_model``.
DEFAULT_FIELD = "token"


def env_name(source: str, field: str) -> str:
    """``ALEJANDRIA_PATREON_SESSION_ID`` for (patreon, session_id)."""
    return f"ALEJANDRIA_{source}_{field}".upper().replace("-", "_")


def _fields(spec: SourceSpec) -> list[tuple[str, bool, str]]:
    """(name, required, description) of each secret the source takes."""
    model = spec.credentials_model
    if model is None:
        return [(DEFAULT_FIELD, True, "token")]
    return [(name, info.is_required(), info.description or name.replace("_", " "))
            for name, info in model.model_fields.items()]


def _collect(spec: SourceSpec, from_env: bool) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, required, description in _fields(spec):
        variable = env_name(spec.name, name)
        if from_env:
            value = os.environ.get(variable, "")
            if not value and required:
                fail(f"{variable} is not set (needed for {spec.name} {name})")
        elif required:
            value = click.prompt(f"{spec.name} {description}", hide_input=True,
                                 prompt_suffix=" (input hidden): ", err=True)
        else:
            value = os.environ.get(variable, "")
        if value:
            values[name] = value.strip()
    return values


def _validated(spec: SourceSpec, values: dict[str, Any]) -> dict[str, Any]:
    """The values as the source's model accepts them (secrets revealed for storage)."""
    from pydantic import SecretStr, ValidationError

    if spec.credentials_model is None:
        return values
    try:
        model = spec.credentials_model.model_validate(values)
    except ValidationError as exc:
        # the messages name the fields and what is wrong, never the input values
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}"
                             for e in exc.errors(include_input=False))
        fail(f"invalid {spec.name} credentials: {problems}")
    dumped = model.model_dump(exclude_none=True)
    return {key: value.get_secret_value() if isinstance(value, SecretStr) else value
            for key, value in dumped.items()}


@click.group()
def credentials() -> None:
    """Store, list and delete the secrets sources log in with (encrypted at rest)."""


ACCOUNT = click.option("--account", default="default", show_default=True,
                       help="Which of your accounts at the source (when you keep several).")


@credentials.command("set")
@click.argument("source")
@click.option("--from-env", is_flag=True,
              help="Read the values from ALEJANDRIA_<SOURCE>_<FIELD> instead of prompting.")
@click.option("--check/--no-check", default=True, show_default=True,
              help="Log in with the new values before storing them.")
@ACCOUNT
@click.pass_context
def credentials_set(ctx: click.Context, source: str, from_env: bool, check: bool,
                    account: str) -> None:
    """Store the credentials of SOURCE (e.g. patreon), replacing any stored before."""
    with open_archive(ctx) as archive:
        spec = archive.plugins.source(source)
        values = _validated(spec, _collect(spec, from_env))
        if check:
            archive.source(spec.name, credentials=values).authenticate()
        archive.set_credentials(spec.name, values, account=account, client=CLI_CLIENT)
    shown = "" if account == "default" else f" for account {account!r}"
    echo(f"stored {spec.name} credentials{shown} ({', '.join(sorted(values))}), "
               "encrypted", err=True)


@credentials.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the list as JSON.")
@click.pass_context
def credentials_list(ctx: click.Context, as_json: bool) -> None:
    """Which sources have stored credentials (field names and dates, never values)."""
    with open_archive(ctx) as archive:
        stored = archive.credentials()
    if as_json:
        print_json([{"source": s.source, "account": s.account, "fields": list(s.fields),
                     "updated_at": s.updated_at.isoformat()} for s in stored])
        return
    console = stdout_console()
    if not stored:
        console.print("no stored credentials")
    for item in stored:
        console.print(f"{item.source:<15} {item.account:<12} {', '.join(item.fields):<25} "
                      f"updated {item.updated_at:%Y-%m-%d %H:%M}")


@credentials.command("delete")
@click.argument("source")
@ACCOUNT
@click.pass_context
def credentials_delete(ctx: click.Context, source: str, account: str) -> None:
    """Forget the stored credentials of SOURCE."""
    with open_archive(ctx) as archive:
        deleted = archive.delete_credentials(source, account=account, client=CLI_CLIENT)
    shown = "" if account == "default" else f" (account {account!r})"
    if not deleted:
        fail(f"no stored credentials for {source!r}{shown}")
    echo(f"deleted {source} credentials{shown}", err=True)


COMMANDS = [credentials]
