"""Results first on a phone, and a search that forgives: typos corrected, insurers
typed as words read as the insurer filter. Real Chromium at 360x800 and 1280x900."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Page, expect

from .axe import violations as _axe
from .conftest import DESKTOP, PHONE

VIEWPORTS = {"phone": (PHONE[0], 800), "desktop": DESKTOP}
FOLD = 800

RESULTS_PAGES = [
    "/search?where=Phoenix%2C+AZ",
    "/search?where=Phoenix%2C+AZ&radius=100&page=2&per_page=5",
    "/search?q=PTSD&where=Phoenix%2C+AZ",
    "/search?where=Phoenix%2C+AZ&modality=iv&modality=im&insurer=aetna&max_price=900&radius=100",
    "/search?q=depresion",
    "/search?q=depresion&where=Phoenix%2C+AZ",
    "/search?q=aetna&where=Phoenix%2C+AZ&radius=250",
    "/search?where=Honolulu%2C+HI",
    "/search?modality=spravato",
]


@pytest.fixture
def live_demo_records(demo_records: list[dict]) -> list[dict]:
    """Alaska to Arizona: 32 clinics, 14 of them in and around Phoenix."""
    return demo_records[:32]


def _args(page: Page) -> dict[str, list[str]]:
    return parse_qs(urlsplit(page.url).query)


@pytest.mark.parametrize("url", RESULTS_PAGES)
def test_the_first_result_is_in_view_on_a_phone_without_scrolling(new_page, browser_problems, url):
    page = new_page(viewport=VIEWPORTS["phone"])
    page.goto(url)
    card = page.locator(".card").first
    expect(card).to_be_visible()
    # The clinic's name is on screen: the patient sees a result, not only the form.
    title = card.locator(".card-title").bounding_box()
    assert title and title["y"] + title["height"] <= FOLD, (url, title)
    assert page.evaluate("window.scrollY") == 0


def test_edit_search_opens_the_folded_form_and_keeps_the_filters(new_page, browser_problems):
    page = new_page(viewport=VIEWPORTS["phone"])
    page.goto("/search?where=Phoenix%2C+AZ&modality=iv")
    where = page.get_by_label("Where: ZIP code or city, state")
    expect(where).to_be_hidden()
    page.get_by_text("Edit search", exact=True).click()
    where.fill("Mesa, AZ")
    page.get_by_role("button", name="Search", exact=True).click()
    assert _args(page)["where"] == ["Mesa, AZ"] and _args(page)["modality"] == ["iv"]


def test_the_form_is_open_on_a_wide_screen(new_page, browser_problems):
    page = new_page(viewport=VIEWPORTS["desktop"])
    page.goto("/search?where=Phoenix%2C+AZ")
    expect(page.get_by_label("Where: ZIP code or city, state")).to_be_visible()
    expect(page.get_by_text("Edit search", exact=True)).to_be_hidden()


@pytest.mark.parametrize("size", list(VIEWPORTS))
def test_sort_sits_beside_the_count(new_page, browser_problems, size):
    page = new_page(viewport=VIEWPORTS[size])
    page.goto("/search?where=Phoenix%2C+AZ")
    heading = page.get_by_role("heading", level=1).bounding_box()
    sort = page.get_by_label("Sort by").bounding_box()
    first = page.locator(".card").first.bounding_box()
    assert heading and sort and first
    assert heading["y"] < sort["y"] < first["y"]
    page.get_by_label("Sort by").select_option("price")
    page.get_by_role("button", name="Sort", exact=True).click()
    assert _args(page)["sort"] == ["price"] and _args(page)["where"] == ["Phoenix, AZ"]


@pytest.mark.parametrize("size", list(VIEWPORTS))
def test_a_misspelled_word_is_corrected_and_the_words_as_typed_are_one_tap_away(
    new_page, browser_problems, size
):
    page = new_page(viewport=VIEWPORTS[size])
    page.goto("/")
    page.get_by_label("What: condition, treatment or clinic name").fill("depresion")
    page.get_by_role("button", name="Search", exact=True).click()
    expect(page.locator(".understood")).to_contain_text("Showing results for depression.")
    heading = page.get_by_role("heading", level=1)
    expect(heading).to_contain_text("matching “depression”")
    assert not re.match(r"^0 clinics", heading.inner_text())
    page.get_by_role("link", name="Search instead for depresion").click()
    assert _args(page)["exact"] == ["1"] and _args(page)["q"] == ["depresion"]
    expect(heading).to_contain_text("matching “depresion”")
    expect(page.locator(".understood")).to_have_count(0)


@pytest.mark.parametrize("size", list(VIEWPORTS))
def test_an_insurer_typed_as_a_word_becomes_the_insurer_filter(new_page, browser_problems, size):
    page = new_page(viewport=VIEWPORTS[size])
    page.goto("/")
    page.get_by_label("What: condition, treatment or clinic name").fill("aetna")
    page.get_by_label("Where: ZIP code or city, state").fill("Phoenix, AZ")
    page.get_by_role("button", name="Search", exact=True).click()
    chip = page.get_by_role("link", name="Remove the filter Aetna")
    expect(chip).to_be_visible()
    expect(page.locator(".understood")).to_contain_text("“aetna” is searched as the insurer Aetna")
    expect(page.get_by_role("heading", level=1)).to_contain_text("taking Aetna")
    # The panel shows it ticked and the box no longer holds the word, so a new search
    # keeps the filter once, and removing the chip removes it for good.
    assert page.locator("input[name=insurer][value=aetna]").is_checked()
    assert page.locator("#q").input_value() == ""
    chip.click()
    assert "insurer" not in _args(page)
    expect(page.get_by_role("link", name="Remove the filter Aetna")).to_have_count(0)


@pytest.mark.parametrize(("typed", "name"), [("Alabama", "Alabama"), ("AL", "Alabama")])
def test_a_state_alone_lists_its_clinics_and_telehealth_programs(
    new_page, browser_problems, typed, name
):
    page = new_page(viewport=VIEWPORTS["phone"])
    page.goto("/")
    page.get_by_label("Where: ZIP code or city, state").fill(typed)
    page.get_by_role("button", name="Search", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"in {name}")
    places = page.locator("#results-list .card-place").all_inner_texts()
    assert places and all(re.match(r"^.+, AL$", p) for p in places), places
    expect(page.get_by_role("heading", name=f"Telehealth programs serving {name}")).to_be_visible()
    expect(page.locator("#results-list .distance")).to_have_count(0)


@pytest.mark.parametrize("size", list(VIEWPORTS))
def test_back_to_your_results_restores_the_search_filters_and_page(
    new_page, browser_problems, size
):
    page = new_page(viewport=VIEWPORTS[size])
    search = "/search?where=Phoenix%2C+AZ&radius=100&modality=iv&sort=price&page=2&per_page=2"
    page.goto(search)
    before = _args(page)
    with page.expect_navigation():
        page.locator("#results-list .card-title a").first.click()
    page.get_by_role("link", name=re.compile("Back to your results")).first.click()
    assert _args(page) == before
    expect(page.get_by_role("heading", level=1)).to_contain_text("IV infusion within 100 miles")


@pytest.mark.usefixtures("axe_available")
@pytest.mark.parametrize("size", list(VIEWPORTS))
def test_understood_searches_have_no_wcag_violations(new_page, browser_problems, size):
    page = new_page(viewport=VIEWPORTS[size])
    found = {}
    for url in [
        "/search?q=depresion",
        "/search?q=aetna&where=Phoenix%2C+AZ&radius=250",
        "/search?q=ptsd&where=Phoenix%2C+AZ",
        "/search?where=Alabama&accepting=1",
        "/search?where=33.45,-112.07",
    ]:
        page.goto(url)
        found[url] = _axe(page)
    if size == "phone":
        page.get_by_text("Edit search", exact=True).click()
        found["edit search opened"] = _axe(page)
    violations = {url: v for url, v in found.items() if v}
    assert not violations, violations
