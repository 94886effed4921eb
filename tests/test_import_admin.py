"""Imports in the admin, on SQLite and PostgreSQL: upload, columns, the dry run's report,
the background run with its progress, cancelling, and who may do any of it."""

from __future__ import annotations

import csv
import gc
import io
import time

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from directory.extensions import db
from directory.models import Clinic, ImportJob, User
from tests.helpers import all_at_once, client_for, csrf_token, make_user, text

from .test_imports import HEADERS, as_csv, listed  # noqa: F401  (the fixture)

PAGE = "/admin/imports/"


def _upload(client, data: bytes, filename: str = "clinics.csv", **fields):
    token = csrf_token(client, PAGE)
    form = {
        "csrf_token": token,
        "file": (io.BytesIO(data), filename),
        "source": "state-board",
        "new_status": "pending",
        **fields,
    }
    return client.post(PAGE + "upload", data=form, content_type="multipart/form-data")


def _job(app) -> ImportJob:
    with app.app_context():
        job = db.session.scalars(select(ImportJob).order_by(ImportJob.id.desc())).first()
        db.session.expunge(job)
        return job


def _wait(app, job_id: int, seconds: float = 60) -> ImportJob:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with app.app_context():
            job = db.session.get(ImportJob, job_id)
            if job.state != "running":
                db.session.expunge(job)
                return job
        time.sleep(0.1)
    raise AssertionError("the import did not finish")


def _imported(app) -> int:
    with app.app_context():
        return db.session.scalar(
            select(func.count(Clinic.id)).where(Clinic.external_id.is_not(None))
        )


def _post(client, url: str, page: str, **data):
    return client.post(url, data={"csrf_token": csrf_token(client, page), **data})


def test_upload_report_import_with_progress(listed):  # noqa: F811
    app, rows = listed
    editor = client_for(app, _editor(app))
    response = _upload(editor, as_csv(rows))
    assert response.status_code == 303
    job = _job(app)
    page = f"{PAGE}{job.id}/"
    html = text(editor.get(page))
    new = sum(r.outcome == "new" for r in rows)
    rejected = sum(r.outcome == "rejected" for r in rows)
    assert f'data-outcome="new">{new}<' in html and f'data-outcome="rejected">{rejected}<' in html
    assert 'data-outcome="duplicate">40<' in html
    assert "Enter a 5-digit ZIP code." in html and "ZIP code" in html
    assert f"Import {new} listings" in html
    # Every column was recognised; setting one aside ("Description") is a real choice.
    mapping = {f"column-{i}": key for i, key in enumerate(_keys(app, job.id))}
    mapping["column-10"] = ""
    saved = _post(editor, f"{PAGE}{job.id}/mapping", page, **mapping)
    assert saved.status_code == 303
    html = text(editor.get(page))
    assert "Plain text only" not in html  # the HTML was in the column now set aside
    started = _post(editor, f"{PAGE}{job.id}/start", page)
    assert started.status_code == 303
    done = _wait(app, job.id)
    assert done.state == "done" and done.created == done.total == done.done
    assert _imported(app) == done.created
    progress = editor.get(f"{PAGE}{job.id}/progress").get_json()
    assert progress == {
        "state": "done",
        "done": done.done,
        "total": done.total,
        "created": done.created,
        "updated": 0,
        "message": "",
    }
    assert "Import done" in text(editor.get(page))


def _editor(app) -> int:
    """A new editor account (each call its own)."""
    with app.app_context():
        n = db.session.scalar(select(func.count(User.id)))
    return make_user(app, f"importer{n}@directory.test", "editor")


def _keys(app, job_id: int) -> list[str]:
    with app.app_context():
        job = db.session.get(ImportJob, job_id)
        return [job.mapping.get(str(i), "") for i in range(len(HEADERS))]


# Werkzeug's test client spools a body this large to a temporary file it never closes
# (allocated in EnvironBuilder.get_request, not by the app): its ResourceWarning is not ours.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_a_list_larger_than_the_sites_form_limit_uploads(listed):  # noqa: F811
    app, rows = listed
    editor = client_for(app, _editor(app))
    padded = as_csv(rows).decode().splitlines()
    padded = [padded[0] + ",Notes"] + [line + "," + "x" * 2500 for line in padded[1:]]
    data = ("\n".join(padded) + "\n").encode()
    assert len(data) > 1024 * 1024
    assert _upload(editor, data).status_code == 303
    assert "Notes" in text(editor.get(f"{PAGE}{_job(app).id}/"))
    gc.collect()  # drop that file now, under this test's filter, not in the next test


def test_bad_uploads_say_why_and_keep_nothing(listed):  # noqa: F811
    app, rows = listed
    editor = client_for(app, _editor(app))
    for data, name, words in (
        (b"name,city\nA,B\n", "clinics.txt", "Choose a .csv or .xlsx file."),
        (b"\xff\xfe\x00bad", "clinics.csv", "Save the CSV file as UTF-8"),
        (b"PK\x03\x04not a workbook", "clinics.xlsx", "not an Excel workbook"),
        (b"", "clinics.csv", "empty"),
    ):
        response = _upload(editor, data, name)
        assert response.status_code == 400, name
        assert words in text(response), name
    no_token = editor.post(
        PAGE + "upload",
        data={"file": (io.BytesIO(as_csv(rows)), "clinics.csv")},
        content_type="multipart/form-data",
    )
    assert no_token.status_code == 400
    with app.app_context():
        assert db.session.scalar(select(func.count(ImportJob.id))) == 0


def test_two_clicks_on_import_run_it_once_and_cancel_stops_between_batches(listed):  # noqa: F811
    app, rows = listed
    editors = [client_for(app, _editor(app)) for _ in range(2)]
    assert _upload(editors[0], as_csv(rows)).status_code == 303
    job = _job(app)
    page = f"{PAGE}{job.id}/"
    tokens = [csrf_token(client, page) for client in editors]

    def click(n: int) -> int:
        url = f"{PAGE}{job.id}/start"
        return editors[n].post(url, data={"csrf_token": tokens[n]}).status_code

    assert all_at_once(2, click) == [303, 303]
    done = _wait(app, job.id)
    assert done.state == "done" and _imported(app) == done.created == done.total

    # A second upload of the same list: nothing to write; discarding it writes nothing.
    assert _upload(editors[0], as_csv(rows)).status_code == 303
    second = _job(app)
    assert "Import 0 listings" in text(editors[0].get(f"{PAGE}{second.id}/"))
    _post(editors[0], f"{PAGE}{second.id}/cancel", f"{PAGE}{second.id}/")
    assert _job(app).state == "cancelled"


def test_a_running_import_cancelled_leaves_whole_batches(listed):  # noqa: F811
    app, rows = listed
    editor = client_for(app, _editor(app))
    assert _upload(editor, as_csv(rows)).status_code == 303
    job = _job(app)
    page = f"{PAGE}{job.id}/"
    with app.app_context():
        # Asked to stop before it starts: the run stops before its first batch.
        db.session.get(ImportJob, job.id).cancel_requested = True
        db.session.commit()
    # Starting clears an old request; cancel right after, while it runs.
    assert _post(editor, f"{PAGE}{job.id}/start", page).status_code == 303
    _post(editor, f"{PAGE}{job.id}/cancel", page)
    done = _wait(app, job.id)
    assert done.state in ("cancelled", "done")
    assert _imported(app) == done.created
    assert done.created % 100 == 0 or done.created == done.total


def test_only_staff_may_import(site):
    owner = client_for(site.app, site.clinic_user)
    visitor = site.app.test_client()
    for url in (PAGE, PAGE + "template.csv", PAGE + "1/", PAGE + "1/progress"):
        assert owner.get(url).status_code == 403, url
        assert visitor.get(url).status_code == 302, url
    token = csrf_token(owner, f"/admin/my-listings/{site.a}/edit")
    for url in (PAGE + "upload", PAGE + "1/start", PAGE + "1/cancel", PAGE + "1/mapping"):
        assert owner.post(url, data={"csrf_token": token}).status_code == 403, url
        assert visitor.post(url, data={}).status_code in (302, 400), url


def test_the_templates_hold_every_column(site):
    editor = client_for(site.app, site.editor)
    csv_template = editor.get(PAGE + "template.csv")
    assert csv_template.status_code == 200 and csv_template.mimetype == "text/csv"
    header = next(csv.reader(io.StringIO(csv_template.get_data(as_text=True))))
    assert {"Name", "ZIP code", "IV infusion: lowest price per session"} <= set(header)
    xlsx = editor.get(PAGE + "template.xlsx")
    assert xlsx.status_code == 200 and xlsx.data[:2] == b"PK"
    sheet = load_workbook(io.BytesIO(xlsx.data)).active
    assert [c.value for c in sheet[1]] == header
    assert editor.get(PAGE + "template.pdf").status_code == 404
