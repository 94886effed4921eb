"""Accounts: sign-up and verification, sign-in limits, password reset, the users CLI.

Every test runs on SQLite and PostgreSQL (`fresh_app`) with CSRF protection on:
each POST carries the token from a form the same client fetched. Mail goes to the
file outbox (`directory.mail.outbox_messages`), which is read back like an inbox.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from email import message_from_bytes, policy
from email.message import EmailMessage
from urllib.parse import urlsplit

import html5lib
import pytest
from aiosmtpd.controller import Controller
from flask import Flask
from flask.testing import FlaskClient
from flask_login.utils import encode_cookie
from sqlalchemy import event, select

from directory import mail, throttle
from directory.account import services, tokens
from directory.extensions import db
from directory.models import ThrottleEvent, User
from tests.helpers import PASSWORD, csrf_token, get_user, make_user, sign_in, text
from tests.servers import free_port

NEW_PASSWORD = "a different long passphrase"
_CSRF = re.compile(r'<input[^>]*name="csrf_token"[^>]*value="([^"]+)"')
_LINK = re.compile(r"https?://\S+")


# -- helpers -------------------------------------------------------------------------------
def submit(client: FlaskClient, url: str, data: dict, form_page: str | None = None, **kwargs):
    """POST `data` with a CSRF token read from `form_page` (default: the same URL).

    `buffered` closes the response as a WSGI server would, which runs the mail
    sending that the account views defer until the response is done.
    """
    token = csrf_token(client, form_page or url, statuses=(200, 400))
    return client.post(url, data={**data, "csrf_token": token}, buffered=True, **kwargs)


def outbox(app: Flask) -> list[EmailMessage]:
    return mail.outbox_messages(app)


def link_path(message: EmailMessage) -> str:
    """The path of the one site link in a mail (the links are absolute)."""
    links = [u for u in _LINK.findall(message.get_content()) if "/account/" in u]
    assert len(links) >= 1, message.get_content()
    parts = urlsplit(links[0])
    assert parts.netloc == "directory.test"
    return parts.path


def without_tokens(body: str, *secrets: str) -> str:
    """The page with its CSRF token and the given strings blanked, for comparisons."""
    body = _CSRF.sub('<input name="csrf_token" value="-">', body)
    for secret in secrets:
        body = body.replace(secret, "…")
    return body


def location(response) -> tuple[str, str]:
    parts = urlsplit(response.headers["Location"])
    assert parts.netloc in ("", "directory.test"), response.headers["Location"]
    return parts.path, parts.query


# -- sign-up and verification -----------------------------------------------------------------
def test_sign_up_mails_a_link_that_verifies_the_address(fresh_app):
    app = fresh_app
    client = app.test_client()
    response = submit(
        client,
        "/account/sign-up",
        {"email": "  Ann@Example.COM ", "password": PASSWORD, "confirm": PASSWORD},
    )
    assert response.status_code == 200
    assert "Check your email" in text(response) and "ann@example.com" in text(response)

    user = get_user(app, "ann@example.com")
    assert user is not None and user.role == "clinic" and not user.is_verified
    assert user.password_hash.startswith("scrypt:") and PASSWORD not in user.password_hash
    assert len(user.session_token) == 32

    (message,) = outbox(app)
    assert message["To"] == "ann@example.com"
    assert message["From"] == "Ketamine Clinic Directory <no-reply@directory.invalid>"
    assert "Confirm your email" in message["Subject"]
    path = link_path(message)
    assert path.startswith("/account/verify/")

    response = client.get(path)
    assert response.status_code == 200 and "Email address confirmed" in text(response)
    assert get_user(app, "ann@example.com").is_verified
    assert client.get(path).status_code == 200  # following it again is harmless

    prefix = "/account/verify/"
    token = path[len(prefix) :]
    tampered = prefix + ("f" if token[0] == "e" else "e") + token[1:]  # changes the payload
    response = client.get(tampered)
    assert response.status_code == 400
    assert "not valid" in text(response) and "/account/sign-in?next=" in text(response)


def test_sign_up_with_a_taken_address_looks_the_same_and_mails_the_owner(fresh_app):
    app = fresh_app
    make_user(app, "bob@example.com")
    original_hash = get_user(app, "bob@example.com").password_hash
    client = app.test_client()
    fresh = submit(
        client,
        "/account/sign-up",
        {"email": "new@example.com", "password": PASSWORD, "confirm": PASSWORD},
    )
    taken = submit(
        client,
        "/account/sign-up",
        {"email": "BOB@example.com", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )
    assert fresh.status_code == taken.status_code == 200
    assert without_tokens(text(fresh), "new@example.com") == without_tokens(
        text(taken), "bob@example.com"
    )
    with client.session_transaction() as session:
        assert "_user_id" not in session  # nobody is signed in by signing up

    verify_mail, notice = outbox(app)
    assert verify_mail["To"] == "new@example.com" and "Confirm" in verify_mail["Subject"]
    assert notice["To"] == "bob@example.com"
    assert "tried to sign up" in notice["Subject"]
    body = notice.get_content()
    assert "/account/verify/" not in body
    assert "/account/sign-in" in body and "/account/reset" in body

    with app.app_context():
        assert db.session.scalar(select(User).where(User.email == "bob@example.com")) is not None
        assert len(db.session.scalars(select(User)).all()) == 2
    assert get_user(app, "bob@example.com").password_hash == original_hash


def test_form_errors_keep_values_and_sit_next_to_the_field(fresh_app):
    client = fresh_app.test_client()
    response = submit(
        client, "/account/sign-up", {"email": "ann@example", "password": "short", "confirm": ""}
    )
    assert response.status_code == 400
    body = text(response)
    assert 'value="ann@example"' in body
    assert re.search(
        r'<p class="field-error" id="email-error">Enter an email address like [^<]+</p>\s*'
        r"<input[^>]*aria-describedby=\"email-hint email-error\"[^>]*aria-invalid=\"true\"",
        body,
    ), body
    assert 'id="password-error">Use at least 10 characters.' in body
    assert 'value="short"' not in body  # passwords are never echoed back
    assert '<a href="#email">' in body  # the summary links to the field

    long_email = "a" * 250 + "@example.com"
    response = submit(
        client, "/account/sign-up", {"email": long_email, "password": "x" * 201, "confirm": ""}
    )
    assert response.status_code == 400
    body = text(response)
    assert f'value="{long_email}"' in body  # not truncated
    assert "at most 254 characters" in body and "at most 200 characters" in body
    assert "maxlength" not in body

    response = submit(
        client,
        "/account/sign-up",
        {"email": "ann@example.com", "password": "Ann@Example.com", "confirm": "Ann@Example.com"},
    )
    assert response.status_code == 400
    assert "Do not use your email address as your password." in text(response)

    response = submit(
        client,
        "/account/sign-up",
        {"email": "ann@example.com", "password": PASSWORD, "confirm": NEW_PASSWORD},
    )
    assert response.status_code == 400
    assert 'id="confirm-error">The two passwords do not match' in text(response)
    assert outbox(fresh_app) == []


# -- sign-in ----------------------------------------------------------------------------------
def test_sign_in_and_out(fresh_app):
    app = fresh_app
    make_user(app, "carol@example.com", "editor")
    client = app.test_client()
    response = sign_in(client, " Carol@Example.com", PASSWORD)
    assert response.status_code == 302 and location(response)[0] == "/admin/"

    page = text(client.get("/account/"))
    assert "carol@example.com" in page and "Editor" in page and 'href="/admin/"' in page
    assert client.get("/account/sign-in").status_code == 302  # already signed in

    response = submit(client, "/account/sign-out", {}, form_page="/account/")
    assert response.status_code == 302 and location(response)[0] == "/account/sign-in"
    response = client.get("/account/")
    assert response.status_code == 302 and location(response) == (
        "/account/sign-in",
        "next=%2Faccount%2F",
    )
    assert client.get("/account/sign-out").status_code == 405  # never by GET


def test_a_cookie_copied_before_sign_out_signs_nobody_in(fresh_app):
    """Sign-out ends the session on the server, not only in this browser."""
    app = fresh_app
    make_user(app, "ola@example.com")
    client = app.test_client()
    assert sign_in(client, "ola@example.com", PASSWORD).status_code == 302
    session_cookie = client.get_cookie("session", domain="directory.test")
    assert session_cookie is not None
    with app.test_request_context():
        user = db.session.scalar(select(User).where(User.email == "ola@example.com"))
        remember = encode_cookie(user.get_id())  # what "remember me" would have stored

    def replay(name: str, value: str) -> int:
        stranger = app.test_client()  # a fresh browser holding only the copied cookie
        stranger.set_cookie(name, value, domain="directory.test")
        return stranger.get("/account/").status_code

    assert replay("session", session_cookie.value) == 200  # the copy works before…
    assert replay("remember_token", remember) == 200
    response = submit(client, "/account/sign-out", {}, form_page="/account/")
    assert response.status_code == 302 and location(response)[0] == "/account/sign-in"
    assert replay("session", session_cookie.value) == 302  # …and not after
    assert replay("remember_token", remember) == 302
    assert sign_in(app.test_client(), "ola@example.com", PASSWORD).status_code == 302


def test_wrong_password_and_unknown_email_get_the_same_answer(fresh_app):
    app = fresh_app
    make_user(app, "dan@example.com")
    wrong = sign_in(app.test_client(), "dan@example.com", "not the password")
    unknown = sign_in(app.test_client(), "nobody@example.com", "not the password")
    assert wrong.status_code == unknown.status_code == 400
    assert "Email or password is incorrect." in text(wrong)
    assert without_tokens(text(wrong), "dan@example.com") == without_tokens(
        text(unknown), "nobody@example.com"
    )
    assert 'value="dan@example.com"' in text(wrong)


def test_an_account_locks_after_five_failures_whether_or_not_it_exists(fresh_app):
    app = fresh_app
    make_user(app, "erin@example.com")
    answers = {}
    for email in ("erin@example.com", "ghost@example.com"):
        client = app.test_client()
        for i in range(5):  # from different addresses: the account limit applies
            assert sign_in(client, email, "wrong password", f"198.51.100.{i}").status_code == 400
        locked = sign_in(client, email, "wrong password", "198.51.100.99")
        assert locked.status_code == 429
        assert "Too many attempts. Wait 15 minutes and try again." in text(locked)
        assert locked.headers["Retry-After"] == "900"
        answers[email] = without_tokens(text(locked), email)
    assert answers["erin@example.com"] == answers["ghost@example.com"]
    # Even the right password is refused while locked: guessing on reveals nothing.
    assert sign_in(app.test_client(), "erin@example.com", PASSWORD, "192.0.2.1").status_code == 429
    # Neither addresses nor emails are stored in clear.
    with app.app_context():
        keys = db.session.scalars(select(ThrottleEvent.key)).all()
    assert keys and all(re.fullmatch(r"[0-9a-f]{64}", key) for key in keys)


def test_a_client_address_locks_after_twenty_failures(fresh_app):
    app = fresh_app
    make_user(app, "fay@example.com")
    client = app.test_client()
    for i in range(20):
        response = sign_in(client, f"user{i}@example.com", "wrong password", "203.0.113.7")
        assert response.status_code == 400, i
    assert sign_in(client, "fresh@example.com", "wrong", "203.0.113.7").status_code == 429
    assert sign_in(client, "fay@example.com", PASSWORD, "203.0.113.7").status_code == 429
    response = sign_in(app.test_client(), "fay@example.com", PASSWORD, "203.0.113.8")
    assert response.status_code == 302


def test_a_successful_sign_in_clears_the_account_failures(fresh_app):
    app = fresh_app
    make_user(app, "gil@example.com")
    client = app.test_client()
    for _ in range(4):
        assert sign_in(client, "gil@example.com", "wrong password").status_code == 400
    assert sign_in(client, "gil@example.com", PASSWORD).status_code == 302
    other = app.test_client()
    for _ in range(4):
        assert sign_in(other, "gil@example.com", "wrong password").status_code == 400


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example",
        "https://evil.example",
        "https://evil.example/admin/",
        "/\\evil.example",
        "/\t/evil.example",
        "javascript:alert(1)",
        "evil.example",
    ],
)
def test_next_never_leaves_the_site(fresh_app, target):
    make_user(fresh_app, "hal@example.com")
    response = sign_in(fresh_app.test_client(), "hal@example.com", PASSWORD, next=target)
    assert response.status_code == 302
    assert response.headers["Location"] in ("/admin/", "http://directory.test/admin/")


def test_next_is_followed_within_the_site(fresh_app):
    make_user(fresh_app, "ida@example.com")
    client = fresh_app.test_client()
    page = text(client.get("/account/sign-in?next=/account/%3Ftab%3D1"))
    assert 'name="next" type="hidden" value="/account/?tab=1"' in page
    response = sign_in(client, "ida@example.com", PASSWORD, next="/account/?tab=1")
    assert location(response) == ("/account/", "tab=1")


def test_unverified_users_may_sign_in_and_ask_for_a_new_link(fresh_app):
    app = fresh_app
    make_user(app, "jo@example.com", verified=False)
    client = app.test_client()
    assert sign_in(client, "jo@example.com", PASSWORD).status_code == 302
    page = text(client.get("/account/"))
    assert "not confirmed yet" in page and "Send me a new link" in page
    response = submit(client, "/account/verify/resend", {}, form_page="/account/")
    assert response.status_code == 302
    assert "We sent a new link to jo@example.com" in text(client.get("/account/"))
    (message,) = outbox(app)
    assert client.get(link_path(message)).status_code == 200
    assert re.search(r"Email confirmed</dt>\s*<dd>Yes", text(client.get("/account/")))
    assert app.test_client().post("/account/verify/resend").status_code == 400  # no CSRF


def test_deactivated_or_rotated_sessions_are_signed_out(fresh_app):
    app = fresh_app
    make_user(app, "kim@example.com")
    client = app.test_client()
    sign_in(client, "kim@example.com", PASSWORD)
    assert client.get("/account/").status_code == 200
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "kim@example.com"))
        user.active = False
        db.session.commit()
    assert client.get("/account/").status_code == 302
    assert sign_in(app.test_client(), "kim@example.com", PASSWORD).status_code == 400


# -- password reset ---------------------------------------------------------------------------
def test_password_reset_end_to_end(fresh_app):
    app = fresh_app
    make_user(app, "lee@example.com", verified=False)
    elsewhere = app.test_client()  # a session that must end when the password changes
    assert sign_in(elsewhere, "lee@example.com", PASSWORD).status_code == 302
    assert elsewhere.get("/account/").status_code == 200

    client = app.test_client()
    known = submit(client, "/account/reset", {"email": "LEE@example.com"})
    unknown = submit(client, "/account/reset", {"email": "nobody@example.com"})
    assert known.status_code == unknown.status_code == 200
    assert "If an account exists" in text(known)
    assert without_tokens(text(known), "lee@example.com") == without_tokens(
        text(unknown), "nobody@example.com"
    )
    (message,) = outbox(app)  # nothing for the unknown address
    assert message["To"] == "lee@example.com" and "Reset your password" in message["Subject"]
    path = link_path(message)
    assert path.startswith("/account/reset/")

    form = client.get(path)
    assert form.status_code == 200 and "Choose a new password" in text(form)
    response = submit(client, path, {"password": NEW_PASSWORD, "confirm": "something else"})
    assert response.status_code == 400 and 'id="confirm-error"' in text(response)
    response = submit(client, path, {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 302 and location(response)[0] == "/account/sign-in"
    assert "Your password has changed" in text(client.get("/account/sign-in"))

    user = get_user(app, "lee@example.com")
    assert user.password_hash.startswith("scrypt:") and user.is_verified
    assert elsewhere.get("/account/").status_code == 302  # the other session ended
    assert sign_in(app.test_client(), "lee@example.com", PASSWORD).status_code == 400
    assert sign_in(app.test_client(), "lee@example.com", NEW_PASSWORD).status_code == 302

    # Single use: the link died with the old password.
    response = client.get(path)
    assert response.status_code == 400 and "not valid" in text(response)
    assert 'href="/account/reset"' in text(response)
    response = client.post(path, data={"csrf_token": csrf_token(client, "/account/reset")})
    assert response.status_code == 400


def test_account_mail_is_sent_after_the_response(fresh_app):
    """A slow mail relay must not make "account exists" answers slower than the rest."""
    make_user(fresh_app, "mia@example.com")
    client = fresh_app.test_client()
    token = csrf_token(client, "/account/reset")
    response = client.post("/account/reset", data={"email": "mia@example.com", "csrf_token": token})
    assert response.status_code == 200 and outbox(fresh_app) == []
    response.close()  # what the WSGI server does once the page is delivered
    assert [m["To"] for m in outbox(fresh_app)] == ["mia@example.com"]


@contextmanager
def work_before_the_response(app: Flask) -> Iterator[list[str]]:
    """Record what a request does: each SQL statement (its text, not its values) and
    each password hash, as "hash". Mail is counted by reading the outbox."""
    done: list[str] = []
    real_hash = services.generate_password_hash

    def counted_hash(password: str) -> str:
        done.append("hash")
        return real_hash(password)

    def statement(conn, cursor, sql: str, *args) -> None:
        done.append(" ".join(sql.split()))

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", statement)
    services.generate_password_hash = counted_hash
    try:
        yield done
    finally:
        services.generate_password_hash = real_hash
        event.remove(engine, "before_cursor_execute", statement)


@pytest.mark.parametrize(
    ("url", "fields"),
    [
        ("/account/sign-up", {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}),
        ("/account/reset", {}),
    ],
)
def test_known_and_unknown_addresses_do_the_same_work_before_the_response(
    fresh_app, monkeypatch, url, fields
):
    """Timing cannot tell whether an account exists: until the page is delivered
    both paths run the same statements and the same hashing, and send no mail;
    the lookup, the account and the mail all come after (when the server closes
    the response). Compared as work done, not as a clock, so it cannot flake."""
    app = fresh_app
    make_user(app, "known@example.com")
    monkeypatch.setattr(throttle, "PRUNE_ONE_IN", 10**9)  # no occasional table prune
    work: dict[str, list[str]] = {}
    responses = {}
    for email in ("known@example.com", "unknown@example.com"):
        client = app.test_client()
        token = csrf_token(client, url)
        with work_before_the_response(app) as done:
            response = client.post(url, data={"email": email, "csrf_token": token, **fields})
            work[email] = list(done)
        assert response.status_code == 200
        assert outbox(app) == [], "no mail before the response is delivered"
        responses[email] = response
    assert work["known@example.com"] == work["unknown@example.com"]
    assert work["known@example.com"].count("hash") == (1 if "sign-up" in url else 0)
    assert not any("user_account" in sql for sql in work["known@example.com"])

    for response in responses.values():
        response.close()  # the server delivered the page: now the mail path runs
    mailed = sorted(m["To"] for m in outbox(app))
    assert mailed == (
        ["known@example.com", "unknown@example.com"] if "sign-up" in url else ["known@example.com"]
    )


def test_reset_links_expire_and_cannot_be_forged(fresh_app):
    app = fresh_app
    make_user(app, "max@example.com")
    with app.test_request_context():
        user = db.session.scalar(select(User).where(User.email == "max@example.com"))
        reset = tokens.make_reset_token(user)
        verify = tokens.make_verify_token(user)
    client = app.test_client()
    assert client.get(f"/account/reset/{reset}").status_code == 200
    assert client.get(f"/account/reset/{verify}").status_code == 400  # other purpose, other salt
    forged = reset.rsplit(".", 1)[0] + ".AAAAAAAAAAAAAAAAAAAAAAAAAAA"
    assert client.get(f"/account/reset/{forged}").status_code == 400

    app.config["RESET_TOKEN_MAX_AGE"] = 0
    time.sleep(1.1)
    response = client.get(f"/account/reset/{reset}")
    assert response.status_code == 400 and "This link has expired." in text(response)


# -- CSRF, HTML, CLI, mail ----------------------------------------------------------------------
@pytest.mark.parametrize(
    "url",
    ["/account/sign-in", "/account/sign-up", "/account/reset", "/account/sign-out"],
)
def test_posts_without_a_csrf_token_are_refused(fresh_app, url):
    make_user(fresh_app, "ned@example.com")
    client = fresh_app.test_client()
    client.get("/account/sign-in")  # a session exists, but the form carries no token
    response = client.post(url, data={"email": "ned@example.com", "password": PASSWORD})
    assert response.status_code == 400
    assert "This form has expired" in text(response)
    assert outbox(fresh_app) == []


def test_account_pages_are_valid_accessible_html(fresh_app):
    app = fresh_app
    make_user(app, "ola@example.com", verified=False)
    client = app.test_client()
    bad_sign_up = submit(client, "/account/sign-up", {"email": "x", "password": "", "confirm": ""})
    pages = [
        client.get("/account/sign-in"),
        client.get("/account/sign-up"),
        bad_sign_up,
        client.get("/account/reset"),
        client.get("/account/reset/not-a-token"),
        client.get("/account/verify/not-a-token"),
    ]
    sign_in(client, "ola@example.com", PASSWORD)
    pages.append(client.get("/account/"))
    for response in pages:
        body = text(response)
        html5lib.HTMLParser(strict=True, namespaceHTMLElements=False).parse(response.data)
        assert body.count("<h1") == 1, body
        assert " style=" not in body and "<script" not in body and "<style" not in body
        ids = re.findall(r'\sid="([^"]+)"', body)
        assert not [i for i, n in Counter(ids).items() if n > 1], ids
        for described in re.findall(r'aria-describedby="([^"]+)"', body):
            assert all(part in ids for part in described.split()), described
        for field_id in re.findall(
            r'<input[^>]*\sid="([^"]+)"[^>]*type="(?:email|password)"', body
        ):
            assert f'<label for="{field_id}">' in body


def test_users_cli_creates_staff_and_changes_roles(fresh_app):
    app = fresh_app
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=["users", "create", "--email", "Pat@Directory.test", "--role", "editor"]
        + ["--password", PASSWORD]
    )
    assert result.exit_code == 0, result.output
    user = get_user(app, "pat@directory.test")
    assert user.role == "editor" and user.is_verified and user.password_hash.startswith("scrypt:")
    assert sign_in(app.test_client(), "pat@directory.test", PASSWORD).status_code == 302

    again = runner.invoke(
        args=["users", "create", "--email", "pat@directory.test", "--role", "admin"]
        + ["--password", PASSWORD]
    )
    assert again.exit_code == 1 and "already exists" in again.output
    short = runner.invoke(
        args=["users", "create", "--email", "q@example.com", "--role", "admin", "--password", "x"]
    )
    assert short.exit_code == 1 and "at least 10 characters" in short.output

    prompted = runner.invoke(
        args=["users", "create", "--email", "rae@example.com", "--role", "clinic"],
        input=f"{PASSWORD}\n{PASSWORD}\n",
    )
    assert prompted.exit_code == 0, prompted.output
    assert not get_user(app, "rae@example.com").is_verified  # clinics confirm by mail

    result = runner.invoke(
        args=["users", "set-role", "--email", "RAE@example.com", "--role", "admin"]
    )
    assert result.exit_code == 0 and "rae@example.com is now admin" in result.output
    rae = get_user(app, "rae@example.com")
    assert rae.role == "admin" and rae.is_verified
    missing = runner.invoke(
        args=["users", "set-role", "--email", "x@example.com", "--role", "admin"]
    )
    assert missing.exit_code == 1


def test_outbox_files_are_private_and_smtp_is_used_when_configured(fresh_app):
    app = fresh_app
    with app.app_context():
        mail.send_mail("sam@example.com", "Hello", "First line\n" + "x" * 120)
        mail.send_mail("sam@example.com", "Again", "Second")
    folder = mail.outbox_dir(app)
    files = sorted(folder.glob("*.eml"))
    assert len(files) == 2 and all(f.stat().st_mode & 0o077 == 0 for f in files)
    assert "x" * 120 in files[0].read_text()  # readable: no quoted-printable wrapping
    assert [m["Subject"] for m in outbox(app)] == ["Hello", "Again"]

    # A real SMTP server on loopback receives what the app sends once a host is set.
    received: list[EmailMessage] = []

    class Collect:
        async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd API)
            received.append(message_from_bytes(envelope.content, policy=policy.default))
            return "250 Message accepted"

    port = free_port()
    controller = Controller(Collect(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        app.config.update(
            MAIL_SMTP_HOST="127.0.0.1",
            MAIL_SMTP_PORT=str(port),
            MAIL_SMTP_STARTTLS="0",  # a relay on localhost; no certificate here
            MAIL_FROM="Directory <hello@directory.example>",
        )
        with app.app_context():
            mail.send_mail("tia@example.com", "Via SMTP", "Body")
    finally:
        controller.stop()
    assert [(m["To"], m["Subject"], m["From"]) for m in received] == [
        ("tia@example.com", "Via SMTP", "Directory <hello@directory.example>")
    ]
    assert received[0].get_content().strip() == "Body"
    assert len(outbox(app)) == 2  # nothing more written to the folder
