"""Published listings as an Open Referral HSDS 3.0 data package (JSON and CSV, zipped).

One organization per listing; one service per treatment (modality) it offers, with
its prices as cost options in USD; in-person clinics have a physical location
(address, latitude/longitude) linked to each service; telehealth services have a
service area per state served; a telehealth-only program's office address is a
postal location linked to no service. A listing field with no column of its own
in HSDS is an attribute: a link to a term of the taxonomy "listing-field", whose
codes are the names of `models.listing_fields` (see docs/open-data.md).

Only published listings go in: no accounts, revisions, audit or moderation data.
Every id is a UUID 5 of our own ids under NAMESPACE and the package's date is the
newest listing change, so the same data always gives the same bytes.
"""

from __future__ import annotations

import csv
import io
import json
import uuid
import zipfile
from collections.abc import Iterable
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from flask import current_app
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from sqlalchemy import select

from ..extensions import db
from ..geo import US_STATES
from ..mail import external_url
from ..models import VOCABULARIES, Clinic, Offering
from ..models.clinic import as_utc
from ..models.languages import LANGUAGE_NAMES
from ..models.listing_fields import LISTING_FIELDS, OFFERING_FIELDS, ListingField
from ..search.sync import published_clinics

# Fixed forever: changing it changes every id consumers have stored.
NAMESPACE = uuid.UUID("3f6b1c9e-8d2a-5b47-9e0c-6a1d2f4b7c85")
HSDS_VERSION = "3.0"
# The schemas, copied from openreferral/specification (README and LICENSE beside them).
DEFAULT_SCHEMA_DIR = Path(__file__).parent / "schema"
DATA_LICENSE = {
    "name": "CC-BY-4.0",
    "title": "Creative Commons Attribution 4.0 International",
    "path": "https://creativecommons.org/licenses/by/4.0/",
}
# The tables written, in the order of the specification's own data package.
TABLES = (
    "organization",
    "organization_identifier",
    "contact",
    "service",
    "location",
    "address",
    "service_at_location",
    "phone",
    "schedule",
    "service_area",
    "language",
    "cost_option",
    "taxonomy",
    "taxonomy_term",
    "attribute",
)
FIELD_TAXONOMY = "listing-field"  # terms: the listing fields that are attributes
# Listing fields with a column of their own in HSDS (the rest become attributes).
NATIVE_FIELDS = {
    "name": "organization.name",
    "description": "organization.description",
    "website": "organization.website",
    "email": "organization.email",
    "phone": "phone.number",
    "street": "address.address_1",
    "city": "address.city",
    "state": "address.state_province",
    "postal_code": "address.postal_code",
    "states_served": "service_area.extent",
    "hours": "schedule.description",
    "languages": "language.code",
    "npi": "organization_identifier.identifier",
    "medical_director_name": "contact.name",
    "last_verified_at": "service.assured_date",
}
NATIVE_OFFERING_FIELDS = {"notes": "service.description"} | {
    f.name: "cost_option.amount" for f in OFFERING_FIELDS if f.unit == "USD"
}
# Public values outside the field table, kept as attributes too: (label, kind).
EXTRA_TERMS = {
    "is_demo": ("Fictional demo listing", "yes_no"),
    "geo_precision": ("Precision of the coordinates", "choice"),
    "details_confirmed_on": ("Details last confirmed", "date"),
    "hours_confirmed_on": ("Hours last confirmed", "date"),
    "insurance_confirmed_on": ("Insurance last confirmed", "date"),
    "price_confirmed_on": ("Price last confirmed", "date"),
    "price_confirmed_how": ("How the price was confirmed", "choice"),
}
CLINIC_EXTRAS = ("is_demo", "details_confirmed_on", "hours_confirmed_on", "insurance_confirmed_on")
OFFERING_EXTRAS = ("price_confirmed_on", "price_confirmed_how")
MEDICAL_DIRECTOR_TITLE = "Medical director"
# A treatment's modality: an attribute linking its service to the "modality" vocabulary.
MODALITY_FIELD = ListingField("modality", "Treatment", "vocabulary", vocabulary="modality")
NPI_SCHEME = "US-NPI"
ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # every member's date: the bytes depend on the data only


class HsdsError(Exception):
    """A package that cannot be made or read; the message says why."""


def hsds_id(*parts: object) -> str:
    """The UUID of an HSDS record, from the table name and our own ids."""
    return str(uuid.uuid5(NAMESPACE, "/".join(str(p) for p in parts)))


def attribute_fields() -> tuple[ListingField, ...]:
    """Public listing fields without an HSDS column: attributes of the organization."""
    return tuple(f for f in LISTING_FIELDS if f.api and f.name not in NATIVE_FIELDS)


def offering_attribute_fields() -> tuple[ListingField, ...]:
    """Treatment fields without an HSDS column: attributes of the service."""
    return tuple(f for f in OFFERING_FIELDS if f.api and f.name not in NATIVE_OFFERING_FIELDS)


def price_fields() -> tuple[ListingField, ...]:
    """Treatment fields in US dollars: one cost option each, `option` being the label."""
    return tuple(f for f in OFFERING_FIELDS if f.unit == "USD")


def extra_field(name: str) -> ListingField:
    label, kind = EXTRA_TERMS[name]
    return ListingField(name, label, kind)  # type: ignore[arg-type]


def encode(spec: ListingField, value: Any) -> list[str]:
    """A field's value as attribute values: one per code, none when empty."""
    if spec.kind in ("codes", "vocabulary"):
        return [str(v) for v in value or []]
    if spec.kind == "yes_no":
        return ["true" if value else "false"]
    if value is None or value == "":
        return []
    return [value.isoformat() if isinstance(value, date) else str(value)]


def decode(spec: ListingField, values: list[str]) -> Any:
    """The inverse of `encode` (an absent attribute is the field's empty value)."""
    if spec.kind in ("codes", "vocabulary"):
        return list(values)
    if not values:
        return spec.empty
    if spec.kind == "yes_no":
        return values[0] == "true"
    if spec.kind == "number":
        return int(values[0])
    if spec.kind == "date":
        return date.fromisoformat(values[0])
    return values[0]


# -- schemas ---------------------------------------------------------------------------
def schema_dir() -> Path:
    return DEFAULT_SCHEMA_DIR


@lru_cache(maxsize=4)
def _validators(folder: Path) -> dict[str, Draft202012Validator]:
    if not (folder / "service.json").is_file():
        raise HsdsError(f"The HSDS 3.0 schemas are missing from {folder}.")
    schemas = {p.name: json.loads(p.read_text("utf-8")) for p in sorted(folder.glob("*.json"))}
    schemas.pop("openapi.json", None)
    registry: Registry = Registry().with_resources(
        (name, Resource.from_contents(s, default_specification=DRAFT202012))
        for name, s in schemas.items()
    )
    checker = Draft202012Validator.FORMAT_CHECKER
    return {
        name.removesuffix(".json"): Draft202012Validator(
            s, registry=registry, format_checker=checker
        )
        for name, s in schemas.items()
    }


def validators() -> dict[str, Draft202012Validator]:
    """One draft 2020-12 validator per table, `$ref`s resolved within the folder."""
    return _validators(schema_dir())


def schemas() -> dict[str, dict[str, Any]]:
    return {name: v.schema for name, v in validators().items()}  # type: ignore[misc]


def problems(tables: dict[str, list[dict[str, Any]]], most: int = 5) -> list[str]:
    """What is wrong with the records (schema errors and missing tabular keys)."""
    found: list[str] = []
    checks = validators()
    for table, records in tables.items():
        needed = checks[table].schema.get("tabular_required", [])  # type: ignore[union-attr]
        for number, record in enumerate(records, start=1):
            if not isinstance(record, dict):
                found.append(f"{table} record {number} is not an object")
                continue
            errors = [e.message for e in checks[table].iter_errors(record)]
            errors += [f"{key!r} is required in a table" for key in needed if key not in record]
            found += [f"{table} record {number} ({record.get('id')}): {e}" for e in errors]
            if len(found) >= most:
                return found[:most]
    return found


def columns(table: str) -> list[str]:
    """A table's CSV columns: the schema's properties that are not nested records."""
    properties = schemas()[table]["properties"]
    return [k for k, p in properties.items() if p.get("type") not in ("array", "object", None)]


# -- tables ----------------------------------------------------------------------------
REQUIRED_EVEN_EMPTY = ("description", "address_1")  # required by HSDS, may be blank here


def _compact(record: dict[str, Any]) -> dict[str, Any]:
    """HSDS has no nulls: an unknown value is an absent key (but required ones)."""
    return {
        k: v for k, v in record.items() if v is not None and (v != "" or k in REQUIRED_EVEN_EMPTY)
    }


def _timestamp(value: datetime | None) -> str | None:
    if value is None:
        return None
    return as_utc(value).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class _Builder:
    """Collects the rows of every table, listing by listing."""

    def __init__(self) -> None:
        self.tables: dict[str, list[dict[str, Any]]] = {t: [] for t in TABLES}
        self.demo = False
        self.newest: str | None = None  # the latest listing change, ISO 8601 UTC
        self._add_taxonomies()

    def add(self, table: str, record: dict[str, Any]) -> str:
        self.tables[table].append(_compact(record))
        return record["id"]

    def _add_taxonomies(self) -> None:
        name = current_app.config["SITE_NAME"]
        self._taxonomy(FIELD_TAXONOMY, f"{name}: listing fields", "Fields of a listing.")
        for spec in attribute_fields() + offering_attribute_fields():
            if spec.kind != "vocabulary":
                self._term(FIELD_TAXONOMY, spec.name, spec.label, spec.help or spec.label)
        for extra, (label, _kind) in EXTRA_TERMS.items():
            self._term(FIELD_TAXONOMY, extra, label, label)
        for vocabulary, model in VOCABULARIES.items():
            self._taxonomy(vocabulary, f"{name}: {model.__tablename__.replace('_', ' ')}", "")
            rows = db.session.scalars(select(model).order_by(model.sort_order, model.code))
            for row in rows:
                self._term(vocabulary, row.code, row.name, getattr(row, "description", ""))

    def _taxonomy(self, code: str, name: str, description: str) -> None:
        self.add(
            "taxonomy",
            {"id": hsds_id("taxonomy", code), "name": name, "description": description or name},
        )

    def _term(self, taxonomy: str, code: str, name: str, description: str) -> None:
        self.add(
            "taxonomy_term",
            {
                "id": hsds_id("taxonomy_term", taxonomy, code),
                "code": code,
                "name": name,
                "description": description or name,
                "taxonomy": taxonomy,
                "taxonomy_id": hsds_id("taxonomy", taxonomy),
                "language": "en",
            },
        )

    def attributes(self, entity: str, link_id: str, spec: ListingField, value: Any) -> None:
        """Link a record to the term of a field (its value) or of vocabulary codes."""
        for item in encode(spec, value):
            if spec.kind == "vocabulary":
                term, item_value = hsds_id("taxonomy_term", spec.vocabulary, item), None
            else:
                term, item_value = hsds_id("taxonomy_term", FIELD_TAXONOMY, spec.name), item
            self.add(
                "attribute",
                {
                    "id": hsds_id("attribute", link_id, term, item),
                    "link_id": link_id,
                    "taxonomy_term_id": term,
                    "link_type": spec.name,
                    "link_entity": entity,
                    "value": item_value,
                },
            )

    def clinic(self, clinic: Clinic) -> None:
        self.demo = self.demo or clinic.is_demo
        changed = _timestamp(clinic.updated_at)
        if changed and (self.newest is None or changed > self.newest):
            self.newest = changed
        org = self.add(
            "organization",
            {
                "id": hsds_id("organization", clinic.id),
                "name": clinic.name,
                "description": clinic.description,
                "email": clinic.email,
                "website": clinic.website,
                "uri": external_url("public.clinic", slug=clinic.slug),
            },
        )
        for spec in attribute_fields():
            self.attributes("organization", org, spec, self._value(clinic, spec))
        for extra in CLINIC_EXTRAS:
            self.attributes("organization", org, extra_field(extra), getattr(clinic, extra))
        self._organization_details(clinic, org)
        location = self._location(clinic, org)
        services = [self._service(clinic, org, o) for o in clinic.offerings] or [
            self._service(clinic, org, None)
        ]
        visited = location if clinic.in_person else None  # a postal office is not visited
        for service in services if visited else []:
            self.add(
                "service_at_location",
                {
                    "id": hsds_id("service_at_location", service, visited),
                    "service_id": service,
                    "location_id": visited,
                },
            )
        # Opening hours of the place patients visit; else when each service is available.
        owners = [("location_id", visited)] if visited else [("service_id", s) for s in services]
        for key, owner in owners if clinic.hours else []:
            self.add(
                "schedule",
                {"id": hsds_id("schedule", owner), key: owner, "description": clinic.hours},
            )

    @staticmethod
    def _value(clinic: Clinic, spec: ListingField) -> Any:
        if spec.kind == "vocabulary":
            return [row.code for row in getattr(clinic, spec.attribute)]
        return getattr(clinic, spec.name)

    def _organization_details(self, clinic: Clinic, org: str) -> None:
        if clinic.phone:
            record = {"id": hsds_id("phone", org), "organization_id": org}
            self.add("phone", record | {"number": clinic.phone, "type": "voice"})
        if clinic.npi:
            self.add(
                "organization_identifier",
                {
                    "id": hsds_id("organization_identifier", org, NPI_SCHEME),
                    "organization_id": org,
                    "identifier_scheme": NPI_SCHEME,
                    "identifier_type": "National Provider Identifier (NPI)",
                    "identifier": clinic.npi,
                },
            )
        if clinic.medical_director_name:
            self.add(
                "contact",
                {
                    "id": hsds_id("contact", org, "medical_director"),
                    "organization_id": org,
                    "name": clinic.medical_director_name,
                    "title": MEDICAL_DIRECTOR_TITLE,
                },
            )

    def _location(self, clinic: Clinic, org: str) -> str | None:
        """The clinic's place: physical when patients visit, else the postal office."""
        if not (clinic.in_person or clinic.street or clinic.city or clinic.postal_code):
            return None
        kind = "physical" if clinic.in_person else "postal"
        location = self.add(
            "location",
            {
                "id": hsds_id("location", clinic.id),
                "location_type": kind,
                "organization_id": org,
                "name": clinic.name,
                "latitude": clinic.lat,
                "longitude": clinic.lng,
            },
        )
        self.attributes("location", location, extra_field("geo_precision"), clinic.geo_precision)
        self.add(
            "address",
            {
                "id": hsds_id("address", location),
                "location_id": location,
                "address_1": clinic.street,
                "city": clinic.city,
                "state_province": clinic.state,
                "postal_code": clinic.postal_code,
                "country": "US",
                "address_type": kind,
            },
        )
        return location

    def _service(self, clinic: Clinic, org: str, offering: Offering | None) -> str:
        """One treatment: its prices, languages and, for telehealth, its states."""
        key = ("offering", offering.id) if offering else ("clinic", clinic.id)
        service = self.add(
            "service",
            {
                "id": hsds_id("service", *key),
                "organization_id": org,
                "name": offering.modality.name if offering else "Ketamine treatment",
                "description": offering.notes if offering else "",
                "url": clinic.website,
                "email": clinic.email,
                "status": "active",
                "fees_description": offering.price_label if offering else None,
                "assured_date": clinic.last_verified_at.isoformat()
                if clinic.last_verified_at
                else None,
                "last_modified": _timestamp(clinic.updated_at),
            },
        )
        if offering:
            self.attributes("service", service, MODALITY_FIELD, [offering.modality.code])
            for spec in offering_attribute_fields():
                self.attributes("service", service, spec, getattr(offering, spec.name))
            for extra in OFFERING_EXTRAS:
                self.attributes("service", service, extra_field(extra), getattr(offering, extra))
            self._costs(offering, service)
        for code in clinic.languages or []:
            self.add(
                "language",
                {
                    "id": hsds_id("language", service, code),
                    "service_id": service,
                    "name": LANGUAGE_NAMES.get(code),
                    "code": code,
                },
            )
        for state in clinic.states_served if clinic.telehealth else []:
            name = US_STATES.get(state, state)
            self.add(
                "service_area",
                {
                    "id": hsds_id("service_area", service, state),
                    "service_id": service,
                    "name": name,
                    "description": f"By telehealth, for patients in {name}.",
                    "extent": f"US-{state}",
                    "extent_type": "text",
                },
            )
        return service

    def _costs(self, offering: Offering, service: str) -> None:
        for spec in price_fields():
            amount = getattr(offering, spec.name)
            if amount is None:
                continue
            sessions = offering.series_sessions
            if spec.name == "series_price":
                detail = f"for a series of {sessions} sessions" if sessions else "for a series"
            else:
                detail = "per session"
            self.add(
                "cost_option",
                {
                    "id": hsds_id("cost_option", service, spec.name),
                    "service_id": service,
                    "option": spec.label,
                    "currency": "USD",
                    "amount": amount,
                    "amount_description": detail,
                },
            )


def build_tables(clinics: Iterable[Clinic] | None = None) -> tuple[dict[str, list[dict]], dict]:
    """Every table's records, and the data package description of them."""
    builder = _Builder()
    for clinic in published_clinics() if clinics is None else clinics:
        builder.clinic(clinic)
    return builder.tables, describe(builder.tables, builder.demo, builder.newest)


def _table_field(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    """A column as a Frictionless Table Schema field (its date-time is a type there)."""
    if schema.get("format") == "date-time":
        return {"name": name, "type": "datetime"}
    field = {"name": name, "type": schema["type"]}
    return field | ({"format": schema["format"]} if "format" in schema else {})


def describe(tables: dict[str, list[dict]], demo: bool, newest: str | None) -> dict:
    """The datapackage.json: what the package is, its licence and its files."""
    site = current_app.config["SITE_NAME"]
    note = (
        " It contains fictional demo listings (organizations with the is_demo attribute "
        "'true'): their phone numbers and websites belong to no real clinic."
        if demo
        else ""
    )
    resources = []
    for table in TABLES:
        schema = schemas()[table]
        stem = schema["path"].removesuffix(".csv")
        properties = schema["properties"]
        fields = [_table_field(c, properties[c]) for c in columns(table)]
        resources.append(
            {
                "name": table,
                "path": f"{stem}.csv",
                "profile": "tabular-data-resource",
                "format": "csv",
                "mediatype": "text/csv",
                "encoding": "utf-8",
                "schema": {"fields": fields, "primaryKey": "id"},
                "count": len(tables[table]),
            }
        )
        resources.append(
            {
                "name": f"{table}-json",
                "path": f"{stem}.json",
                "format": "json",
                "mediatype": "application/json",
                "encoding": "utf-8",
                "count": len(tables[table]),
            }
        )
    return {
        "profile": "data-package",
        "name": "ketamine-clinic-directory-hsds",
        "title": f"{site}: published listings in HSDS {HSDS_VERSION}",
        "description": (
            f"Every published listing of {site} in the Open Referral Human Services Data "
            f"Specification {HSDS_VERSION}, each table as JSON (a list of records) and CSV." + note
        ),
        "hsds_version": HSDS_VERSION,
        "contains_demo_data": demo,
        "created": newest,
        "homepage": external_url("opendata.index"),
        "licenses": [DATA_LICENSE],
        "sources": [{"title": site, "path": external_url("public.home")}],
        "resources": resources,
    }


def _json(value: Any) -> bytes:
    text = json.dumps(value, ensure_ascii=False, indent=1, allow_nan=False)
    return (text + "\n").encode("utf-8")


def _csv(table: str, records: list[dict[str, Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns(table), extrasaction="ignore")
    writer.writeheader()
    writer.writerows(records)
    return out.getvalue().encode("utf-8")


def package_bytes(tables: dict[str, list[dict]], description: dict) -> bytes:
    """The zip: datapackage.json, then each table's CSV and JSON, dated ZIP_TIME."""
    members = {"datapackage.json": _json(description)}
    for resource in description["resources"]:
        table = resource["name"].removesuffix("-json")
        records = tables[table]
        members[resource["path"]] = (
            _json(records) if resource["format"] == "json" else _csv(table, records)
        )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    return buffer.getvalue()


def build_package() -> bytes:
    """The published listings as a zipped HSDS data package, checked against the schemas."""
    tables, description = build_tables()
    found = problems(tables)
    if found:  # a bug here, not a visitor's problem: never publish a broken package
        raise HsdsError("The export does not match HSDS 3.0: " + "; ".join(found))
    return package_bytes(tables, description)


def write_package(path: Path) -> dict[str, int]:
    """Write the package to `path` (which must not exist); return records per table."""
    if path.exists():
        raise HsdsError(f"{path} already exists; choose a new file name.")
    data = build_package()
    partial = path.with_name(path.name + ".partial")
    try:
        partial.write_bytes(data)
        partial.rename(path)
    finally:
        partial.unlink(missing_ok=True)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        description = json.loads(archive.read("datapackage.json"))
    return {r["name"]: r["count"] for r in description["resources"] if r["format"] == "csv"}
