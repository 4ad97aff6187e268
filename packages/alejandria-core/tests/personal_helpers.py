"""Shared pieces of the personal-data tests: three users, posts synced from the memory source."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import text

from alejandria.accounts.personal.service import Personal
from alejandria.accounts.service import AccountServices
from alejandria.models import Checkpoint, ChunkIn, CreatorIn, PostIn

from .accounts_helpers import PASSWORD

CREATOR = CreatorIn(external_id="ana", name="Ana")
BODY = ("La carta natal muestra el cielo. Mercurio rige la mente y la palabra. "
        "Venus rige el amor. Mercurio retrógrado llega en abril.")


def post(external_id: str, body: str = BODY, **extra: Any) -> PostIn:
    return PostIn(external_id=external_id, creator_external_id="ana",
                  title=f"Entrada {external_id}", text=body, **extra)


@dataclass
class People:
    ana: Personal
    bo: Personal
    rita: Personal  # readonly
    posts: list[int]


def post_ids(archive: Any) -> list[int]:
    with archive.engine.connect() as conn:
        return list(conn.execute(text("SELECT id FROM posts ORDER BY external_id")).scalars())


@pytest.fixture
def people(archive: Any, services: AccountServices, memory_source: Any) -> People:
    memory_source.content["t"] = [CREATOR, post("p1"), post("p2", "Otro texto, otra idea."),
                                  post("p3", "Un libro", chunks=(
                                      ChunkIn(text="Primera página del libro.", page=1),
                                      ChunkIn(text="Segunda página: el sol en Leo.", page=2))),
                                  Checkpoint()]
    archive.sync("memory", "t")
    ana = services.accounts.create("ana", PASSWORD)
    bo = services.accounts.create("bo", PASSWORD)
    rita = services.accounts.create("rita", PASSWORD, role="readonly")
    return People(archive.personal(ana), archive.personal(bo.actor),
                  archive.personal(rita.id), post_ids(archive))
