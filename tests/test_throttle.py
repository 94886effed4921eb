"""Rate-limit stores: the same tests on the database (SQLite, PostgreSQL) and on Redis.

The Redis store runs against a real server (TEST_REDIS_URL, default db 15 of
127.0.0.1:6379) under a random key prefix that is deleted afterwards. Without a
reachable Redis these tests are skipped locally and fail in CI (env CI set).

Parallel bursts run for real: 40 threads call `take` at once, and 40 clients
post wrong passwords for one account at once to a live threaded server. Exactly
the limit gets through, on every store.

Also here: TRUSTED_PROXIES (werkzeug's ProxyFix), so limits count per client
address behind a reverse proxy, and not per proxy.
"""

from __future__ import annotations

import http.client
import os
import re
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

import pytest
from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import select
from werkzeug.serving import make_server

from directory import create_app, throttle
from directory.account import services
from directory.account.services import SIGN_IN_ACCOUNT_LIMIT, authenticate, create_user
from directory.config import load_config
from directory.extensions import db
from directory.listings.demo import load_demo
from directory.listings.vocabulary import load_vocabularies
from directory.models import Clinic, ThrottleEvent
from directory.public.report import REPORTS_PER_HOUR
from directory.search import sync
from tests.conftest import make_app
from tests.helpers import all_at_once, text, token_in
from tests.servers import free_port

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
STORES = ("database-sqlite", "database-postgresql", "redis")
HOUR = timedelta(hours=1)
BURST = 40  # parallel requests in a burst


def _redis_client():
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        message = f"Redis is not reachable at {REDIS_URL} ({exc}); start redis-server"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return client


@pytest.fixture(params=STORES)
def store_app(request, tmp_path) -> Iterator[Flask]:
    """An app on a fresh database whose rate limits use the store named by the param."""
    kind = request.param
    engine = kind.split("-", 1)[1] if kind.startswith("database") else "sqlite"
    client = _redis_client() if kind == "redis" else None  # skips or fails before any app
    prefix = f"test-throttle-{uuid.uuid4().hex}:"
    apps = make_app(engine, tmp_path)
    app = next(apps)
    if client is not None:
        app.config.update(RATE_LIMIT_STORAGE=REDIS_URL, RATE_LIMIT_KEY_PREFIX=prefix)
        throttle.init_app(app)
    try:
        yield app
    finally:
        if client is not None:
            for name in client.scan_iter(match=prefix + "*"):
                client.delete(name)
            client.close()
        apps.close()


def _stored_state(app: Flask) -> list[tuple[str, list[str], int]]:
    """What the store holds: (key, members or times, seconds to live; -1 = never expires)."""
    store = app.extensions["directory.throttle"]
    if isinstance(store, throttle.RedisStore):
        return [
            (
                name.decode(),
                [m.decode() for m in store.client.zrange(name, 0, -1)],
                store.client.ttl(name),
            )
            for name in store.client.scan_iter(match=store.prefix + "*")
        ]
    return [
        (row.key, [row.created_at.isoformat()], -1)
        for row in db.session.scalars(select(ThrottleEvent))
    ]


def _event_count(app: Flask) -> int:
    """How many events the store holds, over all keys."""
    return sum(len(members) for _key, members, _ttl in _stored_state(app))


def test_the_configured_store_is_used(store_app, request):
    expected = throttle.RedisStore if "redis" in request.node.name else throttle.DatabaseStore
    assert isinstance(store_app.extensions["directory.throttle"], expected)


def test_counts_per_key_up_to_the_limit(store_app):
    with store_app.app_context():
        key, other = "sign-in:account:ann@example.com", "sign-in:account:bob@example.com"
        assert not throttle.too_many(key, 1, HOUR)
        for _ in range(3):
            throttle.hit(key)
        throttle.hit(other)
        assert throttle.too_many(key, 3, HOUR)
        assert not throttle.too_many(key, 4, HOUR)
        assert throttle.too_many(other, 1, HOUR) and not throttle.too_many(other, 2, HOUR)
        throttle.clear(key)
        assert not throttle.too_many(key, 1, HOUR)
        assert throttle.too_many(other, 1, HOUR)


def test_the_window_slides(store_app):
    """Events leave the count as they age past the window, one by one."""
    window = timedelta(seconds=1)
    with store_app.app_context():
        key = "report:198.51.100.7"
        first = time.monotonic()
        throttle.hit(key)
        time.sleep(0.4)
        throttle.hit(key)
        assert throttle.too_many(key, 2, window)  # both within the last second
        time.sleep(max(0.0, first + 1.15 - time.monotonic()))
        assert not throttle.too_many(key, 2, window)  # the first one has aged out
        assert throttle.too_many(key, 1, timedelta(seconds=30))
        assert throttle.too_many(key, 2, timedelta(seconds=30))


def test_a_window_longer_than_the_retention_is_refused(store_app):
    with store_app.app_context(), pytest.raises(ValueError, match="retention"):
        throttle.too_many("anything", 1, throttle.RETENTION + timedelta(seconds=1))


def test_old_events_are_dropped(store_app):
    """Events past RETENTION go: pruned from the table, trimmed from Redis by a hit."""
    with store_app.app_context():
        store, digest = store_app.extensions["directory.throttle"], throttle._digest("k")
        now = datetime.now(UTC)
        store.hit(digest, now - throttle.RETENTION - timedelta(minutes=5))
        store.hit(digest, now)
        throttle.prune()
        db.session.commit()
        assert store.count(digest, now - 3 * throttle.RETENTION) == 1


def test_stores_hold_only_hashes_and_forget(store_app):
    """Neither emails nor addresses reach the store; Redis keys expire by themselves."""
    email, address = "secret.person@example.com", "203.0.113.77"
    with store_app.app_context():
        throttle.hit(f"sign-in:account:{email}")
        throttle.hit(f"sign-in:address:{address}")
        state = _stored_state(store_app)
    assert len(state) == 2
    dump = repr(state)
    for needle in (email, "secret.person", address, "sign-in"):
        assert needle not in dump
    for key, _members, ttl in state:
        assert re.search(r"[0-9a-f]{64}$", key)
        if isinstance(store_app.extensions["directory.throttle"], throttle.RedisStore):
            assert 0 < ttl <= throttle.RETENTION.total_seconds() + 1


def test_sign_in_lockout_uses_the_store(store_app):
    """The account services' limits work the same on every store."""
    with store_app.app_context():
        create_user("owner@example.com", "a long enough password 1", verified=True)
        for _ in range(SIGN_IN_ACCOUNT_LIMIT):
            result = authenticate("owner@example.com", "wrong password", "192.0.2.1")
            assert result.user is None and not result.limited
        locked = authenticate("owner@example.com", "a long enough password 1", "192.0.2.1")
        assert locked.limited and locked.user is None
        throttle.clear("sign-in:account:owner@example.com")
        assert authenticate("owner@example.com", "a long enough password 1", "192.0.2.1").user


def test_take_counts_to_the_limit_and_no_further(store_app):
    with store_app.app_context():
        key = "mail:recipient:ann@example.com"
        assert [throttle.take(key, 3, HOUR) for _ in range(5)] == [True] * 3 + [False] * 2
        assert _event_count(store_app) == 3, "refused attempts are not stored"
        throttle.give_back(key)
        assert throttle.take(key, 3, HOUR) and not throttle.take(key, 3, HOUR)


def test_parallel_takes_never_overshoot(store_app):
    """40 threads, each with its own app context (and database connection), at once."""
    key, limit = "sign-in:account:burst@example.com", 5

    def attempt(_n: int) -> bool:
        with store_app.app_context():
            return throttle.take(key, limit, HOUR)

    assert Counter(all_at_once(BURST, attempt)) == {True: limit, False: BURST - limit}
    with store_app.app_context():
        assert _event_count(store_app) == limit


@contextmanager
def _serving(app: Flask) -> Iterator[int]:
    """`app` on a threaded werkzeug server on a free port (one thread per request)."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="throttle-server", daemon=True)
    thread.start()
    try:
        yield server.server_port
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


def _request(port: int, method: str, path: str, body: str = "", cookie: str = ""):
    """One HTTP request on a connection of its own: (status, cookies it set, page)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        if cookie:
            headers["Cookie"] = cookie
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        page = response.read().decode()
        pairs = [c.split(";")[0] for c in response.headers.get_all("Set-Cookie") or ()]
        return response.status, "; ".join(p for p in pairs if not p.endswith("=")), page
    finally:
        connection.close()


def test_a_burst_of_wrong_passwords_gets_exactly_the_limit_checked(store_app, monkeypatch):
    """40 clients post a wrong password for one account at the same moment.

    Counting before acting let a burst through: each request saw fewer than 5
    failures and checked its password. Now exactly SIGN_IN_ACCOUNT_LIMIT reach the
    password check (counted where services calls it, the real function beneath);
    every other request is answered 429 without one.
    """
    with store_app.app_context():
        create_user("target@example.com", "the right password 1", verified=True)
    checks: list[str] = []
    real_check = services.check_password_hash

    def counted(stored: str, password: str) -> bool:
        checks.append(password)  # list.append is atomic under the GIL
        return real_check(stored, password)

    monkeypatch.setattr(services, "check_password_hash", counted)
    with _serving(store_app) as port:

        def prepared(n: int) -> tuple[str, str]:
            """Each client's own session cookie and CSRF token, fetched before the burst."""
            status, cookie, page = _request(port, "GET", "/account/sign-in")
            assert status == 200 and cookie
            token = token_in(page)
            form = {"email": "target@example.com", "password": f"wrong guess {n}"}
            return cookie, urlencode({**form, "csrf_token": token})

        clients = [prepared(n) for n in range(BURST)]

        def guess(n: int) -> int:
            cookie, body = clients[n]
            return _request(port, "POST", "/account/sign-in", body, cookie)[0]

        statuses = Counter(all_at_once(BURST, guess))
    limit = SIGN_IN_ACCOUNT_LIMIT
    assert statuses == {400: limit, 429: BURST - limit}, statuses
    assert len(checks) == limit, f"{len(checks)} password checks against a limit of {limit}"
    with store_app.app_context():
        locked = authenticate("target@example.com", "the right password 1", "192.0.2.1")
        assert locked.limited and locked.user is None


@pytest.mark.parametrize(
    ("setting", "message"),
    [("memcached://127.0.0.1:11211", "RATE_LIMIT_STORAGE"), ("redis", "RATE_LIMIT_STORAGE")],
)
def test_a_bad_storage_setting_is_refused(tmp_path, setting, message):
    with pytest.raises(ValueError, match=message):
        load_config(tmp_path, SECRET_KEY="x", RATE_LIMIT_STORAGE=setting)


@pytest.mark.parametrize("setting", ["-1", "two", "6"])
def test_a_bad_proxy_count_is_refused(tmp_path, setting):
    with pytest.raises(ValueError, match="TRUSTED_PROXIES"):
        load_config(tmp_path, SECRET_KEY="x", TRUSTED_PROXIES=setting)


def test_storage_defaults_to_the_database(tmp_path, monkeypatch):
    monkeypatch.delenv("RATE_LIMIT_STORAGE", raising=False)
    monkeypatch.delenv("TRUSTED_PROXIES", raising=False)
    config = load_config(tmp_path, SECRET_KEY="x", TESTING=True)
    assert config["RATE_LIMIT_STORAGE"] == "database" and config["TRUSTED_PROXIES"] == 0


# -- behind a reverse proxy --------------------------------------------------------------


def _proxy_app(tmp_path: Path, demo_records, proxies: int) -> tuple[Flask, str]:
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test-secret-key",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'proxy.sqlite'}",
            "SEARCH_INDEX_DIR": str(tmp_path / "index"),
            "SERVER_NAME": "directory.test",
            "TRUSTED_PROXIES": proxies,
        },
        instance_path=tmp_path,
    )
    with app.app_context():
        upgrade()
        load_vocabularies()
        load_demo(demo_records[:4], after_commit=sync.refresh)
        slug = sorted(db.session.scalars(select(Clinic.slug).where(Clinic.status == "published")))[
            0
        ]
    return app, slug


def _report(client, slug: str, forwarded_for: str | None) -> int:
    page = client.get(f"/clinics/{slug}/report", environ_base={"REMOTE_ADDR": "10.0.0.2"})
    token = token_in(text(page))
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    response = client.post(
        f"/clinics/{slug}/report",
        data={"message": "The phone number changed last month.", "csrf_token": token},
        headers=headers,
        environ_base={"REMOTE_ADDR": "10.0.0.2"},  # the proxy
    )
    return response.status_code


def _clinic_url(client, slug: str, forwarded_proto: str | None) -> str:
    """The absolute link the API gives for a clinic (mails use SITE_URL instead)."""
    headers = {"X-Forwarded-Proto": forwarded_proto} if forwarded_proto else {}
    response = client.get(f"/api/v1/clinics/{slug}", headers=headers)
    assert response.status_code == 200
    return response.get_json()["url"]


@pytest.fixture
def proxied(tmp_path, demo_records) -> Iterator[Flask]:
    app, slug = _proxy_app(tmp_path, demo_records, proxies=1)
    app.config["REPORT_SLUG"] = slug
    yield app
    with app.app_context():
        db.engine.dispose()


def test_behind_one_proxy_limits_count_per_client(proxied):
    slug, client = proxied.config["REPORT_SLUG"], proxied.test_client()
    # The proxy appends the real client; what the client itself sent before it is ignored.
    for n in range(REPORTS_PER_HOUR):
        assert _report(client, slug, f"192.0.2.{n}, 203.0.113.5") == 200
    assert _report(client, slug, "192.0.2.99, 203.0.113.5") == 429
    assert _report(client, slug, "203.0.113.6") == 200  # another client, same proxy
    assert _clinic_url(client, slug, "https").startswith("https://directory.test/")
    assert _clinic_url(client, slug, None).startswith("http://directory.test/")


def test_without_trusted_proxies_forwarded_headers_are_ignored(tmp_path, demo_records):
    app, slug = _proxy_app(tmp_path, demo_records, proxies=0)
    client = app.test_client()
    for n in range(REPORTS_PER_HOUR):
        assert _report(client, slug, f"203.0.113.{n}") == 200
    assert _report(client, slug, "203.0.113.200") == 429  # all from the peer 10.0.0.2
    assert _clinic_url(client, slug, "https").startswith("http://directory.test/")
    with app.app_context():
        db.engine.dispose()


def test_an_unreachable_redis_answers_503_with_a_message_not_500(tmp_path):
    """Nothing listens on this port: limits cannot be checked, so the form says so."""
    dead_port = free_port()
    apps = make_app("sqlite", tmp_path)
    app = next(apps)
    try:
        app.config.update(RATE_LIMIT_STORAGE=f"redis://127.0.0.1:{dead_port}/0")
        throttle.init_app(app)
        client = app.test_client()
        page = client.get("/account/sign-in").get_data(as_text=True)
        token = token_in(page)
        response = client.post(
            "/account/sign-in",
            data={"email": "ann@example.com", "password": "whatever it is", "csrf_token": token},
        )
        assert response.status_code == 503
        assert "briefly unavailable" in response.get_data(as_text=True)
    finally:
        apps.close()
