"""`flask backup`, `flask export` and `flask import`, on real SQLite and PostgreSQL databases.

A SQLite site with the demo data, accounts, an approved claim, revisions and audit
events is exported, imported into a new PostgreSQL database and back into a new
SQLite one; every row of every table must come out equal, the old password must
still sign in, new rows must get fresh ids, and search must answer the same.
"""

from __future__ import annotations

import re
import shutil
import sqlite3
import stat
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from directory import throttle
from directory.account.services import create_user
from directory.extensions import db
from directory.listings import decisions, submissions
from directory.listings.demo import load_demo
from directory.listings.publishing import set_status
from directory.listings.records import clinic_record
from directory.models import AuditEvent, Clinic, Revision, User
from directory.ops.transfer import FORMAT_VERSION, app_tables
from directory.search import sync
from tests.conftest import make_app
from tests.helpers import csrf_token

PASSWORD = "correct horse battery staple 9"
SEARCHES = [
    {"where": "Austin, TX"},
    {"q": "ptsd", "where": "10001", "radius": "100"},
    {"modality": "spravato", "insurer": "aetna", "where": "Chicago, IL", "radius": "300"},
    {"q": "esketamine infusion", "sort": "relevance"},
    {"condition": "chronic-pain", "max_price": "500", "where": "Denver, CO", "sort": "price"},
]


@pytest.fixture(scope="module")
def apps(tmp_path_factory) -> Iterator[Callable[[str], Flask]]:
    """`new(engine)`: a new migrated app with vocabularies, dropped after the module."""
    with ExitStack() as stack:

        def new(engine: str) -> Flask:
            workdir = tmp_path_factory.mktemp(f"ops-{engine}")
            return stack.enter_context(contextmanager(make_app)(engine, workdir))

        yield new


def _empty(app: Flask) -> Flask:
    """Drop the vocabularies `make_app` loads: import wants a database with no rows."""
    with app.app_context():
        for table in reversed(app_tables()):
            db.session.execute(table.delete())
        db.session.commit()
    return app


@pytest.fixture(scope="module")
def source(apps, demo_records) -> Flask:
    """A SQLite site with the demo data and the people and history a real one has."""
    app = apps("sqlite")
    with app.app_context():
        load_demo(demo_records)
        sync.rebuild()
        owner = create_user("owner@example.com", PASSWORD, verified=True)
        editor = create_user("editor@example.com", PASSWORD, "editor", verified=True)
        create_user("unverified@example.com", PASSWORD)
        clinic = db.session.scalars(
            select(Clinic).where(Clinic.status == "published").order_by(Clinic.id)
        ).first()
        claim = submissions.request_claim(owner, clinic, "owner@example.com", "I run this clinic.")
        decisions.approve(editor, claim)
        record = clinic_record(clinic)
        record["description"] = "Now open on Saturdays. Ask about our integration sessions."
        submissions.submit_edit(owner, clinic, record, note="Saturday hours")
        submissions.report_problem(clinic, "The phone number on the page is out of date.")
        throttle.hit("sign-in:account:someone@example.com")  # not exported
        assert db.session.scalar(select(func.count()).select_from(AuditEvent)) >= 4
    return app


def _rows(app: Flask) -> dict[str, list[dict[str, Any]]]:
    """Every row of every app table, by primary key, with times as UTC instants."""

    def norm(value: Any) -> Any:
        if isinstance(value, datetime):
            return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return value

    with app.app_context():
        return {
            table.name: [
                {k: norm(v) for k, v in row.items()}
                for row in db.session.execute(
                    select(table).order_by(*table.primary_key.columns)
                ).mappings()
            ]
            for table in app_tables()
        }


def _cli(app: Flask, *args: str):
    return app.test_cli_runner().invoke(args=list(args))


def _searches(app: Flask) -> list[dict]:
    client = app.test_client()
    answers = []
    for params in SEARCHES:
        response = client.get("/api/v1/search", query_string=params)
        assert response.status_code == 200, (params, response.get_json())
        answers.append(response.get_json())
    return answers


def _sign_in(app: Flask, email: str, password: str) -> int:
    client = app.test_client()
    token = csrf_token(client, "/account/sign-in")
    data = {"email": email, "password": password, "next": "", "csrf_token": token}
    return client.post("/account/sign-in", data=data).status_code


@pytest.fixture(scope="module")
def exported(source, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("export") / "site.jsonl.gz"
    result = _cli(source, "export", str(path))
    assert result.exit_code == 0, result.output
    assert "Exported" in result.output and "user_account 3" in result.output
    return path


@pytest.fixture(scope="module")
def on_postgres(apps, exported) -> Flask:
    target = _empty(apps("postgresql"))
    result = _cli(target, "import", str(exported))
    assert result.exit_code == 0, result.output
    assert "Search index rebuilt." in result.output
    return target


def test_every_row_arrives_in_postgresql(source, on_postgres):
    before, after = _rows(source), _rows(on_postgres)
    assert set(before) == {t.name for t in app_tables()} and "throttle_event" not in before
    for name in before:
        assert after[name] == before[name], name
    assert len(before["user_account"]) == 3 and before["ownership"] and before["audit_event"]
    assert {r["kind"] for r in before["revision"]} == {"claim", "edit", "report"}


def test_and_back_into_sqlite(apps, source, on_postgres, tmp_path):
    path = tmp_path / "from-postgres.jsonl"
    assert _cli(on_postgres, "export", str(path)).exit_code == 0
    target = _empty(apps("sqlite"))
    result = _cli(target, "import", str(path))
    assert result.exit_code == 0, result.output
    assert _rows(target) == _rows(source)
    assert _searches(target) == _searches(source)


def test_the_old_password_still_signs_in(on_postgres):
    assert _sign_in(on_postgres, "owner@example.com", PASSWORD) == 302
    assert _sign_in(on_postgres, "owner@example.com", "not the password at all") == 400


def test_search_answers_the_same(source, on_postgres):
    assert _searches(on_postgres) == _searches(source)
    with on_postgres.app_context():
        assert sync.verify().clean


def test_new_rows_get_fresh_ids_after_import(on_postgres):
    with on_postgres.app_context():
        top = {
            model: db.session.scalar(select(func.max(model.id)))
            for model in (User, Revision, AuditEvent)
        }
        user = create_user("new@example.com", PASSWORD)
        clinic = db.session.scalars(select(Clinic).where(Clinic.status == "published")).first()
        report = submissions.report_problem(clinic, "Their website link does not open.")
        assert user.id == top[User] + 1 and report.id == top[Revision] + 1
        newest = db.session.scalar(select(func.max(AuditEvent.id)))
        assert newest == top[AuditEvent] + 1


def test_export_file_is_private_and_versioned(exported):
    import gzip
    import json

    assert stat.S_IMODE(exported.stat().st_mode) == 0o600
    with gzip.open(exported, "rt", encoding="utf-8") as lines:
        header = json.loads(next(lines))
        last = None
        for line in lines:
            last = json.loads(line)
    assert header["version"] == FORMAT_VERSION and header["source_engine"] == "sqlite"
    assert [t["name"] for t in header["tables"]] == [t.name for t in app_tables()]
    assert last["end"] is True and last["counts"]["user_account"] == 3


# -- refusals: a clear message, exit code 1, nothing changed ------------------------------
def test_import_refuses_a_database_with_rows(apps, exported):
    target = apps("postgresql")  # vocabularies loaded, as `flask setup` would
    result = _cli(target, "import", str(exported))
    assert result.exit_code == 1
    assert "The database is not empty: condition (17 rows)" in result.output
    assert "flask db upgrade" in result.output and "Traceback" not in result.output


def test_a_truncated_export_leaves_the_database_empty(apps, exported, tmp_path):
    import gzip

    with gzip.open(exported, "rt", encoding="utf-8") as lines:
        kept = list(lines)[:-1]
    cut = tmp_path / "cut.jsonl"
    cut.write_text("".join(kept), encoding="utf-8")
    target = _empty(apps("postgresql"))
    result = _cli(target, "import", str(cut))
    assert result.exit_code == 1 and "the file is incomplete" in result.output
    assert all(not rows for rows in _rows(target).values())


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "is not an export of this directory"),
        ("not json\n", "is not an export of this directory"),
        ('{"format": "something-else"}\n', "is not an export of this directory"),
        ('{"format": "ketamine-directory-export", "version": 99}\n', "format version 99"),
    ],
)
def test_import_refuses_what_is_not_an_export(apps, tmp_path, content, message):
    target = apps("sqlite")
    path = tmp_path / "bad.jsonl"
    path.write_text(content, encoding="utf-8")
    result = _cli(target, "import", str(path))
    assert result.exit_code == 1 and message in result.output, result.output
    missing = _cli(target, "import", str(tmp_path / "nowhere.jsonl"))
    assert missing.exit_code == 1 and "is not a file" in missing.output


def test_import_refuses_an_unmigrated_database(tmp_path, exported):
    from directory import create_app

    app = create_app(
        {
            "SECRET_KEY": "test-secret-key",
            "SITE_URL": "https://directory.test",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'blank.sqlite'}",
            "SEARCH_INDEX_DIR": str(tmp_path / "index"),
        },
        instance_path=tmp_path,
    )
    result = _cli(app, "import", str(exported))
    assert result.exit_code == 1 and "run `flask db upgrade` first" in result.output
    with app.app_context():
        db.engine.dispose()


def test_export_never_overwrites(source, exported):
    result = _cli(source, "export", str(exported))
    assert result.exit_code == 1 and "already exists" in result.output


# -- backup --------------------------------------------------------------------------------
def _count(path: Path, table: str) -> int:
    with sqlite3.connect(path) as conn:
        return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def test_backup_copies_a_consistent_sqlite_database(source, tmp_path):
    db_file = Path(source.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///"))
    # A writer is mid-transaction: the backup holds only what was committed.
    writer = sqlite3.connect(db_file, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("DELETE FROM offering")
    try:
        result = _cli(source, "backup", "--dir", str(tmp_path / "backups"))
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    assert result.exit_code == 0, result.output
    [copy] = (tmp_path / "backups").glob("directory-*.sqlite")
    assert re.fullmatch(r"directory-\d{8}T\d{6}Z\.sqlite", copy.name)
    assert str(copy) in result.output and stat.S_IMODE(copy.stat().st_mode) == 0o600
    for table in ("clinic", "offering", "user_account", "audit_event", "alembic_version"):
        assert _count(copy, table) == _count(db_file, table), table
    with sqlite3.connect(copy) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    again = _cli(source, "backup", "--dir", str(tmp_path / "backups"))
    assert again.exit_code == 0 and len(list((tmp_path / "backups").iterdir())) == 2


def test_backup_defaults_to_the_instance_folder(source):
    result = _cli(source, "backup")
    assert result.exit_code == 0, result.output
    folder = Path(source.instance_path) / "backups"
    assert any(folder.glob("directory-*.sqlite"))
    shutil.rmtree(folder)


def test_restore_from_a_backup(apps, demo_records, tmp_path):
    """The documented restore: stop the app, copy the file back, reindex."""
    app = apps("sqlite")
    with app.app_context():
        load_demo(demo_records[:6])
        sync.rebuild()
        total = db.session.scalar(select(func.count()).select_from(Clinic))
    assert _cli(app, "backup", "--dir", str(tmp_path)).exit_code == 0
    [copy] = tmp_path.glob("directory-*.sqlite")
    with app.app_context():  # after the backup, listings are suspended (and unindexed)
        for clinic in db.session.scalars(select(Clinic).where(Clinic.status == "published")):
            set_status(clinic, "suspended")
        db.session.remove()
        db.engine.dispose()  # "stop the app": no connection holds the file
    db_file = Path(app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///"))
    shutil.copyfile(copy, db_file)
    verify = _cli(app, "search", "verify")
    assert verify.exit_code == 1 and "missing" in verify.output  # the index is newer
    assert _cli(app, "search", "reindex").exit_code == 0
    assert _cli(app, "search", "verify").exit_code == 0
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Clinic)) == total
        assert db.session.scalar(select(func.count()).where(Clinic.status == "published"))


def test_backup_on_postgresql_points_to_pg_dump(on_postgres):
    result = _cli(on_postgres, "backup")
    assert result.exit_code == 1
    assert "pg_dump" in result.output and "Traceback" not in result.output


def test_trusted_hosts_refuse_other_host_headers(tmp_path, monkeypatch):
    """With TRUSTED_HOSTS set, a forged Host (which would poison mailed links) gets a 400."""
    monkeypatch.setenv("TRUSTED_HOSTS", "directory.example, www.directory.example")
    apps = make_app("sqlite", tmp_path)
    app = next(apps)
    try:
        app.config["SERVER_NAME"] = None
        client = app.test_client()
        assert client.get("/", headers={"Host": "directory.example"}).status_code == 200
        assert client.get("/", headers={"Host": "www.directory.example"}).status_code == 200
        forged = client.get("/account/reset", headers={"Host": "evil.example"})
        assert forged.status_code == 400
    finally:
        apps.close()
