"""Bulk import of clinic lists, on SQLite and PostgreSQL, through the real services.

A generated list of 560 rows holds clean new clinics, exact and near duplicates of
listings the directory has, bad ZIP codes, phones and prices, HTML, and rows that
repeat earlier ones. The generator records what each row is meant to be; the dry
run's report must equal that expectation row by row. Then: the import writes what
the report said, audited row by row; importing the same file again changes nothing;
a cancelled import stops between batches; two imports of one list at once (real
threads) add each clinic once. CSV and XLSX read alike; the command line does the same.
"""

from __future__ import annotations

import csv
import io
import random
from collections import Counter
from dataclasses import dataclass

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from directory.extensions import db
from directory.geo import get_gazetteer
from directory.imports.apply import apply_plan
from directory.imports.columns import columns, guess_mapping
from directory.imports.plan import dry_run
from directory.imports.spreadsheet import read_table
from directory.listings.demo import load_demo
from directory.listings.vocabulary import vocabulary_names
from directory.models import AuditEvent, Clinic
from directory.search import sync
from tests.helpers import all_at_once

HEADERS = [
    "Clinic name",
    "Street address",
    "City",
    "State",
    "ZIP",
    "Phone",
    "Website",
    "Treatments offered",
    "IV infusion: lowest price per session",
    "Conditions treated",
    "Description",
]
ZIPS = ["78701", "10001", "60601", "80202", "98101", "33130", "83702", "37203", "85004", "04101"]
SYLLABLES = ["qua", "zor", "vel", "mip", "tash", "orn", "brel", "kiv", "sud", "pax", "lum", "dre"]


@dataclass
class Row:
    cells: list[str]
    outcome: str  # what the row is meant to be
    field: str = ""  # rejected: the one field at fault (record key)
    duplicates: int | None = None  # duplicate: the listing it copies


def _name(rng: random.Random, n: int) -> str:
    words = ["".join(rng.choice(SYLLABLES) for _ in range(3)).title() for _ in range(2)]
    return f"{' '.join(words)} {n:04d} Infusions"


def _phone(n: int) -> str:
    return f"(303) {200 + n // 10000:03d}-{n % 10000:04d}"


def _clean(rng: random.Random, n: int) -> list[str]:
    zip_code = ZIPS[n % len(ZIPS)]
    place = get_gazetteer().zip_place(zip_code)
    return [
        _name(rng, n),
        f"{100 + n} Market Street",
        place.city,
        place.state,
        zip_code,
        _phone(n),
        f"https://clinic{n}.example",
        "IV infusion",
        str(rng.choice([350, 400, 450, 525])),
        "depression; PTSD",
        "Infusions with monitoring.",
    ]


def _as_listed(cells: list[str], clinic: Clinic, name: str, street: str) -> list[str]:
    """`cells` naming `clinic` (its place and phone) by `name` at `street`."""
    cells = list(cells)
    cells[0], cells[1], cells[2], cells[3] = name, street, clinic.city, clinic.state
    cells[4], cells[5] = clinic.postal_code, clinic.phone
    return cells


def generate(existing: list[Clinic], seed: int = 12) -> list[Row]:
    """560 rows, shuffled, each with the outcome it is meant to have."""
    rng = random.Random(seed)
    rows = [Row(_clean(rng, n), "new") for n in range(440)]
    for clinic in existing[:20]:  # the same clinic, as typed in another list
        cells = _as_listed(_clean(rng, 9000 + clinic.id), clinic, clinic.name, clinic.street)
        rows.append(Row(cells, "duplicate", duplicates=clinic.id))
    for clinic in existing[20:40]:  # near: another spelling, another street line
        near = clinic.name.replace("Center", "Centre").replace("Clinic", "Clinic LLC")
        near = near if near != clinic.name else f"The {clinic.name}"
        cells = _as_listed(_clean(rng, 9500 + clinic.id), clinic, near, f"{clinic.street} Ste 2")
        rows.append(Row(cells, "duplicate", duplicates=clinic.id))
    faults = [
        (4, ["1234", "7870", "ABCDE", "00000"], "postal_code"),
        (5, ["555-CALL-NOW", "12345", "(123) 456-7890"], "phone"),
        (8, ["cheap", "$-5", "4.5k", "450.50"], "offerings.iv.price_min"),
        (10, ["<b>Best</b> care", "Call <a href='x'>us</a>", "<script>1</script>"], "description"),
    ]
    n = 5000
    for column, values, field in faults:
        for value in values * 5:
            cells = _clean(rng, n)
            cells[column] = value
            rows.append(Row(cells, "rejected", field=field))
            n += 1
    # The same clinic twice in one file: after shuffling, the first of the two is new
    # and the other repeats it.
    rows += [Row(list(row.cells), "repeat") for row in rng.sample(rows[:440], 15)]
    rng.shuffle(rows)
    first: set[tuple[str, ...]] = set()
    for row in rows:
        if row.outcome in ("new", "repeat"):
            key = tuple(row.cells)
            row.outcome, row.field = ("rejected", "external_id") if key in first else ("new", "")
            first.add(key)
    return rows


def as_csv(rows: list[Row]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADERS)
    for row in rows:
        writer.writerow(row.cells)
    return out.getvalue().encode()


def as_xlsx(rows: list[Row]) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(HEADERS)
    for row in rows:
        sheet.append(row.cells)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@pytest.fixture
def listed(fresh_app, demo_records):
    """The directory with 60 demo listings, and a generated list against them."""
    with fresh_app.app_context():
        records = [
            r for r in demo_records if r["status"] == "published" and r["kind"] != "telehealth"
        ]
        load_demo(records[:60], after_commit=sync.refresh)
        existing = list(db.session.scalars(select(Clinic).order_by(Clinic.id)))
        rows = generate(existing)
    return fresh_app, rows


def _plan(app, data: bytes, filename: str = "list.csv"):
    with app.app_context():
        table = read_table(data, filename)
        known = columns(vocabulary_names()["modality"])
        return dry_run(table, guess_mapping(table.headers, known), "clinic-list")


def _expected(rows: list[Row]) -> list[tuple[int, str, frozenset, int | None]]:
    return [
        (line, row.outcome, frozenset([row.field] if row.field else []), row.duplicates)
        for line, row in enumerate(rows, start=2)
    ]


def _got(plan) -> list[tuple[int, str, frozenset, int | None]]:
    return [
        (
            row.line,
            row.outcome,
            frozenset(row.errors),
            row.clinic_id if row.outcome == "duplicate" else None,
        )
        for row in plan.rows
    ]


def test_the_dry_run_reports_what_each_row_is(listed):
    app, rows = listed
    assert len(rows) >= 500
    plan = _plan(app, as_csv(rows))
    assert _got(plan) == _expected(rows)
    assert plan.counts() == {
        "new": sum(r.outcome == "new" for r in rows),
        "update": 0,
        "unchanged": 0,
        "duplicate": 40,
        "rejected": sum(r.outcome == "rejected" for r in rows),
    }
    # Words for the editor, by column: the reason beside the field that holds it.
    rejected = {row.line: row for row in plan.rows if row.outcome == "rejected"}
    some = next(r for r in rejected.values() if "postal_code" in r.errors)
    assert plan.field_label("postal_code") == "ZIP code" and "ZIP" in some.errors["postal_code"]
    with app.app_context():
        assert db.session.scalar(select(func.count(Clinic.id))) == 60  # nothing written


def test_an_xlsx_list_reads_as_the_csv_does(listed):
    app, rows = listed
    assert _got(_plan(app, as_xlsx(rows), "list.xlsx")) == _expected(rows)


def test_import_writes_the_report_audits_every_row_and_a_second_import_changes_nothing(listed):
    app, rows = listed
    data = as_csv(rows)
    plan = _plan(app, data)
    new = [row for row in plan.rows if row.outcome == "new"]
    with app.app_context():
        applied = apply_plan(plan, None, "published", batch=64)
        assert (applied.created, applied.updated, applied.stopped) == (len(new), 0, False)
        clinics = {
            c.external_id: c
            for c in db.session.scalars(select(Clinic).where(Clinic.external_id.is_not(None)))
        }
        assert set(clinics) == {row.external_id for row in new}
        assert all(c.status == "published" and c.last_verified_at is None for c in clinics.values())
        assert all(c.lat is not None and c.geo_precision == "zip" for c in clinics.values())
        events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "imported")).all()
        assert Counter(e.target for e in events) == Counter(row.external_id for row in new)
        assert {e.clinic_id for e in events} == {c.id for c in clinics.values()}
        assert sync.verify().clean
    # An imported clinic is found by search at once.
    sample = new[0].record
    found = app.test_client().get("/api/v1/search", query_string={"q": sample["name"]})
    assert sample["name"] in {r["name"] for r in found.get_json()["results"]}

    again = _plan(app, data)
    assert Counter(row.outcome for row in again.rows) == {
        "unchanged": len(new),
        "duplicate": 40,
        "rejected": len(plan.rows) - len(new) - 40,
    }
    with app.app_context():
        before = db.session.scalar(select(func.count(AuditEvent.id)))
        applied = apply_plan(again, None, "published")
        assert (applied.created, applied.updated) == (0, 0)
        assert db.session.scalar(select(func.count(AuditEvent.id))) == before

    # One price changed in the list: that listing is updated, audited with before and after.
    changed = next(r for r in rows if r.outcome == "new")
    changed.cells[8] = "999"
    third = _plan(app, as_csv(rows))
    updates = [row for row in third.rows if row.outcome == "update"]
    assert len(updates) == 1 and "lowest price" in updates[0].reason
    with app.app_context():
        assert apply_plan(third, None, "published").updated == 1
        event = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "import_updated")
        ).one()
        [before_offer] = event.before["offerings"]
        [after_offer] = event.after["offerings"]
        assert after_offer["price_min"] == 999 and before_offer["price_min"] != 999


def test_a_cancelled_import_stops_between_batches(listed):
    app, rows = listed
    plan = _plan(app, as_csv(rows))
    asked = []

    def stop() -> bool:
        asked.append(1)
        return len(asked) > 3  # three batches, then the editor cancels

    with app.app_context():
        applied = apply_plan(plan, None, "pending", batch=50, should_stop=stop)
        count = db.session.scalar(
            select(func.count(Clinic.id)).where(Clinic.external_id.is_not(None))
        )
        events = db.session.scalar(
            select(func.count(AuditEvent.id)).where(AuditEvent.action == "imported")
        )
    assert applied.stopped and applied.batches == 3
    assert count == events == applied.created == 150


def test_two_imports_of_one_list_at_once_add_each_clinic_once(listed):
    app, rows = listed
    data = as_csv(rows)
    plans = [_plan(app, data), _plan(app, data)]
    new = {row.external_id for row in plans[0].rows if row.outcome == "new"}

    def run(n: int):
        with app.app_context():
            return apply_plan(plans[n], None, "pending", batch=40)

    results = all_at_once(2, run)
    with app.app_context():
        ids = list(
            db.session.scalars(select(Clinic.external_id).where(Clinic.external_id.is_not(None)))
        )
        events = db.session.scalar(
            select(func.count(AuditEvent.id)).where(AuditEvent.action == "imported")
        )
    assert sorted(ids) == sorted(new)
    assert sum(r.created for r in results) == len(new) == events


def test_the_command_line_reports_then_imports(listed, tmp_path):
    app, rows = listed
    path = tmp_path / "clinics.csv"
    path.write_bytes(as_csv(rows))
    runner = app.test_cli_runner()
    dry = runner.invoke(args=["listings", "import", str(path)])
    assert dry.exit_code == 0, dry.output
    new = sum(r.outcome == "new" for r in rows)
    assert f"New listings: {new:,}" in dry.output and "nothing was written" in dry.output
    assert "ZIP code: Enter a 5-digit ZIP code." in dry.output
    with app.app_context():
        assert db.session.scalar(select(func.count(Clinic.id))) == 60
    done = runner.invoke(args=["listings", "import", str(path), "--apply", "--status", "pending"])
    assert done.exit_code == 0, done.output
    assert f"Imported: {new:,} new, 0 updated." in done.output
    bad = tmp_path / "clinics.txt"
    bad.write_text("name\nx\n")
    refused = runner.invoke(args=["listings", "import", str(bad)])
    assert refused.exit_code == 1 and "Choose a .csv or .xlsx file." in refused.output
