"""API tokens: format, storage, scope capped by role, expiry, revocation, audit."""
# ruff: noqa: F811 (the fixtures imported from accounts_helpers are parameters here)

from __future__ import annotations

import base64
from datetime import timedelta

import pytest
from sqlalchemy import select

from alejandria.accounts.errors import InvalidToken, PermissionDenied
from alejandria.errors import NotFound
from alejandria.storage.schema import api_tokens

from .accounts_helpers import (  # noqa: F401 (fixtures)
    PASSWORD,
    audit_rows,
    clock,
    row_json,
    services,
)


def test_a_token_is_random_shown_once_and_stored_hashed(archive, services):
    ana = services.accounts.create("ana", PASSWORD)
    new = services.tokens.create("ana", "write", name="laptop", actor=ana.actor)
    assert new.token.startswith("alj_")
    assert len(base64.urlsafe_b64decode(new.token[4:] + "=")) >= 32
    assert "alj_" not in repr(new).replace(new.info.prefix, "")
    with archive.engine.connect() as conn:
        row = conn.execute(select(api_tokens)).one()
    assert new.token not in row_json(row._asdict())
    assert row.prefix == new.token[:12] and len(row.token_hash) == 64

    identity = services.tokens.check(new.token, "write")
    assert (identity.actor.username, identity.scope) == ("ana", "write")
    assert services.tokens.list("ana")[0].last_used_at is not None
    with archive.engine.connect() as request_conn:  # a connection the caller holds
        assert services.tokens.check(new.token, conn=request_conn).actor.user_id == ana.id


def test_scope_is_capped_by_the_owners_role(services):
    services.accounts.create("root", PASSWORD, role="admin")
    services.accounts.create("bo", PASSWORD)
    reader = services.accounts.create("rita", PASSWORD, role="readonly")
    with pytest.raises(PermissionDenied):
        services.tokens.create("bo", "admin")
    with pytest.raises(PermissionDenied):
        services.tokens.create("rita", "write", actor=reader.actor)
    assert services.tokens.create("rita", "read", actor=reader.actor).info.scope == "read"

    # a demoted owner's token loses power at once
    token = services.tokens.create("bo", "write").token
    services.accounts.set_role("bo", "readonly")
    assert services.tokens.check(token).scope == "read"
    with pytest.raises(PermissionDenied):
        services.tokens.check(token, "write")


def test_expired_revoked_unknown_and_disabled_tokens_are_refused(services, clock):
    services.accounts.create("root", PASSWORD, role="admin")
    bo = services.accounts.create("bo", PASSWORD)
    short = services.tokens.create("bo", "read", expires_in=timedelta(days=1)).token
    services.tokens.check(short)
    clock.advance(days=1)
    with pytest.raises(InvalidToken):
        services.tokens.check(short)

    revoked = services.tokens.create("bo", "read")
    services.tokens.revoke(revoked.info.id, actor=bo.actor)
    with pytest.raises(InvalidToken):
        services.tokens.check(revoked.token)

    for bogus in ("alj_nothing", "not-a-token", ""):
        with pytest.raises(InvalidToken):
            services.tokens.check(bogus)

    live = services.tokens.create("bo", "read").token
    services.accounts.disable("bo")
    with pytest.raises(InvalidToken):
        services.tokens.check(live)


def test_others_tokens_are_admin_business(services):
    root = services.accounts.create("root", PASSWORD, role="admin")
    bo = services.accounts.create("bo", PASSWORD)
    eve = services.accounts.create("eve", PASSWORD)
    token = services.tokens.create("bo", "read", actor=bo.actor)
    with pytest.raises(PermissionDenied):
        services.tokens.list("bo", actor=eve.actor)
    with pytest.raises(NotFound):  # another's token behaves like a missing one
        services.tokens.revoke(token.info.id, actor=eve.actor)
    assert [t.id for t in services.tokens.list(actor=root.actor)] == [token.info.id]
    services.tokens.revoke(token.info.id, actor=root.actor)
    assert services.tokens.list("bo") == []
    assert len(services.tokens.list("bo", include_revoked=True)) == 1


def test_token_create_and_revoke_are_audited_without_the_token(archive, services):
    bo = services.accounts.create("bo", PASSWORD)
    new = services.tokens.create("bo", "read", actor=bo.actor, client="2001:db8::1")
    services.tokens.revoke(new.info.id, actor=bo.actor)
    rows = [r for r in audit_rows(archive) if r["action"].startswith("token.")]
    assert [r["action"] for r in rows] == ["token.create", "token.revoke"]
    assert rows[0]["changes"]["scope"] == "read"
    assert str(rows[0]["ip_address"]) == "2001:db8::1"
    assert all(new.token not in row_json(r) and new.token[12:20] not in row_json(r)
               for r in rows)


def test_audit_refuses_a_secret_key(archive):
    from alejandria.accounts import audit

    with archive.engine.begin() as conn, pytest.raises(ValueError):
        audit.record(conn, "oops", changes={"password": "x"})


def test_audit_entries_filter_by_user_and_time(services, clock):
    root = services.accounts.create("root", PASSWORD, role="admin")
    bo = services.accounts.create("bo", PASSWORD, actor=root.actor)
    clock.advance(hours=1)
    since = clock.now
    services.accounts.set_role("bo", "readonly", actor=root.actor)
    entries = services.audit.entries(user_id=bo.id, since=since, actor=root.actor)
    assert [e.action for e in entries] == ["user.role"]
    assert len(services.audit.entries(user_id=bo.id)) == 2


def test_audit_entries_page_by_the_last_id_seen(services):
    root = services.accounts.create("root", PASSWORD, role="admin")
    for name in ("ana", "bo", "cy"):
        services.accounts.create(name, PASSWORD, actor=root.actor)
    first = services.audit.entries(limit=2, actor=root.actor)
    rest = services.audit.entries(limit=2, before=first[-1].id, actor=root.actor)
    everything = services.audit.entries(actor=root.actor)
    assert [e.id for e in first + rest] == [e.id for e in everything][:4]
    assert all(e.id < first[-1].id for e in rest)
