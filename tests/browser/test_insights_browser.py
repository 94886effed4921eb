"""Insights in headless Chromium: a patient opens a listing and taps its phone number,
and both are counted without any cookie or stored identifier; the clinic then reads
the counts on its insights page, which fits a phone and a desktop with no axe
violation."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from directory.extensions import db
from directory.models import Clinic, ListingCount
from tests.helpers import make_user

from .accounts import sign_in
from .axe import violations as _axe
from .conftest import DESKTOP, PHONE
from .layout import overflow

VIEWPORTS = {"phone": (PHONE[0], 800), "desktop": DESKTOP}
EMAIL = "counts@clinic.example"


def _counts(app, clinic_id: int) -> dict[str, int]:
    month = datetime.now(UTC).date().replace(day=1)
    with app.app_context():
        rows = db.session.scalars(
            select(ListingCount).where(
                ListingCount.clinic_id == clinic_id, ListingCount.month == month
            )
        )
        return {row.kind: row.count for row in rows}


def _wait_for(app, clinic_id: int, wanted: dict[str, int], seconds: float = 15.0) -> dict:
    """A beacon's answer can reach the browser before the test reads the table on a
    loaded machine: poll the table until the counts land."""
    deadline = time.monotonic() + seconds
    while True:
        found = _counts(app, clinic_id)
        if all(found.get(k, 0) >= n for k, n in wanted.items()) or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def _no_identifier(page: Page) -> None:
    assert page.context.cookies() == []
    assert page.evaluate("document.cookie") == ""
    assert page.evaluate("window.localStorage.length") == 0
    assert page.evaluate("window.sessionStorage.length") == 0


@pytest.mark.parametrize("size", list(VIEWPORTS))
def test_a_view_and_a_phone_tap_are_counted_and_nothing_identifies_the_patient(
    live_server, new_page, browser_problems, axe_available, size
):
    app = live_server.app
    with app.app_context():
        clinic = db.session.scalars(
            select(Clinic)
            .where(Clinic.status == "published", Clinic.phone != "")
            .order_by(Clinic.id)
        ).first()
        clinic_id, slug, name = clinic.id, clinic.slug, clinic.name
    # Chromium has no handler for tel: links in a headless run and says so.
    browser_problems.allow_console_error(r"tel:")
    page = new_page(viewport=VIEWPORTS[size])
    beacons: list[str] = []
    page.on("request", lambda r: beacons.append(r.url) if "/count/" in r.url else None)
    with page.expect_response(re.compile(r"/count/view\?")) as viewed:
        page.goto(f"/clinics/{slug}")
    assert viewed.value.status == 204
    assert _wait_for(app, clinic_id, {"view": 1}) == {"view": 1}
    call = page.locator(f'a[data-count="phone"][data-clinic="{clinic_id}"]')
    call.scroll_into_view_if_needed()
    # The tap's own navigation (to the phone's dialler) is cancelled so the page stays.
    page.evaluate(
        "document.addEventListener('click', e => { if (e.target.closest('a[href^=\"tel:\"]'))"
        " e.preventDefault(); })"
    )
    # The beacon itself is awaited: if the tap sent none, this says so at once.
    with page.expect_response(re.compile(r"/count/phone\?")) as tapped:
        call.click()
    assert tapped.value.status == 204
    assert _wait_for(app, clinic_id, {"view": 1, "phone": 1}) == {"view": 1, "phone": 1}
    _no_identifier(page)
    # What left the browser: listing numbers only.
    assert beacons and all(re.search(r"/count/(view|phone)\?c=\d+$", url) for url in beacons)

    make_user(app, EMAIL, owns=[clinic_id])
    owner = new_page(viewport=VIEWPORTS[size])
    sign_in(owner, EMAIL)
    owner.goto(f"/admin/my-listings/{clinic_id}/")
    owner.get_by_role("link", name="How patients found you").click()
    expect(owner.get_by_role("heading", level=1)).to_have_text(f"How patients found {name}")
    month = datetime.now(UTC).date().replace(day=1).isoformat()
    row = owner.locator(f'tr[data-month="{month}"]')
    expect(row.locator('td[data-kind="view"]')).to_have_text("1")
    expect(row.locator('td[data-kind="phone"]')).to_have_text("1")
    expect(owner.locator("figure.insights-chart svg")).to_be_visible()
    assert overflow(owner) == 0
    assert _axe(owner) == []
