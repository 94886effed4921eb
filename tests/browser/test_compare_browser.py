"""Comparing clinics in headless Chromium, on a phone and on a desktop.

With JavaScript: the "Compare" checkboxes keep a shortlist in localStorage across
searches and pages (never a cookie, never a request of their own), a bar links to
the comparison, a fifth clinic is refused in words. Without JavaScript: ticking
cards and pressing "Compare selected" opens the same comparison. axe-core checks
the comparison and the results page with the bar showing, at both widths.
"""

from __future__ import annotations

import json
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Page, expect

from .axe import violations as _axe
from .conftest import DESKTOP, PHONE

VIEWPORTS = {"phone": (PHONE[0], 800), "desktop": DESKTOP}
# Eleven Alabama clinics are within 250 miles of Birmingham; Alaska has two of its own.
ALABAMA = "/search?where=Birmingham%2C+AL&radius=250"
ALASKA = "/search?where=Anchorage%2C+AK&radius=500"
MAX = 4


def _cards(page: Page):
    return page.locator("#results-list > li")


def _box(page: Page, n: int):
    return _cards(page).nth(n).get_by_role("checkbox", name=re.compile("^Compare "))


def _card_name(page: Page, n: int) -> str:
    return _cards(page).nth(n).locator(".card-title").inner_text().strip()


def _stored(page: Page) -> list[dict]:
    return json.loads(page.evaluate("localStorage.getItem('shortlist') || '[]'"))


def _bar_link(page: Page):
    return page.locator(".shortlist-bar").get_by_role("link", name=re.compile(r"^Compare \d"))


def _status(page: Page):
    return page.locator(".shortlist-bar [role=status]")


def _headers(page: Page) -> list[str]:
    return [t.strip() for t in page.locator(".compare-table thead th").all_inner_texts()]


def _requests_of_its_own(sent: list[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
    """Requests that are not page loads: the shortlist must make none. The insights
    beacons (POST /count/<kind>?c=<id>..., static/js/counts.js) are the pages' own,
    sent whether or not anything is shortlisted, and name listing numbers only."""
    beacon = re.compile(r"^/count/(appearance|view|phone|website)\?(c=\d+&)*c=\d+$")
    return [
        (method, kind, url)
        for method, kind, url in sent
        if (kind in ("xhr", "fetch") or method != "GET")
        and not (method == "POST" and beacon.match(urlsplit(url).path + "?" + urlsplit(url).query))
    ]


def _fits_width(page: Page, width: int) -> None:
    """Nothing makes the page scroll sideways (the table scrolls inside its box)."""
    assert page.evaluate("document.documentElement.scrollWidth") <= width, page.url


# -- with JavaScript --------------------------------------------------------------------------
@pytest.mark.parametrize("size", list(VIEWPORTS))
def test_a_shortlist_kept_across_searches_opens_the_comparison(new_context, size):
    width = VIEWPORTS[size][0]
    context = new_context(viewport=VIEWPORTS[size])
    page = context.new_page()
    sent: list[tuple[str, str, str]] = []
    page.on("request", lambda r: sent.append((r.method, r.resource_type, r.url)))
    page.goto(ALABAMA)
    assert _cards(page).count() >= 5
    names = [_card_name(page, 0), _card_name(page, 1)]
    expect(_bar_link(page)).to_be_hidden()
    _box(page, 0).check()
    expect(_status(page)).to_have_text(f"Added {names[0]}. Your shortlist has 1 clinic of {MAX}.")
    _box(page, 1).check()
    expect(_bar_link(page)).to_have_text("Compare 2 clinics")
    expect(_bar_link(page)).to_be_visible()
    _fits_width(page, width)
    slugs = [item["slug"] for item in _stored(page)]
    assert [item["name"] for item in _stored(page)] == names
    assert not _requests_of_its_own(sent), sent

    # Another search, in the same tab: the bar remembers; none of these cards is ticked.
    page.goto(ALASKA)
    expect(_bar_link(page)).to_have_text("Compare 2 clinics")
    assert _cards(page).count() >= 1
    for n in range(_cards(page).count()):
        expect(_box(page, n)).not_to_be_checked()
    # Back to the first search: its two cards are ticked again.
    page.goto(ALABAMA)
    expect(_box(page, 0)).to_be_checked()
    expect(_box(page, 1)).to_be_checked()
    expect(_box(page, 2)).not_to_be_checked()
    assert context.cookies() == [], "the shortlist is no cookie"

    with page.expect_navigation():
        _bar_link(page).click()
    url = urlsplit(page.url)
    assert url.path == "/compare" and parse_qs(url.query)["c"] == slugs
    expect(page.get_by_role("heading", level=1)).to_have_text("Compare 2 clinics")
    assert _headers(page) == names
    # This comparison is the shortlist: nothing to save, no bar to itself.
    expect(page.get_by_role("button", name="Save these to my shortlist")).to_be_hidden()
    expect(_bar_link(page)).to_be_hidden()
    _fits_width(page, width)
    assert context.cookies() == []
    assert not _requests_of_its_own(sent), sent


def test_a_fifth_clinic_is_refused_in_words(new_page):
    page = new_page(viewport=VIEWPORTS["phone"])
    page.goto(ALABAMA)
    for n in range(MAX):
        _box(page, n).check()
    expect(_bar_link(page)).to_have_text(f"Compare {MAX} clinics")
    fifth = _card_name(page, MAX)
    _box(page, MAX).click()
    expect(_status(page)).to_have_text(
        f"You can compare up to {MAX} clinics. "
        f"Remove one from your shortlist before adding {fifth}."
    )
    expect(_box(page, MAX)).not_to_be_checked()
    assert len(_stored(page)) == MAX
    expect(_bar_link(page)).to_have_text(f"Compare {MAX} clinics")

    _box(page, 0).uncheck()
    expect(_status(page)).to_have_text(f"Removed {_card_name(page, 0)} from your shortlist.")
    expect(_bar_link(page)).to_have_text(f"Compare {MAX - 1} clinics")
    _box(page, MAX).check()  # room again
    expect(_bar_link(page)).to_have_text(f"Compare {MAX} clinics")
    page.locator(".shortlist-bar").get_by_role("button", name=re.compile("^Clear")).click()
    expect(_status(page)).to_have_text("Your shortlist is empty.")
    expect(_bar_link(page)).to_be_hidden()
    assert _stored(page) == []
    for n in range(MAX + 1):
        expect(_box(page, n)).not_to_be_checked()


def test_add_to_compare_from_a_clinic_page(new_context):
    context = new_context(viewport=VIEWPORTS["desktop"])
    page = context.new_page()
    page.goto(ALABAMA)
    name = _card_name(page, 2)
    with page.expect_navigation():
        _cards(page).nth(2).locator(".card-title a").click()
    toggle = page.get_by_role("button", name="Add to compare")
    expect(toggle).to_be_visible()
    toggle.click()
    expect(page.get_by_role("button", name="Remove from compare")).to_be_visible()
    expect(_bar_link(page)).to_have_text("Compare 1 clinic")
    assert [item["name"] for item in _stored(page)] == [name]
    page.go_back()
    expect(_box(page, 2)).to_be_checked()
    assert context.cookies() == []


def test_a_shared_comparison_can_become_the_shortlist(live_server, new_page):
    page = new_page(viewport=VIEWPORTS["desktop"])
    page.goto(ALABAMA)
    slugs = [_box(page, n).get_attribute("value") for n in (3, 1, 4)]
    names = [_card_name(page, n) for n in (3, 1, 4)]
    _box(page, 0).check()  # a shortlist of its own, not this comparison
    page.goto("/compare?" + "&".join(f"c={slug}" for slug in slugs))
    assert _headers(page) == names
    expect(_bar_link(page)).to_have_text("Compare 1 clinic")  # the other shortlist
    save = page.get_by_role("button", name="Save these to my shortlist")
    save.click()
    expect(_status(page)).to_have_text("Saved: your shortlist now holds these 3 clinics.")
    expect(save).to_be_hidden()
    expect(_bar_link(page)).to_be_hidden()
    assert [item["slug"] for item in _stored(page)] == slugs
    # Removing one is a link to the same comparison without it.
    with page.expect_navigation():
        page.get_by_role("link", name=f"Remove {names[1]} from the comparison").click()
    assert parse_qs(urlsplit(page.url).query)["c"] == [slugs[0], slugs[2]]
    assert _headers(page) == [names[0], names[2]]


# -- without JavaScript ----------------------------------------------------------------------
@pytest.mark.parametrize("size", list(VIEWPORTS))
def test_compare_selected_works_without_javascript(new_context, size):
    context = new_context(viewport=VIEWPORTS[size], java_script_enabled=False)
    page = context.new_page()
    page.goto(ALABAMA)
    expect(page.locator(".shortlist-bar")).to_have_count(0)
    picked = (0, 2, 3)
    names = [_card_name(page, n) for n in picked]
    slugs = [_box(page, n).get_attribute("value") for n in picked]
    for n in picked:
        _box(page, n).check()
    with page.expect_navigation():
        page.get_by_role("button", name="Compare selected").click()
    url = urlsplit(page.url)
    assert url.path == "/compare" and parse_qs(url.query)["c"] == slugs
    assert _headers(page) == names
    _fits_width(page, VIEWPORTS[size][0])
    assert context.cookies() == []

    # More than four ticked: the first four, and the rest named.
    page.goto(ALABAMA)
    for n in range(MAX + 1):
        _box(page, n).check()
    fifth = _card_name(page, MAX)
    with page.expect_navigation():
        page.get_by_role("button", name="Compare selected").click()
    assert len(_headers(page)) == MAX
    expect(page.locator(".notice")).to_contain_text(f"You can compare up to {MAX} clinics")
    expect(page.locator(".notice")).to_contain_text(fifth)

    # The clinic page's button needs the script: it stays out of the way.
    with page.expect_navigation():
        page.locator(".compare-table thead a").first.click()
    expect(page.get_by_role("button", name="Add to compare")).to_be_hidden()


# -- accessibility ---------------------------------------------------------------------------
@pytest.mark.parametrize("size", list(VIEWPORTS))
def test_compare_pages_have_no_wcag_violations(new_page, axe_available, size):
    page = new_page(viewport=VIEWPORTS[size])
    found: dict[str, list[str]] = {}
    page.goto(ALABAMA)
    slugs = [_box(page, n).get_attribute("value") for n in range(MAX + 1)]
    _box(page, 0).check()
    _box(page, 1).check()
    expect(_bar_link(page)).to_be_visible()
    found["results with the bar"] = _axe(page)
    for n in range(2, MAX + 1):
        _box(page, n).click()
    expect(_status(page)).to_contain_text("You can compare up to")
    found["results: a fifth refused"] = _axe(page)
    page.goto("/compare?" + "&".join(f"c={s}" for s in slugs[:MAX]) + "&where=35203")
    expect(page.locator(".compare-table")).to_be_visible()
    _fits_width(page, VIEWPORTS[size][0])
    found["comparison of four, with distances"] = _axe(page)
    page.goto(f"/compare?c={slugs[0]}&c=no-such-clinic&where=Xyzzyville")
    found["comparison: one not found, an unknown place"] = _axe(page)
    page.goto("/compare")
    found["comparison: how to compare"] = _axe(page)
    page.goto(f"/clinics/{slugs[0]}")  # in the shortlist since the results page
    expect(page.get_by_role("button", name="Remove from compare")).to_be_visible()
    expect(_bar_link(page)).to_be_visible()
    found["clinic with the bar"] = _axe(page)
    violations = {label: v for label, v in found.items() if v}
    assert not violations, violations
