"""What a patient reads about trust on a clinic page, on SQLite and PostgreSQL.

Each credential's label is decided here from the dates the test wrote (today minus
so many days against the configured expiry), not by the code that renders it.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from directory.extensions import db
from directory.models import Clinic
from directory.public.template_helpers import long_date
from tests.helpers import add_check, plain

NPI = "1234567893"


def _today():
    return datetime.now(UTC).date()


def _trusted_listing(site) -> str:
    """Listing a with a checked NPI, an out-of-date licence check, a licence nobody
    could confirm, REMS only stated, and its first price 200 days old."""
    today = _today()
    with site.app.app_context():
        days = site.app.config["CREDENTIAL_CHECK_DAYS"]
        clinic = db.session.get(Clinic, site.a)
        clinic.npi = NPI
        clinic.licenses = ["AZ MD 12345", "AZ RN 777"]
        clinic.spravato_rems = True
        clinic.good_faith_estimate = True
        clinic.hours_confirmed_on = today - timedelta(days=3)
        clinic.insurance_confirmed_on = today - timedelta(days=5)
        first, *rest = clinic.offerings
        first.price_confirmed_on = today - timedelta(days=200)
        first.includes = ["monitoring", "consultation"]
        for offering in rest:
            offering.price_confirmed_on, offering.price_confirmed_how = today, "editor_call"
        rows = [
            ("organization_npi", NPI, "confirmed", "nppes", "https://npiregistry.cms.hhs.gov/", 10),
            ("license", "AZ MD 12345", "confirmed", "state_board", "AZ board lookup #88", days + 5),
            ("license", "AZ RN 777", "not_confirmed", "state_board", "no such licence", 2),
            ("organization_npi", "1528060837", "confirmed", "nppes", "an old number", 1),
        ]
        for row in rows:
            add_check(clinic.id, *row)
        db.session.commit()
        return clinic.slug


def _item(page: str, label: str) -> str:
    start = page.index(label)
    return page[start : page.index("</li>", start)]


def _words(html: str) -> str:
    """What a reader reads: tags dropped, spaces collapsed."""
    return " ".join(re.sub(r"<[^>]+>", "", html).split())


def test_each_credential_says_who_checked_it_against_what_and_when(site):
    slug = _trusted_listing(site)
    today = _today()
    days = site.app.config["CREDENTIAL_CHECK_DAYS"]
    whole = plain(site.app.test_client().get(f"/clinics/{slug}"))
    page = whole[whole.index('id="credentials-title"') :]
    checked = _item(page, f"Organization NPI {NPI}")
    assert 'href="https://npiregistry.cms.hhs.gov/"' in checked and "nofollow" in checked
    checked = _words(checked)
    assert f"Checked by the directory on {long_date(today - timedelta(days=10))}" in checked
    assert "against the NPPES NPI Registry" in checked
    due = _words(_item(page, "Physician (MD) licence, Arizona: 12345"))
    assert f"Check out of date: last checked {long_date(today - timedelta(days=days + 5))}" in due
    assert "Reference: AZ board lookup #88" in due
    doubted = _words(_item(page, "Registered nurse licence, Arizona: 777"))
    assert "Could not be confirmed" in doubted and long_date(today - timedelta(days=2)) in doubted
    stated = _item(page, "Spravato REMS certified")
    assert "Stated by the clinic, not yet checked" in stated
    assert "1528060837" not in page, "a check of a number the listing no longer states is not shown"
    for anchor in ("#checked", "#out-of-date", "#not-confirmed", "#stated"):
        assert f'/how-we-verify{anchor}"' in page, anchor
    assert "1528060837" not in whole


def test_prices_show_their_own_dates_and_old_ones_are_marked(site):
    slug = _trusted_listing(site)
    today = _today()
    page = _words(plain(site.app.test_client().get(f"/clinics/{slug}")))
    old = long_date(today - timedelta(days=200))
    assert f"Not confirmed since {old}: call to check the price" in page
    assert f"Prices confirmed {old}" in page, "the section's date is its oldest price's"
    assert "Consultation, Medical monitoring" in page or "Medical monitoring, Consultation" in page
    with site.app.app_context():
        several = len(db.session.get(Clinic, site.a).offerings) > 1
    if several:
        assert f"{long_date(today)} by the directory, by phone" in page
    assert f"(confirmed {long_date(today - timedelta(days=3))})" in page  # hours
    assert f"Confirmed {long_date(today - timedelta(days=5))}" in page  # insurance
    assert "Good Faith Estimate offered to self-pay patients" in page


def test_how_we_verify_states_the_configured_expiry_and_links_from_every_page(site):
    client = site.app.test_client()
    site.app.config["CREDENTIAL_CHECK_DAYS"] = 200
    page = plain(client.get("/how-we-verify"))
    assert "more than 200 days old" in page
    for anchor in ('id="stated"', 'id="checked"', 'id="out-of-date"', 'id="not-confirmed"'):
        assert anchor in page
    assert "What we do not check" in page and "No Surprises Act" in page
    assert 'href="/how-we-verify"' in plain(client.get("/"))
    for asset in ("http://", "https://"):
        assert f'src="{asset}' not in page and f'href="{asset}' not in page.split("<footer", 1)[0]
