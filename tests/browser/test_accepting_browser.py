"""The "accepting new patients" checkbox and a whole-state search in headless Chromium,
on a phone and on a desktop: ticked and applied it filters, its chip takes it back,
and axe-core finds no WCAG violation on either page."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Page, expect

from .axe import violations as _axe
from .conftest import DESKTOP, PHONE

VIEWPORTS = {"phone": (PHONE[0], 800), "desktop": DESKTOP}
LABEL = "Only clinics accepting new patients"


def _args(page: Page) -> dict[str, list[str]]:
    return parse_qs(urlsplit(page.url).query)


@pytest.mark.parametrize("size", list(VIEWPORTS))
def test_tick_apply_and_remove_the_accepting_filter(
    new_page, browser_problems, axe_available, size
):
    page = new_page(viewport=VIEWPORTS[size])
    page.goto("/search?where=Alabama")
    expect(page.get_by_role("heading", level=1)).to_contain_text("in Alabama")
    found = {"a whole state": _axe(page)}
    box = page.get_by_label(LABEL)
    if not box.is_visible():
        page.locator("details.filters > summary").click()
    box.check()
    page.get_by_role("button", name="Apply filters").click()
    assert _args(page)["accepting"] == ["1"] and _args(page)["where"] == ["Alabama"]
    expect(page.get_by_role("heading", level=1)).to_contain_text("accepting new patients")
    expect(page.get_by_label(LABEL)).to_be_checked()
    chip = page.get_by_role("link", name="Remove the filter Accepting new patients")
    expect(chip).to_be_visible()
    found["with the filter"] = _axe(page)
    chip.click()
    assert "accepting" not in _args(page) and _args(page)["where"] == ["Alabama"]
    expect(page.get_by_label(LABEL)).not_to_be_checked()
    assert found == {"a whole state": [], "with the filter": []}
