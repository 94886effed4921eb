"""Account rules: who may sign up and sign in, and what mail each step sends.

Views and the CLI call these; they own the commits. Two promises shape the code:

* Nobody learns whether an address has an account. Sign-up, sign-in and reset
  answer the same way and count attempts against a key whether or not the
  account exists. Before the response, both paths do the same work (sign-up and
  sign-in compute one password hash either way); whatever depends on the account
  (looking it up for sign-up and reset, creating it, building and sending mail)
  runs after the response is sent (`_after_response`), so timing does not tell.
* A password change (a reset) and signing out rotate `session_token`, which is
  part of the session id (`User.get_id`): every session cookie and remember-me
  cookie issued before, and every outstanding reset link, stops working.

Links in mails start with SITE_URL (`mail.external_url`), never with the Host
header of the request that asked for them. What staff change on an account (roles,
the admin's user form) is in `staff_edits`.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from flask import Response, after_this_request, current_app, has_request_context
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

from .. import mail, throttle
from ..extensions import db
from ..models import User
from ..models.accounts import ROLES
from . import tokens

PASSWORD_MIN = 10
PASSWORD_MAX = 200
EMAIL_MAX = 254

# Sign-in failures: per account (whether or not it exists) and per client address.
SIGN_IN_WINDOW = timedelta(minutes=15)
SIGN_IN_ACCOUNT_LIMIT = 5
SIGN_IN_ADDRESS_LIMIT = 20
# Mail that strangers can trigger (sign-up, reset): cap what one address receives and
# what one client may ask for, so the forms cannot be used to flood someone's inbox.
MAIL_WINDOW = timedelta(hours=1)
MAIL_PER_RECIPIENT = 5
MAIL_REQUESTS_PER_ADDRESS = 20


class AccountError(ValueError):
    """A request the rules refuse; `message` is written for the person who asked."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class EmailTaken(AccountError):
    """Another account already uses this address."""


class RateLimited(AccountError):
    """Too many attempts: the view answers 429."""


@dataclass(frozen=True)
class SignInResult:
    user: User | None
    limited: bool = False


def normalize_email(value: str) -> str:
    """Emails are stored trimmed and lower-cased, so lookups cannot be dodged by case."""
    return value.strip().lower()


def password_problem(password: str, email: str) -> str | None:
    """Why `password` is not acceptable for `email`, or None. Shared by forms and CLI."""
    if len(password) < PASSWORD_MIN:
        return f"Use at least {PASSWORD_MIN} characters."
    if len(password) > PASSWORD_MAX:
        return f"Use at most {PASSWORD_MAX} characters."
    if password.strip().lower() == normalize_email(email):
        return "Do not use your email address as your password."
    return None


def find_user(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == normalize_email(email)))


def create_user(
    email: str,
    password: str,
    role: str = "clinic",
    *,
    verified: bool = False,
    password_hash: str | None = None,
) -> User:
    """Insert and commit a new account; `AccountError` when the email is taken or invalid."""
    email = normalize_email(email)
    if role not in ROLES:
        raise AccountError(f"Role must be one of: {', '.join(ROLES)}.")
    if len(email) > EMAIL_MAX:
        raise AccountError(f"Use an email address of at most {EMAIL_MAX} characters.")
    problem = password_problem(password, email)
    if problem:
        raise AccountError(problem)
    user = User(
        email=email,
        password_hash=password_hash or generate_password_hash(password),
        role=role,
        email_verified_at=datetime.now(UTC) if verified else None,
        session_token=secrets.token_hex(16),
    )
    db.session.add(user)
    try:
        db.session.commit()
    except IntegrityError as exc:  # two sign-ups raced, or the address exists
        db.session.rollback()
        raise EmailTaken("An account with that email already exists.") from exc
    return user


def sign_up(email: str, password: str, client_address: str) -> None:
    """Create an unverified clinic account and mail a verification link.

    When the address already has an account, mail its owner a note instead; the
    person at the form sees the same page either way. Before the response only the
    client's limit and the password hash run, the same on both paths; the account
    itself is made after it (`_register`).
    """
    _count_mail_request(client_address)
    email = normalize_email(email)
    password_hash = generate_password_hash(password)
    _after_response(lambda: _register(email, password, password_hash))


def _register(email: str, password: str, password_hash: str) -> None:
    """Sign-up's second half: a new account and its link, or a note to the owner."""
    if find_user(email) is None:
        try:
            user = create_user(email, password, "clinic", password_hash=password_hash)
        except EmailTaken:
            pass  # a sign-up for the same address got there first
        else:
            _mail(email, lambda: _verification_mail(user))
            return
    _mail(email, lambda: _already_registered_mail(email))


def authenticate(email: str, password: str, client_address: str) -> SignInResult:
    """Check a sign-in attempt under the failure limits.

    Each attempt first takes one of the account's and one of the client's allowed
    attempts (`throttle.take`, atomic: 40 parallel guesses get exactly the limit
    checked). When none is left the answer is `limited=True` and the password is
    not looked at, so guessing on cannot reveal a right answer. A success gives
    its attempts back, so only failures count. Keys use the email as typed,
    existing or not, so lockouts cannot be used to find accounts.
    """
    email = normalize_email(email)
    account_key = f"sign-in:account:{email}"
    address_key = f"sign-in:address:{client_address}"
    dummy = _dummy_hash()  # made on the first call, whichever path that is
    if not throttle.take(account_key, SIGN_IN_ACCOUNT_LIMIT, SIGN_IN_WINDOW):
        return SignInResult(None, limited=True)
    if not throttle.take(address_key, SIGN_IN_ADDRESS_LIMIT, SIGN_IN_WINDOW):
        throttle.give_back(account_key)  # this attempt never reached the password
        return SignInResult(None, limited=True)
    user = find_user(email)
    password_ok = check_password_hash(user.password_hash if user is not None else dummy, password)
    if user is None or not password_ok or not user.active:
        return SignInResult(None)
    throttle.clear(account_key)
    throttle.give_back(address_key)
    return SignInResult(user)


def end_sessions(user: User) -> None:
    """Sign out on the server: every session of `user` ends, not just this browser's.

    Rotating `session_token` changes the session id, so session and remember-me
    cookies issued before (a copy taken from this browser included) name a user
    that no longer exists. Outstanding reset links die with it.
    """
    user.session_token = secrets.token_hex(16)
    db.session.commit()


def verify_email(token: str) -> tokens.TokenCheck:
    """Mark the address verified when the link is good (again is harmless)."""
    check = tokens.check_verify_token(token)
    if check.user is not None and check.user.email_verified_at is None:
        check.user.email_verified_at = datetime.now(UTC)
        db.session.commit()
    return check


def resend_verification(user: User) -> bool:
    """Mail a fresh link (after the response); False when this address had enough mail.

    Only the signed-in owner of the address asks, so the answer may say so.
    """
    if user.is_verified:
        return True
    if not _mail_allowed(user.email):
        return False
    user_id, to = user.id, user.email

    def send() -> None:
        fresh = db.session.get(User, user_id)
        if fresh is not None:
            _send(to, *_verification_mail(fresh))

    _after_response(send)
    return True


def request_password_reset(email: str, client_address: str) -> None:
    """Mail a reset link when an active account has this address; otherwise do nothing.

    The caller shows the same page either way. Before the response only the
    client's limit runs; the lookup and the mail come after it.
    """
    _count_mail_request(client_address)
    _after_response(lambda: _send_reset(normalize_email(email)))


def _send_reset(email: str) -> None:
    user = find_user(email)
    if user is not None and user.active:
        _mail(user.email, lambda: _reset_mail(user))


def reset_password(token: str, new_password: str) -> User:
    """Set a new password from a reset link; the link dies with the old password."""
    check = tokens.check_reset_token(token)
    if check.user is None:
        raise AccountError(
            "This link has expired." if check.problem == "expired" else "This link is not valid."
        )
    user = check.user
    problem = password_problem(new_password, user.email)
    if problem:
        raise AccountError(problem)
    set_password(user, new_password)
    # The link came by mail, so whoever used it controls the mailbox.
    if user.email_verified_at is None:
        user.email_verified_at = datetime.now(UTC)
    db.session.commit()
    # Proven control of the mailbox: let the owner sign in now despite earlier guesses.
    throttle.clear(f"sign-in:account:{user.email}")
    return user


def set_password(user: User, password: str) -> None:
    """Hash the new password and rotate the session token (the caller commits).

    Rotating signs out every other session and kills outstanding reset links.
    """
    user.password_hash = generate_password_hash(password)
    user.session_token = secrets.token_hex(16)


# -- mail ------------------------------------------------------------------------------------
_DUMMY_HASH: str | None = None


def _dummy_hash() -> str:
    """A real scrypt hash to check unknown emails against, so timing matches real ones."""
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = generate_password_hash(secrets.token_hex(16))
    return _DUMMY_HASH


def _count_mail_request(client_address: str) -> None:
    key = f"mail-request:address:{client_address}"
    if not throttle.take(key, MAIL_REQUESTS_PER_ADDRESS, MAIL_WINDOW):
        raise RateLimited("Too many requests from your network. Wait an hour and try again.")


def _after_response(work: Callable[[], None]) -> None:
    """Run `work` once the response has been sent (`call_on_close`); outside a request, now.

    After the response, `work` has an app context and a database session of its
    own. Its errors are logged, never shown: only one of two paths that must look
    alike would show them.
    """
    app = current_app._get_current_object()

    def run() -> None:
        try:
            work()
        except Exception:  # any database or transport error
            db.session.rollback()
            app.logger.exception("Account work after the response failed")

    if not has_request_context():
        run()
        return

    def run_in_context() -> None:
        with app.app_context():
            run()

    @after_this_request
    def when_done(response: Response) -> Response:
        response.call_on_close(run_in_context)
        return response


def _mail_allowed(to: str) -> bool:
    """Count one account mail for `to`; False when it already had enough this hour."""
    return throttle.take(f"mail:recipient:{to}", MAIL_PER_RECIPIENT, MAIL_WINDOW)


def _mail(to: str, build: Callable[[], tuple[str, str]]) -> bool:
    """Build and send one account mail, unless `to` already got enough this hour."""
    if not _mail_allowed(to):
        return False
    _send(to, *build())
    return True


def _send(to: str, subject: str, body: str) -> None:
    """Deliver, logging a failure: showing it only when an account exists would tell."""
    try:
        mail.send_mail(to, subject, body)
    except Exception:  # any transport error (OSError, SMTPException…)
        current_app.logger.exception("Could not send account mail")


def _verification_mail(user: User) -> tuple[str, str]:
    link = mail.external_url("account.verify_email", token=tokens.make_verify_token(user))
    return mail.render_mail("verify_email", link=link)


def _already_registered_mail(email: str) -> tuple[str, str]:
    return mail.render_mail(
        "already_registered",
        sign_in=mail.external_url("account.sign_in"),
        reset=mail.external_url("account.reset_request"),
    )


def _reset_mail(user: User) -> tuple[str, str]:
    link = mail.external_url("account.reset_password", token=tokens.make_reset_token(user))
    return mail.render_mail("reset_password", link=link)
