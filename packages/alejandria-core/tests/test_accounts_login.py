"""Logging in: throttling per account and per address, 2FA, replay, recovery codes, audit."""
# ruff: noqa: F811 (the fixtures imported from accounts_helpers are parameters here)

from __future__ import annotations

import pyotp
import pytest
from sqlalchemy import select

from alejandria.accounts.errors import (
    AccountConflict,
    AccountLocked,
    BadCredentials,
    PermissionDenied,
    TotpInvalid,
    TotpRequired,
)
from alejandria.storage.schema import users

from .accounts_helpers import (  # noqa: F401 (fixtures)
    PASSWORD,
    audit_rows,
    clock,
    row_json,
    services,
)


def _fail(services, name, times, client=None):
    for _ in range(times):
        with pytest.raises(BadCredentials):
            services.accounts.authenticate(name, "wrong password", client=client)


def test_five_failures_lock_the_account_and_the_lock_grows(services, clock):
    services.accounts.create("ana", PASSWORD)
    _fail(services, "ana", 5)
    with pytest.raises(AccountLocked) as locked:
        services.accounts.authenticate("ana", PASSWORD)
    assert locked.value.retry_after == 60

    clock.advance(seconds=61)
    _fail(services, "ana", 5)
    with pytest.raises(AccountLocked) as again:
        services.accounts.authenticate("ana", PASSWORD)
    assert again.value.retry_after == 120  # the second lockout in a row lasts twice as long

    clock.advance(seconds=121)
    assert services.accounts.authenticate("ana", PASSWORD).username == "ana"


def test_failures_outside_the_window_do_not_add_up(services, clock):
    services.accounts.create("ana", PASSWORD)
    _fail(services, "ana", 4)
    clock.advance(minutes=16)
    _fail(services, "ana", 4)
    assert services.accounts.authenticate("ana", PASSWORD).username == "ana"


def test_success_resets_the_account_counter(services):
    services.accounts.create("ana", PASSWORD)
    _fail(services, "ana", 4)
    services.accounts.authenticate("ana", PASSWORD)
    _fail(services, "ana", 4)
    assert services.accounts.authenticate("ana", PASSWORD).username == "ana"


def test_unknown_user_locks_alike_and_the_error_does_not_tell(services):
    services.accounts.create("ana", PASSWORD)
    _fail(services, "ana", 5)
    _fail(services, "ghost", 5)
    errors = []
    for name in ("ana", "ghost"):
        with pytest.raises(AccountLocked) as caught:
            services.accounts.authenticate(name, PASSWORD)
        errors.append(str(caught.value))
    assert errors[0] == errors[1]


def test_one_address_is_locked_across_usernames(services, clock):
    services.accounts.create("ana", PASSWORD)
    for name in ("a1", "a2", "a3", "a4", "a5"):
        _fail(services, name, 1, client="192.0.2.7")
    with pytest.raises(AccountLocked):
        services.accounts.authenticate("ana", PASSWORD, client="192.0.2.7")
    assert services.accounts.authenticate("ana", PASSWORD, client="192.0.2.8")
    clock.advance(minutes=2)
    assert services.accounts.authenticate("ana", PASSWORD, client="192.0.2.7")


def test_logins_are_audited_without_secrets(archive, services):
    services.accounts.create("ana", PASSWORD)
    _fail(services, "ana", 5, client="192.0.2.9")
    with pytest.raises(AccountLocked):
        services.accounts.authenticate("ana", PASSWORD, client="192.0.2.9")

    rows = [r for r in audit_rows(archive) if r["action"].startswith("login.")]
    assert [r["action"] for r in rows] == ["login.failure"] * 5 + ["login.locked"]
    assert rows[4]["changes"]["locked_s"] == "60"
    assert all(str(r["ip_address"]) == "192.0.2.9" for r in rows)
    assert not any("wrong password" in row_json(r) or PASSWORD in row_json(r) for r in rows)


def _enrol(services, clock, name="ana"):
    user = services.accounts.create(name, PASSWORD)
    enrollment = services.accounts.totp.enrol(user.id, actor=user.actor)
    assert enrollment.uri.startswith("otpauth://totp/Alejandria:")
    assert enrollment.qr_svg.startswith("<svg")
    totp = pyotp.TOTP(enrollment.secret)
    codes = services.accounts.totp.confirm(user.id, totp.at(clock.now), actor=user.actor)
    return user, totp, codes


def test_enrol_confirm_then_login_needs_a_code(archive, services, clock):
    user = services.accounts.create("ana", PASSWORD)
    enrollment = services.accounts.totp.enrol(user.id, actor=user.actor)
    # not on until confirmed
    assert services.accounts.authenticate("ana", PASSWORD).totp_enabled is False
    with pytest.raises(TotpInvalid):
        services.accounts.totp.confirm(user.id, "000000")
    totp = pyotp.TOTP(enrollment.secret)
    codes = services.accounts.totp.confirm(user.id, totp.at(clock.now))
    assert len(codes) == 10 and len(set(codes)) == 10

    with pytest.raises(TotpRequired):
        services.accounts.authenticate("ana", PASSWORD)
    clock.advance(seconds=30)
    assert services.accounts.authenticate("ana", PASSWORD, totp.at(clock.now)).totp_enabled
    # the secret is stored encrypted
    with archive.engine.connect() as conn:
        stored = conn.execute(select(users.c.totp_secret)).scalar_one()
    assert enrollment.secret not in stored


def test_a_code_is_accepted_one_step_early_or_late(services, clock):
    _user, totp, _codes = _enrol(services, clock)
    clock.advance(seconds=60)
    previous = totp.at(clock.now.timestamp() - 30)
    assert services.accounts.authenticate("ana", PASSWORD, previous)
    clock.advance(seconds=60)
    with pytest.raises(TotpInvalid):
        services.accounts.authenticate("ana", PASSWORD, totp.at(clock.now.timestamp() - 90))


def test_a_replayed_code_is_refused(services, clock):
    _user, totp, _codes = _enrol(services, clock)
    clock.advance(seconds=30)
    code = totp.at(clock.now)
    services.accounts.authenticate("ana", PASSWORD, code)
    with pytest.raises(TotpInvalid):
        services.accounts.authenticate("ana", PASSWORD, code)
    # and an older step, though inside the window, is refused too
    with pytest.raises(TotpInvalid):
        services.accounts.authenticate("ana", PASSWORD,
                                       totp.at(clock.now.timestamp() - 30))


def test_a_recovery_code_works_once(services, clock):
    user, _totp, codes = _enrol(services, clock)
    assert services.accounts.authenticate("ana", PASSWORD, codes[0]).id == user.id
    with pytest.raises(TotpInvalid):
        services.accounts.authenticate("ana", PASSWORD, codes[0])
    assert services.accounts.totp.recovery_codes_left(user.id) == 9


def test_disable_needs_password_and_code(services, clock):
    user, totp, _codes = _enrol(services, clock)
    clock.advance(seconds=30)
    with pytest.raises(BadCredentials):
        services.accounts.totp.disable(user.id, "not the password", totp.at(clock.now))
    with pytest.raises(TotpInvalid):
        services.accounts.totp.disable(user.id, PASSWORD, "123456")
    services.accounts.totp.disable(user.id, PASSWORD, totp.at(clock.now), actor=user.actor)
    assert services.accounts.authenticate("ana", PASSWORD).totp_enabled is False


def test_enrol_twice_is_refused_and_admin_reset_is_audited(archive, services, clock):
    root = services.accounts.create("root", PASSWORD, role="admin")
    user, _totp, codes = _enrol(services, clock)
    with pytest.raises(AccountConflict):
        services.accounts.totp.enrol(user.id)
    services.accounts.reset_2fa("ana", actor=root.actor, client="192.0.2.1")
    assert services.accounts.authenticate("ana", PASSWORD).totp_enabled is False

    rows = [r for r in audit_rows(archive) if r["action"].startswith("2fa.")]
    assert [(r["action"], r["entity_id"]) for r in rows] == [("2fa.enrol", str(user.id)),
                                                             ("2fa.reset", str(user.id))]
    assert rows[1]["user_id"] == root.id
    for row in rows:
        assert not any(code in row_json(row) for code in codes)


def test_a_pending_enrolment_can_be_shown_again_until_confirmed(services, clock):
    user = services.accounts.create("ana", PASSWORD)
    other = services.accounts.create("bo", PASSWORD)
    totp = services.accounts.totp
    assert totp.pending(user.id, actor=user.actor) is None
    started = totp.enrol(user.id, actor=user.actor)

    again = totp.pending(user.id, actor=user.actor)

    assert again == started  # the same secret, URI and QR code: reading it changes nothing
    assert totp.pending(user.id, actor=user.actor) == started
    with pytest.raises(PermissionDenied):
        totp.pending(user.id, actor=other.actor)
    totp.confirm(user.id, pyotp.TOTP(started.secret).at(clock.now), actor=user.actor)
    assert totp.pending(user.id, actor=user.actor) is None  # on: nothing is pending
