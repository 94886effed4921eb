"""Signed, expiring links for email verification and password reset.

Each purpose has its own salt, so a verification token can never be replayed as
a reset token. Payloads are signed, not encrypted (anyone holding the link can
base64-decode it), so they carry only a user id plus either the email address
the link was sent to or a keyed fingerprint of the account's secrets, never a
piece of the password hash itself.

A reset link is single use without any server-side bookkeeping: its fingerprint
covers the password hash and the session token, and resetting the password
changes both, so the same link no longer matches.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Literal

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from ..extensions import db
from ..models import User

VERIFY_SALT = "verify-email"
RESET_SALT = "reset-password"
VERIFY_MAX_AGE = 3 * 24 * 3600  # three days: mail can sit unread over a weekend
RESET_MAX_AGE = 3600  # one hour: a reset link is as good as the password

Problem = Literal["expired", "invalid"]


@dataclass(frozen=True)
class TokenCheck:
    """The user a link is for, or why it cannot be used."""

    user: User | None
    problem: Problem | None = None


def _serializer(salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=salt)


def _fingerprint(user: User) -> str:
    """Changes whenever the password, the session token or the email changes."""
    secret = str(current_app.config["SECRET_KEY"]).encode()
    material = f"{user.id}|{user.email}|{user.password_hash}|{user.session_token}".encode()
    return hmac.new(secret, material, hashlib.sha256).hexdigest()[:32]


def make_verify_token(user: User) -> str:
    """Bound to the address it is mailed to: after an email change it verifies nothing."""
    return _serializer(VERIFY_SALT).dumps({"uid": user.id, "email": user.email})


def make_reset_token(user: User) -> str:
    return _serializer(RESET_SALT).dumps({"uid": user.id, "fp": _fingerprint(user)})


def check_verify_token(token: str) -> TokenCheck:
    max_age = int(current_app.config.get("VERIFY_TOKEN_MAX_AGE", VERIFY_MAX_AGE))
    payload = _load(VERIFY_SALT, token, max_age)
    if isinstance(payload, str):
        return TokenCheck(None, payload)
    user = _user(payload)
    if user is None or not hmac.compare_digest(str(payload.get("email", "")), user.email):
        return TokenCheck(None, "invalid")
    return TokenCheck(user)


def check_reset_token(token: str) -> TokenCheck:
    max_age = int(current_app.config.get("RESET_TOKEN_MAX_AGE", RESET_MAX_AGE))
    payload = _load(RESET_SALT, token, max_age)
    if isinstance(payload, str):
        return TokenCheck(None, payload)
    user = _user(payload)
    if user is None or not user.active:
        return TokenCheck(None, "invalid")
    if not hmac.compare_digest(str(payload.get("fp", "")), _fingerprint(user)):
        return TokenCheck(None, "invalid")  # already used, or the password changed since
    return TokenCheck(user)


def _load(salt: str, token: str, max_age: int) -> dict | Problem:
    try:
        payload = _serializer(salt).loads(token, max_age=max_age)
    except SignatureExpired:
        return "expired"
    except BadSignature:
        return "invalid"
    return payload if isinstance(payload, dict) else "invalid"


def _user(payload: dict) -> User | None:
    user_id = payload.get("uid")
    if not isinstance(user_id, int) or isinstance(user_id, bool):
        return None
    return db.session.get(User, user_id)
