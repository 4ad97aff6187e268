"""Contract tests every source plugin must pass. Subclass and provide two things::

    from alejandria.testing.contracts import SourceContract

    class TestMySourceContract(SourceContract):
        source_name = "mysource"

        @pytest.fixture
        def contract_targets(self, tmp_path) -> list[str]:
            return [...]   # targets that archive at least one post

The ``archive`` fixture (from ``alejandria.testing``) must see the plugin: install it, or
register it with ``register_plugin`` in an autouse fixture of the test class. Settings the
source needs come from ``alejandria_settings_overrides`` and the environment, as in a sync.
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

    @pytest.fixture
    def contract_targets(self) -> list[str]:
        raise NotImplementedError("provide a contract_targets fixture")

    def _source(self, archive: Archive) -> Source:
        return archive.source(self.source_name)

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
