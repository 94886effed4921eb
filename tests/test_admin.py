"""The admin: role checks, the clinic area, moderation, model views, the theme's assets.

Every test runs on SQLite and PostgreSQL (`fresh_app`), with CSRF protection on:
each POST carries a token read from a page the same client fetched.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urljoin, urlsplit

from flask_admin.contrib.sqla import ModelView
from sqlalchemy import func, select

from directory.admin.forms import OFFER_PREFIX
from directory.extensions import db
from directory.listings.records import clinic_record
from directory.mail import outbox_messages
from directory.models import AuditEvent, Clinic, Condition, Insurer, Revision, User
from tests.helpers import (
    client_for,
    count,
    csrf_token,
    decide,
    field_block,
    iv_price_in_search,
    last_revision,
    listing_post,
    lock_of,
    make_user,
    pending_edit,
    plain,
    post,
    record_of,
    submit_edit,
    text,
    with_iv_price,
)

# -- who may open what ----------------------------------------------------------------------
STAFF_URLS = [
    "/admin/moderation/",
    "/admin/moderation/1/",
    "/admin/checks/",
    "/admin/checks/1/",
    "/admin/insights/",
    "/admin/invitations/",
    "/admin/imports/",
    "/admin/clinics/",
    "/admin/clinics/edit/?id=1",
    "/admin/clinics/details/?id=1",
    "/admin/modalities/",
    "/admin/conditions/",
    "/admin/insurers/",
    "/admin/payment-options/",
    "/admin/users/",
    "/admin/users/edit/?id=1",
    "/admin/audit/",
]
CLINIC_URLS = [
    "/admin/",
    "/admin/my-listings/",
    "/admin/my-listings/1/",
    "/admin/my-listings/1/edit",
    "/admin/new-listing/",
    "/admin/claim/",
    "/admin/claim/1",
    "/admin/submissions/",
    "/admin/submissions/1/",
]


def test_anonymous_visitors_are_sent_to_sign_in(site):
    client = site.app.test_client()
    for url in [*CLINIC_URLS, *STAFF_URLS, "/account/"]:
        response = client.get(url)
        assert response.status_code == 302, url
        location = urlsplit(response.headers["Location"])
        assert location.path == "/account/sign-in", url
        assert "next=" in location.query and location.netloc in ("", "directory.test"), url
    # Posts with a valid CSRF token (from a public form) change nothing either.
    token = csrf_token(client, "/account/sign-in")
    pending = submit_edit(
        site,
        client_for(site.app, site.clinic_user),
        record_of(site.app, site.a) | {"hours": "Mon-Fri 9-5"},
    )
    assert pending.status_code == 302
    revision = last_revision(site.app)
    for url in (
        f"/admin/moderation/{revision.id}/approve",
        f"/admin/moderation/{revision.id}/reject",
        f"/admin/submissions/{revision.id}/withdraw",
        f"/admin/my-listings/{site.a}/verify",
        f"/admin/clinics/edit/?id={site.a}",
        f"/admin/checks/{site.a}/record/0",
        f"/admin/checks/{site.a}/confirm",
    ):
        response = client.post(url, data={"csrf_token": token, "lock_version": "1", "reason": "x"})
        assert response.status_code in (302, 403), url
        assert urlsplit(response.headers.get("Location", "")).path in ("", "/account/sign-in")
    assert last_revision(site.app).status == "pending"


def test_clinic_users_get_403_on_editor_views(site):
    client = client_for(site.app, site.clinic_user)
    for url in STAFF_URLS:
        assert client.get(url).status_code == 403, url
    token = csrf_token(client, f"/admin/my-listings/{site.a}/edit")
    for url in (
        "/admin/moderation/1/approve",
        "/admin/moderation/1/reject",
        "/admin/clinics/edit/?id=1",
        "/admin/checks/1/record/0",
        "/admin/checks/1/confirm",
    ):
        assert client.post(url, data={"csrf_token": token, "lock_version": "1"}).status_code == 403
    home = text(client.get("/admin/"))
    assert "My listings" in home and "Claim a listing" in home
    assert "/admin/moderation/" not in home and "/admin/users/" not in home


def test_deactivated_accounts_are_refused(site):
    client = client_for(site.app, site.editor)
    assert client.get("/admin/moderation/").status_code == 200
    with site.app.app_context():
        db.session.get(User, site.editor).active = False
        db.session.commit()
    response = client.get("/admin/moderation/")
    assert response.status_code == 302  # Flask-Login treats an inactive user as signed out
    assert urlsplit(response.headers["Location"]).path == "/account/sign-in"


def test_editor_menu_and_home_show_the_queue(site):
    client = client_for(site.app, site.editor)
    for url in STAFF_URLS:
        expected = 404 if url == "/admin/moderation/1/" else 200  # no revision yet
        assert client.get(url).status_code == expected, url
    home = text(client.get("/admin/"))
    assert "Waiting for review" in home
    for link in ("/admin/moderation/", "/admin/clinics/", "/admin/users/", "/admin/audit/"):
        assert link in home
    assert "/admin/my-listings/" not in home  # the clinic area is not in staff menus


def test_clinic_user_cannot_reach_other_listings_or_revisions(site):
    owner = client_for(site.app, site.clinic_user)
    other = client_for(site.app, site.other_user)
    # the other clinic's user submits something the owner must never see
    response = post(
        other, f"/admin/my-listings/{site.b}/verify", {}, f"/admin/my-listings/{site.b}/edit"
    )
    assert response.status_code == 302
    edit = with_iv_price(record_of(site.app, site.b), 999)
    url = f"/admin/my-listings/{site.b}/edit"
    assert post(other, url, listing_post(edit), url).status_code == 302
    foreign = last_revision(site.app, Revision.author_id == site.other_user)

    token = csrf_token(owner, f"/admin/my-listings/{site.a}/edit")
    for clinic_id in [*site.ids, max(site.ids) + 1, 0]:
        if clinic_id == site.a:
            continue
        assert owner.get(f"/admin/my-listings/{clinic_id}/").status_code == 404
        assert owner.get(f"/admin/my-listings/{clinic_id}/edit").status_code == 404
        data = {**listing_post(record_of(site.app, site.a)), "csrf_token": token}
        assert owner.post(f"/admin/my-listings/{clinic_id}/edit", data=data).status_code == 404
        assert (
            owner.post(
                f"/admin/my-listings/{clinic_id}/verify", data={"csrf_token": token}
            ).status_code
            == 404
        )
    for revision_id in range(1, foreign.id + 3):
        assert owner.get(f"/admin/submissions/{revision_id}/").status_code == 404
        response = owner.post(
            f"/admin/submissions/{revision_id}/withdraw", data={"csrf_token": token}
        )
        assert response.status_code == 404
    assert last_revision(site.app, Revision.id == foreign.id).status == "pending"
    assert f'data-revision="{foreign.id}"' not in text(owner.get("/admin/submissions/"))
    # a listing the user already manages cannot be claimed (it is not offered either)
    assert owner.get(f"/admin/claim/{site.a}").status_code == 404
    assert owner.get(f"/admin/claim/{site.b}").status_code == 200


def test_tampered_hidden_fields_only_reach_the_owned_listing(site):
    owner = client_for(site.app, site.clinic_user)
    before_b = record_of(site.app, site.b)
    edit = with_iv_price(record_of(site.app, site.a), 700)
    response = submit_edit(
        site, owner, edit, clinic_id=str(site.b), id=str(site.b), slug="stolen", status="published"
    )
    assert response.status_code == 302
    assert count(site.app, Revision, Revision.clinic_id == site.b) == 0
    revision = last_revision(site.app)
    assert revision.clinic_id == site.a and revision.kind == "edit"
    assert "status" not in revision.payload and "slug" not in revision.payload
    assert record_of(site.app, site.b) == before_b


# -- the clinic's edit, the editor's decision -------------------------------------------------
def test_clinic_edit_waits_for_review_then_goes_live(site):
    owner = client_for(site.app, site.clinic_user)
    editor = client_for(site.app, site.editor)
    public = site.app.test_client()
    live = record_of(site.app, site.a)
    assert iv_price_in_search(public, site.a) == 650

    response = submit_edit(site, owner, with_iv_price(live, 540, 600), note="New prices for 2027")
    assert response.status_code == 302
    page = text(owner.get(response.headers["Location"]))
    assert "Your change is pending review" in page
    revision = last_revision(site.app)
    assert (revision.kind, revision.status, revision.base_version) == ("edit", "pending", 1)
    assert record_of(site.app, site.a) == live
    assert iv_price_in_search(public, site.a) == 650

    queue = text(editor.get("/admin/moderation/"))
    assert f'data-revision="{revision.id}"' in queue and "owner@juniper.example" in queue
    home = text(editor.get("/admin/"))
    assert re.search(r'data-kind="edit">.*?>(\d+)</a>', home, re.S)[1] == "1"
    detail = text(editor.get(f"/admin/moderation/{revision.id}/"))
    row = field_block(detail, "offerings.iv.price_min")
    assert "650" in row and "540" in row and "IV infusion" in row
    assert "New prices for 2027" in detail

    page = text(decide(editor, revision.id, "approve", revision.lock_version))
    assert "Approved" in page
    assert record_of(site.app, site.a)["offerings"] == with_iv_price(live, 540, 600)["offerings"]
    assert iv_price_in_search(public, site.a) == 540
    with site.app.app_context():
        event = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "edit_approved")
        ).one()
        assert event.actor_id == site.editor and event.revision_id == revision.id
        iv_before = next(o for o in event.before["offerings"] if o["modality"] == "iv")
        iv_after = next(o for o in event.after["offerings"] if o["modality"] == "iv")
        assert (iv_before["price_min"], iv_after["price_min"]) == (650, 540)
    mails = [m for m in outbox_messages(site.app) if m["To"] == "owner@juniper.example"]
    assert len(mails) == 1, "the author is told about the decision, once"
    assert "approved" in mails[0]["Subject"].lower()
    submissions = text(owner.get("/admin/submissions/"))
    assert "approved" in field_block(
        submissions.replace("data-revision", "data-field"), str(revision.id)
    )


def test_reject_and_request_changes_show_the_reason_to_the_author(site):
    owner = client_for(site.app, site.clinic_user)
    editor = client_for(site.app, site.editor)
    live = record_of(site.app, site.a)
    first = pending_edit(site, owner, with_iv_price(live, 1))
    second = pending_edit(site, owner, with_iv_price(live, 2))

    page = text(decide(editor, first.id, "reject", first.lock_version, reason=""))
    assert "Give a reason" in page
    assert last_revision(site.app, Revision.id == first.id).status == "pending"

    decide(editor, first.id, "reject", first.lock_version, reason="A $1 infusion is not plausible.")
    page = decide(
        editor, second.id, "request-changes", second.lock_version, "Please add the series price."
    )
    assert "Sent back to the author" in text(page)
    assert last_revision(site.app, Revision.id == first.id).status == "rejected"
    assert last_revision(site.app, Revision.id == second.id).status == "changes_requested"
    assert record_of(site.app, site.a) == live

    listing = text(owner.get("/admin/submissions/"))
    assert "A $1 infusion is not plausible." in listing
    assert "Please add the series price." in listing
    detail = text(owner.get(f"/admin/submissions/{second.id}/"))
    assert "Please add the series price." in detail and "Make the requested changes" in detail
    mails = [m for m in outbox_messages(site.app) if m["To"] == "owner@juniper.example"]
    assert [m.get_content().count("The editor wrote:") for m in mails] == [1, 1]
    assert "was not approved" in mails[0].get_content()
    assert "A $1 infusion is not plausible." in mails[0].get_content()
    assert "needs changes" in mails[1].get_content()
    assert "Please add the series price." in mails[1].get_content()


def test_author_withdraws_a_pending_submission(site):
    owner = client_for(site.app, site.clinic_user)
    editor = client_for(site.app, site.editor)
    revision = pending_edit(site, owner, with_iv_price(record_of(site.app, site.a), 600))
    assert "Withdraw" in text(owner.get("/admin/submissions/"))
    response = post(
        owner,
        f"/admin/submissions/{revision.id}/withdraw",
        {},
        "/admin/new-listing/",
        follow_redirects=True,
    )
    assert "withdrawn" in text(response)
    assert last_revision(site.app, Revision.id == revision.id).status == "withdrawn"
    assert f'data-revision="{revision.id}"' not in text(editor.get("/admin/moderation/"))
    page = text(decide(editor, revision.id, "approve", revision.lock_version))
    assert "already withdrawn" in page


def test_stale_edit_cannot_be_approved_as_a_whole(site):
    owner = client_for(site.app, site.clinic_user)
    editor = client_for(site.app, site.editor)
    live = record_of(site.app, site.a)
    first = pending_edit(site, owner, with_iv_price(live, 610))
    second = pending_edit(site, owner, with_iv_price(live, 620))
    decide(editor, second.id, "approve", second.lock_version)
    assert iv_price_in_search(site.app.test_client(), site.a) == 620

    detail = text(editor.get(f"/admin/moderation/{first.id}/"))
    assert "This edit is stale" in detail and "version 1" in detail and "version 2" in detail
    # approving is only offered field by field (tests/test_lost_update.py)
    assert 'name="choose_fields"' in detail and "Approve and publish" not in detail
    assert "stale" in field_block(
        text(editor.get("/admin/moderation/")).replace("data-revision", "data-field"), str(first.id)
    )

    page = text(decide(editor, first.id, "approve", first.lock_version))
    assert "The listing changed after this edit was made" in page
    assert last_revision(site.app, Revision.id == first.id).status == "pending"
    assert iv_price_in_search(site.app.test_client(), site.a) == 620


def test_two_editors_deciding_the_same_revision_first_wins(site):
    owner = client_for(site.app, site.clinic_user)
    first_editor = client_for(site.app, site.editor)
    second_editor = client_for(site.app, site.editor2)
    revision = pending_edit(site, owner, with_iv_price(record_of(site.app, site.a), 630))
    # both editors load the page and see the same lock version
    lock = lock_of(site.app, revision.id)
    token_1 = csrf_token(first_editor, f"/admin/moderation/{revision.id}/")
    token_2 = csrf_token(second_editor, f"/admin/moderation/{revision.id}/")
    data = {"lock_version": str(lock), "reason": "Not plausible."}
    first = first_editor.post(
        f"/admin/moderation/{revision.id}/approve",
        data={**data, "csrf_token": token_1},
        follow_redirects=True,
    )
    second = second_editor.post(
        f"/admin/moderation/{revision.id}/reject",
        data={**data, "csrf_token": token_2},
        follow_redirects=True,
    )
    assert first.status_code == 200 and "Approved" in text(first)
    assert second.status_code == 200
    assert "already approved" in text(second)
    decided = last_revision(site.app, Revision.id == revision.id)
    assert decided.status == "approved" and decided.reviewer_id == site.editor
    third = second_editor.post(
        f"/admin/moderation/{revision.id}/approve",
        data={**data, "csrf_token": token_2},
        follow_redirects=True,
    )
    assert third.status_code == 200 and "already approved" in text(third)


def test_trusted_account_publishes_at_once_and_is_audited(site):
    editor = client_for(site.app, site.editor)
    owner = client_for(site.app, site.clinic_user)
    url = f"/admin/users/edit/?id={site.clinic_user}"
    response = post(editor, url, {"name": "", "active": "y", "trusted": "y"}, url)
    assert response.status_code == 302
    with site.app.app_context():
        assert db.session.get(User, site.clinic_user).trusted
        event = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "trust_changed")
        ).one()
        assert (event.before, event.after, event.actor_id) == (
            {"trusted": False},
            {"trusted": True},
            site.editor,
        )

    response = submit_edit(site, owner, with_iv_price(record_of(site.app, site.a), 480))
    assert "Published (trusted account)" in text(owner.get(response.headers["Location"]))
    assert iv_price_in_search(site.app.test_client(), site.a) == 480
    revision = last_revision(site.app)
    assert revision.status == "approved"
    with site.app.app_context():
        event = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "edit_published_trusted")
        ).one()
        assert event.actor_id == site.clinic_user and event.before and event.after
    assert f'data-revision="{revision.id}"' not in text(editor.get("/admin/moderation/"))
    # ... and reversible: an editor puts the listing back from the audit log
    details = text(editor.get(f"/admin/audit/details/?id={event.id}"))
    assert "Revert to the state before this event" in details
    url = f"/admin/audit/revert/{event.id}"
    response = post(editor, url, {"reason": ""}, "/admin/")
    assert "Give a reason" in text(editor.get(response.headers["Location"]))
    assert iv_price_in_search(site.app.test_client(), site.a) == 480
    post(editor, url, {"reason": "Price typo, confirmed by phone"}, "/admin/")
    assert iv_price_in_search(site.app.test_client(), site.a) == 650
    with site.app.app_context():
        reverted = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "reverted")
        ).one()
        assert reverted.actor_id == site.editor and reverted.clinic_id == site.a
    owner_token = csrf_token(owner, "/admin/new-listing/")
    assert owner.post(url, data={"csrf_token": owner_token, "reason": "x"}).status_code == 403


def test_still_accurate_verifies_the_listing_today(site):
    owner = client_for(site.app, site.clinic_user)
    with site.app.app_context():
        clinic = db.session.get(Clinic, site.a)
        clinic.last_verified_at = date.today() - timedelta(days=400)
        db.session.commit()
    listing = text(owner.get("/admin/my-listings/"))
    assert "Not verified since" in listing
    response = post(
        owner, f"/admin/my-listings/{site.a}/verify", {}, f"/admin/my-listings/{site.a}/edit"
    )
    assert response.status_code == 302
    with site.app.app_context():
        assert db.session.get(Clinic, site.a).last_verified_at == datetime.now(UTC).date()
    assert "Not verified since" not in text(owner.get("/admin/my-listings/"))


# -- new listings and claims ----------------------------------------------------------------
def test_new_listing_is_hidden_until_approved(site):
    author = make_user(site.app, "founder@newclinic.example")
    client = client_for(site.app, author)
    editor = client_for(site.app, site.editor)
    record = {
        **record_of(site.app, site.a),
        "name": "Brand New Ketamine Clinic",
        "street": "1 Main St",
        "description": "A new clinic.",
    }
    response = post(client, "/admin/new-listing/", listing_post(record), "/admin/new-listing/")
    assert response.status_code == 302
    revision = last_revision(site.app)
    assert revision.kind == "new" and revision.status == "pending"
    with site.app.app_context():
        clinic = db.session.get(Clinic, revision.clinic_id)
        assert clinic.status == "pending"
    results = (
        site.app.test_client().get("/api/v1/search?where=99801&radius=50").get_json()["results"]
    )
    assert revision.clinic_id not in [r["id"] for r in results]
    detail = text(editor.get(f"/admin/moderation/{revision.id}/"))
    assert "Brand New Ketamine Clinic" in detail and "Submitted" in detail
    decide(editor, revision.id, "request-changes", revision.lock_version, "Add your hours.")
    # the author starts again from the submission; nobody else can read it that way
    again = text(client.get(f"/admin/new-listing/?from={revision.id}"))
    assert 'value="Brand New Ketamine Clinic"' in field_block(again, "name")
    owner = client_for(site.app, site.clinic_user)
    assert owner.get(f"/admin/new-listing/?from={revision.id}").status_code == 404
    response = post(client, "/admin/new-listing/", listing_post(record), "/admin/new-listing/")
    assert response.status_code == 302
    revision = last_revision(site.app)
    decide(editor, revision.id, "approve", revision.lock_version)
    results = (
        site.app.test_client().get("/api/v1/search?where=99801&radius=50").get_json()["results"]
    )
    assert revision.clinic_id in [r["id"] for r in results]
    assert "Brand New Ketamine Clinic" in text(client.get("/admin/my-listings/"))


def test_claim_shows_evidence_as_a_signal_and_grants_access_when_approved(site):
    claimant = make_user(site.app, "manager@somewhere.example")
    client = client_for(site.app, claimant)
    editor = client_for(site.app, site.editor)
    with site.app.app_context():
        clinic = db.session.get(Clinic, site.b)
        name, host = clinic.name, urlsplit(clinic.website).hostname
    results = text(client.get("/admin/claim/?q=" + name.split()[0]))
    assert f"/admin/claim/{site.b}" in results
    data = {"work_email": f"dr.smith@{host}", "message": "I am the medical director."}
    response = post(
        client, f"/admin/claim/{site.b}", data, f"/admin/claim/{site.b}", follow_redirects=True
    )
    assert "your email's domain matches the listing's website" in plain(response)
    revision = last_revision(site.app)
    assert revision.kind == "claim"
    queue = text(editor.get("/admin/moderation/?kind=claim"))
    assert f"dr.smith@{host}" in queue and "signal, not proof" in queue
    detail = text(editor.get(f"/admin/moderation/{revision.id}/"))
    assert "I am the medical director." in detail and "A signal, not proof" in detail
    assert client.get(f"/admin/my-listings/{site.b}/").status_code == 404
    decide(editor, revision.id, "approve", revision.lock_version)
    assert client.get(f"/admin/my-listings/{site.b}/").status_code == 200
    # a second claim of the same listing is refused politely
    assert client.get(f"/admin/claim/{site.b}").status_code == 404


# -- the listing form -------------------------------------------------------------------------
BAD_INPUTS = [
    ({"phone": "12345"}, "phone", "Enter a US phone number", "12345"),
    ({"website": "not a url"}, "website", "Enter a full web address", "not a url"),
    ({"postal_code": "00000"}, "postal_code", "We do not know the ZIP code 00000", "00000"),
    (
        {f"{OFFER_PREFIX}iv-price_min": "900", f"{OFFER_PREFIX}iv-price_max": "400"},
        f"{OFFER_PREFIX}iv-price_max",
        "The highest price must not be below the lowest",
        'value="400"',
    ),
    ({"name": "N" * 5000}, "name", "Use at most 160 characters (you entered 5000)", "N" * 5000),
    (
        {"description": "<script>alert(1)</script>"},
        "description",
        "Remove HTML tags",
        "&lt;script&gt;alert(1)&lt;/script&gt;",
    ),
    ({"conditions": ["depression", "not-a-condition"]}, "conditions", "not a valid choice", None),
    (
        {f"{OFFER_PREFIX}iv-price_min": "cheap"},
        f"{OFFER_PREFIX}iv-price_min",
        "Not a valid integer",
        'value="cheap"',
    ),
    ({"languages": ["en", "xx"]}, "languages", "not a valid choice", None),
]


def test_invalid_listing_input_is_shown_beside_each_field_and_nothing_is_stored(site):
    owner = client_for(site.app, site.clinic_user)
    url = f"/admin/my-listings/{site.a}/edit"
    good = listing_post(record_of(site.app, site.a))
    revisions = count(site.app, Revision)
    for change, field, message, typed in BAD_INPUTS:
        response = post(owner, url, {**good, **change}, url)
        assert response.status_code == 400, change
        html = text(response)
        block = field_block(html, field)
        assert message in block, (field, message)
        if typed:
            assert typed in block, field
        assert "<script>alert(1)</script>" not in html
        assert count(site.app, Revision) == revisions
    # the new-listing form refuses the same way
    response = post(
        owner, "/admin/new-listing/", {**good, "postal_code": "00000"}, "/admin/new-listing/"
    )
    assert response.status_code == 400
    assert "We do not know the ZIP code 00000" in field_block(text(response), "postal_code")
    assert count(site.app, Revision) == revisions
    assert count(site.app, Clinic) == len(site.ids)


def test_listing_form_is_prefilled_from_the_live_listing(site):
    owner = client_for(site.app, site.clinic_user)
    html = text(owner.get(f"/admin/my-listings/{site.a}/edit"))
    record = record_of(site.app, site.a)
    assert f'value="{record["name"]}"' in field_block(html, "name")
    assert 'value="650"' in field_block(html, f"{OFFER_PREFIX}iv-price_min")
    assert "checked" in field_block(html, f"{OFFER_PREFIX}iv-offered")
    assert "checked" not in field_block(html, f"{OFFER_PREFIX}spravato-offered")
    # sending the form back unchanged stores nothing
    url = f"/admin/my-listings/{site.a}/edit"
    response = post(owner, url, listing_post(record), url)
    assert response.status_code == 200 and "You did not change anything" in text(response)
    assert count(site.app, Revision) == 0


# -- model views ---------------------------------------------------------------------------
def test_editor_cannot_make_anyone_admin(site):
    editor = client_for(site.app, site.editor)
    url = f"/admin/users/edit/?id={site.clinic_user}"
    response = post(
        editor, url, {"name": "x", "active": "y", "role": "admin", "email": "evil@x.example"}, url
    )
    assert response.status_code == 302
    with site.app.app_context():
        user = db.session.get(User, site.clinic_user)
        assert (user.role, user.email) == ("clinic", "owner@juniper.example")
    # staff accounts are not listed for editors, and cannot be opened or posted to
    users = text(editor.get("/admin/users/"))
    assert "owner@juniper.example" in users and "admin@directory.test" not in users
    for target in (site.admin, site.editor, site.editor2):
        url = f"/admin/users/edit/?id={target}"
        assert editor.get(url).status_code == 302
        token = csrf_token(editor, f"/admin/users/edit/?id={site.clinic_user}")
        editor.post(url, data={"csrf_token": token, "role": "admin", "active": "y"})
    with site.app.app_context():
        assert db.session.get(User, site.editor).role == "editor"
        assert db.session.get(User, site.editor2).role == "editor"
        assert count(site.app, User, User.role == "admin") == 1


def test_admin_manages_roles_but_cannot_lock_themselves_out(site):
    admin = client_for(site.app, site.admin)
    url = f"/admin/users/edit/?id={site.editor2}"
    form = {"email": "editor2@directory.test", "name": "", "role": "admin", "active": "y"}
    assert post(admin, url, form, url).status_code == 302
    with site.app.app_context():
        assert db.session.get(User, site.editor2).role == "admin"
        event = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "user_changed")
        ).one()
        assert event.before == {"role": "editor"} and event.after == {"role": "admin"}
    url = f"/admin/users/edit/?id={site.admin}"
    form = {"email": "admin@directory.test", "name": "", "role": "editor", "active": "y"}
    response = post(admin, url, form, url)
    assert "cannot remove your own admin access" in text(response)
    with site.app.app_context():
        assert db.session.get(User, site.admin).role == "admin"


def test_audit_log_is_read_only_and_newest_first(site):
    owner = client_for(site.app, site.clinic_user)
    editor = client_for(site.app, site.editor)
    revision = pending_edit(site, owner, with_iv_price(record_of(site.app, site.a), 560))
    decide(editor, revision.id, "approve", revision.lock_version)
    events = count(site.app, AuditEvent)
    assert events >= 2
    listing = text(editor.get("/admin/audit/"))
    assert listing.index("edit_approved") < listing.index("edit_submitted")
    assert "/admin/audit/new/" not in listing and "/admin/audit/edit/" not in listing
    assert "/admin/audit/delete/" not in listing
    with site.app.app_context():
        event_id = db.session.scalar(select(func.min(AuditEvent.id)))
    details = text(editor.get(f"/admin/audit/details/?id={event_id}"))
    assert "edit_submitted" in details and "audit-json" in details
    token = csrf_token(editor, f"/admin/users/edit/?id={site.clinic_user}")
    assert editor.get("/admin/audit/new/").status_code == 302
    assert editor.get(f"/admin/audit/edit/?id={event_id}").status_code == 302
    editor.post("/admin/audit/new/", data={"csrf_token": token, "action": "forged"})
    editor.post(f"/admin/audit/edit/?id={event_id}", data={"csrf_token": token, "action": "forged"})
    editor.post("/admin/audit/delete/", data={"csrf_token": token, "id": str(event_id)})
    editor.post(
        "/admin/audit/action/",
        data={"csrf_token": token, "action": "delete", "rowid": str(event_id)},
    )
    assert count(site.app, AuditEvent) == events
    assert count(site.app, AuditEvent, AuditEvent.action == "forged") == 0
    filtered = text(editor.get("/admin/audit/?search=edit_approved"))
    start = filtered.index('<table class="table')
    table = filtered[start : filtered.index("</table>", start)]
    assert "edit_approved" in table and "edit_submitted" not in table


def test_editor_suspends_a_clinic_audited_and_removed_from_search(site):
    editor = client_for(site.app, site.editor)
    assert iv_price_in_search(site.app.test_client(), site.a) == 650
    listing = text(editor.get("/admin/clinics/?flt0_0=published"))
    assert "Juniper Valley Ketamine Center" in listing
    url = f"/admin/clinics/edit/?id={site.a}"
    page = text(editor.get(url))
    version = re.search(
        r'name="expected_version"[^>]*value="(\d+)"|value="(\d+)"[^>]*name="expected_version"', page
    )
    assert version
    with site.app.app_context():
        clinic = db.session.get(Clinic, site.a)
        form = {
            name: ("y" if value is True else "" if value in (None, False) else str(value))
            for name, value in clinic_record(clinic).items()
            if not isinstance(value, list)
        }
    form = {k: v for k, v in form.items() if v != ""}
    form.update({"status": "suspended", "expected_version": "1", "name": form["name"]})
    response = post(editor, url, form, url)
    assert response.status_code == 302, text(response)[:2000]
    with site.app.app_context():
        clinic = db.session.get(Clinic, site.a)
        assert clinic.status == "suspended"
        event = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "clinic_updated")
        ).one()
        assert event.before["status"] == "published" and event.after["status"] == "suspended"
        assert event.actor_id == site.editor
    assert iv_price_in_search(site.app.test_client(), site.a) is None
    # an edit made from an outdated page is refused
    form.update({"status": "published", "expected_version": "1"})
    response = post(editor, url, form, url)
    assert "changed while you were editing it" in text(response)
    with site.app.app_context():
        assert db.session.get(Clinic, site.a).status == "suspended"


def test_condition_rename_reaches_the_search_index(site):
    editor = client_for(site.app, site.editor)
    with site.app.app_context():
        clinic = db.session.get(Clinic, site.a)
        condition = clinic.conditions[0]
        condition_id, code = condition.id, condition.code
    url = f"/admin/conditions/edit/?id={condition_id}"
    form = {"code": code, "name": "Zyzzogeton syndrome", "sort_order": "1", "synonyms": "[]"}
    response = post(editor, url, form, url)
    assert response.status_code == 302
    found = site.app.test_client().get("/api/v1/search?q=zyzzogeton").get_json()
    assert site.a in [r["id"] for r in found["results"]]
    # codes are permanent
    response = post(editor, url, {**form, "code": "renamed-code"}, url)
    assert "A code cannot change" in text(response)
    with site.app.app_context():
        assert db.session.get(Condition, condition_id).code == code
        assert count(site.app, AuditEvent, AuditEvent.action == "vocabulary_changed") == 1


def test_a_save_the_service_refuses_shows_the_form_again_with_its_values(site):
    editor = client_for(site.app, site.editor)
    url = "/admin/insurers/new/"
    form = {"code": "Harbor Health", "name": "Harbor Health Plan", "sort_order": "7"}
    response = post(editor, url, form, url)
    page = text(response)
    assert response.status_code == 200
    assert "Use a code of lowercase letters, digits and hyphens." in page
    assert 'value="Harbor Health"' in page and 'value="Harbor Health Plan"' in page
    assert count(site.app, Insurer, Insurer.code == "Harbor Health") == 0
    assert count(site.app, AuditEvent) == 0


def test_model_views_write_only_through_services(site):
    """No model view falls back to Flask-Admin's own writes (fill in the model, commit):
    each save is one service call, and deleting is refused even where a view allowed it."""
    views = [v for v in site.app.extensions["admin"][0]._views if isinstance(v, ModelView)]
    assert len(views) >= 7
    for view in views:
        for hook in ("create_model", "update_model", "delete_model"):
            assert getattr(type(view), hook) is not getattr(ModelView, hook), (view.url, hook)
        for hook in ("on_model_change", "after_model_change", "on_model_delete"):
            assert getattr(type(view), hook) is getattr(ModelView, hook), (view.url, hook)
    clinics = next(v for v in views if v.url.endswith("/clinics"))
    with site.app.test_request_context(), site.app.app_context():
        assert clinics.delete_model(db.session.get(Clinic, site.a)) is False
    assert count(site.app, Clinic) == len(site.ids)


# -- the theme's assets come from our origin ------------------------------------------------
def test_admin_pages_load_every_asset_from_our_origin(site):
    editor = client_for(site.app, site.editor)
    site.app.config.update(FLASK_ADMIN_MAPS=True, FLASK_ADMIN_MAPS_SEARCH=True)
    assets: set[str] = set()
    for page in (
        "/admin/",
        "/admin/clinics/",
        f"/admin/clinics/edit/?id={site.a}",
        "/admin/moderation/",
        "/admin/users/",
        "/admin/audit/",
    ):
        html = text(editor.get(page))
        assert "googleapis" not in html and "cdn" not in html.lower()
        # The CSP refuses inline handlers (an error on every page load); javascript:
        # links stay inert because static/admin/directory.js cancels their clicks.
        assert not re.search(r"<[^>]*\son[a-z]+\s*=", html, re.I), page
        assert "admin/directory.js" in html, page
        for url in re.findall(r'<(?:link|script)[^>]*(?:href|src)="([^"]+)"', html):
            parts = urlsplit(url)
            assert parts.netloc in ("", "directory.test"), url
            assert parts.path.startswith(("/admin/static/", "/static/")), url
            assets.add(parts.path)
    assert any(a.endswith("bootstrap.min.css") for a in assets)
    assert any(a.endswith("jquery.min.js") for a in assets)
    for path in assets:
        with editor.get(path) as response:
            assert response.status_code == 200, path
            body = response.get_data(as_text=True)
        if path.endswith(".css"):
            assert not re.search(r"@import|url\(\s*['\"]?(?:https?:)?//", body), path
            # fonts and images a stylesheet refers to are served by us as well
            for ref in set(re.findall(r"url\(\s*['\"]?([^'\")]+)", body)):
                if ref.startswith("data:"):
                    continue
                target = urljoin(path, ref.split("#")[0].split("?")[0])
                with editor.get(target) as font:
                    assert font.status_code == 200, (path, ref)
