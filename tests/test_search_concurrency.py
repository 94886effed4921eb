"""The index under several real processes: writers re-indexing while others search.

`make run` and `gunicorn -w 2` put several processes on one Whoosh folder, and
several app servers share the PostgreSQL backend's table. Three writer processes
change clinics through the listings services (each commit is followed by
`sync.refresh`, one of them also rebuilds the whole index), two reader processes
search all the while. Promised: no process errors or hangs (writers wait
for Whoosh's lock instead of failing), readers never see a half-written index
(clinics nobody touches are always found, totals match the hits), and afterwards
the index equals the published rows (`verify` is clean), including a clinic that
all three writers kept changing. Runs on every (database, search backend) pair.
"""

from __future__ import annotations

import multiprocessing
import queue
import traceback
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError

from directory import create_app
from directory.extensions import db
from directory.listings import publishing
from directory.listings.demo import load_demo
from directory.models import Clinic
from directory.search import get_backend, sync
from directory.search.query import SearchQuery

WRITERS = 3
READERS = 2
OWNED = 4  # clinics each writer changes alone
ROUNDS = 6
STABLE = 6  # clinics nobody changes
JOIN_TIMEOUT = 240


def _child_app(config: dict[str, Any]):
    return create_app(dict(config), instance_path=Path(config["INSTANCE_DIR"]))


def _write_shared(clinic_id: int, description: str, attempts: int = 20) -> None:
    for _attempt in range(attempts):
        clinic = db.session.get(Clinic, clinic_id, populate_existing=True)
        clinic.description = description
        try:
            publishing.save(clinic)
        except StaleDataError:
            db.session.rollback()
        else:
            return
    raise AssertionError(f"clinic {clinic_id} kept changing for {attempts} attempts")


def _writer(config: dict[str, Any], number: int, owned: list[int], shared: int, errors) -> None:
    try:
        app = _child_app(config)
        with app.app_context():
            for round_ in range(ROUNDS):
                for clinic_id in owned:
                    clinic = db.session.get(Clinic, clinic_id)
                    publishing.set_status(clinic, "suspended")
                    clinic.name = f"Writer {number} clinic {clinic_id} round {round_}"
                    publishing.save(clinic)
                    publishing.set_status(clinic, "published")
                    # Every writer keeps changing one clinic too: the optimistic lock
                    # refuses a write over one it did not see, so it reloads and writes
                    # again, as the listing services do; the last to commit wins.
                    _write_shared(shared, f"Writer {number}, round {round_}, {clinic_id}.")
                if number == 0 and round_ % 2 == 1:
                    sync.rebuild()
                db.session.expire_all()
            # Each writer leaves its first clinic unpublished.
            publishing.set_status(db.session.get(Clinic, owned[0]), "draft")
    except BaseException:
        errors.put(f"writer {number}:\n{traceback.format_exc()}")


def _reader(config: dict[str, Any], number: int, stable: list[int], stop, errors, counts) -> None:
    try:
        app = _child_app(config)
        client = app.test_client()
        searches = 0
        with app.app_context():
            backend = get_backend()
            while not stop.is_set() or searches < 5:
                page = backend.search(SearchQuery(per_page=50))
                ids = [hit.clinic_id for hit in page.hits]
                assert len(ids) == len(set(ids)) == page.total, (ids, page.total)
                assert set(stable) <= set(ids), (sorted(stable), sorted(ids))
                response = client.get("/api/v1/search", query_string={"q": "clinic ketamine"})
                assert response.status_code == 200, response.status_code
                response = client.get("/search", query_string={"where": "Anchorage, AK"})
                assert response.status_code == 200, response.status_code
                searches += 1
        counts.put(searches)
    except BaseException:
        errors.put(f"reader {number}:\n{traceback.format_exc()}")


def test_concurrent_writers_and_readers_keep_the_index_consistent(search_fresh_app, demo_records):
    published = [r for r in demo_records if r["status"] == "published"]
    count = WRITERS * OWNED + STABLE + 1
    with search_fresh_app.app_context():
        load_demo(published[:count], after_commit=sync.refresh)
        ids = list(db.session.scalars(select(Clinic.id).order_by(Clinic.id)))
    assert len(ids) == count
    owned = [ids[n * OWNED : (n + 1) * OWNED] for n in range(WRITERS)]
    shared = ids[WRITERS * OWNED]
    stable = ids[WRITERS * OWNED + 1 :]
    config = {
        key: search_fresh_app.config[key]
        for key in (
            "TESTING",
            "SECRET_KEY",
            "SQLALCHEMY_DATABASE_URI",
            "SEARCH_BACKEND",
            "SEARCH_INDEX_DIR",
            "SERVER_NAME",
            "INSTANCE_DIR",
        )
    }

    context = multiprocessing.get_context("spawn")
    errors, counts, stop = context.Queue(), context.Queue(), context.Event()
    writers = [
        context.Process(target=_writer, args=(config, n, owned[n], shared, errors))
        for n in range(WRITERS)
    ]
    readers = [
        context.Process(target=_reader, args=(config, n, stable, stop, errors, counts))
        for n in range(READERS)
    ]
    for process in readers + writers:
        process.start()
    try:
        for process in writers:
            process.join(JOIN_TIMEOUT)
        stop.set()
        for process in readers:
            process.join(JOIN_TIMEOUT)
        hung = [p for p in writers + readers if p.is_alive()]
        assert not hung, f"{len(hung)} processes did not finish: a lock-up"
    finally:
        stop.set()
        for process in writers + readers:
            if process.is_alive():
                process.kill()
                process.join(5)

    problems = []
    while True:
        try:
            problems.append(errors.get(timeout=0.5))
        except queue.Empty:
            break
    assert not problems, "\n".join(problems)
    assert [p.exitcode for p in writers + readers] == [0] * (WRITERS + READERS)
    searches = [counts.get(timeout=5) for _ in readers]
    assert all(n >= 5 for n in searches), searches

    with search_fresh_app.app_context():
        db.session.expire_all()
        assert sync.verify().clean, sync.verify()
        visible = set(db.session.scalars(select(Clinic.id).where(Clinic.status == "published")))
        assert visible == set(ids) - {group[0] for group in owned}
        page = get_backend().search(SearchQuery(per_page=50))
        assert {hit.clinic_id for hit in page.hits} == visible
        renamed = db.session.get(Clinic, owned[1][1])
        assert renamed.name.endswith(f"round {ROUNDS - 1}")
    response = search_fresh_app.test_client().get(
        "/api/v1/search", query_string={"q": renamed.name}
    )
    assert renamed.id in {r["id"] for r in response.get_json()["results"]}
