"""Migration 0008 on a site with listings: every section starts confirmed on the
listing's old verified date (what that one date meant), nothing is lost on the way
down and up again, and every published listing is queued for re-indexing.

On SQLite and PostgreSQL, with the demo rows loaded before the upgrade.
"""

from __future__ import annotations

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import select, text

from directory.extensions import db
from directory.listings.demo import load_demo
from directory.models import Clinic, SearchQueue
from directory.search import sync

from .conftest import make_app


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_migration_0008_dates_every_section_from_the_old_verified_date(
    tmp_path, demo_records, engine
):
    backend = "postgres" if engine == "postgresql" else "whoosh"
    records = [r for r in demo_records if r["status"] == "published"][:12]
    for app in make_app(engine, tmp_path, backend):
        with app.app_context():
            load_demo(records, after_commit=sync.refresh)
            verified = dict(db.session.execute(select(Clinic.id, Clinic.last_verified_at)).all())
            published = set(
                db.session.scalars(select(Clinic.id).where(Clinic.status == "published"))
            )
            db.session.remove()
            downgrade(revision="0007")
            # the old schema: the new columns are gone, the rows are not
            columns = {
                row[0] if engine == "sqlite" else row.column_name
                for row in db.session.execute(
                    text("SELECT name FROM pragma_table_info('clinic')")
                    if engine == "sqlite"
                    else text(
                        "SELECT column_name FROM information_schema.columns "
                        "WHERE table_name = 'clinic'"
                    )
                )
            }
            assert "hours_confirmed_on" not in columns and "npi" not in columns
            db.session.execute(text("DELETE FROM search_queue"))
            db.session.commit()
            upgrade()
            assert set(db.session.scalars(select(SearchQueue.clinic_id))) == published
            rows = db.session.execute(
                text(
                    "SELECT id, last_verified_at, details_confirmed_on, hours_confirmed_on, "
                    "insurance_confirmed_on, npi, clinician_npis, licenses FROM clinic"
                )
            ).all()
            assert {row.id for row in rows} == set(verified)
            for row in rows:
                day = verified[row.id]
                stored = [
                    row.details_confirmed_on,
                    row.hours_confirmed_on,
                    row.insurance_confirmed_on,
                ]
                as_text = [str(value) if value is not None else None for value in stored]
                assert as_text == [str(day) if day else None] * 3, row.id
                assert row.npi == "" and row.clinician_npis in ("[]", [])
            prices = db.session.execute(
                text("SELECT clinic_id, price_confirmed_on, price_confirmed_how FROM offering")
            ).all()
            assert prices
            for clinic_id, confirmed_on, how in prices:
                day = verified[clinic_id]
                assert (str(confirmed_on) if confirmed_on else None) == (str(day) if day else None)
                assert how is None  # how it was confirmed was never recorded
            if engine == "postgresql":
                names = set(
                    db.session.scalars(
                        text(
                            "SELECT column_name FROM information_schema.columns "
                            "WHERE table_name = 'search_document'"
                        )
                    )
                )
                assert {"checked_ordinal", "prices_ordinal"} <= names
