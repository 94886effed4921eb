"""The clinic area on a phone (360x800) and a desktop (1280x900), in headless Chromium.

A clinic user signs in, opens My listings, edits the listing (ticking a language by
name) and sends it, then opens My submissions. On every page: nothing wider than
the screen, the controls that matter on screen and big enough for a thumb, and no
axe-core WCAG 2.1 A/AA violation.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Locator, Page, expect
from sqlalchemy import select

from directory.extensions import db
from directory.models import Clinic
from tests.helpers import make_user

from .accounts import sign_in
from .axe import violations as _axe
from .conftest import DESKTOP, PHONE
from .layout import overflow

VIEWPORTS = {"phone": (PHONE[0], 800), "desktop": DESKTOP}
SLUG = "juniper-valley-ketamine-center-juneau"
NAME = "Juniper Valley Ketamine Center"
EMAIL = "manager@juniper.example"
THUMB = 44  # px: the height a phone's buttons get


def _wider_than_window(page: Page) -> list[str]:
    """What sticks out past the window's right edge, for the failure message (a page
    that overflowed once in CI could not be caught again by hand)."""
    return page.evaluate(
        """() => [...document.querySelectorAll('body *')]
        .map(e => [e, e.getBoundingClientRect()])
        .filter(([e, r]) => r.right > window.innerWidth + 0.5)
        .slice(0, 10)
        .map(([e, r]) => `${e.tagName}.${e.className} ${Math.round(r.left)}-${Math.round(r.right)}`
          + ` ${(e.textContent || '').trim().slice(0, 40)}`)"""
    )


def _thumb_sized(control: Locator, phone: bool) -> None:
    expect(control).to_be_visible()
    box = control.bounding_box()
    assert box is not None
    if phone:
        assert box["height"] >= THUMB - 0.5, box


@pytest.mark.parametrize("size", list(VIEWPORTS))
def test_clinic_area_fits_the_screen_and_passes_axe(
    live_server, new_page, browser_problems, axe_available, size
):
    with live_server.app.app_context():
        clinic_id = db.session.scalars(select(Clinic.id).where(Clinic.slug == SLUG)).one()
    make_user(live_server.app, EMAIL, owns=[clinic_id])
    phone = size == "phone"
    page = new_page(viewport=VIEWPORTS[size])
    sign_in(page, EMAIL)
    found: dict[str, list[str]] = {}

    # The navigation: on a phone one menu button under the site's name, opening the menu.
    my_clinic = page.get_by_role("link", name="My clinic")
    expect(page.get_by_role("link", name="Directory admin")).to_be_visible()
    if phone:
        expect(my_clinic).to_be_hidden()
        menu = page.get_by_role("button", name="Menu")
        _thumb_sized(menu, phone)
        menu.click()
    expect(my_clinic).to_be_visible()
    assert overflow(page) == 0

    # My listings: the listing, its status and its actions, inside the screen.
    page.goto("/admin/my-listings/")
    expect(page.get_by_role("heading", name="My listings")).to_be_visible()
    row = page.locator(f'tr[data-clinic="{clinic_id}"]')
    expect(row.get_by_role("link", name=NAME)).to_be_visible()
    expect(row.locator('td[data-label="Last verified"]')).to_be_visible()
    _thumb_sized(row.get_by_role("link", name="Edit"), phone)
    _thumb_sized(row.get_by_role("button", name="Still accurate"), phone)
    assert overflow(page) == 0, ("My listings", _wider_than_window(page))
    found["my listings"] = _axe(page)

    # The listing form: full-width fields, languages ticked by name, a thumb-sized send.
    row.get_by_role("link", name="Edit").click()
    expect(page.get_by_role("heading", name=f"Edit {NAME}")).to_be_visible()
    assert overflow(page) == 0, ("the listing form", _wider_than_window(page))
    if phone:  # one field a line, as wide as the form
        for label in ("Name", "City", "ZIP code", "Phone"):
            field = page.get_by_label(label, exact=True).bounding_box()
            form = page.locator("form.listing-form").bounding_box()
            assert field and form and field["width"] >= form["width"] - 1, label
    languages = page.get_by_role("group", name="Languages")
    expect(languages.get_by_label("English", exact=True)).to_be_checked()
    vietnamese = languages.get_by_label("Vietnamese", exact=True)
    expect(vietnamese).not_to_be_checked()
    vietnamese.check()
    states = page.get_by_role("group", name="States served (telehealth)")
    expect(states.get_by_role("checkbox").first).to_have_accessible_name("Alabama (AL)")
    found["listing form"] = _axe(page)
    send = page.get_by_role("button", name="Submit changes")
    _thumb_sized(send, phone)
    send.click()
    expect(page.get_by_text("Your change is pending review")).to_be_visible()
    assert overflow(page) == 0, ("the listing page", _wider_than_window(page))
    found["listing"] = _axe(page)

    # My submissions: the pending edit, with its status and a Withdraw button.
    page.goto("/admin/submissions/")
    expect(page.get_by_role("heading", name="My submissions")).to_be_visible()
    (pending,) = page.locator("tr[data-revision]").all()
    expect(pending).to_contain_text(NAME)
    expect(pending).to_contain_text("pending")
    _thumb_sized(pending.get_by_role("button", name="Withdraw"), phone)
    assert overflow(page) == 0, ("My submissions", _wider_than_window(page))
    found["my submissions"] = _axe(page)

    pending.get_by_role("link").first.click()
    expect(page.get_by_role("heading", name=re.compile(r"^Submission #"))).to_be_visible()
    expect(page.get_by_role("table")).to_contain_text("Vietnamese")
    assert overflow(page) == 0, ("a submission", _wider_than_window(page))
    found["submission"] = _axe(page)

    assert not {k: v for k, v in found.items() if v}, found
