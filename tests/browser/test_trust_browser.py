"""Trust labels in headless Chromium, on a phone and a desktop: a clinic page with a
checked, an out-of-date, a doubted and a stated credential and an old price shows
each label and mark on screen, nothing runs wider than the window, and axe-core
finds no WCAG violation there or on How we verify. In search, result cards carry
"Credentials checked" or "Checks out of date", and the "credentials checked" box
filters, with its chip to take it back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import expect

from directory.extensions import db
from directory.geo import US_STATES
from directory.models import Clinic
from directory.search import sync
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


def _two_in_a_state(live_server) -> tuple[str, str, str]:
    """The state with fewest (but two or more) published in-person clinics, and two of
    them: one checked last week, one whose only check ran out; re-indexed, as
    recording a check does. (state name, checked clinic, expired clinic)."""
    with live_server.app.app_context():
        days = live_server.app.config["CREDENTIAL_CHECK_DAYS"]
        clinics = db.session.scalars(
            db.select(Clinic)
            .where(Clinic.status == "published", Clinic.kind != "telehealth")
            .order_by(Clinic.id)
        ).all()
        by_state: dict[str, list[Clinic]] = {}
        for clinic in clinics:
            by_state.setdefault(clinic.state, []).append(clinic)
        state = min((s for s in by_state if len(by_state[s]) >= 2), key=lambda s: len(by_state[s]))
        pair = by_state[state][:2]
        for clinic, npi, age in zip(
            pair, ("1234567893", "1528060837"), (7, days + 20), strict=True
        ):
            clinic.npi = npi
            add_check(clinic.id, "organization_npi", npi, "confirmed", "nppes", "NPPES", age)
        db.session.commit()
        sync.refresh([c.id for c in pair])
        return US_STATES[state], pair[0].name, pair[1].name


@pytest.mark.parametrize("size", list(VIEWPORTS))
def test_results_say_which_checks_are_current_and_the_filter_keeps_those(
    live_server, new_page, browser_problems, axe_available, size
):
    state, checked, expired = _two_in_a_state(live_server)
    page = new_page(viewport=VIEWPORTS[size])
    page.goto(f"/search?where={state}")
    card = page.locator("article.card").filter(has_text=checked)
    old = page.locator("article.card").filter(has_text=expired)
    expect(card.locator(".badge-checked")).to_have_text("Credentials checked")
    expect(old.locator(".badge-checks-old")).to_have_text("Checks out of date")
    assert overflow(page) == 0
    found = {"results": _axe(page)}
    box = page.get_by_label("Only listings whose credentials we checked")
    if not box.is_visible():
        page.locator("details.filters > summary").click()
    box.check()
    page.get_by_role("button", name="Apply filters").click()
    args = parse_qs(urlsplit(page.url).query)
    assert args["checked"] == ["1"] and args["where"] == [state]
    expect(page.get_by_role("heading", level=1)).to_contain_text("with credentials checked")
    cards = page.locator("article.card")
    expect(cards.filter(has_text=checked)).to_have_count(1)
    expect(cards.filter(has_text=expired)).to_have_count(0)
    assert cards.locator(".badge-checked").count() == cards.count()
    chip = page.get_by_role("link", name="Remove the filter Credentials checked")
    expect(chip).to_be_visible()
    assert overflow(page) == 0
    found["filtered"] = _axe(page)
    chip.click()
    assert "checked" not in parse_qs(urlsplit(page.url).query)
    expect(page.locator("article.card").filter(has_text=expired)).to_have_count(1)
    assert found == {"results": [], "filtered": []}
