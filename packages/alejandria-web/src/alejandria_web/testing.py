"""The web test kit (a pytest plugin, on by installing alejandria-web): ``web_app`` over the
kit's fresh ``archive`` (a real Postgres), ``web_client`` speaking to it through ASGI,
``web_people`` of every role and ``web_signed_in(role)`` clients with a session and a CSRF
header. Web plugins test their routes with it the way the app tests its own."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from alejandria.api import Archive

PASSWORD = "correct horse battery staple"


@dataclass
class Person:
    id: int
    username: str
    role: str
    password: str = PASSWORD


@pytest.fixture
def web_app(archive: Archive) -> Litestar:
    from alejandria_web.app import create_app

    return create_app(archive=archive)


@pytest.fixture
def web_client(web_app: Litestar) -> Iterator[TestClient[Litestar]]:
    with TestClient(web_app, base_url="http://testserver.local") as test_client:
        yield test_client


@pytest.fixture
def web_new_client(web_app: Litestar) -> Callable[[], TestClient[Litestar]]:
    """More clients of the same app (a second browser, another user). They do not run the
    app's lifespan (a second lifespan of one app never ends): ``web_client`` does."""

    def make() -> TestClient[Litestar]:
        return TestClient(web_app, base_url="http://testserver.local")

    return make


@pytest.fixture
def web_people(archive: Archive) -> dict[str, Person]:
    """``admin``, ``user`` (alice), ``other`` (bob, a user too) and ``readonly``."""
    found = {}
    for key, name, role in [("admin", "root", "admin"), ("user", "alice", "user"),
                            ("other", "bob", "user"), ("readonly", "reader", "readonly")]:
        created = archive.accounts.create(name, PASSWORD, role=role)
        found[key] = Person(created.id, name, role)
    return found


def login(client: TestClient[Any], person: Person) -> str:
    """Sign ``person`` in on ``client``; the CSRF token, also set as the client's header."""
    answer = client.post("/api/v1/auth/login",
                         json={"username": person.username, "password": person.password})
    assert answer.status_code == 200, answer.text
    token = answer.json()["csrf_token"]
    client.headers["X-CSRF-Token"] = token
    return str(token)


@pytest.fixture
def web_signed_in(web_new_client: Callable[[], TestClient[Litestar]],
                  web_people: dict[str, Person]) -> Callable[[str], TestClient[Litestar]]:
    """``signed_in("user")``: a new client with that person's session and CSRF header."""

    def make(key: str) -> TestClient[Litestar]:
        test_client = web_new_client()
        login(test_client, web_people[key])
        return test_client

    return make
