"""Result cards come from the search index, and equal the database after every change.

On every (database, search backend) pair. A search reads no listing rows: what a
result shows is the card the index keeps (`listings.cards`). So each way a listing
changes (the clinic's own edit once approved, an editor's change, a spreadsheet
import, an editor's confirmation and credential check, a vocabulary rename) must
show on the very next search, in the API and on the results page, and every card
must equal what the clinic's own record (read from the database) says.
"""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, select
from werkzeug.datastructures import MultiDict

from directory.extensions import db
from directory.imports.apply import apply_plan
from directory.imports.columns import columns, guess_mapping
from directory.imports.plan import dry_run
from directory.imports.spreadsheet import read_table
from directory.listings.cards import Card, CardOffering, card_text
from directory.listings.confirmations import record_confirmation
from directory.listings.finder import parse
from directory.listings.staff_edits import update_listing
from directory.listings.vocabulary import change_entry, vocabulary_names
from directory.models import Clinic, Insurer, Offering, User
from directory.models.listing_fields import LISTING_FIELDS, OFFERING_FIELDS
from directory.search import get_backend, sync
from directory.search.query import TELEHEALTH_LIMIT
from tests.helpers import (
    Site,
    add_check,
    client_for,
    decide,
    last_revision,
    record_of,
    submit_edit,
    with_iv_price,
)

# The API's result keys that are not the clinic record's own (where it was found from).
WHERE_FOUND = {"distance_miles"}


def _search(client: FlaskClient, clinic_id: int, place: str) -> tuple[dict, str]:
    """The clinic's result in the API and its card on the results page, searched by
    its ZIP code."""
    params = {"where": place, "radius": 5, "per_page": 50}
    api = client.get("/api/v1/search", query_string=params)
    assert api.status_code == 200
    (result,) = [r for r in api.get_json()["results"] if r["id"] == clinic_id]
    page = client.get("/search", query_string=params).get_data(as_text=True)
    card = re.search(
        rf'<article class="card" aria-labelledby="clinic-{clinic_id}".*?</article>', page, re.S
    )
    assert card, "the clinic has a card on the results page"
    return result, html.unescape(card[0])


def _record(client: FlaskClient, slug: str) -> dict:
    """The clinic's own record, which the API reads from the database."""
    response = client.get(f"/api/v1/clinics/{slug}")
    assert response.status_code == 200
    return response.get_json()


def _facts(app: Flask, clinic_id: int) -> dict:
    """What the rows say, read here with plain queries (not through the cards)."""
    with app.app_context():
        clinic = db.session.get(Clinic, clinic_id)
        return {
            "slug": clinic.slug,
            "zip": clinic.postal_code,
            "name": clinic.name,
            "phone": clinic.phone,
            "insurer_names": [i.name for i in clinic.insurers],
            "insurers": [i.code for i in clinic.insurers],
            "prices": {
                o.modality.code: (o.price_min, o.price_max, o.price_confirmed_on)
                for o in db.session.scalars(select(Offering).where(Offering.clinic_id == clinic_id))
            },
        }


def _assert_card_is_the_database(site: Site, clinic_id: int) -> tuple[dict, str, dict]:
    """The clinic's result equals its own record, field for field, and shows what the
    rows say; returns (result, card HTML, facts)."""
    client = site.app.test_client()
    facts = _facts(site.app, clinic_id)
    result, card = _search(client, clinic_id, facts["zip"])
    record = _record(client, facts["slug"])
    assert {k: v for k, v in result.items() if k not in WHERE_FOUND} == {
        k: record[k] for k in result if k not in WHERE_FOUND
    }
    assert result["name"] == facts["name"] and result["insurers"] == facts["insurers"]
    prices = {m["code"]: (m["price_min"], m["price_max"]) for m in result["modalities"]}
    assert prices == {code: (low, high) for code, (low, high, _) in facts["prices"].items()}
    assert html.unescape(facts["name"]) in card or facts["name"] in card
    if facts["phone"]:
        assert f"Call {facts['phone']}" in card
    for name in facts["insurer_names"][:3]:
        assert f'<span class="tag">{name}</span>' in card
    return result, card, facts


def _editor(site: Site) -> User:
    return db.session.get(User, site.editor)


def test_search_pages_read_no_listing_rows(search_app):
    """The results page and the API select nothing from the listings' tables (the
    vocabularies' names they do read)."""
    listing_tables = {"clinic", "offering", "clinic_condition", "clinic_insurer"}
    seen: list[str] = []

    def record(conn, cursor, statement, *args):
        seen.append(statement)

    client = search_app.test_client()
    with search_app.app_context():
        engine = db.engine
    # The first search after an index change builds the speller from the listings'
    # words (`understanding`): once per index generation, not per search.
    assert client.get("/search?q=warm", headers={"Cookie": "x=1"}).status_code == 200
    event.listen(engine, "before_cursor_execute", record)
    try:
        for url in (
            "/search?q=depression&where=Austin%2C+TX",
            "/api/v1/search?q=ptsd&where=Denver%2C+CO&insurer=aetna",
            "/api/v1/search?where=Texas&telehealth=50",
            "/search?where=99950&radius=5",  # nothing near: the nearest, at any distance
        ):
            assert client.get(url, headers={"Cookie": "x=1"}).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", record)
    read = [
        s
        for s in seen
        if any(re.search(rf"\bFROM {t}\b|\bJOIN {t}\b", s, re.I) for t in listing_tables)
    ]
    assert seen and not read, read[:3]


def test_every_card_in_the_index_equals_the_database(search_app):
    """Each published clinic's card, as searches return it, is the card its row makes."""
    with search_app.app_context():
        expected = {c.id: card_text(c) for c in sync.published_clinics()}
        found: dict[int, str] = {}
        vocabularies = vocabulary_names()
        for state in ("Texas", "California", "New York", "Florida", "Alaska", "Colorado"):
            for page in range(1, 30):
                query = parse(
                    MultiDict({"where": state, "page": page, "per_page": 50}), vocabularies
                )
                answer = get_backend().search(query)
                found.update({h.clinic_id: h.card for h in answer.hits + answer.telehealth})
                if page * 50 >= answer.total:
                    break
    assert len(found) > 100
    for clinic_id, card in found.items():
        assert card == expected[clinic_id], clinic_id


def test_a_change_shows_on_the_next_search_by_every_path(search_site):
    site = search_site
    app = site.app
    _, _, before = _assert_card_is_the_database(site, site.a)

    # 1. the clinic's own edit, once an editor approves it: a new price
    owner = client_for(app, site.clinic_user)
    editor = client_for(app, site.editor)
    submit_edit(site, owner, with_iv_price(record_of(app, site.a), 515, 590))
    revision = last_revision(app)
    decide(editor, revision.id, "approve", revision.lock_version)
    result, card, facts = _assert_card_is_the_database(site, site.a)
    assert facts["prices"]["iv"][:2] == (515, 590) != before["prices"]["iv"][:2]
    assert "$515–$590" in card

    # 2. an editor's change: phone and name
    with app.app_context():
        update_listing(
            _editor(site),
            db.session.get(Clinic, site.a),
            {"phone": "(907) 555-0142", "name": "Juniper Renamed Wellness"},
        )
    result, card, facts = _assert_card_is_the_database(site, site.a)
    assert "Call (907) 555-0142" in card and result["name"] == "Juniper Renamed Wellness"

    # 3. an editor confirms the prices today, by phone
    with app.app_context():
        clinic = db.session.get(Clinic, site.a)
        today = datetime.now(UTC).date()
        record_confirmation(
            _editor(site), clinic, ["prices"], today, "editor_call", "sections_confirmed"
        )
    result, card, facts = _assert_card_is_the_database(site, site.a)
    assert all(m["price_confirmed_on"] == today.isoformat() for m in result["modalities"])
    assert "price not confirmed" not in card and "price never confirmed" not in card

    # 4. a spreadsheet import updating an unclaimed listing (imports leave claimed ones
    #    alone) by its id in the list: phone, price and insurers
    with app.app_context():
        unclaimed = db.session.scalars(
            select(Clinic)
            .where(Clinic.id.in_(set(site.ids) - {site.a, site.b}), Clinic.kind == "in_person")
            .order_by(Clinic.id)
        ).first()
        unclaimed.external_id = "clinic-list:7"
        sync.commit([unclaimed.id])
        clinic = db.session.get(Clinic, unclaimed.id)
        row = {
            "external_id": "7",
            "name": clinic.name,
            "street": clinic.street,
            "city": clinic.city,
            "state": clinic.state,
            "postal_code": clinic.postal_code,
            "phone": "(907) 555-0199",
            "treatments": "IV infusion",
            "iv_price": "475",
            "insurers": "Cigna; Humana",
        }
        data = (",".join(row) + "\n" + ",".join(f'"{v}"' for v in row.values()) + "\n").encode()
        table = read_table(data, "list.csv")
        known = columns(vocabulary_names()["modality"])
        plan = dry_run(table, guess_mapping(table.headers, known), "clinic-list")
        assert [r.outcome for r in plan.rows] == ["update"], [r.errors for r in plan.rows]
        assert apply_plan(plan, _editor(site), "published").updated == 1
        imported = clinic.id
    result, card, facts = _assert_card_is_the_database(site, imported)
    assert result["insurers"] == ["cigna", "humana"] and "Call (907) 555-0199" in card
    assert facts["prices"]["iv"][0] == 475 and "$475" in card

    # 5. a credential check: the card's badge
    with app.app_context():
        npi = db.session.get(Clinic, site.a).npi or "1234567893"
        db.session.get(Clinic, site.a).npi = npi
        add_check(site.a, "organization_npi", npi, "confirmed", "nppes", "ref", age=3)
        sync.commit([site.a])
    result, card, _ = _assert_card_is_the_database(site, site.a)
    assert result["credentials_checked"] and "Credentials checked" in card

    # 6. a vocabulary rename: no re-index, and every card says the new name at once
    with app.app_context():
        humana = db.session.scalars(select(Insurer).where(Insurer.code == "humana")).one()
        change_entry(_editor(site), humana, {"name": "Humana Military"})
    result, card, facts = _assert_card_is_the_database(site, imported)
    assert "Humana Military" in facts["insurer_names"]
    assert '<span class="tag">Humana Military</span>' in card


def test_the_card_carries_every_summary_field_of_the_field_table():
    """A field the table puts in search results must be something a card keeps."""
    for spec in LISTING_FIELDS:
        if spec.api == "summary":
            wanted = spec.attribute if spec.kind == "vocabulary" else spec.name
            assert wanted in Card.__slots__, spec.name
    for spec in OFFERING_FIELDS:
        if spec.api == "summary":
            assert spec.name in CardOffering.__slots__, spec.name


@pytest.mark.parametrize("shown", [0, 3, TELEHEALTH_LIMIT])
def test_the_api_lists_as_many_telehealth_programs_as_asked(search_client, shown):
    every = search_client.get(
        "/api/v1/search", query_string={"where": "Texas", "telehealth": TELEHEALTH_LIMIT}
    ).get_json()
    answer = search_client.get(
        "/api/v1/search", query_string={"where": "Texas", "telehealth": shown}
    ).get_json()
    assert answer["telehealth"] == every["telehealth"][:shown]
    assert answer["telehealth_total"] == every["telehealth_total"] == len(every["telehealth"])
    assert (answer["links"]["telehealth"] is None) == (shown >= answer["telehealth_total"])
