"""The map's data block, the CSP that follows MAP_TILE_URL, and own-origin assets only.

The map is drawn by static/js/map.js from a JSON block in the page; the browser
tests (tests/browser/test_patient_journey.py, test_map_browser.py) check what it
draws. Here the server side: the block holds exactly the clinics the list shows, with
their stored coordinates, the town names an untiled map shows and the directions
links; no page loads or references an asset from another origin.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit

import html5lib
import pytest
from flask import Flask
from sqlalchemy import select

from directory import create_app
from directory.config import PROJECT_ROOT, tile_url
from directory.extensions import db
from directory.geo import get_gazetteer
from directory.models import Clinic
from directory.page_cache import get_page_cache
from directory.public import map_data as map_data_module
from directory.public.map_data import PLACE_MARGINS, PLACES_PER_MARGIN, directions, places
from tests.helpers import first_published

OSM = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
RESULTS = "/search?q=PTSD&where=Austin%2C+TX"


def _tree(body: bytes):
    return html5lib.HTMLParser(strict=True, namespaceHTMLElements=False).parse(body)


def _map_block(tree, map_id: str) -> dict | None:
    for script in tree.iter("script"):
        if script.get("id") == f"{map_id}-data":
            assert script.get("type") == "application/json"
            return json.loads(script.text)
    return None


def _listed_ids(tree) -> list[int]:
    """Clinic ids of the result cards, in the order shown (telehealth section excluded)."""
    (results,) = [ol for ol in tree.iter("ol") if ol.get("id") == "results-list"]
    headings = [e for e in results.iter() if re.fullmatch(r"clinic-\d+", e.get("id") or "")]
    return [int(h.get("id").removeprefix("clinic-")) for h in headings]


def _img_src(policy: str) -> str:
    (directive,) = [d.strip() for d in policy.split(";") if d.strip().startswith("img-src ")]
    return directive


def _clinics(app: Flask, ids: list[int]) -> dict[int, Clinic]:
    with app.app_context():
        rows = db.session.scalars(select(Clinic).where(Clinic.id.in_(ids))).all()
        for row in rows:
            db.session.expunge(row)
    return {row.id: row for row in rows}


# -- the data block ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "path",
    [
        RESULTS,
        "/search?where=78701&per_page=5&page=2",
        "/search?where=Austin%2C+TX&radius=500&per_page=50&sort=price",
        "/search?q=spravato",  # no place: no centre dot, no distances
    ],
)
def test_map_block_holds_exactly_the_results_shown(demo_app, demo_client, path):
    response = demo_client.get(path)
    assert response.status_code == 200
    tree = _tree(response.data)
    shown = _listed_ids(tree)
    data = _map_block(tree, "results-map")
    assert shown and data is not None
    clinics = _clinics(demo_app, shown)
    expected = [i for i in shown if clinics[i].lat is not None and clinics[i].in_person]
    assert [p["id"] for p in data["points"]] == expected
    api = demo_client.get("/api/v1" + path).get_json()
    by_id = {r["id"]: r for r in api["results"]}
    for point in data["points"]:
        clinic = clinics[point["id"]]
        assert (point["lat"], point["lng"]) == (clinic.lat, clinic.lng)
        assert point["name"] == clinic.name
        assert point["url"] == f"/clinics/{clinic.slug}"
        assert point["place"] == f"{clinic.city}, {clinic.state}"
        distance = by_id[point["id"]]["distance_miles"]
        if distance is None:
            assert point["distance"] == ""
        else:
            assert point["distance"].endswith(" mi")
            assert point["distance"] in response.get_data(as_text=True)
    if api["location"]:
        assert data["center"] == {k: api["location"][k] for k in ("lat", "lng", "label")}
    else:
        assert data["center"] is None


def test_map_block_leaves_out_the_telehealth_section(demo_client):
    api = demo_client.get("/api/v1" + RESULTS).get_json()
    tree = _tree(demo_client.get(RESULTS).data)
    ids = {p["id"] for p in _map_block(tree, "results-map")["points"]}
    assert api["telehealth"]
    assert ids == {r["id"] for r in api["results"]}
    assert not ids & {r["id"] for r in api["telehealth"]} - {r["id"] for r in api["results"]}


def test_no_map_without_results_or_on_an_error(demo_client):
    for path in ("/search?where=78701&modality=iv&max_price=1", "/search?where=Springfeld"):
        body = demo_client.get(path).data
        assert b"data-map=" not in body and b"-map-data" not in body


def test_clinic_page_maps_the_clinic_itself(demo_app, demo_client):
    clinic = first_published(demo_app, "in_person")
    tree = _tree(demo_client.get(f"/clinics/{clinic.slug}").data)
    data = _map_block(tree, "clinic-map")
    points = [(p["name"], p["lat"], p["lng"]) for p in data["points"]]
    assert points == [(clinic.name, clinic.lat, clinic.lng)]
    assert data["center"] is None


def test_telehealth_only_program_has_no_map(demo_app, demo_client):
    slug = first_published(demo_app, "telehealth").slug
    body = demo_client.get(f"/clinics/{slug}").data
    assert b"data-map=" not in body


def test_map_is_hidden_until_the_script_shows_it(demo_client):
    """Without JavaScript there is no map box, no button and no location button."""
    tree = _tree(demo_client.get(RESULTS).data)
    (panel,) = [e for e in tree.iter() if e.get("data-map") == "results-map"]
    assert panel.get("hidden") is not None
    (box,) = [e for e in tree.iter() if e.get("id") == "results-map"]
    assert box.get("hidden") is not None
    (locate,) = [e for e in tree.iter() if e.get("data-locate") == "where"]
    assert locate.get("hidden") is not None


# -- outlines and town names (no tile server) --------------------------------------------------
def test_without_tiles_the_block_names_the_biggest_towns_around_the_clinics(demo_client):
    data = _map_block(_tree(demo_client.get(RESULTS).data), "results-map")
    towns = data["places"]
    assert 0 < len(towns) <= PLACES_PER_MARGIN * len(PLACE_MARGINS)
    names = [p["name"] for p in towns]
    assert "Austin" in names and "Houston" in names  # the city searched, the biggest near it
    assert len({(p["name"], p["lat"], p["lng"]) for p in towns}) == len(towns)
    assert [p["size"] for p in towns] == sorted((p["size"] for p in towns), reverse=True)
    # Every name is near the clinics or the searched place, within the widest margin.
    lats = [p["lat"] for p in data["points"]] + [data["center"]["lat"]]
    lngs = [p["lng"] for p in data["points"]] + [data["center"]["lng"]]
    margin = max(PLACE_MARGINS)
    for town in towns:
        assert min(lats) - margin <= town["lat"] <= max(lats) + margin, town
        assert min(lngs) - margin <= town["lng"] <= max(lngs) + margin, town


def test_town_names_come_from_the_gazetteer_and_skip_empty_places(demo_app):
    with demo_app.app_context():
        assert places([]) == []
        assert places([(0.0, -150.0)]) == []  # mid-Pacific: no town within 3 degrees
        phoenix = get_gazetteer().city_place("Phoenix", "AZ")
        near = places([(phoenix.lat, phoenix.lng)])
    assert near[0]["name"] == "Phoenix"  # the biggest town of its area comes first
    assert abs(near[0]["lat"] - phoenix.lat) < 0.2 and abs(near[0]["lng"] - phoenix.lng) < 0.2
    assert {"Mesa", "Tempe", "Scottsdale"} <= {p["name"] for p in near}


@pytest.mark.parametrize(
    "points",
    [
        [(30.2672, -97.7431)],  # one clinic: a small box, read from its grid cells
        [(61.2, -149.9), (33.45, -112.07), (25.77, -80.19)],  # Alaska to Florida: the big list
        [(44.0, -103.2), (44.1, -103.0)],  # rural South Dakota
    ],
)
def test_town_names_are_the_biggest_in_each_margin(demo_app, points):
    """Against a brute force over every town: both ways of reading a box agree with it."""
    with demo_app.app_context():
        every = map_data_module._towns()[1]
        expected: dict[tuple, int] = {}
        lats, lngs = [p[0] for p in points], [p[1] for p in points]
        for margin in PLACE_MARGINS:
            inside = [
                t
                for t in every
                if min(lats) - margin <= t[1] <= max(lats) + margin
                and min(lngs) - margin <= t[2] <= max(lngs) + margin
            ]
            inside.sort(key=lambda t: (-t[3], t[0]))
            expected.update({t[:3]: t[3] for t in inside[:PLACES_PER_MARGIN]})
        got = places(points)
    assert {(p["name"], p["lat"], p["lng"]): p["size"] for p in got} == expected


def test_the_map_assets_for_outlines_are_ours(demo_client):
    data = _map_block(_tree(demo_client.get(RESULTS).data), "results-map")
    assets = data["assets"]
    assert assets["outline_js"] == "/static/js/map-outline.js"
    assert assets["topojson_js"] == "/static/vendor/topojson-client/topojson-client.min.js"
    assert assets["states"] == "/static/vendor/us-atlas/states-10m.json"
    assert assets["counties"] == "/static/vendor/us-atlas/counties-10m.json"
    static = Path(PROJECT_ROOT)
    assert (static / assets["outline_js"].lstrip("/")).is_file()
    if (static / "static" / "vendor" / ".stamp").exists():  # built by the Makefile
        for key in ("topojson_js", "states", "counties"):
            assert (static / assets[key].lstrip("/")).is_file(), key


def test_the_hint_says_what_the_map_shows(demo_client):
    body = demo_client.get(RESULTS).get_data(as_text=True)
    assert "The map shows state and county lines and town names" in body
    assert "plain background" not in body


# -- directions ---------------------------------------------------------------------------------
def _directions_link(tree):
    links = [a for a in tree.iter("a") if "directions" in (a.get("class") or "").split()]
    return links[0] if len(links) == 1 else None


def test_clinic_page_offers_directions_to_the_street_address(demo_app, demo_client):
    clinic = first_published(demo_app, "in_person")
    assert clinic.street
    tree = _tree(demo_client.get(f"/clinics/{clinic.slug}").data)
    link = _directions_link(tree)
    assert link is not None
    address = f"{clinic.street}, {clinic.city}, {clinic.state} {clinic.postal_code}"
    assert "".join(link.itertext()) == "Directions (opens OpenStreetMap)"
    assert link.get("rel") == "nofollow noopener"
    web = urlsplit(link.get("href"))
    assert (web.scheme, web.netloc, web.path) == ("https", "www.openstreetmap.org", "/directions")
    assert parse_qs(web.query) == {"to": [address]}
    assert link.get("data-geo") == f"geo:{clinic.lat},{clinic.lng}?q={quote(address)}"
    apple = urlsplit(link.get("data-apple"))
    assert apple.netloc == "maps.apple.com" and parse_qs(apple.query) == {"daddr": [address]}
    # The marker's popup offers the same.
    (point,) = _map_block(tree, "clinic-map")["points"]
    assert point["directions"]["web"] == link.get("href")
    assert point["directions"]["address"] == address


def test_no_directions_without_a_street_or_for_telehealth(demo_app, demo_client):
    slug = first_published(demo_app, "telehealth").slug
    assert _directions_link(_tree(demo_client.get(f"/clinics/{slug}").data)) is None
    clinic = first_published(demo_app, "in_person")
    clinic.street = None
    assert directions(clinic) is None


# -- tile settings and the CSP ------------------------------------------------------------------
def test_default_is_no_tiles_and_img_src_only_self(demo_client):
    response = demo_client.get(RESULTS)
    assert _img_src(response.headers["Content-Security-Policy"]) == "img-src 'self' data:"
    data = _map_block(_tree(response.data), "results-map")
    assert data["tiles"] == {"url": "", "attribution": "", "host": ""}
    assert "without street map images" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("url", "img_src"),
    [
        ("", "img-src 'self' data:"),
        (OSM, "img-src 'self' data: https://tile.openstreetmap.org"),
        (
            "https://{s}.tiles.example.org/{z}/{x}/{y}@2x.png?key=abc",
            "img-src 'self' data: https://a.tiles.example.org https://b.tiles.example.org "
            "https://c.tiles.example.org",
        ),
        ("https://tiles.example.org:8443/osm/{z}/{x}/{y}.png", None),
        ("/tiles/{z}/{x}/{y}.png", "img-src 'self' data:"),
    ],
)
def test_csp_img_src_follows_map_tile_url(tmp_path, monkeypatch, url, img_src):
    monkeypatch.setenv("MAP_TILE_URL", url)
    monkeypatch.setenv("MAP_TILE_ATTRIBUTION", "© OpenStreetMap contributors")
    app = create_app({"TESTING": True, "SECRET_KEY": "t"}, instance_path=tmp_path)
    assert app.config["MAP_TILE_URL"] == url
    with app.test_client().get("/static/css/site.css") as response:
        policy = response.headers["Content-Security-Policy"]
    expected = img_src or "img-src 'self' data: https://tiles.example.org:8443"
    assert _img_src(policy) == expected
    # Everything else stays our own origin only.
    assert "default-src 'self'" in policy and "script-src 'self';" in policy
    assert "connect-src 'self'" in policy and "style-src 'self'" in policy


@pytest.mark.parametrize(
    "url",
    [
        "http://tile.openstreetmap.org/{z}/{x}/{y}.png",  # not https
        "https://tile.openstreetmap.org/{z}/{x}.png",  # no {y}
        "//tile.openstreetmap.org/{z}/{x}/{y}.png",  # scheme-relative
        "/\\tile.openstreetmap.org/{z}/{x}/{y}.png",  # the same to a browser
        "https://{s}.{r}.example.org/{z}/{x}/{y}.png",  # placeholder inside the host
        "https://tiles.example.org*/{z}/{x}/{y}.png",
        "javascript:alert(1)//{z}{x}{y}",
        "https://a.example.org;script-src *//{z}/{x}/{y}",  # CSP injection
    ],
)
def test_bad_tile_urls_are_refused_at_start(url):
    with pytest.raises(ValueError, match="MAP_TILE_URL"):
        tile_url(url)


@pytest.fixture
def uncached_pages(demo_app):
    """Settings change mid-test here, which a running site never sees: drop the search
    pages kept before and after, so no test reads a page made under other settings."""
    with demo_app.app_context():
        get_page_cache().clear()
    yield
    with demo_app.app_context():
        get_page_cache().clear()


def test_configured_tiles_are_announced_but_never_loaded_by_the_page(
    demo_app, monkeypatch, uncached_pages
):
    monkeypatch.setitem(demo_app.config, "MAP_TILE_URL", OSM)
    monkeypatch.setitem(demo_app.config, "MAP_TILE_ATTRIBUTION", "© OpenStreetMap contributors")
    body = demo_app.test_client().get(RESULTS).get_data(as_text=True)
    tree = _tree(body.encode())
    data = _map_block(tree, "results-map")
    assert data["tiles"] == {
        "url": OSM,
        "attribution": "© OpenStreetMap contributors",
        "host": "tile.openstreetmap.org",
    }
    assert data["places"] == []  # the tiles name places themselves
    assert "town names" not in body
    (button,) = [b for b in tree.iter("button") if "map-toggle" in (b.get("class") or "")]
    assert "".join(button.itertext()).strip() == "Show map (images from tile.openstreetmap.org)"
    assert "Map images load from tile.openstreetmap.org when you open the map" in body
    # Only the data block (read by the script after a click) names the tile server.
    assert all("openstreetmap" not in url for url in _asset_urls(tree))


# -- own origin only ----------------------------------------------------------------------------
OWN_ORIGIN_PAGES = [
    "/",
    RESULTS,
    "/search?where=78701&per_page=50",
    "/browse/tx/austin",
    "/about",
    "/guides/",
    "/guides/paying-for-treatment",
    "/account/sign-in",
    "/account/sign-up",
]
# Attributes through which a page makes the browser fetch something.
ASSET_ATTRIBUTES = {
    "script": ("src",),
    "link": ("href",),
    "img": ("src", "srcset"),
    "source": ("src", "srcset"),
    "iframe": ("src",),
    "frame": ("src",),
    "embed": ("src",),
    "object": ("data",),
    "video": ("src", "poster"),
    "audio": ("src",),
    "track": ("src",),
    "input": ("src",),
}
CSS_URL = re.compile(r"url\(\s*['\"]?([^'\")\s]+)")


def _asset_urls(tree) -> list[str]:
    urls = []
    for element in tree.iter():
        if not isinstance(element.tag, str):
            continue
        for attribute in ASSET_ATTRIBUTES.get(element.tag, ()):
            value = element.get(attribute)
            if value:
                urls += [part.split()[0] for part in value.split(",") if part.strip()]
        urls += CSS_URL.findall(element.get("style") or "")
        if element.tag == "style":
            urls += CSS_URL.findall(element.text or "")
        if element.tag == "meta" and (element.get("http-equiv") or "").lower() == "refresh":
            urls.append((element.get("content") or "").partition("url=")[2])
    return urls


def _own(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme == "data":
        return True
    return parts.scheme in ("", "http", "https") and parts.netloc in ("", "directory.test")


@pytest.fixture
def own_origin_paths(demo_app) -> list[str]:
    return [*OWN_ORIGIN_PAGES, f"/clinics/{first_published(demo_app).slug}"]


def test_no_page_references_an_asset_from_another_origin(demo_app, own_origin_paths):
    for path in own_origin_paths:
        response = demo_app.test_client().get(path)  # a new visitor each time
        assert response.status_code == 200, path
        tree = _tree(response.data)
        foreign = [url for url in _asset_urls(tree) if not _own(url)]
        assert not foreign, (path, foreign)
        for map_id in ("results-map", "clinic-map"):
            data = _map_block(tree, map_id)
            if data:
                assert all(_own(url) for url in data["assets"].values()), data["assets"]
                assert data["tiles"]["url"] == ""
        if not path.startswith("/account/"):  # sign-in forms carry a CSRF session
            assert "Set-Cookie" not in response.headers, path


def test_our_stylesheets_and_scripts_fetch_nothing_from_elsewhere():
    static = Path(PROJECT_ROOT) / "static"
    for path in [*static.glob("css/*.css"), *static.glob("js/*.js")]:
        text = path.read_text()
        assert not [u for u in CSS_URL.findall(text) if not _own(u)], path
        assert "@import" not in text, path
        assert not re.search(r"https?://", text), path
