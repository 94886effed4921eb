"""The PostgreSQL backend's search_stats row and what it keys in the process.

Every write of search_document moves the row's generation and keeps its document
count exact; document frequencies and facet counts cached in the process are only
reused at the generation they were computed at. Checked by comparing a backend
that has been caching all along with a new one that has cached nothing: after any
write both must give the same answer, scores included.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from sqlalchemy import inspect, select, text

from directory.extensions import db
from directory.listings import publishing
from directory.listings.demo import load_demo
from directory.models import Clinic
from directory.search import get_backend, pg_query, sync
from directory.search.postgres_backend import PostgresBackend
from directory.search.query import SearchQuery

from .conftest import make_app


@pytest.fixture
def pg_app(tmp_path) -> Iterator[Flask]:
    """A PostgreSQL database with the PostgreSQL search backend, no clinics yet."""
    yield from make_app("postgresql", tmp_path, "postgres")


def _published(demo_records, count: int) -> list[dict]:
    return [r for r in demo_records if r["status"] == "published"][:count]


def _stats() -> tuple[int, int, int]:
    """(generation, documents in the row, documents in the table)."""
    generation, documents = db.session.execute(
        text("SELECT generation, documents FROM search_stats")
    ).one()
    actual = db.session.scalar(text("SELECT count(*) FROM search_document"))
    db.session.commit()  # end the read, so the next one sees later commits
    return generation, documents, actual


def _answer(backend, query: SearchQuery) -> tuple:
    page = backend.search(query)
    return page.hits, page.total, page.telehealth, page.facets


def _fresh() -> PostgresBackend:
    return PostgresBackend(lambda: db.session.connection())


QUERIES = [
    SearchQuery(q="migraine", sort="relevance"),
    SearchQuery(q="ketamine clinic", sort="relevance", per_page=50),
    SearchQuery(q="depression", modality=("iv",), max_price=600, sort="relevance"),
    SearchQuery(),
    SearchQuery(insurer=("aetna",), sort="price"),
]


def _place_query() -> SearchQuery:
    """Text and a place with a state: telehealth programs are ordered by score."""
    from directory.geo import get_gazetteer

    place = get_gazetteer().resolve("Austin, TX")
    return SearchQuery(
        q="ptsd therapy", where="Austin, TX", location=place, radius=500, sort="distance"
    )


def test_every_write_moves_the_generation_and_keeps_the_count(pg_app, demo_records):
    with pg_app.app_context():
        start, documents, actual = _stats()
        assert documents == actual == 0
        load_demo(_published(demo_records, 8), after_commit=sync.refresh)
        first, documents, actual = _stats()
        assert first != start and documents == actual == 8

        clinic = db.session.scalars(select(Clinic).order_by(Clinic.id)).first()
        clinic.name = "Renamed Clinic"
        publishing.save(clinic)  # re-indexed in place: the count stays
        second, documents, actual = _stats()
        assert second != first and documents == actual == 8

        publishing.set_status(clinic, "suspended")  # removed by refresh
        third, documents, actual = _stats()
        assert third != second and documents == actual == 7

        get_backend().remove([clinic.id])  # absent already: nothing removed
        fourth, documents, actual = _stats()
        assert fourth != third and documents == actual == 7

        publishing.set_status(clinic, "published")
        assert sync.rebuild() == 8
        fifth, documents, actual = _stats()
        assert fifth != fourth and documents == actual == 8


def test_a_failed_write_changes_nothing(pg_app, demo_records):
    with pg_app.app_context():
        load_demo(_published(demo_records, 4), after_commit=sync.refresh)
        before = _stats()

        def failing(ids):
            raise RuntimeError("the database went away")

        with pytest.raises(RuntimeError):
            get_backend().refresh({1, 2}, failing)
        assert _stats() == before


def test_cached_frequencies_and_facets_follow_the_index(pg_app, demo_records):
    """Index a new clinic, search again: the scores reflect the new counts."""
    records = _published(demo_records, 12)
    with pg_app.app_context():
        load_demo(records[:10], after_commit=sync.refresh)
        backend = get_backend()
        queries = [*QUERIES, _place_query()]
        before = [_answer(backend, q) for q in queries]
        assert before == [_answer(_fresh(), q) for q in queries]
        assert before[0][0] and all(hit.score for hit in before[0][0])

        # A clinic with the word in its name: N and the word's frequencies change.
        load_demo(
            [{**records[10], "name": "Migraine and Depression Ketamine Clinic"}],
            after_commit=sync.refresh,
        )
        after = [_answer(backend, q) for q in queries]
        assert after == [_answer(_fresh(), q) for q in queries]
        old_scores = {hit.clinic_id: hit.score for hit in before[0][0]}
        new_scores = {hit.clinic_id: hit.score for hit in after[0][0]}
        assert len(new_scores) == len(old_scores) + 1
        assert any(new_scores[i] != old_scores[i] for i in old_scores)
        assert after[3][1] == before[3][1] + 1  # the total of SearchQuery(), cached before

        # And a removal: back to the first answers, scores and all.
        clinic = db.session.scalars(select(Clinic).order_by(Clinic.id.desc())).first()
        publishing.set_status(clinic, "suspended")
        again = [_answer(backend, q) for q in queries]
        assert again == [_answer(_fresh(), q) for q in queries]
        assert again == before


def test_a_missing_stats_row_is_counted_and_made_again(pg_app, demo_records):
    with pg_app.app_context():
        load_demo(_published(demo_records, 6), after_commit=sync.refresh)
        db.session.execute(text("DELETE FROM search_stats"))
        db.session.commit()
        backend = get_backend()
        assert _answer(backend, QUERIES[0]) == _answer(_fresh(), QUERIES[0])

        load_demo(_published(demo_records, 7), after_commit=sync.refresh)
        _, documents, actual = _stats()
        assert documents == actual == 7
        assert _answer(backend, QUERIES[0]) == _answer(_fresh(), QUERIES[0])


def test_migration_0004_makes_the_stats_row_on_postgresql_only(fresh_app):
    from flask_migrate import downgrade, upgrade

    with fresh_app.app_context():
        postgresql = db.engine.dialect.name == "postgresql"
        assert ("search_stats" in inspect(db.engine).get_table_names()) == postgresql
        db.session.remove()
        downgrade(revision="0003")
        assert "search_stats" not in inspect(db.engine).get_table_names()
        upgrade()
        assert ("search_stats" in inspect(db.engine).get_table_names()) == postgresql
        if postgresql:
            assert db.session.execute(text("SELECT documents FROM search_stats")).scalar() == 0


def test_later_pages_by_distance_match_the_first_computation(pg_app, demo_records, monkeypatch):
    """Once a search's facets are known, its pages by distance come from the GiST
    index's nearest-first order with a bound on the sphere; they must equal the
    pages computed from every row in the radius, ties and short last pages included."""
    from directory.geo import get_gazetteer

    nearest_pages = []
    original = pg_query.nearest_page

    def counting(*args):
        nearest_pages.append(args)
        return original(*args)

    monkeypatch.setattr(pg_query, "nearest_page", counting)
    with pg_app.app_context():
        load_demo(demo_records, after_commit=sync.refresh)
        backend = get_backend()
        gazetteer = get_gazetteer()
        for where in ("New York, NY", "Austin, TX", "98101", "Boise, ID"):
            place = gazetteer.resolve(where)
            for radius, extra in [
                (500, {}),
                (100, {"modality": ("iv",)}),
                (250, {"q": "ptsd", "max_price": 500}),
                (50, {"insurer": ("aetna",), "payment": ("financing",)}),
            ]:
                queries = [
                    SearchQuery(
                        where=where,
                        location=place,
                        radius=radius,
                        sort="distance",
                        page=page,
                        per_page=per_page,
                        **extra,
                    )
                    for page, per_page in [(1, 20), (2, 20), (3, 7), (9, 50), (40, 20)]
                ]
                backend.search(queries[0])  # the facets are now known
                for query in queries:
                    assert _answer(backend, query) == _answer(_fresh(), query), query
        assert len(nearest_pages) == 4 * 4 * 5  # every page after the first computation
