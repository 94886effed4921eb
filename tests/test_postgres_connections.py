"""One database connection per request on the PostgreSQL search backend.

A search used to hold the session's connection (from reading the vocabularies)
while checking out a second one, so T threads each holding one and waiting for
another emptied the pool and hung. Now the search, and re-indexing after a write,
run on the session's own connection: with a pool of one connection and no
overflow, every page and write still answers, and N threads share N connections.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from flask import Flask
from sqlalchemy import select

from directory import create_app
from directory.extensions import db
from directory.listings import publishing
from directory.listings.demo import load_demo
from directory.models import Clinic
from directory.search import sync

from .conftest import make_app

THREADS = 6
SEARCHES = 10


@pytest.fixture
def pg_search_app(tmp_path, demo_records) -> Iterator[Flask]:
    for app in make_app("postgresql", tmp_path, "postgres"):
        with app.app_context():
            load_demo([r for r in demo_records if r["status"] == "published"][:20])
            sync.rebuild()
        yield app


def _with_pool(app: Flask, size: int) -> Flask:
    """The same database behind a pool of `size` connections that never overflows."""
    pooled = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": app.config["SECRET_KEY"],
            "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
            "SEARCH_BACKEND": "postgres",
            "SERVER_NAME": "directory.test",
            "SQLALCHEMY_ENGINE_OPTIONS": {
                "pool_size": size,
                "max_overflow": 0,
                "pool_timeout": 2,
            },
        },
        instance_path=app.instance_path,
    )
    return pooled


def _dispose(app: Flask) -> None:
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_a_search_and_a_write_need_one_connection(pg_search_app):
    app = _with_pool(pg_search_app, 1)
    try:
        client = app.test_client()
        for path in ("/search?q=depression&where=Austin,+TX", "/api/v1/search?q=ketamine"):
            assert client.get(path).status_code == 200, path
        with app.app_context():
            clinic = db.session.scalars(select(Clinic).order_by(Clinic.id)).first()
            clinic.name = "Solitary Connection Clinic"
            publishing.save(clinic)  # commit, then re-index on the same connection
            assert sync.queued() == 0
        found = client.get("/api/v1/search?q=solitary").get_json()
        assert [r["name"] for r in found["results"]] == ["Solitary Connection Clinic"]
    finally:
        _dispose(app)


def test_threads_share_as_many_connections_as_there_are_threads(pg_search_app):
    app = _with_pool(pg_search_app, THREADS)
    statuses: list[int] = []
    lock = threading.Lock()

    def visitor(number: int) -> None:
        client = app.test_client()
        for search in range(SEARCHES):
            response = client.get(
                "/api/v1/search",
                query_string={"q": "depression", "where": "Denver, CO", "radius": 40 + search},
                headers={"Cookie": f"visitor={number}"},
            )
            with lock:
                statuses.append(response.status_code)

    try:
        threads = [threading.Thread(target=visitor, args=(n,)) for n in range(THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert not any(t.is_alive() for t in threads)
        assert statuses == [200] * (THREADS * SEARCHES)
    finally:
        _dispose(app)
