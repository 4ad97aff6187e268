"""The registry: built once and validated when the archive opens; hookspecs of other packages;
plugin settings read at start-up; sources picked by URL."""

from __future__ import annotations

import types

import pytest

from alejandria import hookimpl
from alejandria.api import Archive
from alejandria.builtins import build_plugin_manager
from alejandria.errors import ConfigurationError, DuplicatePluginName, PluginError
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


def test_a_duplicate_name_stops_the_archive_from_opening_naming_both_packages(
        alejandria_database_url, tmp_path):
    plugins = build_plugin_manager(load_entrypoints=False)
    for name, package in (("one", "alejandria-one"), ("two", "alejandria-two")):
        plugins.register(_registers_dup(name), name, package=package)

    with pytest.raises(DuplicatePluginName) as caught:
        _open(alejandria_database_url, tmp_path, plugins)

    message = str(caught.value)
    assert "'dup'" in message and "alejandria-one" in message and "alejandria-two" in message
    assert "ALEJANDRIA_DISABLED_PLUGINS" in message


@pytest.mark.parametrize(("spec", "says"), [
    ("not a spec", "not a SourceSpec"),
    (SourceSpec(name="", factory=object), "needs a name"),
    (SourceSpec(name="ok", factory="not callable"), "not callable"),  # type: ignore[arg-type]
])
def test_a_malformed_spec_is_a_start_up_error_naming_its_plugin(
        alejandria_database_url, tmp_path, spec, says):
    class Broken:
        @hookimpl
        def register_sources(self):
            return [spec]

    plugins = build_plugin_manager(load_entrypoints=False)
    plugins.register(Broken(), "broken", package="alejandria-broken")

    with pytest.raises(PluginError, match=says) as caught:
        _open(alejandria_database_url, tmp_path, plugins)
    assert "alejandria-broken" in str(caught.value)


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
    from alejandria.models import Actor
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
    ana = Actor(user_id=7, username="ana")

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


def test_a_plugin_taking_one_of_cores_names_is_told_to_rename_it(alejandria_database_url,
                                                                  tmp_path):
    class Shadow:
        @hookimpl
        def register_sources(self):
            return [SourceSpec(name="files", factory=object)]

    plugins = build_plugin_manager(load_entrypoints=False)
    plugins.register(Shadow(), "shadow", package="alejandria-shadow")

    with pytest.raises(DuplicatePluginName, match="rename it in plugin 'shadow' from package "
                                                  "alejandria-shadow"):
        _open(alejandria_database_url, tmp_path, plugins)
