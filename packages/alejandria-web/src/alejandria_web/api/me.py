"""My account: ``/api/v1/me/*`` — profile, password, preferences, sessions, 2FA, tokens.
What could take the account over (password, 2FA, tokens) needs a browser session: a token
cannot mint tokens or turn 2FA off."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Literal

import msgspec

from alejandria.accounts.errors import BadCredentials, TotpInvalid
from alejandria.errors import NotFound
from alejandria_web.api.common import (
    DELETE,
    GET,
    PATCH,
    POST,
    PUT,
    AnyRequest,
    actor,
    archive,
    client,
)
from alejandria_web.errors import ApiError
from alejandria_web.security.access import Access
from alejandria_web.security.identity import identify, sessions_of


class PasswordIn(msgspec.Struct, forbid_unknown_fields=True):
    current_password: str
    new_password: str


class PreferencesIn(msgspec.Struct):
    language: Literal["en", "es"] | None = None
    theme: Literal["light", "dark", "auto"] | None = None


class CodeIn(msgspec.Struct, forbid_unknown_fields=True):
    code: str


class DisableTotpIn(msgspec.Struct, forbid_unknown_fields=True):
    password: str
    code: str


class TokenIn(msgspec.Struct, forbid_unknown_fields=True):
    name: str = ""
    scope: Literal["read", "write", "admin"] = "read"
    expires_in_days: int | None = None


@GET("/api/v1/me", Access.SIGNED_IN, summary="My account")
def me(request: AnyRequest) -> dict[str, Any]:
    who = actor(request)
    accounts = archive(request).accounts
    user = accounts.get(who.user_id, actor=who)
    return {**user.as_json(), "recovery_codes_left":
            accounts.totp.recovery_codes_left(user.id, actor=who) if user.totp_enabled else 0}


@PUT("/api/v1/me/password", Access.SESSION, status_code=200,
     summary="Change my password (ends my other sessions)")
def change_password(request: AnyRequest, data: PasswordIn) -> dict[str, Any]:
    who = actor(request)
    try:
        archive(request).accounts.change_password(who.user_id, data.current_password,
                                                  data.new_password, actor=who,
                                                  client=client(request))
    except BadCredentials:
        # 400, not 401: the session is fine, the current password typed is not
        raise ApiError(400, "invalid_credentials", "the current password is wrong") from None
    identity = identify(request)
    keep = identity.session.id if identity and identity.session else None
    ended = sessions_of(request).delete_for_user(who.user_id, keep=keep)
    return {"changed": True, "other_sessions_ended": ended}


@PATCH("/api/v1/me/preferences", Access.SIGNED_IN, summary="Set my preferences")
def set_preferences(request: AnyRequest, data: PreferencesIn) -> dict[str, Any]:
    who = actor(request)
    values = {key: value for key, value in msgspec.structs.asdict(data).items()
              if value is not None}
    user = archive(request).accounts.set_preferences(who.user_id, values, actor=who)
    return {"preferences": user.preferences}


@GET("/api/v1/me/sessions", Access.SIGNED_IN, summary="My signed-in sessions")
def my_sessions(request: AnyRequest) -> dict[str, Any]:
    identity = identify(request)
    current = identity.session.id if identity and identity.session else None
    found = sessions_of(request).list_for_user(actor(request).user_id)
    return {"items": [s.as_json(current=current) for s in found]}


@DELETE("/api/v1/me/sessions/{session_id:str}", Access.SESSION, summary="End one session")
def end_session(request: AnyRequest, session_id: str) -> None:
    store = sessions_of(request)
    for found in store.list_for_user(actor(request).user_id):
        if found.id[:16] == session_id:
            store.delete(found.id)
            return
    raise NotFound(f"no session {session_id}")


@GET("/api/v1/me/2fa", Access.SIGNED_IN, summary="My two-factor state")
def totp_state(request: AnyRequest) -> dict[str, Any]:
    who = actor(request)
    accounts = archive(request).accounts
    user = accounts.get(who.user_id, actor=who)
    return {"enabled": user.totp_enabled, "recovery_codes_left":
            accounts.totp.recovery_codes_left(user.id, actor=who) if user.totp_enabled else 0}


@POST("/api/v1/me/2fa/enrol", Access.SESSION, status_code=200,
      summary="Start 2FA: a secret, its otpauth URI and QR code (SVG)")
def totp_enrol(request: AnyRequest) -> dict[str, Any]:
    who = actor(request)
    enrolment = archive(request).accounts.totp.enrol(who.user_id, actor=who,
                                                     client=client(request))
    return {"secret": enrolment.secret, "uri": enrolment.uri, "qr_svg": enrolment.qr_svg}


@POST("/api/v1/me/2fa/confirm", Access.SESSION, status_code=200,
      summary="Turn 2FA on with a code from the app; returns the recovery codes (once)")
def totp_confirm(request: AnyRequest, data: CodeIn) -> dict[str, Any]:
    who = actor(request)
    try:
        codes = archive(request).accounts.totp.confirm(who.user_id, data.code, actor=who,
                                                       client=client(request))
    except TotpInvalid:
        raise ApiError(400, "totp_invalid", "that code does not match: check the "
                       "authenticator app's clock and try the next code") from None
    return {"enabled": True, "recovery_codes": codes}


@POST("/api/v1/me/2fa/disable", Access.SESSION, status_code=200,
      summary="Turn 2FA off (password and a current code)")
def totp_disable(request: AnyRequest, data: DisableTotpIn) -> dict[str, Any]:
    who = actor(request)
    try:
        archive(request).accounts.totp.disable(who.user_id, data.password, data.code,
                                               actor=who, client=client(request))
    except BadCredentials:
        raise ApiError(400, "invalid_credentials", "the password is wrong") from None
    except TotpInvalid:
        raise ApiError(400, "totp_invalid", "that code does not match") from None
    return {"enabled": False}


@GET("/api/v1/me/tokens", Access.SIGNED_IN, summary="My API tokens (never the tokens)")
def my_tokens(request: AnyRequest) -> dict[str, Any]:
    who = actor(request)
    return {"items": [t.as_json() for t in archive(request).tokens.list(who.user_id,
                                                                         actor=who)]}


@POST("/api/v1/me/tokens", Access.SESSION, summary="Create an API token (shown once)")
def create_token(request: AnyRequest, data: TokenIn) -> dict[str, Any]:
    who = actor(request)
    expires = (timedelta(days=data.expires_in_days) if data.expires_in_days else None)
    new = archive(request).tokens.create(who.user_id, data.scope, name=data.name,
                                         expires_in=expires, actor=who, client=client(request))
    return {"token": new.token, **new.info.as_json()}


@DELETE("/api/v1/me/tokens/{token_id:int}", Access.SESSION, summary="Revoke my token")
def revoke_token(request: AnyRequest, token_id: int) -> None:
    who = actor(request)
    tokens = archive(request).tokens
    if not any(t.id == token_id for t in tokens.list(who.user_id, actor=who)):
        raise NotFound(f"no token {token_id}")  # another's token: as if it did not exist
    tokens.revoke(token_id, actor=who, client=client(request))


ROUTES = [me, change_password, set_preferences, my_sessions, end_session, totp_state,
          totp_enrol, totp_confirm, totp_disable, my_tokens, create_token, revoke_token]
