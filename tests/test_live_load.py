"""The site under real concurrent traffic, served the way `make run` serves it.

gunicorn with gunicorn.conf.py (two worker processes, four threads each) serves a
demo site; 20 clients send distinct searches (each with a cookie, so the page cache
never answers) for a fixed time, while this process, a third one, approves clinics'
edits and an editor renames a condition through the admin, each re-indexing
clinics. Promised on each backend: no answer 5xx, no transport error, every
approved change searchable at the end, and the index equal to the rows
(`verify` clean without draining).
"""

from __future__ import annotations

import http.client
import itertools
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

import pytest
from flask import Flask
from sqlalchemy import select

from directory.extensions import db
from directory.listings import decisions, submissions
from directory.listings.demo import load_demo
from directory.listings.records import clinic_record
from directory.models import Clinic, Condition, Revision, User
from directory.search import sync
from tests.helpers import client_for, make_user, post

from .conftest import SEARCH_SETUPS, make_app
from .servers import gunicorn

PROJECT = Path(__file__).resolve().parent.parent
CLIENTS = 20
DURATION = 8.0  # seconds of load per backend
APPROVALS = 12
REQUEST_TIMEOUT = 20.0
WORDS = ["depression", "ptsd", "anxiety", "pain", "ketamine", "infusion", "spravato", "ocd"]
PLACES = ["Austin, TX", "10001", "Denver, CO", "Seattle, WA", "60601", "Miami, FL", ""]


@dataclass
class Server:
    host: str
    port: int


@contextmanager
def _serve(app: Flask, workdir: Path) -> Iterator[Server]:
    """gunicorn on the app's database and index, with the repository's config file."""
    env = {
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "SEARCH_BACKEND": app.config["SEARCH_BACKEND"],
        "SEARCH_INDEX_DIR": app.config["SEARCH_INDEX_DIR"],
        "INSTANCE_PATH": app.instance_path,
        "SECRET_KEY": app.config["SECRET_KEY"],
        "WEB_WORKERS": "2",
        "WEB_THREADS": "4",
    }
    with gunicorn(env, workdir / "gunicorn.log") as (base, _):
        host, port = base.removeprefix("http://").split(":")
        yield Server(host, int(port))


@dataclass
class Tally:
    statuses: Counter = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    bodies: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _queries() -> Iterator[str]:
    """Never the same query twice: the radius runs through 1-500 for each pair."""
    for radius, word, place, api in itertools.product(range(5, 501), WORDS, PLACES, (False, True)):
        params = {"q": word, "radius": radius}
        if place:
            params["where"] = place
        yield ("/api/v1/search?" if api else "/search?") + urlencode(params)


def _client(server: Server, number: int, paths: Iterator[str], lock, stop, tally) -> None:
    connection = http.client.HTTPConnection(server.host, server.port, timeout=REQUEST_TIMEOUT)
    while not stop.is_set():
        with lock:
            path = next(paths)
        try:
            connection.request("GET", path, headers={"Cookie": f"visitor={number}"})
            response = connection.getresponse()
            body = response.read()
        except (OSError, http.client.HTTPException) as exc:
            with tally.lock:
                tally.errors.append(f"{path}: {type(exc).__name__}: {exc}")
            connection.close()
            connection = http.client.HTTPConnection(
                server.host, server.port, timeout=REQUEST_TIMEOUT
            )
            continue
        with tally.lock:
            tally.statuses[response.status] += 1
            if response.status >= 500:
                tally.bodies.append(f"{path}: {body[:300]!r}")
    connection.close()


def _prepare(app: Flask, demo_records: list[dict]) -> tuple[int, int, list[int]]:
    """Demo clinics, an editor and an admin, and APPROVALS pending edits by owners."""
    with app.app_context():
        load_demo(demo_records)
        sync.rebuild()
        clinics = list(
            db.session.scalars(
                select(Clinic).where(Clinic.status == "published").order_by(Clinic.id)
            )
        )[:APPROVALS]
    editor = make_user(app, "editor@directory.test", "editor")
    admin = make_user(app, "admin@directory.test", "admin")
    revisions = []
    with app.app_context():
        for number, clinic in enumerate(clinics):
            owner = db.session.get(
                User, make_user(app, f"owner{number}@clinic.example", owns=[clinic.id])
            )
            clinic = db.session.get(Clinic, clinic.id)
            record = {**clinic_record(clinic), "name": f"Loadstar Clinic {number}"}
            revisions.append(submissions.submit_edit(owner, clinic, record).id)
    return editor, admin, revisions


def _write_while_loaded(app: Flask, editor_id: int, admin_id: int, revisions, stop, problems):
    """Approve the edits one by one across the load, with one condition rename midway."""
    try:
        admin = client_for(app, admin_id)
        pause = DURATION / (len(revisions) + 2)
        with app.app_context():
            for number, revision_id in enumerate(revisions):
                if stop.is_set():
                    break
                time.sleep(pause)
                editor = db.session.get(User, editor_id)
                decisions.approve(editor, db.session.get(Revision, revision_id))
                db.session.remove()
                if number == len(revisions) // 2:
                    condition = db.session.scalars(
                        select(Condition).where(Condition.code == "ptsd")
                    ).one()
                    url = f"/admin/conditions/edit/?id={condition.id}"
                    form = {
                        "code": "ptsd",
                        "name": "Posttraumatic stress (renamed under load)",
                        "sort_order": str(condition.sort_order),
                        "synonyms": "[]",
                    }
                    db.session.remove()
                    response = post(admin, url, form, url)
                    if response.status_code != 302:
                        problems.append(f"rename answered {response.status_code}")
    except Exception as exc:  # reported by the test, not lost in the thread
        problems.append(f"{type(exc).__name__}: {exc}")


LOADED_SETUPS = ["sqlite-whoosh", "postgresql-pgsearch"]


@pytest.mark.parametrize("setup", LOADED_SETUPS)
def test_concurrent_searches_during_approvals_never_fail(setup, tmp_path, demo_records):
    engine, backend = SEARCH_SETUPS[setup]
    for app in make_app(engine, tmp_path, backend):
        editor, admin, revisions = _prepare(app, demo_records)
        with _serve(app, tmp_path) as server:
            tally, stop, problems = Tally(), threading.Event(), []
            paths, lock = _queries(), threading.Lock()
            clients = [
                threading.Thread(target=_client, args=(server, n, paths, lock, stop, tally))
                for n in range(CLIENTS)
            ]
            writer = threading.Thread(
                target=_write_while_loaded, args=(app, editor, admin, revisions, stop, problems)
            )
            for thread in [*clients, writer]:
                thread.start()
            time.sleep(DURATION)
            writer.join(timeout=120)
            stop.set()
            for thread in clients:
                thread.join(timeout=REQUEST_TIMEOUT + 5)
            assert not writer.is_alive() and not any(t.is_alive() for t in clients), "a hang"

            served = sum(tally.statuses.values())
            assert not problems, problems
            assert not tally.errors, tally.errors[:5]
            assert set(tally.statuses) == {200}, (tally.statuses, tally.bodies[:3])
            assert served >= CLIENTS * 5, tally.statuses  # real traffic, not a trickle

            # Every approval and the rename are searchable, through the server.
            connection = http.client.HTTPConnection(server.host, server.port, timeout=20)
            connection.request("GET", "/api/v1/search?" + urlencode({"q": "loadstar"}))
            found = connection.getresponse().read().decode()
            for number in range(len(revisions)):
                assert f"Loadstar Clinic {number}" in found, number
            connection.request("GET", "/api/v1/search?" + urlencode({"q": "renamed under load"}))
            assert '"total":0' not in connection.getresponse().read().decode().replace(" ", "")
            connection.close()
        with app.app_context():
            assert sync.queued() == 0
            assert sync.verify(drain_first=False).clean
