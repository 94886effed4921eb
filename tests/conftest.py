"""Shared fixtures: real databases (SQLite and PostgreSQL), real search engines.

Every database fixture is parametrised over both engines, so each test that uses
one runs twice. The PostgreSQL database is created by the suite itself on the
local server (127.0.0.1:5432, user postgres) and dropped afterwards.

Search tests use `search_app` / `search_client` / `search_fresh_app` instead: they
run on every (database, search backend) pair in SEARCH_SETUPS, so one contract
suite covers the Whoosh index on both databases and the PostgreSQL backend.

Fixtures several modules share (`site`, `stale_listings`) live here too, and
helpers in `helpers.py`, so test modules never import each other.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import NoReturn

import psycopg
import pytest
from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import select

from directory import create_app
from directory.extensions import db
from directory.listings.demo import generate_demo_records, load_demo
from directory.listings.vocabulary import load_vocabularies
from directory.models import Clinic
from directory.models.clinic import STALE_AFTER_DAYS
from directory.search import sync
from tests import openapi_check
from tests.helpers import Site, make_user

PG_ADMIN_DSN = os.environ.get("TEST_PG_ADMIN_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
ENGINES = ("sqlite", "postgresql")
# (database engine, search backend) pairs the search contract runs on, by test id.
SEARCH_SETUPS = {
    "sqlite-whoosh": ("sqlite", "whoosh"),
    "postgresql-whoosh": ("postgresql", "whoosh"),
    "postgresql-pgsearch": ("postgresql", "postgres"),
}
# Test databases are copies of a template that already has PostGIS (which migration
# 0003 needs): CREATE EXTENSION costs ~0.4 s per database, a copy almost nothing.
# The template is kept between runs (one per PostGIS version, never connected to
# after it is made), so a killed run leaves nothing new behind.
TEMPLATE_PREFIX = "directory_test_template_postgis_"
_pg_template: str | None = None


def _dsn(name: str) -> str:
    return f"{PG_ADMIN_DSN.rsplit('/', 1)[0]}/{name}"


def _missing(problem: str) -> NoReturn:
    """Skip a test whose PostgreSQL is missing, or fail it in CI (CI may not skip)."""
    message = f"{problem} `make test` installs and starts it as root (.ci/provision)."
    if os.environ.get("CI"):
        pytest.fail(f"CI is set, so PostgreSQL tests may not be skipped: {message}")
    pytest.skip(message)


def _template() -> str:
    """The template database's name, made once per server and PostGIS version."""
    global _pg_template
    if _pg_template is not None:
        return _pg_template
    try:
        conn = psycopg.connect(PG_ADMIN_DSN, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        _missing(f"PostgreSQL is not reachable at {PG_ADMIN_DSN} ({exc}).")
    with conn:
        row = conn.execute(
            "SELECT default_version FROM pg_available_extensions WHERE name = 'postgis'"
        ).fetchone()
        if row is None:
            _missing("PostGIS is not installed on the test server.")
        name = TEMPLATE_PREFIX + row[0].replace(".", "_")
        # Several test runs may start at once: one makes the template, the others wait.
        conn.execute("SELECT pg_advisory_lock(hashtext(%s))", (TEMPLATE_PREFIX,))
        try:
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
                building = f"{name}_building"
                conn.execute(f'DROP DATABASE IF EXISTS "{building}"')
                conn.execute(f'CREATE DATABASE "{building}"')
                with psycopg.connect(_dsn(building), autocommit=True) as template:
                    template.execute("CREATE EXTENSION IF NOT EXISTS postgis")
                # Renamed only when complete, so no run copies a half-made template.
                conn.execute(f'ALTER DATABASE "{building}" RENAME TO "{name}"')
        finally:
            conn.execute("SELECT pg_advisory_unlock(hashtext(%s))", (TEMPLATE_PREFIX,))
    _pg_template = name
    return name


def _create_pg_database() -> tuple[str, str]:
    name = f"directory_test_{uuid.uuid4().hex[:10]}"
    template = _template()
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    return name, _dsn(name).replace("postgresql://", "postgresql+psycopg://")


def _drop_pg_database(name: str) -> None:
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def make_app(
    engine: str, workdir: Path, search_backend: str = "whoosh", **config: object
) -> Iterator[Flask]:
    """An app on a brand-new database of `engine`, schema made by the migrations;
    `config` overrides settings (e.g. a short DB_POOL_TIMEOUT)."""
    workdir.mkdir(parents=True, exist_ok=True)
    pg_name = None
    if engine == "sqlite":
        url = f"sqlite:///{workdir / 'test.sqlite'}"
    else:
        pg_name, url = _create_pg_database()
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test-secret-key",
            "SQLALCHEMY_DATABASE_URI": url,
            "SEARCH_BACKEND": search_backend,
            "SEARCH_INDEX_DIR": str(workdir / "index"),
            "SERVER_NAME": "directory.test",
            **config,
        },
        instance_path=workdir,
    )
    # Every /api/v1 answer of every test must validate against the OpenAPI document.
    openapi_check.install(app)
    with app.app_context():
        upgrade()
        load_vocabularies()
    try:
        yield app
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        if pg_name:
            _drop_pg_database(pg_name)


@pytest.fixture(autouse=True)
def _api_answers_match_the_document() -> Iterator[None]:
    """Fail a test any of whose API answers did not validate, even if it caught the error."""
    openapi_check.FAILURES.clear()
    yield
    failures = list(openapi_check.FAILURES)
    openapi_check.FAILURES.clear()
    assert not failures, "API answers not described by the OpenAPI document:\n" + "\n".join(
        failures
    )


@pytest.fixture(scope="session")
def demo_records() -> list[dict]:
    return generate_demo_records()


@pytest.fixture(scope="session")
def demo_apps(tmp_path_factory, demo_records) -> Iterator[Callable[[str, str], Flask]]:
    """`get(engine, search_backend)`: the demo app of that pair, built once per session.

    `demo_app` and `search_app` share these, so the Whoosh demo apps are loaded once.
    """
    apps: dict[tuple[str, str], Flask] = {}
    with ExitStack() as stack:

        def get(engine: str, search_backend: str) -> Flask:
            key = (engine, search_backend)
            if key not in apps:
                workdir = tmp_path_factory.mktemp(f"demo-{engine}-{search_backend}")
                app = stack.enter_context(contextmanager(make_app)(engine, workdir, search_backend))
                with app.app_context():
                    load_demo(demo_records)
                    sync.rebuild()
                apps[key] = app
            return apps[key]

        yield get


@pytest.fixture(scope="session", params=ENGINES)
def demo_app(request, demo_apps) -> Flask:
    """An app with the whole demo dataset loaded and indexed. Read-only: do not change it."""
    return demo_apps(request.param, "whoosh")


@pytest.fixture(scope="session", params=list(SEARCH_SETUPS))
def search_app(request, demo_apps) -> Flask:
    """Like `demo_app`, on every (database, search backend) pair. Read-only."""
    return demo_apps(*SEARCH_SETUPS[request.param])


@pytest.fixture(params=ENGINES)
def fresh_app(request, tmp_path) -> Iterator[Flask]:
    """An app with vocabularies but no clinics, on a database of its own."""
    yield from make_app(request.param, tmp_path)


@pytest.fixture(params=list(SEARCH_SETUPS))
def search_fresh_app(request, tmp_path) -> Iterator[Flask]:
    """Like `fresh_app`, on every (database, search backend) pair."""
    engine, search_backend = SEARCH_SETUPS[request.param]
    yield from make_app(engine, tmp_path, search_backend)


@pytest.fixture
def demo_client(demo_app):
    return demo_app.test_client()


@pytest.fixture
def search_client(search_app):
    return search_app.test_client()


@pytest.fixture
def site(fresh_app, demo_records) -> Site:
    """Six demo clinics, a clinic user owning one (`a`), another owning `b`, two
    editors and an admin, on each database."""
    return _site(fresh_app, demo_records)


@pytest.fixture
def search_site(search_fresh_app, demo_records) -> Site:
    """Like `site`, on every (database, search backend) pair."""
    return _site(search_fresh_app, demo_records)


def _site(app: Flask, demo_records: list[dict]) -> Site:
    with app.app_context():
        load_demo(demo_records[:6], after_commit=sync.refresh)
        slugs = {c.slug: c.id for c in db.session.scalars(select(Clinic))}
    a = slugs[demo_records[1]["slug"]]
    b = slugs[demo_records[2]["slug"]]
    return Site(
        app=app,
        a=a,
        b=b,
        ids=sorted(slugs.values()),
        clinic_user=make_user(app, "owner@juniper.example", owns=[a]),
        other_user=make_user(app, "other@lindqvist.example", owns=[b]),
        editor=make_user(app, "editor@directory.test", "editor"),
        editor2=make_user(app, "editor2@directory.test", "editor"),
        admin=make_user(app, "admin@directory.test", "admin"),
    )


@pytest.fixture
def stale_listings(fresh_app, demo_records):
    """Three published clinics: stale and owned, fresh and owned, stale and unowned.

    (app, ids, slugs, names, owner), keyed "stale", "fresh", "orphan".
    """
    app = fresh_app
    today = datetime.now(UTC).date()
    with app.app_context():
        load_demo(demo_records[:8], after_commit=sync.refresh)
        published = db.session.scalars(
            select(Clinic).where(Clinic.status == "published").order_by(Clinic.id)
        ).all()
        stale, fresh, orphan = published[:3]
        stale.last_verified_at = today - timedelta(days=STALE_AFTER_DAYS + 20)
        fresh.last_verified_at = today - timedelta(days=STALE_AFTER_DAYS - 1)
        orphan.last_verified_at = today - timedelta(days=STALE_AFTER_DAYS + 400)
        db.session.commit()
        ids = {"stale": stale.id, "fresh": fresh.id, "orphan": orphan.id}
        slugs = {"stale": stale.slug, "fresh": fresh.slug, "orphan": orphan.slug}
        names = {"stale": stale.name, "fresh": fresh.name}
        sync.refresh(list(ids.values()))
    owner = make_user(app, "owner@fresh.example", owns=[ids["stale"], ids["fresh"]])
    return app, ids, slugs, names, owner
