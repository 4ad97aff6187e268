"""Front-end libraries pinned from npm, served from our own origin under ``/static/vendor/``.

``packages/alejandria-web/frontend/package.json`` pins them (and its lock file their hashes);
``./dev setup`` runs ``npm ci`` there and then ``python -m alejandria_web.vendor`` copies the
files ``vendor.json`` lists into ``static/vendor/`` inside the package, so the app never
loads a script from a CDN and the Content-Security-Policy can allow ``'self'`` only.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

from litestar import Router
from litestar.static_files import create_static_files_router

from alejandria_web.security.access import Access, access

VENDOR_DIR = Path(__file__).parent / "static" / "vendor"
FRONTEND_DIR = Path(__file__).resolve().parents[2] / "frontend"


def vendor_router() -> Router:
    VENDOR_DIR.mkdir(parents=True, exist_ok=True)
    return create_static_files_router(
        path="/static/vendor", directories=[VENDOR_DIR], opt=access(Access.PUBLIC),
        include_in_schema=False, name="vendor",
        cache_control=None)


def installed(name: str) -> bool:
    """Whether the library ``name`` (a key of vendor.json) was copied in."""
    return (VENDOR_DIR / name).is_dir() and any((VENDOR_DIR / name).iterdir())


def copy_vendor(frontend: Path = FRONTEND_DIR, target: Path = VENDOR_DIR) -> list[Path]:
    """Copy the files vendor.json names from ``frontend/node_modules`` into ``target``."""
    manifest = json.loads((frontend / "vendor.json").read_text())
    copied = []
    for name, files in manifest.items():
        folder = target / name
        folder.mkdir(parents=True, exist_ok=True)
        for relative in files:
            source = frontend / "node_modules" / relative
            if not source.is_file():
                raise SystemExit(f"{source} is missing: run 'npm ci' in {frontend}")
            destination = folder / Path(relative).name
            shutil.copyfile(source, destination)
            copied.append(destination)
    return copied


if __name__ == "__main__":
    done = copy_vendor(Path(sys.argv[1]) if len(sys.argv) > 1 else FRONTEND_DIR)
    print(f"copied {len(done)} front-end files into {VENDOR_DIR.name}/")
