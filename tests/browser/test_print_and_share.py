"""Printing and sharing a search or a clinic, in headless Chromium.

Print (static/css/print.css, media="print"): names, places, phones and prices stay,
black on white; the navigation, search form, filters, map and buttons go; a PDF
comes out. "Copy link" (static/js/copy_link.js): the clipboard holds exactly the
page's address, "Link copied" is announced; a refused clipboard leaves the address
selected in a read-only field; without JavaScript there is no button. axe-core at
360x800 and 1280x900.
"""

from __future__ import annotations

import re
from urllib.parse import urlencode

import pytest
from playwright.sync_api import Page, expect

from .axe import violations as _axe
from .conftest import DESKTOP, PHONE

VIEWPORTS = {"phone": (PHONE[0], 800), "desktop": DESKTOP}
SLUG = "juniper-valley-ketamine-center-juneau"
NAME = "Juniper Valley Ketamine Center"
SEARCH = "/search?" + urlencode(
    {"where": "Juneau, AK", "radius": "500", "modality": "iv", "sort": "price", "page": "1"}
)
# Pretend the browser refuses clipboard access (a permission prompt declined).
REFUSE_CLIPBOARD = """
Object.defineProperty(navigator, "clipboard", {value: {
  writeText: () => Promise.reject(new DOMException("refused", "NotAllowedError")),
}});
"""


def _colour(page: Page, selector: str, prop: str) -> str:
    return page.evaluate(
        "([s, p]) => getComputedStyle(document.querySelector(s))[p]", [selector, prop]
    )


# -- print -----------------------------------------------------------------------------------
def test_results_print_names_phones_and_prices_without_the_controls(page, browser_problems):
    page.goto(SEARCH)
    card = page.get_by_role("article", name=NAME)
    on_screen = [".site-nav", ".filters-panel", ".results-bar", ".skip-link", ".copy-link"]
    expect(page.locator(".site-nav")).to_be_visible()
    expect(page.locator(".filters-panel")).to_be_visible()
    expect(page.locator(".copy-link")).to_be_visible()
    page.emulate_media(media="print")
    for selector in [*on_screen, ".map-panel", ".search-edit", ".card-compare"]:
        expect(page.locator(selector).first).to_be_hidden()
    expect(card.get_by_role("heading", name=NAME)).to_be_visible()
    expect(card.get_by_text(re.compile(r"Call \(\d{3}\) 555-\d{4}"))).to_be_visible()
    expect(card.get_by_role("list", name="Treatments and prices")).to_contain_text("$")
    expect(card.locator(".card-foot")).to_contain_text(re.compile(r"[Vv]erified"))
    website = card.locator("a.card-website")
    href = website.get_attribute("href")
    after = website.evaluate("(a) => getComputedStyle(a, '::after').content")
    assert href and href in after, after
    assert _colour(page, "body", "color") == "rgb(0, 0, 0)"
    assert _colour(page, "body", "backgroundColor") == "rgb(255, 255, 255)"
    assert _colour(page, ".card-title a", "color") == "rgb(0, 0, 0)"
    pdf = page.pdf(format="Letter")
    assert pdf.startswith(b"%PDF") and len(pdf) > 2000


def test_a_clinic_prints_its_contact_prices_and_verified_date(page, browser_problems):
    page.goto(f"/clinics/{SLUG}")
    expect(page.get_by_role("heading", name=NAME, level=1)).to_be_visible()
    page.emulate_media(media="print")
    for selector in [".site-nav", ".back-link", ".copy-link", ".compare-toggle", ".skip-link"]:
        expect(page.locator(selector).first).to_be_hidden()
    shown = "(els) => els.filter((e) => e.getClientRects().length > 0).length"
    assert page.locator("button, .button:not(.contact-links .button)").count() > 0
    assert page.locator("button").evaluate_all(shown) == 0
    expect(page.get_by_role("heading", name=NAME, level=1)).to_be_visible()
    expect(page.locator("address")).to_contain_text("Juneau, AK")
    expect(page.get_by_text(re.compile(r"Call \(\d{3}\) 555-\d{4}"))).to_be_visible()
    expect(page.get_by_role("table")).to_contain_text("IV infusion")
    expect(page.locator(".verified-line")).to_be_visible()
    expect(page.locator("#report-title")).to_be_hidden()
    assert _colour(page, "h1", "color") == "rgb(0, 0, 0)"
    pdf = page.pdf(format="Letter")
    assert pdf.startswith(b"%PDF") and len(pdf) > 2000


# -- copy link -------------------------------------------------------------------------------
@pytest.mark.parametrize("size", list(VIEWPORTS))
def test_copy_link_puts_the_exact_address_on_the_clipboard(
    live_server, new_context, browser_problems, axe_available, size
):
    context = new_context(viewport=VIEWPORTS[size])
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    page = context.new_page()
    found = {}
    for address, what in ((SEARCH, "search"), (f"/clinics/{SLUG}?from=/search", "clinic page")):
        page.goto(address)
        status = page.locator("[data-copy-status]")
        button = page.get_by_role("button", name=f"Copy link to this {what}")
        expect(button).to_be_visible()
        expect(status).to_have_attribute("role", "status")
        found[what] = _axe(page)
        button.click()
        expect(status).to_have_text("Link copied")
        copied = page.evaluate("navigator.clipboard.readText()")
        assert copied == page.url == live_server.url + address, (copied, page.url)
        expect(page.get_by_label(f"Link to this {what}")).to_be_hidden()
        found[what + " after copying"] = _axe(page)
    assert not {k: v for k, v in found.items() if v}, found


def test_a_refused_clipboard_leaves_the_address_selected_to_copy_by_hand(
    new_context, browser_problems
):
    context = new_context(viewport=VIEWPORTS["phone"])
    context.add_init_script(REFUSE_CLIPBOARD)
    page = context.new_page()
    page.goto(SEARCH)
    page.get_by_role("button", name="Copy link to this search").click()
    expect(page.locator("[data-copy-status]")).to_contain_text("copy it")
    field = page.get_by_label("Link to this search")
    expect(field).to_be_visible()
    expect(field).to_be_focused()
    expect(field).to_have_value(page.url)
    expect(field).to_have_attribute("readonly", "")
    selected = field.evaluate("(f) => [f.selectionStart, f.selectionEnd]")
    assert selected == [0, len(page.url)]
    assert page.evaluate("Math.max(0, document.documentElement.scrollWidth - innerWidth)") == 0


def test_without_javascript_there_is_no_copy_button(new_context, browser_problems):
    page = new_context(java_script_enabled=False).new_page()
    page.goto(SEARCH)
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    expect(page.get_by_role("button", name="Copy link to this search")).to_have_count(0)
