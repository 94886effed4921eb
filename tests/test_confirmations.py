"""Each part of a listing carries its own confirmed date, and "verified" is the oldest.

Through the real clinic area and moderation pages on SQLite and PostgreSQL: an
approved edit confirms only what it changed, the clinic's "still accurate"
confirms its prices or the rest separately, every confirmation is audited, and
two clinic managers clicking at once both land (real threads); an editor records a
call or a read of the clinic's website for the sections it covered.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from directory.extensions import db
from directory.models import AuditEvent, Clinic, Revision
from tests.helpers import (
    all_at_once,
    client_for,
    csrf_token,
    decide,
    field_block,
    last_revision,
    lock_of,
    post,
    record_of,
    submit_edit,
    text,
    with_iv_price,
)


def _today():
    return datetime.now(UTC).date()


def _age(site, days: dict[str, int]) -> None:
    """Backdate each section (and every price) by the given number of days."""
    today = _today()
    with site.app.app_context():
        clinic = db.session.get(Clinic, site.a)
        for name in ("details", "hours", "insurance"):
            setattr(clinic, f"{name}_confirmed_on", today - timedelta(days=days[name]))
        for offering in clinic.offerings:
            offering.price_confirmed_on = today - timedelta(days=days["prices"])
            offering.price_confirmed_how = "website"
        clinic.last_verified_at = today - timedelta(days=max(days.values()))
        db.session.commit()


def _dates(site) -> dict:
    with site.app.app_context():
        clinic = db.session.get(Clinic, site.a)
        return {
            "details": clinic.details_confirmed_on,
            "hours": clinic.hours_confirmed_on,
            "insurance": clinic.insurance_confirmed_on,
            "prices": {
                o.modality.code: (o.price_confirmed_on, o.price_confirmed_how)
                for o in clinic.offerings
            },
            "verified": clinic.last_verified_at,
        }


AGES = {"details": 10, "hours": 20, "insurance": 30, "prices": 40}


def test_an_approved_edit_confirms_only_the_sections_it_changed(site):
    _age(site, AGES)
    owner = client_for(site.app, site.clinic_user)
    editor = client_for(site.app, site.editor)
    live = record_of(site.app, site.a)
    assert any(o["modality"] == "iv" for o in live["offerings"]), "listing a offers IV"
    edited = with_iv_price(live, 455) | {"hours": "Mon–Sat 8–6"}
    assert submit_edit(site, owner, edited).status_code == 302
    revision = last_revision(site.app, Revision.kind == "edit")
    assert "Approved" in text(
        decide(editor, revision.id, "approve", lock_of(site.app, revision.id))
    )
    today = _today()
    dates = _dates(site)
    assert dates["hours"] == today
    assert dates["details"] == today - timedelta(days=10)
    assert dates["insurance"] == today - timedelta(days=30)
    assert dates["prices"]["iv"] == (today, "clinic")
    others = {code: value for code, value in dates["prices"].items() if code != "iv"}
    assert all(value == (today - timedelta(days=40), "website") for value in others.values())
    # the overall date is the oldest section's: an untouched price, else insurance
    expected = today - timedelta(days=40 if others else 30)
    assert dates["verified"] == expected


def test_still_accurate_confirms_prices_and_the_rest_separately(site):
    _age(site, AGES)
    owner = client_for(site.app, site.clinic_user)
    page = f"/admin/my-listings/{site.a}/"
    verify = f"/admin/my-listings/{site.a}/verify"
    today = _today()
    assert post(owner, verify, {"part": "prices"}, page).status_code == 302
    dates = _dates(site)
    assert all(value == (today, "clinic") for value in dates["prices"].values())
    assert dates["hours"] == today - timedelta(days=20)
    assert dates["verified"] == today - timedelta(days=30)  # insurance is now the oldest
    assert post(owner, verify, {"part": "listing"}, page).status_code == 302
    dates = _dates(site)
    assert dates["details"] == dates["hours"] == dates["insurance"] == dates["verified"] == today
    with site.app.app_context():
        events = db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.action == "verified_accurate")
            .order_by(AuditEvent.id)
        ).all()
        assert [e.after["part"] for e in events] == ["prices", "listing"]
        assert events[0].before["last_verified_at"] == (today - timedelta(days=40)).isoformat()
        assert events[1].after["last_verified_at"] == today.isoformat()
    listing = text(owner.get(page))
    assert today.isoformat() in listing and "Prices still accurate" in listing


def test_an_unknown_part_changes_nothing_and_says_so(site):
    _age(site, AGES)
    owner = client_for(site.app, site.clinic_user)
    page = f"/admin/my-listings/{site.a}/"
    before = _dates(site)
    response = post(
        owner,
        f"/admin/my-listings/{site.a}/verify",
        {"part": "everything"},
        page,
        follow_redirects=True,
    )
    assert response.status_code == 200
    assert "Choose what is still accurate" in text(response)
    assert _dates(site) == before


def test_two_managers_confirming_at_once_both_land(site):
    """Prices from one window, the rest from another, released together: each
    write bumps the listing's version, so the loser of the optimistic lock applies
    its confirmation again on top instead of failing."""
    _age(site, AGES)
    page = f"/admin/my-listings/{site.a}/"
    clients = [client_for(site.app, site.clinic_user) for _ in range(2)]
    tokens = [csrf_token(c, page) for c in clients]
    parts = ["prices", "listing"]

    def click(n: int):
        return (
            clients[n]
            .post(
                f"/admin/my-listings/{site.a}/verify",
                data={"csrf_token": tokens[n], "part": parts[n]},
            )
            .status_code
        )

    for _round in range(3):
        assert all_at_once(2, click) == [302, 302]
    today = _today()
    dates = _dates(site)
    assert dates["details"] == dates["hours"] == dates["insurance"] == dates["verified"] == today
    assert all(value == (today, "clinic") for value in dates["prices"].values())


# -- an editor's call or website read -------------------------------------------------------
def _confirmation(day=None, sections=("prices", "hours"), **changes) -> dict:
    data = {
        "confirm-sections": list(sections),
        "confirm-how": "editor_call",
        "confirm-confirmed_on": (day or _today()).isoformat(),
        "confirm-note": "Spoke to the front desk",
    }
    return data | changes


def test_an_editor_records_a_call_for_the_sections_it_covered(site):
    _age(site, AGES)
    editor = client_for(site.app, site.editor)
    page = f"/admin/checks/{site.a}/"
    listing = text(editor.get(page))
    assert "Record this confirmation" in listing
    assert (_today() - timedelta(days=20)).isoformat() in listing  # hours, confirmed so far
    yesterday = _today() - timedelta(days=1)
    response = post(editor, f"/admin/checks/{site.a}/confirm", _confirmation(yesterday), page)
    assert response.status_code == 303
    dates = _dates(site)
    assert dates["hours"] == yesterday
    assert all(value == (yesterday, "editor_call") for value in dates["prices"].values())
    assert dates["details"] == _today() - timedelta(days=10)
    assert dates["verified"] == _today() - timedelta(days=30)  # insurance, untouched
    with site.app.app_context():
        [event] = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "sections_confirmed")
        ).all()
        assert event.actor_id == site.editor
        assert event.after["note"] == "Spoke to the front desk"
        assert event.after["how"] == "editor_call"
        assert event.before["hours_confirmed_on"] == (_today() - timedelta(days=20)).isoformat()
    with site.app.app_context():
        slug = db.session.get(Clinic, site.a).slug
    public = text(client_for(site.app, None).get(f"/clinics/{slug}"))
    assert "by the directory, by phone" in public


def test_bad_and_tampered_confirmations_change_nothing_and_keep_the_values(site):
    _age(site, AGES)
    editor = client_for(site.app, site.editor)
    page = f"/admin/checks/{site.a}/"
    url = f"/admin/checks/{site.a}/confirm"
    before = _dates(site)
    cases = [
        (_confirmation(sections=()), "confirm-sections", "Tick at least one part"),
        (_confirmation(_today() + timedelta(days=1)), "confirm-confirmed_on", "in the future"),
        (_confirmation(_today() - timedelta(days=400)), "confirm-confirmed_on", "call again"),
        (
            _confirmation(**{"confirm-confirmed_on": "soon"}),
            "confirm-confirmed_on",
            "Enter the day",
        ),
        (_confirmation(**{"confirm-how": "clinic"}), "confirm-how", "Choose from the list"),
        (_confirmation(sections=("prices", "vibes")), "confirm-sections", "Choose from the list"),
        (_confirmation(**{"confirm-note": "x" * 501}), "confirm-note", "under 500"),
    ]
    for data, field, words in cases:
        response = post(editor, url, data, page)
        assert response.status_code == 400, data
        body = text(response)
        assert words in field_block(body, field), (field, words)
        if field != "confirm-note":
            assert 'value="Spoke to the front desk"' in field_block(body, "confirm-note")
    assert editor.post(url, data=_confirmation()).status_code == 400  # no CSRF token
    assert _dates(site) == before
    with site.app.app_context():
        assert not db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "sections_confirmed")
        ).all()


def test_two_editors_confirming_at_once_both_land(site):
    """One confirms prices by phone, the other hours from the website, released together
    in real threads: both dates land and both are audited."""
    _age(site, AGES)
    page = f"/admin/checks/{site.a}/"
    editors = [client_for(site.app, site.editor), client_for(site.app, site.editor2)]
    tokens = [csrf_token(client, page) for client in editors]
    forms = [
        _confirmation(sections=("prices",)),
        _confirmation(sections=("hours",), **{"confirm-how": "website"}),
    ]

    def confirm(n: int) -> int:
        data = forms[n] | {"csrf_token": tokens[n]}
        return editors[n].post(f"/admin/checks/{site.a}/confirm", data=data).status_code

    assert all_at_once(2, confirm) == [303, 303]
    dates = _dates(site)
    assert dates["hours"] == _today()
    assert all(value == (_today(), "editor_call") for value in dates["prices"].values())
    with site.app.app_context():
        events = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "sections_confirmed")
        ).all()
        assert sorted(e.actor_id for e in events) == sorted([site.editor, site.editor2])
