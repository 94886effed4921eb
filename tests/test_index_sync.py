"""The index holds exactly the published rows, follows every change, and reports drift.

On every (database, search backend) pair: the Whoosh index and PostgreSQL's
search_document table keep the same invariant and answer the same commands.
"""

from __future__ import annotations

import threading

from sqlalchemy import select, text

from directory.extensions import db
from directory.listings import publishing
from directory.listings.demo import load_demo
from directory.models import Clinic, Modality
from directory.search import get_backend, sync


def _records(demo_records, count=12):
    published = [r for r in demo_records if r["status"] == "published"]
    return published[:count]


def _search_ids(client, **params) -> set[int]:
    data = client.get("/api/v1/search", query_string=params).get_json()
    return {r["id"] for r in data["results"]}


def test_changes_reach_the_index_and_verify_stays_clean(search_fresh_app, demo_records):
    client = search_fresh_app.test_client()
    with search_fresh_app.app_context():
        added = load_demo(_records(demo_records), after_commit=sync.refresh)
        assert added == 12
        assert sync.verify().clean
        clinic = db.session.scalars(select(Clinic).order_by(Clinic.id)).first()
        assert clinic.id in _search_ids(client, q=clinic.name)

        publishing.set_status(clinic, "suspended")
        assert clinic.id not in _search_ids(client, q=clinic.name)
        assert client.get(f"/api/v1/clinics/{clinic.slug}").status_code == 404
        assert sync.verify().clean

        publishing.set_status(clinic, "published")
        clinic.name = "Zephyrine Quietwater Clinic"
        publishing.save(clinic)
        assert _search_ids(client, q="zephyrine") == {clinic.id}

        spravato = db.session.scalar(select(Modality).where(Modality.code == "spravato"))
        before = _search_ids(client, modality="spravato")
        clinic.offerings = [o for o in clinic.offerings if o.modality_id != spravato.id]
        publishing.save(clinic)
        assert clinic.id not in _search_ids(client, modality="spravato")
        assert _search_ids(client, modality="spravato") == before - {clinic.id}
        assert sync.verify().clean


def test_verify_reports_drift_and_reindex_repairs_it(search_fresh_app, demo_records):
    runner = search_fresh_app.test_cli_runner()
    with search_fresh_app.app_context():
        load_demo(_records(demo_records), after_commit=sync.refresh)
        first, second = db.session.scalars(select(Clinic).order_by(Clinic.id).limit(2))
        # Changes made behind the services' back: the index cannot know of them.
        first.status = "draft"
        second.description = "Changed without re-indexing."
        db.session.commit()
        drift = sync.verify()
        assert drift.extra == [first.id] and drift.stale == [second.id]

    result = runner.invoke(args=["search", "verify"])
    assert result.exit_code == 1
    assert "extra: 1" in result.output and "stale: 1" in result.output

    result = runner.invoke(args=["search", "reindex"])
    assert result.exit_code == 0 and "Indexed 11 published clinics" in result.output
    result = runner.invoke(args=["search", "verify"])
    assert result.exit_code == 0, result.output


def test_seed_commands_are_idempotent(search_fresh_app, demo_records):
    runner = search_fresh_app.test_cli_runner()
    result = runner.invoke(args=["seed", "vocabularies"])
    assert result.exit_code == 0 and "modality +0" in result.output
    first = runner.invoke(args=["seed", "demo"])
    assert first.exit_code == 0 and f"Demo clinics added: {len(demo_records)}" in first.output
    again = runner.invoke(args=["seed", "demo"])
    assert again.exit_code == 0 and "Demo clinics added: 0" in again.output
    with search_fresh_app.app_context():
        assert sync.verify().clean


def test_refresh_reads_the_rows_under_the_write_lock(search_fresh_app, demo_records):
    """Another writer waits while a refresh reads the rows, so the last writer has
    read last: two processes re-indexing one clinic cannot leave the older version."""
    with search_fresh_app.app_context():
        load_demo(_records(demo_records, 2), after_commit=sync.refresh)
        first, second = sync.published_documents()
        backend = get_backend()
    reading, release = threading.Event(), threading.Event()
    order: list[str] = []

    def slow_load(ids: set[int]) -> list:
        reading.set()
        release.wait(10)
        order.append("refresh read")
        return [first]

    def refresh() -> None:
        with search_fresh_app.app_context():
            backend.refresh({first.id}, slow_load)

    def index() -> None:
        with search_fresh_app.app_context():
            backend.index([second])
            order.append("other writer wrote")

    refresher = threading.Thread(target=refresh)
    refresher.start()
    assert reading.wait(10)
    writer = threading.Thread(target=index)
    writer.start()
    writer.join(0.5)
    assert writer.is_alive() and order == [], "the other writer must wait for the lock"
    release.set()
    refresher.join(30)
    writer.join(30)
    assert order == ["refresh read", "other writer wrote"]
    with search_fresh_app.app_context():
        assert sync.verify().clean


def test_reindexing_reads_the_rows_not_older_copies_in_the_session(search_fresh_app, demo_records):
    """A clinic the session loaded before another process changed it is re-read."""
    client = search_fresh_app.test_client()
    with search_fresh_app.app_context():
        load_demo(_records(demo_records, 2), after_commit=sync.refresh)
        clinic = db.session.scalars(select(Clinic).order_by(Clinic.id)).first()
        assert clinic.description  # now held by this session
        with db.engine.begin() as other:  # another process's commit, in effect
            other.execute(
                text("UPDATE clinic SET description = :d WHERE id = :id"),
                {"d": "Quillwort gardens nearby.", "id": clinic.id},
            )
        sync.refresh([clinic.id])
        assert sync.verify().clean
        assert _search_ids(client, q="quillwort") == {clinic.id}
        with db.engine.begin() as other:
            other.execute(
                text("UPDATE clinic SET description = :d WHERE id = :id"),
                {"d": "Bramblewick trail.", "id": clinic.id},
            )
        sync.rebuild()
        assert sync.verify().clean
        assert _search_ids(client, q="bramblewick") == {clinic.id}
