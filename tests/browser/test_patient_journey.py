"""A patient's journey in headless Chromium, on a phone and on a desktop.

Search, filter, open the map (our own Leaflet copy, loaded only on request), open a
clinic, use the keyboard only, "use my location", and axe-core (our copy under
static/vendor/, built by `make static/vendor/.stamp`) on every kind of page. The
`browser_problems` fixture fails a test on any request to another origin, any
console error (CSP violations included) and any uncaught script error.
"""

from __future__ import annotations

import re
import struct
import zlib
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Response
from playwright.sync_api import Page, expect

from tests.helpers import PASSWORD

from .accounts import sign_in
from .axe import violations as _axe
from .conftest import DESKTOP, PHONE

VIEWPORTS = {"phone": (PHONE[0], 800), "desktop": DESKTOP}
PHOENIX = "Phoenix, AZ"  # demo clinics 19-32: enough in one place for clustering


@pytest.fixture
def live_demo_records(demo_records: list[dict]) -> list[dict]:
    """Alaska to Arizona: 32 clinics, 14 of them in and around Phoenix."""
    return demo_records[:32]


def _png() -> bytes:
    """A 1x1 grey PNG: the tile the test tile route answers with."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00\xcc"))
        + chunk(b"IEND", b"")
    )


def _requests(page: Page) -> list[str]:
    seen: list[str] = []
    page.on("request", lambda request: seen.append(urlsplit(request.url).path))
    return seen


def _search(page: Page, what: str, where: str) -> None:
    page.goto("/")
    page.get_by_label("What: condition, treatment or clinic name").fill(what)
    page.get_by_label("Where: ZIP code or city, state").fill(where)
    page.get_by_role("button", name="Search", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(where)


def _fits_width(page: Page, width: int) -> None:
    """Nothing makes the page scroll sideways (readable at 360 px)."""
    assert page.evaluate("document.documentElement.scrollWidth") <= width, page.url


def _results(page: Page):
    return page.locator("#results-list > li")


# -- the journey ----------------------------------------------------------------------------
@pytest.mark.parametrize("size", list(VIEWPORTS))
def test_search_filter_map_and_clinic(new_page, browser_problems, size):
    page = new_page(viewport=VIEWPORTS[size])
    requests = _requests(page)
    _search(page, "PTSD", PHOENIX)
    expect(page).to_have_title(re.compile("Search results"))
    _fits_width(page, VIEWPORTS[size][0])
    before = _results(page).count()
    assert before >= 2

    # Filters: a closed <details> on phones, always open beside the list on desktops.
    filters = page.locator("details.filters")
    if size == "phone":
        expect(page.get_by_label("IV infusion")).to_be_hidden()
        filters.locator("summary").click()
    page.get_by_label("IV infusion").check()
    page.get_by_role("button", name="Apply filters").click()
    assert parse_qs(urlsplit(page.url).query)["modality"] == ["iv"]
    shown = _results(page).count()
    assert 0 < shown <= before

    # The map: nothing of Leaflet and no image requested before the button.
    assert not [p for p in requests if "/vendor/" in p]
    button = page.get_by_role("button", name=re.compile("^Show map"))
    expect(button).to_have_text("Show map")  # no tile server configured: nothing to name
    note = page.get_by_text("without street map images")
    if size == "desktop":  # a phone says it beside the open map, to keep results in view
        expect(note).to_be_visible()
    expect(page.locator("#results-map")).to_be_hidden()
    button.click()
    expect(note).to_be_visible()
    box = page.get_by_role("region", name="Map of the clinics on this page")
    expect(box).to_be_visible()
    expect(page.locator("#results-map.leaflet-container.map-plain")).to_be_visible()
    markers = box.locator(".leaflet-marker-icon:not(.marker-cluster)")
    expect(markers).to_have_count(shown)
    assert box.locator("img.leaflet-tile").count() == 0
    assert not [p for p in requests if "/vendor/" in p and p.endswith(".png") and "marker" not in p]
    if size == "phone":  # the map replaces the list, list first
        expect(page.locator("#results-list")).to_be_hidden()
        toggle = page.get_by_role("button", name="Show list")
        expect(toggle).to_have_attribute("aria-expanded", "true")
    else:
        expect(page.locator("#results-list")).to_be_visible()
        toggle = page.get_by_role("button", name="Hide map")

    # A marker says which clinic, how far, and links to it.
    first = markers.first
    name = first.get_attribute("alt")
    assert name and name.endswith(" mi")
    first.focus()
    page.keyboard.press("Enter")  # markers may overlap; the focused one opens
    popup = box.locator(".leaflet-popup-content")
    expect(popup).to_contain_text(" mi")
    link = popup.get_by_role("link").first  # then "Directions", leaving the site
    clinic_name = link.inner_text()
    assert name.startswith(clinic_name)

    toggle.click()
    expect(page.locator("#results-map")).to_be_hidden()
    expect(page.locator("#results-list")).to_be_visible()
    button.click()
    expect(box).to_be_visible()
    link.click()

    # The clinic page, with its own map of one marker.
    expect(page.get_by_role("heading", level=1)).to_have_text(clinic_name)
    page.get_by_role("button", name=re.compile("^Show map")).click()
    clinic_map = page.get_by_role("region", name=f"Map: where {clinic_name} is")
    expect(clinic_map.locator(".leaflet-marker-icon")).to_have_count(1)
    _fits_width(page, VIEWPORTS[size][0])
    page.get_by_role("button", name="Hide map").click()
    expect(clinic_map).to_be_hidden()


def test_many_results_cluster_on_the_map(new_page, browser_problems):
    page = new_page(viewport=DESKTOP)
    page.goto("/search?where=Phoenix%2C+AZ&radius=100")
    assert _results(page).count() >= 10
    page.get_by_role("button", name="Show map").click()
    clusters = page.locator("#results-map .marker-cluster")
    expect(clusters.first).to_be_visible()
    expect(clusters.first).to_contain_text("clinics here")
    clusters.first.click()  # zooms in
    expect(
        page.locator("#results-map .leaflet-marker-icon:not(.marker-cluster)").first
    ).to_be_visible()


def test_tiles_load_only_after_the_map_is_opened(live_server, new_page, browser_problems):
    app = live_server.app
    tiles: list[str] = []

    def tile(z: int, x: int, y: int) -> Response:
        tiles.append(f"{z}/{x}/{y}")
        return Response(_png(), mimetype="image/png")

    app.add_url_rule("/test-tiles/<int:z>/<int:x>/<int:y>.png", "test_tile", tile)
    app.config["MAP_TILE_URL"] = "/test-tiles/{z}/{x}/{y}.png"
    app.config["MAP_TILE_ATTRIBUTION"] = "Test tiles <b>not bold</b>"
    page = new_page(viewport=DESKTOP)
    page.goto("/search?where=Phoenix%2C+AZ")
    expect(page.get_by_text("Map images load from this site")).to_be_visible()
    page.wait_for_load_state("networkidle")
    assert tiles == []
    page.get_by_role("button", name="Show map").click()
    expect(page.locator("#results-map img.leaflet-tile-loaded").first).to_be_visible()
    assert tiles
    # The attribution is plain text, never markup.
    expect(page.locator(".leaflet-control-attribution")).to_contain_text("<b>not bold</b>")


# -- keyboard only --------------------------------------------------------------------------
def _tab_to(page: Page, selector: str, limit: int = 80) -> None:
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("(s) => document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"Tab never reached {selector}")


@pytest.mark.parametrize("size", list(VIEWPORTS))
def test_search_and_filters_by_keyboard_only(new_page, browser_problems, size):
    page = new_page(viewport=VIEWPORTS[size])
    page.goto("/")
    _tab_to(page, "#q")
    page.keyboard.type("depression")
    _tab_to(page, "#where")
    page.keyboard.type(PHOENIX)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_contain_text(PHOENIX)

    # The order sits beside the count, before the filters.
    _tab_to(page, "#sort")
    page.keyboard.press("ArrowDown")  # default, then "Nearest first"… any choice
    if size == "phone":
        _tab_to(page, "details.filters > summary")
        page.keyboard.press("Enter")
    _tab_to(page, "#f-modality-spravato")
    page.keyboard.press("Space")
    _tab_to(page, ".filters button[type=submit]")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_contain_text(PHOENIX)
    query = parse_qs(urlsplit(page.url).query)
    assert query["modality"] == ["spravato"] and query["q"] == ["depression"]

    # The map by keyboard: open it, reach a marker, open its popup with Enter.
    _tab_to(page, ".map-toggle")
    page.keyboard.press("Enter")
    expect(page.locator("#results-map")).to_be_visible()
    assert page.evaluate("document.activeElement.matches('.map-toggle')")  # focus stays
    _tab_to(page, "#results-map .leaflet-marker-icon")
    page.keyboard.press("Enter")
    expect(page.locator("#results-map .leaflet-popup-content a").first).to_be_visible()


# -- use my location ------------------------------------------------------------------------
def test_use_my_location_fills_where(new_context, browser_problems):
    context = new_context(
        viewport=VIEWPORTS["phone"],
        permissions=["geolocation"],
        geolocation={"latitude": 33.44838, "longitude": -112.07404},
    )
    page = context.new_page()
    page.goto("/")
    page.get_by_role("button", name="Use my location").click()
    expect(page.get_by_label("Where: ZIP code or city, state")).to_have_value("33.45,-112.07")
    expect(page.get_by_role("status").filter(has_text="filled in")).to_be_visible()
    page.get_by_role("button", name="Search", exact=True).click()
    # The heading names the nearest town, not the coordinates.
    heading = page.get_by_role("heading", level=1)
    expect(heading).to_contain_text("miles of your location near Phoenix, AZ")
    expect(heading).not_to_contain_text("112")
    assert _results(page).count() > 0


def test_use_my_location_explains_a_denial(new_context, browser_problems):
    page = new_context(viewport=VIEWPORTS["phone"]).new_page()  # no permission granted
    page.goto("/search")
    page.get_by_role("button", name="Use my location").click()
    expect(page.get_by_role("status").filter(has_text="denied")).to_contain_text(
        "Type a ZIP code or city"
    )
    expect(page.get_by_label("Where: ZIP code or city, state")).to_have_value("")


def test_without_javascript_no_map_or_location_button(new_context, browser_problems):
    page = new_context(viewport=VIEWPORTS["phone"], java_script_enabled=False).new_page()
    page.goto("/search?where=Phoenix%2C+AZ")
    assert _results(page).count() > 0
    expect(page.get_by_role("button", name=re.compile("map"))).to_have_count(0)
    expect(page.get_by_role("button", name="Use my location")).to_have_count(0)
    expect(page.locator("#results-map")).to_be_hidden()


# -- accessibility (axe-core) -----------------------------------------------------------------


def _url_args(page: Page) -> dict[str, list[str]]:
    return parse_qs(urlsplit(page.url).query)


@pytest.mark.parametrize("size", list(VIEWPORTS))
def test_filters_stay_visible_and_survive_a_new_search(new_page, browser_problems, size):
    page = new_page(viewport=VIEWPORTS[size])
    page.goto("/search?where=Phoenix%2C+AZ")
    filters = page.locator("details.filters")
    if size == "phone":
        filters.locator("summary").click()
    page.get_by_label("IV infusion").check()
    page.get_by_role("button", name="Apply filters").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("IV infusion within 50 miles")
    chip = page.get_by_role("link", name="Remove the filter IV infusion")
    expect(chip).to_be_visible()

    # A new place, typed above: the filter goes with it. On a phone the search
    # folds behind "Edit search" once there are results.
    if size == "phone":
        page.get_by_text("Edit search", exact=True).click()
    page.get_by_label("Where: ZIP code or city, state").fill("Mesa, AZ")
    page.get_by_role("button", name="Search", exact=True).click()
    assert _url_args(page)["modality"] == ["iv"] and _url_args(page)["where"] == ["Mesa, AZ"]
    expect(chip).to_be_visible()

    # Words typed above and then "Apply filters": the words go with the filters.
    if size == "phone":
        page.get_by_text("Edit search", exact=True).click()
    page.get_by_label("What: condition, treatment or clinic name").fill("PTSD")
    if size == "phone" and not filters.evaluate("d => d.open"):
        filters.locator("summary").click()
    page.get_by_label("IM injection").check()
    page.get_by_role("button", name="Apply filters").click()
    args = _url_args(page)
    assert args["q"] == ["PTSD"] and sorted(args["modality"]) == ["im", "iv"], args
    expect(page.get_by_role("link", name="Clear all")).to_be_visible()

    # A chip removes its filter and nothing else.
    page.get_by_role("link", name="Remove the filter IV infusion").click()
    args = _url_args(page)
    assert args["modality"] == ["im"] and args["q"] == ["PTSD"], args
    page.get_by_role("link", name="Remove the filter IM injection").click()
    expect(page.locator(".chips")).to_have_count(0)
    assert "modality" not in _url_args(page)


@pytest.mark.parametrize("size", list(VIEWPORTS))
def test_far_from_any_clinic_the_nearest_are_named(new_page, browser_problems, size):
    page = new_page(viewport=VIEWPORTS[size])
    _search(page, "", "Honolulu, HI")
    empty = page.get_by_role("heading", level=2, name=re.compile("No clinics match"))
    expect(empty).to_be_visible()
    summary = page.locator(".nearest-summary")
    expect(summary).to_have_text(re.compile(r"^Nearest: [\d,]+ mi, .+, (AK|AZ|AL|AR)\.$"))
    expect(page.locator("#nearest-list > li").first).to_be_visible()


@pytest.mark.parametrize("size", list(VIEWPORTS))
def test_cards_offer_a_call_and_the_website(new_page, browser_problems, size):
    page = new_page(viewport=VIEWPORTS[size])
    page.goto("/search?where=Phoenix%2C+AZ")
    card = _results(page).first
    name = card.get_by_role("heading").inner_text()
    call_name = re.compile(rf"^Call \(\d{{3}}\) [\d-]+, {re.escape(name)}$")
    call = card.get_by_role("link", name=call_name)
    expect(call).to_be_visible()
    assert re.fullmatch(r"tel:\+1\d{10}", call.get_attribute("href") or "")
    box = call.bounding_box()
    assert box and box["height"] >= 44, box  # a thumb-sized target on a phone
    website = card.get_by_role("link", name=f"Website of {name}")
    assert (website.get_attribute("href") or "").startswith("https://")
    expect(card.get_by_text(re.compile("ccepting new patients"))).to_be_visible()


def test_a_city_nickname_finds_the_city(new_page, browser_problems):
    page = new_page(viewport=VIEWPORTS["phone"])
    page.goto("/")
    page.get_by_label("Where: ZIP code or city, state").fill("NYC")
    page.get_by_role("button", name="Search", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("within 50 miles of New York, NY")


@pytest.mark.parametrize("size", list(VIEWPORTS))
def test_public_pages_have_no_wcag_violations(new_page, browser_problems, axe_available, size):
    page = new_page(viewport=VIEWPORTS[size])
    found: dict[str, list[str]] = {}
    page.goto("/")
    found["home"] = _axe(page)
    page.goto("/search?q=PTSD&where=Phoenix%2C+AZ")
    found["results"] = _axe(page)
    page.get_by_role("button", name="Show map").click()
    expect(page.locator("#results-map .leaflet-marker-icon").first).to_be_visible()
    found["results with the map open"] = _axe(page)
    page.goto("/search?where=Phoenix%2C+AZ&radius=100")
    page.get_by_role("button", name="Show map").click()
    expect(page.locator("#results-map .marker-cluster").first).to_be_visible()
    found["results with clusters"] = _axe(page)
    page.goto("/search?where=Springfeld")
    found["results: unknown place"] = _axe(page)
    page.goto("/search?where=Phoenix%2C+AZ&modality=iv&insurer=aetna&max_price=800&radius=100")
    found["results with filter chips"] = _axe(page)
    page.goto("/search?where=Honolulu%2C+HI")
    found["results: nothing in range, the nearest instead"] = _axe(page)
    page.goto("/search?where=Phoenix%2C+AZ")
    with page.expect_navigation():
        page.locator("#results-list a").first.click()
    found["clinic"] = _axe(page)
    page.goto("/guides/")
    with page.expect_navigation():
        page.locator("main a[href^='/guides/']").first.click()
    found["guide"] = _axe(page)
    page.goto("/account/sign-in")
    found["sign-in"] = _axe(page)
    violations = {label: v for label, v in found.items() if v}
    assert not violations, violations


@pytest.mark.parametrize("size", list(VIEWPORTS))
def test_admin_moderation_has_no_wcag_violations(
    live_server, new_page, browser_problems, axe_available, size
):
    live_server.cli(
        "users", "create", "--email", "editor@directory.test", "--role", "editor",
        "--password", PASSWORD,
    )  # fmt: skip
    page = new_page(viewport=VIEWPORTS[size])
    # A patient's report puts something in the queue (and its form gets checked too).
    page.goto("/clinics/" + _first_published_slug(live_server) + "/report")
    assert not _axe(page)
    page.get_by_label("What should change?").fill("The phone number on this page is out of date.")
    page.get_by_role("button", name="Send report").click()
    expect(page.get_by_text("Thank you")).to_be_visible()
    sign_in(page, "editor@directory.test")
    assert not _axe(page), "admin home"
    page.goto("/admin/moderation/")
    expect(page.get_by_text("The phone number on this page is out of date.")).to_be_visible()
    violations = _axe(page)
    assert not violations, violations
    with page.expect_navigation():
        page.get_by_role("link", name=re.compile(r"review .*report", re.I)).first.click()
    violations = _axe(page)
    assert not violations, ("revision page", violations)


def _first_published_slug(live_server) -> str:
    from sqlalchemy import select

    from directory.extensions import db
    from directory.models import Clinic

    with live_server.app.app_context():
        return db.session.scalars(
            select(Clinic.slug).where(Clinic.status == "published").order_by(Clinic.id)
        ).first()
