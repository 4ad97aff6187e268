from __future__ import annotations

from typing import Any

from alejandria_web.testing import login


def test_health_schema_and_login(client: Any, people: Any) -> None:
    assert client.get("/health").json()["checks"]["database"]["status"] == "ok"
    schema = client.get("/api/v1/schema/openapi.json")
    assert schema.status_code == 200
    assert "/api/v1/posts" in schema.json()["paths"]
    assert client.get("/api/v1/posts").status_code == 401
    login(client, people["user"])
    answer = client.get("/api/v1/posts")
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"items": [], "next": None}
