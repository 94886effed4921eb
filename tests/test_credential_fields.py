"""Credentials a clinic states: checked as it types them, kept as it wrote them.

Through the clinic's own listing form (the real form, CSRF and all) on SQLite and
PostgreSQL: a wrong NPI or licence comes back beside its field with everything
typed kept, a valid one is stored in one spelling, and resubmitting the stored
listing changes nothing (no phantom diff for the editor).
"""

from __future__ import annotations

from directory.extensions import db
from directory.models import Clinic, Revision
from tests.helpers import (
    client_for,
    count,
    decide,
    field_block,
    last_revision,
    lock_of,
    plain,
    record_of,
    submit_edit,
    text,
)

VALID_NPI = "1234567893"  # CMS's check-digit example
SWAPPED_NPI = "1234567839"  # its last two digits swapped


def _approve_latest(site) -> None:
    editor = client_for(site.app, site.editor)
    revision = last_revision(site.app, Revision.kind == "edit")
    assert "Approved" in text(
        decide(editor, revision.id, "approve", lock_of(site.app, revision.id))
    )


def test_wrong_npis_and_licences_come_back_beside_their_fields_with_values_kept(site):
    owner = client_for(site.app, site.clinic_user)
    live = record_of(site.app, site.a)
    before = count(site.app, Revision)
    page = plain(
        submit_edit(
            site,
            owner,
            live,
            npi=SWAPPED_NPI,
            clinician_npis=f"{VALID_NPI}, 123",
            licenses="AZ MD 12345, ZZ RN 1, AZ XX 77, AZMD12345",
            hours="Mon–Fri 8–6",
        )
    )
    assert "swapped digit" in field_block(page, "npi")
    assert f'value="{SWAPPED_NPI}"' in field_block(page, "npi")
    assert "An NPI is 10 digits (123 is not)" in field_block(page, "clinician_npis")
    licences = field_block(page, "licenses")
    assert "ZZ is not a US state code" in licences
    assert "XX is not a licence type" in licences
    assert "like AZ MD 12345 (not AZMD12345)" in licences
    assert "AZ MD 12345, ZZ RN 1, AZ XX 77, AZMD12345" in licences  # as typed
    assert 'value="Mon–Fri 8–6"' in field_block(page, "hours")
    assert count(site.app, Revision) == before, "nothing was submitted"


def test_valid_credentials_are_stored_in_one_spelling_and_resubmit_unchanged(site):
    owner = client_for(site.app, site.clinic_user)
    live = record_of(site.app, site.a)
    response = submit_edit(
        site,
        owner,
        live,
        npi=VALID_NPI,
        clinician_npis=f"1528060837; {VALID_NPI}",
        licenses="az  md 12345,\nAZ fac 9-876",
        medical_director_name="Dr. Ana Ruiz, MD",
    )
    assert response.status_code == 302, plain(response)[:3000]
    _approve_latest(site)
    stored = record_of(site.app, site.a)
    assert stored["npi"] == VALID_NPI
    assert stored["clinician_npis"] == ["1528060837", VALID_NPI]
    assert stored["licenses"] == ["AZ MD 12345", "AZ FAC 9-876"]
    assert stored["medical_director_name"] == "Dr. Ana Ruiz, MD"
    # The form shows what is stored; sending it back proposes no change at all.
    form = plain(owner.get(f"/admin/my-listings/{site.a}/edit"))
    assert "AZ MD 12345, AZ FAC 9-876" in field_block(form, "licenses")
    before = count(site.app, Revision)
    submit_edit(
        site,
        owner,
        stored,
        clinician_npis=", ".join(stored["clinician_npis"]),
        licenses=", ".join(stored["licenses"]),
    )
    assert count(site.app, Revision) == before, "an unchanged listing makes no revision"


def test_a_tampered_form_cannot_store_more_than_twenty_credentials(site):
    owner = client_for(site.app, site.clinic_user)
    live = record_of(site.app, site.a)
    many = ", ".join(f"AZ RN {n}" for n in range(21))
    page = plain(submit_edit(site, owner, live, licenses=many))
    assert "List at most 20 (you listed 21)" in field_block(page, "licenses")
    twice = plain(submit_edit(site, owner, live, licenses="AZ RN 1, az rn 1"))
    assert "one is listed twice" in field_block(twice, "licenses")
    with site.app.app_context():
        assert db.session.get(Clinic, site.a).licenses == []
