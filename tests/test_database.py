"""The database under pressure: a full pool, a dead server, SQLite's write lock.

Real threads hold real connections and locks: PostgreSQL's pool is exhausted from
other threads, DATABASE_URL points at a closed port, and a second SQLite
connection holds the write lock (BEGIN IMMEDIATE) longer than the busy timeout.
The visitor gets a quick 503 with Retry-After, or the same form again with what
they typed, never a hang or a 500.
"""

from __future__ import annotations

import html
import re
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import pytest
from flask import Flask, request
from sqlalchemy import func, select, text

from directory import create_app
from directory.extensions import csrf, db
from directory.forms import BUSY_MESSAGE
from directory.listings.demo import load_demo
from directory.models import Clinic, Insurer, Revision, ThrottleEvent
from directory.search import sync
from tests.helpers import all_at_once, client_for, csrf_token, form_tokens, make_user

from .conftest import make_app
from .servers import free_port

MESSAGE = "The phone number changed & the IV price is now $650 a session."
CONTACT = "reader@example.org"


def _published_slug(app: Flask, demo_records) -> str:
    with app.app_context():
        load_demo(demo_records[:4], after_commit=sync.refresh)
        return min(db.session.scalars(select(Clinic.slug).where(Clinic.status == "published")))


def _count(app: Flask, stmt) -> int:
    with app.app_context():
        return db.session.scalar(stmt)


# -- settings -------------------------------------------------------------------------------
def test_postgres_pool_is_sized_from_the_server_threads(tmp_path):
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://postgres@127.0.0.1:5432/unused",
            "WEB_THREADS": "3",
            "DB_POOL_TIMEOUT": "2",
            "SECRET_KEY": "x",
            "TESTING": True,
        },
        instance_path=tmp_path,
    )
    with app.app_context():
        pool = db.engine.pool
        assert (pool.size(), pool._max_overflow, pool._timeout) == (4, 3, 2)
        assert pool._pre_ping


@pytest.mark.parametrize("name", ["WEB_THREADS", "DB_POOL_TIMEOUT", "SQLITE_BUSY_TIMEOUT_MS"])
def test_bad_pool_settings_stop_the_app_naming_the_variable(tmp_path, name):
    with pytest.raises(ValueError, match=name):
        create_app({name: "lots", "SECRET_KEY": "x", "TESTING": True}, instance_path=tmp_path)


def test_sqlite_connections_use_wal_and_the_busy_timeout(tmp_path):
    sqlite_app = contextmanager(make_app)("sqlite", tmp_path, SQLITE_BUSY_TIMEOUT_MS="1234")
    with sqlite_app as app, app.app_context():
        pragma = {
            name: db.session.execute(text(f"PRAGMA {name}")).scalar()
            for name in ("journal_mode", "busy_timeout", "synchronous")
        }
    assert pragma == {"journal_mode": "wal", "busy_timeout": 1234, "synchronous": 1}  # NORMAL


# -- PostgreSQL: a full pool, a server that is not there ------------------------------------
@pytest.fixture
def small_pool_app(tmp_path) -> Iterator[Flask]:
    """PostgreSQL with a pool of 2 (+ 1 overflow) and a 1-second wait for a connection."""
    yield from make_app("postgresql", tmp_path, WEB_THREADS="1", DB_POOL_TIMEOUT="1")


@contextmanager
def every_connection_held(app: Flask) -> Iterator[None]:
    """Other threads check out every connection the pool may open, until the block ends."""
    with app.app_context():
        limit = db.engine.pool.size() + db.engine.pool._max_overflow
    holding, release = threading.Barrier(limit + 1), threading.Event()

    def hold() -> None:
        with app.app_context(), db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            holding.wait(timeout=30)
            release.wait(timeout=60)

    threads = [threading.Thread(target=hold) for _ in range(limit)]
    for thread in threads:
        thread.start()
    try:
        holding.wait(timeout=30)
        yield
    finally:
        release.set()
        for thread in threads:
            thread.join(timeout=30)


def test_a_full_pool_answers_503_with_retry_after_within_the_pool_timeout(small_pool_app):
    client = small_pool_app.test_client()
    with every_connection_held(small_pool_app):
        started = time.monotonic()
        page = client.get("/clinics/some-clinic")
        api = client.get("/api/v1/clinics/some-clinic")
        elapsed = time.monotonic() - started
    assert page.status_code == 503 and page.headers["Retry-After"].isdigit()
    assert "text/html" in page.content_type and "busy" in page.get_data(as_text=True)
    assert api.status_code == 503 and api.headers["Retry-After"].isdigit()
    assert "busy" in api.get_json()["error"]["message"]
    assert elapsed < 10  # two waits of DB_POOL_TIMEOUT (1 s), not the 30 s default
    # Connections back in the pool: the same request is answered normally again.
    assert client.get("/clinics/some-clinic").status_code == 404


@pytest.fixture
def unreachable_app(tmp_path) -> Flask:
    """An app whose DATABASE_URL names a port where nothing listens."""
    url = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/directory"
    return create_app(
        {"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "x", "TESTING": True},
        instance_path=tmp_path,
    )


def test_a_database_that_refuses_connections_answers_503_not_500(unreachable_app):
    client = unreachable_app.test_client()
    page = client.get("/clinics/some-clinic")
    assert page.status_code == 503 and page.headers["Retry-After"].isdigit()
    assert "briefly unavailable" in page.get_data(as_text=True)
    api = client.get("/api/v1/search?where=Austin%2C+TX")
    assert api.status_code == 503 and api.headers["Retry-After"].isdigit()
    assert api.get_json()["error"]["message"]


def test_a_signed_in_visitor_gets_the_503_page_too(unreachable_app):
    """The page's header asks who is signed in; with no database it must not try."""
    client = unreachable_app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = "1"
        session["_fresh"] = True
    page = client.get("/account/")
    assert page.status_code == 503 and page.headers["Retry-After"].isdigit()


# -- SQLite: a write lock held longer than the busy timeout ---------------------------------
@contextmanager
def write_lock_held(database: str) -> Iterator[None]:
    """Another connection, in another thread, holds SQLite's write lock for the block."""
    locked, release = threading.Event(), threading.Event()

    def hold() -> None:
        conn = sqlite3.connect(database, isolation_level=None)
        try:
            conn.execute("BEGIN IMMEDIATE")
            locked.set()
            release.wait(timeout=60)
            conn.execute("ROLLBACK")
        finally:
            conn.close()

    thread = threading.Thread(target=hold)
    thread.start()
    try:
        assert locked.wait(timeout=10)
        yield
    finally:
        release.set()
        thread.join(timeout=30)


@pytest.fixture
def busy_app(tmp_path) -> Iterator[Flask]:
    """SQLite whose writers give up after 200 ms, with two test-only routes that write."""
    for app in make_app("sqlite", tmp_path, SQLITE_BUSY_TIMEOUT_MS="200"):

        @app.route("/test/write", methods=["GET", "POST"])
        def write() -> str:
            """A view that writes without reading a form."""
            db.session.add(ThrottleEvent(key=request.method, created_at=datetime.now(UTC)))
            db.session.commit()
            return "written"

        csrf.exempt(write)
        yield app


def _database(app: Flask) -> str:
    with app.app_context():
        return db.engine.url.database


def test_a_report_posted_while_the_database_is_locked_comes_back_with_its_values(
    busy_app, demo_records
):
    slug = _published_slug(busy_app, demo_records)
    client = busy_app.test_client()
    form = {"message": MESSAGE, "contact": CONTACT, "homepage": ""}
    form["csrf_token"] = csrf_token(client, f"/clinics/{slug}/report")
    with write_lock_held(_database(busy_app)):
        answer = client.post(f"/clinics/{slug}/report", data=form)
    page = answer.get_data(as_text=True)
    assert answer.status_code == 400
    assert BUSY_MESSAGE in page
    assert html.escape(MESSAGE, quote=False) in page and f'value="{CONTACT}"' in page
    assert "None" not in re.sub(r"<[^>]+>", "", page.split("<main", 1)[1])
    reports = select(func.count(Revision.id)).where(Revision.kind == "report")
    assert _count(busy_app, reports) == 0  # nothing was saved, as the page says
    # Once the lock is gone, the same form sends.
    form["csrf_token"] = csrf_token(client, f"/clinics/{slug}/report")
    assert client.post(f"/clinics/{slug}/report", data=form).status_code == 200
    assert _count(busy_app, reports) == 1


def test_a_sign_up_posted_while_the_database_is_locked_keeps_the_email(busy_app):
    client = busy_app.test_client()
    form = {
        "email": "new.clinic@example.org",
        "password": "correct horse battery staple",
        "confirm": "correct horse battery staple",
        "csrf_token": csrf_token(client, "/account/sign-up"),
    }
    with write_lock_held(_database(busy_app)):
        answer = client.post("/account/sign-up", data=form)
    page = answer.get_data(as_text=True)
    assert answer.status_code == 400
    assert BUSY_MESSAGE in page and 'value="new.clinic@example.org"' in page
    assert 'class="error-summary"' in page


def test_a_flask_admin_save_while_the_database_is_locked_shows_the_form_again(busy_app):
    """Flask-Admin catches the view's exceptions itself: its views flash the message."""
    editor = client_for(busy_app, make_user(busy_app, "ed@example.org", role="editor"))
    url = "/admin/insurers/new/"
    form = {"code": "harbor-health", "name": "Harbor Health Plan", "sort_order": "7"}
    data = {**form_tokens(editor, url), **form}
    with write_lock_held(_database(busy_app)):
        answer = editor.post(url, data=data)
    page = answer.get_data(as_text=True)
    assert answer.status_code == 200 and BUSY_MESSAGE in page
    assert 'value="harbor-health"' in page and 'value="Harbor Health Plan"' in page
    assert (
        _count(busy_app, select(func.count(Insurer.id)).where(Insurer.code == "harbor-health")) == 0
    )


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_write_without_a_form_answers_503_with_retry_after(busy_app, method):
    with write_lock_held(_database(busy_app)):
        answer = busy_app.test_client().open("/test/write", method=method)
    assert answer.status_code == 503 and answer.headers["Retry-After"].isdigit()
    assert "busy" in answer.get_data(as_text=True)
    assert _count(busy_app, select(func.count(ThrottleEvent.id))) == 0


# -- concurrent writers with the normal busy timeout ----------------------------------------
WRITERS, REPORTS_EACH = 8, 3


@pytest.fixture(params=["sqlite", "postgresql"])
def eight_thread_app(request, tmp_path) -> Iterator[Flask]:
    """An app configured as a server of WRITERS threads, with the default lock waits."""
    yield from make_app(request.param, tmp_path, WEB_THREADS=str(WRITERS))


def test_concurrent_report_writers_all_succeed(eight_thread_app, demo_records):
    """Eight threads, each a visitor from its own address, send three reports each: the
    pool (sized from WEB_THREADS) and SQLite's busy timeout absorb every collision."""
    app = eight_thread_app
    page = f"/clinics/{_published_slug(app, demo_records)}/report"
    visitors = []
    for number in range(WRITERS):  # each visitor's session and tokens, before the burst
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = f"198.51.100.{number + 1}"
        visitors.append((client, [csrf_token(client, page) for _ in range(REPORTS_EACH)]))

    def visitor(number: int) -> list[int]:
        client, tokens = visitors[number]
        statuses = []
        for n, token in enumerate(tokens):
            data = {"message": f"{MESSAGE} ({number}/{n})", "csrf_token": token}
            statuses.append(client.post(page, data=data).status_code)
        return statuses

    statuses = [status for each in all_at_once(WRITERS, visitor) for status in each]
    assert statuses == [200] * (WRITERS * REPORTS_EACH)
    reports = select(func.count(Revision.id)).where(Revision.kind == "report")
    assert _count(app, reports) == WRITERS * REPORTS_EACH
    assert _count(app, select(func.count(ThrottleEvent.id))) == WRITERS * REPORTS_EACH
