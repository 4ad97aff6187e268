"""The plugin manager: entry points, isolation of broken plugins, duplicate names, docs."""

from __future__ import annotations

import re
import sys
import textwrap
from pathlib import Path

import pytest

from alejandria import hookspecs
from alejandria.builtins import build_plugin_manager
from alejandria.errors import UnknownName


@pytest.fixture
def installed(tmp_path, monkeypatch):
    """Install fake distributions (real dist-info + modules) on sys.path for one test."""

    def install(dist: str, entry_points: dict[str, str], modules: dict[str, str]) -> None:
        info = tmp_path / f"{dist.replace('-', '_')}-1.2.3.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.2.3\n")
        lines = "\n".join(f"{name} = {target}" for name, target in entry_points.items())
        (info / "entry_points.txt").write_text(f"[alejandria]\n{lines}\n")
        for module, source in modules.items():
            (tmp_path / f"{module}.py").write_text(textwrap.dedent(source))

    monkeypatch.syspath_prepend(str(tmp_path))
    yield install
    for name in [m for m in sys.modules if m.startswith("fake_")]:
        del sys.modules[name]


GOOD_SOURCE = """
    from alejandria import hookimpl
    from alejandria.plugin_types import SourceSpec

    @hookimpl
    def register_sources():
        return [SourceSpec(name="{name}", factory=object)]
"""


def test_core_builtins_register_through_the_same_hooks():
    manager = build_plugin_manager(load_entrypoints=False)

    [core] = manager.plugins()
    assert core.builtin and "register_search_backends" in core.hooks
    assert manager.search_backend("fulltext").plugin == "core"
    assert "core" in manager.migrations()


def test_broken_plugin_is_isolated_and_reported(installed):
    installed("alejandria-broken", {"broken": "fake_broken"},
              {"fake_broken": "raise ImportError('needs libfoo')"})
    installed("alejandria-good", {"good": "fake_good"},
              {"fake_good": GOOD_SOURCE.format(name="good")})

    manager = build_plugin_manager()

    by_name = {info.name: info for info in manager.plugins()}
    assert by_name["broken"].error == "ImportError: needs libfoo"
    assert by_name["broken"].package == "alejandria-broken"
    assert by_name["good"].error is None and by_name["good"].version == "1.2.3"
    assert manager.source("good").plugin == "good"


def test_duplicate_names_leave_the_later_plugin_out_naming_both_packages(installed):
    installed("alejandria-one", {"one": "fake_one"}, {"fake_one": GOOD_SOURCE.format(name="dup")})
    installed("alejandria-two", {"two": "fake_two"}, {"fake_two": GOOD_SOURCE.format(name="dup")})
    installed("alejandria-good", {"good": "fake_good"},
              {"fake_good": GOOD_SOURCE.format(name="good")})

    manager = build_plugin_manager()

    first = manager.source("dup").plugin
    later = ({"one", "two"} - {first}).pop()
    reason = manager.broken()[later]
    assert "alejandria-one" in reason and "alejandria-two" in reason
    assert "ALEJANDRIA_DISABLED_PLUGINS" in reason
    assert manager.source("good").plugin == "good"  # the others are not broken by it
    assert {info.name: info.error for info in manager.plugins()}[later] == reason


def test_disabled_plugins_are_not_loaded(installed):
    installed("alejandria-good", {"good": "fake_good"},
              {"fake_good": GOOD_SOURCE.format(name="good")})

    manager = build_plugin_manager(disabled=["good"])

    with pytest.raises(UnknownName, match="unknown source 'good'"):
        manager.source("good")


def test_a_plugin_raising_in_a_registration_hook_is_reported(register_plugin, plugin_manager):
    from alejandria import hookimpl

    class Faulty:
        @hookimpl
        def register_sources(self):
            raise RuntimeError("config missing")

    register_plugin(Faulty(), name="faulty")

    assert "faulty" not in {spec.plugin for spec in plugin_manager.sources().values()}
    faulty = next(info for info in plugin_manager.plugins() if info.name == "faulty")
    assert faulty.error == "register_sources raised RuntimeError: config missing"


HOOK_NAMES = [name for name in dir(hookspecs) if name.startswith(("register_", "startup",
                                                                    "shutdown", "post_",
                                                                    "media_", "sync_"))]


@pytest.mark.parametrize("hook_name", HOOK_NAMES)
def test_every_hookspec_documents_a_complete_example(hook_name):
    doc = getattr(hookspecs, hook_name).__doc__ or ""
    assert "Example" in doc, f"{hook_name} has no example"
    example = textwrap.dedent(doc.split("::", 1)[1])
    compile(example, f"<{hook_name} example>", "exec")


def test_register_sources_example_really_archives(archive, register_plugin, tmp_path, count):
    """The docstring example is a working plugin, not pseudo-code."""
    example = textwrap.dedent(hookspecs.register_sources.__doc__.split("::", 1)[1])
    namespace: dict[str, object] = {}
    exec(compile(example, "<example>", "exec"), namespace)
    register_plugin(type("Example", (), {"register_sources": staticmethod(
        namespace["register_sources"])})(), name="textfiles-example")
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "idea.txt").write_text("Una idea sobre la carta natal")

    report = archive.sync("textfiles", notes)

    assert report.ok and report.posts_written == 1
    assert archive.search("carta natal")[0].title == "idea"


def test_readme_documents_every_hook():
    readme = Path(__file__).parents[3] / "docs" / "plugins.md"
    text = readme.read_text()
    for name in HOOK_NAMES:
        assert re.search(rf"^### `{name}\(", text, re.M), f"docs/plugins.md lacks {name}"


def test_a_plugin_owns_tables_and_disabling_it_later_breaks_nothing(
        installed, tmp_path, alejandria_database_url):
    from sqlalchemy import inspect

    from alejandria import Archive

    versions = tmp_path / "fake_tables_migrations"
    versions.mkdir()
    (versions / "t0001_bookmarks.py").write_text(textwrap.dedent('''
        from alembic import op
        import sqlalchemy as sa

        revision = "t0001"
        down_revision = None
        branch_labels = ("fake_tables",)
        depends_on = None

        def upgrade():
            op.create_table("fake_bookmarks", sa.Column("id", sa.Integer, primary_key=True),
                            sa.Column("post_id", sa.Integer, sa.ForeignKey("posts.id")))
    '''))
    installed("alejandria-fake-tables", {"fake_tables": "fake_tables"}, {"fake_tables": f'''
        from pathlib import Path
        from alejandria import hookimpl
        from alejandria.plugin_types import MigrationSpec

        @hookimpl
        def register_migrations():
            return [MigrationSpec(name="fake_tables", path=Path({str(versions)!r}))]
    '''})
    url = alejandria_database_url

    with Archive.open(database_url=url, data_dir=tmp_path, plugins=build_plugin_manager(),
                      migrate=True) as archive:
        assert "fake_bookmarks" in inspect(archive.engine).get_table_names()

    without = build_plugin_manager(disabled=["fake_tables"])
    with Archive.open(database_url=url, data_dir=tmp_path, plugins=without) as archive:
        assert archive.stats()["posts"] == 0
