"""The PostgreSQL backend's kept ranking and its storage layout (migration 0015).

A search without a place keeps its first results in its sort's order
(`pg_statistics.Ranked`) and serves the pages among them without a statement over
search_document. Checked against a backend that has cached nothing, page by page,
across the end of the kept prefix, for every sort, and after writes.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from sqlalchemy import select, text

from directory.extensions import db
from directory.listings import publishing
from directory.listings.demo import load_demo
from directory.models import Clinic
from directory.search import get_backend, pg_query, postgres_backend, sync
from directory.search.postgres_backend import PostgresBackend
from directory.search.query import SearchQuery

from .conftest import make_app


@pytest.fixture
def pg_app(tmp_path) -> Iterator[Flask]:
    yield from make_app("postgresql", tmp_path, "postgres")


def _fresh() -> PostgresBackend:
    return PostgresBackend(lambda: db.session.connection())


def _answer(backend, query: SearchQuery) -> tuple:
    page = backend.search(query)
    return page.hits, page.total, page.telehealth, page.facets


SEARCHES = [
    {"q": "ketamine", "sort": "relevance"},
    {"q": "depression therapy", "sort": "relevance"},
    {"q": "ketamine", "sort": "price"},
    {"q": "ketamine", "sort": "recent"},
    {"sort": "recent"},
    {"insurer": ("aetna",), "sort": "price"},
    {"q": "depression", "modality": ("iv",), "max_price": 600, "sort": "relevance"},
]


def _pages(backend, search: dict, pages: int) -> list[tuple]:
    return [
        _answer(backend, SearchQuery(**search, page=page, per_page=3))
        for page in range(1, pages + 1)
    ]


def test_pages_from_the_kept_ranking_equal_pages_computed_afresh(pg_app, demo_records, monkeypatch):
    monkeypatch.setattr(postgres_backend, "RANKED", 5)  # pages past the prefix too
    statements = []
    original = pg_query.page_and_counts

    def counting(*args, **kwargs):
        statements.append(args)
        return original(*args, **kwargs)

    monkeypatch.setattr(pg_query, "page_and_counts", counting)
    with pg_app.app_context():
        load_demo(demo_records, after_commit=sync.refresh)
        backend = get_backend()
        for search in SEARCHES:
            statements.clear()
            first = _pages(backend, search, 6)
            assert statements  # page 1 at least: nothing kept yet
            statements.clear()
            # each page past the kept prefix kept a longer one: all served from it now
            assert _pages(backend, search, 6) == first
            assert not statements, search
            assert first == _pages(_fresh(), search, 6), search
            assert any(hits for hits, *_ in first), search


def test_the_kept_ranking_follows_every_write(pg_app, demo_records):
    with pg_app.app_context():
        load_demo(demo_records[:40], after_commit=sync.refresh)
        backend = get_backend()

        def same() -> None:
            for search in SEARCHES:
                assert _pages(backend, search, 3) == _pages(_fresh(), search, 3), search

        same()
        clinic = db.session.scalars(select(Clinic).order_by(Clinic.id)).first()
        clinic.name = "Ketamine Depression Therapy Ketamine"
        publishing.save(clinic)
        same()
        publishing.set_status(clinic, "suspended")
        same()
        load_demo(demo_records[40:60], after_commit=sync.refresh)
        same()
        assert sync.rebuild()
        same()


def test_documents_stay_in_their_rows_and_cards_leave_them(pg_app, demo_records):
    """Migration 0015: the tsvector is stored MAIN (no TOAST fetch per text match),
    the card EXTERNAL; downgrading puts both back to EXTENDED."""
    from flask_migrate import downgrade, upgrade

    def storage() -> dict[str, str]:
        rows = db.session.execute(
            text(
                "SELECT attname, attstorage FROM pg_attribute "
                "WHERE attrelid = 'search_document'::regclass AND attname IN ('document', 'card')"
            )
        )
        found = {name: kind for name, kind in rows}
        db.session.commit()
        return found

    with pg_app.app_context():
        load_demo(demo_records[:20], after_commit=sync.refresh)
        assert storage() == {"document": "m", "card": "e"}
        before = _answer(_fresh(), SearchQuery(q="ketamine", sort="relevance"))
        db.session.remove()
        downgrade(revision="0014")
        assert storage() == {"document": "x", "card": "x"}
        upgrade()
        assert storage() == {"document": "m", "card": "e"}
        assert _answer(_fresh(), SearchQuery(q="ketamine", sort="relevance")) == before
        external = db.session.scalar(
            text(
                "SELECT count(*) FROM search_document "
                "WHERE pg_column_size(document) < octet_length(document::text) / 2"
            )
        )
        assert external == 0
