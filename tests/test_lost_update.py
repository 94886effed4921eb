"""No lost update (issue 9, point 7): an edit is made against the listing its form
showed, is stale only where someone else changed the same field since, and is
approved field by field on top of the live listing.

Through the real pages (test client, CSRF on), on SQLite and PostgreSQL.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime

from flask.testing import FlaskClient
from itsdangerous import URLSafeSerializer
from sqlalchemy import select

from directory.admin.clinic_views import BASE_REFUSED
from directory.extensions import db
from directory.listings import edit_base, record_writes
from directory.listings.records import (
    changed_keys,
    clinic_record,
    conflicting_keys,
    merge_records,
)
from directory.models import AuditEvent, Clinic, Revision, User
from tests.helpers import (
    Site,
    client_for,
    count,
    csrf_token,
    decide,
    field_block,
    form_tokens,
    last_revision,
    listing_post,
    make_user,
    plain,
    post,
    record_of,
    text,
    with_iv_price,
)

NEW_WEBSITE = "https://juniper-valley.example/new"


def edit_url(at: Site, clinic_id: int | None = None) -> str:
    return f"/admin/my-listings/{clinic_id or at.a}/edit"


def send_edit(client: FlaskClient, url: str, record: dict, tokens: dict[str, str]):
    """Post the listing form with hidden fields read from the page earlier (`tokens`)."""
    return client.post(url, data={**listing_post(record), **tokens})


def publish(at: Site, changes: dict) -> None:
    """Someone else's change goes live meanwhile: another edit, approved by an editor
    (for a trusted owner: an editor putting the listing into that state directly)."""
    with at.app.app_context():
        editor_user = db.session.get(User, at.editor)
        if db.session.get(User, at.clinic_user).trusted:
            clinic = db.session.get(Clinic, at.a)
            record_writes.revert_to(editor_user, clinic, clinic_record(clinic) | changes, "fix")
            return
    owner, editor = client_for(at.app, at.clinic_user), client_for(at.app, at.editor)
    url = edit_url(at)
    assert post(owner, url, listing_post(record_of(at.app, at.a) | changes), url).status_code == 302
    revision = last_revision(at.app)
    assert "Approved" in text(decide(editor, revision.id, "approve", revision.lock_version))


def approve_fields(client: FlaskClient, revision_id: int, fields: list[str]):
    page = f"/admin/moderation/{revision_id}/"
    with_lock = last_revision(client.application, Revision.id == revision_id).lock_version
    data = {
        "csrf_token": csrf_token(client, page),
        "lock_version": str(with_lock),
        "choose_fields": "1",
        "apply": fields,
    }
    return client.post(f"{page}approve", data=data, follow_redirects=True)


# -- the version from when the form was opened -------------------------------------------------
def test_an_edit_is_made_against_the_listing_its_form_showed(site):
    owner = client_for(site.app, site.clinic_user)
    editor = client_for(site.app, site.editor)
    opened = record_of(site.app, site.a)
    tokens = form_tokens(owner, edit_url(site))  # the form is opened at version 1
    publish(site, {"website": NEW_WEBSITE})  # version 2: someone changes the website

    response = send_edit(owner, edit_url(site), opened | {"phone": "(907) 555-0199"}, tokens)
    assert response.status_code == 302
    revision = last_revision(site.app)
    assert revision.base_version == 1 and revision.base_record == opened
    with site.app.app_context():
        assert db.session.get(Clinic, site.a).version == 2

    # Not stale: the edit changes the phone, not the website.
    detail = text(editor.get(f"/admin/moderation/{revision.id}/"))
    assert "This edit is stale" not in detail
    assert 'data-field="phone"' in detail and 'data-field="website"' not in detail
    assert "Approved" in text(decide(editor, revision.id, "approve", revision.lock_version))
    live = record_of(site.app, site.a)
    assert (live["phone"], live["website"]) == ("(907) 555-0199", NEW_WEBSITE)


def test_an_edit_of_the_same_field_is_stale_and_shown_three_ways(site):
    owner = client_for(site.app, site.clinic_user)
    editor = client_for(site.app, site.editor)
    opened = record_of(site.app, site.a)
    tokens = form_tokens(owner, edit_url(site))
    publish(site, {"phone": "(907) 555-0111"})
    proposal = opened | {"phone": "(907) 555-0199", "hours": "Mon-Sat 8-18"}
    assert send_edit(owner, edit_url(site), proposal, tokens).status_code == 302
    revision = last_revision(site.app)

    queue = text(editor.get("/admin/moderation/")).replace("data-revision", "data-field")
    assert "stale" in field_block(queue, str(revision.id))
    detail = text(editor.get(f"/admin/moderation/{revision.id}/"))
    assert "This edit is stale" in detail and "Changes, three ways" in detail
    phone = field_block(detail, "phone")
    assert opened["phone"] in phone and "(907) 555-0111" in phone and "(907) 555-0199" in phone
    assert "changed since" in phone and "checked" not in phone  # a conflict is not ticked
    hours = field_block(detail, "hours")
    assert "Mon-Sat 8-18" in hours and "changed since" not in hours and "checked" in hours
    assert 'for="apply-1"' in detail  # every box has a label

    # Approving the whole edit would undo the other phone change: refused.
    page = plain(decide(editor, revision.id, "approve", revision.lock_version))
    assert "The listing changed after this edit was made" in page
    # Nothing chosen, or a field the edit does not change: refused, still pending.
    assert "Choose at least one field" in plain(approve_fields(editor, revision.id, []))
    assert "not changed by this edit" in plain(approve_fields(editor, revision.id, ["status"]))
    assert last_revision(site.app, Revision.id == revision.id).status == "pending"

    # The editor applies the hours only: the other phone number stays.
    assert "Approved" in plain(approve_fields(editor, revision.id, ["hours"]))
    live = record_of(site.app, site.a)
    assert (live["phone"], live["hours"]) == ("(907) 555-0111", "Mon-Sat 8-18")
    assert last_revision(site.app, Revision.id == revision.id).status == "approved"
    with site.app.app_context():
        event = db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.revision_id == revision.id)
            .order_by(AuditEvent.id.desc())
        ).first()
        assert event.action == "edit_approved"
        assert event.before["phone"] == "(907) 555-0111" and event.after["hours"] == "Mon-Sat 8-18"


def test_an_editor_may_apply_a_conflicting_field_on_purpose(site):
    owner = client_for(site.app, site.clinic_user)
    editor = client_for(site.app, site.editor)
    opened = record_of(site.app, site.a)
    tokens = form_tokens(owner, edit_url(site))
    publish(site, with_iv_price(opened, 700) | {"website": NEW_WEBSITE})
    proposal = with_iv_price(opened, 600)
    assert send_edit(owner, edit_url(site), proposal, tokens).status_code == 302
    revision = last_revision(site.app)
    detail = text(editor.get(f"/admin/moderation/{revision.id}/"))
    row = field_block(detail, "offerings.iv.price_min")
    assert "650" in row and "700" in row and "600" in row and "changed since" in row
    fields = ["offerings.iv.price_min", "offerings.iv.price_max"]
    assert "Approved" in plain(approve_fields(editor, revision.id, fields))
    live = record_of(site.app, site.a)
    assert live["offerings"] == proposal["offerings"] and live["website"] == NEW_WEBSITE


def test_still_accurate_never_makes_a_pending_edit_stale(site):
    owner = client_for(site.app, site.clinic_user)
    editor = client_for(site.app, site.editor)
    url = edit_url(site)
    edit = record_of(site.app, site.a) | {"hours": "Mon-Fri 7-19"}
    assert post(owner, url, listing_post(edit), url).status_code == 302
    revision = last_revision(site.app)
    verify = f"/admin/my-listings/{site.a}/verify"
    assert post(owner, verify, {}, url).status_code == 302
    with site.app.app_context():
        clinic = db.session.get(Clinic, site.a)
        assert clinic.last_verified_at == datetime.now(UTC).date()
    detail = text(editor.get(f"/admin/moderation/{revision.id}/"))
    assert "This edit is stale" not in detail and "Approve and publish" in detail
    queue = text(editor.get("/admin/moderation/")).replace("data-revision", "data-field")
    assert "stale" not in field_block(queue, str(revision.id))
    assert "Approved" in text(decide(editor, revision.id, "approve", revision.lock_version))
    assert record_of(site.app, site.a)["hours"] == "Mon-Fri 7-19"
    with site.app.app_context():
        assert db.session.get(Clinic, site.a).last_verified_at == datetime.now(UTC).date()


# -- "request changes" reopens the clinic's own proposal --------------------------------------
def test_request_changes_reopens_the_form_on_the_proposal(site):
    owner = client_for(site.app, site.clinic_user)
    editor = client_for(site.app, site.editor)
    opened = record_of(site.app, site.a)
    url = edit_url(site)
    assert (
        post(owner, url, listing_post(opened | {"hours": "Mon-Fri 7-19"}), url).status_code == 302
    )
    first = last_revision(site.app)
    reason = "Please add your new phone number too."
    decide(editor, first.id, "request-changes", first.lock_version, reason)
    publish(site, {"website": NEW_WEBSITE})  # meanwhile, the website changes

    submission = text(owner.get(f"/admin/submissions/{first.id}/"))
    reopen = f"/admin/my-listings/{site.a}/edit?from={first.id}"
    assert f'href="{reopen}"' in submission
    form = text(owner.get(reopen))
    assert 'value="Mon-Fri 7-19"' in field_block(form, "hours"), "the proposal, not the live hours"
    assert f"starts from your submission #{first.id}" in form and reason in form
    assert NEW_WEBSITE not in field_block(form, "website")

    tokens = form_tokens(owner, reopen)
    proposal = opened | {"hours": "Mon-Fri 7-19", "phone": "(907) 555-0199"}
    assert send_edit(owner, url, proposal, tokens).status_code == 302
    second = last_revision(site.app)
    assert (second.base_version, second.base_record) == (first.base_version, first.base_record)
    assert "Approved" in text(decide(editor, second.id, "approve", second.lock_version))
    live = record_of(site.app, site.a)
    assert (live["hours"], live["phone"], live["website"]) == (
        "Mon-Fri 7-19",
        "(907) 555-0199",
        NEW_WEBSITE,
    )


def test_only_the_authors_own_edit_of_this_listing_can_be_reopened(site):
    owner = client_for(site.app, site.clinic_user)
    other = client_for(site.app, site.other_user)
    url_a, url_b = edit_url(site), edit_url(site, site.b)
    b_edit = listing_post(record_of(site.app, site.b) | {"hours": "9-5"})
    assert post(other, url_b, b_edit, url_b).status_code == 302
    foreign = last_revision(site.app)
    assert owner.get(f"{url_a}?from={foreign.id}").status_code == 404  # someone else's
    a_edit = listing_post(record_of(site.app, site.a) | {"hours": "8-4"})
    assert post(owner, url_a, a_edit, url_a).status_code == 302
    own = last_revision(site.app)
    assert owner.get(f"{url_a}?from={own.id}").status_code == 200
    both = client_for(site.app, make_user(site.app, "both@c.example", owns=[site.a, site.b]))
    assert post(both, url_b, b_edit, url_b).status_code == 302
    theirs_of_b = last_revision(site.app)
    assert both.get(f"{url_b}?from={theirs_of_b.id}").status_code == 200
    assert both.get(f"{url_a}?from={theirs_of_b.id}").status_code == 404  # another listing


# -- the signed field -------------------------------------------------------------------------
def test_a_tampered_base_is_refused_and_nothing_is_stored(site):
    both = make_user(site.app, "both@clinics.example", owns=[site.a, site.b])
    owner = client_for(site.app, both)
    url = edit_url(site)
    tokens = form_tokens(owner, url)
    other_listing = form_tokens(owner, edit_url(site, site.b))["base"]
    with site.app.app_context():
        forged_record = record_of(site.app, site.a) | {"website": "https://evil.example"}
        forged = URLSafeSerializer("not-our-key", salt=edit_base.SALT).dumps(
            {"c": site.a, "v": 1, "r": forged_record}
        )
    good = tokens["base"]
    variants = {
        "altered": good[:-3] + ("AAA" if not good.endswith("AAA") else "BBB"),
        "another listing": other_listing,
        "another key": forged,
        "garbage": "x" * 40,
        "empty": "",
    }
    live = record_of(site.app, site.a)
    revisions = count(site.app, Revision)
    for name, value in variants.items():
        data = {**listing_post(live | {"hours": "Open 24/7"}), **tokens, "base": value}
        response = owner.post(url, data=data)
        assert response.status_code == 400, name
        assert BASE_REFUSED in plain(response), name
        assert count(site.app, Revision) == revisions, name
    missing = {k: v for k, v in tokens.items() if k != "base"}
    response = owner.post(url, data={**listing_post(live | {"hours": "Open 24/7"}), **missing})
    assert response.status_code == 400 and BASE_REFUSED in plain(response)
    assert count(site.app, Revision) == revisions
    assert record_of(site.app, site.a) == live
    # the untouched field still works
    response = send_edit(owner, url, live | {"hours": "Open 24/7"}, tokens)
    assert response.status_code == 302


# -- trusted accounts publish at once, never over someone else's change ----------------------
def test_a_trusted_accounts_old_form_merges_or_waits(site):
    with site.app.app_context():
        db.session.get(User, site.clinic_user).trusted = True
        db.session.commit()
    owner = client_for(site.app, site.clinic_user)
    opened = record_of(site.app, site.a)
    tokens = form_tokens(owner, edit_url(site))
    publish(site, {"phone": "(907) 555-0111"})
    response = send_edit(owner, edit_url(site), opened | {"hours": "Mon-Sat 8-18"}, tokens)
    assert response.status_code == 302
    assert last_revision(site.app).status == "approved"
    live = record_of(site.app, site.a)
    assert (live["phone"], live["hours"]) == ("(907) 555-0111", "Mon-Sat 8-18")

    tokens = form_tokens(owner, edit_url(site))
    publish(site, {"phone": "(907) 555-0122"})
    response = send_edit(owner, edit_url(site), live | {"phone": "(907) 555-0199"}, tokens)
    assert response.status_code == 302
    page = plain(owner.get(response.headers["Location"]))
    assert "your change waits for an editor" in page
    assert last_revision(site.app).status == "pending"
    assert record_of(site.app, site.a)["phone"] == "(907) 555-0122"


# -- the three-way functions ------------------------------------------------------------------
def _offer(code: str, low: int | None, **extra) -> dict:
    return {
        "modality": code,
        "price_min": low,
        "price_max": low,
        "series_price": None,
        "series_sessions": None,
        "insurance_accepted": False,
        "notes": "",
        **extra,
    }


BASE = {
    "phone": "1",
    "website": "w",
    "languages": ["en"],
    "offerings": [_offer("iv", 500), _offer("im", 300)],
}


def test_conflicts_are_per_field_and_per_treatment_value():
    proposed = BASE | {"phone": "2", "offerings": [_offer("iv", 450), _offer("im", 300)]}
    live = BASE | {"website": "w2", "offerings": [_offer("iv", 500, notes="x"), _offer("im", 300)]}
    assert changed_keys(BASE, proposed) == [
        "phone",
        "offerings.iv.price_min",
        "offerings.iv.price_max",
    ]
    assert conflicting_keys(BASE, live, proposed) == []
    live = live | {"phone": "3"}
    assert conflicting_keys(BASE, live, proposed) == ["phone"]
    # changed meanwhile to the very value proposed: nothing would be undone
    assert conflicting_keys(BASE, live | {"phone": "2"}, proposed) == []
    # lists compare as sorted lists of codes: a reordering is no change
    base = BASE | {"languages": ["en", "es"]}
    reordered, proposed = base | {"languages": ["es", "en"]}, base | {"languages": ["en"]}
    assert conflicting_keys(base, reordered, proposed) == []


def test_merge_applies_only_the_chosen_changes_on_top_of_live():
    proposed = {
        **BASE,
        "phone": "2",
        "offerings": [_offer("iv", 450), _offer("ketamine-nasal", 900)],  # drops im, adds one
    }
    live = BASE | {"website": "w2", "offerings": [_offer("im", 300), _offer("iv", 500, notes="x")]}
    original = copy.deepcopy(live)
    keys = changed_keys(BASE, proposed)
    merged = merge_records(live, proposed, keys)
    assert merged["website"] == "w2" and merged["phone"] == "2"
    offers = {o["modality"]: o for o in merged["offerings"]}
    assert set(offers) == {"iv", "ketamine-nasal"}
    assert offers["iv"]["price_min"] == 450 and offers["iv"]["notes"] == "x"
    only_phone = merge_records(live, proposed, ["phone"])
    assert only_phone == live | {"phone": "2"}
    assert live == original, "the live record itself is not modified"
