"""Search honours trust: the "credentials checked" filter and the tie-breaks.

The demo data states no credentials, so these tests build listings that do, on
every (database, search backend) pair: a few hundred demo clinics, each given
stated credentials and editors' checks of every kind (current, run out, could not
be confirmed, of a value the listing no longer states, one day either side of the
window) and prices confirmed at different ages. Results are compared with the
brute-force oracle (`tests/brute_force.py`), which reads the rows with plain SQL and
applies the rule as the issue and "How we verify" state it.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from stdnum import luhn

from directory.extensions import db
from directory.geo import get_gazetteer
from directory.listings.credentials import record_check
from directory.listings.demo import load_demo
from directory.models import Clinic, User
from directory.page_cache import get_page_cache
from directory.search import sync
from tests.conftest import SEARCH_SETUPS, make_app
from tests.helpers import add_check, all_at_once, make_user

from .brute_force import expected_results, load_listings
from .test_search_contract import FILTERS, VOCAB, all_pages

STATES = ("TX", "NY", "CA", "FL")
CHECK_DAYS = 365


def npi(rng: random.Random) -> str:
    """A random NPI with a valid check digit (Luhn over the 80840 prefix, as CMS)."""
    body = str(rng.randint(1, 2)) + "".join(str(rng.randint(0, 9)) for _ in range(8))
    return body + luhn.calc_check_digit("80840" + body)


def get_page_cache_of(app: Flask):
    with app.app_context():
        return get_page_cache()


def _today() -> date:
    return datetime.now(UTC).date()


def _check(clinic: Clinic, kind: str, subject: str, outcome: str, age: int) -> None:
    source = "nppes" if kind.endswith("npi") else "state_board"
    add_check(clinic.id, kind, subject, outcome, source, "https://npiregistry.cms.hhs.gov/", age)


# Each listing's credentials and checks; ages in days before today.
PROFILES = (
    "nothing",  # states nothing
    "stated",  # states an NPI nobody checked
    "current",  # NPI confirmed within the window
    "expired",  # NPI confirmed longer ago than the window
    "doubted",  # NPI confirmed, licence could not be confirmed: never "checked"
    "mixed",  # NPI run out, licence current: checked (the newest counts)
    "orphan",  # a confirmed check of an NPI it no longer states
    "last_day",  # confirmed CHECK_DAYS - 1 days ago: still counts
    "first_day_out",  # confirmed CHECK_DAYS days ago: no longer counts
)


def give_trust(clinic: Clinic, profile: str, rng: random.Random) -> None:
    """Stated credentials and checks of one profile (see PROFILES)."""
    if profile == "nothing":
        return
    clinic.npi = npi(rng)
    license = f"{clinic.state or 'TX'} MD {rng.randint(10000, 99999)}"
    if profile in ("doubted", "mixed"):
        clinic.licenses = [license]
    ages = {
        "current": rng.randint(0, CHECK_DAYS - 2),
        "expired": rng.randint(CHECK_DAYS, 3 * CHECK_DAYS),
        "doubted": rng.randint(0, 100),
        "mixed": CHECK_DAYS + 10,
        "last_day": CHECK_DAYS - 1,
        "first_day_out": CHECK_DAYS,
    }
    if profile in ages:
        _check(clinic, "organization_npi", clinic.npi, "confirmed", ages[profile])
    if profile == "doubted":
        _check(clinic, "license", license, "not_confirmed", rng.randint(0, 100))
    if profile == "mixed":
        _check(clinic, "license", license, "confirmed", rng.randint(0, 30))
    if profile == "orphan":
        _check(clinic, "organization_npi", npi(rng), "confirmed", rng.randint(0, 30))


def give_price_dates(clinic: Clinic, rng: random.Random) -> None:
    """Each price confirmed at its own age: recent, one day either side of 180, or never."""
    for offering in clinic.offerings:
        age = rng.choice([None, 0, 30, 179, 180, 181, 250, 500])
        offering.price_confirmed_on = None if age is None else _today() - timedelta(days=age)
        offering.price_confirmed_how = None if age is None else "clinic"


def tie_records(demo_records: list[dict]) -> list[dict]:
    """Sixteen listings alike in everything a search orders by (point, price, verified
    date, words), differing in accepting new patients, a current check and recent
    prices; slugs say which: tie-<accepting><checked><recent>-<n>."""
    base = next(r for r in demo_records if r["status"] == "published" and r["kind"] == "in_person")
    same = {
        "lat": 29.7604,
        "lng": -95.3698,
        "city": "Houston",
        "state": "TX",
        "postal_code": "77002",
        "description": "Evening appointments.",
        "last_verified_at": (_today() - timedelta(days=3)).isoformat(),
        "conditions": ["anxiety"],
        "insurers": [],
        "payment": ["self-pay"],
        "offerings": [
            {**base["offerings"][0], "modality": "iv", "price_min": 455, "price_max": None}
        ],
    }
    records = []
    for n in range(16):
        accepting, checked, recent = n & 4, n & 2, n & 1
        slug = f"tie-{int(bool(accepting))}{int(bool(checked))}{int(bool(recent))}-{n >> 3}"
        name = f"Quillfeather Clinic {n:02d}"
        records.append(
            {**base, **same, "name": name, "slug": slug, "accepting_new_patients": bool(accepting)}
        )
    # Loaded in an order that differs from the expected one, so ids alone cannot pass.
    return records[::-1]


def build_trust_site(app: Flask, demo_records: list[dict]) -> None:
    rng = random.Random(20261203)
    chosen = [
        r for r in demo_records if r["kind"] != "in_person" or r.get("state") in STATES
    ] + tie_records(demo_records)
    with app.app_context():
        load_demo(chosen)
        for clinic in db.session.scalars(select(Clinic).order_by(Clinic.id)):
            if clinic.slug.startswith("tie-"):
                flags = clinic.slug[4:7]
                give_trust(clinic, "current" if flags[1] == "1" else "nothing", rng)
                for offering in clinic.offerings:
                    age = 10 if flags[2] == "1" else 200
                    offering.price_confirmed_on = _today() - timedelta(days=age)
                continue
            give_trust(clinic, rng.choice(PROFILES), rng)
            give_price_dates(clinic, rng)
        db.session.commit()
        sync.rebuild()


@pytest.fixture(scope="module", params=list(SEARCH_SETUPS))
def trust_app(request, tmp_path_factory, demo_records):
    engine, backend = SEARCH_SETUPS[request.param]
    workdir = tmp_path_factory.mktemp(f"trust-{request.param}")
    for app in make_app(engine, workdir, backend, CREDENTIAL_CHECK_DAYS=CHECK_DAYS):
        build_trust_site(app, demo_records)
        yield app


@pytest.fixture(scope="module")
def listings(trust_app):
    with trust_app.app_context():
        return load_listings()


def trust_queries(listings: dict, count: int = 45) -> list[dict[str, Any]]:
    """Places, filters, the accepting and checked filters and every order, at random
    (a fixed seed)."""
    rng = random.Random(412)
    gazetteer = get_gazetteer()
    anchors = [x for x in listings.values() if x.kind != "telehealth" and x.lat is not None]
    queries = []
    for i in range(count):
        params: dict[str, Any] = {}
        if i % 5 == 4:
            params["where"] = rng.choice(["Texas", "NY", "California", "Florida"])
        elif i % 5 != 3:
            anchor = rng.choice(anchors)
            params["where"], _, _ = gazetteer.nearest_zip(anchor.lat, anchor.lng)
            params["radius"] = rng.choice([10, 50, 100, 250])
        for name in FILTERS:
            if rng.random() < 0.25:
                params[name] = rng.sample(VOCAB[name], 1)
        if rng.random() < 0.2:
            params["max_price"] = rng.choice([300, 500, 800])
        if rng.random() < 0.3:
            params["accepting"] = "1"
        if rng.random() < 0.6:
            params["checked"] = rng.choice(["1", "yes", "on"])
        sorts = ["price", "recent"] + (["distance"] if i % 5 < 3 else [])
        if rng.random() < 0.5:
            params["sort"] = rng.choice(sorts)
        queries.append(params)
    return queries


def test_the_data_has_every_case(trust_app, listings):
    """The oracle sees current, run-out, doubted and orphaned checks, and both kinds of
    prices, among published listings (else the comparisons below prove little)."""
    today = _today()
    published = [x for x in listings.values() if x.status == "published"]
    checked = [x for x in published if x.checked(today, CHECK_DAYS)]
    stated_only = [x for x in published if x.stated and not x.checks]
    recent = [x for x in published if x.prices_recent(today)]
    assert len(checked) >= 40 and len(stated_only) >= 20
    assert 40 <= len(recent) <= len(published) - 40


def test_searches_match_brute_force_with_the_checked_filter(trust_app, listings):
    client = trust_app.test_client()
    nonempty = narrowed = 0
    for params in trust_queries(listings):
        results, first = all_pages(client, params)
        location = first["location"] or {}
        whole_state = location.get("kind") == "state"
        with trust_app.app_context():
            expected = expected_results(
                listings,
                lat=None if whole_state else location.get("lat"),
                lng=None if whole_state else location.get("lng"),
                state=None if whole_state else location.get("state"),
                in_state=location.get("state") if whole_state else None,
                radius=int(params.get("radius", 50)),
                filters={n: params.get(n, []) for n in FILTERS},
                max_price=params.get("max_price"),
                accepting="accepting" in params,
                checked="checked" in params,
                sort=params.get("sort"),
            )
        assert first["query"]["checked"] == ("checked" in params)
        assert [r["id"] for r in results] == expected.ids, params
        assert {t["id"] for t in first["telehealth"]} == expected.telehealth, params
        for name in FILTERS:
            got = {code: n for code, n in first["facets"][name].items() if n}
            assert got == expected.facets[name], (name, params)
        if "checked" in params:
            # The cards' badge follows the filter's rule.
            assert all(r["credentials_checked"] for r in results + first["telehealth"]), params
            unfiltered = {k: v for k, v in params.items() if k != "checked"}
            narrowed += client.get("/api/v1/search", query_string=unfiltered).get_json()[
                "total"
            ] > len(results)
        nonempty += bool(results)
    assert nonempty >= 25 and narrowed >= 10


def test_at_an_equal_key_checked_and_recently_priced_listings_come_first(trust_app):
    """The sixteen look-alikes in Houston: accepting new patients first, then a current
    check, then recent prices, then id, in every order and with the filter."""
    with trust_app.app_context():
        slugs = {c.id: c.slug for c in db.session.scalars(select(Clinic))}
    client = trust_app.test_client()
    for params in (
        {"where": "77002", "radius": 5},
        {"where": "Houston, TX", "radius": 5, "sort": "price"},
        {"where": "29.7604,-95.3698", "radius": 5, "sort": "recent"},
        {"q": "quillfeather", "where": "77002", "radius": 5, "sort": "relevance"},
        {"q": "quillfeather"},
    ):
        data = client.get("/api/v1/search", query_string={**params, "per_page": 50}).get_json()
        got = [slugs[r["id"]] for r in data["results"] if slugs[r["id"]].startswith("tie-")]
        assert len(got) == 16, params
        # The three flags, best first; within them the order of ids.
        flags = [slug[4:7] for slug in got]
        assert flags == sorted(flags, reverse=True), (params, got)
        ids = [r["id"] for r in data["results"] if slugs[r["id"]].startswith("tie-")]
        for a, b in zip(ids, ids[1:], strict=False):
            if slugs[a][4:7] == slugs[b][4:7]:
                assert a < b, params
        only = client.get(
            "/api/v1/search", query_string={**params, "per_page": 50, "checked": "1"}
        ).get_json()
        kept = [slugs[r["id"]] for r in only["results"] if slugs[r["id"]].startswith("tie-")]
        assert kept == [s for s in got if s[5] == "1"], params


def test_a_check_runs_out_when_the_window_passes_without_reindexing(trust_app, listings):
    """The filter compares the indexed check date with today's cutoff when the search
    runs: shortening CREDENTIAL_CHECK_DAYS drops checks at once, and the oracle, reading
    the same setting, agrees; the index is not touched. (Pages kept for anonymous
    visitors live PAGE_CACHE_SECONDS: that is how late a check that runs out at
    midnight can still show. The test empties them instead of waiting.)"""
    client = trust_app.test_client()
    params = {"checked": "1"}
    before, _ = all_pages(client, params)
    try:
        trust_app.config["CREDENTIAL_CHECK_DAYS"] = 30
        if (pages := get_page_cache_of(trust_app)) is not None:
            pages.clear()
        after, _ = all_pages(client, params)
        with trust_app.app_context():
            expected = expected_results(listings, checked=True)
    finally:
        trust_app.config["CREDENTIAL_CHECK_DAYS"] = CHECK_DAYS
        if (pages := get_page_cache_of(trust_app)) is not None:
            pages.clear()
    assert [r["id"] for r in after] == expected.ids
    assert 0 < len(after) < len(before)


def test_the_checked_filter_takes_yes_or_no_and_says_so_in_words(trust_app):
    client = trust_app.test_client()
    every = client.get("/api/v1/search").get_json()["total"]
    for value in ("0", "no", "off", ""):
        data = client.get(f"/api/v1/search?checked={value}").get_json()
        assert data["query"]["checked"] is False and data["total"] == every
    bad = client.get("/api/v1/search?checked=maybe")
    assert bad.status_code == 400
    error = bad.get_json()["error"]
    assert error["field"] == "checked"
    assert "credentials" in error["message"] and "checked=" not in error["message"]
    page = client.get("/search?checked=perhaps")
    assert page.status_code == 400 and b"credentials we checked" in page.data


def test_the_search_page_offers_and_names_the_filter(trust_app):
    client = trust_app.test_client()
    html = client.get("/search?where=Houston,+TX&checked=1").get_data(as_text=True)
    assert 'name="checked" value="1" id="f-checked" form="search" checked' in html
    assert "with credentials checked" in html
    assert "Credentials checked" in html  # the removable chip
    off = client.get("/search?where=Houston,+TX").get_data(as_text=True)
    assert 'id="f-checked" form="search">' in off


def test_searches_stay_whole_while_editors_record_checks(trust_app):
    """Real threads: patients search with the filter while an editor records checks one
    after another. Every answer is a 200 whose results all carry a current check, and
    once the editor is done the search finds exactly what the oracle finds."""
    with trust_app.app_context():
        stated = db.session.scalars(
            select(Clinic).where(
                Clinic.status == "published", Clinic.npi != "", ~Clinic.credential_checks.any()
            )
        ).all()
        targets = [(c.id, c.npi) for c in stated[:8]]
    assert len(targets) == 8
    editor = make_user(trust_app, "checker@directory.test", "editor")

    def work(n: int) -> list[int]:
        if n == 0:
            with trust_app.app_context():
                user = db.session.get(User, editor)
                for clinic_id, value in targets:
                    clinic = db.session.get(Clinic, clinic_id)
                    record_check(
                        user,
                        clinic,
                        "organization_npi",
                        value,
                        "confirmed",
                        "nppes",
                        "https://npiregistry.cms.hhs.gov/",
                        _today(),
                    )
            return []
        client = trust_app.test_client()
        statuses = []
        for _ in range(6):
            response = client.get("/api/v1/search", query_string={"checked": "1", "per_page": 50})
            statuses.append(response.status_code)
            assert all(r["credentials_checked"] for r in response.get_json()["results"])
        return statuses

    answers = all_at_once(4, work)
    assert all(status == 200 for statuses in answers[1:] for status in statuses)
    with trust_app.app_context():
        expected = expected_results(load_listings(), checked=True)
    results, _ = all_pages(trust_app.test_client(), {"checked": "1"})
    assert [r["id"] for r in results] == expected.ids
    assert {clinic_id for clinic_id, _ in targets} <= set(expected.ids)
