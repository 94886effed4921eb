"""Trust labels in headless Chromium, on a phone and a desktop: a clinic page with a
checked, an out-of-date, a doubted and a stated credential and an old price shows
each label and mark on screen, nothing runs wider than the window, and axe-core
finds no WCAG violation there or on How we verify."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from directory.extensions import db
from directory.models import Clinic
from tests.helpers import add_check

from .axe import violations as _axe
from .conftest import DESKTOP, PHONE
from .layout import overflow

VIEWPORTS = {"phone": (PHONE[0], 800), "desktop": DESKTOP}


def _prepare(live_server) -> str:
    today = datetime.now(UTC).date()
    with live_server.app.app_context():
        days = live_server.app.config["CREDENTIAL_CHECK_DAYS"]
        clinic = db.session.scalars(
            db.select(Clinic).where(Clinic.status == "published", Clinic.kind != "telehealth")
        ).first()
        clinic.npi = "1234567893"
        clinic.clinician_npis = ["1528060837"]
        clinic.licenses = ["AZ MD 12345", "AZ RN 777"]
        clinic.offerings[0].price_confirmed_on = today - timedelta(days=300)
        checks = [
            ("organization_npi", "1234567893", "confirmed", "https://npiregistry.cms.hhs.gov/", 3),
            ("license", "AZ MD 12345", "confirmed", "Arizona board lookup 2026-0142", days + 30),
            ("license", "AZ RN 777", "not_confirmed", "No match in the board's lookup", 1),
        ]
        for kind, subject, outcome, reference, age in checks:
            source = "nppes" if kind.endswith("npi") else "state_board"
            add_check(clinic.id, kind, subject, outcome, source, reference, age)
        db.session.commit()
        return clinic.slug


@pytest.mark.parametrize("size", list(VIEWPORTS))
def test_trust_labels_are_on_screen_and_accessible(
    live_server, new_page, browser_problems, axe_available, size
):
    slug = _prepare(live_server)
    page = new_page(viewport=VIEWPORTS[size])
    page.goto(f"/clinics/{slug}")
    labels = page.locator(".credentials .trust-badge")
    assert labels.count() >= 4  # and REMS, where the clinic offers Spravato
    for words in (
        "Checked by the directory on",
        "Check out of date",
        "Could not be confirmed",
        "Stated by the clinic",
    ):
        badge = labels.filter(has_text=words).first
        badge.scroll_into_view_if_needed()
        expect(badge).to_be_visible()
    stale = page.locator(".prices .stale-mark").first
    stale.scroll_into_view_if_needed()
    expect(stale).to_contain_text("Not confirmed since")
    expect(page.locator("#prices-title + .section-date")).to_contain_text("Prices confirmed")
    assert overflow(page) == 0
    found = {"clinic page": _axe(page)}
    labels.filter(has_text="Check out of date").click()
    expect(page).to_have_url(f"{live_server.url}/how-we-verify#out-of-date")
    expect(page.locator("#out-of-date")).to_be_visible()
    assert overflow(page) == 0
    found["how we verify"] = _axe(page)
    assert found == {"clinic page": [], "how we verify": []}
