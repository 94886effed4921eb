"""The JSON API carries who checked each credential, against what and when, each
price's confirmed date, and in search results whether a listing's checks are current:
values compared with the rows the test wrote, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from directory.extensions import db
from directory.geo import US_STATES
from directory.models import Clinic, Modality
from directory.search import sync
from tests.helpers import add_check

NPI = "1234567893"
SOURCE_LABELS = {
    "nppes": "the NPPES NPI Registry",
    "state_board": "the state licensing board's lookup",
}


def test_the_clinic_record_carries_each_check_and_each_price_date(site):
    today = datetime.now(UTC).date()
    with site.app.app_context():
        days = site.app.config["CREDENTIAL_CHECK_DAYS"]
        clinic = db.session.get(Clinic, site.a)
        clinic.npi, clinic.licenses, clinic.spravato_rems = NPI, ["AZ MD 12345", "AZ RN 7"], True
        clinic.good_faith_estimate = True
        clinic.hours_confirmed_on = today - timedelta(days=4)
        ages, hows, includes = {}, {}, {}
        for n, offering in enumerate(clinic.offerings):
            code = offering.modality.code
            ages[code] = 200 if n == 0 else 3
            hows[code] = "editor_call" if n == 0 else "clinic"
            includes[code] = ["monitoring", "consultation"] if n == 0 else []
            offering.price_confirmed_on = today - timedelta(days=ages[code])
            offering.price_confirmed_how, offering.includes = hows[code], includes[code]
        checks = {
            ("organization_npi", NPI): ("confirmed", "nppes", 10),
            ("license", "AZ MD 12345"): ("confirmed", "state_board", days + 1),
            ("license", "AZ RN 7"): ("not_confirmed", "state_board", 2),
        }
        for (kind, subject), (outcome, source, age) in checks.items():
            add_check(clinic.id, kind, subject, outcome, source, f"ref {subject}", age)
        # Written as the services write: queued for the index in the same commit, so
        # the search results (whose cards the index keeps) follow.
        sync.commit([clinic.id])
        slug, details = clinic.slug, clinic.details_confirmed_on
    record = site.app.test_client().get(f"/api/v1/clinics/{slug}").get_json()
    got = {(c["kind"], c["value"]): c for c in record["credentials"]}
    assert set(got) == {*checks, ("spravato_rems", "certified")}
    for key, (outcome, source, age) in checks.items():
        checked_on = today - timedelta(days=age)
        assert got[key]["checked_on"] == checked_on.isoformat()
        assert got[key]["source"] == source and got[key]["reference"] == f"ref {key[1]}"
        assert got[key]["source_label"] == SOURCE_LABELS[source]
        status = (
            "not_confirmed" if outcome == "not_confirmed" else "due" if age >= days else "checked"
        )
        assert got[key]["status"] == status
        assert got[key]["due_on"] == (checked_on + timedelta(days=days)).isoformat()
    rems = got[("spravato_rems", "certified")]
    assert rems["status"] == "stated" and rems["checked_on"] is None and rems["source"] is None
    assert rems["source_label"] is None and rems["reference"] is None and rems["due_on"] is None
    # A credential nobody could confirm: the listing is not "checked" anywhere.
    assert record["credentials_checked"] is False and record["checks_expired"] is False
    assert record["good_faith_estimate"] is True
    for offer in record["offerings"]:
        code, age = offer["modality"], ages[offer["modality"]]
        assert offer["price_confirmed_on"] == (today - timedelta(days=age)).isoformat()
        assert offer["price_stale"] == (age > 180)
        assert offer["price_confirmed_how"] == hows[code]
        assert sorted(offer["includes"]) == sorted(includes[code])
    assert record["confirmed"]["hours"] == (today - timedelta(days=4)).isoformat()
    assert record["confirmed"]["details"] == (details.isoformat() if details else None)
    assert record["confirmed"]["prices"] == (today - timedelta(days=max(ages.values()))).isoformat()
    found = site.app.test_client().get(f"/api/v1/search?state={record['state']}").get_json()
    summary = next(r for r in found["results"] if r["id"] == site.a)
    for offer in summary["modalities"]:
        assert offer["price_stale"] == (ages[offer["code"]] > 180)


# Each listing's checks as (kind, subject, outcome, age in days); "days" is the window.
# The old number is no longer stated, so its check counts for nothing.
SUMMARY_CHECKS = {
    "current": [("organization_npi", NPI, "confirmed", 10)],
    "last day": [
        ("organization_npi", NPI, "confirmed", "days-1"),
        ("organization_npi", "1528060837", "not_confirmed", 1),
    ],
    "all out of date": [
        ("organization_npi", NPI, "confirmed", "days+1"),
        ("license", "AZ MD 12345", "confirmed", "days"),
    ],
    "one doubted": [
        ("organization_npi", NPI, "confirmed", 10),
        ("license", "AZ MD 12345", "not_confirmed", 3),
    ],
    "never": [],
}


def _age(age: int | str, days: int) -> int:
    """An age as written in SUMMARY_CHECKS, in days ("days+1": a day past the window)."""
    return age if isinstance(age, int) else days + {"days-1": -1, "days": 0, "days+1": 1}[age]


def _expected_summary(rows: list[tuple], stated: set[tuple[str, str]], days: int) -> tuple:
    """(credentials_checked, checks_expired) by brute force over the rows written."""
    counted = [(outcome, age) for kind, subject, outcome, age in rows if (kind, subject) in stated]
    if any(outcome == "not_confirmed" for outcome, _ in counted):
        return False, False
    ages = [age for _, age in counted]
    return bool(ages) and min(ages) < days, bool(ages) and min(ages) >= days


@pytest.fixture
def summarized(site):
    """Five listings with the checks of SUMMARY_CHECKS and every first price 181 days
    old (stale), the others 180 (not yet): (app, {id: expected (checked, expired)},
    {(id, modality): confirmed date}, states)."""
    today = datetime.now(UTC).date()
    expected, prices = {}, {}
    with site.app.app_context():
        days = site.app.config["CREDENTIAL_CHECK_DAYS"]
        stated = {("organization_npi", NPI), ("license", "AZ MD 12345")}
        for clinic_id, rows in zip(site.ids, SUMMARY_CHECKS.values(), strict=False):
            clinic = db.session.get(Clinic, clinic_id)
            clinic.npi, clinic.licenses = NPI, ["AZ MD 12345"]
            rows = [
                (kind, subject, outcome, _age(age, days)) for kind, subject, outcome, age in rows
            ]
            for kind, subject, outcome, age in rows:
                add_check(clinic_id, kind, subject, outcome, "nppes", "ref", age)
            expected[clinic_id] = _expected_summary(rows, stated, days)
        clinics = db.session.scalars(select(Clinic).where(Clinic.id.in_(site.ids))).all()
        for clinic in clinics:
            for n, offering in enumerate(clinic.offerings):
                offering.price_confirmed_on = today - timedelta(days=181 if n == 0 else 180)
                prices[(clinic.id, offering.modality.code)] = offering.price_confirmed_on
        states = sorted({clinic.state for clinic in clinics})
        sync.commit(site.ids)  # queued for the index as the services' writes are
    # Every outcome is exercised: current, all out of date, and neither.
    assert set(expected.values()) == {(True, False), (False, True), (False, False)}
    return site.app, expected, prices, states


def _stale(confirmed_on: date) -> bool:
    return (datetime.now(UTC).date() - confirmed_on).days > 180


def test_search_results_say_whether_checks_are_current_or_all_out_of_date(summarized):
    app, expected, prices, states = summarized
    client = app.test_client()
    results = {}
    for state in states:
        for result in client.get(f"/api/v1/search?state={state}&per_page=50").get_json()["results"]:
            results[result["id"]] = result
    for clinic_id, (checked, expired) in expected.items():
        result = results[clinic_id]
        assert (result["credentials_checked"], result["checks_expired"]) == (checked, expired)
    for (clinic_id, code), confirmed_on in prices.items():
        offer = next(o for o in results[clinic_id]["modalities"] if o["code"] == code)
        assert offer["price_confirmed_on"] == confirmed_on.isoformat()
        assert offer["price_stale"] is _stale(confirmed_on)


def _card(page: str, clinic_id: int) -> str:
    start = page.index(f'aria-labelledby="clinic-{clinic_id}"')
    return page[start : page.index("</article>", start)]


def test_result_cards_say_the_same_in_words(summarized):
    """A card carries "Credentials checked" or "Checks out of date" as the API's
    booleans say, and "price not confirmed since Mon YYYY" on each stale price only."""
    app, expected, prices, states = summarized
    client = app.test_client()
    page = "".join(
        client.get(f"/search?where={US_STATES[state]}").get_data(as_text=True) for state in states
    )
    for clinic_id, (checked, expired) in expected.items():
        card = _card(page, clinic_id)
        assert ("Credentials checked" in card) is checked, clinic_id
        assert ("Checks out of date" in card) is expired, clinic_id
    for (clinic_id, code), confirmed_on in prices.items():
        card = _card(page, clinic_id)
        with app.app_context():
            name = db.session.scalar(select(Modality.name).where(Modality.code == code))
        line = card[card.index(f'<span class="price-modality">{name}</span>') :]
        line = line[: line.index("</li>")]
        month = f"{confirmed_on:%b} {confirmed_on.year}"
        mark = (
            f'price not confirmed since <time datetime="{confirmed_on.isoformat()}">{month}</time>'
        )
        priced = "per session" in line
        assert (mark in line) is (priced and _stale(confirmed_on)), (clinic_id, code, line)
