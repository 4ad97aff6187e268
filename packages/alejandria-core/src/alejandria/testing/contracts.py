"""Contract tests every source plugin must pass. Subclass and provide two things::

    from alejandria.testing.contracts import SourceContract

    class TestMySourceContract(SourceContract):
        source_name = "mysource"

        @pytest.fixture
        def contract_targets(self, tmp_path) -> list[str]:
            return [...]   # targets that archive at least one post

The ``archive`` fixture (from ``alejandria.testing``) must see the plugin: install it, or
register it in a fixture of your own named ``archive`` that wraps the core one.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text


class SourceContract:
    source_name: str = ""

    @pytest.fixture
    def contract_targets(self) -> list[str]:
        raise NotImplementedError("provide a contract_targets fixture")

    def _source(self, archive: Any) -> Any:
        from alejandria.plugin_types import SourceContext

        spec = archive.plugins.source(self.source_name)
        return spec.factory(SourceContext(settings=archive.settings))

    def test_resolve_gives_stable_unique_scopes(self, archive: Any,
                                                contract_targets: list[str]) -> None:
        first = list(self._source(archive).resolve(contract_targets))
        second = list(self._source(archive).resolve(contract_targets))
        assert first, "resolve() yielded no targets"
        assert [t.scope for t in first] == [t.scope for t in second]
        assert len({t.scope for t in first}) == len(first)

    def test_first_sync_archives_posts_and_second_is_a_no_op(
            self, archive: Any, contract_targets: list[str]) -> None:
        first = archive.sync(self.source_name, *contract_targets)
        assert first.ok, first.errors
        assert first.posts_written > 0
        with archive.engine.connect() as conn:
            before = conn.execute(text("SELECT id, content_hash, updated_at FROM posts "
                                       "ORDER BY id")).all()

        second = archive.sync(self.source_name, *contract_targets)

        assert second.ok, second.errors
        assert second.writes == 0, f"a re-sync wrote: {second}"
        with archive.engine.connect() as conn:
            after = conn.execute(text("SELECT id, content_hash, updated_at FROM posts "
                                      "ORDER BY id")).all()
        assert after == before

    def test_every_post_is_searchable_text_or_flagged(self, archive: Any,
                                                      contract_targets: list[str]) -> None:
        archive.sync(self.source_name, *contract_targets)
        with archive.engine.connect() as conn:
            unindexed = conn.execute(text(
                "SELECT p.external_id FROM posts p WHERE p.has_text AND NOT EXISTS "
                "(SELECT 1 FROM chunks c WHERE c.post_id = p.id AND c.text <> '')"
            )).scalars().all()
        assert unindexed == [], "posts claim text but have no non-empty chunk"
