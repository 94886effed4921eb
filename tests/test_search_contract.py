"""The search contract against an independent brute-force answer, on both databases."""

from __future__ import annotations

import random

import pytest
from sqlalchemy import select

from directory.extensions import db
from directory.geo import get_gazetteer
from directory.models import Clinic

from .brute_force import expected_results, load_listings, verified_ordinal

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
def listings(demo_app):
    with demo_app.app_context():
        return load_listings()


def all_pages(client, params: dict) -> tuple[list[dict], dict]:
    """Every result of a search, page by page, plus the first page's full answer."""
    results: list[dict] = []
    first = None
    page = 1
    while True:
        response = client.get(
            "/api/v1/search", query_string={**params, "page": page, "per_page": 50}
        )
        assert response.status_code == 200, response.get_json()
        data = response.get_json()
        first = first or data
        results += data["results"]
        if page * 50 >= data["total"]:
            break
        page += 1
    assert len(results) == first["total"]
    return results, first


def generated_queries(listings, count: int = 60) -> list[dict]:
    """Random place, radius, modality, condition, insurer and max price (fixed seed)."""
    rng = random.Random(20261125)
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
        queries.append(params)
    return queries


def test_generated_queries_match_brute_force(demo_client, demo_app, listings):
    queries = generated_queries(listings)
    assert len(queries) >= 50
    nonempty = 0
    for params in queries:
        results, first = all_pages(demo_client, params)
        location = first["location"]
        with demo_app.app_context():
            expected = expected_results(
                listings,
                lat=location["lat"],
                lng=location["lng"],
                state=location["state"],
                radius=int(params["radius"]),
                filters={n: params.get(n, []) for n in FILTERS},
                max_price=params.get("max_price"),
            )
        assert [r["id"] for r in results] == expected.ids, params
        for r in results:
            assert r["distance_miles"] == pytest.approx(expected.distances[r["id"]], abs=0.006)
        assert {t["id"] for t in first["telehealth"]} == expected.telehealth, params
        for name in FILTERS:
            got = {code: n for code, n in first["facets"][name].items() if n}
            assert got == expected.facets[name], (name, params)
        nonempty += bool(results)
    assert nonempty >= 30, "the generated queries should mostly find something"


def test_without_place_every_published_listing_is_a_result(demo_client, listings):
    results, _ = all_pages(demo_client, {"modality": "sublingual"})
    expected = expected_results(listings, filters={"modality": ["sublingual"]})
    assert [r["id"] for r in results] == expected.ids


@pytest.mark.parametrize(
    ("words", "synonym"),
    [("esketamine", "spravato"), ("PTSD", "post-traumatic stress"), ("IV", "infusion")],
)
def test_synonyms_find_the_same_clinics(demo_client, words, synonym):
    one, _ = all_pages(demo_client, {"q": words})
    other, _ = all_pages(demo_client, {"q": synonym})
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
    demo_client, listings, words, kind, code
):
    found = {r["id"] for r in all_pages(demo_client, {"q": words})[0]}
    expected = set(expected_results(listings, filters={kind: [code]}).ids)
    assert expected and expected <= found


def test_name_outranks_description(demo_client, demo_app):
    with demo_app.app_context():
        clinic = db.session.scalars(
            select(Clinic)
            .where(Clinic.status == "published", Clinic.kind == "in_person")
            .order_by(Clinic.id)
        ).first()
    name_words = clinic.name
    data = demo_client.get("/api/v1/search", query_string={"q": name_words}).get_json()
    assert data["results"][0]["name"] == clinic.name


def test_unpublished_listings_are_never_shown(demo_client, demo_app, listings):
    hidden = [x for x in listings.values() if x.status != "published"]
    assert hidden, "the demo data must include unpublished listings"
    shown = {r["id"] for r in all_pages(demo_client, {})[0]}
    assert not shown & {x.id for x in hidden}
    with demo_app.app_context():
        for listing in hidden:
            clinic = db.session.get(Clinic, listing.id)
            assert demo_client.get(f"/clinics/{clinic.slug}").status_code == 404
            assert demo_client.get(f"/api/v1/clinics/{clinic.slug}").status_code == 404
            data = demo_client.get("/api/v1/search", query_string={"q": clinic.name}).get_json()
            assert listing.id not in {r["id"] for r in data["results"] + data["telehealth"]}


@pytest.mark.parametrize("sort", ["price", "recent"])
def test_other_sorts_order_by_their_key_then_id(demo_client, listings, sort):
    params = {"where": "Houston, TX", "radius": 100, "q": "ketamine", "sort": sort}
    results, _ = all_pages(demo_client, params)
    assert len(results) > 5
    if sort == "price":
        keys = [(lowest_price(r), r["id"]) for r in results]
    else:
        keys = [(-verified_ordinal(listings[r["id"]].verified), r["id"]) for r in results]
    assert keys == sorted(keys)


def lowest_price(result: dict) -> float:
    prices = [m["price_min"] for m in result["modalities"] if m["price_min"] is not None]
    return min(prices) if prices else float("inf")


def test_pagination_is_consistent(demo_client):
    params = {"where": "New York, NY", "radius": 250}
    whole, first = all_pages(demo_client, params)
    assert first["total"] > 20
    pages = []
    for page in range(1, 4):
        data = demo_client.get(
            "/api/v1/search", query_string={**params, "page": page, "per_page": 7}
        ).get_json()
        pages += [r["id"] for r in data["results"]]
    assert pages == [r["id"] for r in whole][:21]
    beyond = demo_client.get("/api/v1/search", query_string={**params, "page": 999}).get_json()
    assert beyond["results"] == [] and beyond["total"] == first["total"]
