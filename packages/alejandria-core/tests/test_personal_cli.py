"""``lists``, ``note``, ``status`` and ``highlights`` through the real CLI (a subprocess)."""

from __future__ import annotations

import json

import pytest

from alejandria.models import Checkpoint

from .accounts_helpers import FAST_HASH, PASSWORD
from .personal_helpers import BODY, CREATOR, post, post_ids
from .test_accounts_cli import _with_stdin


@pytest.fixture
def alejandria_settings_overrides() -> dict[str, object]:
    return dict(FAST_HASH)


def test_personal_data_from_the_cli(alejandria_cli, alejandria_cli_env, open_archive,
                                    memory_source):
    with open_archive() as archive:
        memory_source.content["t"] = [CREATOR, post("p1"), Checkpoint()]
        archive.sync("memory", "t")
        archive.accounts.create("ana", PASSWORD)
        archive.accounts.create("rita", PASSWORD, role="readonly")
        (post_id,) = post_ids(archive)
    pid = str(post_id)

    assert alejandria_cli("lists", "create", "leer", "--color", "#aabbcc", "--as", "ana")\
        .returncode == 0
    assert alejandria_cli("lists", "add", "leer", pid, "--as", "ana").returncode == 0
    listed = json.loads(alejandria_cli("lists", "list", "--as", "ana", "--json").stdout)
    assert [(x["name"], x["posts"], x["color"]) for x in listed] == [("leer", 1, "#aabbcc")]
    noted = _with_stdin(alejandria_cli_env, "**Venus** importa\n", "note", "set", pid,
                        "--as", "ana")
    assert noted.returncode == 0, noted.stderr
    shown = json.loads(alejandria_cli("note", "show", pid, "--as", "ana", "--json").stdout)
    assert "<strong>Venus</strong>" in shown["html"]
    assert alejandria_cli("status", "set", pid, "completed", "--as", "ana").returncode == 0
    assert alejandria_cli("status", "show", pid, "--as", "ana").stdout.strip() == "completed"
    made = alejandria_cli("highlights", "add", pid, "--quote", "Venus rige", "--as", "ana",
                          "--json")
    assert json.loads(made.stdout)["start"] == BODY.index("Venus rige")
    highlights = json.loads(alejandria_cli("highlights", "list", "--as", "ana", "--json").stdout)
    assert [h["quote"] for h in highlights] == ["Venus rige"]

    hits = alejandria_cli("search", "Venus", "--mode", "fulltext", "--as", "ana", "--list",
                          "leer", "--status", "completed", "--note", "--highlighted", "--json")
    assert [hit["post_id"] for hit in json.loads(hits.stdout)] == [post_id], hits.stderr
    unread = alejandria_cli("search", "Venus", "--as", "rita", "--status", "completed",
                            "--json")
    assert json.loads(unread.stdout) == []
    assert "add --as USER" in alejandria_cli("search", "Venus", "--list", "leer").stderr

    # someone else sees none of it; a readonly user may not write; errors are one line
    assert json.loads(alejandria_cli("lists", "list", "--as", "rita", "--json").stdout) == []
    refused = alejandria_cli("lists", "create", "mía", "--as", "rita")
    assert refused.returncode == 2 and "rita (readonly) may not change" in refused.stderr
    missing = alejandria_cli("note", "show", pid, "--as", "rita")
    assert missing.returncode == 2 and f"no note on post {pid}" in missing.stderr
    bad = alejandria_cli("highlights", "add", pid, "--quote", "Plutón", "--as", "ana")
    assert bad.returncode == 1 and "does not contain 'Plutón'" in bad.stderr
    assert alejandria_cli("note", "delete", pid, "--as", "ana").returncode == 0
    assert alejandria_cli("lists", "delete", "leer", "--as", "ana").returncode == 0
