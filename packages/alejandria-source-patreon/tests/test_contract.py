"""The Patreon source passes core's source contract against the local Patreon."""

from __future__ import annotations

import pytest

from alejandria.testing.contracts import SourceContract


class TestPatreonSourceContract(SourceContract):
    source_name = "patreon"

    @pytest.fixture
    def contract_targets(self) -> list[str]:
        return ["artista"]
