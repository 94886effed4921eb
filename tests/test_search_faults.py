"""Faults around the index: a writer killed after its commit, damaged index files.

A change and its index-queue entry commit together, so a process SIGKILLed right
after a commit leaves the index behind only until the next request or start-up
drains the queue. A damaged Whoosh index (deleted, truncated or garbled files) is
found by the first read that needs it: every page that does not search keeps
working, search answers 503 with Retry-After while a fresh folder is built and
swapped in, writes keep their work in the queue, and `flask search verify` says
what is wrong in words.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from directory import create_app
from directory.extensions import db
from directory.listings import publishing
from directory.listings.demo import load_demo
from directory.models import Clinic, SearchQueue
from directory.search import catch_up, get_backend, healing, sync
from directory.search.index_folders import IndexFolders

from .conftest import SEARCH_SETUPS, make_app

PROJECT = Path(__file__).resolve().parent.parent
REPAIR_TIMEOUT = 60


def _records(demo_records, count=30):
    return [r for r in demo_records if r["status"] == "published"][:count]


def _settings(app: Flask) -> dict:
    keys = ("SQLALCHEMY_DATABASE_URI", "SEARCH_BACKEND", "SEARCH_INDEX_DIR", "SECRET_KEY")
    return {**{k: app.config[k] for k in keys}, "TESTING": True, "SERVER_NAME": "directory.test"}


_siblings: list[Flask] = []


def _sibling(app: Flask) -> Flask:
    """Another app on the same database and index: a process that has read nothing yet."""
    sibling = create_app(_settings(app), instance_path=Path(app.instance_path))
    _siblings.append(sibling)
    return sibling


@pytest.fixture(autouse=True)
def _close_siblings() -> Iterator[None]:
    """Close the siblings' connections before the test's database is dropped."""
    yield
    while _siblings:
        sibling = _siblings.pop()
        healing.wait(sibling, REPAIR_TIMEOUT)
        with sibling.app_context():
            db.session.remove()
            db.engine.dispose()


def _api_ids(client, **params) -> list[int]:
    response = client.get("/api/v1/search", query_string=params)
    assert response.status_code == 200, response.get_data(as_text=True)
    return [r["id"] for r in response.get_json()["results"]]


# -- a writer killed right after its commit ------------------------------------------------
KILLED_WRITER = """
import json, os, signal, sys
from pathlib import Path
from sqlalchemy import event
from sqlalchemy.orm import Session
from directory import create_app
from directory.extensions import db
from directory.listings import publishing
from directory.models import Clinic

settings, instance, clinic_id = json.loads(sys.argv[1])
app = create_app(settings, instance_path=Path(instance))
with app.app_context():
    clinic = db.session.get(Clinic, clinic_id)
    # Killed the moment the database has the change, before anything is re-indexed.
    event.listen(Session, "after_commit", lambda session: os.kill(os.getpid(), signal.SIGKILL))
    publishing.set_status(clinic, "suspended")
print("not killed")
"""


def _kill_a_writer_after_its_commit(app: Flask, clinic_id: int) -> None:
    argument = json.dumps([_settings(app), app.instance_path, clinic_id])
    child = subprocess.run(
        [sys.executable, "-c", KILLED_WRITER, argument],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert child.returncode == -signal.SIGKILL, child.stdout + child.stderr


@pytest.fixture(params=list(SEARCH_SETUPS))
def indexed_app(request, tmp_path, demo_records) -> Iterator[Flask]:
    """A fresh app on every (database, search backend) pair, 30 clinics indexed."""
    engine, backend = SEARCH_SETUPS[request.param]
    for app in make_app(engine, tmp_path, backend):
        with app.app_context():
            load_demo(_records(demo_records), after_commit=sync.refresh)
        yield app


def _first_clinic_id(app: Flask) -> int:
    with app.app_context():
        return db.session.scalars(select(Clinic.id).order_by(Clinic.id)).first()


def _drift(app: Flask):
    """The index against the rows, without draining the queue first."""
    with app.app_context():
        return sync.verify(drain_first=False)


def test_a_killed_writer_leaves_the_index_behind_until_the_next_request(indexed_app):
    clinic_id = _first_clinic_id(indexed_app)
    _kill_a_writer_after_its_commit(indexed_app, clinic_id)
    with indexed_app.app_context():
        assert db.session.get(Clinic, clinic_id).status == "suspended"  # the commit held
        assert sync.queued() == 1
    assert _drift(indexed_app).extra == [clinic_id]  # the index is behind...

    # ...until the next request looks at the queue (at most once a second per process).
    indexed_app.extensions["search.catch_up"].checked = float("-inf")
    assert indexed_app.test_client().get("/").status_code == 200
    assert _drift(indexed_app).clean
    with indexed_app.app_context():
        assert sync.queued() == 0


def test_a_killed_writer_is_caught_up_by_the_next_start(indexed_app):
    clinic_id = _first_clinic_id(indexed_app)
    _kill_a_writer_after_its_commit(indexed_app, clinic_id)
    assert _drift(indexed_app).extra == [clinic_id]
    catch_up.startup(_sibling(indexed_app))  # what each server process does before serving
    assert _drift(indexed_app).clean
    result = indexed_app.test_cli_runner().invoke(args=["search", "verify"])
    assert result.exit_code == 0 and "Index matches the database." in result.output


def test_the_queue_entry_is_part_of_the_changes_transaction(indexed_app):
    """A change rolled back takes its queue entry with it; a committed one keeps it."""
    clinic_id = _first_clinic_id(indexed_app)
    with indexed_app.app_context():
        clinic = db.session.get(Clinic, clinic_id)
        clinic.name = "Never Saved Clinic"
        sync.enqueue([clinic_id])
        db.session.rollback()
        assert sync.queued() == 0
        clinic = db.session.get(Clinic, clinic_id)
        clinic.name = "Saved Quietly Clinic"
        sync.enqueue([clinic_id])
        db.session.commit()
        assert sync.queued() == 1
        assert sync.verify(drain_first=False).stale == [clinic_id]
        assert sync.drain() and sync.queued() == 0
        assert sync.verify(drain_first=False).clean


# -- damaged index files ---------------------------------------------------------------------
def _segment_files(folder: Path, suffix: str) -> list[Path]:
    files = sorted(folder.glob(f"*MAIN_*{suffix}"))
    assert files, f"no {suffix} file in {sorted(p.name for p in folder.iterdir())}"
    return files


def _garble(path: Path) -> None:
    """Overwrite the file's bytes with a repeating pattern that decodes as nothing."""
    size = path.stat().st_size
    path.write_bytes((b"\xde\xad\xbe\xef" * (size // 4 + 1))[:size])


def _truncate(path: Path) -> None:
    with open(path, "r+b") as file:
        file.truncate(path.stat().st_size // 2)


DAMAGE: dict[str, Callable[[Path], None]] = {
    "table of contents deleted": lambda f: _segment_files(f, ".toc")[0].unlink(),
    "table of contents garbled": lambda f: _garble(_segment_files(f, ".toc")[0]),
    "table of contents truncated": lambda f: _truncate(_segment_files(f, ".toc")[0]),
    "segment deleted": lambda f: [p.unlink() for p in _segment_files(f, ".trm")],
    "stored fields truncated": lambda f: [_truncate(p) for p in _segment_files(f, "._stored.col")],
    "stored fields garbled": lambda f: [_garble(p) for p in _segment_files(f, "._stored.col")],
    "postings garbled": lambda f: [_garble(p) for p in _segment_files(f, ".pst")],
    "index folder deleted": lambda f: shutil.rmtree(f),
}


@pytest.fixture
def whoosh_app(tmp_path, demo_records) -> Iterator[Flask]:
    for app in make_app("sqlite", tmp_path, "whoosh"):
        with app.app_context():
            load_demo(_records(demo_records), after_commit=sync.refresh)
        yield app


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_a_damaged_index_is_reported_repaired_and_keeps_every_write(whoosh_app, damage):
    client = whoosh_app.test_client()
    expected = _api_ids(client, q="depression", per_page=50)
    assert expected
    with whoosh_app.app_context():
        slug = db.session.get(Clinic, _first_clinic_id(whoosh_app)).slug
    folder = IndexFolders(Path(whoosh_app.config["SEARCH_INDEX_DIR"])).current()
    DAMAGE[damage](folder)

    # A process that opens the index now: the CLI says what is wrong, in words.
    verify = _sibling(whoosh_app).test_cli_runner().invoke(args=["search", "verify"])
    assert verify.exit_code == 1, verify.output
    assert "Damaged: the search index" in verify.output and "reindex" in verify.output
    assert (
        "Traceback" not in verify.output
        and verify.exception is None
        or isinstance(verify.exception, SystemExit)
    )

    # A server process that opens it: search answers 503 while the rest of the site works.
    worker = _sibling(whoosh_app)
    visitor = worker.test_client()
    page = visitor.get("/search", query_string={"q": "depression"})
    assert page.status_code == 503
    assert page.headers["Retry-After"] == str(healing.RETRY_AFTER)
    assert "Search is being repaired" in page.get_data(as_text=True)
    api = visitor.get("/api/v1/search", query_string={"q": "depression"})
    assert api.status_code == 503 and "Retry-After" in api.headers
    assert "Search is being repaired" in api.get_json()["error"]["message"]
    for path in ("/", f"/clinics/{slug}", "/guides/", "/about", "/browse"):
        assert visitor.get(path).status_code == 200, path

    # A write meanwhile succeeds; its index work waits in the queue, nothing is lost.
    with worker.app_context():
        clinic = db.session.scalars(select(Clinic).order_by(Clinic.id.desc())).first()
        clinic.name = "Quillwort Recovery Clinic"
        publishing.save(clinic)
        renamed = clinic.id

    assert healing.wait(worker, REPAIR_TIMEOUT), "the repair did not finish"
    assert _api_ids(visitor, q="depression", per_page=50) == expected
    assert _api_ids(visitor, q="quillwort") == [renamed]
    with worker.app_context():
        assert db.session.scalar(select(SearchQueue.id)) is None
    assert _drift(whoosh_app).clean
    again = whoosh_app.test_cli_runner().invoke(args=["search", "verify"])
    assert again.exit_code == 0, again.output


def test_reindex_recovers_whatever_the_folder_holds(whoosh_app):
    """`flask search reindex` rebuilds even with the pointer and every folder gone,
    and leaves one folder behind."""
    root = Path(whoosh_app.config["SEARCH_INDEX_DIR"])
    for path in root.iterdir():
        if path.is_dir():
            shutil.rmtree(path)
    (root / "CURRENT").unlink()
    (root / "stray-file").write_text("left by an older layout")
    runner = _sibling(whoosh_app).test_cli_runner()
    assert runner.invoke(args=["search", "verify"]).exit_code == 1
    result = runner.invoke(args=["search", "reindex"])
    assert result.exit_code == 0 and "Indexed 30 published clinics" in result.output
    assert sorted(p.name for p in root.iterdir() if p.name != "write.lock") == [
        "CURRENT",
        IndexFolders(root).current().name,
    ]
    assert runner.invoke(args=["search", "verify"]).exit_code == 0


def test_a_killed_rebuild_leaves_the_served_index_alone(whoosh_app):
    """A rebuild writes into a folder of its own: killed halfway, searches go on
    reading the published folder, and the next rebuild clears the leftover."""
    client = whoosh_app.test_client()
    before = _api_ids(client, q="depression", per_page=50)
    root = Path(whoosh_app.config["SEARCH_INDEX_DIR"])
    current = IndexFolders(root).current()
    script = (
        "import json, os, signal, sys\n"
        "from pathlib import Path\n"
        "from directory import create_app\n"
        "from directory.search import sync\n"
        "settings, instance = json.loads(sys.argv[1])\n"
        "app = create_app(settings, instance_path=Path(instance))\n"
        "def documents():\n"
        "    for number, doc in enumerate(sync.published_documents()):\n"
        "        if number == 10:\n"
        "            os.kill(os.getpid(), signal.SIGKILL)\n"
        "        yield doc\n"
        "with app.app_context():\n"
        "    from directory.search import get_backend\n"
        "    get_backend().rebuild(documents())\n"
    )
    argument = json.dumps([_settings(whoosh_app), whoosh_app.instance_path])
    child = subprocess.run(
        [sys.executable, "-c", script, argument], cwd=PROJECT, capture_output=True, timeout=120
    )
    assert child.returncode == -signal.SIGKILL, child.stderr
    assert IndexFolders(root).current() == current
    assert len([p for p in root.iterdir() if p.is_dir()]) == 2  # the half-built one
    assert _api_ids(_sibling(whoosh_app).test_client(), q="depression", per_page=50) == before
    with whoosh_app.app_context():
        assert sync.rebuild() == 30
    assert len([p for p in root.iterdir() if p.is_dir()]) == 1
    assert _drift(whoosh_app).clean


def test_first_use_of_a_new_site_makes_an_empty_index(tmp_path):
    for app in make_app("sqlite", tmp_path, "whoosh"):
        assert _api_ids(app.test_client(), q="depression") == []
        with app.app_context():
            assert get_backend().check() == []
        assert IndexFolders(Path(app.config["SEARCH_INDEX_DIR"])).current() is not None
    assert os.path.isdir(tmp_path / "index")


@pytest.mark.parametrize("damage", ["table of contents garbled", "index folder deleted"])
def test_setup_starts_from_a_damaged_index(whoosh_app, damage):
    """`make run` runs `flask setup` first: whatever the folder holds, it serves."""
    DAMAGE[damage](IndexFolders(Path(whoosh_app.config["SEARCH_INDEX_DIR"])).current())
    result = _sibling(whoosh_app).test_cli_runner().invoke(args=["setup", "--no-demo"])
    assert result.exit_code == 0, result.output
    assert "Search index rebuilt (it was damaged): 30 published clinics." in result.output
    assert _drift(whoosh_app).clean


def test_setup_moves_an_index_of_the_older_layout_into_a_folder(whoosh_app):
    """Before generation folders the Whoosh files sat in SEARCH_INDEX_DIR itself."""
    root = Path(whoosh_app.config["SEARCH_INDEX_DIR"])
    folder = IndexFolders(root).current()
    for path in folder.iterdir():
        path.rename(root / path.name)
    folder.rmdir()
    (root / "CURRENT").unlink()
    result = _sibling(whoosh_app).test_cli_runner().invoke(args=["setup", "--no-demo"])
    assert result.exit_code == 0 and "30 published clinics" in result.output, result.output
    assert not list(root.glob("*.toc"))
    assert _drift(whoosh_app).clean
