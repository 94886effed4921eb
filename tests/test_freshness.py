"""Freshness: listings unverified for 180 days are flagged to editors, owners and
patients, and owners get one reminder mail a month until they re-verify.

Runs on SQLite and PostgreSQL (`stale_listings` in conftest.py); reminders go to the real
file outbox.
"""

from __future__ import annotations

from directory.extensions import db
from directory.mail import outbox_messages
from directory.models import Clinic
from tests.helpers import client_for, make_user, remind_stale


def test_owners_of_stale_listings_get_one_reminder_a_month(stale_listings):
    app, _ids, _slugs, names, _owner = stale_listings
    assert "reminders sent: 1" in remind_stale(app)
    [mail] = outbox_messages(app)
    assert mail["To"] == "owner@fresh.example"
    assert names["stale"] in mail["Subject"]
    assert names["fresh"] not in mail.get_content()
    assert "reminders sent: 0" in remind_stale(app), "no second mail within the month"
    assert len(outbox_messages(app)) == 1


def test_the_reminder_is_plain_text_with_the_name_as_written(stale_listings):
    app, ids, _slugs, _names, _owner = stale_listings
    with app.app_context():
        db.session.get(Clinic, ids["stale"]).name = "Smith & Jones <Ketamine> Care"
        db.session.commit()
    remind_stale(app)
    [mail] = outbox_messages(app)
    assert mail["Subject"] == "Is your listing still accurate? Smith & Jones <Ketamine> Care"
    body = mail.get_content()
    assert mail.get_content_type() == "text/plain" and not mail.is_multipart()
    assert "Patients see that Smith & Jones <Ketamine> Care has not been verified" in body
    assert "&amp;" not in body and "&lt;" not in body
    assert body.rstrip().endswith("Ketamine Clinic Directory")


def test_patients_see_not_verified_since_on_stale_listings(stale_listings):
    app, _ids, slugs, _names, _owner = stale_listings
    client = app.test_client()
    stale_page = client.get(f"/clinics/{slugs['stale']}").get_data(as_text=True)
    fresh_page = client.get(f"/clinics/{slugs['fresh']}").get_data(as_text=True)
    assert "Not verified since" in stale_page
    assert "Not verified since" not in fresh_page and "Last verified" in fresh_page
    api = {
        name: client.get(f"/api/v1/clinics/{slug}").get_json()["verified"]
        for name, slug in slugs.items()
    }
    assert api == {"stale": False, "fresh": True, "orphan": False}


def test_stale_listings_are_marked_in_the_admin(stale_listings):
    app, ids, _slugs, names, owner = stale_listings
    editor = client_for(app, make_user(app, "editor@directory.test", "editor"))
    listing = editor.get("/admin/clinics/").get_data(as_text=True)
    rows = {name: listing.split(name, 1)[1].split("</tr>", 1)[0] for name in names.values()}
    assert ">stale<" in rows[names["stale"]] and "Not verified since" in rows[names["stale"]]
    assert ">stale<" not in rows[names["fresh"]]
    # The "Verification is Stale" filter (the fifth filter) lists only stale ones.
    stale_only = editor.get("/admin/clinics/?flt0_4=stale").get_data(as_text=True)
    assert names["stale"] in stale_only and names["fresh"] not in stale_only
    mine = client_for(app, owner)
    page = mine.get(f"/admin/my-listings/{ids['stale']}/").get_data(as_text=True)
    assert ">stale<" in page
    page = mine.get(f"/admin/my-listings/{ids['fresh']}/").get_data(as_text=True)
    assert ">stale<" not in page
