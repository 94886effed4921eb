"""The field table is the one declaration: every field it lists reaches the columns,
both admin forms, the validation, the diff and the API, and nothing else does.

These tests walk the table, so a field added to it is checked without a new test;
what each field must do is judged from outside (the pages, the JSON, the database
the migrations made), never from the code that derives it.
"""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from directory.extensions import db
from directory.listings.records import diff_records, validate_record
from directory.listings.vocabulary import vocabulary_names
from directory.models import Clinic
from directory.models.listing_fields import LISTING_FIELDS, OFFERING_FIELDS, RECORD_FIELDS
from tests.helpers import client_for, field_block, record_of, submit_edit, text


def test_the_migrations_make_the_columns_the_table_declares(fresh_app):
    """A field added to the table without its migration (or with another type,
    width or nullability) fails here, by name."""

    def listing_tables(name, kind, parent) -> bool:
        return kind != "table" or name in ("clinic", "offering")

    with fresh_app.app_context(), db.engine.connect() as conn:
        options = {"compare_type": True, "include_name": listing_tables}
        context = MigrationContext.configure(conn, opts=options)
        differences = [
            d
            for d in compare_metadata(context, db.metadata)
            if _table_of(d) in ("clinic", "offering")
        ]
    assert differences == [], f"model and migrations differ: {differences}"


def _table_of(difference) -> str:
    """The table an Alembic difference concerns (modifications come wrapped in a list)."""
    op = difference[0] if isinstance(difference, list) else difference
    if op[0] in ("add_column", "remove_column") or op[0].startswith("modify_"):
        return op[2]
    return op[1].name if op[0].endswith("_table") else op[1].table.name


def test_both_forms_ask_for_what_each_editor_edits(site):
    owner = client_for(site.app, site.clinic_user)
    editor = client_for(site.app, site.editor)
    listing_form = text(owner.get(f"/admin/my-listings/{site.a}/edit"))
    staff_form = text(editor.get(f"/admin/clinics/edit/?id={site.a}"))
    for spec in LISTING_FIELDS:
        named = f'name="{spec.name}"'
        assert (named in listing_form) == ("clinic" in spec.edited_by), spec.name
        assert (named in staff_form) == ("staff" in spec.edited_by), spec.name
        if "clinic" in spec.edited_by:
            assert spec.label in field_block(listing_form, spec.name), spec.name
    for spec in OFFERING_FIELDS:
        assert f'name="offer_iv-{spec.name}"' in listing_form, spec.name


def test_the_api_shows_each_field_where_the_table_says(site):
    public = site.app.test_client()
    with site.app.app_context():
        clinic = db.session.get(Clinic, site.a)
        slug, state = clinic.slug, clinic.state
    detail = public.get(f"/api/v1/clinics/{slug}").get_json()
    found = public.get(f"/api/v1/search?state={state}").get_json()["results"]
    summary = next(r for r in found if r["id"] == site.a)
    for spec in LISTING_FIELDS:
        assert (spec.name in summary) == (spec.api == "summary"), spec.name
        assert (spec.name in detail) == (spec.api != ""), spec.name
    offer = detail["offerings"][0]
    for spec in OFFERING_FIELDS:
        assert spec.name in offer, spec.name
        assert (spec.name in summary["modalities"][0]) == (spec.api == "summary"), spec.name


def test_each_text_field_refuses_markup_and_length_beside_itself(site):
    owner = client_for(site.app, site.clinic_user)
    live = record_of(site.app, site.a)
    for spec in RECORD_FIELDS:
        if spec.kind not in ("text", "long_text") or spec.name == "postal_code":
            continue  # a ZIP code has its own rule (five digits)
        page = text(submit_edit(site, owner, {**live, spec.name: "<b>bold</b>"}))
        assert "plain text only" in field_block(page, spec.name), spec.name
        page = text(submit_edit(site, owner, {**live, spec.name: "a" * (spec.limit + 1)}))
        assert f"at most {spec.limit} characters" in field_block(page, spec.name), spec.name


def test_each_field_is_checked_and_compared_by_its_kind(site):
    with site.app.app_context():
        live = record_of(site.app, site.a)
        vocabularies = vocabulary_names()
        assert validate_record(live, vocabularies) == {}
        for spec in RECORD_FIELDS:
            wrong = {
                "text": 7,
                "long_text": 7,
                "choice": "no-such-choice",
                "number": "many",
                "yes_no": "perhaps",
                "codes": ["NO-SUCH-CODE"],
                "vocabulary": ["no-such-code"],
            }[spec.kind]
            errors = validate_record({**live, spec.name: wrong}, vocabularies)
            assert spec.name in errors, spec.name
            changed = {**live, spec.name: wrong}
            labels = {c.field: c.label for c in diff_records(live, changed)}
            assert labels == {spec.name: spec.label}, spec.name
