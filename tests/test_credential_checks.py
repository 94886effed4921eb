"""Editors' checks of credentials, through the real admin pages on SQLite and
PostgreSQL: a check that ran out is in the editors' queue, re-checking it clears it
and is audited, a bad or tampered form changes nothing, and two editors recording
the same check at once leave one row (real threads)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from directory.extensions import db
from directory.models import AuditEvent, Clinic, CredentialCheck
from tests.helpers import all_at_once, client_for, csrf_token, field_block, plain, post

NPI = "1234567893"


def _today():
    return datetime.now(UTC).date()


def _with_old_check(site, age: int = 400) -> None:
    with site.app.app_context():
        clinic = db.session.get(Clinic, site.a)
        clinic.npi = NPI
        db.session.add(
            CredentialCheck(
                clinic_id=clinic.id,
                kind="organization_npi",
                subject=NPI,
                outcome="confirmed",
                source="nppes",
                reference="https://npiregistry.cms.hhs.gov/provider-view/1234567893",
                checked_on=_today() - timedelta(days=age),
            )
        )
        db.session.commit()


def _events(site) -> list[AuditEvent]:
    with site.app.app_context():
        events = db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.action == "credential_checked")
            .order_by(AuditEvent.id)
        ).all()
        for event in events:
            db.session.expunge(event)
        return list(events)


def _rows(site) -> int:
    with site.app.app_context():
        return db.session.scalar(select(func.count(CredentialCheck.id)))


def _check(day=None, **changes) -> dict:
    data = {
        "c0-kind": "organization_npi",
        "c0-subject": NPI,
        "c0-outcome": "confirmed",
        "c0-source": "nppes",
        "c0-reference": "https://npiregistry.cms.hhs.gov/provider-view/1234567893",
        "c0-checked_on": (day or _today()).isoformat(),
    }
    return data | changes


def test_an_expired_check_is_in_the_queue_until_someone_checks_again(site):
    _with_old_check(site)
    editor = client_for(site.app, site.editor)
    for page in ("/admin/", "/admin/moderation/"):
        assert "1 credential check is due" in plain(editor.get(page)), page
    due = plain(editor.get("/admin/checks/"))
    assert f'data-clinic="{site.a}"' in due and f"Organization NPI {NPI}" in due
    page = f"/admin/checks/{site.a}/"
    assert "Check out of date" in plain(editor.get(page))
    response = post(editor, f"/admin/checks/{site.a}/record/0", _check(), page)
    assert response.status_code == 303
    assert f'data-clinic="{site.a}"' not in plain(editor.get("/admin/checks/"))
    assert "credential check" not in plain(editor.get("/admin/"))
    [event] = _events(site)
    assert event.before["checked_on"] == (_today() - timedelta(days=400)).isoformat()
    assert event.after["checked_on"] == _today().isoformat() and event.actor_id == site.editor
    assert _rows(site) == 1


def test_bad_and_tampered_checks_change_nothing_and_say_why(site):
    _with_old_check(site)
    editor = client_for(site.app, site.editor)
    page = f"/admin/checks/{site.a}/"
    url = f"/admin/checks/{site.a}/record/0"
    empty = post(editor, url, _check(**{"c0-reference": "  "}), page)
    assert empty.status_code == 400
    assert "Give the source's address or reference" in field_block(plain(empty), "c0-reference")
    future = post(
        editor, url, _check(_today() + timedelta(days=2), **{"c0-reference": "kept ref"}), page
    )
    assert future.status_code == 400
    body = plain(future)
    assert "cannot be in the future" in field_block(body, "c0-checked_on")
    assert 'value="kept ref"' in field_block(body, "c0-reference")
    garbled = post(editor, url, _check(**{"c0-checked_on": "last tuesday"}), page)
    assert garbled.status_code == 400 and "Enter the day you checked" in plain(garbled)
    tampered = post(editor, url, _check(**{"c0-subject": "9999999999"}), page)
    assert tampered.status_code == 400 and "no longer states this credential" in plain(tampered)
    forged = post(editor, url, _check(**{"c0-source": "gossip"}), page)
    assert forged.status_code == 400
    no_token = editor.post(url, data=_check())
    assert no_token.status_code == 400
    assert _events(site) == [] and _rows(site) == 1


def test_two_editors_recording_one_check_at_once_leave_one_row(site):
    _with_old_check(site)
    page = f"/admin/checks/{site.a}/"
    editors = [client_for(site.app, site.editor), client_for(site.app, site.editor2)]
    tokens = [csrf_token(client, page) for client in editors]

    def record(n: int) -> int:
        data = _check(**{"c0-reference": f"call {n}", "csrf_token": tokens[n]})
        return editors[n].post(f"/admin/checks/{site.a}/record/0", data=data).status_code

    assert all_at_once(2, record) == [303, 303]
    assert _rows(site) == 1 and len(_events(site)) == 2
    with site.app.app_context():
        row = db.session.scalars(select(CredentialCheck)).one()
        assert row.checked_on == _today() and row.reference in ("call 0", "call 1")
