"""Server-rendered pages: content patients rely on, valid HTML, only our own assets."""

from __future__ import annotations

import html
import json
import re
from urllib.parse import urlsplit

import html5lib
import pytest
from sqlalchemy import select

from directory.extensions import db
from directory.models import Clinic
from directory.search.query import TELEHEALTH_LIMIT

PAGES = [
    "/",
    "/search?q=PTSD&where=Austin%2C+TX",
    "/search?where=78701&modality=iv&max_price=1",
    "/search?where=Springfeld",
    "/browse",
    "/browse/tx",
    "/browse/tx/austin",
    "/about",
    "/no-such-page",
]


@pytest.fixture(scope="module")
def sample_clinic(demo_app) -> Clinic:
    """A published in-person clinic with a price, an insurer and a phone."""
    with demo_app.app_context():
        clinics = db.session.scalars(
            select(Clinic)
            .where(Clinic.status == "published", Clinic.kind == "in_person")
            .order_by(Clinic.id)
        )
        for clinic in clinics:
            if clinic.insurers and clinic.has_published_price and clinic.phone:
                db.session.expunge(clinic)
                return clinic
    raise AssertionError("no suitable clinic in the demo data")


def _parse(body: bytes):
    parser = html5lib.HTMLParser(strict=True, namespaceHTMLElements=False)
    return parser.parse(body)


def _asset_urls(body: str) -> list[str]:
    return re.findall(r'(?:src|href)="([^"]+)"', body)


@pytest.mark.parametrize("path", PAGES)
def test_every_page_is_valid_html_with_crisis_and_advice_notes(demo_client, path):
    response = demo_client.get(path)
    assert response.status_code in (200, 400, 404)
    _parse(response.data)
    body = response.get_data(as_text=True)
    assert 'href="tel:988"' in body and "988" in body
    assert "not medical advice" in body.lower()
    assert "fictional" in body.lower()
    assert '<meta name="viewport"' in body


@pytest.mark.parametrize("path", PAGES)
def test_pages_load_nothing_from_other_origins(demo_client, path):
    body = demo_client.get(path).get_data(as_text=True)
    for tag in re.findall(r"<(?:script|link|img|iframe)[^>]*>", body):
        for url in re.findall(r'(?:src|href)="([^"]+)"', tag):
            parts = urlsplit(url)
            assert parts.netloc in ("", "directory.test"), (path, url)


def test_home_has_search_box_and_modality_shortcuts(demo_client):
    body = demo_client.get("/").get_data(as_text=True)
    assert 'name="q"' in body and 'name="where"' in body
    for code in ("iv", "im", "spravato", "sublingual"):
        assert f"modality={code}" in body


def test_results_show_distance_prices_insurance_and_telehealth(demo_client):
    api = demo_client.get("/api/v1/search?q=PTSD&where=Austin%2C+TX").get_json()
    assert api["total"] > 0 and api["telehealth"]
    body = demo_client.get("/search?q=PTSD&where=Austin%2C+TX").get_data(as_text=True)
    for result in api["results"]:
        assert result["name"].replace("&", "&amp;") in body
    first = api["results"][0]
    assert f"{first['distance_miles']:.1f} mi" in body
    assert "Telehealth" in body and "Texas" in body
    assert api["telehealth"][0]["name"].replace("&", "&amp;") in body
    assert re.search(r"\$\d{3}", body), "per-session prices are shown"
    assert "erified" in body


def test_empty_results_offer_ways_forward(demo_client):
    body = demo_client.get("/search?where=78701&modality=iv&max_price=1").get_data(as_text=True)
    assert "radius=100" in body  # widen the radius
    assert "modality=iv" in body or "max_price" in body
    assert "elehealth" in body


def test_bad_place_keeps_what_was_typed_and_suggests(demo_client):
    response = demo_client.get("/search?q=anxiety&where=Austn%2C+TX")
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert 'value="Austn, TX"' in body and 'value="anxiety"' in body
    assert "Austin, TX" in body


def test_clinic_page_has_every_field_and_structured_data(demo_client, sample_clinic):
    response = demo_client.get(f"/clinics/{sample_clinic.slug}")
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    digits = re.sub(r"\D", "", sample_clinic.phone)
    assert f'href="tel:+1{digits}"' in body or f'href="tel:{digits}"' in body
    assert sample_clinic.website in body
    assert sample_clinic.street in body and sample_clinic.postal_code in body
    assert "<table" in body and "<caption" in body
    for insurer in sample_clinic.insurers:
        assert insurer.name in body
    match = re.search(r'<script type="application/ld\+json">(.*?)</script>', body, re.S)
    data = json.loads(match.group(1))
    assert data["@type"] == "MedicalClinic" and data["name"] == sample_clinic.name
    assert data["address"]["postalCode"] == sample_clinic.postal_code


def test_api_clinic_record(demo_client, sample_clinic):
    data = demo_client.get(f"/api/v1/clinics/{sample_clinic.slug}").get_json()
    assert data["slug"] == sample_clinic.slug and data["phone"] == sample_clinic.phone
    assert {o["modality"] for o in data["offerings"]} == {
        o.modality.code for o in sample_clinic.offerings
    }


def test_browse_by_state_and_city(demo_client, demo_app):
    body = demo_client.get("/browse").get_data(as_text=True)
    assert "/browse/tx" in body
    tx = demo_client.get("/browse/tx").get_data(as_text=True)
    assert "/browse/tx/austin" in tx
    austin = demo_client.get("/browse/tx/austin").get_data(as_text=True)
    with demo_app.app_context():
        names = db.session.scalars(
            select(Clinic.name).where(
                Clinic.city == "Austin",
                Clinic.state == "TX",
                Clinic.status == "published",
                Clinic.kind != "telehealth",
            )
        ).all()
    assert names
    for name in names:
        assert name.replace("&", "&amp;") in austin
    assert demo_client.get("/browse/zz").status_code == 404
    assert demo_client.get("/browse/tx/atlantis-nowhere").status_code == 404


def test_security_headers_and_no_cookie_for_browsing(demo_client):
    response = demo_client.get("/search?q=ptsd")
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "Set-Cookie" not in response.headers


def test_results_name_one_canonical_url_per_search(demo_client):
    """Paging and ordering are views of one search: they share its canonical URL, so
    results can be indexed without every page and order counting as another page."""
    page = demo_client.get(
        "/search?q=PTSD&where=Austin%2C+TX&modality=iv&modality=im&page=2&sort=price&per_page=10"
    ).get_data(as_text=True)
    links = re.findall(r'<link rel="canonical" href="([^"]+)">', page)
    assert len(links) == 1
    canonical = urlsplit(links[0].replace("&amp;", "&"))
    assert canonical.path == "/search"
    assert canonical.query == "q=PTSD&where=Austin%2C+TX&modality=iv&modality=im"
    assert 'name="robots"' not in page


def test_results_list_ten_telehealth_programs_and_link_to_the_rest(demo_client):
    """The page and the API both list the first ten matching telehealth programs and
    count them all; the API's `links.telehealth` (and the page's link) give the rest,
    in the same order."""
    counts = {}
    for place in ("Austin, TX", "Denver, CO", "Miami, FL", "Seattle, WA", "Chicago, IL"):
        every = {"where": place, "telehealth": TELEHEALTH_LIMIT}
        api = demo_client.get("/api/v1/search", query_string=every).get_json()
        counts[place] = [t["name"] for t in api["telehealth"]]
        assert api["telehealth_total"] == len(api["telehealth"]) and not api["links"]["telehealth"]
    place, names = max(counts.items(), key=lambda item: len(item[1]))
    assert len(names) > 10, counts  # the demo data has 22 programs across the states
    first = demo_client.get("/api/v1/search", query_string={"where": place}).get_json()
    assert [t["name"] for t in first["telehealth"]] == names[:10]
    assert first["telehealth_total"] == len(names)
    rest = demo_client.get(first["links"]["telehealth"]).get_json()
    assert [t["name"] for t in rest["telehealth"]] == names
    assert rest["results"] == first["results"]
    none = demo_client.get("/api/v1/search", query_string={"where": place, "telehealth": 0})
    assert none.get_json()["telehealth"] == [] and none.get_json()["telehealth_total"] == len(names)
    page = demo_client.get("/search", query_string={"where": place}).get_data(as_text=True)
    section = page.split('id="telehealth"', 1)[1]
    shown = re.findall(r'<h3 class="card-title"[^>]*><a[^>]*>([^<]+)</a>', section)
    assert [html.unescape(n) for n in shown] == names[:10]
    assert f"Showing 10 of {len(names)} programs that match." in section


def test_a_clinic_opened_from_results_links_back_to_them(demo_client):
    results = demo_client.get("/search?where=Phoenix%2C+AZ&modality=iv&page=1").get_data(
        as_text=True
    )
    link = html.unescape(re.search(r'<h3 class="card-title"[^>]*><a href="([^"]+)"', results)[1])
    assert "from=" in link
    page = demo_client.get(link).get_data(as_text=True)
    back = html.unescape(re.search(r'<a href="([^"]+)">‹ Back to your results', page)[1])
    assert urlsplit(back).path == "/search" and "modality=iv" in back and "Phoenix" in back
    for junk in ("javascript:alert(1)", "https://evil.example/", "x=1"):
        page = demo_client.get(link.split("?")[0] + "?from=" + junk).get_data(as_text=True)
        assert "Back to your results" not in page and "evil" not in page
