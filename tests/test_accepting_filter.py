"""The results page's "accepting new patients" checkbox and a whole-state search, as a
patient meets them: the box round-trips, its chip takes it back, links keep it, and
the heading says what was searched."""

from __future__ import annotations

import html
import re
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import select

from directory.extensions import db
from directory.models import Clinic

BIRMINGHAM = {"where": "Birmingham, AL", "radius": "250"}
CHECKBOX = re.compile(r'<input type="checkbox" name="accepting" value="1" id="f-accepting"[^>]*>')


def _page(client, **params) -> str:
    response = client.get("/search", query_string=params)
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def _checkbox(page: str) -> str:
    found = CHECKBOX.search(page)
    assert found, "the checkbox is missing"
    return found[0]


def _card_ids(page: str) -> list[str]:
    return re.findall(r'<h3 class="card-title" id="clinic-(\d+)"', page)


def _chip(page: str, label: str) -> str | None:
    found = re.search(
        rf'<a class="chip" href="([^"]+)" aria-label="Remove the filter {label}">', page
    )
    return html.unescape(found[1]) if found else None


def test_the_checkbox_round_trips_and_its_chip_removes_it(demo_client, demo_app):
    plain = _page(demo_client, **BIRMINGHAM)
    assert "checked" not in _checkbox(plain)
    assert 'form="search"' in _checkbox(plain)
    assert "Only clinics accepting new patients" in plain
    assert _chip(plain, "Accepting new patients") is None
    assert "Not accepting new patients" in plain  # so the filter has something to leave out

    ticked = _page(demo_client, **BIRMINGHAM, accepting="1")
    assert "checked" in _checkbox(ticked)
    assert "accepting new patients within 250 miles of Birmingham, AL" in ticked
    # Every card shown (results and telehealth) is a clinic accepting new patients.
    ids = [int(i) for i in _card_ids(ticked)]
    assert ids
    with demo_app.app_context():
        accepting = dict(
            db.session.execute(
                select(Clinic.id, Clinic.accepting_new_patients).where(Clinic.id.in_(ids))
            ).all()
        )
    assert all(accepting[i] for i in ids)
    assert "Not accepting new patients" not in ticked

    chip = _chip(ticked, "Accepting new patients")
    assert chip is not None
    args = parse_qs(urlsplit(chip).query)
    assert "accepting" not in args and args["where"] == ["Birmingham, AL"]
    back = demo_client.get(chip).get_data(as_text=True)
    assert "checked" not in _checkbox(back)
    assert _card_ids(back) == _card_ids(plain)

    # A clinic opened from the filtered results links back to them, filter kept.
    link = html.unescape(re.search(r'<h3 class="card-title"[^>]*><a href="([^"]+)"', ticked)[1])
    clinic = demo_client.get(link).get_data(as_text=True)
    back_link = html.unescape(re.search(r'<a href="([^"]+)">‹ Back to your results', clinic)[1])
    assert parse_qs(urlsplit(back_link).query)["accepting"] == ["1"]
    canonical = html.unescape(re.search(r'<link rel="canonical" href="([^"]+)"', ticked)[1])
    assert parse_qs(urlsplit(canonical).query)["accepting"] == ["1"]


def test_other_values_of_the_setting(demo_client):
    for value in ("on", "TRUE", "yes"):
        assert "checked" in _checkbox(_page(demo_client, **BIRMINGHAM, accepting=value))
    for value in ("0", "off", "no"):
        assert "checked" not in _checkbox(_page(demo_client, **BIRMINGHAM, accepting=value))
    response = demo_client.get("/search", query_string={**BIRMINGHAM, "accepting": "maybe"})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "New patients:" in page and "only clinics accepting new patients: yes or no" in page


def test_a_state_alone_is_searched_as_the_state(demo_client):
    page = _page(demo_client, where="Alabama")
    heading = re.search(r"<h1[^>]*>(.*?)</h1>", page, re.S)[1]
    assert re.fullmatch(r"\d+ clinics in Alabama", heading.strip()), heading
    assert "Telehealth programs serving Alabama" in page
    assert '<option value="distance"' not in page  # no nearest first for a whole state
    assert "Default: recently verified" in page
    assert "Not used for a whole state." in page
    assert "within 50 miles" not in page and "Within 50 miles" not in page.split("<aside")[0]
    refused = demo_client.get("/search", query_string={"where": "Alabama", "sort": "distance"})
    assert refused.status_code == 400
    assert "not a whole state" in refused.get_data(as_text=True)
    both = _page(demo_client, where="AL", accepting="1")
    assert re.search(r"<h1[^>]*>\s*\d+ clinics? accepting new patients in Alabama\s*</h1>", both)
    empty = _page(demo_client, where="Guam")
    assert "No clinics match this search in Guam" in empty
    assert "Search within" not in empty
