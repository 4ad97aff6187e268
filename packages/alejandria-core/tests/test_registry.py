"""The registry: built once and validated when the archive opens; hookspecs of other packages;
plugin settings read at start-up; sources picked by URL."""

from __future__ import annotations

import types

import click
import pytest

from alejandria import hookimpl
from alejandria.api import Archive
from alejandria.builtins import build_plugin_manager
from alejandria.errors import ConfigurationError
from alejandria.plugin_types import (
    PluginSettings,
    SearchBackendSpec,
    SettingsSpec,
    SourceContext,
    SourceSpec,
)
from alejandria.settings import Settings
from alejandria.testing import source_context


def _open(url: str, tmp_path, plugins) -> Archive:
    settings = Settings(data_dir=tmp_path / "data", database_url=url, embed_after_sync=False)
    return Archive.open(settings=settings, plugins=plugins, migrate=False)


def test_registration_hooks_run_once_not_per_search(archive, register_plugin):
    calls: list[str] = []

    class Counting:
        @hookimpl
        def register_search_backends(self):
            calls.append("backends")
            return []

    register_plugin(Counting(), name="counting")
    for _ in range(3):
        archive.search("carta natal")
        archive.search("the day my starter stopped bubbling", mode="fulltext")

    assert calls == ["backends"]


def test_a_plugin_registered_later_is_seen_at_once(archive, register_plugin, memory_source):
    class Late:
        @hookimpl
        def register_sources(self):
            return [SourceSpec(name="late", factory=memory_source)]

    register_plugin(Late(), name="late")

    assert archive.plugins.source("late").plugin == "late"


def _registers_dup(name: str) -> types.ModuleType:
    """A plugin module registering a source called "dup"."""
    module = types.ModuleType(f"fake_{name}")

    @hookimpl
    def register_sources():
        return [SourceSpec(name="dup", factory=object)]

    module.register_sources = register_sources  # type: ignore[attr-defined]
    return module


def _good(name: str) -> types.ModuleType:
    module = types.ModuleType(f"fake_{name}")

    @hookimpl
    def register_sources():
        return [SourceSpec(name=name, factory=object)]

    module.register_sources = register_sources  # type: ignore[attr-defined]
    return module


def test_a_duplicate_name_leaves_the_later_plugin_out_naming_both_packages(
        alejandria_database_url, tmp_path):
    plugins = build_plugin_manager(load_entrypoints=False)
    for name, package in (("one", "alejandria-one"), ("two", "alejandria-two")):
        plugins.register(_registers_dup(name), name, package=package)
    plugins.register(_good("fine"), "fine", package="alejandria-fine")

    archive = _open(alejandria_database_url, tmp_path, plugins)  # opens: nothing else broken
    try:
        assert archive.plugins.source("dup").plugin == "one"
        assert archive.plugins.source("fine").plugin == "fine"
        message = archive.plugins.broken()["two"]
        assert "'dup'" in message and "alejandria-one" in message and "alejandria-two" in message
        assert "ALEJANDRIA_DISABLED_PLUGINS" in message
    finally:
        archive.close()


@pytest.mark.parametrize(("returns", "says"), [
    (["not a spec"], "register_sources returned a str ('not a spec'), expected a SourceSpec "
                     "(from alejandria.plugin_types)"),
    ([{"name": "feed", "factory": object}], "returned a dict ({'name': 'feed'"),
    (SourceSpec(name="one", factory=object), "register_sources returned a SourceSpec, "
                                             "expected a list (return [spec], not spec)"),
    ([SourceSpec(name="", factory=object)], "needs a name"),
    ([SourceSpec(name="ok", factory="not callable")], "not callable"),  # type: ignore[arg-type]
])
def test_a_malformed_spec_leaves_its_plugin_out_at_start_up_naming_it(
        alejandria_database_url, tmp_path, returns, says):
    class Broken:
        @hookimpl
        def register_sources(self):
            return returns

        @hookimpl
        def register_search_backends(self):
            return [SearchBackendSpec(name="broken-mode", factory=object)]

    plugins = build_plugin_manager(load_entrypoints=False)
    plugins.register(Broken(), "broken", package="alejandria-broken")
    plugins.register(_good("fine"), "fine", package="alejandria-fine")

    archive = _open(alejandria_database_url, tmp_path, plugins)
    try:
        reason = archive.plugins.broken()["broken"]
        assert says in reason and "alejandria-broken" in reason
        assert "broken-mode" not in archive.plugins.search_backends()  # left out whole
        assert set(archive.plugins.sources()) >= {"fine", "files"}
    finally:
        archive.close()


def test_a_misspelt_hook_leaves_its_plugin_out_with_a_did_you_mean(plugin_manager,
                                                                  register_plugin,
                                                                  memory_source):
    class Misspelt:
        @hookimpl
        def register_source(self):
            return [SourceSpec(name="feed", factory=memory_source)]

    class Optional:
        @hookimpl(optionalhook=True)
        def web_routes(self):
            return []

    register_plugin(Misspelt(), name="misspelt")
    register_plugin(Optional(), name="optional")

    broken = plugin_manager.broken()
    assert broken["misspelt"] == (
        "implements 'register_source', which is not an Alejandria hook: did you mean "
        "'register_sources'? (or mark it @hookimpl(optionalhook=True) if it belongs to "
        "another package's hooks)")
    assert "optional" not in broken


def test_a_package_adds_its_own_hooks_and_calls_them(plugin_manager, register_plugin):
    hookspec = __import__("pluggy").HookspecMarker("alejandria")

    class WebSpecs:
        @hookspec
        def menu_links(self) -> list[str]:  # type: ignore[empty-body]
            """Links a plugin adds to the menu."""

    class Menu:
        @hookimpl
        def menu_links(self):
            return ["/notes"]

    plugin_manager.add_hookspecs(WebSpecs)
    register_plugin(Menu(), name="menu")

    assert plugin_manager.hook.menu_links() == [["/notes"]]


def test_a_source_is_found_by_its_url(plugin_manager, register_plugin, memory_source):
    class ByUrl:
        @hookimpl
        def register_sources(self):
            return [SourceSpec(name="tube", factory=memory_source,
                               url_patterns=(r"https://tube\.example/@[\w-]+",))]

    register_plugin(ByUrl(), name="tube")

    assert plugin_manager.source_for_url("https://tube.example/@ana").name == "tube"
    assert plugin_manager.source_for_url("https://tube.example/@ana/extra") is None
    assert plugin_manager.source_for_url("https://elsewhere.example/@ana") is None


def test_sync_of_a_url_no_source_knows_says_what_to_do(alejandria_database_url, tmp_path,
                                                       monkeypatch):
    from click.testing import CliRunner

    from alejandria.cli.main import cli

    monkeypatch.setenv("ALEJANDRIA_DATABASE_URL", alejandria_database_url)
    monkeypatch.setenv("ALEJANDRIA_DATA_DIR", str(tmp_path / "data"))

    result = CliRunner().invoke(cli, ["sync", "https://unknown.example/thing"])

    assert result.exit_code == 2
    assert "no installed source archives https://unknown.example/thing" in result.output
    assert "alejandria sync SOURCE" in result.output
    assert "give at least one target" in CliRunner().invoke(cli, ["sync", "files"]).output


class PagedSettings(PluginSettings):
    page_size: int = 20
    verbose: bool = False


class PagedPlugin:
    @hookimpl
    def register_settings(self):
        return [SettingsSpec(name="paged", model=PagedSettings)]


def test_plugin_settings_are_read_from_the_environment_when_the_archive_opens(
        alejandria_database_url, tmp_path, monkeypatch):
    monkeypatch.setenv("ALEJANDRIA_PAGED_PAGE_SIZE", "50")
    plugins = build_plugin_manager(load_entrypoints=False)
    plugins.register(PagedPlugin(), "paged")

    with _open(alejandria_database_url, tmp_path, plugins) as archive:
        loaded = archive.context.plugin_settings[PagedSettings]

    assert isinstance(loaded, PagedSettings) and loaded.page_size == 50


def test_a_bad_plugin_setting_stops_the_archive_naming_the_variable(
        alejandria_database_url, tmp_path, monkeypatch):
    monkeypatch.setenv("ALEJANDRIA_PAGED_PAGE_SIZE", "many")
    plugins = build_plugin_manager(load_entrypoints=False)
    plugins.register(PagedPlugin(), "paged")

    with pytest.raises(ConfigurationError, match="ALEJANDRIA_PAGED_PAGE_SIZE"):
        _open(alejandria_database_url, tmp_path, plugins)


def test_options_are_validated_by_the_settings_model(plugin_manager, register_plugin,
                                                     tmp_path, monkeypatch):
    monkeypatch.setenv("ALEJANDRIA_PAGED_PAGE_SIZE", "50")
    register_plugin(PagedPlugin(), name="paged")
    settings = Settings(data_dir=tmp_path)

    def paged(**options: object) -> PagedSettings:
        return source_context(plugin_manager, settings, options=options).settings_for(
            PagedSettings)

    assert (paged().page_size, paged(verbose="yes").verbose) == (50, True)
    assert paged(page_size="7").page_size == 7
    with pytest.raises(ConfigurationError, match="option page_size: Input should be a valid"):
        paged(page_size="seven")
    with pytest.raises(ConfigurationError, match="option pagesize: no such option"):
        paged(pagesize=7)


def test_settings_of_an_unregistered_model_say_how_to_register_them(tmp_path):
    context = SourceContext(settings=Settings(data_dir=tmp_path))

    with pytest.raises(ConfigurationError, match="register_settings"):
        context.settings_for(PagedSettings)


def test_the_actor_reaches_the_source(archive, register_plugin):
    from alejandria.plugin_types import BaseSource

    seen: list[object] = []

    class Recording(BaseSource):
        def __init__(self, context: SourceContext) -> None:
            seen.append(context.actor)

        def resolve(self, targets):
            return iter(())

        def fetch(self, target, cursor):
            return iter(())

    class Plugin:
        @hookimpl
        def register_sources(self):
            return [SourceSpec(name="recording", factory=Recording)]

    register_plugin(Plugin(), name="recording")
    # syncing is an admin's to do, and the sync is audited under a real user
    ana = archive.accounts.create("ana", "a long enough passphrase", role="admin").actor

    archive.sync("recording", "x", actor=ana)
    archive.sync("recording", "x")

    assert seen == [ana, None]


def test_search_backends_registered_by_plugins_receive_the_actor(archive, register_plugin):
    from alejandria.models import Actor, Availability, SearchHit

    asked: list[object] = []

    class Whoami:
        def __init__(self, context):
            self.context = context

        def availability(self):
            return Availability.yes()

        def search(self, query):
            asked.append(query.actor)
            return [SearchHit(post_id=1, source="x", creator="c", title="t", snippet="s",
                              score=1.0, mode="whoami")]

    class Plugin:
        @hookimpl
        def register_search_backends(self):
            return [SearchBackendSpec(name="whoami", factory=Whoami)]

    register_plugin(Plugin(), name="whoami")
    ana = Actor(user_id=7, username="ana", role="readonly")

    archive.search("anything", mode="whoami", actor=ana)
    archive.search("anything", mode="whoami")

    assert asked == [ana, None]


def test_a_plugin_taking_one_of_cores_names_is_told_to_rename_it(plugin_manager,
                                                                  register_plugin):
    class Shadow:
        @hookimpl
        def register_sources(self):
            return [SourceSpec(name="files", factory=object)]

    register_plugin(Shadow(), name="shadow")

    assert plugin_manager.source("files").plugin == "core"  # core's keeps working
    assert "rename it in plugin 'shadow'" in plugin_manager.broken()["shadow"]


def test_a_source_with_default_targets_syncs_without_one(archive, register_plugin,
                                                         memory_source):
    from alejandria.cli.sync import _source_and_targets
    from alejandria.models import Checkpoint, CreatorIn, PostIn

    class Whole:
        @hookimpl
        def register_sources(self):
            return [SourceSpec(name="whole", factory=memory_source,
                               default_targets=("account",))]

    register_plugin(Whole(), name="whole")
    memory_source.content["account"] = [
        CreatorIn(external_id="c", name="C"),
        PostIn(external_id="p", creator_external_id="c", title="Todo"), Checkpoint()]

    report = archive.sync("whole")

    assert report.ok and (report.targets, report.posts_written) == (1, 1)
    assert _source_and_targets(archive, "whole", ()) == ("whole", ("account",))
    with pytest.raises(click.UsageError, match="give at least one target"):
        _source_and_targets(archive, "memory", ())
