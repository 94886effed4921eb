"""Patient reports: no account needed, CSRF on, a honeypot, a rate limit, into the queue.

Runs on SQLite and PostgreSQL (`fresh_app`). Every POST carries a CSRF token read
from the form page the same client fetched, as a browser would.
"""

from __future__ import annotations

import html

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from directory.extensions import db
from directory.listings.demo import load_demo
from directory.models import AuditEvent, Clinic, Revision
from directory.public.report import REPORTS_PER_HOUR
from directory.search import sync
from tests.helpers import csrf_token

GOOD_MESSAGE = "The IV price went up to $600 in January; the phone number changed too."


@pytest.fixture
def listing(fresh_app, demo_records):
    """The app and the slug of one published clinic (plus one unpublished slug)."""
    with fresh_app.app_context():
        load_demo(demo_records[:4], after_commit=sync.refresh)
        published = db.session.scalars(select(Clinic.slug).where(Clinic.status == "published"))
        slug = sorted(published)[0]
    return fresh_app, slug


def _send(client, slug: str, **fields):
    data = {"message": GOOD_MESSAGE, "contact": "", "homepage": "", **fields}
    data.setdefault("csrf_token", csrf_token(client, f"/clinics/{slug}/report"))
    return client.post(f"/clinics/{slug}/report", data=data)


def _reports(app) -> list[Revision]:
    with app.app_context():
        return list(db.session.scalars(select(Revision).where(Revision.kind == "report")))


def test_clinic_page_links_to_the_report_form(listing):
    app, slug = listing
    page = app.test_client().get(f"/clinics/{slug}").get_data(as_text=True)
    assert f'href="/clinics/{slug}/report"' in page


def test_a_report_enters_the_queue_and_changes_nothing_live(listing):
    app, slug = listing
    client = app.test_client()
    with app.app_context():
        clinic = db.session.scalars(select(Clinic).where(Clinic.slug == slug)).one()
        before = (clinic.version, clinic.phone, clinic.description)
    response = _send(client, slug, contact="  reader@example.org ")
    assert response.status_code == 200
    assert "Thank you" in response.get_data(as_text=True)
    [report] = _reports(app)
    assert report.status == "pending" and report.author_id is None
    assert report.payload == {"message": GOOD_MESSAGE, "contact": "reader@example.org"}
    with app.app_context():
        clinic = db.session.scalars(select(Clinic).where(Clinic.slug == slug)).one()
        assert (clinic.version, clinic.phone, clinic.description) == before
        assert (
            db.session.scalar(select(func.count()).where(AuditEvent.action == "report_submitted"))
            == 1
        )


def test_a_post_without_the_csrf_token_is_refused_and_stores_nothing(listing):
    app, slug = listing
    response = _send(app.test_client(), slug, csrf_token="")
    assert response.status_code == 400
    assert _reports(app) == []


def test_a_filled_honeypot_looks_accepted_but_stores_nothing(listing):
    app, slug = listing
    response = _send(app.test_client(), slug, homepage="http://spam.example/")
    assert response.status_code == 200
    assert _reports(app) == []


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"message": "short"}, "message", "Write 10 to 2,000 characters."),
        ({"message": "          "}, "message", "Write 10 to 2,000 characters."),
        ({"message": "x" * 2001}, "message", "Write 10 to 2,000 characters."),
        ({"message": "Fix <script>alert(1)</script> now"}, "message", "plain text only"),
        ({"contact": "not an email"}, "contact", "Enter an email like name@example.com."),
        ({"contact": "a@" + "b" * 260 + ".org"}, "contact", "at most 254 characters"),
    ],
)
def test_bad_input_is_shown_beside_the_field_with_the_values_kept(listing, fields, field, message):
    app, slug = listing
    response = _send(app.test_client(), slug, **fields)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    block = page.split(f'id="field-{field}"', 1)[1].split('class="field"', 1)[0]
    assert message in html.unescape(block)
    for name, value in fields.items():
        assert html.escape(value, quote=False) in page or html.escape(value) in page, name
    assert _reports(app) == []


def test_the_rate_limit_answers_429_after_five_reports_an_hour(listing):
    app, slug = listing
    client = app.test_client()
    for _ in range(REPORTS_PER_HOUR):
        assert _send(client, slug).status_code == 200
    limited = _send(client, slug)
    assert limited.status_code == 429
    assert "Too many reports" in limited.get_data(as_text=True)
    assert GOOD_MESSAGE in html.unescape(limited.get_data(as_text=True)), "the text is kept"
    assert len(_reports(app)) == REPORTS_PER_HOUR


def test_unknown_and_unpublished_listings_have_no_report_form(listing, demo_records):
    app, _slug = listing
    client = app.test_client()
    assert client.get("/clinics/no-such-clinic/report").status_code == 404
    with app.app_context():
        hidden = db.session.scalars(select(Clinic.slug).where(Clinic.status != "published")).first()
    if hidden is not None:
        assert client.get(f"/clinics/{hidden}/report").status_code == 404


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    message=st.text(st.characters(exclude_categories=("Cs",)), max_size=300),
    contact=st.text(st.characters(exclude_categories=("Cs",)), max_size=80),
)
def test_any_form_values_get_a_clear_answer(listing, message, contact):
    app, slug = listing
    with app.app_context():  # keep the rate limit out of the way of this property
        db.session.execute(db.text("DELETE FROM throttle_event"))
        db.session.commit()
    stored = len(_reports(app))
    response = _send(app.test_client(), slug, message=message, contact=contact)
    assert response.status_code in (200, 400), response.status_code
    if response.status_code == 400:
        assert 'class="field-error"' in response.get_data(as_text=True)
        assert len(_reports(app)) == stored
    else:
        assert len(_reports(app)) == stored + 1
