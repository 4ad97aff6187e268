"""docs/web.md's "Write a web plugin" example, run as written: its route, menu entry and
static folder work through the web hooks, with the route's declared access enforced."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from typing import Any

import pytest

from alejandria_web.testing import login

DOCS = Path(__file__).resolve().parents[3] / "docs" / "web.md"


def example_source() -> str:
    section = DOCS.read_text().split("## Write a web plugin", 1)[1]
    found = re.search(r"```python\n(.*?)```", section, re.S)
    assert found, "docs/web.md lost its web plugin example"
    return found.group(1)


@pytest.fixture
def bookmarks_plugin(tmp_path: Path) -> Any:
    package = tmp_path / "alejandria_bookmarks"
    (package / "static").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "plugin.py").write_text(example_source())
    (package / "static" / "bookmarks.css").write_text("body { color: teal }\n")
    spec = importlib.util.spec_from_file_location("alejandria_bookmarks.plugin",
                                                  package / "plugin.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.modules.pop(spec.name, None)


def test_the_documented_web_plugin_works(archive: Any, register_plugin: Any,
                                         bookmarks_plugin: Any, people: Any,
                                         catalogue: Any) -> None:
    from litestar.testing import TestClient

    from alejandria_web.app import create_app

    register_plugin(bookmarks_plugin, name="bookmarks")
    app = create_app(archive=archive)
    with TestClient(app, base_url="http://testserver.local") as client:
        assert client.get("/api/v1/bookmarks/latest").status_code == 401
        assert client.get("/api/v1/menu").json()["items"] == []
        login(client, people["readonly"])
        answer = client.get("/api/v1/bookmarks/latest")
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"latest": ["Tránsitos"]}  # no dates: the newest id first
        static = client.get("/static/plugins/bookmarks/bookmarks.css")
        assert static.status_code == 200 and "teal" in static.text
        menu = client.get("/api/v1/menu", headers={"Accept-Language": "es-ES"}).json()
        assert {"label": "Marcadores", "href": "/api/v1/bookmarks/latest"} in menu["items"]
        schema = client.get("/api/v1/schema/openapi.json").json()
        assert "/api/v1/bookmarks/latest" in schema["paths"]
