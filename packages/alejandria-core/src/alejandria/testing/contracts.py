"""Contract tests every source plugin must pass. Subclass and provide two things::

    from alejandria.testing.contracts import SourceContract

    class TestMySourceContract(SourceContract):
        source_name = "mysource"

        @pytest.fixture
        def contract_targets(self, tmp_path) -> list[str]:
            return [...]   # targets that archive at least one post

The plugin must be installed (``pip install -e .``): the first check proves that its entry
point registers the source, as users will get it; a ``register_plugin`` fallback would hide a
missing or misspelt entry point. Settings the source needs come from
``alejandria_settings_overrides`` and the environment, as in a sync.

What is checked: the entry point; ``resolve`` gives stable, unique scopes; a first sync
archives posts and a second one writes nothing; every post that claims text has a searchable
chunk; every media file a post links to is in the store, whole (its SHA-256 verified); a
file that could not be fetched in one sync is fetched by the next, whatever the source's
cursor skips.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from alejandria.testing import reads

if TYPE_CHECKING:
    from alejandria.api import Archive
    from alejandria.plugin_types import Source


class SourceContract:
    source_name: str = ""
    #: False only for a source that exists for tests (registered by a fixture, never shipped)
    needs_entry_point: bool = True

    @pytest.fixture
    def contract_targets(self) -> list[str]:
        raise NotImplementedError("provide a contract_targets fixture")

    def _source(self, archive: Archive) -> Source:
        return archive.source(self.source_name)

    def test_the_source_comes_from_an_installed_entry_point(
            self, archive: Archive, contract_targets: list[str]) -> None:
        from importlib import metadata

        sources = archive.plugins.sources()
        assert self.source_name in sources, (
            f"no plugin registers the source {self.source_name!r}; is the package installed "
            "(pip install -e .) with an entry point in pyproject.toml: "
            '[project.entry-points.alejandria] NAME = "your_package.plugin"? '
            f"Left out at start-up: {archive.plugins.broken() or 'none'}")
        plugin = sources[self.source_name].plugin
        if plugin == "core" or not self.needs_entry_point:
            return  # core's built-in sources have no entry point of their own
        names = {entry_point.name for entry_point in metadata.entry_points(group="alejandria")}
        assert plugin in names, (
            f"the source {self.source_name!r} comes from plugin {plugin!r}, registered by the "
            "test, not from an installed entry point: add one to pyproject.toml "
            f'([project.entry-points.alejandria] {plugin} = "your_package.plugin") and '
            "pip install -e . so users get it too")

    def test_resolve_gives_stable_unique_scopes(self, archive: Archive,
                                                contract_targets: list[str]) -> None:
        first = list(self._source(archive).resolve(contract_targets))
        second = list(self._source(archive).resolve(contract_targets))
        assert first, "resolve() yielded no targets"
        assert [t.scope for t in first] == [t.scope for t in second]
        assert len({t.scope for t in first}) == len(first)

    def test_first_sync_archives_posts_and_second_is_a_no_op(
            self, archive: Archive, contract_targets: list[str]) -> None:
        first = archive.sync(self.source_name, *contract_targets)
        assert first.ok, first.errors
        assert first.posts_written > 0
        before = reads.posts(archive, source=self.source_name)

        second = archive.sync(self.source_name, *contract_targets)

        assert second.ok, second.errors
        assert second.writes == 0, f"a re-sync wrote: {second}"
        assert reads.posts(archive, source=self.source_name) == before

    def test_every_post_is_searchable_text_or_flagged(self, archive: Archive,
                                                      contract_targets: list[str]) -> None:
        archive.sync(self.source_name, *contract_targets)
        with_text = {chunk.post for chunk in reads.chunks(archive, source=self.source_name)
                     if chunk.text}
        unindexed = [post.external_id for post in reads.posts(archive, source=self.source_name)
                     if post.has_text and post.external_id not in with_text]
        assert unindexed == [], "posts claim text but have no non-empty chunk"

    def test_every_linked_media_file_is_stored_whole(self, archive: Archive,
                                                     contract_targets: list[str]) -> None:
        report = archive.sync(self.source_name, *contract_targets)
        assert report.ok, report.errors
        links = reads.media_links(archive, source=self.source_name)
        broken = [link.key for link in links if not archive.media.verify(link.sha256)]
        assert broken == [], f"media linked but missing or damaged in the store: {broken}"

    def test_a_refused_file_is_fetched_again_on_the_next_sync(
            self, archive: Archive, contract_targets: list[str],
            monkeypatch: pytest.MonkeyPatch) -> None:
        """Every file fails in the first sync (as if the site answered 503), then the next
        sync must store each one: the pipeline keeps the target's cursor from before the
        failure, so a source that resumes from its cursor yields those posts again."""
        from alejandria.errors import ItemRejected
        from alejandria.models import MediaIn
        from alejandria.sync.pipeline import SyncRunner

        refused: list[str] = []

        def unavailable(_runner: SyncRunner, media: MediaIn) -> tuple[str, int, bool]:
            refused.append(media.key)
            raise ItemRejected(media.filename or media.key, "HTTP 503 (the contract test)")

        with monkeypatch.context() as patch:
            patch.setattr(SyncRunner, "_store_file", unavailable)
            first = archive.sync(self.source_name, *contract_targets)
        if not refused:
            pytest.skip("the contract targets archive no media files")
        assert first.notices, "a refused file must be reported"

        second = archive.sync(self.source_name, *contract_targets)

        assert second.ok, second.errors
        stored = {link.key for link in reads.media_links(archive, source=self.source_name)}
        missing = sorted(set(refused) - stored)
        assert missing == [], (
            f"files refused in one sync were not fetched by the next: {missing}; the source "
            "must yield a post again when it is handed the cursor from before it")
