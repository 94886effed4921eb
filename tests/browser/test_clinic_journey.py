"""Issue 3's acceptance test: a clinic's price change travels from sign-up to the patient.

Everything happens through the real UI in headless Chromium, against a live server:
a clinic signs up, confirms its email from the link in the outbox, claims its
published listing, an editor (another browser profile) approves the claim, the
clinic changes its IV price, the editor approves the edit, and patients see the
new price in the search results page and in the JSON API. The database is read
only to check outcomes; the editor account comes from the real `flask users create`.
"""

from __future__ import annotations

import re
from urllib.parse import urlencode, urlsplit

from playwright.sync_api import Locator, Page, expect
from sqlalchemy import select

from directory.extensions import db
from directory.models import Clinic, Ownership, Revision, User
from tests.helpers import PASSWORD

from .accounts import sign_in
from .conftest import PHONE, mail_links

EDITOR_EMAIL = "editor@directory.test"
SLUG = "juniper-valley-ketamine-center-juneau"  # demo clinic: Juneau, AK; IV $650–$750
NAME = "Juniper Valley Ketamine Center"
WORK_EMAIL = "dana@juniper-valley-ketamine-center-juneau.example"  # the website's domain
OLD_IV, NEW_IV = "$650–$750", "$595–$695"


def iv_price_in_results(page: Page, where: str) -> Locator:
    """The IV line of our clinic's card on the patient results page."""
    page.goto("/search?" + urlencode({"where": where}))
    card = page.get_by_role("article", name=NAME)
    prices = card.get_by_role("list", name="Treatments and prices")
    return prices.get_by_role("listitem").filter(has_text="IV infusion")


def test_clinic_claims_listing_and_changes_price_through_moderation(
    live_server, new_page, browser_problems
):
    app = live_server.app
    with app.app_context():
        clinic = db.session.scalars(select(Clinic).where(Clinic.slug == SLUG)).one()
        clinic_id, version = clinic.id, clinic.version
        assert clinic.status == "published" and clinic.name == NAME
    live_server.cli(
        "users", "create", "--email", EDITOR_EMAIL, "--role", "editor", "--password", PASSWORD
    )

    # A patient sees the listed price before anything happens.
    patient = new_page(viewport=PHONE)
    expect(iv_price_in_results(patient, "Juneau, AK")).to_contain_text(OLD_IV)

    # 1. The clinic signs up.
    clinic_page = new_page()
    clinic_page.goto("/account/sign-up")
    clinic_page.get_by_label("Email address").fill(WORK_EMAIL)
    clinic_page.get_by_label("Password", exact=True).fill(PASSWORD)
    clinic_page.get_by_label("Type the password again").fill(PASSWORD)
    clinic_page.get_by_role("button", name="Create account").click()
    expect(clinic_page.get_by_role("heading", name="Check your email")).to_be_visible()

    # 2. It confirms its address with the link from the mail (the outbox .eml file).
    mail = live_server.wait_for_mail(WORK_EMAIL)
    (link,) = [u for u in mail_links(mail) if "/account/verify/" in u]
    assert link.startswith(live_server.url + "/"), link  # built from SITE_URL
    clinic_page.goto(urlsplit(link).path)
    expect(clinic_page.get_by_role("heading", name="Email address confirmed")).to_be_visible()
    with app.app_context():
        user = db.session.scalars(select(User).where(User.email == WORK_EMAIL)).one()
        clinic_user_id = user.id
        assert user.role == "clinic" and user.is_verified

    # 3. It signs in and claims the published listing with its work email.
    sign_in(clinic_page, WORK_EMAIL)
    clinic_page.goto("/admin/claim/")
    clinic_page.get_by_label("Clinic name or city").fill("Juniper")
    clinic_page.get_by_role("button", name="Search").click()
    row = clinic_page.get_by_role("row").filter(has_text=NAME)
    row.get_by_role("link", name="Claim this listing").click()
    expect(clinic_page.get_by_role("heading", name=f"Claim “{NAME}”")).to_be_visible()
    clinic_page.get_by_label("Your work email").fill(WORK_EMAIL)
    clinic_page.get_by_label("How are you connected to this clinic?").fill(
        "I am the practice manager at Juniper Valley."
    )
    clinic_page.get_by_role("button", name="Send the claim").click()
    expect(clinic_page.get_by_text("Your claim is waiting for an editor.")).to_be_visible()
    expect(
        clinic_page.get_by_text("your email's domain matches the listing's website")
    ).to_be_visible()

    # 4. An editor, in a browser profile of their own, approves the claim.
    editor = new_page()
    sign_in(editor, EDITOR_EMAIL)
    editor.goto("/admin/moderation/")
    claim_row = editor.get_by_role("row").filter(has_text="Claim").filter(has_text=NAME)
    expect(claim_row).to_contain_text("domain matches website")
    claim_row.get_by_role("link").first.click()
    expect(editor.get_by_role("heading", name=f"Claim: {NAME}")).to_be_visible()
    expect(editor.get_by_text("The email's domain matches the website.")).to_be_visible()
    editor.get_by_role("button", name="Approve the claim (grant access)").click()
    expect(editor.get_by_text("Approved: the account now manages this listing.")).to_be_visible()
    with app.app_context():
        assert db.session.scalar(
            select(Ownership.id).where(
                Ownership.user_id == clinic_user_id, Ownership.clinic_id == clinic_id
            )
        )

    # 5. The clinic changes its IV price in the listing form.
    clinic_page.goto("/admin/my-listings/")
    clinic_page.get_by_role("link", name=NAME).click()
    clinic_page.get_by_role("link", name="Edit this listing").click()
    expect(clinic_page).to_have_url(re.compile(rf"/admin/my-listings/{clinic_id}/edit$"))
    iv = clinic_page.get_by_role("group", name="IV infusion")
    expect(iv.get_by_label("We offer this treatment")).to_be_checked()
    expect(iv.get_by_label("Lowest price per session (USD)")).to_have_value("650")
    iv.get_by_label("Lowest price per session (USD)").fill("595")
    iv.get_by_label("Highest price per session (USD)").fill("695")
    clinic_page.get_by_label("Note for the editor (optional)").fill("New prices from June.")
    clinic_page.get_by_role("button", name="Submit changes").click()
    expect(clinic_page.get_by_text("Your change is pending review")).to_be_visible()

    # Pending: patients still see the published price.
    expect(iv_price_in_results(patient, "Juneau, AK")).to_contain_text(OLD_IV)

    # 6. The editor reviews the diff and approves the edit.
    editor.goto("/admin/moderation/")
    edit_row = editor.get_by_role("row").filter(has_text="Edit").filter(has_text=NAME)
    edit_row.get_by_role("link").first.click()
    expect(editor.get_by_role("heading", name=f"Edit: {NAME}")).to_be_visible()
    expect(editor.get_by_text("New prices from June.")).to_be_visible()
    changes = editor.get_by_role("table")
    expect(changes).to_contain_text("595")
    editor.get_by_role("button", name="Approve and publish").click()
    expect(editor.get_by_text("Approved: the change is live.")).to_be_visible()
    with app.app_context():
        clinic = db.session.get(Clinic, clinic_id)
        assert clinic.version > version
        (iv_offer,) = [o for o in clinic.offerings if o.modality.code == "iv"]
        assert (iv_offer.price_min, iv_offer.price_max) == (595, 695)
        statuses = db.session.scalars(
            select(Revision.status).where(Revision.clinic_id == clinic_id)
        ).all()
        assert sorted(statuses) == ["approved", "approved"]

    # 7. Patients see the new price: results page (by city and by ZIP) and JSON API.
    for where in ("Juneau, AK", "99801"):
        line = iv_price_in_results(patient, where)
        expect(line).to_contain_text(NEW_IV)
        expect(line).not_to_contain_text(OLD_IV)

    api = patient.context.request
    response = api.get("/api/v1/search?" + urlencode({"where": "Juneau, AK"}))
    assert response.ok, response.status
    found = [r for r in response.json()["results"] if r["slug"] == SLUG]
    assert len(found) == 1, response.json()
    assert {m["code"]: (m["price_min"], m["price_max"]) for m in found[0]["modalities"]}["iv"] == (
        595,
        695,
    )

    response = api.get(f"/api/v1/clinics/{SLUG}")
    assert response.ok, response.status
    detail = response.json()
    iv_prices = [
        (m["price_min"], m["price_max"]) for m in detail["modalities"] if m["code"] == "iv"
    ]
    assert iv_prices == [(595, 695)]
    browser_problems.assert_clean()
