"""A plugin author's common mistakes, as installed packages: each is named at start-up by
``alejandria plugins`` and ``doctor`` (exit non-zero, the plugin and the fix), and none of
them breaks the other plugins: a sync of another source still works."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

from alejandria.testing import run_cli

MISTAKES = {
    # plugin name: (module source, what the message must say)
    "misspelt": ("""
        @hookimpl
        def register_source():
            return [SourceSpec(name="misspelt", factory=object)]
        """, "implements 'register_source', which is not an Alejandria hook: did you mean "
             "'register_sources'?"),
    "dicts": ("""
        @hookimpl
        def register_sources():
            return [{"name": "dicts", "factory": object}]
        """, "register_sources returned a dict"),
    "shadow": ("""
        @hookimpl
        def register_sources():
            return [SourceSpec(name="pdf", factory=object)]
        """, "two plugins register the source 'pdf'"),
    "raises": ("""
        @hookimpl
        def register_sources():
            raise RuntimeError("FEED_URL is not set")
        """, "register_sources raised RuntimeError: FEED_URL is not set"),
    "unimportable": ("""
        import alejandria_no_such_module
        """, "ModuleNotFoundError: No module named 'alejandria_no_such_module'"),
}


def _install(site: Path, name: str, body: str) -> None:
    module = f"alejandria_mistake_{name}"
    (site / f"{module}.py").write_text(
        "from alejandria import hookimpl\nfrom alejandria.plugin_types import SourceSpec\n"
        + textwrap.dedent(body))
    info = site / f"alejandria_mistake_{name}-0.1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: alejandria-mistake-{name}\nVersion: 0.1.0\n")
    (info / "entry_points.txt").write_text(f"[alejandria]\n{name} = {module}\n")


@pytest.fixture
def mistaken_env(tmp_path: Path, alejandria_cli_env: dict[str, str]) -> dict[str, str]:
    site = tmp_path / "site"
    site.mkdir()
    for name, (body, _says) in MISTAKES.items():
        _install(site, name, body)
    path = os.environ.get("PYTHONPATH")
    return {**alejandria_cli_env,
            "PYTHONPATH": f"{site}{os.pathsep}{path}" if path else str(site),
            "COLUMNS": "80"}


@pytest.mark.slow
def test_each_mistake_is_named_at_start_up_and_breaks_nothing_else(
        mistaken_env: dict[str, str], tmp_path: Path) -> None:
    listed = run_cli(mistaken_env, "plugins", "--json")
    doctor = run_cli(mistaken_env, "doctor")
    folder = tmp_path / "files"
    folder.mkdir()
    (folder / "note.txt").write_text("still works")
    synced = run_cli(mistaken_env, "sync", "files", folder, "--json")

    errors = {info["name"]: info["error"] for info in listed.json()}
    assert listed.returncode == 1
    for name, (_body, says) in MISTAKES.items():
        assert says in (errors.get(name) or ""), (name, errors.get(name))
        assert f"alejandria-mistake-{name}" in doctor.stdout + doctor.stderr or \
            f"plugin {name}" in doctor.stdout, name
    assert errors["pdf"] is None and errors["core"] is None
    assert doctor.returncode != 0
    assert synced.returncode == 0, synced.stderr
    assert synced.json()["posts_written"] == 1


@pytest.mark.slow
def test_the_plugins_table_shows_whole_messages(mistaken_env: dict[str, str]) -> None:
    table = run_cli({**mistaken_env, "TTY_COMPATIBLE": "1", "TTY_INTERACTIVE": "0"},
                    "plugins")

    assert table.returncode == 1
    assert "No module named 'alejandria_no_such_module'" in table.stdout
    assert "did you mean 'register_sources'?" in table.stdout


def _invalid_post() -> Exception:
    from pydantic import ValidationError

    from alejandria.models import PostIn

    try:
        PostIn.model_validate({"external_id": "feed-42", "creator_external_id": "c"})
    except ValidationError as exc:
        return exc
    raise AssertionError("PostIn accepted a post without a title")


def test_an_invalid_item_is_named_with_the_field_at_fault(archive, memory_source, caplog):
    from alejandria.models import CreatorIn

    memory_source.content["t"] = [CreatorIn(external_id="c", name="C"), _invalid_post()]

    with caplog.at_level("INFO"):
        report = archive.sync("memory", "t")

    (error,) = report.errors
    assert error.message == ("the source built an invalid PostIn (external_id 'feed-42'): "
                             "title: Field required")
    assert "Traceback" in caplog.text or any(r.exc_info for r in caplog.records)  # with -v


def test_an_unknown_item_lists_the_types_fetch_may_yield(archive, memory_source):
    memory_source.content["t"] = [{"title": "a dict, not a PostIn"}]  # type: ignore[list-item]

    (error,) = archive.sync("memory", "t").errors

    assert error.message == (
        "source 'memory' yielded a dict ({'title': 'a dict, not a PostIn'}); fetch yields "
        "CreatorIn, CollectionIn, PostIn, Checkpoint, Notice, Expect or Prune "
        "(from alejandria.models)")


def test_a_wrong_value_is_shown_with_its_field() -> None:
    from pydantic import ValidationError

    from alejandria.errors import describe
    from alejandria.models import PostIn

    with pytest.raises(ValidationError) as caught:
        PostIn(external_id="p", creator_external_id="c", title=["a"])  # type: ignore[arg-type]

    assert describe(caught.value) == ("the source built an invalid PostIn: title: Input should "
                                      "be a valid string (given ['a'])")
