"""An editor's import in headless Chromium, on a phone and a desktop: upload a list,
read the dry run (new rows, a rejected row with its reason, a duplicate), import, watch
the progress bar reach the end; every page fits the window with no axe violation."""

from __future__ import annotations

import csv
import io
import random

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from directory.extensions import db
from directory.models import Clinic
from tests.helpers import make_user
from tests.test_imports import HEADERS, _clean

from .accounts import sign_in
from .axe import violations as _axe
from .conftest import DESKTOP, PHONE
from .layout import overflow

VIEWPORTS = {"phone": (PHONE[0], 800), "desktop": DESKTOP}
EMAIL = "imports@directory.test"


def _list(app) -> bytes:
    """Ten new clinics, one with a ZIP code that is not one, one the site already has."""
    rng = random.Random(3)
    rows = [_clean(rng, n) for n in range(11)]
    rows[10][4] = "7870"
    with app.app_context():
        clinic = db.session.scalars(
            select(Clinic).where(Clinic.status == "published", Clinic.phone != "").limit(1)
        ).one()
        rows.append(
            [clinic.name, clinic.street, clinic.city, clinic.state, clinic.postal_code]
            + [clinic.phone, "", "IV infusion", "400", "", ""]
        )
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADERS)
    writer.writerows(rows)
    return out.getvalue().encode()


@pytest.mark.parametrize("size", list(VIEWPORTS))
def test_an_editor_imports_a_list(live_server, new_page, browser_problems, axe_available, size):
    app = live_server.app
    make_user(app, EMAIL, "editor")
    with app.app_context():
        before = db.session.scalar(select(func.count(Clinic.id)))
    page = new_page(viewport=VIEWPORTS[size])
    sign_in(page, EMAIL)
    found: dict[str, list[str]] = {}

    page.goto("/admin/imports/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Import a list of clinics")
    assert overflow(page) == 0
    found["upload"] = _axe(page)
    page.get_by_label("The list (.csv or .xlsx)").set_input_files(
        {"name": "clinics.csv", "mimeType": "text/csv", "buffer": _list(app)}
    )
    page.get_by_role("button", name="Upload and check").click()

    expect(page.locator('[data-outcome="new"]')).to_have_text("10")
    expect(page.locator('[data-outcome="rejected"]')).to_have_text("1")
    expect(page.locator('[data-outcome="duplicate"]')).to_have_text("1")
    expect(page.locator('tr[data-line="12"]')).to_contain_text("Enter a 5-digit ZIP code.")
    expect(page.get_by_label("ZIP")).to_have_value("postal_code")
    assert overflow(page) == 0
    found["report"] = _axe(page)

    page.get_by_role("button", name="Import 10 listings").click()
    expect(page.get_by_role("heading", name="Import done")).to_be_visible(timeout=20_000)
    expect(page.locator("#import-progress")).to_have_attribute("value", "10")
    expect(page.locator("#import-progress-text")).to_contain_text("10 new")
    assert overflow(page) == 0
    found["done"] = _axe(page)
    with app.app_context():
        assert db.session.scalar(select(func.count(Clinic.id))) == before + 10
    assert found == {"upload": [], "report": [], "done": []}
