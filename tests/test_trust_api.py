"""The JSON API carries who checked each credential, against what and when, and each
price's confirmed date: values compared with the rows the test wrote, on SQLite and
PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from directory.extensions import db
from directory.models import Clinic
from tests.helpers import add_check

NPI = "1234567893"


def test_the_clinic_record_carries_each_check_and_each_price_date(site):
    today = datetime.now(UTC).date()
    with site.app.app_context():
        days = site.app.config["CREDENTIAL_CHECK_DAYS"]
        clinic = db.session.get(Clinic, site.a)
        clinic.npi, clinic.licenses, clinic.spravato_rems = NPI, ["AZ MD 12345"], True
        clinic.hours_confirmed_on = today - timedelta(days=4)
        ages = {}
        for n, offering in enumerate(clinic.offerings):
            ages[offering.modality.code] = 200 if n == 0 else 3
            offering.price_confirmed_on = today - timedelta(days=ages[offering.modality.code])
        checks = {
            ("organization_npi", NPI): ("confirmed", "nppes", 10),
            ("license", "AZ MD 12345"): ("confirmed", "state_board", days + 1),
        }
        for (kind, subject), (outcome, source, age) in checks.items():
            add_check(clinic.id, kind, subject, outcome, source, f"ref {subject}", age)
        db.session.commit()
        slug, details = clinic.slug, clinic.details_confirmed_on
    record = site.app.test_client().get(f"/api/v1/clinics/{slug}").get_json()
    got = {(c["kind"], c["value"]): c for c in record["credentials"]}
    assert set(got) == {*checks, ("spravato_rems", "certified")}
    for key, (_outcome, source, age) in checks.items():
        checked_on = today - timedelta(days=age)
        assert got[key]["checked_on"] == checked_on.isoformat()
        assert got[key]["source"] == source and got[key]["reference"] == f"ref {key[1]}"
        assert got[key]["status"] == ("checked" if age < days else "due")
        assert got[key]["due_on"] == (checked_on + timedelta(days=days)).isoformat()
    rems = got[("spravato_rems", "certified")]
    assert rems["status"] == "stated" and rems["checked_on"] is None and rems["source"] is None
    for offer in record["offerings"]:
        age = ages[offer["modality"]]
        assert offer["price_confirmed_on"] == (today - timedelta(days=age)).isoformat()
        assert offer["price_stale"] == (age > 180)
    assert record["confirmed"]["hours"] == (today - timedelta(days=4)).isoformat()
    assert record["confirmed"]["details"] == (details.isoformat() if details else None)
    assert record["confirmed"]["prices"] == (today - timedelta(days=max(ages.values()))).isoformat()
    found = site.app.test_client().get(f"/api/v1/search?state={record['state']}").get_json()
    summary = next(r for r in found["results"] if r["id"] == site.a)
    for offer in summary["modalities"]:
        assert offer["price_stale"] == (ages[offer["code"]] > 180)
