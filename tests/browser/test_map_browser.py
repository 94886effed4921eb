"""The map without a tile server, in headless Chromium, on a phone and on a desktop.

With MAP_TILE_URL empty (the default) the map draws US state outlines, county lines
once zoomed in, and town names, all from our own origin (static/js/map-outline.js and
our copies of us-atlas and topojson-client). On a phone, opening the map brings it
into view and closing it returns the list where the patient left it. "Directions"
links are plain links: nothing is fetched for them.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from flask import Response
from playwright.sync_api import Page, expect

from .axe import violations as _axe
from .conftest import DESKTOP, PHONE
from .test_patient_journey import _png

VIEWPORTS = {"phone": (PHONE[0], 800), "desktop": DESKTOP}
PHOENIX = "/search?where=Phoenix%2C+AZ"
TILE = _png()
STATES_DRAWN = 40  # us-atlas has 56 states and territories; some may be merged or cut


@pytest.fixture
def live_demo_records(demo_records: list[dict]) -> list[dict]:
    """Alaska to Arizona: 32 clinics, 14 of them in and around Phoenix."""
    return demo_records[:32]


def _requests(page: Page) -> list[str]:
    seen: list[str] = []
    page.on("request", lambda request: seen.append(request.url))
    return seen


def _open_map(page: Page) -> None:
    page.get_by_role("button", name="Show map").click()
    expect(page.locator("#results-map .map-state").nth(STATES_DRAWN - 1)).to_be_attached()
    expect(page.locator("#results-map .map-place").first).to_be_visible()


def _rect(page: Page, selector: str) -> list[dict]:
    return page.eval_on_selector_all(
        selector,
        "els => els.map(e => { const r = e.getBoundingClientRect();"
        " return {left: r.left, right: r.right, top: r.top, bottom: r.bottom}; })",
    )


def _overlap(a: dict, b: dict) -> bool:
    return (
        a["left"] < b["right"]
        and b["left"] < a["right"]
        and a["top"] < b["bottom"]
        and (b["top"] < a["bottom"])
    )


def _names_clear_of_markers(page: Page) -> None:
    labels = _rect(page, "#results-map .map-place")
    markers = _rect(page, "#results-map .leaflet-marker-icon")
    assert labels and markers
    assert not [(label, m) for label in labels for m in markers if _overlap(label, m)]


@pytest.mark.parametrize("size", list(VIEWPORTS))
def test_outlines_and_town_names_from_our_own_origin(live_server, new_page, browser_problems, size):
    page = new_page(viewport=VIEWPORTS[size])
    requests = _requests(page)
    page.goto(PHOENIX)
    page.wait_for_load_state("networkidle")
    assert not [url for url in requests if "/vendor/" in url or "map-outline" in url]

    _open_map(page)
    box = page.locator("#results-map")
    # One SVG path per state or territory, filled and outlined by our stylesheet.
    paths = box.locator("svg path.map-state")
    assert paths.count() >= STATES_DRAWN
    drawn = paths.evaluate_all(
        "ps => ps.filter(p => (p.getAttribute('d') || '').length > 0).length"
    )
    assert drawn >= 1  # Arizona at least is in view
    fill = paths.first.evaluate("p => getComputedStyle(p).fill")
    assert fill != "rgb(51, 136, 255)"  # not Leaflet's default blue: the stylesheet applies

    # Town names: real names from the gazetteer, none over a marker.
    names = box.locator(".map-place").all_inner_texts()
    assert "Phoenix" in names or any(
        n in names for n in ("Mesa", "Tempe", "Glendale", "Scottsdale")
    )
    assert all(name.strip() for name in names)
    _names_clear_of_markers(page)
    # Still so once a cluster has opened out and the markers have moved.
    box.locator(".marker-cluster").first.click()
    page.wait_for_timeout(800)  # the cluster's zoom and spread animations
    expect(box.locator(".map-place").first).to_be_visible()
    _names_clear_of_markers(page)
    # Names never take a click meant for the map or a marker.
    assert box.locator(".leaflet-places-pane").evaluate(
        "p => getComputedStyle(p).pointerEvents"
    ) == ("none")

    page.wait_for_load_state("networkidle")
    own = live_server.url
    assert [url for url in requests if not url.startswith(own + "/")] == []
    assert any(url.endswith("/static/vendor/us-atlas/states-10m.json") for url in requests)
    assert box.locator("img.leaflet-tile").count() == 0


def test_county_lines_load_only_when_zoomed_in(live_server, new_page, browser_problems):
    page = new_page(viewport=DESKTOP)
    requests = _requests(page)
    page.goto("/search?q=ketamine&per_page=50")  # no place: Alaska to Arizona in view
    _open_map(page)
    page.wait_for_load_state("networkidle")
    counties = [url for url in requests if url.endswith("/us-atlas/counties-10m.json")]
    assert counties == []
    assert page.locator("#results-map .map-county").count() == 0

    zoom_in = page.get_by_role("button", name="Zoom in", exact=True)
    for _ in range(6):
        zoom_in.click()
        page.wait_for_timeout(300)  # Leaflet's zoom animation
    expect(page.locator("#results-map path.map-county")).to_have_count(1)  # one mesh of lines
    assert [url for url in requests if url.endswith("/us-atlas/counties-10m.json")]
    assert all(url.startswith(live_server.url + "/") for url in requests)


def test_with_tiles_configured_no_outlines_are_loaded(live_server, new_page, browser_problems):
    app = live_server.app
    app.add_url_rule(
        "/test-tiles/<int:z>/<int:x>/<int:y>.png",
        "test_tile",
        lambda z, x, y: Response(TILE, mimetype="image/png"),
    )
    app.config["MAP_TILE_URL"] = "/test-tiles/{z}/{x}/{y}.png"
    page = new_page(viewport=DESKTOP)
    requests = _requests(page)
    page.goto(PHOENIX)
    page.get_by_role("button", name="Show map").click()
    expect(page.locator("#results-map img.leaflet-tile-loaded").first).to_be_visible()
    page.wait_for_load_state("networkidle")
    assert not [u for u in requests if "us-atlas" in u or "topojson" in u or "map-outline" in u]
    assert page.locator("#results-map .map-state, #results-map .map-place").count() == 0


def test_on_a_phone_the_map_comes_into_view_and_the_list_returns(new_page, browser_problems):
    page = new_page(viewport=VIEWPORTS["phone"])
    page.goto(PHOENIX)
    button = page.get_by_role("button", name="Show map")
    # The patient has scrolled down a little, the button still on screen, near its foot
    # if the page is long enough.
    top = button.evaluate("b => b.getBoundingClientRect().top + window.scrollY")
    page.evaluate("(y) => window.scrollTo(0, y)", max(100, top - 740))
    left_at = page.evaluate("window.scrollY")
    assert left_at > 0
    expect(button).to_be_in_viewport(ratio=1)

    button.click()
    box = page.locator("#results-map")
    expect(box.locator(".map-state").first).to_be_attached()
    expect(page.locator("#results-list")).to_be_hidden()
    expect(box).to_be_in_viewport(ratio=1)  # all of it
    assert page.evaluate("window.scrollY") != left_at
    # The button fits above the map here, so focus stays on it (it says what comes next).
    toggle = page.get_by_role("button", name="Show list")
    expect(toggle).to_be_focused()
    expect(toggle).to_be_in_viewport()

    toggle.click()
    expect(page.locator("#results-list")).to_be_visible()
    assert page.evaluate("window.scrollY") == left_at


def test_directions_are_plain_links_to_the_address(live_server, new_page, browser_problems):
    page = new_page(viewport=DESKTOP)
    requests = _requests(page)
    page.goto(PHOENIX)
    _open_map(page)
    marker = page.locator("#results-map .leaflet-marker-icon:not(.marker-cluster)")
    marker.first.focus()
    page.keyboard.press("Enter")
    link = page.locator("#results-map .leaflet-popup-content a.directions")
    expect(link).to_have_text("Directions (opens OpenStreetMap)")
    href = link.get_attribute("href")
    assert href.startswith("https://www.openstreetmap.org/directions?to=")
    assert link.get_attribute("rel") == "nofollow noopener"

    page.locator("#results-map .leaflet-popup-content a:not(.directions)").click()
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    street = page.locator(".contact address p").first.inner_text().splitlines()[0]
    clinic_link = page.get_by_role("link", name="Directions (opens OpenStreetMap)")
    expect(clinic_link).to_have_attribute("rel", "nofollow noopener")
    assert urlsplit(clinic_link.get_attribute("href")).netloc == "www.openstreetmap.org"
    assert street.split()[0] in clinic_link.get_attribute("href")
    page.wait_for_load_state("networkidle")
    assert not [url for url in requests if "openstreetmap" in url or "apple" in url]
    assert all(url.startswith(live_server.url + "/") for url in requests)


@pytest.mark.parametrize(
    ("agent", "scheme"),
    [
        ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Chrome/126 Mobile", "geo"),
        ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15", "https"),
    ],
)
def test_directions_open_the_phones_own_maps_app(
    live_server, new_context, browser_problems, agent, scheme
):
    page = new_context(viewport=VIEWPORTS["phone"], user_agent=agent).new_page()
    requests = _requests(page)
    page.goto(PHOENIX)
    page.locator("#results-list h3 a").first.click()
    link = page.get_by_role("link", name="Directions (opens your maps app)")
    href = link.get_attribute("href")
    if scheme == "geo":
        assert re.fullmatch(r"geo:-?\d+(\.\d+)?,-?\d+(\.\d+)?\?q=\S+", href), href
    else:
        assert urlsplit(href).netloc == "maps.apple.com" and "daddr=" in href
    page.wait_for_load_state("networkidle")
    assert all(url.startswith(live_server.url + "/") for url in requests)


@pytest.mark.usefixtures("axe_available")
@pytest.mark.parametrize("size", list(VIEWPORTS))
def test_the_open_map_has_no_wcag_violations(new_page, browser_problems, size):
    page = new_page(viewport=VIEWPORTS[size])
    page.goto(PHOENIX)
    _open_map(page)
    assert not _axe(page), "results with the outline map open"
    if size == "phone":  # the map replaces the list there
        page.get_by_role("button", name="Show list").click()
    page.locator("#results-list h3 a").first.click()
    page.get_by_role("button", name="Show map").click()
    expect(page.locator("#clinic-map .map-state").first).to_be_attached()
    expect(page.locator("#clinic-map .map-place").first).to_be_visible()
    assert not _axe(page), "clinic page with the outline map open"
