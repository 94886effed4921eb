"""An editor's direct change to a listing (`listings.staff_edits`), below the admin form.

On SQLite and PostgreSQL (`site`, from tests/test_admin.py), with the real search
index: a change is validated like the listing form, audited with before and after,
committed with its clinic queued and then drained; a refusal writes nothing.
"""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select, update

from directory.extensions import db
from directory.geo import get_gazetteer
from directory.listings.errors import InvalidRecord
from directory.listings.staff_edits import ChangedMeanwhile, update_listing
from directory.models import AuditEvent, Clinic, SearchQueue, User
from tests.helpers import Site, iv_price_in_search


def _events(action: str = "clinic_updated") -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def _unchanged(site: Site, version: int) -> None:
    """Nothing was written: same version, no audit event, nothing queued."""
    db.session.rollback()
    assert db.session.get(Clinic, site.a).version == version
    assert _events() == []
    assert db.session.scalar(select(func.count(SearchQueue.id))) == 0


def test_a_change_is_audited_committed_and_reaches_search(site):
    assert iv_price_in_search(site.app.test_client(), site.a) == 650
    with site.app.app_context():
        editor = db.session.get(User, site.editor)
        clinic = db.session.get(Clinic, site.a)
        version = clinic.version
        changes = update_listing(editor, clinic, {"status": "suspended", "hours": "Mon 9-5"})
        assert changes["status"] == ("published", "suspended")
        db.session.rollback()  # what was committed, not what this session holds
        clinic = db.session.get(Clinic, site.a)
        assert (clinic.status, clinic.hours, clinic.version) == (
            "suspended",
            "Mon 9-5",
            version + 1,
        )
        (event,) = _events()
        assert event.actor_id == site.editor and event.clinic_id == site.a
        assert event.before["status"] == "published" and event.after["status"] == "suspended"
        assert event.after["hours"] == "Mon 9-5" and set(event.before) == {"status", "hours"}
        assert db.session.scalar(select(func.count(SearchQueue.id))) == 0  # drained
    assert iv_price_in_search(site.app.test_client(), site.a) is None


def test_phone_is_normalised_and_a_new_zip_places_the_listing(site):
    with site.app.app_context():
        editor = db.session.get(User, site.editor)
        clinic = db.session.get(Clinic, site.a)
        update_listing(editor, clinic, {"phone": "907.555.0100", "postal_code": "99501"})
        db.session.rollback()
        clinic = db.session.get(Clinic, site.a)
        place = get_gazetteer().zip_place("99501")
        assert clinic.phone == "(907) 555-0100"
        assert (clinic.lat, clinic.lng, clinic.geo_precision) == (place.lat, place.lng, "zip")
        (event,) = _events()
        assert event.after["phone"] == "(907) 555-0100"


def test_nothing_changed_writes_nothing(site):
    with site.app.app_context():
        editor = db.session.get(User, site.editor)
        clinic = db.session.get(Clinic, site.a)
        version = clinic.version
        same = {"name": clinic.name, "status": clinic.status, "phone": clinic.phone}
        assert update_listing(editor, clinic, same, expected_version=version) == {}
        _unchanged(site, version)


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({"phone": "12345"}, "phone", "Phone: Enter a US phone number"),
        ({"postal_code": "00000"}, "postal_code", "ZIP code: We do not know the ZIP code 00000"),
        ({"name": "<b>Clinic</b>"}, "name", "Name: Remove HTML tags"),
        ({"website": "not a url"}, "website", "Website: Enter a full web address"),
        ({"description": "typed\x00here"}, "description", "Remove control characters"),
        ({"kind": "in_person", "street": ""}, "street", "An in-person clinic needs a street"),
        ({"status": "deleted"}, "status", "Status: Choose a status."),
    ],
)
def test_values_the_listing_form_refuses_are_refused_and_nothing_is_written(
    site,
    values,
    field,
    message,
):
    with site.app.app_context():
        editor = db.session.get(User, site.editor)
        clinic = db.session.get(Clinic, site.a)
        version = clinic.version
        with pytest.raises(InvalidRecord) as refused:
            update_listing(editor, clinic, values, expected_version=version)
        assert field in refused.value.errors
        assert message in refused.value.message
        _unchanged(site, version)


def test_an_old_flaw_in_another_field_does_not_block_a_change(site):
    with site.app.app_context():
        db.session.execute(
            update(Clinic).where(Clinic.id == site.a).values(website="not a url", version=7)
        )
        db.session.commit()
        editor = db.session.get(User, site.editor)
        clinic = db.session.get(Clinic, site.a)
        update_listing(editor, clinic, {"status": "suspended"}, expected_version=7)
        db.session.rollback()
        assert db.session.get(Clinic, site.a).status == "suspended"


def test_a_form_opened_on_an_older_version_is_refused(site):
    with site.app.app_context():
        editor = db.session.get(User, site.editor)
        clinic = db.session.get(Clinic, site.a)
        version = clinic.version
        with pytest.raises(ChangedMeanwhile) as refused:
            update_listing(editor, clinic, {"status": "suspended"}, expected_version=version - 1)
        assert "changed while you were editing it" in refused.value.message
        assert f"version {version - 1}, it is now version {version}" in refused.value.message
        _unchanged(site, version)


def test_a_write_between_reading_and_committing_is_refused(site):
    """Another writer commits after this session read the listing: the optimistic lock
    (`Clinic.version`) refuses the second write instead of overwriting the first."""
    with site.app.app_context():
        editor = db.session.get(User, site.editor)
        clinic = db.session.get(Clinic, site.a)
        version = clinic.version
        with db.engine.begin() as other:  # a connection of its own: another request
            other.execute(
                update(Clinic.__table__)
                .where(Clinic.__table__.c.id == site.a)
                .values(hours="By appointment", version=version + 1)
            )
        with pytest.raises(ChangedMeanwhile) as refused:
            update_listing(editor, clinic, {"status": "suspended"}, expected_version=version)
        assert "Someone else saved this record" in refused.value.message
        db.session.rollback()
        clinic = db.session.get(Clinic, site.a)
        assert (clinic.status, clinic.hours) == ("published", "By appointment")
        assert _events() == []


def test_only_the_staff_fields_are_editable(site):
    with site.app.app_context():
        editor = db.session.get(User, site.editor)
        clinic = db.session.get(Clinic, site.a)
        with pytest.raises(ValueError, match="slug"):
            update_listing(editor, clinic, {"slug": "elsewhere"})
        assert isinstance(clinic.last_verified_at, date)
