"""Users, roles and passwords: argon2id, rehash, the dummy verify, the role table."""
# ruff: noqa: F811 (the fixtures imported from accounts_helpers are parameters here)

from __future__ import annotations

import pytest
from argon2 import PasswordHasher, Type
from argon2.profiles import RFC_9106_LOW_MEMORY

from alejandria.accounts.errors import AccountConflict, BadCredentials, LastAdmin, PermissionDenied
from alejandria.accounts.passwords import Passwords
from alejandria.accounts.service import build_services
from alejandria.errors import NotFound
from alejandria.settings import Settings

from .accounts_helpers import (  # noqa: F401 (fixtures)
    PASSWORD,
    audit_rows,
    clock,
    row_json,
    services,
)


def test_default_parameters_are_argon2id_rfc9106(tmp_path):
    hasher = Passwords.from_settings(Settings(data_dir=tmp_path)).hasher
    assert hasher.type is Type.ID
    assert (hasher.time_cost, hasher.memory_cost, hasher.parallelism) == (
        RFC_9106_LOW_MEMORY.time_cost, RFC_9106_LOW_MEMORY.memory_cost,
        RFC_9106_LOW_MEMORY.parallelism)
    assert hasher.hash("x" * 8).startswith("$argon2id$v=19$m=65536,t=3,p=4$")


def test_login_rehashes_a_hash_made_with_old_parameters(archive, services):
    user = services.accounts.create("ana", PASSWORD, role="admin")
    old = PasswordHasher(time_cost=1, memory_cost=32, parallelism=1).hash(PASSWORD)
    from sqlalchemy import update

    from alejandria.storage.schema import users
    with archive.engine.begin() as conn:
        conn.execute(update(users).where(users.c.id == user.id).values(password_hash=old))

    services.accounts.authenticate("ana", PASSWORD)

    with archive.engine.connect() as conn:
        stored = conn.execute(users.select().where(users.c.id == user.id)).one().password_hash
    assert stored != old and stored.startswith("$argon2id$")
    assert not services.accounts.users.passwords.needs_rehash(stored)


def test_unknown_user_runs_a_verify_like_a_known_one(services):
    services.accounts.create("ana", PASSWORD)
    passwords = services.accounts.users.passwords
    calls: list[str] = []

    class Recording(PasswordHasher):
        def verify(self, hash, password):
            calls.append(hash if isinstance(hash, str) else hash.decode())
            return super().verify(hash, password)

    base = passwords.hasher
    passwords.hasher = Recording(time_cost=base.time_cost, memory_cost=base.memory_cost,
                                 parallelism=base.parallelism, type=Type.ID)

    for name in ("ana", "nobody"):
        with pytest.raises(BadCredentials) as caught:
            services.accounts.authenticate(name, "wrong password")
        assert str(caught.value) == "invalid username or password"
    assert len(calls) == 2 and all(h.startswith("$argon2id$") for h in calls)


def test_usernames_are_unique_whatever_their_case(services):
    services.accounts.create("Ana", PASSWORD)
    with pytest.raises(AccountConflict):
        services.accounts.create("ana", PASSWORD)
    assert services.accounts.get("ANA").username == "Ana"
    assert services.accounts.authenticate("aNa", PASSWORD).username == "Ana"


def test_disabled_user_cannot_log_in(services):
    services.accounts.create("root", PASSWORD, role="admin")
    services.accounts.create("bo", PASSWORD)
    services.accounts.disable("bo")
    with pytest.raises(BadCredentials):
        services.accounts.authenticate("bo", PASSWORD)
    services.accounts.enable("bo")
    assert services.accounts.authenticate("bo", PASSWORD).last_login is not None


def test_the_last_active_admin_is_protected(services):
    ana = services.accounts.create("ana", PASSWORD, role="admin")
    for change in (lambda: services.accounts.set_role("ana", "user"),
                   lambda: services.accounts.disable("ana"),
                   lambda: services.accounts.delete("ana")):
        with pytest.raises(LastAdmin):
            change()
    services.accounts.create("bea", PASSWORD, role="admin")
    services.accounts.set_role("ana", "user", actor=ana.actor)
    assert services.accounts.get("ana").role == "user"
    with pytest.raises(LastAdmin):
        services.accounts.disable("bea")


@pytest.mark.parametrize("role", ["user", "readonly"])
def test_user_and_readonly_cannot_do_admin_actions(services, role):
    services.accounts.create("root", PASSWORD, role="admin")
    actor = services.accounts.create("pat", PASSWORD, role=role).actor
    other = services.accounts.create("other", PASSWORD)
    admin_actions = [
        lambda: services.accounts.create("x", PASSWORD, actor=actor),
        lambda: services.accounts.list(actor=actor),
        lambda: services.accounts.set_role("pat", "admin", actor=actor),
        lambda: services.accounts.disable("other", actor=actor),
        lambda: services.accounts.delete("other", actor=actor),
        lambda: services.accounts.set_password("other", PASSWORD, actor=actor),
        lambda: services.accounts.get(other.id, actor=actor),
        lambda: services.accounts.reset_2fa("other", actor=actor),
        lambda: services.tokens.create("other", "read", actor=actor),
        lambda: services.tokens.list(actor=actor),
        lambda: services.audit.entries(actor=actor),
    ]
    for action in admin_actions:
        with pytest.raises(PermissionDenied):
            action()
    # but their own account is theirs
    services.accounts.set_password("pat", "another password", actor=actor)
    assert services.accounts.get("pat", actor=actor).id == actor.user_id


def test_admin_actor_may_manage_users(services):
    root = services.accounts.create("root", PASSWORD, role="admin").actor
    bo = services.accounts.create("bo", PASSWORD, actor=root)
    services.accounts.set_role(bo.id, "readonly", actor=root)
    assert [u.username for u in services.accounts.list(actor=root)] == ["bo", "root"]
    services.accounts.delete("bo", actor=root)
    with pytest.raises(NotFound):
        services.accounts.get("bo")


def test_preferences_merge(services):
    user = services.accounts.create("ana", PASSWORD)
    services.accounts.set_preferences("ana", {"theme": "dark", "lang": "es"}, actor=user.actor)
    assert services.accounts.set_preferences("ana", {"lang": None}).preferences == {
        "theme": "dark"}


def test_each_user_change_leaves_one_audit_row_without_secrets(archive, services):
    root = services.accounts.create("root", PASSWORD, role="admin", client="10.0.0.1")
    services.accounts.create("bo", PASSWORD, actor=root.actor, client="10.0.0.1")
    services.accounts.set_role("bo", "readonly", actor=root.actor)
    services.accounts.disable("bo", actor=root.actor)
    services.accounts.enable("bo", actor=root.actor)
    services.accounts.set_password("bo", "new secret pw", actor=root.actor)
    services.accounts.delete("bo", actor=root.actor)

    rows = audit_rows(archive)
    assert [r["action"] for r in rows] == ["user.create", "user.create", "user.role",
                                           "user.disable", "user.enable", "user.password",
                                           "user.delete"]
    assert rows[1]["user_id"] == root.id and str(rows[1]["ip_address"]) == "10.0.0.1"
    assert rows[2]["changes"] == {"role": ["user", "readonly"]}
    for row in rows:
        text = row_json(row)
        assert PASSWORD not in text and "new secret pw" not in text and "argon2" not in text


def test_services_take_the_cost_from_the_settings(archive):
    cheap = archive.settings.model_copy(update={"password_memory_kib": 128})
    assert build_services(archive.engine, cheap).accounts.users.passwords.hasher.memory_cost \
        == 128
