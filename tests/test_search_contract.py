"""The search contract against an independent brute-force answer.

Every test runs on each (database, search backend) pair of conftest.SEARCH_SETUPS:
Whoosh on SQLite, Whoosh on PostgreSQL, and the PostgreSQL (tsvector + PostGIS)
backend. Results, distances, telehealth and facets are compared with the brute-force
oracle; relevance order is asserted only where scores differ clearly.
"""

from __future__ import annotations

import random
import re

import pytest
from sqlalchemy import select

from directory.extensions import db
from directory.geo import get_gazetteer
from directory.listings.demo import load_demo
from directory.models import Clinic
from directory.search import sync
from directory.search.query import TELEHEALTH_LIMIT
from tests.helpers import first_published

from .brute_force import expected_results, load_listings, ties, verified_ordinal

FILTERS = ("modality", "condition", "insurer", "payment")
VOCAB = {
    "modality": ["iv", "im", "spravato", "sublingual"],
    "condition": [
        "depression",
        "ptsd",
        "anxiety",
        "chronic-pain",
        "ocd",
        "migraine",
        "treatment-resistant-depression",
        "crps",
    ],
    "insurer": ["aetna", "bcbs", "cigna", "medicare", "tricare", "unitedhealthcare"],
    "payment": ["self-pay", "financing", "hsa-fsa", "superbill", "sliding-scale"],
}


@pytest.fixture(scope="module")
def listings(search_app):
    with search_app.app_context():
        return load_listings()


def all_pages(client, params: dict) -> tuple[list[dict], dict]:
    """Every result of a search, page by page, plus the first page's full answer
    (which lists every matching telehealth program)."""
    results: list[dict] = []
    first = None
    page = 1
    while True:
        response = client.get(
            "/api/v1/search",
            query_string={**params, "page": page, "per_page": 50, "telehealth": TELEHEALTH_LIMIT},
        )
        assert response.status_code == 200, response.get_json()
        data = response.get_json()
        first = first or data
        results += data["results"]
        if page * 50 >= data["total"]:
            break
        page += 1
    assert len(results) == first["total"]
    assert first["telehealth_total"] == len(first["telehealth"])
    return results, first


def generated_queries(listings, count: int = 60) -> list[dict]:
    """Random place, radius, modality, condition, insurer, max price and the accepting
    filter (fixed seeds: the accepting choice has its own, so the rest stays the same
    sequence it was before that filter existed)."""
    rng = random.Random(20261125)
    accepting = random.Random(20261202)
    gazetteer = get_gazetteer()
    in_person = [x for x in listings.values() if x.kind != "telehealth" and x.lat is not None]
    queries = []
    for i in range(count):
        anchor = rng.choice(in_person)
        style = i % 3
        if style == 0:
            zip_code, _, _ = gazetteer.nearest_zip(anchor.lat, anchor.lng)
            where = zip_code
        elif style == 1:
            lat, lng = anchor.lat + rng.uniform(-0.5, 0.5), anchor.lng + rng.uniform(-0.5, 0.5)
            where = f"{lat:.4f},{lng:.4f}"
        else:
            zip_code, _, _ = gazetteer.nearest_zip(anchor.lat, anchor.lng)
            place = gazetteer.zip_place(zip_code)
            where = f"{place.city}, {place.state}"
        params: dict = {"where": where, "radius": rng.choice([5, 10, 25, 50, 100, 250, 500])}
        for name in FILTERS:
            if rng.random() < 0.35:
                params[name] = rng.sample(VOCAB[name], rng.choice([1, 1, 2]))
        if rng.random() < 0.3:
            params["max_price"] = rng.choice([150, 300, 400, 500, 650, 800])
        if accepting.random() < 0.3:
            params["accepting"] = accepting.choice(["1", "true", "yes", "on"])
        queries.append(params)
    return queries


def test_generated_queries_match_brute_force(search_client, search_app, listings):
    queries = generated_queries(listings)
    assert len(queries) >= 50
    nonempty = 0
    for params in queries:
        results, first = all_pages(search_client, params)
        location = first["location"]
        with search_app.app_context():
            expected = expected_results(
                listings,
                lat=location["lat"],
                lng=location["lng"],
                state=location["state"],
                radius=int(params["radius"]),
                filters={n: params.get(n, []) for n in FILTERS},
                max_price=params.get("max_price"),
                accepting="accepting" in params,
            )
        assert first["query"]["accepting"] == ("accepting" in params)
        assert [r["id"] for r in results] == expected.ids, params
        for r in results:
            assert r["distance_miles"] == pytest.approx(expected.distances[r["id"]], abs=0.006)
        assert {t["id"] for t in first["telehealth"]} == expected.telehealth, params
        for name in FILTERS:
            got = {code: n for code, n in first["facets"][name].items() if n}
            assert got == expected.facets[name], (name, params)
        nonempty += bool(results)
    assert nonempty >= 30, "the generated queries should mostly find something"


def test_nothing_in_range_names_the_nearest_matching_clinics(search_client, search_app, listings):
    """A place search with no result within its radius lists the nearest clinics that
    match (text aside), at any distance, as the brute force finds them."""
    rng = random.Random(412)
    gazetteer = get_gazetteer()
    in_person = [x for x in listings.values() if x.kind != "telehealth" and x.lat is not None]
    empty = 0
    for _ in range(40):
        anchor = rng.choice(in_person)
        zip_code, _, _ = gazetteer.nearest_zip(
            anchor.lat + rng.uniform(-2, 2), anchor.lng + rng.uniform(-2, 2)
        )
        params: dict = {"where": zip_code, "radius": rng.choice([1, 2, 5])}
        for name in rng.sample(FILTERS, rng.choice([1, 2])):
            params[name] = rng.sample(VOCAB[name], 1)
        if rng.random() < 0.3:
            params["max_price"] = rng.choice([150, 300, 500])
        data = search_client.get("/api/v1/search", query_string=params).get_json()
        if data["total"]:
            assert data["nearest"] == [], params
            continue
        empty += 1
        location = data["location"]
        expected = expected_results(
            listings,
            lat=location["lat"],
            lng=location["lng"],
            radius=25_000,
            filters={n: params.get(n, []) for n in FILTERS},
            max_price=params.get("max_price"),
        )
        assert [r["id"] for r in data["nearest"]] == expected.ids[:3], params
        for r in data["nearest"]:
            assert r["distance_miles"] == pytest.approx(expected.distances[r["id"]], abs=0.006)
            assert r["distance_miles"] > params["radius"]
        page = search_client.get("/search", query_string=params).get_data(as_text=True)
        if expected.ids:
            closest = data["nearest"][0]
            shown = re.search(r"Nearest: ([\d,.]+) mi, ([^<]+)\.</p>", page)
            assert shown, params
            assert float(shown[1].replace(",", "")) == pytest.approx(
                closest["distance_miles"], abs=0.6
            )
            assert shown[2] == f"{closest['city']}, {closest['state']}", params
        else:
            assert "Nearest: " not in page
    assert empty >= 15, "most of these narrow searches should find nothing in range"


def test_without_place_every_published_listing_is_a_result(search_client, listings):
    results, _ = all_pages(search_client, {"modality": "sublingual"})
    expected = expected_results(listings, filters={"modality": ["sublingual"]})
    assert [r["id"] for r in results] == expected.ids


@pytest.mark.parametrize(
    ("words", "synonym"),
    [("esketamine", "spravato"), ("PTSD", "post-traumatic stress"), ("IV", "infusion")],
)
def test_synonyms_find_the_same_clinics(search_client, words, synonym):
    one, _ = all_pages(search_client, {"q": words})
    other, _ = all_pages(search_client, {"q": synonym})
    assert one and {r["id"] for r in one} == {r["id"] for r in other}


@pytest.mark.parametrize(
    ("words", "kind", "code"),
    [
        ("esketamine", "modality", "spravato"),
        ("post traumatic stress", "condition", "ptsd"),
        ("infusion", "modality", "iv"),
        ("depressed", "condition", "depression"),
    ],
)
def test_text_finds_every_clinic_with_that_modality_or_condition(
    search_client, listings, words, kind, code
):
    found = {r["id"] for r in all_pages(search_client, {"q": words})[0]}
    expected = set(expected_results(listings, filters={kind: [code]}).ids)
    assert expected and expected <= found


def test_name_outranks_description(search_client, search_app):
    clinic = first_published(search_app, "in_person")
    name_words = clinic.name
    data = search_client.get("/api/v1/search", query_string={"q": name_words}).get_json()
    assert data["results"][0]["name"] == clinic.name


def test_unpublished_listings_are_never_shown(search_client, search_app, listings):
    hidden = [x for x in listings.values() if x.status != "published"]
    assert hidden, "the demo data must include unpublished listings"
    shown = {r["id"] for r in all_pages(search_client, {})[0]}
    assert not shown & {x.id for x in hidden}
    with search_app.app_context():
        for listing in hidden:
            clinic = db.session.get(Clinic, listing.id)
            assert search_client.get(f"/clinics/{clinic.slug}").status_code == 404
            assert search_client.get(f"/api/v1/clinics/{clinic.slug}").status_code == 404
            data = search_client.get("/api/v1/search", query_string={"q": clinic.name}).get_json()
            assert listing.id not in {r["id"] for r in data["results"] + data["telehealth"]}


@pytest.mark.parametrize("sort", ["price", "recent"])
def test_other_sorts_order_by_their_key_then_id(search_client, listings, sort):
    params = {"where": "Houston, TX", "radius": 100, "q": "ketamine", "sort": sort}
    results, _ = all_pages(search_client, params)
    assert len(results) > 5
    if sort == "price":
        keys = [(lowest_price(r), *ties(listings[r["id"]])) for r in results]
    else:
        keys = [
            (-verified_ordinal(listings[r["id"]].verified), *ties(listings[r["id"]]))
            for r in results
        ]
    assert keys == sorted(keys)


def lowest_price(result: dict) -> float:
    prices = [m["price_min"] for m in result["modalities"] if m["price_min"] is not None]
    return min(prices) if prices else float("inf")


def test_pagination_is_consistent(search_client):
    params = {"where": "New York, NY", "radius": 250}
    whole, first = all_pages(search_client, params)
    assert first["total"] > 20
    pages = []
    for page in range(1, 4):
        data = search_client.get(
            "/api/v1/search", query_string={**params, "page": page, "per_page": 7}
        ).get_json()
        pages += [r["id"] for r in data["results"]]
    assert pages == [r["id"] for r in whole][:21]
    beyond = search_client.get("/api/v1/search", query_string={**params, "page": 999}).get_json()
    assert beyond["results"] == [] and beyond["total"] == first["total"]


# -- one contract, several engines ------------------------------------------------------
TEXT_QUERIES = [
    {"q": "ptsd"},
    {"q": "esketamine", "where": "Austin, TX", "radius": 250},
    {"q": "iv infusion depression", "where": "New York, NY", "radius": 250, "insurer": "aetna"},
    {"q": "anxiety", "where": "98101", "modality": "sublingual", "max_price": 400},
    {"q": "ketamine", "where": "Houston, TX", "radius": 100, "sort": "price"},
    {"q": "chronic pain", "sort": "recent"},
    {"q": "obsessive compulsive", "payment": ["financing", "superbill"]},
    {"q": "depressed", "where": "San Diego, CA", "sort": "relevance"},
    {"q": "ptsd austin"},
    {"q": "the of and"},
    {"q": "ptsd 3 x"},
    {"q": "only ketamine", "where": "Denver, CO"},
    {"q": "clinics offering infusions"},
    {"q": "Northern Lights"},
]


def test_backends_agree_on_the_same_database(demo_apps):
    """Whoosh and the PostgreSQL backend over the same rows give the same answer.

    Promised on every backend: the same total, the same result set, the same
    telehealth set, the same non-zero facet counts and the same distances; the same
    order for every sort but relevance. Relevance order is promised only where the
    scores differ clearly (see `test_relevance_weighs_name_over_tags_over_description`):
    the engines stem with different algorithms (Porter in Whoosh, Snowball in
    PostgreSQL), so near-equal scores may fall either way. A zero facet count may be
    listed or left out.
    """
    answers = {}
    for backend in ("whoosh", "postgres"):
        client = demo_apps("postgresql", backend).test_client()
        answers[backend] = [all_pages(client, params) for params in TEXT_QUERIES]
    for params, (w_results, w_first), (p_results, p_first) in zip(
        TEXT_QUERIES, answers["whoosh"], answers["postgres"], strict=True
    ):
        assert p_first["total"] == w_first["total"], params
        w_ids, p_ids = [r["id"] for r in w_results], [r["id"] for r in p_results]
        assert set(p_ids) == set(w_ids), params
        if p_first["query"]["sort"] != "relevance":
            assert p_ids == w_ids, params
        assert {t["id"] for t in p_first["telehealth"]} == {t["id"] for t in w_first["telehealth"]}
        for name in FILTERS:
            w_facets = {c: n for c, n in w_first["facets"][name].items() if n}
            p_facets = {c: n for c, n in p_first["facets"][name].items() if n}
            assert p_facets == w_facets, (name, params)
        w_distance = {r["id"]: r["distance_miles"] for r in w_results}
        for r in p_results:
            if r["distance_miles"] is not None:
                assert r["distance_miles"] == pytest.approx(w_distance[r["id"]], abs=1e-6)
    assert sum(first["total"] > 0 for _, first in answers["postgres"]) >= 10


def test_relevance_weighs_name_over_tags_over_description(search_fresh_app, demo_records):
    """A word in the name outranks it among the treatments and conditions, which
    outranks it in the description only: clearly different scores, so every backend
    must give this order."""
    base = [r for r in demo_records if r["status"] == "published" and r["kind"] == "in_person"]
    records = []
    for i, (name, conditions, description) in enumerate(
        [
            ("Stillwater Clinic", ["anxiety"], "We also see patients with migraine."),
            ("Quiet Harbor Clinic", ["anxiety", "migraine"], "Evening appointments."),
            ("Migraine Relief Partners", ["anxiety"], "Evening appointments."),
            ("Plain Street Clinic", ["anxiety"], "Evening appointments."),
        ]
    ):
        record = {**base[i], "name": name, "conditions": conditions, "description": description}
        records.append({**record, "slug": f"ranking-{i}"})
    with search_fresh_app.app_context():
        load_demo(records, after_commit=sync.refresh)
        ids = {c.name: c.id for c in db.session.scalars(select(Clinic))}
    data = (
        search_fresh_app.test_client()
        .get("/api/v1/search", query_string={"q": "migraine", "sort": "relevance"})
        .get_json()
    )
    assert [r["name"] for r in data["results"]] == [
        "Migraine Relief Partners",
        "Quiet Harbor Clinic",
        "Stillwater Clinic",
    ]
    assert ids["Plain Street Clinic"] not in {r["id"] for r in data["results"]}


# -- a whole state ----------------------------------------------------------------------
def test_whole_state_searches_match_brute_force(search_client, listings):
    """A state typed alone: its published in-person clinics (no radius, no distances),
    the telehealth programs serving it, and facets, as the brute force finds them,
    with filters, price limits, the accepting filter and either order combined."""
    rng = random.Random(20261203)
    with_clinics = sorted(
        {x.state for x in listings.values() if x.status == "published" and x.kind != "telehealth"}
    )
    # Puerto Rico and Guam have no in-person clinic in the demo data.
    assert "PR" not in with_clinics and "GU" not in with_clinics
    states = [*rng.sample(with_clinics, 12), "PR", "GU"]
    # Codes and names; "LA" and "DC" typed alone are Los Angeles and Washington, DC.
    typed = {"TX": "Texas", "NM": "new mexico", "PR": "Puerto Rico", "GU": "GU"}
    typed |= {"LA": "Louisiana", "DC": "District of Columbia"}
    nonempty = telehealth_seen = 0
    for code in states:
        for _ in range(3):
            params: dict = {"where": typed.get(code, rng.choice([code, code.lower()]))}
            for name in FILTERS:
                if rng.random() < 0.25:
                    params[name] = rng.sample(VOCAB[name], 1)
            if rng.random() < 0.3:
                params["max_price"] = rng.choice([300, 500, 800])
            if rng.random() < 0.4:
                params["accepting"] = "1"
            if rng.random() < 0.3:
                params["sort"] = "price"
            if rng.random() < 0.3:
                params["radius"] = rng.choice([5, 25, 500])  # ignored for a state
            results, first = all_pages(search_client, params)
            location = first["location"]
            assert (location["kind"], location["state"]) == ("state", code), params
            assert first["query"]["sort"] == params.get("sort", "recent")
            expected = expected_results(
                listings,
                in_state=code,
                filters={n: params.get(n, []) for n in FILTERS},
                max_price=params.get("max_price"),
                accepting="accepting" in params,
                sort=params.get("sort"),
            )
            assert [r["id"] for r in results] == expected.ids, params
            assert all(r["distance_miles"] is None for r in results), params
            assert {t["id"] for t in first["telehealth"]} == expected.telehealth, params
            for name in FILTERS:
                got = {c: n for c, n in first["facets"][name].items() if n}
                assert got == expected.facets[name], (name, params)
            nonempty += bool(results)
            telehealth_seen += bool(first["telehealth"])
            if code in ("PR", "GU"):
                assert results == [], params
    assert nonempty >= 15 and telehealth_seen >= 10


def test_whole_state_refuses_nearest_first_and_ignores_the_radius(search_client):
    refused = search_client.get("/api/v1/search?where=Texas&sort=distance")
    assert refused.status_code == 400
    error = refused.get_json()["error"]
    assert error["field"] == "sort"
    assert "not a whole state" in error["message"] and "Texas" in error["message"]
    page = search_client.get("/search?where=Texas&sort=distance")
    assert page.status_code == 400 and b"not a whole state" in page.data
    plain = search_client.get("/api/v1/search?where=TX").get_json()
    for radius in ("5", "500", "abc", "-1"):
        data = search_client.get(f"/api/v1/search?where=TX&radius={radius}").get_json()
        assert data["total"] == plain["total"] > 0, radius
        assert [r["id"] for r in data["results"]] == [r["id"] for r in plain["results"]]


def test_backends_agree_on_whole_state_text_searches(demo_apps):
    """With words, a state search orders by relevance; both engines find the same set."""
    queries = [
        {"q": "ptsd", "where": "Texas"},
        {"q": "infusion", "where": "CA", "accepting": "1"},
        {"q": "depression", "where": "New York State", "sort": "recent"},
    ]
    answers = {}
    for backend in ("whoosh", "postgres"):
        client = demo_apps("postgresql", backend).test_client()
        answers[backend] = [all_pages(client, params) for params in queries]
    for params, (w_results, w_first), (p_results, p_first) in zip(
        queries, answers["whoosh"], answers["postgres"], strict=True
    ):
        assert w_first["total"] == p_first["total"] > 0, params
        assert w_first["query"]["sort"] == params.get("sort", "relevance")
        w_ids, p_ids = [r["id"] for r in w_results], [r["id"] for r in p_results]
        assert set(w_ids) == set(p_ids), params
        if params.get("sort") == "recent":
            assert w_ids == p_ids, params
        assert {t["id"] for t in w_first["telehealth"]} == {t["id"] for t in p_first["telehealth"]}


# -- accepting new patients -------------------------------------------------------------
def test_accepting_filter_values(search_client):
    every = search_client.get("/api/v1/search?where=Houston, TX&radius=250").get_json()
    for value in ("1", "true", "YES", "on"):
        data = search_client.get(
            f"/api/v1/search?where=Houston, TX&radius=250&accepting={value}"
        ).get_json()
        assert data["query"]["accepting"] is True
        assert 0 < data["total"] <= every["total"]
    for value in ("0", "no", "false", "off", ""):
        data = search_client.get(
            f"/api/v1/search?where=Houston, TX&radius=250&accepting={value}"
        ).get_json()
        assert data["query"]["accepting"] is False
        assert data["total"] == every["total"]
    bad = search_client.get("/api/v1/search?accepting=maybe")
    assert bad.status_code == 400
    error = bad.get_json()["error"]
    assert error["field"] == "accepting"
    assert "new patients" in error["message"] and "'accepting'" not in error["message"]


def test_not_accepting_clinics_rank_below_at_an_equal_key(search_fresh_app, demo_records):
    """Clinics at the very same point, price, verification date and words: in every
    order, those accepting new patients come first, then by id; the filter keeps only
    them. Telehealth programs equal in everything follow the same rule."""
    base = next(r for r in demo_records if r["status"] == "published" and r["kind"] == "in_person")
    remote = next(
        r for r in demo_records if r["status"] == "published" and r["kind"] == "telehealth"
    )
    same = {
        "lat": 35.0844,
        "lng": -106.6504,
        "city": "Albuquerque",
        "state": "NM",
        "postal_code": "87102",
        "description": "Evening appointments.",
        "last_verified_at": "2026-11-01",
        "conditions": ["anxiety"],
        "insurers": [],
        "payment": ["self-pay"],
        "offerings": [{**base["offerings"][0], "modality": "iv", "price_min": 400}],
    }
    records = []
    for i, accepting in enumerate([False, True, False, True]):
        record = {**base, **same, "accepting_new_patients": accepting}
        records.append({**record, "name": f"Mesa Harbor Clinic {'ABCD'[i]}", "slug": f"tie-{i}"})
    for i, accepting in enumerate([False, True]):
        record = {
            **remote,
            **same,
            "kind": "telehealth",
            "states_served": ["NM"],
            "accepting_new_patients": accepting,
        }
        records.append({**record, "name": f"Mesa Harbor Video {'AB'[i]}", "slug": f"tele-{i}"})
    with search_fresh_app.app_context():
        load_demo(records, after_commit=sync.refresh)
        ids = {c.slug: c.id for c in db.session.scalars(select(Clinic))}
    assert [ids[f"tie-{i}"] for i in range(4)] == sorted(ids[f"tie-{i}"] for i in range(4))
    open_first = [ids["tie-1"], ids["tie-3"], ids["tie-0"], ids["tie-2"]]
    # Without a place telehealth programs are results too, in the same order.
    everything = [ids[s] for s in ("tie-1", "tie-3", "tele-1", "tie-0", "tie-2", "tele-0")]
    client = search_fresh_app.test_client()
    searches = [
        {"where": "87102"},
        {"where": "Albuquerque, NM", "sort": "price"},
        {"where": "35.0844,-106.6504", "sort": "recent"},
        {"where": "New Mexico"},
        {"where": "NM", "sort": "price"},
        {"q": "mesa harbor", "sort": "relevance"},
        {"q": "mesa harbor", "where": "87102", "sort": "relevance"},
        {"modality": "iv"},
    ]
    for params in searches:
        data = client.get("/api/v1/search", query_string=params).get_json()
        only = client.get("/api/v1/search", query_string={**params, "accepting": "1"}).get_json()
        if "where" not in params:
            assert [r["id"] for r in data["results"]] == everything, params
            assert [r["id"] for r in only["results"]] == everything[:3], params
            continue
        assert [r["id"] for r in data["results"]] == open_first, params
        assert [t["id"] for t in data["telehealth"]] == [ids["tele-1"], ids["tele-0"]], params
        assert [r["id"] for r in only["results"]] == open_first[:2], params
        assert [t["id"] for t in only["telehealth"]] == [ids["tele-1"]], params
