"""An index written before the search document gained a clinic's state and whether it
accepts new patients is brought up to date, never misread.

Whoosh: rows of an older format are refused as damage and rebuilt; migration 0007
queues every published clinic, so a server's start rewrites them before its first
search. PostgreSQL: 0007 adds and fills the columns, and the same queue renews the
fingerprints.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask_migrate import downgrade, upgrade
from sqlalchemy import select, text

from directory.extensions import db
from directory.listings.demo import load_demo
from directory.models import Clinic, SearchQueue
from directory.search import catch_up, get_backend, healing, sync
from directory.search.backend import IndexDamaged
from directory.search.documents import clinic_document
from directory.search.index_folders import IndexFolders
from directory.search.whoosh_index import _fields, storage

from .conftest import make_app

REPAIR_TIMEOUT = 60


def _records(demo_records: list[dict], count: int = 20) -> list[dict]:
    return [r for r in demo_records if r["status"] == "published"][:count]


@pytest.fixture
def whoosh_app(tmp_path, demo_records) -> Iterator[Flask]:
    for app in make_app("sqlite", tmp_path, "whoosh"):
        with app.app_context():
            load_demo(_records(demo_records), after_commit=sync.refresh)
        yield app


def _write_old_format_row(app: Flask) -> int:
    """Rewrite one clinic's document as the previous version wrote it: a row without
    a format, a state or the accepting flag."""
    with app.app_context():
        clinic = db.session.scalars(select(Clinic).order_by(Clinic.id)).first()
        fields = _fields(clinic_document(clinic))
        fields["row"] = {
            k: v for k, v in fields["row"].items() if k not in ("format", "state", "accepting")
        }
        folder = IndexFolders(Path(app.config["SEARCH_INDEX_DIR"])).current()
        writer = storage(folder).open_index().writer()
        writer.update_document(**fields)
        writer.commit()
        return clinic.id


def _state_ids(client, state: str) -> set[int]:
    response = client.get("/api/v1/search", query_string={"where": state, "per_page": 50})
    assert response.status_code == 200, response.get_data(as_text=True)
    return {r["id"] for r in response.get_json()["results"]}


def test_an_old_format_whoosh_row_is_damage_and_the_repair_rebuilds(whoosh_app):
    client = whoosh_app.test_client()
    with whoosh_app.app_context():
        first = db.session.scalars(select(Clinic).order_by(Clinic.id)).first()
        state = first.state
        expected = set(
            db.session.scalars(
                select(Clinic.id).where(
                    Clinic.state == state,
                    Clinic.status == "published",
                    Clinic.kind.in_(("in_person", "both")),
                )
            )
        )
    assert expected and _state_ids(client, state) == expected
    _write_old_format_row(whoosh_app)

    with whoosh_app.app_context(), pytest.raises(IndexDamaged, match="older format"):
        get_backend().warm_up()
    page = client.get("/search", query_string={"where": state})
    assert page.status_code == 503  # repairing, not a crash and not a wrong answer
    assert healing.wait(whoosh_app, REPAIR_TIMEOUT), "the repair did not finish"
    assert _state_ids(client, state) == expected
    with whoosh_app.app_context():
        assert sync.verify().clean


def test_queued_clinics_are_rewritten_before_the_first_search(whoosh_app):
    """What migration 0007 leaves (every published clinic queued) is drained when a
    server starts, so it never searches the old rows."""
    clinic_id = _write_old_format_row(whoosh_app)
    with whoosh_app.app_context():
        published = db.session.scalars(select(Clinic.id).where(Clinic.status == "published"))
        sync.enqueue(published)
        db.session.commit()
    catch_up.startup(whoosh_app)
    assert not healing.repairing(whoosh_app)
    with whoosh_app.app_context():
        assert db.session.scalar(select(SearchQueue.id)) is None
        get_backend().warm_up()
        assert sync.verify(drain_first=False).clean
        state = db.session.get(Clinic, clinic_id).state
    assert clinic_id in _state_ids(whoosh_app.test_client(), state)


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_migration_0007_fills_the_columns_and_queues_every_published_clinic(
    tmp_path, demo_records, engine
):
    backend = "postgres" if engine == "postgresql" else "whoosh"
    for app in make_app(engine, tmp_path, backend):
        with app.app_context():
            load_demo(_records(demo_records), after_commit=sync.refresh)
            published = set(
                db.session.scalars(select(Clinic.id).where(Clinic.status == "published"))
            )
            closed = db.session.scalars(select(Clinic).where(Clinic.status == "published")).first()
            closed.accepting_new_patients = False
            db.session.commit()  # not queued: as if changed before the upgrade
            db.session.remove()
            downgrade(revision="0006")
            upgrade()
            queued = set(db.session.scalars(select(SearchQueue.clinic_id)))
            assert queued == published
            if engine == "postgresql":
                rows = db.session.execute(
                    text("SELECT clinic_id, state, accepting FROM search_document")
                ).all()
                clinics = {c.id: c for c in db.session.scalars(select(Clinic))}
                assert {r.clinic_id for r in rows} == published
                for row in rows:
                    clinic = clinics[row.clinic_id]
                    assert (row.state, row.accepting) == (
                        clinic.state,
                        bool(clinic.accepting_new_patients),
                    )
            assert not sync.verify(drain_first=False).clean  # fingerprints changed
            assert sync.drain()
            assert sync.verify(drain_first=False).clean
