"""``users``, ``tokens`` and ``audit`` through the real CLI (a subprocess)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from .accounts_helpers import FAST_HASH, PASSWORD


@pytest.fixture
def alejandria_settings_overrides() -> dict[str, object]:
    return dict(FAST_HASH)


def _with_stdin(env: dict[str, str], stdin: str, *args: str) -> subprocess.CompletedProcess[str]:
    """The CLI with ``stdin`` (the kit's ``alejandria_cli`` gives it none)."""
    return subprocess.run([sys.executable, "-m", "alejandria.cli.main", *args], input=stdin,
                          capture_output=True, text=True, env=env, timeout=120)


def test_users_tokens_and_audit_from_the_cli(alejandria_cli, alejandria_cli_env, open_archive):
    created = _with_stdin(alejandria_cli_env, PASSWORD + "\n", "users", "create", "ana",
                          "--role", "admin", "--password-stdin", "--json")
    assert created.returncode == 0, created.stderr
    assert json.loads(created.stdout)["role"] == "admin"
    assert PASSWORD not in created.stdout
    assert alejandria_cli("users", "create", "bo", "--email", "bo@example.org",
                          "--generate-password").returncode == 0
    listed = json.loads(alejandria_cli("users", "list", "--json").stdout)
    assert [(u["username"], u["role"]) for u in listed] == [("ana", "admin"), ("bo", "user")]

    token = alejandria_cli("tokens", "create", "bo", "--scope", "write", "--expires", "90d")
    assert token.returncode == 0, token.stderr
    secret = token.stdout.strip()
    assert secret.startswith("alj_")
    refused = alejandria_cli("tokens", "create", "bo", "--scope", "admin")
    assert refused.returncode != 0 and "scope" in refused.stderr

    tokens = json.loads(alejandria_cli("tokens", "list", "bo", "--json").stdout)
    assert [(t["scope"], t["prefix"]) for t in tokens] == [("write", secret[:12])]
    assert secret not in json.dumps(tokens)
    archive = open_archive(**FAST_HASH)
    assert archive.tokens.check(secret, "write").actor.username == "bo"

    assert alejandria_cli("tokens", "revoke", str(tokens[0]["id"])).returncode == 0
    assert json.loads(alejandria_cli("tokens", "list", "--json").stdout) == []

    assert archive.accounts.authenticate("ana", PASSWORD).role == "admin"
    last_admin = alejandria_cli("users", "set-role", "ana", "user")
    assert last_admin.returncode != 0 and "last active admin" in last_admin.stderr

    audit = alejandria_cli("audit", "--json", "--since", "1d")
    assert audit.returncode == 0, audit.stderr
    entries = json.loads(audit.stdout)
    assert [e["action"] for e in reversed(entries)] == [
        "user.create", "user.create", "token.create", "token.revoke", "login.success"]
    assert entries[-1]["changes"]["client"] == "cli"
    assert PASSWORD not in audit.stdout and secret not in audit.stdout
    only_bo = json.loads(alejandria_cli("audit", "--user", "bo", "--json").stdout)
    assert [e["action"] for e in only_bo] == ["user.create"]


def test_users_create_without_a_terminal_needs_a_password_option(alejandria_cli):
    result = alejandria_cli("users", "create", "ana")
    assert result.returncode != 0
    assert "--password-stdin" in result.stderr
