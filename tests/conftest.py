"""Shared fixtures: real databases (SQLite and PostgreSQL), a real Whoosh index.

Every database fixture is parametrised over both engines, so each test that uses
one runs twice. The PostgreSQL database is created by the suite itself on the
local server (127.0.0.1:5432, user postgres) and dropped afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from flask import Flask
from flask_migrate import upgrade

from directory import create_app
from directory.extensions import db
from directory.listings.demo import generate_demo_records, load_demo
from directory.listings.vocabulary import load_vocabularies
from directory.search import sync

PG_ADMIN_DSN = os.environ.get("TEST_PG_ADMIN_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
ENGINES = ("sqlite", "postgresql")


def _create_pg_database() -> tuple[str, str]:
    name = f"directory_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_DSN.rsplit("/", 1)[0]
    return name, f"{base.replace('postgresql://', 'postgresql+psycopg://')}/{name}"


def _drop_pg_database(name: str) -> None:
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def make_app(engine: str, workdir: Path) -> Iterator[Flask]:
    """An app on a brand-new database of `engine`, schema made by the migrations."""
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
            "SEARCH_INDEX_DIR": str(workdir / "index"),
            "SERVER_NAME": "directory.test",
        },
        instance_path=workdir,
    )
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


@pytest.fixture(scope="session")
def demo_records() -> list[dict]:
    return generate_demo_records()


@pytest.fixture(scope="session", params=ENGINES)
def demo_app(request, tmp_path_factory, demo_records) -> Iterator[Flask]:
    """An app with the whole demo dataset loaded and indexed. Read-only: do not change it."""
    workdir = tmp_path_factory.mktemp(f"demo-{request.param}")
    for app in make_app(request.param, workdir):
        with app.app_context():
            load_demo(demo_records)
            sync.rebuild()
        yield app


@pytest.fixture(params=ENGINES)
def fresh_app(request, tmp_path) -> Iterator[Flask]:
    """An app with vocabularies but no clinics, on a database of its own."""
    yield from make_app(request.param, tmp_path)


@pytest.fixture
def demo_client(demo_app):
    return demo_app.test_client()
